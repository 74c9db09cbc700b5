/*
 * check_mproto.c - unit tests of the milter wire-protocol codec (milter/mproto.c).
 *
 * Owns: byte-exact checks of framing, of decoding what Postfix's milter8.c
 * sends (option negotiation, connect, strings, headers, macros), of our
 * negotiation answer and of the replies we encode, plus round trips of
 * every encoder through the framer and the decoders.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "milter/mproto.h"
#include "util/util.h"

/* What alignmilter asks for, as mserver.c does. */
#define NEED		((uint32_t)(SMFIF_ADDHDRS | SMFIF_CHGHDRS))
/*
 * The protocol flags we take when offered (mproto.c's WANT_PROTOCOL, written
 * out).  NR_CONN too: am_session_connect only ever says accept or continue,
 * and a pass-through connection is handled in the session, not by the MTA.
 */
#define WANT		((uint32_t)(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
			    SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | \
			    SMFIP_NR_BODY | SMFIP_HDR_LEADSPC))
/* Every no-reply flag of protocol version 6. */
#define ALL_NR		((uint32_t)(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			    SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
			    SMFIP_NR_EOH | SMFIP_NR_BODY))
/* What Postfix 3.x offers with milter_protocol = 6 (SMFI_V6_ACTS, MILTER8_V6_PROTO_MASK). */
#define PF_ACTIONS	0x1ffu
#define PF_PROTOCOL	0x1fffffu

/* A packet over a string literal (its data may hold NULs: pass the length). */
static struct am_mpacket
pkt(unsigned char cmd, const char *data, size_t len)
{
	struct am_mpacket p = { cmd, data, len };

	return p;
}

#define PKT(cmd, lit)	pkt((cmd), (lit), sizeof(lit) - 1)

/* out holds exactly the len bytes of want. */
static void
bytes_eq(const struct am_buf *out, const void *want, size_t len)
{
	size_t i;

	ck_assert_uint_eq(out->len, len);
	for (i = 0; i < len; i++)
		ck_assert_msg((unsigned char)out->data[i] == ((const unsigned char *)want)[i],
		    "byte %zu: 0x%02x, want 0x%02x", i, (unsigned char)out->data[i],
		    ((const unsigned char *)want)[i]);
}

#define BYTES_EQ(out, lit)	bytes_eq((out), (lit), sizeof(lit) - 1)

static uint32_t
be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static struct am_moptneg
offer(uint32_t version, uint32_t actions, uint32_t protocol)
{
	struct am_moptneg o = { version, actions, protocol };

	return o;
}

/* ---- framing ---------------------------------------------------------------- */

START_TEST(frame_under_four_bytes)
{
	static const char buf[] = "\0\0\0\x05";
	struct am_mpacket p;
	size_t n, used;

	for (n = 0; n < 4; n++) {
		used = 99;
		ck_assert_int_eq(am_mproto_frame(buf, n, &p, &used), AM_MFRAME_NEED_MORE);
		ck_assert_uint_eq(used, 0);
	}
}
END_TEST

START_TEST(frame_one_packet)
{
	/* HELO "mx.example" as Postfix writes it. */
	static const char buf[] = "\0\0\0\x0c" "H" "mx.example\0";
	struct am_mpacket p;
	size_t used = 0;

	ck_assert_int_eq(am_mproto_frame(buf, sizeof(buf) - 1, &p, &used), AM_MFRAME_PACKET);
	ck_assert_uint_eq(used, 16);
	ck_assert_int_eq(p.cmd, SMFIC_HELO);
	ck_assert_ptr_eq(p.data, buf + 5);
	ck_assert_uint_eq(p.len, 11);
	ck_assert_int_eq(memcmp(p.data, "mx.example\0", 11), 0);
}
END_TEST

START_TEST(frame_command_only)
{
	/* Length 1: the command byte alone (EOH), no data. */
	static const char buf[] = "\0\0\0\x01" "N";
	struct am_mpacket p;
	size_t used = 0;

	ck_assert_int_eq(am_mproto_frame(buf, 5, &p, &used), AM_MFRAME_PACKET);
	ck_assert_uint_eq(used, 5);
	ck_assert_int_eq(p.cmd, SMFIC_EOH);
	ck_assert_uint_eq(p.len, 0);
}
END_TEST

START_TEST(frame_back_to_back)
{
	/* Macros, MAIL, a header and the first 3 bytes of the next packet. */
	static const char buf[] =
	    "\0\0\0\x09" "D" "Mi\0Q1\0\0\0"			/* 'D' stage M: i=Q1, then "" */
	    "\0\0\0\x06" "M" "<a@b>"				/* no NUL: framing does not care */
	    "\0\0\0\x0a" "L" "From\0 x\0\0"
	    "\0\0\0";
	static const struct { unsigned char cmd; size_t len; } want[] = {
		{ SMFIC_MACRO, 8 }, { SMFIC_MAIL, 5 }, { SMFIC_HEADER, 9 },
	};
	struct am_mpacket p;
	size_t off = 0, used, i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(am_mproto_frame(buf + off, sizeof(buf) - 1 - off, &p, &used),
		    AM_MFRAME_PACKET);
		ck_assert_int_eq(p.cmd, want[i].cmd);
		ck_assert_uint_eq(p.len, want[i].len);
		ck_assert_ptr_eq(p.data, buf + off + 5);
		ck_assert_uint_eq(used, 5 + want[i].len);
		off += used;
	}
	ck_assert_uint_eq(off, 13 + 10 + 14);
	ck_assert_int_eq(am_mproto_frame(buf + off, sizeof(buf) - 1 - off, &p, &used),
	    AM_MFRAME_NEED_MORE);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(frame_cut_short)
{
	/* A 20-byte body chunk of which 9 data bytes arrived. */
	static const char buf[] = "\0\0\0\x15" "B" "123456789";
	struct am_mpacket p;
	size_t used = 0, n;

	for (n = 4; n <= sizeof(buf) - 1; n++) {
		ck_assert_int_eq(am_mproto_frame(buf, n, &p, &used), AM_MFRAME_NEED_MORE);
		ck_assert_uint_eq(used, 4 + 21);
	}
}
END_TEST

