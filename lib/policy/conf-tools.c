/*
 * conf-tools.c - the configuration keys of the companion tools: those of
 * alignmilter-respond(8) (Respond*), those of alignmilter-report(1)
 * (ReportFrom, ReportOrg), and ReportingHost, the name the milter writes
 * into each alignment-log record so that the report tool can merge the
 * logs of several MX hosts (alignmilter.conf(5)).  The milter ignores the
 * tools' keys but validates them (-n), so a bad value shows up before a
 * tool runs.  conf.c reads the file and hands unknown keys here.
 *
 * Errors: a bad value returns 0 with err ("bad Key ..."); nothing is
 * logged.  Out of memory aborts.
 *
 * Threads: as conf.h (main thread at start-up).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* Policy and renderers. */
#include "policy/conf.h"
#include "policy/conf-int.h"

void
am_conf_tools_defaults(struct am_conf *c, const char *host)
{
	am_conf_set_string(&c->respond_delimiters, "+");
	am_conf_set_string(&c->respond_spool, AM_DEFAULT_RESPOND_SPOOL);
	am_conf_set_string(&c->respond_state, AM_DEFAULT_RESPOND_STATE);
	am_conf_set_string(&c->respond_sendmail, AM_DEFAULT_RESPOND_SENDMAIL);
	am_conf_set_string(&c->respond_check, AM_DEFAULT_RESPOND_CHECK);
	c->respond_rate_limit = 5;
	c->respond_domain_rate_limit = 20;
	c->respond_window = 3600;
	c->respond_max_size = 10u << 20;
	c->respond_retries = 3;
	am_conf_set_string(&c->reporting_host, host);
}

void
am_conf_tools_free(struct am_conf *c)
{
	free(c->respond_probe);
	free(c->respond_delimiters);
	free(c->respond_from);
	free(c->respond_spool);
	free(c->respond_state);
	free(c->respond_sendmail);
	free(c->respond_check);
	free(c->reporting_host);
	free(c->report_from);
	free(c->report_org);
}

/*
 * The alignmilter-respond keys (alignmilter-respond(8)).  An address is a
 * bare local@domain (am_mailbox_is_plain): it goes on a command line and
 * into header fields.
 */
static bool
set_mailbox(char **slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (!am_mailbox_is_plain(v)) {
		snprintf(err, errlen, "bad %s \"%s\" (expected local@domain)", key, v);
		return false;
	}
	am_conf_set_string(slot, v);
	return true;
}

static bool
set_respond_probe(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_mailbox(&c->respond_probe, "RespondProbe", v, err, errlen);
}

static bool
set_respond_from(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_mailbox(&c->respond_from, "RespondFrom", v, err, errlen);
}

/* Postfix's recipient_delimiter: punctuation only, never '@', '=' (the encoding) or '.'. */
static bool
set_respond_delimiters(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	const char *p;

	for (p = v; *p; p++)
		if (!ispunct((unsigned char)*p) || strchr("@=.\"\\", *p) != NULL)
			break;
	if (*p != '\0' || strlen(v) > 8) {
		snprintf(err, errlen, "bad RespondDelimiters \"%s\" (1-8 punctuation characters, not @ = . \" \\)", v);
		return false;
	}
	am_conf_set_string(&c->respond_delimiters, v);
	return true;
}

/* The setters that only name a field, a key and a range. */
#define RESPOND_PATH(fn, field, key) static bool \
fn(struct am_conf *c, const char *v, char *err, size_t errlen) \
{ return am_conf_set_path(&c->field, key, v, err, errlen); }
RESPOND_PATH(set_respond_spool, respond_spool, "RespondSpool")
RESPOND_PATH(set_respond_state, respond_state, "RespondState")
RESPOND_PATH(set_respond_sendmail, respond_sendmail, "RespondSendmail")

static bool
set_respond_check(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!strcasecmp(v, "no")) {
		free(c->respond_check);
		c->respond_check = NULL;
		return true;
	}
	return am_conf_set_path(&c->respond_check, "RespondCheck", v, err, errlen);
}

