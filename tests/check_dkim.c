/*
 * check_dkim.c - unit and conformance tests of milter/dkim.c.
 *
 * Messages are split into header fields and body here and fed through the
 * public per-message API, as the milter and the offline mode do.  Keys
 * come from the vectors' DNS data loaded into a fakezone behind
 * am_resolver_new_backend(), so the DNS hooks and the synthesized
 * response packets are exercised on every case.
 *
 * Data: TESTDATA_DIR/dkim (RFC 8463, dkimpy, Mail::DKIM corpus, OpenDKIM
 * milter scenarios) and tests/dkim/ (our fixtures made by python3-dkim,
 * see tests/dkim/gen-fixtures.py, and our expectations with reasons in
 * tests/dkim/mail-dkim-expected.tsv and tests/dkim/EXPECTED.md).
 *
 * ALIGNMILTER_DKIM_SURVEY=1 prints every verdict.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/dkim.h"
#include "auth/keycache.h"
#include "fakezone.h"
#include "testutil.h"
#include "dns/resolver.h"
#include "util/util.h"

#define VEC_DIR	TESTDATA_DIR "/dkim"
#define OWN_DIR	TOP_SRCDIR "/tests/dkim"

static bool survey;

/* ---- helpers -------------------------------------------------------------- */

/*
 * Split a raw message (CRLF or LF) into header fields and body and feed
 * them.  chunk: body chunk size (exercises line ends across chunks).
 */
static void
feed(am_dkim_msg *m, const char *raw, size_t len, size_t chunk)
{
	size_t pos = 0, off;

	while (pos < len) {
		size_t eol, fend, next, colon;

		eol = pos;
		while (eol < len && raw[eol] != '\n')
			eol++;
		if (eol == pos || (eol == pos + 1 && raw[pos] == '\r')) {
			pos = eol < len ? eol + 1 : len;
			break;			/* empty line: body follows */
		}
		/* extend over continuation lines */
		next = eol < len ? eol + 1 : len;
		while (next < len && (raw[next] == ' ' || raw[next] == '\t')) {
			eol = next;
			while (eol < len && raw[eol] != '\n')
				eol++;
			next = eol < len ? eol + 1 : len;
		}
		fend = eol;
		if (fend > pos && raw[fend - 1] == '\r')
			fend--;
		for (colon = pos; colon < fend && raw[colon] != ':' && raw[colon] != '\n'; colon++)
			;
		if (colon < fend && raw[colon] == ':') {
			char *name = am_xstrndup(raw + pos, colon - pos);

			am_dkim_header(m, name, raw + colon + 1, fend - colon - 1);
			free(name);
		}
		pos = next;
	}
	am_dkim_eoh(m);
	for (off = pos; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		am_dkim_body(m, (const unsigned char *)raw + off, n);
	}
}

static bool
verify_file(am_dkim_lib *lib, const char *path, size_t chunk, struct am_dkim_verdict *v)
{
	size_t len;
	char *raw = tu_slurp(path, &len);
	am_dkim_msg *m;

	if (raw == NULL)
		return false;
	m = am_dkim_msg_new(lib, "test");
	feed(m, raw, len, chunk);
	am_dkim_eom(m, v);
	am_dkim_msg_free(m);
	free(raw);
	return true;
}

/* "pass,fail" */
static void
results_string(const struct am_dkim_verdict *v, char *buf, size_t size)
{
	size_t i;

	buf[0] = '\0';
	if (v->count == 0)
		am_strlcpy(buf, "none", size);
	for (i = 0; i < v->count; i++) {
		if (i > 0)
			am_strlcat(buf, ",", size);
		am_strlcat(buf, am_dkim_result_name(v->sig[i].result), size);
	}
}

static void
print_verdict(const char *label, const struct am_dkim_verdict *v)
{
	size_t i;

	printf("  %s: total=%zu", label, v->total);
	for (i = 0; i < v->count; i++) {
		const struct am_dkim_sig *s = &v->sig[i];

		printf(" [%s d=%s s=%s a=%s b=%s bits=%u%s%s%s (%s)]", am_dkim_result_name(s->result),
		    s->domain, s->selector, s->algorithm, s->b_prefix, s->keybits,
		    s->verified ? "" : " unverified", s->key_not_found ? " key_not_found" : "",
		    s->duplicated_suffix ? " dup_suffix" : "", s->reason);
	}
	printf("\n");
}

/* expected "pass,permerror" against the verdict; "a|b" accepts either. */
static bool
results_match(const char *expected, const struct am_dkim_verdict *v)
{
	char exp[512], *tok, *save = NULL;
	size_t i = 0;

	if (strcmp(expected, "none") == 0)
		return v->count == 0;
	am_strlcpy(exp, expected, sizeof(exp));
	for (tok = strtok_r(exp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save), i++) {
		char *alt, *asave = NULL;
		bool ok = false;

		if (i >= v->count)
			return false;
		for (alt = strtok_r(tok, "|", &asave); alt != NULL; alt = strtok_r(NULL, "|", &asave))
			if (strcmp(alt, am_dkim_result_name(v->sig[i].result)) == 0)
				ok = true;
		if (!ok)
			return false;
	}
	return i == v->count;
}