START_TEST(frame_one_byte_short)
{
	static const char buf[] = "\0\0\0\x03" "Hx\0";
	struct am_mpacket p;
	size_t used = 0;

	ck_assert_int_eq(am_mproto_frame(buf, 6, &p, &used), AM_MFRAME_NEED_MORE);
	ck_assert_uint_eq(used, 7);
	ck_assert_int_eq(am_mproto_frame(buf, 7, &p, &used), AM_MFRAME_PACKET);
	ck_assert_uint_eq(used, 7);
	ck_assert_uint_eq(p.len, 2);
}
END_TEST

START_TEST(frame_length_zero)
{
	static const char buf[] = "\0\0\0\0" "Q";
	struct am_mpacket p;
	size_t used = 99;

	ck_assert_int_eq(am_mproto_frame(buf, 4, &p, &used), AM_MFRAME_INVALID);
	ck_assert_int_eq(am_mproto_frame(buf, 5, &p, &used), AM_MFRAME_INVALID);
}
END_TEST

START_TEST(frame_length_too_big)
{
	char buf[4];
	struct am_mpacket p;
	size_t used;
	static const uint32_t bad[] = {
		AM_MPROTO_MAX_PACKET + 1, 0x00200000u, 0x01000005u, 0x7fffffffu,
		0x80000000u, 0xffffffffu,
	};
	size_t i;

	/* Decided from the length word alone: no need to wait for the data. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf[0] = (char)(bad[i] >> 24);
		buf[1] = (char)(bad[i] >> 16);
		buf[2] = (char)(bad[i] >> 8);
		buf[3] = (char)bad[i];
		ck_assert_msg(am_mproto_frame(buf, 4, &p, &used) == AM_MFRAME_INVALID,
		    "length 0x%x accepted", (unsigned)bad[i]);
	}
}
END_TEST

START_TEST(frame_length_max)
{
	size_t total = 4 + AM_MPROTO_MAX_PACKET;
	char *buf = calloc(total, 1);
	struct am_mpacket p;
	size_t used = 0;

	ck_assert_ptr_nonnull(buf);
	buf[0] = (char)(AM_MPROTO_MAX_PACKET >> 24);
	buf[1] = (char)(AM_MPROTO_MAX_PACKET >> 16);
	buf[2] = (char)(AM_MPROTO_MAX_PACKET >> 8);
	buf[3] = (char)AM_MPROTO_MAX_PACKET;
	buf[4] = SMFIC_BODY;
	ck_assert_int_eq(am_mproto_frame(buf, total - 1, &p, &used), AM_MFRAME_NEED_MORE);
	ck_assert_uint_eq(used, total);
	ck_assert_int_eq(am_mproto_frame(buf, total, &p, &used), AM_MFRAME_PACKET);
	ck_assert_uint_eq(used, total);
	ck_assert_int_eq(p.cmd, SMFIC_BODY);
	ck_assert_uint_eq(p.len, AM_MPROTO_MAX_PACKET - 1);
	free(buf);
}
END_TEST

/* ---- option negotiation ------------------------------------------------------ */

START_TEST(optneg_parse)
{
	/* Postfix 3.x: version 6, SMFI_V6_ACTS, MILTER8_V6_PROTO_MASK. */
	static const char data[] = "\0\0\0\x06" "\0\0\x01\xff" "\0\x1f\xff\xff";
	static const char more[] = "\0\0\0\x02" "\0\0\0\x3f" "\0\0\0\x7f" "junk";
	struct am_mpacket p = PKT(SMFIC_OPTNEG, data);
	struct am_moptneg o;

	ck_assert(am_mproto_parse_optneg(&p, &o));
	ck_assert_uint_eq(o.version, 6);
	ck_assert_uint_eq(o.actions, PF_ACTIONS);
	ck_assert_uint_eq(o.protocol, PF_PROTOCOL);
	/* Trailing data is not ours to judge. */
	p = PKT(SMFIC_OPTNEG, more);
	ck_assert(am_mproto_parse_optneg(&p, &o));
	ck_assert_uint_eq(o.version, 2);
	ck_assert_uint_eq(o.actions, 0x3f);
	ck_assert_uint_eq(o.protocol, 0x7f);
	/* Every byte in its place. */
	p = PKT(SMFIC_OPTNEG, "\x01\x02\x03\x04" "\x85\x86\x87\x88" "\xf9\x0a\x0b\xfc");
	ck_assert(am_mproto_parse_optneg(&p, &o));
	ck_assert_uint_eq(o.version, 0x01020304u);
	ck_assert_uint_eq(o.actions, 0x85868788u);
	ck_assert_uint_eq(o.protocol, 0xf90a0bfcu);
}
END_TEST

START_TEST(optneg_parse_rejects)
{
	static const char data[] = "\0\0\0\x06" "\0\0\x01\xff" "\0\x1f\xff\xff";
	struct am_mpacket p;
	struct am_moptneg o;
	size_t n;

	for (n = 0; n < 12; n++) {
		p = pkt(SMFIC_OPTNEG, data, n);
		ck_assert_msg(!am_mproto_parse_optneg(&p, &o), "%zu bytes accepted", n);
	}
	p = PKT(SMFIC_CONNECT, data);
	ck_assert(!am_mproto_parse_optneg(&p, &o));
	p = PKT(SMFIR_CONTINUE, data);
	ck_assert(!am_mproto_parse_optneg(&p, &o));
}
END_TEST

START_TEST(negotiate_version)
{
	static const struct { uint32_t mta, ours; } v[] = {
		{ 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 }, { 6, 6 }, { 7, 6 }, { 0xffffffffu, 6 },
	};
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		mta = offer(v[i].mta, PF_ACTIONS, PF_PROTOCOL);
		memset(&ours, 0xa5, sizeof(ours));
		ck_assert_msg(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)),
		    "version %u: %s", (unsigned)v[i].mta, err);
		ck_assert_uint_eq(ours.version, v[i].ours);
	}
}
END_TEST

