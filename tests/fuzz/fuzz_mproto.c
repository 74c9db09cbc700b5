/*
 * fuzz_mproto.c - libFuzzer target: the milter wire-protocol codec
 * (milter/mproto.c) on what an MTA, or anyone who reaches the milter
 * socket, may write.
 *
 * The input is a byte stream as read from the socket; it is framed into
 * packets in a loop the way transport-native.c's handle_batch does, and every
 * decoder runs on every packet whatever its command byte.  Invariants:
 * framing consumes exactly the length word's bytes and reports what it
 * needs; every decoded field lies inside its packet and ends with a NUL
 * inside it; each decoder accepts exactly what an independent oracle
 * written here accepts; the negotiation answer never asks for more than
 * the MTA offered; and what the encoders write frames and decodes back
 * to the same fields.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "fuzz.h"
#include "milter/mproto.h"
#include "util/util.h"

#define NEED	((uint32_t)(SMFIF_ADDHDRS | SMFIF_CHGHDRS))
/* The protocol flags we may take (mproto.c's WANT_PROTOCOL, written out). */
#define WANT	((uint32_t)(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
		    SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | \
		    SMFIP_NR_BODY | SMFIP_HDR_LEADSPC))

static uint32_t
be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* s starts inside p and its NUL lies inside p too. */
static bool
inside(const struct am_mpacket *p, const char *s)
{
	size_t off;

	if (s < p->data || s >= p->data + p->len)
		return false;
	off = (size_t)(s - p->data);
	return memchr(s, '\0', p->len - off) != NULL;
}

/* The one packet in out, framed back; out must hold nothing else. */
static struct am_mpacket
reframe(const struct am_buf *out)
{
	struct am_mpacket back;
	size_t used = 0;

	FUZZ_ASSERT(am_mproto_frame(out->data, out->len, &back, &used) == AM_MFRAME_PACKET);
	FUZZ_ASSERT(used == out->len);
	return back;
}

static void
check_optneg(const struct am_mpacket *p)
{
	struct am_moptneg mta, ours, back;
	struct am_buf out;
	struct am_mpacket q;
	uint32_t need;
	bool ok, symlist;
	char err[48];
	int pass;

	ok = am_mproto_parse_optneg(p, &mta);
	FUZZ_ASSERT(ok == (p->cmd == SMFIC_OPTNEG && p->len >= 12));
	if (!ok)
		return;
	FUZZ_ASSERT(mta.version == be32(p->data) && mta.actions == be32(p->data + 4) &&
	    mta.protocol == be32(p->data + 8));
	for (pass = 0; pass < 2; pass++) {
		need = NEED | (pass ? (uint32_t)SMFIF_QUARANTINE : 0);
		memset(err, 'x', sizeof(err));
		ok = am_mproto_negotiate(&mta, need, &ours, &symlist, err, sizeof(err));
		FUZZ_ASSERT(ok == (mta.version >= 2 && (mta.actions & need) == need));
		if (!ok) {
			FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
			continue;
		}
		FUZZ_ASSERT(ours.version == (mta.version < 6 ? mta.version : 6));
		FUZZ_ASSERT(symlist == (ours.version >= 6 && (mta.actions & SMFIF_SETSYMLIST) != 0));
		FUZZ_ASSERT(ours.actions == (need | (symlist ? (uint32_t)SMFIF_SETSYMLIST : 0)));
		FUZZ_ASSERT((ours.actions & ~mta.actions) == 0);
		FUZZ_ASSERT(ours.protocol == (mta.protocol & WANT));
		/* Our answer frames back to itself, with the {i} list when asked for. */
		am_buf_init(&out);
		am_mproto_put_optneg(&out, &ours, symlist);
		q = reframe(&out);
		FUZZ_ASSERT(q.len == (symlist ? 18u : 12u));
		FUZZ_ASSERT(am_mproto_parse_optneg(&q, &back));
		FUZZ_ASSERT(back.version == ours.version && back.actions == ours.actions &&
		    back.protocol == ours.protocol);
		if (symlist)
			FUZZ_ASSERT(be32(q.data + 12) == SMFIM_EOM && memcmp(q.data + 16, "i", 2) == 0);
		am_buf_free(&out);
	}
}

/* Oracle of am_mproto_wants_reply: the no-reply flag of each answered command. */
static bool
reply_oracle(unsigned char cmd, uint32_t protocol)
{
	static const struct { unsigned char cmd; uint32_t flag; } nr[] = {
		{ SMFIC_CONNECT, SMFIP_NR_CONN }, { SMFIC_HELO, SMFIP_NR_HELO },
		{ SMFIC_MAIL, SMFIP_NR_MAIL }, { SMFIC_RCPT, SMFIP_NR_RCPT },
		{ SMFIC_DATA, SMFIP_NR_DATA }, { SMFIC_UNKNOWN, SMFIP_NR_UNKN },
		{ SMFIC_HEADER, SMFIP_NR_HDR }, { SMFIC_EOH, SMFIP_NR_EOH },
		{ SMFIC_BODY, SMFIP_NR_BODY },
	};
	size_t i;

	if (cmd == SMFIC_BODYEOB || cmd == SMFIC_OPTNEG)
		return true;
	for (i = 0; i < sizeof(nr) / sizeof(nr[0]); i++)
		if (nr[i].cmd == cmd)
			return (protocol & nr[i].flag) == 0;
	return false;			/* abort, macros, quit, quit_nc, anything else */
}