/* ---- zone loaders ---------------------------------------------------------- */

static char *
next_line(char **cur)
{
	char *s = *cur, *e;

	if (s == NULL || *s == '\0')
		return NULL;
	e = strchr(s, '\n');
	if (e != NULL) {
		*e = '\0';
		*cur = e + 1;
	} else
		*cur = s + strlen(s);
	if (e != NULL && e > s && e[-1] == '\r')
		e[-1] = '\0';
	return s;
}

/* tests/dkim/own/dns.txt: name TXT value | name CNAME target | name SERVFAIL | name TIMEOUT */
static void
load_own_dns(struct fakezone *fz, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = next_line(&cur)) != NULL) {
		char *name, *type, *val, *save = NULL;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		name = strtok_r(line, " ", &save);
		type = strtok_r(NULL, " ", &save);
		val = save;
		if (name == NULL || type == NULL)
			continue;
		if (strcmp(type, "TXT") == 0)
			fz_add_txt(fz, name, val != NULL ? val : "");
		else if (strcmp(type, "CNAME") == 0 && val != NULL)
			fz_add_cname(fz, name, val);
		else if (strcmp(type, "SERVFAIL") == 0)
			fz_set_status(fz, name, 0, AM_DNS_SERVFAIL);
		else if (strcmp(type, "TIMEOUT") == 0)
			fz_set_status(fz, name, 0, AM_DNS_TIMEOUT);
	}
	free(buf);
}

/*
 * Mail::DKIM FAKE_DNS.dat and OpenDKIM pubkeys: "<owner><ws><TXT value>";
 * NXDOMAIN, ~~Query timed out~~, ~~SERVFAIL~~ are statuses, "" is an
 * empty record.
 */
static void
load_owner_value(struct fakezone *fz, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = next_line(&cur)) != NULL) {
		char *p = line, *name;

		if (*p == '#' || *p == '\0')
			continue;
		name = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (strcmp(p, "NXDOMAIN") == 0)
			continue;	/* absent names are NXDOMAIN anyway */
		if (strcmp(p, "~~Query timed out~~") == 0)
			fz_set_status(fz, name, 0, AM_DNS_TIMEOUT);
		else if (strcmp(p, "~~SERVFAIL~~") == 0)
			fz_set_status(fz, name, 0, AM_DNS_SERVFAIL);
		else if (strcmp(p, "\"\"") == 0)
			fz_add_txt(fz, name, "");
		else
			fz_add_txt(fz, name, p);
	}
	free(buf);
}

/* Zone-file lines: name. IN TXT "a" "b" */
static void
load_zonefile(struct fakezone *fz, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = next_line(&cur)) != NULL) {
		char name[256], txt[4096], *p, *q;
		size_t o = 0;

		if (line[0] == ';' || line[0] == '\0' || strstr(line, " TXT ") == NULL)
			continue;
		if (sscanf(line, "%255s", name) != 1)
			continue;
		p = strstr(line, " TXT ") + 5;
		while ((q = strchr(p, '"')) != NULL) {
			char *e = strchr(q + 1, '"');

			if (e == NULL)
				break;
			if (o + (size_t)(e - q - 1) < sizeof(txt)) {
				memcpy(txt + o, q + 1, (size_t)(e - q - 1));
				o += (size_t)(e - q - 1);
			}
			p = e + 1;
		}
		txt[o] = '\0';
		fz_add_txt(fz, name, txt);
	}
	free(buf);
}

/* A key record file holding just the TXT value. */
static void
load_keyfile(struct fakezone *fz, const char *owner, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len);

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	fz_add_txt(fz, owner, buf);
	free(buf);
}

/* ---- fixtures ---------------------------------------------------------- */

static struct fakezone *fz;
static am_resolver *res;

static am_dkim_lib *
new_lib(unsigned max_sigs)
{
	char err[256];
	am_dkim_lib *lib = am_dkim_lib_new(res, max_sigs, err, sizeof(err));

	ck_assert_msg(lib != NULL, "am_dkim_lib_new: %s", err);
	return lib;
}

static void
setup(void)
{
	survey = getenv("ALIGNMILTER_DKIM_SURVEY") != NULL;
	fz = fz_new();
	res = am_resolver_new_backend(fz_backend, fz, 2000);
}

static void
teardown(void)
{
	am_resolver_free(res);
	fz_free(fz);
}

/* ---- RFC 8463 -------------------------------------------------------------- */

