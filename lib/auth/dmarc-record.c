/*
 * dmarc-record.c - the text of a DMARC record (RFC 7489 6.3, 6.4, 6.6.3;
 * RFC 9989 4.7, 4.8, 4.10.1).
 *
 * Owns: telling a DMARC record from other TXT records ("v=DMARC1" first,
 * matched exactly), vetting each tag ourselves under either standard,
 * building the clean record libopendmarc is handed (RFC 7489: only the
 * vetted tags), and am_dmarc_parse_record(), the vetted record the
 * RFC 9989 evaluation and alignmilter-check read.  libopendmarc's parser
 * is lenient where RFC 7489 is not (p=n, pct=1.1) and strict where RFC
 * 7489 says to ignore a bad tag (6.3), hence our own.
 *
 * The standards differ in the tags they know: RFC 7489 has pct, rf, ri;
 * RFC 9989 (4.7, 9.3) makes those historic (ignored: pct is still read
 * so the checker can warn) and adds np, psd and t; its fo is stricter
 * (4.8: "0" and "1" exclusive, no item twice).  Tags a standard does not
 * know are ignored silently (RFC 7489 6.3, RFC 9989 4.7).
 *
 * Errors: nothing is logged.  An invalid optional tag is ignored and
 * named in the reason ("ignored invalid pct= rua="); p= missing or
 * invalid, or sp= (RFC 9989: or np=) invalid, without a usable rua=
 * means no policy (RFC 7489 6.6.3, RFC 9989 4.10.1: no DMARC
 * processing); with one the record acts as "v=DMARC1; p=none".  Out of
 * memory aborts.
 *
 * Threads: any; pure functions over strings.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/* ---- recognising a record (RFC 7489 6.3) ------------------------------------ */

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * A DMARC record starts with the v tag: "v" *WSP "=" *WSP "DMARC1", the
 * version matched exactly (6.3: "MUST match precisely"), then the end,
 * WSP or ";".  Anything else is some other TXT record.
 */
static bool
is_dmarc_record(const char *s)
{
	if (*s != 'v' && *s != 'V')
		return false;
	for (s++; is_wsp(*s); s++)
		;
	if (*s++ != '=')
		return false;
	while (is_wsp(*s))
		s++;
	if (strncmp(s, "DMARC1", 6) != 0)
		return false;
	s += 6;
	while (is_wsp(*s))
		s++;
	return *s == '\0' || *s == ';';
}

/* ---- tag vetting (RFC 7489 6.3, 6.4, 6.6.3; RFC 9989 4.7, 4.8) --------------- */

struct dmarc_tags {
	enum am_dmarc_standard std;	/* which tags are known */
	const char *p, *sp, *np, *adkim, *aspf, *pct, *psd, *t;
	bool	p_bad, sp_bad, np_bad;
	bool	pct_seen;		/* pct= written, valid or not */
	char	rua[1024];		/* the syntactically valid rua URIs, "," separated */
	char	notes[AM_REASON_MAX];	/* what was ignored, for the reason */
};

static void
tags_note(struct dmarc_tags *t, const char *name)
{
	if (t->notes[0] == '\0')
		am_strlcpy(t->notes, "ignored invalid", sizeof(t->notes));
	am_strlcat(t->notes, " ", sizeof(t->notes));
	am_strlcat(t->notes, name, sizeof(t->notes));
	am_strlcat(t->notes, "=", sizeof(t->notes));
}

static bool
one_of(const char *v, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasecmp(v, *words) == 0)
			return true;
	return false;
}

/* 1*max DIGIT with a value <= limit. */
static bool
is_number(const char *v, size_t max, unsigned long long limit)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if (!isdigit((unsigned char)v[i]) || i >= max)
			return false;
		n = n * 10 + (unsigned)(v[i] - '0');
		if (n > limit)
			return false;
	}
	return i > 0;
}

/* A list of items separated by sep (with optional WSP), each valid per fn. */
static bool
is_list(const char *v, char sep, bool (*fn)(const char *, size_t))
{
	const char *e;

	for (;;) {
		size_t n;

		while (is_wsp(*v))
			v++;
		e = strchr(v, sep);
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		if (!fn(v, n))
			return false;
		if (e == NULL)
			return true;
		v = e + 1;
	}
}

static bool
fo_item(const char *v, size_t n)
{
	return n == 1 && strchr("01dDsS", v[0]) != NULL;
}

