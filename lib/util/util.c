/*
 * util.c - small, bounded string and memory helpers (see util.h).
 *
 * Owns: allocation that never returns NULL, bounded copies, the growing
 * string, ASCII and UTF-8 helpers.  Errors: running out of memory (or a
 * size that overflows) logs "out of memory" once through the logging
 * channel and aborts; nothing else fails.  Threads: any; no shared state.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

static void
am_out_of_memory(void)
{
	/* am_log_fixed promises not to allocate; am_log formats, and the
	 * printf family gives no such promise. */
	am_log_fixed(LOG_CRIT, "out of memory");
	abort();
}

void *
am_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		am_out_of_memory();
	return p;
}

void *
am_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		am_out_of_memory();
	return p;
}

void *
am_xreallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		am_out_of_memory();
	p = realloc(old, n * size != 0 ? n * size : 1);
	if (p == NULL)
		am_out_of_memory();
	return p;
}

char *
am_xstrdup(const char *s)
{
	return am_xstrndup(s, strlen(s));
}

char *
am_xstrndup(const char *s, size_t n)
{
	char *p = am_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
am_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
am_strlcat(char *dst, const char *src, size_t size)
{
	size_t used = strnlen(dst, size);

	if (used == size)
		return size + strlen(src);
	return used + am_strlcpy(dst + used, src, size - used);
}

char *
am_lowercase(char *s)
{
	char *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *
am_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

void
am_domain_normalize(char *d)
{
	size_t len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		d[len - 1] = '\0';
	am_lowercase(d);
}

bool
am_domain_is_under(const char *d, const char *parent)
{
	size_t dl = strlen(d), pl = strlen(parent);

	if (pl == 0 || dl < pl)
		return false;
	if (strcasecmp(d + dl - pl, parent) != 0)
		return false;
	return dl == pl || d[dl - pl - 1] == '.';
}

bool
am_mailbox_is_plain(const char *v)
{
	const char *at = strchr(v, '@'), *p;

	if (at == NULL || at == v || *v == '-' || strchr(at + 1, '@') != NULL || strlen(v) > 254 ||
	    at[1] == '\0' || at[1] == '.' || strchr(at + 1, '.') == NULL || v[strlen(v) - 1] == '.' ||
	    strstr(at + 1, "..") != NULL)
		return false;
	for (p = v; p < at; p++)
		if (*p <= ' ' || *p >= 127 || strchr("\"<>(),;:[]\\", *p) != NULL)
			return false;
	for (p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

void
am_buf_init(struct am_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
am_buf_free(struct am_buf *b)
{
	free(b->data);
	am_buf_init(b);
}

void
am_buf_reset(struct am_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
buf_reserve(struct am_buf *b, size_t more)
{
	size_t need;

	if (more > SIZE_MAX - b->len - 1)
		am_out_of_memory();
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	while (b->cap < need)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->data = am_xreallocarray(b->data, b->cap, 1);
}

void
am_buf_add(struct am_buf *b, const char *s, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)		/* memcpy from NULL is undefined even for 0 bytes */
		memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
am_buf_adds(struct am_buf *b, const char *s)
{
	am_buf_add(b, s, strlen(s));
}

void
am_buf_addc(struct am_buf *b, char c)
{
	am_buf_add(b, &c, 1);
}

void
am_buf_add_markup(struct am_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': am_buf_adds(b, "&amp;"); break;
		case '<': am_buf_adds(b, "&lt;"); break;
		case '>': am_buf_adds(b, "&gt;"); break;
		case '"': am_buf_adds(b, "&quot;"); break;
		case '\'': am_buf_adds(b, "&#39;"); break;
		default:
			/* XML 1.0 cannot carry C0 controls other than TAB/LF/CR; HTML should not. */
			if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') || *s == 0x7f)
				am_buf_adds(b, "\xef\xbf\xbd");
			else
				am_buf_addc(b, *s);
		}
	}
}

void
am_buf_printf(struct am_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n;

	/* Format once into the room there is; again only when it did not fit. */
	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room > 0)
			b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
size_t
am_utf8_seqlen(const unsigned char *p, size_t avail)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}