START_TEST(test_rfc8463)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	size_t chunk[] = { 1, 7, 65536 };
	size_t i;

	load_zonefile(fz, VEC_DIR "/rfc8463/dns.zone");
	lib = new_lib(5);
	for (i = 0; i < sizeof(chunk) / sizeof(chunk[0]); i++) {
		ck_assert(verify_file(lib, VEC_DIR "/rfc8463/rfc8463-A3-signed.eml", chunk[i], &v));
		if (survey)
			print_verdict("rfc8463", &v);
		ck_assert_uint_eq(v.total, 2);
		ck_assert_uint_eq(v.count, 2);
		ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
		ck_assert_int_eq(v.sig[1].result, AM_DKIM_PASS);
		ck_assert_str_eq(v.sig[0].algorithm, "ed25519-sha256");
		ck_assert_str_eq(v.sig[0].selector, "brisbane");
		ck_assert_str_eq(v.sig[0].domain, "football.example.com");
		ck_assert_uint_eq(v.sig[0].keybits, 0);
		ck_assert_str_eq(v.sig[1].algorithm, "rsa-sha256");
		ck_assert_str_eq(v.sig[1].selector, "test");
		/* RFC 8463 A.3: the RSA key is 1024 bits */
		ck_assert_uint_eq(v.sig[1].keybits, 1024);
		ck_assert_uint_eq(strlen(v.sig[0].b_prefix), 8);
		ck_assert(strncmp(v.sig[0].b_prefix, "9/dsDChY", 8) == 0);
		ck_assert(v.sig[0].verified && v.sig[1].verified);
	}
	ck_assert(verify_file(lib, VEC_DIR "/rfc8463/rfc8463-A3-unsigned.eml", 4096, &v));
	ck_assert_uint_eq(v.total, 0);
	ck_assert_uint_eq(v.count, 0);
	printf("DKIM RFC 8463 A.3: 2/2 signatures pass\n");
	am_dkim_lib_free(lib);
}
END_TEST

/* ---- dkimpy ------------------------------------------------------------------ */

START_TEST(test_dkimpy_presigned)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	unsigned ok = 0;

	fz_add_txt(fz, "brisbane._domainkey.football.example.com",
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	load_keyfile(fz, "test._domainkey.football.example.com", VEC_DIR "/dkimpy/test.txt");
	load_keyfile(fz, "sed._domainkey.test.ex", VEC_DIR "/dkimpy/eximtest.dns");
	load_keyfile(fz, "20120113._domainkey.gmail.com", VEC_DIR "/dkimpy/gmail-20120113.dns");
	lib = new_lib(5);

	ck_assert(verify_file(lib, VEC_DIR "/dkimpy/rfc6376.signed.msg", 4096, &v));
	if (survey)
		print_verdict("rfc6376.signed.msg", &v);
	ck_assert(results_match("pass,pass", &v));
	ok += results_match("pass,pass", &v);

	/* Exim's ed25519 signature: third-party interop */
	ck_assert(verify_file(lib, VEC_DIR "/dkimpy/ed25519test2.msg", 4096, &v));
	if (survey)
		print_verdict("ed25519test2.msg", &v);
	ck_assert(results_match("pass", &v));
	ok += results_match("pass", &v);

	/* real Gmail message, degenerate folding (Debian bug 711751) */
	ck_assert(verify_file(lib, VEC_DIR "/dkimpy/test2.message", 4096, &v));
	if (survey)
		print_verdict("test2.message", &v);
	ck_assert(results_match("pass", &v));
	ck_assert_uint_eq(v.sig[0].keybits, 2048);
	ok += results_match("pass", &v);
	printf("DKIM dkimpy pre-signed vectors: %u/3 as expected\n", ok);
	am_dkim_lib_free(lib);
}
END_TEST

/* dkimpy's key-record files paired with a fresh signature by test.private */
START_TEST(test_dkimpy_keyrecords)
{
	static const struct {
		const char *file;
		const char *expected;
		const char *reason;
	} t[] = {
		{ "test.txt", "pass", "" },
		{ "test2.txt", "pass", "" },		/* no k=: rsa is the default */
		{ "test_bad.txt", "fail|permerror", "" }, /* p= corrupted */
		{ "badversion.txt", "permerror", "" },	/* "v=DKIM1:" */
		{ "badk.txt", "permerror", "key type" },	/* k=ed25519-sha256 */
		{ "test_tlsrpt.txt", "permerror", "e-mail" }, /* s=tlsrpt */
	};
	size_t i;
	unsigned ok = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		am_dkim_lib *lib;
		struct am_dkim_verdict v;
		char path[512];

		fz_clear(fz);
		snprintf(path, sizeof(path), VEC_DIR "/dkimpy/%s", t[i].file);
		load_keyfile(fz, "test._domainkey.example.com", path);
		lib = new_lib(5);
		ck_assert(verify_file(lib, OWN_DIR "/own/dkimpy-test.eml", 4096, &v));
		if (survey)
			print_verdict(t[i].file, &v);
		ck_assert_msg(results_match(t[i].expected, &v), "%s: got %s (%s)", t[i].file,
		    am_dkim_result_name(v.sig[0].result), v.sig[0].reason);
		ck_assert_msg(strstr(v.sig[0].reason, t[i].reason) != NULL, "%s: reason %s",
		    t[i].file, v.sig[0].reason);
		ok++;
		am_dkim_lib_free(lib);
	}
	printf("DKIM dkimpy key records: %u/%zu as expected\n", ok, sizeof(t) / sizeof(t[0]));
}
END_TEST

