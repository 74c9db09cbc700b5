/*
 * domaincheck-log.c - what the alignment log tells alignmilter-check.
 *
 * Owns: reading an alignment log (JSON Lines, DESIGN.md) and, for one From
 * domain, collecting the DKIM selectors SES signed with under d=<domain>,
 * the custom MAIL FROM domain and region SES used, and how much of the
 * domain's mail was SES mail.  A small JSON reader of its own (strings with
 * escapes, nesting bounded); lines it cannot read are skipped, not fatal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domaincheck-int.h"

#define JSON_DEPTH_MAX	32
#define LINE_SIGS_MAX	16

struct jp {
	const char *p, *end;
	int	depth;
};

/* The fields of one record that matter here. */
struct logline {
	char	from[AM_DOMAIN_MAX];
	char	mail_from[AM_DOMAIN_MAX + 64];
	char	sender[16];
	char	region[DC_REGION_MAX];
	char	sig_domain[LINE_SIGS_MAX][AM_DOMAIN_MAX];
	char	sig_selector[LINE_SIGS_MAX][64];
	size_t	nsigs;
};

static void
j_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static bool
j_lit(struct jp *j, char c)
{
	j_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

/*
 * A string into out (truncated to outlen; out may be NULL).  \uXXXX
 * outside ASCII becomes '?': the names we want are ASCII.
 */
static bool
j_str(struct jp *j, char *out, size_t outlen)
{
	size_t o = 0;

	if (!j_lit(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		char ch = *j->p++;

		if ((unsigned char)ch < 0x20)
			return false;
		if (ch == '\\') {
			if (j->p >= j->end)
				return false;
			ch = *j->p++;
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'u': {
				unsigned v = 0;
				int k;

				if (j->end - j->p < 4)
					return false;
				for (k = 0; k < 4; k++) {
					char h = *j->p++;

					v <<= 4;
					if (h >= '0' && h <= '9')
						v |= (unsigned)(h - '0');
					else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
						v |= (unsigned)((h | 0x20) - 'a' + 10);
					else
						return false;
				}
				ch = v > 0 && v < 0x80 ? (char)v : '?';
				break;
			}
			case '"': case '\\': case '/': break;
			default: return false;
			}
		}
		if (out != NULL && o + 1 < outlen)
			out[o++] = ch;
	}
	if (out != NULL && outlen > 0)
		out[o] = '\0';
	return j_lit(j, '"');
}

static bool j_skip(struct jp *);

/* Walk an object or array; fn (may be NULL) reads or skips each member's value. */
static bool
j_container(struct jp *j, char open, bool (*fn)(struct jp *, const char *, void *), void *arg)
{
	char close = open == '{' ? '}' : ']';
	char key[64];

	if (!j_lit(j, open) || ++j->depth > JSON_DEPTH_MAX)
		return false;
	if (j_lit(j, close)) {
		j->depth--;
		return true;
	}
	do {
		key[0] = '\0';
		if (open == '{' && (!j_str(j, key, sizeof(key)) || !j_lit(j, ':')))
			return false;
		if (!(fn != NULL ? fn(j, key, arg) : j_skip(j)))
			return false;
	} while (j_lit(j, ','));
	j->depth--;
	return j_lit(j, close);
}

static bool
j_skip(struct jp *j)
{
	j_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return j_str(j, NULL, 0);
	case '{':
	case '[':
		return j_container(j, *j->p, NULL, NULL);
	default:
		/* number, true, false, null */
		if (strchr("-0123456789tfn", *j->p) == NULL)
			return false;
		while (j->p < j->end && strchr(",}] \t\r\n", *j->p) == NULL)
			j->p++;
		return true;
	}
}

/* A string value into out, or any other value skipped (out left ""). */
static bool
j_str_or_skip(struct jp *j, char *out, size_t outlen)
{
	j_ws(j);
	out[0] = '\0';
	if (j->p < j->end && *j->p == '"')
		return j_str(j, out, outlen);
	return j_skip(j);
}

static bool
on_sig_member(struct jp *j, const char *key, void *arg)
{
	struct logline *l = arg;

	if (strcmp(key, "domain") == 0)
		return j_str_or_skip(j, l->sig_domain[l->nsigs], sizeof(l->sig_domain[0]));
	if (strcmp(key, "selector") == 0)
		return j_str_or_skip(j, l->sig_selector[l->nsigs], sizeof(l->sig_selector[0]));
	return j_skip(j);
}