START_TEST(negotiate_version_too_old)
{
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];
	uint32_t v;

	for (v = 0; v < 2; v++) {
		mta = offer(v, PF_ACTIONS, PF_PROTOCOL);
		err[0] = '\0';
		ck_assert(!am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
		ck_assert_msg(strstr(err, "version") != NULL, "err \"%s\"", err);
		ck_assert_msg(strstr(err, v == 0 ? "0" : "1") != NULL, "err \"%s\"", err);
	}
	/* A short error buffer is cut, never overrun. */
	mta = offer(1, PF_ACTIONS, PF_PROTOCOL);
	memset(err, 'x', sizeof(err));
	ck_assert(!am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, 8));
	ck_assert_uint_eq(strlen(err), 7);
	ck_assert_int_eq(err[8], 'x');
}
END_TEST

START_TEST(negotiate_missing_actions)
{
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];

	mta = offer(6, PF_ACTIONS & ~(uint32_t)SMFIF_ADDHDRS, PF_PROTOCOL);
	err[0] = '\0';
	ck_assert(!am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert(err[0] != '\0');
	mta = offer(6, PF_ACTIONS & ~(uint32_t)SMFIF_CHGHDRS, PF_PROTOCOL);
	err[0] = '\0';
	ck_assert(!am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert(err[0] != '\0');
	mta = offer(6, 0, PF_PROTOCOL);
	ck_assert(!am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	/* Exactly the two needed: fine. */
	mta = offer(6, NEED, PF_PROTOCOL);
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.actions, NEED);
}
END_TEST

START_TEST(negotiate_quarantine)
{
	uint32_t need = NEED | (uint32_t)SMFIF_QUARANTINE;
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];

	mta = offer(6, PF_ACTIONS & ~(uint32_t)SMFIF_QUARANTINE, PF_PROTOCOL);
	err[0] = '\0';
	ck_assert(!am_mproto_negotiate(&mta, need, &ours, &symlist, err, sizeof(err)));
	ck_assert(err[0] != '\0');
	/* Not asked for: its absence does not matter. */
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.actions & (uint32_t)SMFIF_QUARANTINE, 0);
	mta = offer(6, PF_ACTIONS, PF_PROTOCOL);
	ck_assert(am_mproto_negotiate(&mta, need, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.actions, need | (uint32_t)SMFIF_SETSYMLIST);
}
END_TEST

START_TEST(negotiate_protocol_postfix)
{
	struct am_moptneg mta = offer(6, PF_ACTIONS, PF_PROTOCOL), ours;
	bool symlist;
	char err[256];

	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.protocol, WANT);
	ck_assert_uint_eq(ours.protocol, 0x001c7388u);
	/* No stage we need is skipped, no reply we may need to send is given up. */
	ck_assert_uint_eq(ours.protocol & (uint32_t)(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL |
	    SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_RCPT | SMFIP_NR_DATA |
	    SMFIP_NR_UNKN | SMFIP_SKIP | SMFIP_RCPT_REJ), 0);
	/* Version 2 Postfix offers the seven NO* bits only: NORCPT survives. */
	mta = offer(2, 0x3f, 0x7f);
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.protocol, (uint32_t)SMFIP_NORCPT);
	/* Nothing offered: nothing asked. */
	mta = offer(6, PF_ACTIONS, 0);
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert_uint_eq(ours.protocol, 0);
}
END_TEST

START_TEST(negotiate_protocol_each_bit)
{
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];
	uint32_t bit;
	int i;

	/* Each flag alone: taken exactly when it is one we want, never one not offered. */
	for (i = 0; i < 32; i++) {
		bit = (uint32_t)1 << i;
		mta = offer(6, PF_ACTIONS, bit);
		ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
		ck_assert_msg(ours.protocol == ((WANT & bit) ? bit : 0),
		    "offer 0x%08x: answered 0x%08x", (unsigned)bit, (unsigned)ours.protocol);
		/* All but this flag: it is not in the answer. */
		mta = offer(6, PF_ACTIONS, ~bit);
		ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
		ck_assert_msg(ours.protocol == (WANT & ~bit),
		    "offer ~0x%08x: answered 0x%08x", (unsigned)bit, (unsigned)ours.protocol);
	}
}
END_TEST

START_TEST(negotiate_symlist)
{
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];
	uint32_t v;

	mta = offer(6, PF_ACTIONS, PF_PROTOCOL);
	symlist = false;
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert(symlist);
	ck_assert_uint_eq(ours.actions, NEED | (uint32_t)SMFIF_SETSYMLIST);
	/* Version 6 without SETSYMLIST offered. */
	mta = offer(6, PF_ACTIONS & ~(uint32_t)SMFIF_SETSYMLIST, PF_PROTOCOL);
	symlist = true;
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert(!symlist);
	ck_assert_uint_eq(ours.actions, NEED);
	/* Older versions have no macro lists, even when the bit is (wrongly) offered. */
	for (v = 2; v < 6; v++) {
		mta = offer(v, PF_ACTIONS, PF_PROTOCOL);
		symlist = true;
		ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
		ck_assert_msg(!symlist, "symlist with version %u", (unsigned)v);
		ck_assert_uint_eq(ours.actions, NEED);
	}
	/* A later MTA version negotiated down to 6 does get the list. */
	mta = offer(7, PF_ACTIONS, PF_PROTOCOL);
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	ck_assert(symlist);
}
END_TEST

