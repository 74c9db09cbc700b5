/*
 * report-xml9990.c - one aggregate report document in the format of RFC
 * 9990, DMARC Aggregate Reporting (alignmilter-report --dmarc-standard
 * rfc9989, the default), and what its rows say beyond RFC 7489's.
 *
 * The final RFC text was not at hand: this follows its last draft,
 * draft-ietf-dmarc-aggregate-reporting-32, and that draft's schema
 * dmarc-xml-0.2.xsd (tests/report/, where MANIFEST says where they came
 * from).  Section numbers below are the draft's; the RFC's may differ.
 *
 *   3.1.1.1   root "feedback" in the namespace urn:ietf:params:xml:ns:dmarc-2.0 (6.1)
 *   3.1.1.2   version (1.0), report_metadata, policy_published, record+, in that order
 *   3.1.1.3   org_name, email, report_id, date_range, generator
 *   3.1.1.5   policy_published: domain, discovery_method, p, sp, np, adkim, aspf,
 *             testing; "unspecified tags have their default values"; no pct
 *             (RFC 9989 removed it); fo is left out, the log does not keep it
 *   3.1.1.7-9 record: row (source_ip, count, policy_evaluated: disposition,
 *             dkim, spf, reason*), identifiers, auth_results
 *   3.1.1.10  identifiers: header_from, envelope_from ("" for a null reverse-path)
 *   3.1.1.12  dkim: domain, selector (required now), result
 *   3.1.1.13  spf: domain, scope ("mfrom" only), result
 *   3.1.3     signatures ordered: pass and strictly aligned, pass and relaxed,
 *             other passes, failures; at most 100
 *   3.1.6     reason types: policy_test_mode (t=y), other
 *   3.5.1     report_id = dot-atom-text "@" dot-atom-text
 *
 * Errors: none; rendering cannot fail.  Out of memory aborts.
 * Threads: any.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/dmarc.h"

/* Application-specific. */
#include "report-xml-int.h"

#define elem am_dmarcxml_elem

/* A verdict keeps at most AM_DKIM_REPORT_MAX signatures: within 3.1.3's bound. */
_Static_assert(AM_DKIM_REPORT_MAX <= 100, "RFC 9990 3.1.3: at most 100 signatures a row");

/* ---- what a row says ----------------------------------------------- */

static enum am_dmarc_policy
known(enum am_dmarc_policy p)
{
	return p == AM_POLICY_UNSPEC ? AM_POLICY_NONE : p;
}

/*
 * disposition: for a failing message what the policy asked (the log's
 * disposition, after t=y); for a passing one "pass" under an enforcing
 * policy and "none" under p=none (the schema's ActionDispositionType,
 * and the draft's sample report).  A reason (3.1.1.9: MUST when
 * alignment failed and the policy applied is not the one configured):
 * policy_test_mode for t=y (3.1.6); other for RFC 7489's pct sampling
 * and for a temperror or permerror, where no policy was applied.
 */
void
am_dmarcxml_eval9990(const struct am_verdict *v, struct am_xeval *out)
{
	const struct am_dmarc_verdict *d = &v->dmarc;
	enum am_dmarc_policy policy = known(d->policy), disp = known(d->disposition);

	memset(out, 0, sizeof(*out));
	if (d->result == AM_DMARC_PASS) {
		policy = d->testing ? am_dmarc_policy_lower(policy) : policy;
		out->disposition = policy > AM_POLICY_NONE ? "pass" : "none";
		return;
	}
	out->disposition = am_dmarc_policy_name(disp);
	if (disp == policy)
		return;
	if (d->result == AM_DMARC_FAIL && d->testing) {
		out->reason_type = "policy_test_mode";
		return;
	}
	out->reason_type = "other";
	if (d->result == AM_DMARC_FAIL && d->pct < 100)
		snprintf(out->reason_comment, sizeof(out->reason_comment),
		    "sampled out by pct=%d (RFC 7489)", d->pct);
	else if (d->result != AM_DMARC_FAIL)
		snprintf(out->reason_comment, sizeof(out->reason_comment),
		    "DMARC %s: no policy applied", am_dmarc_result_name(d->result));
}

/*
 * 3.1.3's preference.  Strict alignment is the same domain as From; the
 * log's aligned (under the record's adkim) stands for relaxed.
 */
static int
sig_rank(const struct am_verdict *v, const struct am_dkim_sig *s)
{
	if (s->result != AM_DKIM_PASS)
		return 3;
	if (strcmp(s->domain, v->from_domain) == 0)
		return 0;
	return s->aligned ? 1 : 2;
}

void
am_dmarcxml_sig_order(const struct am_verdict *v, size_t order[AM_DKIM_REPORT_MAX])
{
	size_t i, n = 0;
	int rank;

	/* Stable: the log's order within a rank. */
	for (rank = 0; rank <= 3; rank++)
		for (i = 0; i < v->dkim.count && i < AM_DKIM_REPORT_MAX; i++)
			if (sig_rank(v, &v->dkim.sig[i]) == rank)
				order[n++] = i;
}

const char *
am_dmarcxml_envelope9990(const struct am_verdict *v)
{
	const char *at = strrchr(v->mail_from, '@');

	/* 3.1.1.10: "MAY be existing but empty if the message had a null reverse-path". */
	if (v->mail_from[0] == '\0')
		return "";
	return at != NULL ? at + 1 : v->spf.domain;
}

