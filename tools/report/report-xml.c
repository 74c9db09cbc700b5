/*
 * report-xml.c - DMARC aggregate reports from the alignment log (see
 * report-xml.h, which also says how it fails and who may call it).  Rows
 * are kept in a map keyed by everything that tells two rows apart;
 * writing sorts them by domain and day and emits one file per group.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Utility library. */
#include "util/util.h"

/* Application-specific. */
#include "report-xml.h"
#include "reportfile.h"
#include "reportmap.h"

#define DAY 86400

struct xsig {
	char	*domain, *selector;
	enum am_dkim_result result;
};

struct xrow {
	char	*domain;		/* From domain */
	time_t	day;			/* its UTC midnight */
	unsigned long count;
	char	*source_ip, *envelope_from, *spf_domain;
	enum am_dmarc_policy disposition;
	bool	dkim_aligned, spf_aligned, helo_scope;
	enum am_spf_result spf;
	struct xsig *sigs;
	size_t	nsigs;
	size_t	policy;			/* index into pols */
};

/* What policy_published says for one domain and day. */
struct xpolicy {
	bool	found;
	time_t	ts;
	char	*domain;
	char	adkim, aspf;
	enum am_dmarc_policy p;
	int	pct;
};

struct am_dmarcxml {
	struct am_rmap *rowmap, *polmap;
	struct xrow *rows;
	size_t	nrows, rowcap;
	struct xpolicy *pols;
	size_t	npols, polcap;
	unsigned long skipped;
};

struct am_dmarcxml *
am_dmarcxml_new(void)
{
	struct am_dmarcxml *x = am_xcalloc(1, sizeof(*x));

	x->rowmap = am_rmap_new();
	x->polmap = am_rmap_new();
	return x;
}

void
am_dmarcxml_free(struct am_dmarcxml *x)
{
	size_t i, j;

	if (x == NULL)
		return;
	for (i = 0; i < x->nrows; i++) {
		struct xrow *r = &x->rows[i];

		free(r->domain);
		free(r->source_ip);
		free(r->envelope_from);
		free(r->spf_domain);
		for (j = 0; j < r->nsigs; j++) {
			free(r->sigs[j].domain);
			free(r->sigs[j].selector);
		}
		free(r->sigs);
	}
	for (i = 0; i < x->npols; i++)
		free(x->pols[i].domain);
	free(x->rows);
	free(x->pols);
	am_rmap_free(x->rowmap);
	am_rmap_free(x->polmap);
	free(x);
}

unsigned long
am_dmarcxml_skipped(const struct am_dmarcxml *x)
{
	return x->skipped;
}

/* Length-prefixed fields make the key unambiguous whatever bytes they hold. */
static void
key_field(struct am_buf *k, const char *s)
{
	am_buf_printf(k, "%zu:%s", strlen(s), s);
}

static const char *
envelope_domain(const struct am_verdict *v)
{
	const char *at = strrchr(v->mail_from, '@');

	/* The null sender: SPF checked the HELO name, so report that. */
	return at != NULL ? at + 1 : v->helo;
}

static enum am_dmarc_policy
disposition(const struct am_verdict *v)
{
	return v->dmarc.record_found && v->dmarc.disposition != AM_POLICY_UNSPEC ?
	    v->dmarc.disposition : AM_POLICY_NONE;
}

static size_t
policy_slot(struct am_dmarcxml *x, const struct am_verdict *v, time_t day)
{
	struct am_buf k;
	struct xpolicy *p;
	bool created;
	size_t i;

	am_buf_init(&k);
	am_buf_printf(&k, "%lld:", (long long)day);
	key_field(&k, v->from_domain);
	i = am_rmap_index(x->polmap, k.data, &created);
	am_buf_free(&k);
	if (created) {
		if (x->npols == x->polcap) {
			x->polcap = x->polcap ? x->polcap * 2 : 16;
			x->pols = am_xreallocarray(x->pols, x->polcap, sizeof(*x->pols));
		}
		p = &x->pols[x->npols++];
		memset(p, 0, sizeof(*p));
		p->domain = am_xstrdup(v->from_domain);
		p->adkim = p->aspf = 'r';
		p->p = AM_POLICY_NONE;
		p->pct = 100;
	}
	p = &x->pols[i];
	/* The newest message that saw a record says what was published. */
	if (v->dmarc.record_found && (!p->found || v->ts >= p->ts)) {
		p->found = true;
		p->ts = v->ts;
		free(p->domain);
		p->domain = am_xstrdup(v->dmarc.record_domain[0] ? v->dmarc.record_domain : v->from_domain);
		p->adkim = v->dmarc.adkim ? v->dmarc.adkim : 'r';
		p->aspf = v->dmarc.aspf ? v->dmarc.aspf : 'r';
		p->p = v->dmarc.policy != AM_POLICY_UNSPEC ? v->dmarc.policy : AM_POLICY_NONE;
		p->pct = v->dmarc.pct;
	}
	return i;
}