START_TEST(negotiate_actions_within_offer)
{
	static const uint32_t offers[] = { NEED, NEED | (uint32_t)SMFIF_QUARANTINE, PF_ACTIONS, 0xffffffffu };
	struct am_moptneg mta, ours;
	bool symlist;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		mta = offer(6, offers[i], PF_PROTOCOL);
		ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
		ck_assert_msg((ours.actions & ~offers[i]) == 0, "offer 0x%x: asked 0x%x",
		    (unsigned)offers[i], (unsigned)ours.actions);
		ck_assert_uint_eq(ours.actions & ~(NEED | (uint32_t)SMFIF_SETSYMLIST), 0);
	}
}
END_TEST

/* ---- which commands are answered --------------------------------------------- */

static const unsigned char answered_cmds[] = {
	SMFIC_CONNECT, SMFIC_HELO, SMFIC_MAIL, SMFIC_RCPT, SMFIC_DATA, SMFIC_UNKNOWN,
	SMFIC_HEADER, SMFIC_EOH, SMFIC_BODY, SMFIC_BODYEOB, SMFIC_OPTNEG,
};
static const unsigned char silent_cmds[] = {
	SMFIC_ABORT, SMFIC_MACRO, SMFIC_QUIT, SMFIC_QUIT_NC, 0, 'Z', 0xff,
};

START_TEST(wants_reply_no_nr)
{
	size_t i;

	for (i = 0; i < sizeof(answered_cmds); i++)
		ck_assert_msg(am_mproto_wants_reply(answered_cmds[i], 0), "'%c' not answered", answered_cmds[i]);
	for (i = 0; i < sizeof(silent_cmds); i++)
		ck_assert_msg(!am_mproto_wants_reply(silent_cmds[i], 0), "0x%02x answered", silent_cmds[i]);
	/* Non-NR flags change nothing. */
	for (i = 0; i < sizeof(answered_cmds); i++)
		ck_assert(am_mproto_wants_reply(answered_cmds[i], ~ALL_NR));
}
END_TEST

START_TEST(wants_reply_all_nr)
{
	size_t i;

	for (i = 0; i < sizeof(answered_cmds); i++) {
		bool always = answered_cmds[i] == SMFIC_BODYEOB || answered_cmds[i] == SMFIC_OPTNEG;

		ck_assert_msg(am_mproto_wants_reply(answered_cmds[i], ALL_NR) == always,
		    "'%c' under all NR", answered_cmds[i]);
		ck_assert(am_mproto_wants_reply(answered_cmds[i], 0xffffffffu) == always);
	}
	for (i = 0; i < sizeof(silent_cmds); i++)
		ck_assert(!am_mproto_wants_reply(silent_cmds[i], ALL_NR));
}
END_TEST

START_TEST(wants_reply_each_flag)
{
	static const struct { unsigned char cmd; uint32_t flag; } map[] = {
		{ SMFIC_CONNECT, SMFIP_NR_CONN }, { SMFIC_HELO, SMFIP_NR_HELO },
		{ SMFIC_MAIL, SMFIP_NR_MAIL }, { SMFIC_RCPT, SMFIP_NR_RCPT },
		{ SMFIC_DATA, SMFIP_NR_DATA }, { SMFIC_UNKNOWN, SMFIP_NR_UNKN },
		{ SMFIC_HEADER, SMFIP_NR_HDR }, { SMFIC_EOH, SMFIP_NR_EOH },
		{ SMFIC_BODY, SMFIP_NR_BODY },
	};
	size_t i, j;

	/* Each NR flag silences its own command and no other. */
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		for (j = 0; j < sizeof(map) / sizeof(map[0]); j++)
			ck_assert_msg(am_mproto_wants_reply(map[j].cmd, map[i].flag) == (i != j),
			    "'%c' under flag 0x%x", map[j].cmd, (unsigned)map[i].flag);
}
END_TEST

/* ---- connect ------------------------------------------------------------------ */

START_TEST(connect_inet4)
{
	static const char data[] = "mail.example.org\0" "4" "\xc3\x50" "192.0.2.1\0";
	struct am_mpacket p = PKT(SMFIC_CONNECT, data);
	struct am_mconnect c;

	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.hostname, "mail.example.org");
	ck_assert_int_eq(c.family, SMFIA_INET);
	ck_assert_uint_eq(c.port, 50000);
	ck_assert_str_eq(c.address, "192.0.2.1");
	ck_assert_ptr_eq(c.hostname, data);
}
END_TEST

START_TEST(connect_inet6)
{
	static const char pfx[] = "[2001:db8::1]\0" "6" "\x00\x19" "IPv6:2001:db8::1\0";
	static const char lower[] = "h\0" "6" "\x00\x19" "ipv6:2001:db8::2\0";
	static const char bare[] = "h6.example\0" "6" "\xff\xff" "2001:db8::3\0";
	static const char v4pfx[] = "h\0" "4" "\x00\x19" "IPv6:x\0";
	struct am_mpacket p;
	struct am_mconnect c;

	p = PKT(SMFIC_CONNECT, pfx);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.hostname, "[2001:db8::1]");
	ck_assert_int_eq(c.family, SMFIA_INET6);
	ck_assert_uint_eq(c.port, 25);
	ck_assert_str_eq(c.address, "2001:db8::1");
	p = PKT(SMFIC_CONNECT, lower);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.address, "2001:db8::2");
	/* Postfix sends the bare address. */
	p = PKT(SMFIC_CONNECT, bare);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_uint_eq(c.port, 65535);
	ck_assert_str_eq(c.address, "2001:db8::3");
	/* The prefix is an IPv6 thing only. */
	p = PKT(SMFIC_CONNECT, v4pfx);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.address, "IPv6:x");
}
END_TEST

