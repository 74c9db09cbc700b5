/*
 * fuzz_mserver.c - libFuzzer target: the native milter server, stateful.
 *
 * One MTA connection's conversation (milter/mconn.c: framing, option
 * negotiation, macros, CONNECT, HELO, MAIL, headers, body, end of
 * message, ABORT, QUIT_NC, QUIT) over the whole per-message pipeline
 * (session.c, pipeline.c: SPF, DKIM, DMARC over a fakezone resolver that
 * serves tests/verdict/dns.txt and a few records of its own), fed the way
 * transport-native.c feeds it: whatever one read(2) returned, cut here at
 * boundaries the input chooses, so packets arrive whole, split, or many
 * at once, and the conversation carries its state from one to the next.
 *
 * FUZZ_MSERVER_LOG=1 in the environment prints the log (verdict lines).
 *
 * Input: byte 0 chooses the pipeline (bit 0: RejectFailures yes) and how
 * the stream is cut into reads (bits 1-3: one of eight patterns); the
 * rest is the byte stream the MTA writes.
 *
 * Invariants beyond ASan/UBSan/LeakSanitizer:
 *   - there is always room to read into; the input buffer stays between
 *     its start size and one largest packet; the growth budget is never
 *     passed and is all given back when the connection is freed;
 *   - the replies frame exactly, and match the packets one for one, by an
 *     oracle written here: the negotiation is answered with 'O', whose
 *     protocol word then decides (independently of mproto.c) which
 *     commands want an answer - exactly one final reply for each of those
 *     (continue; accept at CONNECT; tempfail or a 5xx reply code, after
 *     any header edits, at end of message), nothing for the others, none
 *     under a no-reply flag, before or after a QUIT_NC;
 *   - an inserted Authentication-Results value starts with a space exactly
 *     when SMFIP_HDR_LEADSPC was negotiated, has no CR and folds only as
 *     "\n\t"; at most one is inserted per message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "dns/resolver.h"
#include "fakezone.h"
#include "fuzz.h"
#include "milter/mconn.h"
#include "milter/mproto.h"
#include "policy/conf.h"
#include "policy/pipeline.h"
#include "util/log.h"
#include "util/util.h"

#define PSL_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"
#define AUTHSERV	"mx.fuzz.example"

static struct fakezone *fz;
static struct am_conf conf[2];
static am_pipeline *pipe_of[2];		/* [RejectFailures] */

static uint32_t
be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* tests/verdict/dns.txt ("name TXT value" | "name CNAME target"), found beside this file. */
static void
load_fixture_zone(void)
{
	char path[4096], line[8192], *sp1, *sp2, *slash;
	FILE *fp;

	am_strlcpy(path, __FILE__, sizeof(path));
	if ((slash = strrchr(path, '/')) != NULL)
		*slash = '\0';
	am_strlcat(path, "/../verdict/dns.txt", sizeof(path));
	if ((fp = fopen(path, "r")) == NULL)
		return;			/* the other records still make SPF and DMARC run */
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || (sp1 = strchr(line, ' ')) == NULL ||
		    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
			continue;
		*sp1 = *sp2 = '\0';
		if (strcmp(sp1 + 1, "TXT") == 0)
			fz_add_txt(fz, line, sp2 + 1);
		else if (strcmp(sp1 + 1, "CNAME") == 0)
			fz_add_cname(fz, line, sp2 + 1);
	}
	fclose(fp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	int i;

	(void)argc;
	(void)argv;
	/* FUZZ_MSERVER_LOG=1: the verdict lines on stderr, to see what a seed reaches. */
	am_log_init("fuzz_mserver", false, LOG_MAIL, getenv("FUZZ_MSERVER_LOG") != NULL);
	fz = fz_new();
	load_fixture_zone();
	/* SES (the seeds' signed messages) and domains of every DMARC policy. */
	fz_add_txt(fz, "amazonses.com", "v=spf1 ip4:54.240.0.0/18 -all");
	fz_add_txt(fz, "us-east-1.amazonses.com", "v=spf1 include:amazonses.com -all");
	fz_add_txt(fz, "_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:d@example.com");
	fz_add_txt(fz, "example.com", "v=spf1 ip4:192.0.2.0/24 -all");
	fz_add_txt(fz, "reject.example", "v=spf1 ip4:192.0.2.0/24 -all");
	fz_add_txt(fz, "_dmarc.reject.example", "v=DMARC1; p=reject");
	fz_add_txt(fz, "_dmarc.quarantine.example", "v=DMARC1; p=quarantine");
	fz_add_txt(fz, "slow.example", "v=spf1 include:gone.example -all");
	fz_set_status(fz, "gone.example", 0, AM_DNS_SERVFAIL);
	for (i = 0; i < 2; i++) {
		am_conf_defaults(&conf[i]);
		if (!am_conf_set(&conf[i], "AuthservID", AUTHSERV, err, sizeof(err)) ||
		    !am_conf_set(&conf[i], "PublicSuffixList", PSL_PATH, err, sizeof(err)) ||
		    !am_conf_set(&conf[i], "DNSCacheSize", "0", err, sizeof(err)) ||	/* no state across inputs */
		    !am_conf_set(&conf[i], "IgnoreHosts", "10.0.0.0/8", err, sizeof(err)) ||
		    !am_conf_set(&conf[i], "TrustedAuthResClients", "10.1.0.0/16", err, sizeof(err)) ||
		    !am_conf_set(&conf[i], "RejectFailures", i ? "yes" : "no", err, sizeof(err))) {
			fprintf(stderr, "fuzz_mserver: %s\n", err);
			abort();
		}
		pipe_of[i] = am_pipeline_new_with_resolver(&conf[i],
		    am_resolver_new_backend(fz_backend, fz, 2000), err, sizeof(err));
		if (pipe_of[i] == NULL) {
			fprintf(stderr, "fuzz_mserver: %s\n", err);
			abort();
		}
	}
	return 0;
}

