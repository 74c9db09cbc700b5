/*
 * verdict.c - names of verdict values as RFC 8601 writes them (see
 * verdict.h).
 *
 * Errors: none; a value outside its enum gets the name of the safe
 * fallback ("permerror", or "none" for a policy).  Threads: any; pure.
 */
#include "config.h"

#include <strings.h>

/* Verifiers. */
#include "auth/verdict.h"

const char *
am_spf_result_name(enum am_spf_result r)
{
	switch (r) {
	case AM_SPF_NONE:	return "none";
	case AM_SPF_NEUTRAL:	return "neutral";
	case AM_SPF_PASS:	return "pass";
	case AM_SPF_FAIL:	return "fail";
	case AM_SPF_SOFTFAIL:	return "softfail";
	case AM_SPF_TEMPERROR:	return "temperror";
	case AM_SPF_PERMERROR:	return "permerror";
	}
	return "permerror";
}

const char *
am_dkim_result_name(enum am_dkim_result r)
{
	switch (r) {
	case AM_DKIM_NONE:	return "none";
	case AM_DKIM_PASS:	return "pass";
	case AM_DKIM_FAIL:	return "fail";
	case AM_DKIM_NEUTRAL:	return "neutral";
	case AM_DKIM_POLICY:	return "policy";
	case AM_DKIM_TEMPERROR:	return "temperror";
	case AM_DKIM_PERMERROR:	return "permerror";
	}
	return "permerror";
}

const char *
am_dmarc_result_name(enum am_dmarc_result r)
{
	switch (r) {
	case AM_DMARC_NONE:	return "none";
	case AM_DMARC_PASS:	return "pass";
	case AM_DMARC_FAIL:	return "fail";
	case AM_DMARC_TEMPERROR: return "temperror";
	case AM_DMARC_PERMERROR: return "permerror";
	}
	return "permerror";
}

const char *
am_dmarc_policy_name(enum am_dmarc_policy p)
{
	switch (p) {
	case AM_POLICY_UNSPEC:	return "none";
	case AM_POLICY_NONE:	return "none";
	case AM_POLICY_QUARANTINE: return "quarantine";
	case AM_POLICY_REJECT:	return "reject";
	}
	return "none";
}

enum am_dmarc_policy
am_dmarc_policy_lower(enum am_dmarc_policy p)
{
	switch (p) {
	case AM_POLICY_REJECT:		return AM_POLICY_QUARANTINE;
	case AM_POLICY_QUARANTINE:	return AM_POLICY_NONE;
	default:			return p;
	}
}

enum am_dmarc_policy
am_dmarc_policy_parse(const char *word)
{
	if (strcasecmp(word, "none") == 0)
		return AM_POLICY_NONE;
	if (strcasecmp(word, "quarantine") == 0)
		return AM_POLICY_QUARANTINE;
	if (strcasecmp(word, "reject") == 0)
		return AM_POLICY_REJECT;
	return AM_POLICY_UNSPEC;
}

const char *
am_dmarc_policy_tag_name(enum am_dmarc_policy_tag t)
{
	switch (t) {
	case AM_PTAG_SP:	return "sp";
	case AM_PTAG_NP:	return "np";
	default:		return "p";
	}
}
