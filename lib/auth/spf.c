/*
 * spf.c - SPF (RFC 7208) on the envelope, with libspf2 over our resolver.
 *
 * Owns: the checker (a libspf2 "template" server), libspf2's error
 * handlers (through am_log), our driver of a check (which, unlike
 * SPF_request_query_mailfrom(), gives loopback clients no free pass), and
 * the mapping of libspf2 results, and of the limits and record guards
 * the rest of the family enforces, into struct am_spf_verdict.  The
 * family and what each file owns: spf-int.h.  Known differences from
 * RFC 7208: tests/spf/DEVIATIONS.md.
 *
 * Errors: am_spf_new() returns NULL with err filled; am_spf_check()
 * always fills its verdict (temperror or permerror with a reason when
 * something fails).  libspf2's internal errors are logged (LOG_ERR) and
 * make the running check a temperror, or abort() outside any check; its
 * warnings are logged at LOG_DEBUG.  Our own allocations abort on out of
 * memory.
 *
 * Threads: one libspf2 "template" server is built at start-up and only
 * read afterwards.  Each check copies that struct onto its own stack with
 * its own DNS layer whose hook points at the check's state (counters,
 * deadline), so the state is reachable from the request
 * (request->spf_server->resolver->hook) and nothing is shared between
 * concurrent checks.  The copy is never passed to SPF_server_free().
 * (struct SPF_server_struct is public in <spf2/spf_server.h>.)
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/spf-int.h"

struct am_spf {
	am_resolver *res;
	SPF_server_t *tmpl;		/* limits, explanation, rec_dom; no DNS */
};

/* ---- libspf2 error handlers ------------------------------------------- */

/*
 * libspf2 reports internal errors (NULL-argument assertions, allocation
 * failures inside its DNS helpers) through SPF_error_handler, declared
 * noreturn; the default one abort()s.  Ours logs (am_log), then unwinds
 * to the running check (which reports temperror and leaks that check's
 * libspf2 objects: their state is unknown) and aborts only outside any
 * check.
 */
static __thread jmp_buf *spf_unwind;
static pthread_once_t spf_once = PTHREAD_ONCE_INIT;

static void spf_error_handler(const char *, int, const char *) __attribute__((noreturn));

static void
spf_error_handler(const char *file, int line, const char *msg)
{
	am_log(LOG_ERR, "libspf2 internal error at %s:%d: %s",
	    file != NULL ? file : "?", line, msg != NULL ? msg : "?");
	if (spf_unwind != NULL)
		longjmp(*spf_unwind, 1);
	abort();
}

static void
spf_warning_handler(const char *file, int line, const char *msg)
{
	am_log(LOG_DEBUG, "libspf2 warning at %s:%d: %s",
	    file != NULL ? file : "?", line, msg != NULL ? msg : "?");
}

/* Info and debug output would go to stdout: drop it. */
static void
spf_quiet_handler(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static void
spf_install_handlers(void)
{
	SPF_error_handler = spf_error_handler;
	SPF_warning_handler = spf_warning_handler;
	SPF_info_handler = spf_quiet_handler;
	SPF_debug_handler = spf_quiet_handler;
}

/* ---- checker lifetime ----------------------------------------------------- */

static void
spf_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		am_strlcpy(err, msg, errlen);
}

/*
 * SPF_server_new_dns() leaves the layer to its creator (destroy_resolver
 * is 0): free it ourselves unless libspf2 did.
 */
static void
spf_template_free(SPF_server_t *srv)
{
	SPF_dns_server_t *layer = srv->resolver;
	bool owned = srv->destroy_resolver != 0;

	SPF_server_free(srv);
	if (!owned)
		free(layer);
}

