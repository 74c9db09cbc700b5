/*
 * fuzz_message.c - libFuzzer target: the message reader of -t
 * (am_message_split) and the per-field parsers the pipeline runs on what
 * it delivers (From domain, Authentication-Results authserv-id, SES
 * Feedback-ID region).
 *
 * The input is a saved message.  The callback reads every byte of every
 * name and value (ASan sees any pointer outside the input) and checks
 * that names are RFC 5322 ftext, that fields come in order without
 * overlap, and that the body offset is inside the input.  A field named
 * X-Fuzz-Stop makes the callback stop the split, which must then fail.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "auth/message.h"

struct walk {
	const char *buf;
	size_t	len;
	const char *last_end;	/* end of the previous value */
	size_t	fields;
	bool	stopped;
	unsigned sum;		/* of every byte read */
};

static bool
name_is(const char *name, size_t namelen, const char *want)
{
	return namelen == strlen(want) && strncasecmp(name, want, namelen) == 0;
}

static bool
on_field(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	struct walk *w = arg;
	char out[AM_DOMAIN_MAX];
	size_t i;

	FUZZ_ASSERT(!w->stopped);
	FUZZ_ASSERT(namelen > 0);
	FUZZ_ASSERT(name >= w->buf && name + namelen <= w->buf + w->len);
	FUZZ_ASSERT(value >= name + namelen && value + valuelen <= w->buf + w->len);
	FUZZ_ASSERT(name >= w->last_end);
	for (i = 0; i < namelen; i++) {
		unsigned char c = (unsigned char)name[i];

		FUZZ_ASSERT(c >= 33 && c <= 126 && c != ':');
		w->sum += c;
	}
	for (i = 0; i < valuelen; i++)
		w->sum += (unsigned char)value[i];
	/* A value never runs into the next line unless that line folds. */
	if (valuelen > 0 && value[valuelen - 1] == '\n')
		FUZZ_ASSERT(0);
	w->last_end = value + valuelen;
	w->fields++;
	/* What the pipeline does with the fields it reads. */
	if (name_is(name, namelen, "From"))
		(void)am_from_domain(value, valuelen, out, sizeof(out));
	else if (name_is(name, namelen, "Authentication-Results"))
		(void)am_authres_authserv_id(value, valuelen, out, sizeof(out));
	else if (name_is(name, namelen, "Feedback-ID"))
		(void)am_ses_feedback_region(value, valuelen, out, 32);
	else if (name_is(name, namelen, "X-Fuzz-Stop")) {
		w->stopped = true;
		return false;
	}
	return true;
}

static volatile unsigned sink;	/* keeps the byte reads from being optimised away */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w;
	char err[256];
	size_t body = (size_t)-1;
	bool ok;

	memset(&w, 0, sizeof(w));
	w.buf = (const char *)data;
	w.len = size;
	w.last_end = w.buf;
	memset(err, 'X', sizeof(err));
	ok = am_message_split(w.buf, size, on_field, &w, &body, err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	FUZZ_ASSERT(body <= size);
	if (ok) {
		FUZZ_ASSERT(err[0] == '\0' && !w.stopped && w.fields > 0);
		FUZZ_ASSERT(w.buf + body >= w.last_end);
	} else
		FUZZ_ASSERT(err[0] != '\0');
	if (w.stopped)
		FUZZ_ASSERT(!ok);
	/* Without a callback the split reaches the same verdict (unless stopped). */
	if (!w.stopped)
		FUZZ_ASSERT(am_message_split(w.buf, size, NULL, NULL, NULL, NULL, 0) == ok);
	sink = w.sum;
	return 0;
}
