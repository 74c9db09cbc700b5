/*
 * offline.c - the -t mode (see offline.h): read a saved message, split it
 * into header fields and body, and feed the same am_pipeline_msg sequence
 * the milter session feeds.  Errors and threads: see offline.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/message.h"

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/authres.h"
#include "policy/ses.h"

/* Application-specific. */
#include "offline.h"

#define BODY_CHUNK 65536		/* as libmilter hands bodies over */

static bool
read_all(FILE *fp, char **buf, size_t *len, char *err, size_t errlen)
{
	size_t cap = 65536, n;
	char *p = am_xmalloc(cap);

	*len = 0;
	while ((n = fread(p + *len, 1, cap - *len, fp)) > 0) {
		*len += n;
		if (*len == cap) {
			if (cap >= AM_OFFLINE_MAX_BYTES) {
				snprintf(err, errlen, "message larger than %u bytes", AM_OFFLINE_MAX_BYTES);
				free(p);
				return false;
			}
			cap *= 2;
			p = am_xreallocarray(p, cap, 1);
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		free(p);
		return false;
	}
	*buf = p;
	return true;
}

static bool
feed_header(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	am_pipeline_msg_header(arg, name, namelen, value, valuelen);
	return true;
}

/*
 * Control bytes of names from the message become '?': the words stay one
 * line, and no line of a hostile name can pass for a record below them.
 */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * The fixes go to err: "hint NAME: words", then each zone-file line of
 * the fix on a line of its own at the left margin, ready to paste.
 */
static void
print_fixes(const struct am_verdict *v, FILE *err)
{
	char fix[1024];
	unsigned h;

	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(v->hints & (1u << h)))
			continue;
		am_hint_fix(v, (enum am_hint)h, fix, sizeof(fix));
		one_line(fix);
		fprintf(err, "hint %s: %s\n", am_hint_name((enum am_hint)h), fix);
		am_hint_records(v, (enum am_hint)h, fix, sizeof(fix));
		if (fix[0] != '\0')
			fprintf(err, "%s\n", fix);
	}
}

static void
print_result(const am_pipeline *e, const struct am_verdict *v, FILE *out, FILE *err)
{
	struct am_buf b;

	am_buf_init(&b);
	am_authres_render(v, am_pipeline_conf(e)->authserv_id, &b);
	fprintf(out, "%s:%s\n", AM_AUTHRES_NAME, b.data);
	am_alignlog_render(v, &b);
	fputs(b.data, out);
	print_fixes(v, err);
	am_buf_free(&b);
}

int
am_offline_check(am_pipeline *e, const char *path, const char *client_ip, const char *helo,
    const char *mail_from, FILE *out, FILE *err)
{
	char msg[256];
	char *buf = NULL;
	size_t len = 0, body, off;
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	am_pipeline_msg *c;

	if (fp == NULL) {
		fprintf(err, "alignmilter: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!read_all(fp, &buf, &len, msg, sizeof(msg))) {
		fprintf(err, "alignmilter: %s: %s\n", path, msg);
		if (fp != stdin)
			fclose(fp);
		return 1;
	}
	if (fp != stdin)
		fclose(fp);
	c = am_pipeline_msg_new(e, client_ip, helo, mail_from);
	if (!am_message_split(buf, len, feed_header, c, &body, msg, sizeof(msg))) {
		fprintf(err, "alignmilter: %s: not an RFC 5322 message: %s\n", path, msg);
		am_pipeline_msg_free(c);
		free(buf);
		return 1;
	}
	am_pipeline_msg_eoh(c);
	for (off = body; off < len; off += BODY_CHUNK)
		am_pipeline_msg_body(c, (const unsigned char *)buf + off, len - off < BODY_CHUNK ? len - off : BODY_CHUNK);
	print_result(e, am_pipeline_msg_eom(c), out, err);
	am_pipeline_msg_free(c);
	free(buf);
	return 0;
}
