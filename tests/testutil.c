/*
 * testutil.c - small helpers shared by the Check unit tests (see testutil.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/util.h"

char *
tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = am_xreallocarray(buf, cap, 1);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ==== a strict JSON parser (RFC 8259), independent of alignlog.c =========== */

struct jp {
	const unsigned char *p, *end;
	char	err[160];
	int	depth;
};

void
jfree(struct jval *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		jfree(v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->keylens);
	free(v->str);
	free(v);
}

static bool
jerr(struct jp *jp, const char *what)
{
	if (jp->err[0] == '\0')
		snprintf(jp->err, sizeof(jp->err), "%s at byte offset %td", what,
		    (ptrdiff_t)(jp->end - jp->p));
	return false;
}

static void
jws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Length of a valid UTF-8 sequence at p (1..4), 0 if invalid (RFC 3629). */
static size_t
t_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		    (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

static bool
t_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t n;

	while (p < end) {
		if ((n = t_utf8_len(p, (size_t)(end - p))) == 0)
			return false;
		p += n;
	}
	return true;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
j_hex4(struct jp *jp, unsigned *out)
{
	int i, h;

	*out = 0;
	if (jp->end - jp->p < 4)
		return jerr(jp, "short \\u escape");
	for (i = 0; i < 4; i++) {
		if ((h = hexval(jp->p[i])) < 0)
			return jerr(jp, "bad \\u escape");
		*out = (*out << 4) | (unsigned)h;
	}
	jp->p += 4;
	return true;
}

static void
put_utf8(struct am_buf *b, unsigned cp)
{
	if (cp < 0x80) {
		am_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		am_buf_addc(b, (char)(0xc0 | (cp >> 6)));
		am_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		am_buf_addc(b, (char)(0xe0 | (cp >> 12)));
		am_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		am_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		am_buf_addc(b, (char)(0xf0 | (cp >> 18)));
		am_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		am_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		am_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static bool
j_string(struct jp *jp, char **out, size_t *outlen)
{
	struct am_buf b;
	size_t n;
	unsigned cp, lo;

	am_buf_init(&b);
	am_buf_adds(&b, "");
	jp->p++;			/* opening quote */
	while (jp->p < jp->end && *jp->p != '"') {
		if (*jp->p < 0x20) {
			am_buf_free(&b);
			return jerr(jp, "raw control character in string");
		}
		if (*jp->p != '\\') {
			if ((n = t_utf8_len(jp->p, (size_t)(jp->end - jp->p))) == 0) {
				am_buf_free(&b);
				return jerr(jp, "invalid UTF-8 in string");
			}
			am_buf_add(&b, (const char *)jp->p, n);
			jp->p += n;
			continue;
		}
		if (++jp->p >= jp->end) {
			am_buf_free(&b);
			return jerr(jp, "dangling backslash");
		}
		switch (*jp->p++) {
		case '"': am_buf_addc(&b, '"'); break;
		case '\\': am_buf_addc(&b, '\\'); break;
		case '/': am_buf_addc(&b, '/'); break;
		case 'b': am_buf_addc(&b, '\b'); break;
		case 'f': am_buf_addc(&b, '\f'); break;
		case 'n': am_buf_addc(&b, '\n'); break;
		case 'r': am_buf_addc(&b, '\r'); break;
		case 't': am_buf_addc(&b, '\t'); break;
		case 'u':
			if (!j_hex4(jp, &cp)) {
				am_buf_free(&b);
				return false;
			}
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				am_buf_free(&b);
				return jerr(jp, "lone low surrogate");
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u') {
					am_buf_free(&b);
					return jerr(jp, "lone high surrogate");
				}
				jp->p += 2;
				if (!j_hex4(jp, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					am_buf_free(&b);
					return jerr(jp, "bad surrogate pair");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(&b, cp);
			break;
		default:
			am_buf_free(&b);
			return jerr(jp, "bad escape");
		}
	}
	if (jp->p >= jp->end) {
		am_buf_free(&b);
		return jerr(jp, "unterminated string");
	}
	jp->p++;
	*out = b.data;
	*outlen = b.len;
	return true;
}

static bool
j_number(struct jp *jp, double *out)
{
	const unsigned char *s = jp->p;
	char tmp[64];

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return jerr(jp, "bad number");
	if (*jp->p == '0')
		jp->p++;
	else
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	if (jp->p < jp->end && *jp->p == '.') {
		if (++jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return jerr(jp, "bad fraction");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return jerr(jp, "bad exponent");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(jp->p - s), (const char *)s);
	*out = strtod(tmp, NULL);
	return true;
}

static struct jval *j_value(struct jp *);

static struct jval *
j_container(struct jp *jp, bool obj)
{
	struct jval *v = am_xcalloc(1, sizeof(*v));
	char close = obj ? '}' : ']';

	v->type = obj ? J_OBJ : J_ARR;
	if (++jp->depth > 64) {
		jerr(jp, "nesting too deep");
		jfree(v);
		return NULL;
	}
	jp->p++;
	jws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		jp->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t keylen = 0;
		struct jval *item;

		jws(jp);
		if (obj) {
			if (jp->p >= jp->end || *jp->p != '"' || !j_string(jp, &key, &keylen)) {
				jerr(jp, "object key expected");
				jfree(v);
				return NULL;
			}
			jws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				free(key);
				jerr(jp, "':' expected");
				jfree(v);
				return NULL;
			}
			jp->p++;
		}
		if ((item = j_value(jp)) == NULL) {
			free(key);
			jfree(v);
			return NULL;
		}
		v->items = am_xreallocarray(v->items, v->n + 1, sizeof(*v->items));
		if (obj) {
			v->keys = am_xreallocarray(v->keys, v->n + 1, sizeof(*v->keys));
			v->keylens = am_xreallocarray(v->keylens, v->n + 1, sizeof(*v->keylens));
			v->keys[v->n] = key;
			v->keylens[v->n] = keylen;
		}
		v->items[v->n++] = item;
		jws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == close) {
			jp->p++;
			jp->depth--;
			return v;
		}
		jerr(jp, obj ? "',' or '}' expected" : "',' or ']' expected");
		jfree(v);
		return NULL;
	}
}

static bool
j_lit(struct jp *jp, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n) != 0)
		return jerr(jp, "bad literal");
	jp->p += n;
	return true;
}