/* ---- Mail::DKIM corpus ------------------------------------------------------ */

START_TEST(test_mail_dkim_corpus)
{
	size_t len;
	char *buf = tu_slurp(OWN_DIR "/mail-dkim-expected.tsv", &len), *cur = buf, *line;
	am_dkim_lib *lib;
	unsigned n = 0, ok = 0;

	ck_assert(buf != NULL);
	load_owner_value(fz, VEC_DIR "/mail-dkim/FAKE_DNS.dat");
	lib = new_lib(5);
	while ((line = next_line(&cur)) != NULL) {
		char *file, *expected, *save = NULL, path[512], got[512];
		struct am_dkim_verdict v;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		file = strtok_r(line, "\t", &save);
		expected = strtok_r(NULL, "\t", &save);
		if (file == NULL || expected == NULL)
			continue;
		snprintf(path, sizeof(path), VEC_DIR "/mail-dkim/corpus/%s", file);
		n++;
		ck_assert_msg(verify_file(lib, path, 4096, &v), "cannot read %s", path);
		results_string(&v, got, sizeof(got));
		if (survey)
			print_verdict(file, &v);
		if (results_match(expected, &v))
			ok++;
		else
			fprintf(stderr, "Mail::DKIM %s: expected %s, got %s\n", file, expected, got);
	}
	free(buf);
	am_dkim_lib_free(lib);
	printf("DKIM Mail::DKIM corpus: %u/%u as expected\n", ok, n);
	ck_assert_uint_eq(n, 79);
	ck_assert_uint_eq(ok, n);
}
END_TEST

/* ---- OpenDKIM milter scenarios ------------------------------------------------ */

START_TEST(test_opendkim_scenarios)
{
	/* Our mapping of each upstream scenario: see tests/dkim/EXPECTED.md */
	static const struct {
		const char *file;
		const char *expected;
		const char *reason;
	} t[] = {
		{ "t-verify-ss.eml", "pass", "" },
		{ "t-verify-ss-bad.eml", "fail", "" },
		{ "t-verify-report.eml", "fail", "" },
		{ "t-verify-revoked.eml", "permerror", "revoked" },
		{ "t-verify-double-from.eml", "permerror", "multiple From" },
		{ "t-verify-syntax.eml", "neutral", "syntax" },
		{ "t-verify-ss-atps.eml", "pass", "" },
		{ "t-verify-unsigned.eml", "none", "" },
		{ "t-verify-unspec.eml", "none", "" },
		{ "t-verify-malformed.eml", "none", "" },
	};
	am_dkim_lib *lib;
	size_t i;
	unsigned ok = 0;

	load_owner_value(fz, VEC_DIR "/opendkim-milter/pubkeys.txt");
	lib = new_lib(5);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct am_dkim_verdict v;
		char path[512], got[256];

		snprintf(path, sizeof(path), VEC_DIR "/opendkim-milter/messages/%s", t[i].file);
		ck_assert(verify_file(lib, path, 4096, &v));
		if (survey)
			print_verdict(t[i].file, &v);
		results_string(&v, got, sizeof(got));
		if (results_match(t[i].expected, &v) &&
		    (t[i].reason[0] == '\0' || (v.count > 0 && strstr(v.sig[0].reason, t[i].reason) != NULL)))
			ok++;
		else
			fprintf(stderr, "OpenDKIM %s: expected %s, got %s\n", t[i].file, t[i].expected, got);
	}
	printf("DKIM OpenDKIM milter scenarios: %u/%zu as expected\n", ok, sizeof(t) / sizeof(t[0]));
	ck_assert_uint_eq(ok, sizeof(t) / sizeof(t[0]));
	am_dkim_lib_free(lib);
}
END_TEST

/* ---- our fixtures (python3-dkim) ------------------------------------------------ */