/*
 * RFC 9989 4.8 dmarc-fo: items "0", "1", "d", "s" (any case) separated by
 * ":", "0" and "1" mutually exclusive, each item at most once.
 */
static bool
is_fo_9989(const char *v)
{
	unsigned seen = 0, bit;
	const char *e;

	for (;;) {
		size_t n;

		while (is_wsp(*v))
			v++;
		e = strchr(v, ':');
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		if (!fo_item(v, n))
			return false;
		bit = v[0] == '0' ? 1u : v[0] == '1' ? 2u : (v[0] | 0x20) == 'd' ? 4u : 8u;
		if ((seen & bit) != 0 || ((seen | bit) & 3u) == 3u)
			return false;
		seen |= bit;
		if (e == NULL)
			return true;
		v = e + 1;
	}
}

static bool
rf_item(const char *v, size_t n)
{
	return (n == 4 && strncasecmp(v, "afrf", 4) == 0) ||
	    (n == 5 && strncasecmp(v, "iodef", 5) == 0);
}

/*
 * dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].  We accept
 * the schemes receivers can use: mailto: with an addr-spec, http(s)://
 * with a host.  No spaces, no commas, no control characters.
 */
static bool
uri_item(const char *v, size_t n)
{
	const char *bang, *rest;
	size_t i, ulen;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == ',' || v[i] == ';')
			return false;
	bang = memchr(v, '!', n);
	ulen = bang != NULL ? (size_t)(bang - v) : n;
	if (bang != NULL) {
		size_t j = 1, tail = n - ulen;

		while (j < tail && isdigit((unsigned char)bang[j]))
			j++;
		if (j == 1 || (j < tail && !(j + 1 == tail && strchr("kmgtKMGT", bang[j]) != NULL)))
			return false;
	}
	if (ulen > 7 && strncasecmp(v, "mailto:", 7) == 0) {
		const char *at = memchr(v + 7, '@', ulen - 7);

		return at != NULL && at > v + 7 && at < v + ulen - 1;
	}
	if (ulen > 7 && strncasecmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (ulen > 8 && strncasecmp(v, "https://", 8) == 0)
		rest = v + 8;
	else
		return false;
	return rest < v + ulen && *rest != '/';
}

/* Keep the valid URIs of a rua value; false if it had an invalid one. */
static bool
rua_collect(const char *v, char *out, size_t outlen)
{
	bool all = true;

	for (;;) {
		const char *e;
		size_t n;

		while (is_wsp(*v))
			v++;
		e = strchr(v, ',');
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		if (uri_item(v, n) && strlen(out) + n + 2 < outlen) {
			if (out[0] != '\0')
				am_strlcat(out, ",", outlen);
			strncat(out, v, n);
		} else
			all = false;
		if (e == NULL)
			return all;
		v = e + 1;
	}
}

/* The policy tags, alike in both standards: p, sp, np. */
static void
tags_policy(const char *v, const char **val, bool *bad)
{
	static const char *const pol[] = { "none", "quarantine", "reject", NULL };

	*bad = !one_of(v, pol);
	*val = *bad ? NULL : v;
}

/* Tags RFC 7489 and RFC 9989 share; false if name is none of them. */
static bool
tags_common(struct dmarc_tags *t, const char *name, const char *v)
{
	static const char *const mode[] = { "r", "s", NULL };

	if (strcasecmp(name, "p") == 0)
		tags_policy(v, &t->p, &t->p_bad);
	else if (strcasecmp(name, "sp") == 0)
		tags_policy(v, &t->sp, &t->sp_bad);
	else if (strcasecmp(name, "adkim") == 0) {
		if (one_of(v, mode))
			t->adkim = v;
		else
			tags_note(t, "adkim");
	} else if (strcasecmp(name, "aspf") == 0) {
		if (one_of(v, mode))
			t->aspf = v;
		else
			tags_note(t, "aspf");
	} else if (strcasecmp(name, "rua") == 0) {
		if (!rua_collect(v, t->rua, sizeof(t->rua)))
			tags_note(t, "rua");
	} else if (strcasecmp(name, "ruf") == 0) {
		char scratch[1024] = "";

		if (!rua_collect(v, scratch, sizeof(scratch)))
			tags_note(t, "ruf");
	} else
		return false;
	return true;
}

