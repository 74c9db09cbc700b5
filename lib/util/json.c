/*
 * json.c - a small, strict JSON reader (see json.h).
 *
 * Recursive descent over a bounded depth.  Values and decoded strings
 * live in one arena per document, so freeing is one walk over a few
 * blocks and a failed parse leaks nothing.  Errors and threads: see
 * json.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Utility library. */
#include "util/json.h"
#include "util/util.h"

#define ARENA_BLOCK	8192

struct block {
	struct block *next;
	size_t	used;
	size_t	size;
	/* The bytes follow, aligned for any value. */
	max_align_t data[];
};

struct am_json_doc {
	struct block *blocks;
	struct am_json *root;
};

struct parser {
	const unsigned char *p, *start, *end;
	struct am_json_doc *doc;
	size_t	values;
	char	*err;
	size_t	errlen;
	bool	failed;
};

/* ---- arena --------------------------------------------------------- */

static void *
arena_alloc(struct am_json_doc *doc, size_t n)
{
	struct block *b = doc->blocks;
	size_t align = sizeof(max_align_t), size;
	void *p;

	n = (n + align - 1) / align * align;
	if (b == NULL || b->size - b->used < n) {
		size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = am_xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = doc->blocks;
		doc->blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

void
am_json_free(struct am_json_doc *doc)
{
	struct block *b, *next;

	if (doc == NULL)
		return;
	for (b = doc->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(doc);
}

const struct am_json *
am_json_root(const struct am_json_doc *doc)
{
	return doc != NULL ? doc->root : NULL;
}

/* ---- errors and lexing -------------------------------------------- */

static bool fail(struct parser *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error with its byte offset; always returns false. */
static bool
fail(struct parser *ps, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	if (ps->failed)
		return false;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err != NULL && ps->errlen > 0)
		snprintf(ps->err, ps->errlen, "offset %zu: %s", (size_t)(ps->p - ps->start), msg);
	return false;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool
literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "invalid literal");
	ps->p += n;
	return true;
}

static struct am_json *
new_value(struct parser *ps, enum am_json_type type)
{
	struct am_json *v;

	if (++ps->values > AM_JSON_MAX_VALUES) {
		fail(ps, "more than %d values", AM_JSON_MAX_VALUES);
		return NULL;
	}
	v = arena_alloc(ps->doc, sizeof(*v));
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

static size_t
utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits after "\u". */
static bool
hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	int i, c;

	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = ps->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "bad hex digit in \\u escape");
	}
	ps->p += 4;
	*out = v;
	return true;
}

/* The code point of a \u escape (ps->p after the 'u'), pairing surrogates. */
static bool
unicode_escape(struct parser *ps, uint32_t *cp)
{
	uint32_t hi, lo;

	if (!hex4(ps, &hi))
		return false;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(ps, "unpaired low surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "unpaired high surrogate");
		ps->p += 2;
		if (!hex4(ps, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "unpaired high surrogate");
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (hi == 0)
		return fail(ps, "\\u0000 is not accepted");
	*cp = hi;
	return true;
}

static bool
escape(struct parser *ps, char *out, size_t *o)
{
	uint32_t cp = 0;
	int c;

	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	c = *ps->p++;
	switch (c) {
	case '"': case '\\': case '/':
		out[(*o)++] = (char)c;
		return true;
	case 'b': out[(*o)++] = '\b'; return true;
	case 'f': out[(*o)++] = '\f'; return true;
	case 'n': out[(*o)++] = '\n'; return true;
	case 'r': out[(*o)++] = '\r'; return true;
	case 't': out[(*o)++] = '\t'; return true;
	case 'u':
		if (!unicode_escape(ps, &cp))
			return false;
		*o += utf8_put(cp, out + *o);
		return true;
	default:
		ps->p--;
		return fail(ps, "invalid escape");
	}
}

/*
 * A string at ps->p (the opening quote).  Decoded output is never longer
 * than the input (an escape of n bytes yields at most n bytes), so the
 * buffer is sized by the remaining input up to the closing quote.
 */
static bool
string(struct parser *ps, const char **out, size_t *outlen)
{
	const unsigned char *q;
	char *buf;
	size_t o = 0, n;

	ps->p++;
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < ps->end)
			q++;
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	buf = arena_alloc(ps->doc, (size_t)(q - ps->p) + 1);
	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\\') {
			ps->p++;
			if (!escape(ps, buf, &o))
				return false;
		} else if (*ps->p < 0x20) {
			return fail(ps, "control character in string");
		} else if ((n = am_utf8_seqlen(ps->p, (size_t)(ps->end - ps->p))) == 0) {
			return fail(ps, "invalid UTF-8");
		} else {
			memcpy(buf + o, ps->p, n);
			o += n;
			ps->p += n;
		}
	}
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	ps->p++;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return true;
}