START_TEST(test_own_fixtures)
{
	size_t len;
	char *buf = tu_slurp(OWN_DIR "/own/expected.tsv", &len), *cur = buf, *line;
	unsigned n = 0, ok = 0;

	ck_assert(buf != NULL);
	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	while ((line = next_line(&cur)) != NULL) {
		char *file, *maxs, *expected, *flags, *reason, *save = NULL, path[512];
		struct am_dkim_verdict v;
		am_dkim_lib *lib;
		bool good;
		size_t i;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		file = strtok_r(line, "\t", &save);
		maxs = strtok_r(NULL, "\t", &save);
		expected = strtok_r(NULL, "\t", &save);
		flags = strtok_r(NULL, "\t", &save);
		reason = strtok_r(NULL, "\t", &save);
		ck_assert(file != NULL && maxs != NULL && expected != NULL && flags != NULL && reason != NULL);
		snprintf(path, sizeof(path), OWN_DIR "/own/%s", file);
		lib = new_lib((unsigned)atoi(maxs));
		/* odd chunk size: CR and LF of one line end land in different chunks */
		ck_assert(verify_file(lib, path, 33, &v));
		am_dkim_lib_free(lib);
		n++;
		if (survey)
			print_verdict(file, &v);
		good = results_match(expected, &v);
		if (strstr(flags, "duplicated_suffix") != NULL)
			good = good && v.sig[0].duplicated_suffix;
		else
			for (i = 0; i < v.count; i++)
				good = good && !v.sig[i].duplicated_suffix;
		if (strstr(flags, "key_not_found") != NULL)
			good = good && v.sig[0].key_not_found;
		if (strcmp(reason, "-") != 0)
			good = good && v.count > 0 && strstr(v.sig[0].reason, reason) != NULL;
		if (good)
			ok++;
		else {
			char got[512];

			results_string(&v, got, sizeof(got));
			fprintf(stderr, "own %s (max %s): expected %s [%s] [%s], got %s [%s]\n", file, maxs,
			    expected, flags, reason, got, v.count > 0 ? v.sig[0].reason : "");
		}
	}
	free(buf);
	printf("DKIM own python3-dkim fixtures: %u/%u as expected\n", ok, n);
	ck_assert_uint_eq(ok, n);
}
END_TEST

static void
verify_own(unsigned max_sigs, const char *file, size_t chunk, struct am_dkim_verdict *v)
{
	am_dkim_lib *lib = new_lib(max_sigs);
	char path[512];

	snprintf(path, sizeof(path), OWN_DIR "/own/%s", file);
	ck_assert(verify_file(lib, path, chunk, v));
	am_dkim_lib_free(lib);
}

