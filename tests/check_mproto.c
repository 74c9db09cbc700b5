/*
 * check_mproto.c - unit tests of the milter conversation rules (milter/mproto.c).
 *
 * Owns: byte-exact framing (the length word, packets cut short, back to
 * back, too long), the option negotiation with what Postfix's milter8.c
 * offers (versions, the actions we need, the protocol flags we take, the
 * macro list), and which commands want a reply under the no-reply flags.
 * The packets' fields and our replies are check_mproto_codec.c's.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "util/util.h"
#include "milter/mproto.h"
#include "mprotoutil.h"

/* Every no-reply flag of protocol version 6. */
#define ALL_NR		((uint32_t)(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			    SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
			    SMFIP_NR_EOH | SMFIP_NR_BODY))
/* What Postfix 3.x offers with milter_protocol = 6 (SMFI_V6_ACTS, MILTER8_V6_PROTO_MASK). */
#define PF_ACTIONS	0x1ffu
#define PF_PROTOCOL	0x1fffffu

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

int
main(void)
{
	Suite *s = suite_create("mproto");
	TCase *frame = tcase_create("frame");
	TCase *neg = tcase_create("negotiate");
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

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
