/*
 * check_mproto_codec.c - unit tests of the milter packet codec (milter/mproto.c).
 *
 * Owns: decoding what Postfix's milter8.c sends (connect, strings,
 * headers, macros; every field checked to lie inside the packet, which
 * ASan sees), the bytes of each reply we encode, and round trips of every
 * encoder through the framer and the decoders.  Framing and negotiation
 * are check_mproto.c's.
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
	Suite *s = suite_create("mproto_codec");
	TCase *dec = tcase_create("decode");
	TCase *enc = tcase_create("encode");
	SRunner *sr;
	int failed;

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