START_TEST(test_own_details)
{
	struct am_dkim_verdict v;
	size_t i;

	load_own_dns(fz, OWN_DIR "/own/dns.txt");

	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	ck_assert_uint_eq(v.sig[0].keybits, 2048);
	ck_assert_str_eq(v.sig[0].domain, "example.com");
	ck_assert_str_eq(v.sig[0].selector, "rsa2048");
	ck_assert_str_eq(v.sig[0].algorithm, "rsa-sha256");
	ck_assert_str_eq(v.sig[0].reason, "");

	verify_own(5, "ed25519.eml", 1, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	ck_assert_str_eq(v.sig[0].algorithm, "ed25519-sha256");
	ck_assert_uint_eq(v.sig[0].keybits, 0);

	/* verified first (libopendkim's own minimum is off), then RFC 8301 */
	verify_own(5, "rsa512.eml", 4096, &v);
	ck_assert_uint_eq(v.sig[0].keybits, 512);
	ck_assert_str_eq(v.sig[0].reason, "key too small (512 bits)");

	/* MaximumSignatures: total counts all, unverified ones are marked */
	verify_own(5, "seven-sigs.eml", 4096, &v);
	ck_assert_uint_eq(v.total, 7);
	ck_assert_uint_eq(v.count, 7);
	ck_assert(!v.sig[0].verified);
	ck_assert_str_eq(v.sig[0].domain, "amazonses.com");
	ck_assert_str_eq(v.sig[0].reason, "not verified: MaximumSignatures");
	for (i = 1; i < 6; i++)
		ck_assert(v.sig[i].verified);
	ck_assert(!v.sig[6].verified);

	/* Only 5 verified, each key asked twice here (our prefetch and
	 * libopendkim's own query; a live resolver merges them), plus the
	 * key of the first field, started as it arrived (the first 5 fields
	 * are) but not chosen: the From domain comes later.  The 7th field's
	 * key is never asked: 11, not 14. */
	{
		unsigned before = fz_queries(fz);

		verify_own(5, "seven-sigs.eml", 4096, &v);
		ck_assert_uint_eq(fz_queries(fz) - before, 2 * 5 + 1);
	}

	/* am_dkim_eom twice: the same verdict, no new lookups */
	{
		am_dkim_lib *lib = new_lib(5);
		am_dkim_msg *m = am_dkim_msg_new(lib, "twice");
		struct am_dkim_verdict v2;
		size_t len;
		char *raw = tu_slurp(OWN_DIR "/own/dup-suffix.eml", &len);
		unsigned q;

		ck_assert(raw != NULL);
		feed(m, raw, len, 4096);
		am_dkim_eom(m, &v);
		q = fz_queries(fz);
		am_dkim_eom(m, &v2);
		ck_assert_uint_eq(fz_queries(fz), q);
		/* the filled part is what a verdict holds (sig[] beyond count is unused) */
		ck_assert_uint_eq(v.count, v2.count);
		ck_assert_uint_eq(v.total, v2.total);
		ck_assert(memcmp(v.sig, v2.sig, v.count * sizeof(v.sig[0])) == 0);
		ck_assert(v.sig[0].duplicated_suffix);
		am_dkim_msg_free(m);
		am_dkim_lib_free(lib);
		free(raw);
	}

	/* the duplicated-suffix probe asks the resolver exactly once more
	 * (the key itself twice: prefetch and libopendkim) */
	{
		unsigned before = fz_queries(fz);

		verify_own(5, "unknown-selector.eml", 4096, &v);
		ck_assert_uint_eq(fz_queries(fz) - before, 3);
		ck_assert(v.sig[0].key_not_found);
		ck_assert(!v.sig[0].duplicated_suffix);
	}
}
END_TEST

/* NODATA (name exists, no TXT) is "key not found" just like NXDOMAIN. */
/*
 * The decoded-key cache (keycache.c) must serve a key again only for the
 * very same key bytes: after the DNS record changes, the old key is never
 * used, and the message signed with the old key stops verifying.
 */
START_TEST(test_key_cache_never_stale)
{
	static const char small_key[] = "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALzKRSptjmnRT95I9ZeZ5ir/"
	    "706A0lAcHzgudUGTfWZO++rB4KOQXeCpaJwxFcWCPA2Mh4EUFNglVgtlt1hZXpkCAwEAAQ==";
	struct am_dkim_verdict v;
	struct am_keycache_stats before, after;

	ck_assert_msg(am_keycache_init(), "d2i_PUBKEY_bio is not interposed in this binary");
	am_keycache_flush();
	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	am_keycache_stats(&before);
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	am_keycache_stats(&after);
	/* libopendkim's decode went through the cache: one miss, then a hit */
	ck_assert_uint_ge(after.misses - before.misses, 1);
	ck_assert_uint_ge(after.hits - before.hits, 1);

	/* The selector now publishes another key: the cached one must not be used. */
	fz_clear(fz);
	fz_add_txt(fz, "rsa2048._domainkey.example.com", small_key);
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* And back: the original key verifies again. */
	fz_clear(fz);
	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
}
END_TEST

START_TEST(test_key_nodata)
{
	struct am_dkim_verdict v;

	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	fz_add_a(fz, "nokey._domainkey.example.com", "192.0.2.1");
	verify_own(5, "unknown-selector.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	ck_assert(v.sig[0].key_not_found);
}
END_TEST

/* Revoked (empty p=), several TXT records, a key too big for a packet. */
START_TEST(test_key_records)
{
	struct am_dkim_verdict v;
	char *big;

	fz_add_txt(fz, "rsa2048._domainkey.example.com", "v=DKIM1; k=rsa; p=");
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	ck_assert_str_eq(v.sig[0].reason, "key revoked");
	ck_assert(!v.sig[0].key_not_found);

	/* two TXT records at the selector: the key is ambiguous */
	fz_clear(fz);
	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	fz_add_txt(fz, "rsa2048._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB");
	verify_own(5, "rsa2048.eml", 4096, &v);
	if (survey)
		print_verdict("two TXT records", &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* a record that cannot fit libopendkim's 8 KiB answer buffer */
	fz_clear(fz);
	big = am_xmalloc(20001);
	memset(big, 'A', 20000);
	big[20000] = '\0';
	memcpy(big, "v=DKIM1; p=", 11);
	fz_add_txt(fz, "rsa2048._domainkey.example.com", big);
	free(big);
	verify_own(5, "rsa2048.eml", 4096, &v);
	if (survey)
		print_verdict("20 KB key record", &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* empty TXT record */
	fz_clear(fz);
	fz_add_txt(fz, "rsa2048._domainkey.example.com", "");
	verify_own(5, "rsa2048.eml", 4096, &v);
	if (survey)
		print_verdict("empty key record", &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);

	/* garbage TXT record */
	fz_clear(fz);
	fz_add_txt(fz, "rsa2048._domainkey.example.com", "\x01\xff;;==;p");
	verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
}
END_TEST

/* ---- robustness -------------------------------------------------------------- */

static void
one_header_message(am_dkim_lib *lib, const char *name, const char *value, size_t vlen,
    struct am_dkim_verdict *v)
{
	am_dkim_msg *m = am_dkim_msg_new(lib, NULL);

	am_dkim_header(m, "From", " a@example.com", 14);
	am_dkim_header(m, name, value, vlen);
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"body\r\n", 6);
	am_dkim_eom(m, v);
	am_dkim_msg_free(m);
}

START_TEST(test_garbage)
{
	static const char *sigs[] = {
		"",
		" ",
		";;;;",
		"v=1",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=; b=",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-md5; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=; s=; h=; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=subject; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; l=99999999999999999999",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=99999999999999999999",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; x=1",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; i=@other.example",
		"v=1; a=rsa-sha256; d=..; s=x.y..z; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; q=dns/txt; c=foo/bar",
		"v=1; v=1; v=1; a=rsa-sha256; a=ed25519-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1\r\n; a=rsa-sha256;\n d=example.com; s=x; h=from; bh=AAAA; b=AA\n AA",
		"=;=;=;==;",
		"v=1; a=ed25519-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
	};
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	size_t i;
	char *huge;

	fz_add_txt(fz, "x._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA");
	lib = new_lib(5);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		one_header_message(lib, "DKIM-Signature", sigs[i], strlen(sigs[i]), &v);
		if (survey) {
			char label[32];

			snprintf(label, sizeof(label), "garbage %zu", i);
			print_verdict(label, &v);
		}
		ck_assert_uint_eq(v.total, 1);
		ck_assert_uint_eq(v.count, 1);
		ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
		ck_assert_int_ne(v.sig[0].result, AM_DKIM_NONE);
	}

	/* NUL bytes in the name and the value */
	one_header_message(lib, "DKIM-Signature", "v=1; a=rsa-sha256;\0 d=example.com; s=x", 38, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	one_header_message(lib, "X-\x01Weird", "a\0b", 3, &v);
	ck_assert_uint_eq(v.total, 0);
	one_header_message(lib, "", "", 0, &v);
	ck_assert_uint_eq(v.total, 0);
	one_header_message(lib, "Subject", NULL, 5, &v);
	ck_assert_uint_eq(v.total, 0);

	/* a 1 MiB header value and a 1 MiB signature */
	huge = am_xmalloc(1 << 20);
	memset(huge, 'x', 1 << 20);
	one_header_message(lib, "Subject", huge, 1 << 20, &v);
	ck_assert_uint_eq(v.total, 0);
	memcpy(huge, "v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=", 59);
	one_header_message(lib, "DKIM-Signature", huge, 1 << 20, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	free(huge);
	am_dkim_lib_free(lib);
}
END_TEST

/* t= up to a day in the future is clock skew, not an error (CLOCK_DRIFT). */
START_TEST(test_clock_drift)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	char sig[256];
	long now = (long)time(NULL);

	fz_add_txt(fz, "x._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB");
	lib = new_lib(5);
	snprintf(sig, sizeof(sig), " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=%ld",
	    now + 3600);
	one_header_message(lib, "DKIM-Signature", sig, strlen(sig), &v);
	ck_assert_str_ne(v.sig[0].reason, "signature timestamp in the future");
	snprintf(sig, sizeof(sig), " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=%ld",
	    now + 3 * 86400);
	one_header_message(lib, "DKIM-Signature", sig, strlen(sig), &v);
	ck_assert_str_eq(v.sig[0].reason, "signature timestamp in the future");
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	am_dkim_lib_free(lib);
}
END_TEST

/* More DKIM-Signature fields than AM_DKIM_REPORT_MAX. */
START_TEST(test_many_signatures)
{
	am_dkim_lib *lib = new_lib(5);
	am_dkim_msg *m = am_dkim_msg_new(lib, "many");
	struct am_dkim_verdict v;
	unsigned before = fz_queries(fz);
	int i;

	am_dkim_header(m, "From", " a@example.com", 14);
	for (i = 0; i < 200; i++) {
		char sig[256];

		snprintf(sig, sizeof(sig),
		    " v=1; a=rsa-sha256; d=example.com; s=s%d; h=from; bh=AAAA; b=B%dBBBBBBBB", i, i);
		am_dkim_header(m, "DKIM-Signature", sig, strlen(sig));
	}
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"x\n", 2);
	am_dkim_eom(m, &v);
	am_dkim_msg_free(m);
	ck_assert_uint_eq(v.total, 200);
	ck_assert_uint_eq(v.count, AM_DKIM_REPORT_MAX);
	/* at most MaximumSignatures keys (prefetch + libopendkim's query) + as many suffix probes */
	ck_assert_uint_le(fz_queries(fz) - before, 3 * 5);
	for (i = 0; i < AM_DKIM_REPORT_MAX; i++)
		ck_assert_int_ne(v.sig[i].result, AM_DKIM_PASS);
	ck_assert(v.sig[0].verified);
	ck_assert(!v.sig[AM_DKIM_REPORT_MAX - 1].verified);
	am_dkim_lib_free(lib);
}
END_TEST

/* Unsigned messages, calls out of order, NULL arguments. */
START_TEST(test_api_edges)
{
	am_dkim_lib *lib = new_lib(5);
	am_dkim_msg *m;
	struct am_dkim_verdict v;

	/* unsigned */
	m = am_dkim_msg_new(lib, "u");
	am_dkim_header(m, "From", " a@example.com", 14);
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"x\r\n", 3);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.count, 0);
	ck_assert_uint_eq(v.total, 0);
	am_dkim_msg_free(m);

	/* no headers at all, body before eoh, eom twice, header after eoh */
	m = am_dkim_msg_new(lib, NULL);
	am_dkim_body(m, (const unsigned char *)"x", 1);
	am_dkim_header(m, "DKIM-Signature", "v=1", 3);
	am_dkim_eom(m, &v);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 0);
	am_dkim_msg_free(m);

	/* eom without eoh or body */
	m = am_dkim_msg_new(lib, "x");
	am_dkim_header(m, "DKIM-Signature", " v=1; d=example.com; s=s; b=AAAA", 32);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 1);
	am_dkim_msg_free(m);

	/* a message with a signature but no From header */
	m = am_dkim_msg_new(lib, "nofrom");
	am_dkim_header(m, "DKIM-Signature",
	    " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA", 62);
	am_dkim_eoh(m);
	am_dkim_eom(m, &v);
	if (survey)
		print_verdict("no From", &v);
	ck_assert_uint_eq(v.count, 1);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	am_dkim_msg_free(m);

	am_dkim_header(NULL, "a", "b", 1);
	am_dkim_eoh(NULL);
	am_dkim_body(NULL, NULL, 0);
	am_dkim_eom(NULL, &v);
	ck_assert_uint_eq(v.count, 0);
	am_dkim_msg_free(NULL);
	am_dkim_lib_free(NULL);
	am_dkim_lib_free(lib);
	{
		char err[64];

		ck_assert(am_dkim_lib_new(NULL, 5, err, sizeof(err)) == NULL);
	}
}
END_TEST

