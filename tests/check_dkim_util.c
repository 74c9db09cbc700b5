/*
 * check_dkim_util.c - the DKIM tests' fixture and helpers (check_dkim.h).
 *
 * Owns: the per-test fakezone and resolver, feeding a raw message through
 * am_dkim_header/eoh/body/eom the way the milter and the offline mode do,
 * the loaders of the vectors' DNS data (four formats), and verdict
 * comparison.  Failures are Check assertions (an unreadable data file
 * fails the test).  Threads: ckd_verify_file and the comparisons are safe
 * from any thread; the fixture belongs to the test's main thread.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dkim.h"
#include "check_dkim.h"
#include "fakezone.h"
#include "testutil.h"

bool ckd_survey;
struct fakezone *ckd_fz;
am_resolver *ckd_res;

/* ---- feeding messages and comparing verdicts ------------------------------ */

void
ckd_feed(am_dkim_msg *m, const char *raw, size_t len, size_t chunk)
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

bool
ckd_verify_file(am_dkim_lib *lib, const char *path, size_t chunk, struct am_dkim_verdict *v)
{
	size_t len;
	char *raw = tu_slurp(path, &len);
	am_dkim_msg *m;

	if (raw == NULL)
		return false;
	m = am_dkim_msg_new(lib, "test");
	ckd_feed(m, raw, len, chunk);
	am_dkim_eom(m, v);
	am_dkim_msg_free(m);
	free(raw);
	return true;
}

void
ckd_results_string(const struct am_dkim_verdict *v, char *buf, size_t size)
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

void
ckd_print_verdict(const char *label, const struct am_dkim_verdict *v)
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

bool
ckd_results_match(const char *expected, const struct am_dkim_verdict *v)
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

/* ---- zone loaders -------------------------------------------------------- */

char *
ckd_next_line(char **cur)
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

void
ckd_load_own_dns(struct fakezone *zone, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = ckd_next_line(&cur)) != NULL) {
		char *name, *type, *val, *save = NULL;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		name = strtok_r(line, " ", &save);
		type = strtok_r(NULL, " ", &save);
		val = save;
		if (name == NULL || type == NULL)
			continue;
		if (strcmp(type, "TXT") == 0)
			fz_add_txt(zone, name, val != NULL ? val : "");
		else if (strcmp(type, "CNAME") == 0 && val != NULL)
			fz_add_cname(zone, name, val);
		else if (strcmp(type, "SERVFAIL") == 0)
			fz_set_status(zone, name, 0, AM_DNS_SERVFAIL);
		else if (strcmp(type, "TIMEOUT") == 0)
			fz_set_status(zone, name, 0, AM_DNS_TIMEOUT);
	}
	free(buf);
}

void
ckd_load_owner_value(struct fakezone *zone, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = ckd_next_line(&cur)) != NULL) {
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
			fz_set_status(zone, name, 0, AM_DNS_TIMEOUT);
		else if (strcmp(p, "~~SERVFAIL~~") == 0)
			fz_set_status(zone, name, 0, AM_DNS_SERVFAIL);
		else if (strcmp(p, "\"\"") == 0)
			fz_add_txt(zone, name, "");
		else
			fz_add_txt(zone, name, p);
	}
	free(buf);
}

void
ckd_load_zonefile(struct fakezone *zone, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *cur = buf, *line;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while ((line = ckd_next_line(&cur)) != NULL) {
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
		fz_add_txt(zone, name, txt);
	}
	free(buf);
}

void
ckd_load_keyfile(struct fakezone *zone, const char *owner, const char *path)
{
	size_t len;
	char *buf = tu_slurp(path, &len);

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	fz_add_txt(zone, owner, buf);
	free(buf);
}

/* ---- the fixture --------------------------------------------------------- */

am_dkim_lib *
ckd_new_lib(unsigned max_sigs)
{
	char err[256];
	am_dkim_lib *lib = am_dkim_lib_new(ckd_res, max_sigs, err, sizeof(err));

	ck_assert_msg(lib != NULL, "am_dkim_lib_new: %s", err);
	return lib;
}

void
ckd_setup(void)
{
	ckd_survey = getenv("ALIGNMILTER_DKIM_SURVEY") != NULL;
	ckd_fz = fz_new();
	ckd_res = am_resolver_new_backend(fz_backend, ckd_fz, 2000);
}

void
ckd_teardown(void)
{
	am_resolver_free(ckd_res);
	fz_free(ckd_fz);
}

void
ckd_verify_own(unsigned max_sigs, const char *file, size_t chunk, struct am_dkim_verdict *v)
{
	am_dkim_lib *lib = ckd_new_lib(max_sigs);
	char path[512];

	snprintf(path, sizeof(path), OWN_DIR "/own/%s", file);
	ck_assert(ckd_verify_file(lib, path, chunk, v));
	am_dkim_lib_free(lib);
}