/* RFC 7489 6.3's own tags: pct, ri, fo, rf. */
static void
tags_7489(struct dmarc_tags *t, const char *name, const char *v)
{
	if (strcasecmp(name, "pct") == 0) {
		t->pct_seen = true;
		if (is_number(v, 3, 100))
			t->pct = v;
		else
			tags_note(t, "pct");
	} else if (strcasecmp(name, "ri") == 0) {
		if (!is_number(v, 32, 4294967295ULL))
			tags_note(t, "ri");
	} else if (strcasecmp(name, "fo") == 0) {
		if (!is_list(v, ':', fo_item))
			tags_note(t, "fo");
	} else if (strcasecmp(name, "rf") == 0) {
		if (!is_list(v, ':', rf_item))
			tags_note(t, "rf");
	}
}

/*
 * RFC 9989 4.7's own tags: np, psd, t, fo.  pct is historic (9.3): read
 * so the checker can warn, never named as invalid; rf and ri are
 * historic too and fall through to the unknown tags.
 */
static void
tags_9989(struct dmarc_tags *t, const char *name, const char *v)
{
	static const char *const psd[] = { "y", "n", "u", NULL };
	static const char *const yorn[] = { "y", "n", NULL };

	if (strcasecmp(name, "np") == 0)
		tags_policy(v, &t->np, &t->np_bad);
	else if (strcasecmp(name, "psd") == 0) {
		if (one_of(v, psd))
			t->psd = v;
		else
			tags_note(t, "psd");
	} else if (strcasecmp(name, "t") == 0) {
		if (one_of(v, yorn))
			t->t = v;
		else
			tags_note(t, "t");
	} else if (strcasecmp(name, "fo") == 0) {
		if (!is_fo_9989(v))
			tags_note(t, "fo");
	} else if (strcasecmp(name, "pct") == 0) {
		t->pct_seen = true;
		t->pct = is_number(v, 3, 100) ? v : NULL;
	}
}

/* Vet one tag; valid values are remembered (pointing into the copy). */
static void
tags_one(struct dmarc_tags *t, const char *name, const char *v)
{
	if (tags_common(t, name, v))
		return;
	if (t->std == AM_DMARC_RFC7489)
		tags_7489(t, name, v);
	else
		tags_9989(t, name, v);
	/* v (already checked) and unknown tags: ignored (RFC 7489 6.3, RFC 9989 4.7). */
}

/* Split copy (modified in place) into tags; tokens without "=" are ignored. */
static void
tags_scan(char *copy, enum am_dmarc_standard std, struct dmarc_tags *t)
{
	char *tok, *next, *eq, *name, *val;

	memset(t, 0, sizeof(*t));
	t->std = std;
	for (tok = copy; tok != NULL; tok = next) {
		if ((next = strchr(tok, ';')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(tok, '=')) == NULL)
			continue;
		*eq = '\0';
		name = am_trim(tok);
		val = am_trim(eq + 1);
		if (name[0] != '\0')
			tags_one(t, name, val);
	}
}

/* ---- the clean record ------------------------------------------------------- */

/* Append "; name=value" when value is set. */
static void
record_add(char *out, size_t outlen, const char *name, const char *value)
{
	if (value == NULL)
		return;
	am_strlcat(out, "; ", outlen);
	am_strlcat(out, name, outlen);
	am_strlcat(out, "=", outlen);
	am_strlcat(out, value, outlen);
}

/*
 * Only vetted tags reach libopendmarc.  6.6.3 applies no policy when p=
 * is missing or invalid, or sp= invalid, without a usable rua=; with one,
 * act as if "v=DMARC1; p=none" had been published.
 */
bool
am_dmarc_record_clean(const char *rec, char *out, size_t outlen, char *reason, size_t rlen)
{
	struct dmarc_tags t;
	char *copy = am_xstrdup(rec);
	bool ok = true;

	tags_scan(copy, AM_DMARC_RFC7489, &t);
	if (t.p == NULL || t.p_bad || t.sp_bad) {
		const char *what = t.p == NULL && !t.p_bad ? "missing p=" :
		    t.p_bad ? "invalid p=" : "invalid sp=";

		if (t.rua[0] == '\0') {
			snprintf(reason, rlen, "DMARC record has %s and no usable rua=", what);
			ok = false;
		} else {
			snprintf(out, outlen, "v=DMARC1; p=none; rua=%s", t.rua);
			snprintf(reason, rlen, "DMARC record has %s; treated as p=none (RFC 7489 6.6.3)", what);
		}
		free(copy);
		return ok;
	}
	snprintf(out, outlen, "v=DMARC1; p=%s", t.p);
	record_add(out, outlen, "sp", t.sp);
	record_add(out, outlen, "adkim", t.adkim);
	record_add(out, outlen, "aspf", t.aspf);
	record_add(out, outlen, "pct", t.pct);
	record_add(out, outlen, "rua", t.rua[0] != '\0' ? t.rua : NULL);
	am_strlcpy(reason, t.notes, rlen);
	free(copy);
	return true;
}