/* ---- the oracle ------------------------------------------------------------- */

/* Does cmd want an answer under protocol? (written apart from mproto.c) */
static bool
wants_reply(unsigned char cmd, uint32_t protocol)
{
	static const struct { unsigned char cmd; uint32_t nr; } stages[] = {
		{ SMFIC_CONNECT, SMFIP_NR_CONN }, { SMFIC_HELO, SMFIP_NR_HELO },
		{ SMFIC_MAIL, SMFIP_NR_MAIL }, { SMFIC_RCPT, SMFIP_NR_RCPT },
		{ SMFIC_DATA, SMFIP_NR_DATA }, { SMFIC_UNKNOWN, SMFIP_NR_UNKN },
		{ SMFIC_HEADER, SMFIP_NR_HDR }, { SMFIC_EOH, SMFIP_NR_EOH },
		{ SMFIC_BODY, SMFIP_NR_BODY },
	};
	size_t i;

	if (cmd == SMFIC_BODYEOB)
		return true;
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (stages[i].cmd == cmd)
			return (protocol & stages[i].nr) == 0;
	return false;
}

struct oracle {
	/* the MTA's stream, framed independently */
	const char *in;
	size_t	inlen, inoff;
	/* the replies so far */
	struct am_buf out;
	size_t	outoff;
	bool	negotiated;
	uint32_t protocol;
	bool	closed;			/* a QUIT was handled */
};

/* One of our header insertions: the field and its value's form. */
static void
check_insert(const struct oracle *o, const struct am_mpacket *r)
{
	const char *name, *value, *p;

	FUZZ_ASSERT(r->len > 4);
	name = r->data + 4;
	FUZZ_ASSERT(memchr(name, '\0', r->len - 4) != NULL);
	value = name + strlen(name) + 1;
	FUZZ_ASSERT(value < r->data + r->len && memchr(value, '\0', (size_t)(r->data + r->len - value)) != NULL);
	FUZZ_ASSERT(strcmp(name, "Authentication-Results") == 0);
	FUZZ_ASSERT((value[0] == ' ') == ((o->protocol & SMFIP_HDR_LEADSPC) != 0));
	for (p = value; *p != '\0'; p++) {
		FUZZ_ASSERT(*p != '\r');
		if (*p == '\n')
			FUZZ_ASSERT(p[1] == '\t');
	}
}

/* The next reply packet, or false if the replies are used up. */
static bool
next_reply(struct oracle *o, struct am_mpacket *r)
{
	size_t used;
	enum am_mframe f;

	if (o->outoff == o->out.len)
		return false;
	f = am_mproto_frame(o->out.data + o->outoff, o->out.len - o->outoff, r, &used);
	FUZZ_ASSERT(f == AM_MFRAME_PACKET);		/* whole packets, never cut */
	o->outoff += used;
	return true;
}

/*
 * Match the packets handled so far with the replies written.  all: every
 * complete packet was handled (the conversation is open), so every reply
 * is accounted for and none is missing.
 */