static bool
set_respond_uint(unsigned *slot, const char *key, const char *v, unsigned min, unsigned max,
    char *err, size_t errlen)
{
	if (!am_conf_parse_uint(v, min, max, slot)) {
		snprintf(err, errlen, "bad %s \"%s\" (%u-%u)", key, v, min, max);
		return false;
	}
	return true;
}

#define RESPOND_UINT(fn, field, key, min, max) static bool \
fn(struct am_conf *c, const char *v, char *err, size_t errlen) \
{ return set_respond_uint(&c->field, key, v, min, max, err, errlen); }
RESPOND_UINT(set_respond_rate_limit, respond_rate_limit, "RespondRateLimit", 1, 10000)
RESPOND_UINT(set_respond_domain_rate_limit, respond_domain_rate_limit, "RespondDomainRateLimit", 1, 100000)
RESPOND_UINT(set_respond_window, respond_window, "RespondWindow", 60, 604800)
RESPOND_UINT(set_respond_retries, respond_retries, "RespondRetries", 0, 100)

/* At least 1K (a header block), at most 1G. */
static bool
set_respond_max_size(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	size_t n;

	if (!am_conf_parse_size(v, 1ULL << 30, &n) || n < 1024) {
		snprintf(err, errlen, "bad RespondMaxSize \"%s\" (bytes, or with K or M; 1K to 1024M)", v);
		return false;
	}
	c->respond_max_size = n;
	return true;
}

/*
 * ReportingHost: this MX's name in the alignment log ("host"), a host
 * name: letters, digits, '-', '_', '.', at most 253 octets.  Each MX of
 * a group must have its own, or their logs cannot be told apart.
 */
static bool
set_reporting_host(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	const char *p;

	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			break;
	if (*p != '\0' || strlen(v) > 253) {
		snprintf(err, errlen, "bad ReportingHost \"%.64s\" (a host name)", v);
		return false;
	}
	am_conf_set_string(&c->reporting_host, v);
	am_domain_normalize(c->reporting_host);
	return true;
}

static bool
set_report_from(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_mailbox(&c->report_from, "ReportFrom", v, err, errlen);
}

/* ReportOrg: org_name of the reports; printable ASCII, it goes into a header field too. */
static bool
set_report_org(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	const char *p;

	for (p = v; *p; p++)
		if (*p < ' ' || *p >= 127)
			break;
	if (*p != '\0' || strlen(v) > 200) {
		snprintf(err, errlen, "bad ReportOrg \"%.64s\" (printable ASCII, at most 200 characters)", v);
		return false;
	}
	am_conf_set_string(&c->report_org, v);
	return true;
}

typedef bool (*tools_setter)(struct am_conf *, const char *, char *, size_t);

static const struct {
	const char *key;
	tools_setter set;
} tools_keys[] = {
	{ "RespondProbe", set_respond_probe },
	{ "RespondDelimiters", set_respond_delimiters },
	{ "RespondFrom", set_respond_from },
	{ "RespondSpool", set_respond_spool },
	{ "RespondState", set_respond_state },
	{ "RespondSendmail", set_respond_sendmail },
	{ "RespondCheck", set_respond_check },
	{ "RespondRateLimit", set_respond_rate_limit },
	{ "RespondDomainRateLimit", set_respond_domain_rate_limit },
	{ "RespondWindow", set_respond_window },
	{ "RespondMaxSize", set_respond_max_size },
	{ "RespondRetries", set_respond_retries },
	{ "ReportingHost", set_reporting_host },
	{ "ReportFrom", set_report_from },
	{ "ReportOrg", set_report_org },
};

int
am_conf_tools_set(struct am_conf *c, const char *key, const char *value, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(tools_keys) / sizeof(tools_keys[0]); i++) {
		if (strcasecmp(key, tools_keys[i].key) != 0)
			continue;
		if (*value == '\0') {
			snprintf(err, errlen, "%s needs a value", tools_keys[i].key);
			return 0;
		}
		return tools_keys[i].set(c, value, err, errlen) ? 1 : 0;
	}
	return -1;
}
