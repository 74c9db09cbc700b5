/*
 * dmarc-policy.c - libopendmarc, for what it does well: parsing a clean
 * record and picking the policy that applies.
 *
 * Owns: libopendmarc's process-global set-up (its OPENDMARC_LIB_T and its
 * own PSL table, which we never use: the organizational domain is
 * dmarc-names.c's), and handing it the From domain, the identifiers and a
 * record vetted by dmarc-record.c to read back p= or sp= (sp= for an
 * org-domain record), adkim, aspf and pct.  Its pass/fail is not used:
 * it rests on its broken alignment (see dmarc-names.c).  Nor its rua/ruf
 * fetchers, which do their own DNS.
 *
 * Errors: nothing is logged.  am_dmarc_policy_init() returns false with
 * err when libopendmarc would not initialise (the first outcome is kept
 * for the process); am_dmarc_policy_select() returns false with the
 * verdict's reason on a parse error, no memory, or no usable policy.
 *
 * Threads: any; the set-up is serialised by a mutex and each selection
 * has its own DMARC_POLICY_T.
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <opendmarc/dmarc.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/* libopendmarc's PSL table and its OPENDMARC_LIB_T are process-global. */
static pthread_mutex_t odm_lock = PTHREAD_MUTEX_INITIALIZER;
static bool odm_done;
static int odm_status;
static OPENDMARC_LIB_T odm_lib;		/* the library keeps a pointer to it */

/* ---- set-up ----------------------------------------------------------------- */

bool
am_dmarc_policy_init(const char *psl_path, char *err, size_t errlen)
{
	bool ok;

	pthread_mutex_lock(&odm_lock);
	if (!odm_done) {
		odm_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		am_strlcpy((char *)odm_lib.tld_source_file, psl_path,
		    sizeof(odm_lib.tld_source_file));
		odm_status = opendmarc_policy_library_init(&odm_lib);
		odm_done = true;
	}
	ok = odm_status == DMARC_PARSE_OKAY;
	pthread_mutex_unlock(&odm_lock);
	if (!ok)
		snprintf(err, errlen, "libopendmarc initialisation failed: %s",
		    opendmarc_policy_status_to_str(odm_status));
	return ok;
}

/* ---- the policy ------------------------------------------------------------- */

static enum am_dmarc_policy
policy_from_lib(int p)
{
	switch (p) {
	case DMARC_RECORD_P_NONE:	return AM_POLICY_NONE;
	case DMARC_RECORD_P_QUARANTINE:	return AM_POLICY_QUARANTINE;
	case DMARC_RECORD_P_REJECT:	return AM_POLICY_REJECT;
	default:			return AM_POLICY_UNSPEC;
	}
}

static int
spf_to_lib(enum am_spf_result r)
{
	switch (r) {
	case AM_SPF_PASS:	return DMARC_POLICY_SPF_OUTCOME_PASS;
	case AM_SPF_FAIL:
	case AM_SPF_SOFTFAIL:	return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case AM_SPF_TEMPERROR:	return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

static int
dkim_to_lib(enum am_dkim_result r)
{
	switch (r) {
	case AM_DKIM_PASS:	return DMARC_POLICY_DKIM_OUTCOME_PASS;
	case AM_DKIM_FAIL:	return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	case AM_DKIM_TEMPERROR:	return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_DKIM_OUTCOME_NONE;
	}
}

/*
 * Hand everything to libopendmarc and read back the parsed record and the
 * policy token it selects (p, or sp for an org-domain record with sp=).
 * Its own pass/fail (get_policy_to_enforce) rests on its broken alignment
 * and is not used.
 */
bool
am_dmarc_policy_select(const char *from, const char *record, const char *org,
    const struct am_spf_verdict *spf, const struct am_dkim_verdict *dkim,
    struct am_dmarc_verdict *out)
{
	DMARC_POLICY_T *pctx;
	int st, p = 0, sp = 0, adkim = 0, aspf = 0, pct = -1;
	size_t i;

	/* The client address is only stored by the library. */
	if ((pctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0)) == NULL) {
		am_strlcpy(out->reason, "libopendmarc: out of memory", sizeof(out->reason));
		return false;
	}
	(void)opendmarc_policy_store_from_domain(pctx, (u_char *)from);
	for (i = 0; dkim != NULL && i < dkim->count && i < AM_DKIM_REPORT_MAX; i++)
		if (dkim->sig[i].domain[0] != '\0')
			(void)opendmarc_policy_store_dkim(pctx, (u_char *)dkim->sig[i].domain,
			    (u_char *)dkim->sig[i].selector, dkim_to_lib(dkim->sig[i].result), NULL);
	if (spf != NULL && spf->domain[0] != '\0')	/* once: a second call leaks */
		(void)opendmarc_policy_store_spf(pctx, (u_char *)spf->domain,
		    spf_to_lib(spf->result), spf->helo_identity ?
		    DMARC_POLICY_SPF_ORIGIN_HELO : DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	/* Third argument: the From domain; a non-NULL fourth makes sp= apply. */
	st = opendmarc_policy_store_dmarc(pctx, (u_char *)record, (u_char *)from, (u_char *)org);
	if (st != DMARC_PARSE_OKAY) {
		snprintf(out->reason, sizeof(out->reason), "DMARC record rejected: %s",
		    opendmarc_policy_status_to_str(st));
		opendmarc_policy_connect_shutdown(pctx);
		return false;
	}
	(void)opendmarc_get_policy_to_enforce(pctx);
	(void)opendmarc_policy_fetch_p(pctx, &p);
	(void)opendmarc_policy_fetch_sp(pctx, &sp);
	(void)opendmarc_policy_fetch_adkim(pctx, &adkim);
	(void)opendmarc_policy_fetch_aspf(pctx, &aspf);
	(void)opendmarc_policy_fetch_pct(pctx, &pct);
	/*
	 * No opendmarc_policy_fetch_rua/ruf: with a buffer they query DNS
	 * themselves (cross-domain report authorisation); with a NULL buffer
	 * and a size they crash (CVE-2024-25768).  We vetted rua= ourselves.
	 */
	if (opendmarc_get_policy_token_used(pctx) == DMARC_USED_POLICY_IS_SP)
		out->policy = policy_from_lib(sp);
	else
		out->policy = policy_from_lib(p);
	opendmarc_policy_connect_shutdown(pctx);
	out->adkim = adkim == DMARC_RECORD_A_STRICT ? 's' : 'r';
	out->aspf = aspf == DMARC_RECORD_A_STRICT ? 's' : 'r';
	out->pct = pct >= 0 && pct <= 100 ? pct : 100;
	if (out->policy == AM_POLICY_UNSPEC) {
		am_strlcpy(out->reason, "DMARC record without a usable policy", sizeof(out->reason));
		return false;
	}
	return true;
}