static void
oracle_walk(struct oracle *o, bool all)
{
	struct am_mpacket p, r;
	size_t used, inserts;
	unsigned char c;

	while (!o->closed && am_mproto_frame(o->in + o->inoff, o->inlen - o->inoff, &p, &used) ==
	    AM_MFRAME_PACKET) {
		size_t save = o->outoff;

		if (p.cmd == SMFIC_QUIT) {
			o->inoff += used;
			o->closed = true;
			break;
		}
		if (p.cmd == SMFIC_OPTNEG) {
			if (!next_reply(o, &r))
				break;		/* refused negotiation: the conversation ended here */
			FUZZ_ASSERT(r.cmd == SMFIC_OPTNEG && r.len >= 12);
			o->negotiated = true;
			o->protocol = be32(r.data + 8);
			/* only what the MTA offered */
			FUZZ_ASSERT(p.len >= 12 && (o->protocol & ~be32(p.data + 8)) == 0);
		} else if (o->negotiated && wants_reply(p.cmd, o->protocol)) {
			inserts = 0;
			for (;;) {
				if (!next_reply(o, &r)) {
					FUZZ_ASSERT(!all);	/* a malformed command closed it */
					o->outoff = save;
					return;
				}
				if (r.cmd == SMFIR_CHGHEADER || r.cmd == SMFIR_QUARANTINE) {
					FUZZ_ASSERT(p.cmd == SMFIC_BODYEOB);
					continue;
				}
				if (r.cmd == SMFIR_INSHEADER) {
					FUZZ_ASSERT(p.cmd == SMFIC_BODYEOB && ++inserts == 1);
					check_insert(o, &r);
					continue;
				}
				break;
			}
			c = r.cmd;
			if (p.cmd == SMFIC_BODYEOB)
				FUZZ_ASSERT(c == SMFIR_CONTINUE || c == SMFIR_ACCEPT || c == SMFIR_TEMPFAIL ||
				    (c == SMFIR_REPLYCODE && r.len > 4 && memcmp(r.data, "550 ", 4) == 0));
			else if (p.cmd == SMFIC_CONNECT)
				FUZZ_ASSERT(c == SMFIR_CONTINUE || c == SMFIR_ACCEPT);
			else
				FUZZ_ASSERT(c == SMFIR_CONTINUE);
		}
		o->inoff += used;
	}
	if (all)
		FUZZ_ASSERT(o->outoff == o->out.len);	/* no reply without its command */
}

/* ---- the conversation --------------------------------------------------------- */

/* Read sizes: whole, tiny, odd and large, by pattern. */
static size_t
read_size(unsigned pattern, size_t nth, const uint8_t *data, size_t size)
{
	static const size_t odd[] = { 1, 2, 3, 5, 7, 11, 13, 4096 };

	switch (pattern) {
	case 0: return SIZE_MAX;			/* all that fits */
	case 1: return 1;
	case 2: return odd[nth % 8];
	case 3: return 5;				/* a length word and the command */
	case 4: return 64;
	case 5: return 1000;
	case 6: return 16 * 1024 + 1;			/* just past the start size */
	default: return 1 + (size > 0 ? data[nth % size] : 0);	/* chosen by the input */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oracle o;
	am_mconn *m;
	size_t off = 1, nth = 0, room, n, outlen, cap;
	const char *out;
	char *space;
	unsigned pattern;
	enum am_mconn_status st = AM_MCONN_OPEN;

	if (size < 1)
		return 0;
	pattern = (data[0] >> 1) & 7;
	memset(&o, 0, sizeof(o));
	o.in = (const char *)data + 1;
	o.inlen = size - 1;
	am_buf_init(&o.out);
	m = am_mconn_new(pipe_of[data[0] & 1], "fuzz");
	while (off < size && st == AM_MCONN_OPEN) {
		space = am_mconn_space(m, &room);
		FUZZ_ASSERT(room >= 1 && space != NULL);
		n = read_size(pattern, nth++, data + 1, size - 1);
		if (n > room)
			n = room;
		if (n > size - off)
			n = size - off;
		memcpy(space, data + off, n);
		off += n;
		st = am_mconn_feed(m, n);
		cap = am_mconn_input_capacity(m);
		FUZZ_ASSERT(cap >= AM_MCONN_INPUT_START && cap <= AM_MPROTO_MAX_PACKET + 4);
		FUZZ_ASSERT(am_mconn_growth_used() <= AM_MCONN_GROWTH_BUDGET);
		out = am_mconn_out(m, &outlen);
		if (outlen > 0)
			am_buf_add(&o.out, out, outlen);
		am_mconn_sent(m);
		/* Every packet complete so far was handled: the replies match them, in order. */
		if (st == AM_MCONN_OPEN) {
			o.inlen = off - 1;
			oracle_walk(&o, true);
		}
	}
	if (st == AM_MCONN_CLOSE) {
		o.inlen = off - 1;
		oracle_walk(&o, false);
		FUZZ_ASSERT(o.outoff == o.out.len);
	}
	am_mconn_free(m);
	FUZZ_ASSERT(am_mconn_growth_used() == 0);
	am_buf_free(&o.out);
	return 0;
}
