/*
 * check_mconn.c - unit tests of one MTA connection's conversation
 * (milter/mconn.c), fed byte streams as transport-native.c reads them,
 * over the pipeline fixture of verdictutil.c.
 *
 * Owns: the memory rules of mconn.h - an input buffer grown for a large
 * packet is cut back once the message ends, input beyond the start size
 * draws on a process-wide budget and a connection the budget cannot hold
 * is closed, a large macro packet is not kept - and what QUIT_NC keeps:
 * the flags negotiated first (the milter protocol as Sendmail's
 * libmilter implements it, engine.c: after QUIT_NC a CONNECT follows
 * without a new negotiation).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "util/util.h"
#include "milter/mconn.h"
#include "milter/mproto.h"
#include "verdictutil.h"

/* What Postfix 3.x offers with milter_protocol = 6. */
#define PF_ACTIONS	0x1ffu
#define PF_PROTOCOL	0x1fffffu

static void
put32(struct am_buf *b, uint32_t v)
{
	char w[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	am_buf_add(b, w, 4);
}

static void
optneg(struct am_buf *b, uint32_t protocol)
{
	struct am_buf d;

	am_buf_init(&d);
	put32(&d, 6);
	put32(&d, PF_ACTIONS);
	put32(&d, protocol);
	am_mproto_put(b, SMFIC_OPTNEG, d.data, d.len);
	am_buf_free(&d);
}

/* Strings with their NULs, as one packet's data. */
static void
put_strings(struct am_buf *b, unsigned char cmd, const char *const *s, size_t n)
{
	struct am_buf d;
	size_t i;

	am_buf_init(&d);
	for (i = 0; i < n; i++)
		am_buf_add(&d, s[i], strlen(s[i]) + 1);
	am_mproto_put(b, cmd, d.data, d.len);
	am_buf_free(&d);
}

static void
session_start(struct am_buf *b)
{
	static const char conn[] = "mx.client.example\0" "4" "\x61\xa8" "192.0.2.1";
	static const char *const helo[] = { "mx.client.example" };

	am_mproto_put(b, SMFIC_CONNECT, conn, sizeof(conn));
	put_strings(b, SMFIC_HELO, helo, 1);
}

/* A message with one header field of value_len octets; i=qid at end of message. */
static void
message(struct am_buf *b, size_t value_len, const char *qid)
{
	static const char *const mail[] = { "<a@example.com>" };
	static const char *const from[] = { "From", " a@example.com" };
	const char *big[2];
	const char *eom[] = { "Ei", qid };
	char *value = am_xmalloc(value_len + 2);

	put_strings(b, SMFIC_MAIL, mail, 1);
	put_strings(b, SMFIC_HEADER, from, 2);
	value[0] = ' ';
	memset(value + 1, 'x', value_len);
	value[value_len + 1] = '\0';
	big[0] = "X-Big";
	big[1] = value;
	put_strings(b, SMFIC_HEADER, big, 2);
	am_mproto_put(b, SMFIC_EOH, NULL, 0);
	am_mproto_put(b, SMFIC_BODY, "Hello.\r\n", 8);
	put_strings(b, SMFIC_MACRO, eom, 2);
	am_mproto_put(b, SMFIC_BODYEOB, NULL, 0);
	free(value);
}

/* Feed s in pieces of at most chunk bytes, as reads would deliver them; collect the replies. */
static enum am_mconn_status
feed(am_mconn *m, const struct am_buf *s, size_t chunk, struct am_buf *replies)
{
	size_t off = 0, room, n, outlen;
	const char *out;
	char *space;

	while (off < s->len) {
		space = am_mconn_space(m, &room);
		ck_assert_uint_gt(room, 0);
		n = s->len - off < room ? s->len - off : room;
		if (n > chunk)
			n = chunk;
		memcpy(space, s->data + off, n);
		off += n;
		if (am_mconn_feed(m, n) == AM_MCONN_CLOSE)
			return AM_MCONN_CLOSE;
		out = am_mconn_out(m, &outlen);
		if (replies != NULL && outlen > 0)
			am_buf_add(replies, out, outlen);
		am_mconn_sent(m);
	}
	return AM_MCONN_OPEN;
}

/* The replies, as "O c i ..." (command letters), and the inserted values. */
static void
replies_text(const struct am_buf *r, char *cmds, size_t cmdslen, char *ins, size_t inslen)
{
	struct am_mpacket p;
	size_t off = 0, used;
	char one[3];

	cmds[0] = ins[0] = '\0';
	while (am_mproto_frame(r->data + off, r->len - off, &p, &used) == AM_MFRAME_PACKET) {
		snprintf(one, sizeof(one), "%c ", p.cmd);
		am_strlcat(cmds, one, cmdslen);
		if (p.cmd == SMFIR_INSHEADER && p.len > 4) {
			am_strlcat(ins, "[", inslen);
			am_strlcat(ins, p.data + 4 + strlen(p.data + 4) + 1, inslen);
			am_strlcat(ins, "]", inslen);
		}
		off += used;
	}
}

START_TEST(large_packet_buffer_shrinks_at_message_end)
{
	am_mconn *m = am_mconn_new(eng, "test");
	struct am_buf s, r;
	size_t base = am_mconn_growth_used();
	char cmds[256], ins[4096];

	am_buf_init(&s);
	am_buf_init(&r);
	optneg(&s, PF_PROTOCOL);
	session_start(&s);
	ck_assert_int_eq(feed(m, &s, 7000, &r), AM_MCONN_OPEN);
	ck_assert_uint_eq(am_mconn_input_capacity(m), AM_MCONN_INPUT_START);

	/* A 300,000-octet header field: its packet must fit whole. */
	am_buf_reset(&s);
	message(&s, 300000, "Q1");
	ck_assert_int_eq(feed(m, &s, 7000, &r), AM_MCONN_OPEN);
	replies_text(&r, cmds, sizeof(cmds), ins, sizeof(ins));
	ck_assert_msg(strstr(cmds, "i ") != NULL && cmds[strlen(cmds) - 2] == 'c', "replies: %s", cmds);
	/* The message is over: the buffer is back to its start size, the budget given back. */
	ck_assert_uint_eq(am_mconn_input_capacity(m), AM_MCONN_INPUT_START);
	ck_assert_uint_eq(am_mconn_growth_used(), base);

	/* Fed in one piece the same (the whole stream read at once). */
	am_buf_reset(&r);
	ck_assert_int_eq(feed(m, &s, SIZE_MAX, &r), AM_MCONN_OPEN);
	ck_assert_uint_eq(am_mconn_input_capacity(m), AM_MCONN_INPUT_START);
	ck_assert_uint_eq(am_mconn_growth_used(), base);
	am_mconn_free(m);
	am_buf_free(&s);
	am_buf_free(&r);
}
END_TEST

START_TEST(large_packet_grows_while_incomplete)
{
	am_mconn *m = am_mconn_new(eng, "test");
	struct am_buf s;
	size_t base = am_mconn_growth_used();

	am_buf_init(&s);
	optneg(&s, PF_PROTOCOL);
	session_start(&s);
	message(&s, 200000, "Q2");
	s.len = 1000;			/* the start of the big header's packet, no more */
	ck_assert_int_eq(feed(m, &s, SIZE_MAX, NULL), AM_MCONN_OPEN);
	/* Grown to hold that packet whole, drawn from the budget. */
	ck_assert_uint_gt(am_mconn_input_capacity(m), 200000);
	ck_assert_uint_eq(am_mconn_growth_used() - base, am_mconn_input_capacity(m) - AM_MCONN_INPUT_START);
	am_buf_free(&s);
	am_mconn_free(m);
	/* Freed: nothing of the budget is kept. */
	ck_assert_uint_eq(am_mconn_growth_used(), base);
}
END_TEST

START_TEST(budget_closes_connection_past_it)
{
	enum { MAX = 80 };
	am_mconn *m[MAX];
	struct am_buf s;
	size_t i, held = 0, base = am_mconn_growth_used();
	bool closed = false;

	/* Each one declares a 1 MiB body chunk and sends its first bytes. */
	am_buf_init(&s);
	optneg(&s, PF_PROTOCOL);
	put32(&s, AM_MPROTO_MAX_PACKET);
	am_buf_add(&s, "Bxxxxxxxx", 9);
	for (i = 0; i < MAX && !closed; i++) {
		m[i] = am_mconn_new(eng, "test");
		if (feed(m[i], &s, SIZE_MAX, NULL) == AM_MCONN_CLOSE)
			closed = true;
		else
			held++;
		ck_assert_uint_le(am_mconn_growth_used(), AM_MCONN_GROWTH_BUDGET);
	}
	ck_assert_msg(closed, "no connection was closed after %zu packets of 1 MiB", held);
	/* As many such packets as the budget holds beyond the 16 KiB each starts with (65). */
	ck_assert_uint_eq(held, AM_MCONN_GROWTH_BUDGET / (AM_MPROTO_MAX_PACKET + 4 - AM_MCONN_INPUT_START));
	while (i > 0)
		am_mconn_free(m[--i]);
	ck_assert_uint_eq(am_mconn_growth_used(), base);
	am_buf_free(&s);
}
END_TEST

START_TEST(large_macro_packet_not_kept)
{
	am_mconn *m = am_mconn_new(eng, "test");
	struct am_buf s, r;
	char *junk = am_xmalloc(200001);
	const char *mac[] = { "Mj", junk, "i", "QMAIL" };
	char cmds[256], ins[4096];

	memset(junk, 'j', 200000);
	junk[200000] = '\0';
	am_buf_init(&s);
	am_buf_init(&r);
	optneg(&s, PF_PROTOCOL);
	session_start(&s);
	put_strings(&s, SMFIC_MACRO, mac, 4);
	ck_assert_int_eq(feed(m, &s, 65536, &r), AM_MCONN_OPEN);
	/* Its queue id is taken; the packet is not kept, the buffer waits for a message end. */
	am_buf_reset(&s);
	message(&s, 10, "QEOM");
	ck_assert_int_eq(feed(m, &s, 65536, &r), AM_MCONN_OPEN);
	replies_text(&r, cmds, sizeof(cmds), ins, sizeof(ins));
	ck_assert_msg(strstr(cmds, "i ") != NULL, "replies: %s", cmds);
	ck_assert_uint_eq(am_mconn_input_capacity(m), AM_MCONN_INPUT_START);
	am_mconn_free(m);
	am_buf_free(&s);
	am_buf_free(&r);
	free(junk);
}
END_TEST

START_TEST(quit_nc_keeps_negotiated_flags)
{
	am_mconn *m = am_mconn_new(eng, "test");
	struct am_buf s, r;
	char cmds[256], ins[4096];

	am_buf_init(&s);
	am_buf_init(&r);
	/* HDR_LEADSPC and the no-reply flags: only the OPTNEG and end-of-message answers. */
	optneg(&s, PF_PROTOCOL);
	session_start(&s);
	message(&s, 10, "QA");
	am_mproto_put(&s, SMFIC_QUIT_NC, NULL, 0);
	session_start(&s);
	message(&s, 10, "QB");
	ck_assert_int_eq(feed(m, &s, 4096, &r), AM_MCONN_OPEN);
	replies_text(&r, cmds, sizeof(cmds), ins, sizeof(ins));
	ck_assert_str_eq(cmds, "O i c i c ");
	/* Both inserted values start with the space HDR_LEADSPC keeps. */
	ck_assert_msg(strncmp(ins, "[ " AUTHSERV, strlen("[ " AUTHSERV)) == 0 &&
	    strstr(ins, "][ " AUTHSERV) != NULL, "inserted: %s", ins);
	am_mconn_free(m);
	am_buf_free(&s);
	am_buf_free(&r);
}
END_TEST

START_TEST(quit_closes_with_replies)
{
	am_mconn *m = am_mconn_new(eng, "test");
	struct am_buf s;
	size_t len;

	am_buf_init(&s);
	optneg(&s, PF_PROTOCOL);
	am_mproto_put(&s, SMFIC_QUIT, NULL, 0);
	ck_assert_int_eq(feed(m, &s, SIZE_MAX, NULL), AM_MCONN_CLOSE);
	(void)am_mconn_out(m, &len);
	ck_assert_uint_gt(len, 0);		/* the OPTNEG answer still goes out */
	am_mconn_free(m);
	am_buf_free(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mconn");
	TCase *tc = tcase_create("mconn");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, large_packet_buffer_shrinks_at_message_end);
	tcase_add_test(tc, large_packet_grows_while_incomplete);
	tcase_add_test(tc, budget_closes_connection_past_it);
	tcase_add_test(tc, large_macro_packet_not_kept);
	tcase_add_test(tc, quit_nc_keeps_negotiated_flags);
	tcase_add_test(tc, quit_closes_with_replies);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