START_TEST(connect_unix_and_unknown)
{
	static const char local[] = "localhost\0" "L" "\0\0" "/var/spool/postfix/public/pickup\0";
	static const char unknown[] = "[192.0.2.9]\0" "U";
	static const char empty_host[] = "\0" "U";
	struct am_mpacket p;
	struct am_mconnect c;

	p = PKT(SMFIC_CONNECT, local);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.hostname, "localhost");
	ck_assert_int_eq(c.family, SMFIA_UNIX);
	ck_assert_uint_eq(c.port, 0);
	ck_assert_str_eq(c.address, "/var/spool/postfix/public/pickup");
	/* 'U': Postfix sends the family byte and nothing after it. */
	p = PKT(SMFIC_CONNECT, unknown);
	c.port = 77;
	c.address = NULL;
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.hostname, "[192.0.2.9]");
	ck_assert_int_eq(c.family, SMFIA_UNKNOWN);
	ck_assert_uint_eq(c.port, 0);
	ck_assert_ptr_nonnull(c.address);
	ck_assert_str_eq(c.address, "");
	p = PKT(SMFIC_CONNECT, empty_host);
	ck_assert(am_mproto_parse_connect(&p, &c));
	ck_assert_str_eq(c.hostname, "");
}
END_TEST

START_TEST(connect_malformed)
{
	static const struct { const char *data; size_t len; const char *why; } bad[] = {
#define BAD(lit, why)	{ lit, sizeof(lit) - 1, why }
		BAD("", "empty"),
		BAD("host", "hostname without NUL"),
		BAD("host\0", "no family"),
		BAD("host\0" "4", "no port"),
		BAD("host\0" "4" "\x00", "half a port"),
		BAD("host\0" "4" "\x00\x19", "no address"),
		BAD("host\0" "4" "\x00\x19" "192.0.2.1", "address without NUL"),
		BAD("host\0" "6" "\x00\x19" "IPv6:::1", "v6 address without NUL"),
		BAD("host\0" "L" "\x00", "unix: half a port"),
		BAD("host\0" "X" "\x00\x19" "192.0.2.1\0", "unknown family"),
		BAD("host\0" "u" "\x00\x19" "192.0.2.1\0", "family letters are case-sensitive"),
		BAD("host\0" "\0" "\x00\x19" "192.0.2.1\0", "family NUL"),
#undef BAD
	};
	struct am_mpacket p;
	struct am_mconnect c;
	size_t i;

	/* Exactly sized copies: a read past the packet is an error under ASan. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *copy = malloc(bad[i].len > 0 ? bad[i].len : 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, bad[i].data, bad[i].len);
		p = pkt(SMFIC_CONNECT, copy, bad[i].len);
		ck_assert_msg(!am_mproto_parse_connect(&p, &c), "accepted: %s", bad[i].why);
		free(copy);
	}
}
END_TEST

START_TEST(connect_nul_beyond_packet)
{
	/* The NUL that ends the address lies just past the packet: not ours to read. */
	static const char data[] = "h\0" "4" "\x00\x19" "192.0.2.1\0";
	struct am_mpacket p = pkt(SMFIC_CONNECT, data, sizeof(data) - 2);
	struct am_mconnect c;

	ck_assert(!am_mproto_parse_connect(&p, &c));
	p.len++;
	ck_assert(am_mproto_parse_connect(&p, &c));
}
END_TEST

/* ---- strings and headers -------------------------------------------------------- */

START_TEST(parse_string_forms)
{
	static const char mail[] = "<sender@example.org>\0SIZE=1234\0BODY=8BITMIME\0";
	struct am_mpacket p;
	const char *s;

	p = PKT(SMFIC_MAIL, mail);
	ck_assert(am_mproto_parse_string(&p, &s));
	ck_assert_str_eq(s, "<sender@example.org>");
	ck_assert_ptr_eq(s, mail);
	p = PKT(SMFIC_MAIL, "<>\0");
	ck_assert(am_mproto_parse_string(&p, &s));
	ck_assert_str_eq(s, "<>");
	p = PKT(SMFIC_HELO, "\0");
	ck_assert(am_mproto_parse_string(&p, &s));
	ck_assert_str_eq(s, "");
	p = PKT(SMFIC_HELO, "mx.example");
	ck_assert(!am_mproto_parse_string(&p, &s));
	p = pkt(SMFIC_HELO, "x\0", 0);
	ck_assert(!am_mproto_parse_string(&p, &s));
	/* The NUL just past the packet does not count. */
	p = pkt(SMFIC_HELO, "mx\0", 2);
	ck_assert(!am_mproto_parse_string(&p, &s));
}
END_TEST

START_TEST(parse_header_forms)
{
	static const char folded[] = "DKIM-Signature\0 v=1; a=rsa-sha256;\r\n\td=example.org;\n\tb=abc\0";
	struct am_mpacket p;
	const char *n, *v;

	p = PKT(SMFIC_HEADER, "From\0 Alice <a@example.org>\0");
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(n, "From");
	ck_assert_str_eq(v, " Alice <a@example.org>");
	p = PKT(SMFIC_HEADER, folded);
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(n, "DKIM-Signature");
	ck_assert_str_eq(v, " v=1; a=rsa-sha256;\r\n\td=example.org;\n\tb=abc");
	p = PKT(SMFIC_HEADER, "\0\0");
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(n, "");
	ck_assert_str_eq(v, "");
	p = PKT(SMFIC_HEADER, "Subject\0\0");
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(v, "");
}
END_TEST