static void
new_row(struct xrow *r, const struct am_verdict *v, time_t day)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->domain = am_xstrdup(v->from_domain);
	r->day = day;
	r->source_ip = am_xstrdup(v->client_ip);
	r->envelope_from = am_xstrdup(envelope_domain(v));
	r->spf_domain = am_xstrdup(v->spf.domain);
	r->disposition = disposition(v);
	/* RFC 7489's policy_evaluated: aligned AND passed, not the log's aligned. */
	r->dkim_aligned = v->dmarc.dkim_aligned;
	r->spf_aligned = v->dmarc.spf_aligned;
	r->helo_scope = v->spf.helo_identity;
	r->spf = v->spf.result;
	r->nsigs = v->dkim.count;
	r->sigs = am_xcalloc(r->nsigs + 1, sizeof(*r->sigs));
	for (i = 0; i < r->nsigs; i++) {
		r->sigs[i].domain = am_xstrdup(v->dkim.sig[i].domain);
		r->sigs[i].selector = am_xstrdup(v->dkim.sig[i].selector);
		r->sigs[i].result = v->dkim.sig[i].result;
	}
}

void
am_dmarcxml_add(struct am_dmarcxml *x, const struct am_verdict *v)
{
	time_t day = v->ts - v->ts % DAY;
	struct am_buf k;
	bool created;
	size_t i, j, pol;

	if (v->from_domain[0] == '\0') {
		x->skipped++;
		return;
	}
	pol = policy_slot(x, v, day);
	am_buf_init(&k);
	am_buf_printf(&k, "%lld:", (long long)day);
	key_field(&k, v->from_domain);
	key_field(&k, v->client_ip);
	am_buf_printf(&k, "%d%d%d%d%d", (int)disposition(v), v->dmarc.dkim_aligned, v->dmarc.spf_aligned,
	    v->spf.helo_identity, (int)v->spf.result);
	key_field(&k, envelope_domain(v));
	key_field(&k, v->spf.domain);
	for (j = 0; j < v->dkim.count; j++) {
		key_field(&k, v->dkim.sig[j].domain);
		key_field(&k, v->dkim.sig[j].selector);
		am_buf_printf(&k, "%d", (int)v->dkim.sig[j].result);
	}
	i = am_rmap_index(x->rowmap, k.data, &created);
	am_buf_free(&k);
	if (created) {
		if (x->nrows == x->rowcap) {
			x->rowcap = x->rowcap ? x->rowcap * 2 : 64;
			x->rows = am_xreallocarray(x->rows, x->rowcap, sizeof(*x->rows));
		}
		new_row(&x->rows[x->nrows++], v, day);
		x->rows[i].policy = pol;
	}
	x->rows[i].count++;
}

/* ---- writing ------------------------------------------------------- */

static void
elem(struct am_buf *b, const char *indent, const char *name, const char *value)
{
	am_buf_printf(b, "%s<%s>", indent, name);
	am_buf_add_markup(b, value);
	am_buf_printf(b, "</%s>\n", name);
}

static const char *
dmarc_word(bool aligned)
{
	return aligned ? "pass" : "fail";
}

static void
record(struct am_buf *b, const struct xrow *r)
{
	size_t i;

	am_buf_adds(b, "  <record>\n    <row>\n");
	elem(b, "      ", "source_ip", r->source_ip);
	am_buf_printf(b, "      <count>%lu</count>\n", r->count);
	am_buf_printf(b, "      <policy_evaluated>\n        <disposition>%s</disposition>\n"
	    "        <dkim>%s</dkim>\n        <spf>%s</spf>\n      </policy_evaluated>\n    </row>\n",
	    am_dmarc_policy_name(r->disposition), dmarc_word(r->dkim_aligned), dmarc_word(r->spf_aligned));
	am_buf_adds(b, "    <identifiers>\n");
	elem(b, "      ", "envelope_from", r->envelope_from);
	elem(b, "      ", "header_from", r->domain);
	am_buf_adds(b, "    </identifiers>\n    <auth_results>\n");
	for (i = 0; i < r->nsigs; i++) {
		am_buf_adds(b, "      <dkim>\n");
		elem(b, "        ", "domain", r->sigs[i].domain);
		if (r->sigs[i].selector[0])
			elem(b, "        ", "selector", r->sigs[i].selector);
		elem(b, "        ", "result", am_dkim_result_name(r->sigs[i].result));
		am_buf_adds(b, "      </dkim>\n");
	}
	am_buf_adds(b, "      <spf>\n");
	elem(b, "        ", "domain", r->spf_domain);
	elem(b, "        ", "scope", r->helo_scope ? "helo" : "mfrom");
	elem(b, "        ", "result", am_spf_result_name(r->spf));
	am_buf_adds(b, "      </spf>\n    </auth_results>\n  </record>\n");
}