/* The library is shared by threads in the milter; a loop here catches leaks
 * (under ASan) and checks per-message state does not bleed over. */
START_TEST(test_repeat)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	int i;

	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	lib = new_lib(5);
	for (i = 0; i < 50; i++) {
		ck_assert(verify_file(lib, OWN_DIR "/own/dual.eml", 4096, &v));
		ck_assert(results_match("pass,pass", &v));
		ck_assert(verify_file(lib, OWN_DIR "/own/tampered-body.eml", 4096, &v));
		ck_assert(results_match("fail", &v));
	}
	am_dkim_lib_free(lib);
}
END_TEST

/* One shared library, several threads, as in the milter's worker pool. */
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;

static struct am_dns_answer *
locked_backend(void *arg, const char *name, int rrtype)
{
	struct am_dns_answer *a;

	pthread_mutex_lock(&zone_lock);
	a = fz_backend(arg, name, rrtype);
	pthread_mutex_unlock(&zone_lock);
	return a;
}

static void *
thread_main(void *arg)
{
	am_dkim_lib *lib = arg;
	struct am_dkim_verdict v;
	long bad = 0;
	int i;

	for (i = 0; i < 25; i++) {
		if (!verify_file(lib, OWN_DIR "/own/dual.eml", 100, &v) || !results_match("pass,pass", &v))
			bad++;
		if (!verify_file(lib, OWN_DIR "/own/dup-suffix.eml", 100, &v) ||
		    !results_match("permerror", &v) || !v.sig[0].duplicated_suffix)
			bad++;
	}
	return (void *)bad;
}