START_TEST(parse_header_rejects)
{
	struct am_mpacket p;
	const char *n, *v;

	p = PKT(SMFIC_HEADER, "From\0 a@example.org");
	ck_assert(!am_mproto_parse_header(&p, &n, &v));
	p = PKT(SMFIC_HEADER, "From\0");
	ck_assert(!am_mproto_parse_header(&p, &n, &v));
	p = PKT(SMFIC_HEADER, "From: a@example.org");
	ck_assert(!am_mproto_parse_header(&p, &n, &v));
	p = pkt(SMFIC_HEADER, "", 0);
	ck_assert(!am_mproto_parse_header(&p, &n, &v));
	p = pkt(SMFIC_HEADER, "From\0x\0", 6);
	ck_assert(!am_mproto_parse_header(&p, &n, &v));
}
END_TEST

/* ---- macros ------------------------------------------------------------------- */

START_TEST(parse_macros_stage)
{
	struct am_mpacket p;
	unsigned char stage = 0;

	p = PKT(SMFIC_MACRO, "Cj\0mx.example\0{daemon_name}\0smtpd\0v\0Postfix 3.7.11\0");
	ck_assert(am_mproto_parse_macros(&p, &stage));
	ck_assert_int_eq(stage, SMFIC_CONNECT);
	/* Stage only: Postfix with an empty macro list for that stage. */
	p = PKT(SMFIC_MACRO, "E");
	ck_assert(am_mproto_parse_macros(&p, &stage));
	ck_assert_int_eq(stage, SMFIC_BODYEOB);
	p = pkt(SMFIC_MACRO, "", 0);
	ck_assert(!am_mproto_parse_macros(&p, &stage));
	p = PKT(SMFIC_HEADER, "Ci\0x\0");
	ck_assert(!am_mproto_parse_macros(&p, &stage));
}
END_TEST

START_TEST(macro_bare_and_braced)
{
	static const char bare[] = "Ei\0" "4VxYz1kq\0";
	static const char braced[] = "E{i}\0" "4VxYz2kq\0";
	const char *v;

	v = am_mproto_macro(bare, sizeof(bare) - 1, "i");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "4VxYz1kq");
	v = am_mproto_macro(bare, sizeof(bare) - 1, "{i}");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "4VxYz1kq");
	v = am_mproto_macro(braced, sizeof(braced) - 1, "i");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "4VxYz2kq");
	v = am_mproto_macro(braced, sizeof(braced) - 1, "{i}");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "4VxYz2kq");
}
END_TEST

START_TEST(macro_postfix_connect_list)
{
	static const char data[] = "C" "j\0mx.example.org\0" "{daemon_name}\0smtpd\0"
	    "{daemon_addr}\0" "192.0.2.25\0" "v\0Postfix 3.7.11\0" "_\0unknown [198.51.100.7]\0"
	    "{auth_type}\0\0";
	const size_t n = sizeof(data) - 1;
	const char *v;

	ck_assert_str_eq(am_mproto_macro(data, n, "j"), "mx.example.org");
	ck_assert_str_eq(am_mproto_macro(data, n, "{j}"), "mx.example.org");
	ck_assert_str_eq(am_mproto_macro(data, n, "{daemon_name}"), "smtpd");
	ck_assert_str_eq(am_mproto_macro(data, n, "daemon_name"), "smtpd");
	ck_assert_str_eq(am_mproto_macro(data, n, "daemon_addr"), "192.0.2.25");
	ck_assert_str_eq(am_mproto_macro(data, n, "v"), "Postfix 3.7.11");
	ck_assert_str_eq(am_mproto_macro(data, n, "_"), "unknown [198.51.100.7]");
	/* Present with an empty value: "", not absent. */
	v = am_mproto_macro(data, n, "auth_type");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "");
	ck_assert_ptr_null(am_mproto_macro(data, n, "i"));
}
END_TEST

START_TEST(macro_no_false_match)
{
	static const char data[] = "E" "{i}\0Q1\0" "ii\0Q2\0" "{ij}\0Q3\0" "{\0Q4\0" "k}\0Q5\0";
	const size_t n = sizeof(data) - 1;

	ck_assert_ptr_null(am_mproto_macro(data, n, "j"));
	ck_assert_ptr_null(am_mproto_macro(data, n, "{j}"));
	ck_assert_ptr_null(am_mproto_macro(data, n, "I"));
	ck_assert_ptr_null(am_mproto_macro(data, n, "{i"));
	ck_assert_ptr_null(am_mproto_macro(data, n, "i}"));
	ck_assert_ptr_null(am_mproto_macro(data, n, "k"));
	ck_assert_str_eq(am_mproto_macro(data, n, "i"), "Q1");
	ck_assert_str_eq(am_mproto_macro(data, n, "ii"), "Q2");
	ck_assert_str_eq(am_mproto_macro(data, n, "ij"), "Q3");
	ck_assert_str_eq(am_mproto_macro(data, n, "{"), "Q4");
	ck_assert_str_eq(am_mproto_macro(data, n, "k}"), "Q5");
	/* Only names are matched, never values. */
	ck_assert_ptr_null(am_mproto_macro(data, n, "Q1"));
}
END_TEST

START_TEST(macro_cut_short)
{
	static const char value_cut[] = "E" "j\0mx\0" "i\0" "Q1";
	static const char name_cut[] = "E" "j\0mx\0" "i";
	static const char name_only[] = "E" "i\0";
	static const char nul_past[] = "E" "i\0Q1\0";

	/* A pair before the damage is still found. */
	ck_assert_str_eq(am_mproto_macro(value_cut, sizeof(value_cut) - 1, "j"), "mx");
	ck_assert_ptr_null(am_mproto_macro(value_cut, sizeof(value_cut) - 1, "i"));
	ck_assert_ptr_null(am_mproto_macro(name_cut, sizeof(name_cut) - 1, "i"));
	ck_assert_ptr_null(am_mproto_macro(name_only, sizeof(name_only) - 1, "i"));
	ck_assert_ptr_null(am_mproto_macro(nul_past, sizeof(nul_past) - 2, "i"));
	ck_assert_str_eq(am_mproto_macro(nul_past, sizeof(nul_past) - 1, "i"), "Q1");
	/* Stage byte only, or nothing at all. */
	ck_assert_ptr_null(am_mproto_macro("E", 1, "i"));
	ck_assert_ptr_null(am_mproto_macro("", 0, "i"));
}
END_TEST