/* ---- the document -------------------------------------------------- */

static const char *
policy_word(enum am_dmarc_policy p)
{
	return am_dmarc_policy_name(known(p));
}

static void
record(struct am_buf *b, const struct am_xrow *r)
{
	size_t i;

	am_buf_adds(b, "  <record>\n    <row>\n");
	elem(b, "      ", "source_ip", r->source_ip);
	am_buf_printf(b, "      <count>%lu</count>\n      <policy_evaluated>\n", r->count);
	elem(b, "        ", "disposition", r->eval.disposition);
	elem(b, "        ", "dkim", r->dkim_aligned ? "pass" : "fail");
	elem(b, "        ", "spf", r->spf_aligned ? "pass" : "fail");
	if (r->eval.reason_type != NULL) {
		am_buf_adds(b, "        <reason>\n");
		elem(b, "          ", "type", r->eval.reason_type);
		if (r->eval.reason_comment[0])
			elem(b, "          ", "comment", r->eval.reason_comment);
		am_buf_adds(b, "        </reason>\n");
	}
	am_buf_adds(b, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	elem(b, "      ", "header_from", r->domain);
	elem(b, "      ", "envelope_from", r->envelope_from);
	am_buf_adds(b, "    </identifiers>\n    <auth_results>\n");
	for (i = 0; i < r->nsigs; i++) {
		am_buf_adds(b, "      <dkim>\n");
		elem(b, "        ", "domain", r->sigs[i].domain);
		elem(b, "        ", "selector", r->sigs[i].selector);
		elem(b, "        ", "result", am_dkim_result_name(r->sigs[i].result));
		am_buf_adds(b, "      </dkim>\n");
	}
	/* Only the MAIL FROM identity (postmaster@HELO for <>, RFC 7208 2.4) is DMARC's. */
	if (r->spf_domain[0]) {
		am_buf_adds(b, "      <spf>\n");
		elem(b, "        ", "domain", r->spf_domain);
		elem(b, "        ", "scope", "mfrom");
		elem(b, "        ", "result", am_spf_result_name(r->spf));
		am_buf_adds(b, "      </spf>\n");
	}
	am_buf_adds(b, "    </auth_results>\n  </record>\n");
}

/* s as dot-atom-text (RFC 5322 3.2.3): other bytes, and dots out of place, become '_'. */
static void
dot_atom(const char *s, struct am_buf *b)
{
	bool dot_ok = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.' && dot_ok && s[1] != '\0' && s[1] != '.') {
			am_buf_addc(b, '.');
			dot_ok = false;
			continue;
		}
		am_buf_addc(b, (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' ? (char)c : '_');
		dot_ok = true;
	}
}

static void
metadata(struct am_buf *b, const struct am_xdoc *d)
{
	struct am_buf id;
	long long day = (long long)d->first->day;

	/* 3.5.1: unique among reports to the same domain: day, Policy Domain, receiver. */
	am_buf_init(&id);
	am_buf_printf(&id, "%lld.", day);
	dot_atom(d->first->group, &id);
	am_buf_addc(&id, '@');
	dot_atom(d->receiver, &id);
	am_buf_adds(b, "  <report_metadata>\n");
	elem(b, "    ", "org_name", d->org);
	elem(b, "    ", "email", d->email);
	elem(b, "    ", "report_id", id.data);
	am_buf_printf(b, "    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
	    "    </date_range>\n", day, day + AM_DMARCXML_DAY - 1);
	elem(b, "    ", "generator", PACKAGE_NAME "-report " PACKAGE_VERSION);
	am_buf_adds(b, "  </report_metadata>\n");
	am_buf_free(&id);
}

/* 3.1.1.5; absent sp= is p=, absent np= is sp= (RFC 9989 4.7). */
static void
policy_published(struct am_buf *b, const struct am_xpolicy *p)
{
	enum am_dmarc_policy sp = p->pub_sp != AM_POLICY_UNSPEC ? p->pub_sp : p->pub_p;
	enum am_dmarc_policy np = p->pub_np != AM_POLICY_UNSPEC ? p->pub_np : sp;

	am_buf_adds(b, "  <policy_published>\n");
	elem(b, "    ", "domain", p->domain);
	elem(b, "    ", "discovery_method", p->discovery == AM_DISCOVERY_TREEWALK ? "treewalk" : "psl");
	elem(b, "    ", "p", policy_word(p->pub_p));
	elem(b, "    ", "sp", policy_word(sp));
	elem(b, "    ", "np", policy_word(np));
	am_buf_printf(b, "    <adkim>%c</adkim>\n    <aspf>%c</aspf>\n", p->adkim, p->aspf);
	elem(b, "    ", "testing", p->testing ? "y" : "n");
	am_buf_adds(b, "  </policy_published>\n");
}

void
am_dmarcxml_render9990(const struct am_xdoc *d, struct am_buf *b)
{
	size_t i;

	am_buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n  <version>1.0</version>\n");
	metadata(b, d);
	policy_published(b, d->policy);
	for (i = 0; i < d->nrows; i++)
		record(b, d->rows[i]);
	am_buf_adds(b, "</feedback>\n");
}
