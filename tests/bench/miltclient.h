/*
 * miltclient.h - the milter-protocol client side miltdrive's modes share.
 *
 * Owns: the saved message split into header fields and a CRLF body, and
 * one milter connection's conversation as Postfix 3.x holds it (protocol
 * version 6, per-stage SMFIP_NO* and SMFIP_NR_* honoured, the macros
 * Postfix sends); see miltdrive.c for what is measured with it.
 *
 * Errors: a failed send or receive, or a reply that is not a milter
 * packet, makes the call return false; out of memory exits (status 2).
 *
 * Threads: single-threaded (the global options and counters).
 */
#ifndef MILTCLIENT_H
#define MILTCLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* libmilter's mfdef.h, protocol version 6. */
#define SMFI_PROT_VERSION	6
#define SMFIF_ALL		0x1ffUL
#define SMFIP_NOCONNECT		0x00000001UL
#define SMFIP_NOHELO		0x00000002UL
#define SMFIP_NOMAIL		0x00000004UL
#define SMFIP_NORCPT		0x00000008UL
#define SMFIP_NOBODY		0x00000010UL
#define SMFIP_NOHDRS		0x00000020UL
#define SMFIP_NOEOH		0x00000040UL
#define SMFIP_NR_HDR		0x00000080UL
#define SMFIP_NODATA		0x00000200UL
#define SMFIP_NR_CONN		0x00001000UL
#define SMFIP_NR_HELO		0x00002000UL
#define SMFIP_NR_MAIL		0x00004000UL
#define SMFIP_NR_RCPT		0x00008000UL
#define SMFIP_NR_DATA		0x00010000UL
#define SMFIP_NR_EOH		0x00040000UL
#define SMFIP_NR_BODY		0x00080000UL
#define SMFIP_HDR_LEADSPC	0x00100000UL
#define SMFIP_ALL		0x001fffffUL

#define MAX_MILTERS	4
#define MAX_HDRS	256
#define BODY_CHUNK	65535

struct hdr {
	char	*name;
	char	*value;		/* as in the message after the colon, folds as "\n" */
};

struct milter {
	const char *spec;
	struct sockaddr_in sin;
	double	*eom, *total;	/* per message, microseconds */
};

struct mconn {
	int	fd;
	unsigned long proto;	/* negotiated SMFIP_* */
	bool	done;		/* the milter accepted/rejected: skip the rest */
};

/* What one milter did to a message (for the next milter and -v). */
struct outcome {
	char	final;			/* a, c, r, t, d, y */
	struct hdr added[8];
	bool	top[8];			/* inserted at index 0, above the others */
	int	nadded;
};

extern struct hdr hdrs[MAX_HDRS];
extern int nhdrs;
extern char *body;
extern size_t body_len;
extern const char *opt_addr;
extern const char *opt_helo;
extern char opt_from[512];
extern bool opt_verbose;
extern bool opt_quickack;
extern long opt_mail_sleep_ms;

double	now_us(void);
void	*xmalloc(size_t);
bool	load_message(const char *path);
bool	put(int fd, char cmd, const void *data, size_t len);
bool	await(struct mconn *, struct outcome *);
/* Open a connection and negotiate; CONNECT and HELO; one message MAIL to EOM; QUIT and close. */
bool	mconn_open(struct mconn *, const struct milter *);
bool	mconn_session(struct mconn *);
bool	mconn_message(struct mconn *, const struct hdr *extra, int nextra, int extra_top,
	    struct outcome *, double *eom_us, bool stop_before_eom);
/* MAIL then ABORT (the MTA rejected every recipient). */
bool	mconn_mail_abort(struct mconn *);
void	mconn_close(struct mconn *);

#endif