/* ---- encoders ------------------------------------------------------------------ */

START_TEST(put_plain)
{
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put(&out, SMFIR_CONTINUE, NULL, 0);
	BYTES_EQ(&out, "\0\0\0\x01" "c");
	/* Appends; data bytes go as given, NULs included. */
	am_mproto_put(&out, SMFIR_REPLBODY, "ab\0c", 4);
	BYTES_EQ(&out, "\0\0\0\x01" "c" "\0\0\0\x05" "b" "ab\0c");
	am_mproto_put(&out, SMFIR_ACCEPT, "ignored", 0);
	BYTES_EQ(&out, "\0\0\0\x01" "c" "\0\0\0\x05" "b" "ab\0c" "\0\0\0\x01" "a");
	am_buf_free(&out);
}
END_TEST

START_TEST(put_large_length)
{
	struct am_buf out;
	size_t n = 70000;		/* needs the third length byte */
	char *data = malloc(n);

	ck_assert_ptr_nonnull(data);
	memset(data, 'x', n);
	am_buf_init(&out);
	am_mproto_put(&out, SMFIR_REPLBODY, data, n);
	ck_assert_uint_eq(out.len, 5 + n);
	ck_assert_uint_eq(be32(out.data), n + 1);
	ck_assert_int_eq(out.data[4], SMFIR_REPLBODY);
	ck_assert_int_eq(memcmp(out.data + 5, data, n), 0);
	am_buf_free(&out);
	free(data);
}
END_TEST

START_TEST(put_optneg_plain)
{
	struct am_moptneg o = { 6, NEED, WANT };
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put_optneg(&out, &o, false);
	/* 13 = 'O' + three words; 0x0011 = ADDHDRS|CHGHDRS; 0x001c7388 = WANT. */
	BYTES_EQ(&out, "\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\0\x11" "\0\x1c\x73\x88");
	am_buf_free(&out);
}
END_TEST

START_TEST(put_optneg_symlist)
{
	struct am_moptneg o = { 6, NEED | (uint32_t)SMFIF_SETSYMLIST | (uint32_t)SMFIF_QUARANTINE, 0x01020304u };
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put_optneg(&out, &o, true);
	/* 19 = 'O' + 12 + SMFIM_EOM word + "i\0". */
	BYTES_EQ(&out, "\0\0\0\x13" "O" "\0\0\0\x06" "\0\0\x01\x31" "\x01\x02\x03\x04"
	    "\0\0\0\x05" "i\0");
	am_buf_free(&out);
}
END_TEST

START_TEST(put_header_insert)
{
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put_header(&out, SMFIR_INSHEADER, 0, "Authentication-Results",
	    " mx.example; spf=pass smtp.mailfrom=example.org");
	/* 1 + 4 + 23 + 48 = 76 = 0x4c */
	BYTES_EQ(&out, "\0\0\0\x4c" "i" "\0\0\0\0" "Authentication-Results\0"
	    " mx.example; spf=pass smtp.mailfrom=example.org\0");
	am_buf_free(&out);
}
END_TEST

START_TEST(put_header_change_delete)
{
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put_header(&out, SMFIR_CHGHEADER, 2, "Authentication-Results", NULL);
	/* Deletion is an empty value: 1 + 4 + 23 + 1 = 29 = 0x1d. */
	BYTES_EQ(&out, "\0\0\0\x1d" "m" "\0\0\0\x02" "Authentication-Results\0" "\0");
	am_buf_reset(&out);
	am_mproto_put_header(&out, SMFIR_CHGHEADER, 0x01020304u, "X", "");
	BYTES_EQ(&out, "\0\0\0\x08" "m" "\x01\x02\x03\x04" "X\0" "\0");
	am_buf_free(&out);
}
END_TEST

START_TEST(put_string_forms)
{
	struct am_buf out;

	am_buf_init(&out);
	am_mproto_put_string(&out, SMFIR_QUARANTINE, "DMARC p=quarantine");
	BYTES_EQ(&out, "\0\0\0\x14" "q" "DMARC p=quarantine\0");
	am_buf_reset(&out);
	am_mproto_put_string(&out, SMFIR_REPLYCODE, "550 5.7.1 rejected by DMARC policy");
	BYTES_EQ(&out, "\0\0\0\x24" "y" "550 5.7.1 rejected by DMARC policy\0");
	am_buf_reset(&out);
	am_mproto_put_string(&out, SMFIR_QUARANTINE, "");
	BYTES_EQ(&out, "\0\0\0\x02" "q" "\0");
	am_buf_free(&out);
}
END_TEST