/* Build the template server; separate so that setjmp() covers only it. */
static SPF_server_t *
spf_template_new(void)
{
	SPF_dns_server_t *layer;
	SPF_server_t *srv;
	SPF_response_t *resp = NULL;
	SPF_errcode_t e;

	layer = am_xcalloc(1, sizeof(*layer));
	spf_dns_layer_init(layer, NULL);
	if ((srv = SPF_server_new_dns(layer, 0)) == NULL) {
		free(layer);
		return NULL;
	}
	SPF_server_set_max_dns_mech(srv, SPF_RFC_DNS_TERMS);
	SPF_server_set_max_dns_ptr(srv, SPF_RFC_PTR_NAMES);
	SPF_server_set_max_dns_mx(srv, 10);
	/* No default explanation: only a record's exp= text is reported. */
	e = SPF_server_set_explanation(srv, "", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	if (e != SPF_E_SUCCESS) {
		spf_template_free(srv);
		return NULL;
	}
	return srv;
}

am_spf *
am_spf_new(am_resolver *res, char *err, size_t errlen)
{
	jmp_buf jb;
	am_spf *spf;
	SPF_server_t *volatile srv = NULL;

	if (res == NULL) {
		spf_err(err, errlen, "spf: no resolver");
		return NULL;
	}
	pthread_once(&spf_once, spf_install_handlers);
	if (setjmp(jb) != 0) {
		spf_unwind = NULL;
		spf_err(err, errlen, "spf: libspf2 failed to initialise");
		return NULL;
	}
	spf_unwind = &jb;
	srv = spf_template_new();
	spf_unwind = NULL;
	if (srv == NULL) {
		spf_err(err, errlen, "spf: cannot create the libspf2 server");
		return NULL;
	}
	spf = am_xcalloc(1, sizeof(*spf));
	spf->res = res;
	spf->tmpl = srv;
	return spf;
}

void
am_spf_free(am_spf *spf)
{
	if (spf == NULL)
		return;
	if (spf->tmpl != NULL)
		spf_template_free(spf->tmpl);
	free(spf);
}

/* ---- one check -------------------------------------------------------------- */

static void
spf_reason(struct am_spf_verdict *out, const char *text)
{
	am_strlcpy(out->reason, text != NULL ? text : "", sizeof(out->reason));
}

static void
spf_reason2(struct am_spf_verdict *out, const char *prefix, const char *text)
{
	snprintf(out->reason, sizeof(out->reason), "%s%s", prefix, text != NULL ? text : "");
}

/* Printable ASCII only: the explanation is attacker-chosen text. */
static void
spf_copy_explanation(struct am_spf_verdict *out, const char *exp)
{
	size_t i;

	if (exp == NULL)
		return;
	am_strlcpy(out->explanation, exp, sizeof(out->explanation));
	for (i = 0; out->explanation[i] != '\0'; i++)
		if ((unsigned char)out->explanation[i] < 0x20 ||
		    (unsigned char)out->explanation[i] > 0x7e)
			out->explanation[i] = '?';
}

/*
 * Like SPF_request_query_mailfrom() minus its "localhost is always
 * allowed" shortcut (RFC 7208 has no such exemption): fetch the record of
 * the request's domain and interpret it.
 */
static SPF_errcode_t
spf_query(SPF_request_t *req, SPF_response_t *resp, bool *interpreted)
{
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	*interpreted = false;
	req->use_helo = 0;
	req->cur_dom = req->env_from_dp;
	if (req->cur_dom == NULL)
		return SPF_E_NOT_CONFIG;
	err = SPF_server_get_record(req->spf_server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec != NULL)
			SPF_record_free(rec);
		return err;
	}
	resp->spf_record_exp = rec;
	err = SPF_record_interpret(rec, req, resp, 0);
	*interpreted = true;
	SPF_record_free(rec);
	resp->spf_record_exp = NULL;	/* may point at a freed redirect target */
	return err;
}

/* A compile error other than "not an SPF record" among the messages. */
static SPF_errcode_t
spf_compile_error(SPF_response_t *resp)
{
	SPF_error_t *e;
	int i, n = SPF_response_messages(resp);

	for (i = 0; i < n; i++) {
		e = SPF_response_message(resp, i);
		if (e != NULL && SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF)
			return SPF_error_code(e);
	}
	return SPF_E_SUCCESS;
}