static void
check_wants_reply(const struct am_mpacket *p)
{
	uint32_t masks[4] = { 0, 0xffffffffu, 0, 0 };
	size_t i;

	/* The packet's own words as masks, so the fuzzer picks the flags. */
	if (p->len >= 4)
		masks[2] = be32(p->data);
	if (p->len >= 8)
		masks[3] = be32(p->data + 4);
	for (i = 0; i < 4; i++)
		FUZZ_ASSERT(am_mproto_wants_reply(p->cmd, masks[i]) == reply_oracle(p->cmd, masks[i]));
}

/* Oracle: does the data hold hostname NUL, family, and the rest its family needs? */
static bool
connect_oracle(const struct am_mpacket *p)
{
	const char *nul = memchr(p->data, '\0', p->len);
	size_t off;
	char fam;

	if (nul == NULL || (off = (size_t)(nul - p->data) + 1) >= p->len)
		return false;
	fam = p->data[off++];
	if (fam == 'U')
		return true;
	if (fam != 'L' && fam != '4' && fam != '6')
		return false;
	return p->len - off >= 2 && memchr(p->data + off + 2, '\0', p->len - off - 2) != NULL;
}

static void
check_connect(const struct am_mpacket *p)
{
	struct am_mconnect c;
	bool ok = am_mproto_parse_connect(p, &c);
	size_t hl;

	FUZZ_ASSERT(ok == connect_oracle(p));
	if (!ok)
		return;
	FUZZ_ASSERT(c.hostname == p->data && inside(p, c.hostname));
	hl = strlen(c.hostname);
	FUZZ_ASSERT(c.family == p->data[hl + 1]);
	if (c.family == SMFIA_UNKNOWN) {
		FUZZ_ASSERT(c.port == 0 && c.address != NULL && c.address[0] == '\0');
		return;
	}
	FUZZ_ASSERT(c.port == ((unsigned)(unsigned char)p->data[hl + 2] << 8 |
	    (unsigned char)p->data[hl + 3]));
	FUZZ_ASSERT(inside(p, c.address));
	/* Sendmail's "IPv6:" prefix, in any case, is dropped from IPv6 addresses only. */
	if (c.family == SMFIA_INET6 && strncasecmp(p->data + hl + 4, "IPv6:", 5) == 0)
		FUZZ_ASSERT(c.address == p->data + hl + 4 + 5);
	else
		FUZZ_ASSERT(c.address == p->data + hl + 4);
}

static void
check_string(const struct am_mpacket *p)
{
	struct am_buf out;
	struct am_mpacket q;
	const char *s, *back;
	bool ok = am_mproto_parse_string(p, &s);

	FUZZ_ASSERT(ok == (memchr(p->data, '\0', p->len) != NULL));
	if (!ok)
		return;
	FUZZ_ASSERT(s == p->data && inside(p, s));
	am_buf_init(&out);
	am_mproto_put_string(&out, p->cmd, s);
	q = reframe(&out);
	FUZZ_ASSERT(q.cmd == p->cmd && q.len == strlen(s) + 1);
	FUZZ_ASSERT(am_mproto_parse_string(&q, &back) && strcmp(back, s) == 0);
	am_buf_free(&out);
}

/* put_header (value as given, and NULL) frames back to cmd, index, name, value. */
static void
header_round_trip(unsigned char cmd, uint32_t index, const char *name, const char *value)
{
	struct am_buf out;
	struct am_mpacket q;
	const char *n, *v;

	am_buf_init(&out);
	am_mproto_put_header(&out, cmd, index, name, value);
	q = reframe(&out);
	FUZZ_ASSERT(q.cmd == cmd && q.len >= 4 && be32(q.data) == index);
	q.data += 4;
	q.len -= 4;
	FUZZ_ASSERT(am_mproto_parse_header(&q, &n, &v));
	FUZZ_ASSERT(strcmp(n, name) == 0 && strcmp(v, value != NULL ? value : "") == 0);
	FUZZ_ASSERT(q.len == strlen(n) + 1 + strlen(v) + 1);
	am_buf_free(&out);
}

static void
check_header(const struct am_mpacket *p)
{
	const char *nul = memchr(p->data, '\0', p->len), *name, *value;
	size_t off = nul != NULL ? (size_t)(nul - p->data) + 1 : 0;
	bool two = nul != NULL && memchr(p->data + off, '\0', p->len - off) != NULL;
	bool ok = am_mproto_parse_header(p, &name, &value);

	FUZZ_ASSERT(ok == two);
	if (!ok)
		return;
	FUZZ_ASSERT(name == p->data && value == p->data + off);
	FUZZ_ASSERT(inside(p, name) && inside(p, value));
	header_round_trip(SMFIR_INSHEADER, 0, name, value);
	header_round_trip(SMFIR_CHGHEADER, (uint32_t)p->len, name, value);
	header_round_trip(SMFIR_CHGHEADER, 0xffffffffu, name, NULL);
}