START_TEST(round_trip)
{
	struct am_moptneg o = { 6, NEED | (uint32_t)SMFIF_SETSYMLIST, WANT }, back;
	struct am_buf out;
	struct am_mpacket p;
	const char *n, *v, *s;
	size_t off = 0, used;

	am_buf_init(&out);
	am_mproto_put_optneg(&out, &o, true);
	am_mproto_put_header(&out, SMFIR_INSHEADER, 0, "Authentication-Results", " mx;\n\tdkim=pass");
	am_mproto_put_header(&out, SMFIR_CHGHEADER, 3, "Authentication-Results", NULL);
	am_mproto_put_string(&out, SMFIR_QUARANTINE, "policy");
	am_mproto_put(&out, SMFIR_CONTINUE, NULL, 0);

	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_PACKET);
	off += used;
	ck_assert(am_mproto_parse_optneg(&p, &back));
	ck_assert_uint_eq(back.version, o.version);
	ck_assert_uint_eq(back.actions, o.actions);
	ck_assert_uint_eq(back.protocol, o.protocol);
	ck_assert_uint_eq(p.len, 12 + 4 + 2);
	ck_assert_uint_eq(be32(p.data + 12), SMFIM_EOM);
	ck_assert_str_eq(p.data + 16, "i");

	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_PACKET);
	off += used;
	ck_assert_int_eq(p.cmd, SMFIR_INSHEADER);
	ck_assert_uint_eq(be32(p.data), 0);
	p.data += 4;
	p.len -= 4;
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(n, "Authentication-Results");
	ck_assert_str_eq(v, " mx;\n\tdkim=pass");
	ck_assert_uint_eq(p.len, strlen(n) + 1 + strlen(v) + 1);

	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_PACKET);
	off += used;
	ck_assert_int_eq(p.cmd, SMFIR_CHGHEADER);
	ck_assert_uint_eq(be32(p.data), 3);
	p.data += 4;
	p.len -= 4;
	ck_assert(am_mproto_parse_header(&p, &n, &v));
	ck_assert_str_eq(n, "Authentication-Results");
	ck_assert_str_eq(v, "");

	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_PACKET);
	off += used;
	ck_assert_int_eq(p.cmd, SMFIR_QUARANTINE);
	ck_assert(am_mproto_parse_string(&p, &s));
	ck_assert_str_eq(s, "policy");
	ck_assert_uint_eq(p.len, 7);

	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_PACKET);
	off += used;
	ck_assert_int_eq(p.cmd, SMFIR_CONTINUE);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_uint_eq(off, out.len);
	ck_assert_int_eq(am_mproto_frame(out.data + off, out.len - off, &p, &used), AM_MFRAME_NEED_MORE);
	am_buf_free(&out);
}
END_TEST

START_TEST(negotiate_then_encode)
{
	/* The whole handshake with a Postfix offer, from its bytes to ours. */
	static const char in[] = "\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\x01\xff" "\0\x1f\xff\xff";
	struct am_mpacket p;
	struct am_moptneg mta, ours;
	struct am_buf out;
	bool symlist;
	char err[256];
	size_t used;

	ck_assert_int_eq(am_mproto_frame(in, sizeof(in) - 1, &p, &used), AM_MFRAME_PACKET);
	ck_assert_uint_eq(used, sizeof(in) - 1);
	ck_assert(am_mproto_parse_optneg(&p, &mta));
	ck_assert(am_mproto_negotiate(&mta, NEED, &ours, &symlist, err, sizeof(err)));
	am_buf_init(&out);
	am_mproto_put_optneg(&out, &ours, symlist);
	BYTES_EQ(&out, "\0\0\0\x13" "O" "\0\0\0\x06" "\0\0\x01\x11" "\0\x1c\x73\x88"
	    "\0\0\0\x05" "i\0");
	am_buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mproto");
	TCase *frame = tcase_create("frame");
	TCase *neg = tcase_create("negotiate");
	TCase *dec = tcase_create("decode");
	TCase *enc = tcase_create("encode");
	SRunner *sr;
	int failed;

	tcase_add_test(frame, frame_under_four_bytes);
	tcase_add_test(frame, frame_one_packet);
	tcase_add_test(frame, frame_command_only);
	tcase_add_test(frame, frame_back_to_back);
	tcase_add_test(frame, frame_cut_short);
	tcase_add_test(frame, frame_one_byte_short);
	tcase_add_test(frame, frame_length_zero);
	tcase_add_test(frame, frame_length_too_big);
	tcase_add_test(frame, frame_length_max);
	suite_add_tcase(s, frame);

	tcase_add_test(neg, optneg_parse);
	tcase_add_test(neg, optneg_parse_rejects);
	tcase_add_test(neg, negotiate_version);
	tcase_add_test(neg, negotiate_version_too_old);
	tcase_add_test(neg, negotiate_missing_actions);
	tcase_add_test(neg, negotiate_quarantine);
	tcase_add_test(neg, negotiate_protocol_postfix);
	tcase_add_test(neg, negotiate_protocol_each_bit);
	tcase_add_test(neg, negotiate_symlist);
	tcase_add_test(neg, negotiate_actions_within_offer);
	tcase_add_test(neg, wants_reply_no_nr);
	tcase_add_test(neg, wants_reply_all_nr);
	tcase_add_test(neg, wants_reply_each_flag);
	suite_add_tcase(s, neg);

	tcase_add_test(dec, connect_inet4);
	tcase_add_test(dec, connect_inet6);
	tcase_add_test(dec, connect_unix_and_unknown);
	tcase_add_test(dec, connect_malformed);
	tcase_add_test(dec, connect_nul_beyond_packet);
	tcase_add_test(dec, parse_string_forms);
	tcase_add_test(dec, parse_header_forms);
	tcase_add_test(dec, parse_header_rejects);
	tcase_add_test(dec, parse_macros_stage);
	tcase_add_test(dec, macro_bare_and_braced);
	tcase_add_test(dec, macro_postfix_connect_list);
	tcase_add_test(dec, macro_no_false_match);
	tcase_add_test(dec, macro_cut_short);
	suite_add_tcase(s, dec);

	tcase_add_test(enc, put_plain);
	tcase_add_test(enc, put_large_length);
	tcase_add_test(enc, put_optneg_plain);
	tcase_add_test(enc, put_optneg_symlist);
	tcase_add_test(enc, put_header_insert);
	tcase_add_test(enc, put_header_change_delete);
	tcase_add_test(enc, put_string_forms);
	tcase_add_test(enc, round_trip);
	tcase_add_test(enc, negotiate_then_encode);
	suite_add_tcase(s, enc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