/* ---- record inspection (alignmilter-check) ------------------------------------ */

bool
am_dmarc_is_record(const char *txt)
{
	return txt != NULL && is_dmarc_record(txt);
}

/*
 * RFC 9989 4.10.1: a record without a valid p=, or with an invalid sp= or
 * np=, acts as p=none when rua= holds a syntactically valid URI; without
 * one the message gets no DMARC processing.
 */
static void
vet_9989(const struct dmarc_tags *t, struct am_dmarc_record *out)
{
	char what[64] = "";

	if (t->p == NULL)
		am_strlcpy(what, t->p_bad ? "invalid p=" : "missing p=", sizeof(what));
	if (t->sp_bad)
		am_strlcat(what, what[0] != '\0' ? ", invalid sp=" : "invalid sp=", sizeof(what));
	if (t->np_bad)
		am_strlcat(what, what[0] != '\0' ? ", invalid np=" : "invalid np=", sizeof(what));
	out->usable = true;
	if (what[0] == '\0')
		return;
	if (t->rua[0] == '\0') {
		out->usable = false;
		snprintf(out->reason, sizeof(out->reason),
		    "DMARC record has %s and no usable rua=: no DMARC processing (RFC 9989 4.10.1)",
		    what);
	} else {
		out->as_none = true;
		snprintf(out->reason, sizeof(out->reason),
		    "DMARC record has %s; treated as p=none (RFC 9989 4.10.1)", what);
	}
}

/* The tag values a standard knows, lower case, into out. */
static void
record_fill(const struct dmarc_tags *t, struct am_dmarc_record *out)
{
	if (t->p != NULL)
		am_strlcpy(out->p, t->p, sizeof(out->p));
	if (t->sp != NULL)
		am_strlcpy(out->sp, t->sp, sizeof(out->sp));
	if (t->np != NULL)
		am_strlcpy(out->np, t->np, sizeof(out->np));
	am_lowercase(out->p);
	am_lowercase(out->sp);
	am_lowercase(out->np);
	out->p_invalid = t->p_bad;
	out->sp_invalid = t->sp_bad;
	out->np_invalid = t->np_bad;
	if (t->adkim != NULL)
		out->adkim = (char)tolower((unsigned char)t->adkim[0]);
	if (t->aspf != NULL)
		out->aspf = (char)tolower((unsigned char)t->aspf[0]);
	if (t->pct != NULL)
		out->pct = (unsigned)strtoul(t->pct, NULL, 10);
	out->pct_present = t->pct_seen;
	if (t->psd != NULL)
		out->psd = (char)tolower((unsigned char)t->psd[0]);
	out->testing = t->t != NULL && (t->t[0] == 'y' || t->t[0] == 'Y');
	am_strlcpy(out->rua, t->rua, sizeof(out->rua));
	am_strlcpy(out->ignored, t->notes, sizeof(out->ignored));
}

void
am_dmarc_parse_record(const char *record, enum am_dmarc_standard std, struct am_dmarc_record *out)
{
	struct dmarc_tags t;
	char *copy, clean[2048], reason[AM_REASON_MAX] = "";

	memset(out, 0, sizeof(*out));
	out->adkim = 'r';
	out->aspf = 'r';
	out->pct = 100;
	out->psd = 'u';
	if (record == NULL || !is_dmarc_record(record)) {
		am_strlcpy(out->reason, "not a DMARC record", sizeof(out->reason));
		return;
	}
	copy = am_xstrdup(record);
	tags_scan(copy, std, &t);
	record_fill(&t, out);
	if (std != AM_DMARC_RFC7489)
		vet_9989(&t, out);
	free(copy);
	if (std != AM_DMARC_RFC7489)
		return;
	/* The same decision the milter makes (6.6.3). */
	out->usable = am_dmarc_record_clean(record, clean, sizeof(clean), reason, sizeof(reason));
	out->as_none = out->usable && (out->p[0] == '\0' || out->p_invalid || out->sp_invalid);
	if (!out->usable || out->as_none)
		am_strlcpy(out->reason, reason, sizeof(out->reason));
}