/* The record could not be fetched or compiled. */
static void
spf_map_record_error(SPF_response_t *resp, SPF_errcode_t err, struct am_spf_verdict *out)
{
	SPF_errcode_t ce;

	if (err == SPF_E_DNS_ERROR) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "DNS error fetching the SPF record");
	} else if (err == SPF_E_MULTIPLE_RECORDS || resp->result == SPF_RESULT_PERMERROR) {
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, "multiple SPF records");
	} else if (err == SPF_E_NOT_SPF && (ce = spf_compile_error(resp)) != SPF_E_SUCCESS) {
		out->result = AM_SPF_PERMERROR;
		spf_reason2(out, "invalid SPF record: ", SPF_strerror(ce));
	} else if (err == SPF_E_NOT_SPF) {
		out->result = AM_SPF_NONE;
		spf_reason(out, "no SPF record");
	} else if (err == SPF_E_NO_MEMORY) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
	} else {
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, SPF_strerror(err));
	}
}

static void
spf_map_result(SPF_response_t *resp, SPF_errcode_t err, struct am_spf_verdict *out)
{
	const char *how = resp->reason == SPF_REASON_DEFAULT ?
	    "no mechanism matched, default result" : "mechanism matched";

	switch (resp->result) {
	case SPF_RESULT_PASS:
		out->result = AM_SPF_PASS;
		spf_reason(out, how);
		break;
	case SPF_RESULT_FAIL:
		out->result = AM_SPF_FAIL;
		spf_reason(out, how);
		if (resp->explanation != NULL && resp->explanation[0] != '\0')
			spf_copy_explanation(out, resp->explanation);
		break;
	case SPF_RESULT_SOFTFAIL:
		out->result = AM_SPF_SOFTFAIL;
		spf_reason(out, how);
		break;
	case SPF_RESULT_NEUTRAL:
		out->result = AM_SPF_NEUTRAL;
		spf_reason(out, how);
		break;
	case SPF_RESULT_NONE:
		out->result = AM_SPF_NONE;
		spf_reason(out, "no SPF record");
		break;
	case SPF_RESULT_TEMPERROR:
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, SPF_strerror(resp->err != SPF_E_SUCCESS ? resp->err : err));
		break;
	default:		/* PERMERROR, INVALID */
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, SPF_strerror(resp->err != SPF_E_SUCCESS ? resp->err : err));
		break;
	}
}

/* Our limits override what libspf2 concluded after them. */
static void
spf_apply_limits(const struct spf_call *call, struct am_spf_verdict *out)
{
	if (call->guard_unsafe && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record refused: macro too long for libspf2 (CVE-2023-42118)");
	} else if (call->guard_growth && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record refused: include/redirect target repeats %{d} (unbounded in libspf2)");
	} else if (call->guard_syntax && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record syntax error (RFC 7208)");
	}
	if (call->terms_exceeded) {
		out->result = AM_SPF_PERMERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "more than 10 DNS-querying terms (RFC 7208 4.6.4)");
	} else if (call->void_exceeded) {
		out->result = AM_SPF_PERMERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "more than 2 void DNS lookups (RFC 7208 4.6.4)");
	} else if (call->budget_exceeded && out->result == AM_SPF_TEMPERROR) {
		spf_reason(out, "SPF check ran out of time");
	}
}

/* Fill the request; false (reason set) when libspf2 refused an input. */
static bool
spf_request_fill(SPF_request_t *req, int af, const char *ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	SPF_errcode_t e;

	e = af == AF_INET ? SPF_request_set_ipv4_str(req, ip) : SPF_request_set_ipv6_str(req, ip);
	if (e != SPF_E_SUCCESS) {
		spf_reason(out, "invalid client address");
		return false;
	}
	/* env-from first: set_helo_dom() fills an unset env-from itself. */
	if (!out->helo_identity && SPF_request_set_env_from(req, mail_from) != 0) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return false;
	}
	/* %{h} must expand to something: never leave helo_dom NULL. */
	if (SPF_request_set_helo_dom(req, helo != NULL && *helo != '\0' ? helo : "unknown") != SPF_E_SUCCESS ||
	    (out->helo_identity && SPF_request_set_env_from(req, "") != 0)) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return false;
	}
	return true;
}