static struct jval *
j_value(struct jp *jp)
{
	struct jval *v;

	jws(jp);
	if (jp->p >= jp->end) {
		jerr(jp, "value expected");
		return NULL;
	}
	if (*jp->p == '{' || *jp->p == '[')
		return j_container(jp, *jp->p == '{');
	v = am_xcalloc(1, sizeof(*v));
	switch (*jp->p) {
	case '"':
		v->type = J_STR;
		if (j_string(jp, &v->str, &v->slen))
			return v;
		break;
	case 't':
		v->type = J_BOOL;
		v->b = true;
		if (j_lit(jp, "true"))
			return v;
		break;
	case 'f':
		v->type = J_BOOL;
		if (j_lit(jp, "false"))
			return v;
		break;
	case 'n':
		v->type = J_NULL;
		if (j_lit(jp, "null"))
			return v;
		break;
	default:
		v->type = J_NUM;
		if (j_number(jp, &v->num))
			return v;
		break;
	}
	jfree(v);
	return NULL;
}

/* Parse exactly one JSON text; NULL with err. */
struct jval *
json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct jp jp = { (const unsigned char *)s, (const unsigned char *)s + len, "", 0 };
	struct jval *v;

	if (!t_utf8_valid(s, len)) {
		snprintf(err, errlen, "text is not valid UTF-8");
		return NULL;
	}
	v = j_value(&jp);
	if (v != NULL) {
		jws(&jp);
		if (jp.p != jp.end) {
			jerr(&jp, "trailing bytes after the value");
			jfree(v);
			v = NULL;
		}
	}
	if (v == NULL)
		snprintf(err, errlen, "%s", jp.err);
	return v;
}

struct jval *
jget(const struct jval *o, const char *key)
{
	size_t i;

	if (o == NULL || o->type != J_OBJ)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (o->keylens[i] == strlen(key) && strcmp(o->keys[i], key) == 0)
			return o->items[i];
	return NULL;
}

const char *
jstr(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);

	return v != NULL && v->type == J_STR ? v->str : NULL;
}