START_TEST(test_threads)
{
	am_resolver *lres;
	am_dkim_lib *lib;
	pthread_t t[4];
	char err[128];
	size_t i;

	load_own_dns(fz, OWN_DIR "/own/dns.txt");
	lres = am_resolver_new_backend(locked_backend, fz, 2000);
	lib = am_dkim_lib_new(lres, 5, err, sizeof(err));
	ck_assert(lib != NULL);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, lib), 0);
	for (i = 0; i < 4; i++) {
		void *bad;

		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_int_eq((long)bad, 0);
	}
	am_dkim_lib_free(lib);
	am_resolver_free(lres);
}
END_TEST

static Suite *
dkim_suite(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("dkim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rfc8463);
	tcase_add_test(tc, test_dkimpy_presigned);
	tcase_add_test(tc, test_dkimpy_keyrecords);
	tcase_add_test(tc, test_mail_dkim_corpus);
	tcase_add_test(tc, test_opendkim_scenarios);
	tcase_add_test(tc, test_own_fixtures);
	tcase_add_test(tc, test_own_details);
	tcase_add_test(tc, test_key_cache_never_stale);
	tcase_add_test(tc, test_key_nodata);
	tcase_add_test(tc, test_key_records);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_clock_drift);
	tcase_add_test(tc, test_many_signatures);
	tcase_add_test(tc, test_api_edges);
	tcase_add_test(tc, test_repeat);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