static size_t
digits(struct parser *ps)
{
	const unsigned char *s = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return (size_t)(ps->p - s);
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static struct am_json *
number(struct parser *ps)
{
	const unsigned char *s = ps->p;
	struct am_json *v;
	char *text;
	size_t len;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0') {
		ps->p++;
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			return fail(ps, "leading zero"), NULL;
	} else if (digits(ps) == 0) {
		return fail(ps, "invalid number"), NULL;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (digits(ps) == 0)
			return fail(ps, "digit expected after '.'"), NULL;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (digits(ps) == 0)
			return fail(ps, "digit expected in exponent"), NULL;
	}
	if ((v = new_value(ps, AM_JSON_NUMBER)) == NULL)
		return NULL;
	len = (size_t)(ps->p - s);
	text = arena_alloc(ps->doc, len + 1);
	memcpy(text, s, len);
	text[len] = '\0';
	v->str = text;
	v->len = len;
	/* The grammar above is a subset of strtod's; huge exponents give ±HUGE_VAL. */
	v->num = strtod(text, NULL);
	return v;
}

static struct am_json *value(struct parser *, unsigned depth);

/* Elements or members up to the closing bracket; ps->p after the opener. */
static struct am_json *
container(struct parser *ps, enum am_json_type type, unsigned depth)
{
	struct am_json *v, *item, *last = NULL;
	int close = type == AM_JSON_ARRAY ? ']' : '}';
	const char *key = NULL;
	size_t keylen;

	if (depth >= AM_JSON_MAX_DEPTH)
		return fail(ps, "nesting deeper than %d", AM_JSON_MAX_DEPTH), NULL;
	if ((v = new_value(ps, type)) == NULL)
		return NULL;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return v;
	}
	for (;;) {
		skip_ws(ps);
		if (type == AM_JSON_OBJECT) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "member name expected"), NULL;
			if (!string(ps, &key, &keylen))
				return NULL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'"), NULL;
			ps->p++;
		}
		if ((item = value(ps, depth + 1)) == NULL)
			return NULL;
		item->key = key;
		if (last == NULL)
			v->child = item;
		else
			last->next = item;
		last = item;
		v->count++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return v;
		}
		return fail(ps, "expected ',' or '%c'", close), NULL;
	}
}

static struct am_json *
value(struct parser *ps, unsigned depth)
{
	struct am_json *v;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "value expected"), NULL;
	switch (*ps->p) {
	case '{':
		return container(ps, AM_JSON_OBJECT, depth);
	case '[':
		return container(ps, AM_JSON_ARRAY, depth);
	case '"':
		if ((v = new_value(ps, AM_JSON_STRING)) == NULL || !string(ps, &v->str, &v->len))
			return NULL;
		return v;
	case 't':
		return literal(ps, "true") ? new_value(ps, AM_JSON_TRUE) : NULL;
	case 'f':
		return literal(ps, "false") ? new_value(ps, AM_JSON_FALSE) : NULL;
	case 'n':
		return literal(ps, "null") ? new_value(ps, AM_JSON_NULL) : NULL;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return number(ps);
		return fail(ps, "unexpected character"), NULL;
	}
}

struct am_json_doc *
am_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps;
	struct am_json_doc *doc = am_xcalloc(1, sizeof(*doc));

	memset(&ps, 0, sizeof(ps));
	ps.start = ps.p = (const unsigned char *)(text != NULL ? text : "");
	ps.end = ps.p + (text != NULL ? len : 0);
	ps.doc = doc;
	ps.err = err;
	ps.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	doc->root = value(&ps, 0);
	if (doc->root != NULL) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "trailing data after the value");
	}
	if (ps.failed || doc->root == NULL) {
		am_json_free(doc);
		return NULL;
	}
	return doc;
}

/* ---- access -------------------------------------------------------- */

const struct am_json *
am_json_member(const struct am_json *obj, const char *key)
{
	const struct am_json *m;

	if (obj == NULL || obj->type != AM_JSON_OBJECT)
		return NULL;
	for (m = obj->child; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

bool
am_json_int(const struct am_json *v, long min, long max, long *out)
{
	/* Written so that NaN and infinities fail every comparison. */
	if (v == NULL || v->type != AM_JSON_NUMBER || !(v->num >= (double)min && v->num <= (double)max) ||
	    (double)(long)v->num != v->num)
		return false;
	*out = (long)v->num;
	return true;
}

const char *
am_json_type_name(enum am_json_type t)
{
	switch (t) {
	case AM_JSON_NULL: return "null";
	case AM_JSON_FALSE: case AM_JSON_TRUE: return "boolean";
	case AM_JSON_NUMBER: return "number";
	case AM_JSON_STRING: return "string";
	case AM_JSON_ARRAY: return "array";
	case AM_JSON_OBJECT: return "object";
	}
	return "?";
}