static void
header(struct am_buf *b, const struct xrow *first, const struct xpolicy *p, const char *org,
    const char *email, const char *receiver)
{
	char id[AM_DOMAIN_MAX * 2 + 64];

	snprintf(id, sizeof(id), "%lld.%s@%s", (long long)first->day, first->domain, receiver);
	am_buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <version>1.0</version>\n"
	    "  <report_metadata>\n");
	elem(b, "    ", "org_name", org);
	elem(b, "    ", "email", email);
	elem(b, "    ", "extra_contact_info", "generated by " PACKAGE_NAME "-report " PACKAGE_VERSION
	    " from its alignment log");
	elem(b, "    ", "report_id", id);
	am_buf_printf(b, "    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
	    "    </date_range>\n  </report_metadata>\n  <policy_published>\n",
	    (long long)first->day, (long long)first->day + DAY - 1);
	elem(b, "    ", "domain", p->domain);
	/* The log keeps the policy that applied (p= or sp=): report it as both. */
	am_buf_printf(b, "    <adkim>%c</adkim>\n    <aspf>%c</aspf>\n    <p>%s</p>\n    <sp>%s</sp>\n"
	    "    <pct>%d</pct>\n    <fo>0</fo>\n  </policy_published>\n", p->adkim, p->aspf,
	    am_dmarc_policy_name(p->p), am_dmarc_policy_name(p->p), p->pct);
}

/* A file-name component: only [A-Za-z0-9.-_], never "." or "..". */
static void
safe_name(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		out[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_' ? (char)c : '_';
	}
	out[o] = '\0';
	if (o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		am_strlcpy(out, "_", outlen);
}

static const struct am_dmarcxml *sort_ctx;

static int
cmp_row(const void *a, const void *b)
{
	const struct xrow *x = &sort_ctx->rows[*(const size_t *)a];
	const struct xrow *y = &sort_ctx->rows[*(const size_t *)b];
	int c = strcmp(x->domain, y->domain);

	if (c != 0)
		return c;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

int
am_dmarcxml_write(const struct am_dmarcxml *x, const char *dir, const char *org, const char *email,
    char *err, size_t errlen)
{
	char receiver[AM_DOMAIN_MAX], dom[AM_DOMAIN_MAX], path[4096], uniq[32];
	const char *at = strrchr(email, '@');
	size_t *order, i, j;
	struct am_buf b;
	int files = 0;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	safe_name(at != NULL ? at + 1 : email, receiver, sizeof(receiver));
	order = am_xcalloc(x->nrows + 1, sizeof(*order));
	for (i = 0; i < x->nrows; i++)
		order[i] = i;
	sort_ctx = x;
	qsort(order, x->nrows, sizeof(*order), cmp_row);
	am_buf_init(&b);
	for (i = 0; i < x->nrows; i = j) {
		const struct xrow *first = &x->rows[order[i]];
		const struct xpolicy *p = &x->pols[first->policy];

		am_buf_reset(&b);
		header(&b, first, p, org, email, receiver);
		for (j = i; j < x->nrows && x->rows[order[j]].day == first->day &&
		    strcmp(x->rows[order[j]].domain, first->domain) == 0; j++)
			record(&b, &x->rows[order[j]]);
		am_buf_adds(&b, "</feedback>\n");
		/*
		 * Named by From domain, not policy domain: two subdomains under one
		 * organizational record must not overwrite each other.  A name that
		 * had to be altered gets RFC 7489's optional unique-id.
		 */
		safe_name(first->domain, dom, sizeof(dom));
		if (strcmp(dom, first->domain) != 0)
			snprintf(uniq, sizeof(uniq), "!%zu", i);
		else
			uniq[0] = '\0';
		if ((size_t)snprintf(path, sizeof(path), "%s/%s!%s!%lld!%lld%s.xml", dir, receiver, dom,
		    (long long)first->day, (long long)first->day + DAY - 1, uniq) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", dir);
			files = -1;
			break;
		}
		if (!am_reportfile_write(path, b.data, b.len, err, errlen)) {
			files = -1;
			break;
		}
		files++;
	}
	am_buf_free(&b);
	free(order);
	return files;
}