static bool
on_sig(struct jp *j, const char *key, void *arg)
{
	struct logline *l = arg;

	(void)key;
	j_ws(j);
	if (l->nsigs >= LINE_SIGS_MAX || j->p >= j->end || *j->p != '{')
		return j_skip(j);
	if (!j_container(j, '{', on_sig_member, l))
		return false;
	l->nsigs++;
	return true;
}

static bool
on_ses_member(struct jp *j, const char *key, void *arg)
{
	struct logline *l = arg;

	if (strcmp(key, "region") == 0)
		return j_str_or_skip(j, l->region, sizeof(l->region));
	return j_skip(j);
}

static bool
on_member(struct jp *j, const char *key, void *arg)
{
	struct logline *l = arg;

	j_ws(j);
	if (strcmp(key, "from_domain") == 0)
		return j_str_or_skip(j, l->from, sizeof(l->from));
	if (strcmp(key, "mail_from") == 0)
		return j_str_or_skip(j, l->mail_from, sizeof(l->mail_from));
	if (strcmp(key, "sender") == 0)
		return j_str_or_skip(j, l->sender, sizeof(l->sender));
	if (strcmp(key, "ses") == 0 && j->p < j->end && *j->p == '{')
		return j_container(j, '{', on_ses_member, l);
	if (strcmp(key, "dkim") == 0 && j->p < j->end && *j->p == '[')
		return j_container(j, '[', on_sig, l);
	return j_skip(j);
}

static bool
parse_line(const char *s, size_t n, struct logline *l)
{
	struct jp j = { s, s + n, 0 };

	memset(l, 0, sizeof(*l));
	return j_container(&j, '{', on_member, l);
}

/* ---- collecting ------------------------------------------------------------ */

static void
add_selector(struct dc_logscan *s, const char *sel)
{
	size_t i;

	if (sel[0] == '\0')
		return;
	for (i = 0; i < s->nselectors; i++)
		if (strcasecmp(s->selectors[i], sel) == 0)
			return;
	if (s->nselectors < AM_DC_SELECTORS_MAX)
		am_strlcpy(s->selectors[s->nselectors++], sel, sizeof(s->selectors[0]));
}

static void
take_line(struct dc_logscan *s, struct logline *l, const char *domain)
{
	const char *at = strrchr(l->mail_from, '@');
	char env[AM_DOMAIN_MAX];
	bool ses, signed_ = false;
	size_t i;

	am_domain_normalize(l->from);
	if (strcmp(l->from, domain) != 0)
		return;
	s->messages++;
	am_strlcpy(env, at != NULL ? at + 1 : l->mail_from, sizeof(env));
	am_domain_normalize(env);
	ses = strcmp(l->sender, "ses") == 0 || am_domain_is_under(env, "amazonses.com");
	for (i = 0; i < l->nsigs; i++)
		if (am_domain_is_under(l->sig_domain[i], "amazonses.com"))
			ses = true;
	if (!ses)
		return;		/* other senders' selectors are not Easy DKIM's */
	s->ses_messages++;
	for (i = 0; i < l->nsigs; i++) {
		am_domain_normalize(l->sig_domain[i]);
		if (strcmp(l->sig_domain[i], domain) == 0) {
			add_selector(s, l->sig_selector[i]);
			signed_ = true;
		}
	}
	if (signed_)
		s->ses_signed++;
	if (am_domain_is_under(env, "amazonses.com"))
		s->ses_default_mail_from++;
	else if (am_domain_is_under(env, domain) && strcmp(env, domain) != 0)
		am_strlcpy(s->mail_from, env, sizeof(s->mail_from));
	if (l->region[0] != '\0')
		am_strlcpy(s->region, l->region, sizeof(s->region));
}

bool
dc_log_scan(const char *path, const char *domain, struct dc_logscan *s, char *why, size_t whylen)
{
	struct logline *l = am_xmalloc(sizeof(*l));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	memset(s, 0, sizeof(*s));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		free(l);
		return false;
	}
	while ((n = getline(&line, &cap, fp)) > 0)
		if (parse_line(line, (size_t)n, l))
			take_line(s, l, domain);
	if (ferror(fp)) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		fclose(fp);
		free(line);
		free(l);
		return false;
	}
	fclose(fp);
	free(line);
	free(l);
	return true;
}
