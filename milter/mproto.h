/*
 * mproto.h - the Sendmail milter wire protocol (version 2 to 6), no I/O.
 *
 * Owns: framing (a 4-byte big-endian length that counts the command
 * byte, the command byte, the data), decoding the MTA's packets into
 * fields that are checked to lie inside the packet, the answer to the
 * MTA's option negotiation, which commands want a reply under the
 * negotiated no-reply flags, and encoding our replies.  Pure functions
 * over the caller's buffers: transport-native.c does the reading and writing,
 * the unit tests and the fuzzer drive these directly.
 *
 * Errors: nothing is logged.  A malformed packet makes its parser return
 * false (framing: AM_MFRAME_INVALID), an offer we cannot accept makes
 * am_mproto_negotiate() return false with err.  The encoders cannot
 * fail; out of memory aborts (am_buf).
 *
 * Threads: any; no state.
 */
#ifndef AM_MPROTO_H
#define AM_MPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#include <libmilter/mfapi.h>		/* SMFIF_*, SMFIP_* (with mfdef.h) */

#define AM_MPROTO_VERSION	6
/*
 * What both transports ask of the MTA: the stages we never need skipped,
 * no reply for the stages whose answer is always "continue", header
 * values exactly as sent (DKIM c=simple needs the space after the colon).
 * The native engine adds SMFIP_NR_CONN; libmilter answers at connect.
 */
#define AM_MPROTO_WANT_PROTOCOL	(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
	SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)
/* The actions we need: add and change headers, and quarantine under RejectFailures. */
#define AM_MPROTO_NEED_ACTIONS(reject_failures) \
	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | ((reject_failures) ? SMFIF_QUARANTINE : 0))
/* Largest packet accepted (the MTA's ceiling is 1 MiB with SMFIP_MDS_1M). */
#define AM_MPROTO_MAX_PACKET	(1024 * 1024)

struct am_mpacket {
	unsigned char cmd;
	const char *data;		/* inside the caller's buffer */
	size_t	len;
};

enum am_mframe {
	AM_MFRAME_PACKET,		/* *pkt filled, *used bytes consumed */
	AM_MFRAME_NEED_MORE,		/* *used = bytes the whole packet needs, or 0 if unknown */
	AM_MFRAME_INVALID		/* length 0 or over AM_MPROTO_MAX_PACKET */
};

enum am_mframe am_mproto_frame(const char *buf, size_t len, struct am_mpacket *pkt, size_t *used);

struct am_moptneg {
	uint32_t version;
	uint32_t actions;		/* SMFIF_* */
	uint32_t protocol;		/* SMFIP_* */
};

bool	am_mproto_parse_optneg(const struct am_mpacket *, struct am_moptneg *);
/*
 * Our answer to the MTA's offer: the actions we need (false with err if
 * it does not allow them), the stages we skip and the no-reply flags it
 * offers, the lower of the two versions.  *symlist: the MTA takes a
 * macro list, so ask for {i} at end of message.
 */
bool	am_mproto_negotiate(const struct am_moptneg *mta, uint32_t need_actions,
	    struct am_moptneg *ours, bool *symlist, char *err, size_t errlen);
/* Does this command want a reply under the negotiated protocol flags? */
bool	am_mproto_wants_reply(unsigned char cmd, uint32_t protocol);

struct am_mconnect {
	const char *hostname;
	char	family;			/* 'U' unknown, 'L' unix, '4', '6' */
	unsigned port;
	const char *address;		/* "" for 'U'; "IPv6:" prefix removed */
};

bool	am_mproto_parse_connect(const struct am_mpacket *, struct am_mconnect *);
/* The first NUL-terminated string (HELO name, MAIL FROM argument, ...). */
bool	am_mproto_parse_string(const struct am_mpacket *, const char **);
bool	am_mproto_parse_header(const struct am_mpacket *, const char **name, const char **value);
/* A macro packet: which command it is for; its name/value pairs follow. */
bool	am_mproto_parse_macros(const struct am_mpacket *, unsigned char *stage);
/*
 * The value of macro name ("i" also finds "{i}") in the data of a macro
 * packet as parse_macros accepted it; NULL when absent or malformed.
 */
const char *am_mproto_macro(const char *data, size_t len, const char *name);

/* Replies, appended to out. */
void	am_mproto_put(struct am_buf *out, unsigned char cmd, const void *data, size_t len);
void	am_mproto_put_optneg(struct am_buf *out, const struct am_moptneg *, bool symlist);
/* SMFIR_INSHEADER / SMFIR_CHGHEADER (value NULL: delete). */
void	am_mproto_put_header(struct am_buf *out, unsigned char cmd, uint32_t index,
	    const char *name, const char *value);
/* A packet whose data is one string with its NUL (quarantine, reply code). */
void	am_mproto_put_string(struct am_buf *out, unsigned char cmd, const char *s);

#endif