/*
 * The libspf2 part of a check.  Everything it allocates is reachable
 * from call->req / call->resp, which the caller frees unless libspf2
 * unwound.
 */
static void
spf_run(am_spf *spf, struct spf_call *call, int af, const char *ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	SPF_request_t **reqp = &call->req;
	SPF_response_t **respp = &call->resp;
	SPF_dns_server_t layer;
	SPF_server_t srv;
	SPF_errcode_t err;
	bool interpreted;

	spf_dns_layer_init(&layer, call);
	srv = *spf->tmpl;		/* shares read-only parts of the template */
	srv.resolver = &layer;
	srv.destroy_resolver = 0;
	if ((*reqp = SPF_request_new(&srv)) == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return;
	}
	if (!spf_request_fill(*reqp, af, ip, helo, mail_from, out))
		return;
	if ((*respp = SPF_response_new(*reqp)) == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return;
	}
	err = spf_query(*reqp, *respp, &interpreted);
	if (interpreted)
		spf_map_result(*respp, err, out);
	else
		spf_map_record_error(*respp, err, out);
	spf_apply_limits(call, out);
}

static int
spf_parse_ip(const char *ip, char *buf, size_t buflen)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (ip == NULL || *ip == '\0')
		return AF_UNSPEC;
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		ip += 5;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		am_strlcpy(buf, ip, buflen);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return AF_UNSPEC;
	/* An IPv4-mapped IPv6 client is checked as the IPv4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		if (inet_ntop(AF_INET, &a4, buf, (socklen_t)buflen) == NULL)
			return AF_UNSPEC;
		return AF_INET;
	}
	am_strlcpy(buf, ip, buflen);
	return AF_INET6;
}

void
am_spf_check(am_spf *spf, const char *client_ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	struct spf_call call;
	jmp_buf jb;
	char ip[AM_IP_MAX];
	const char *at, *domain;
	bool too_long;
	int af;

	memset(out, 0, sizeof(*out));
	out->result = AM_SPF_NONE;
	out->helo_identity = mail_from == NULL || *mail_from == '\0';
	if (out->helo_identity)
		domain = helo != NULL ? helo : "";
	else {
		at = strrchr(mail_from, '@');
		domain = at != NULL ? at + 1 : mail_from;
	}
	/* Never a cut name: it would be reported as the domain checked. */
	too_long = strlen(domain) >= sizeof(out->domain);
	if (!too_long)
		am_strlcpy(out->domain, domain, sizeof(out->domain));
	am_domain_normalize(out->domain);
	if (spf == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "SPF checker not initialised");
		return;
	}
	if ((af = spf_parse_ip(client_ip, ip, sizeof(ip))) == AF_UNSPEC) {
		spf_reason(out, "invalid client address");
		return;
	}
	/* RFC 7208 4.3: a malformed or single-label domain is "none". */
	if (too_long || !spf_dns_domain_ok(out->domain, true)) {
		spf_reason(out, too_long ? "domain longer than 253 octets" :
		    out->domain[0] == '\0' ? "no domain to check" : "malformed domain");
		return;
	}

	spf_dns_call_init(&call, spf->res, af);

	if (setjmp(jb) != 0) {
		/* libspf2 called its error handler: its objects are in an
		 * unknown state, leak them rather than touch them. */
		spf_unwind = NULL;
		out->result = AM_SPF_TEMPERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "libspf2 internal error");
		return;
	}
	spf_unwind = &jb;
	spf_run(spf, &call, af, ip, helo, mail_from, out);
	spf_unwind = NULL;
	if (call.resp != NULL)
		SPF_response_free(call.resp);
	if (call.req != NULL)
		SPF_request_free(call.req);
}