/* Oracle of macro_name_is: "x" and "{x}" are the same name. */
static bool
braced_of(const char *braced, const char *bare)
{
	size_t n = strlen(braced);

	return n >= 2 && braced[0] == '{' && braced[n - 1] == '}' &&
	    strlen(bare) == n - 2 && memcmp(braced + 1, bare, n - 2) == 0;
}

static bool
same_macro(const char *a, const char *b)
{
	return strcmp(a, b) == 0 || braced_of(a, b) || braced_of(b, a);
}

/* Oracle of am_mproto_macro: walk the pairs after the stage byte. */
static const char *
macro_oracle(const char *data, size_t len, const char *want)
{
	const char *n, *v, *e;
	size_t off = 1;

	while (off < len) {
		n = data + off;
		if ((e = memchr(n, '\0', len - off)) == NULL)
			return NULL;
		off = (size_t)(e - data) + 1;
		if (off >= len)
			return NULL;
		v = data + off;
		if ((e = memchr(v, '\0', len - off)) == NULL)
			return NULL;
		off = (size_t)(e - data) + 1;
		if (same_macro(n, want))
			return v;
	}
	return NULL;
}

static void
lookup(const struct am_mpacket *p, const char *name)
{
	const char *v = am_mproto_macro(p->data, p->len, name);

	FUZZ_ASSERT(v == macro_oracle(p->data, p->len, name));
	if (v != NULL)
		FUZZ_ASSERT(inside(p, v) && v > p->data);
}

static void
check_macros(const struct am_mpacket *p)
{
	static const char *const fixed[] = { "i", "{i}", "j", "{daemon_name}", "daemon_name", "", "{}" };
	unsigned char stage = 0;
	bool ok = am_mproto_parse_macros(p, &stage);
	const char *n, *e;
	size_t off, i;

	FUZZ_ASSERT(ok == (p->cmd == SMFIC_MACRO && p->len >= 1));
	if (ok)
		FUZZ_ASSERT(stage == (unsigned char)p->data[0]);
	/* Any packet's data, as transport-native.c would store it for a later lookup. */
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		lookup(p, fixed[i]);
	/* Every name the packet holds (the first few) is found. */
	for (off = 1, i = 0; off < p->len && i < 16; i++) {
		n = p->data + off;
		if ((e = memchr(n, '\0', p->len - off)) == NULL)
			break;
		lookup(p, n);
		off = (size_t)(e - p->data) + 1;
		if (off >= p->len || (e = memchr(p->data + off, '\0', p->len - off)) == NULL)
			break;
		off = (size_t)(e - p->data) + 1;
	}
}

/* The packet re-encoded as is frames back to the same bytes. */
static void
check_put(const struct am_mpacket *p)
{
	struct am_buf out;
	struct am_mpacket q;

	am_buf_init(&out);
	am_mproto_put(&out, p->cmd, p->data, p->len);
	q = reframe(&out);
	FUZZ_ASSERT(q.cmd == p->cmd && q.len == p->len);
	FUZZ_ASSERT(p->len == 0 || memcmp(q.data, p->data, p->len) == 0);
	am_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct am_mpacket p;
	enum am_mframe f;
	size_t off = 0, used, left;
	uint32_t plen;

	for (;;) {
		left = size - off;
		used = 12345;
		f = am_mproto_frame(buf + off, left, &p, &used);
		if (f != AM_MFRAME_PACKET)
			break;
		plen = be32(buf + off);
		FUZZ_ASSERT(plen >= 1 && plen <= AM_MPROTO_MAX_PACKET);
		FUZZ_ASSERT(used == 4 + (size_t)plen && used <= left);
		FUZZ_ASSERT(p.cmd == (unsigned char)buf[off + 4]);
		FUZZ_ASSERT(p.data == buf + off + 5 && p.len == plen - 1);
		check_optneg(&p);
		check_wants_reply(&p);
		check_connect(&p);
		check_string(&p);
		check_header(&p);
		check_macros(&p);
		check_put(&p);
		off += used;
	}
	if (left < 4) {
		FUZZ_ASSERT(f == AM_MFRAME_NEED_MORE && used == 0);
		return 0;
	}
	plen = be32(buf + off);
	if (plen == 0 || plen > AM_MPROTO_MAX_PACKET) {
		FUZZ_ASSERT(f == AM_MFRAME_INVALID);
	} else {
		FUZZ_ASSERT(f == AM_MFRAME_NEED_MORE);
		FUZZ_ASSERT(used == 4 + (size_t)plen && used > left);
	}
	return 0;
}
