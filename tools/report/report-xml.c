/*
 * report-xml.c - DMARC aggregate reports from the alignment log: which
 * messages go into which document and row, and writing the files (see
 * report-xml.h, which also says how it fails and who may call it).  Rows
 * are kept in a map keyed by everything that tells two rows apart;
 * writing sorts them by group (domain and day) and hands each group to
 * the renderer of the chosen format.
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
#include "report-xml-int.h"
#include "reportfile.h"
#include "reportmap.h"

#define DAY AM_DMARCXML_DAY

struct am_dmarcxml *
am_dmarcxml_new(enum am_dmarc_standard std)
{
	struct am_dmarcxml *x = am_xcalloc(1, sizeof(*x));

	x->std = std;
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
		struct am_xrow *r = &x->rows[i];

		free(r->group);
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
	for (i = 0; i < x->npols; i++) {
		free(x->pols[i].domain);
		free(x->pols[i].org_domain);
	}
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

unsigned long
am_dmarcxml_no_policy(const struct am_dmarcxml *x)
{
	return x->no_policy;
}

/* Length-prefixed fields make the key unambiguous whatever bytes they hold. */
static void
key_field(struct am_buf *k, const char *s)
{
	am_buf_printf(k, "%zu:%s", strlen(s), s);
}

/* RFC 7489's envelope_from. */
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

/* The domain whose report v goes into. */
static const char *
group_of(const struct am_dmarcxml *x, const struct am_verdict *v)
{
	return x->std == AM_DMARC_RFC7489 ? v->from_domain : v->dmarc.record_domain;
}

static size_t
policy_slot(struct am_dmarcxml *x, const struct am_verdict *v, time_t day)
{
	const struct am_dmarc_verdict *d = &v->dmarc;
	struct am_buf k;
	struct am_xpolicy *p;
	bool created;
	size_t i;

	am_buf_init(&k);
	am_buf_printf(&k, "%lld:", (long long)day);
	key_field(&k, group_of(x, v));
	i = am_rmap_index(x->polmap, k.data, &created);
	am_buf_free(&k);
	if (created) {
		if (x->npols == x->polcap) {
			x->polcap = x->polcap ? x->polcap * 2 : 16;
			x->pols = am_xreallocarray(x->pols, x->polcap, sizeof(*x->pols));
		}
		p = &x->pols[x->npols++];
		memset(p, 0, sizeof(*p));
		p->domain = am_xstrdup(group_of(x, v));
		p->org_domain = am_xstrdup("");
		p->adkim = p->aspf = 'r';
		p->p = p->pub_p = AM_POLICY_NONE;
		p->pct = 100;
	}
	p = &x->pols[i];
	/* The newest message that saw a record says what was published (RFC 9990 3.1). */
	if (d->record_found && (!p->found || v->ts >= p->ts)) {
		p->found = true;
		p->ts = v->ts;
		free(p->domain);
		p->domain = am_xstrdup(d->record_domain[0] ? d->record_domain : v->from_domain);
		free(p->org_domain);
		p->org_domain = am_xstrdup(d->org_domain);
		p->adkim = d->adkim ? d->adkim : 'r';
		p->aspf = d->aspf ? d->aspf : 'r';
		p->p = d->policy != AM_POLICY_UNSPEC ? d->policy : AM_POLICY_NONE;
		p->pct = d->pct;
		p->pub_p = d->published_p != AM_POLICY_UNSPEC ? d->published_p : p->p;
		p->pub_sp = d->published_sp;
		p->pub_np = d->published_np;
		p->testing = d->testing;
		p->discovery = d->discovery;
	}
	return i;
}

/* ---- rows ---------------------------------------------------------- */

static void
copy_sig(struct am_xsig *dst, const struct am_dkim_sig *s)
{
	dst->domain = am_xstrdup(s->domain);
	dst->selector = am_xstrdup(s->selector);
	dst->result = s->result;
}

static void
new_row(const struct am_dmarcxml *x, struct am_xrow *r, const struct am_verdict *v, time_t day,
    const size_t *order)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->group = am_xstrdup(group_of(x, v));
	r->domain = am_xstrdup(v->from_domain);
	r->day = day;
	r->source_ip = am_xstrdup(v->client_ip);
	r->envelope_from = am_xstrdup(x->std == AM_DMARC_RFC7489 ? envelope_domain(v) :
	    am_dmarcxml_envelope9990(v));
	r->spf_domain = am_xstrdup(v->spf.domain);
	r->disposition = disposition(v);
	/* policy_evaluated: aligned AND passed, not the log's aligned. */
	r->dkim_aligned = v->dmarc.dkim_aligned;
	r->spf_aligned = v->dmarc.spf_aligned;
	r->helo_scope = v->spf.helo_identity;
	r->spf = v->spf.result;
	r->nsigs = v->dkim.count;
	r->sigs = am_xcalloc(r->nsigs + 1, sizeof(*r->sigs));
	for (i = 0; i < r->nsigs; i++)
		copy_sig(&r->sigs[i], &v->dkim.sig[order != NULL ? order[i] : i]);
	if (x->std != AM_DMARC_RFC7489)
		am_dmarcxml_eval9990(v, &r->eval);
}

/* RFC 7489's row key, as it always was. */
static void
key7489(struct am_buf *k, const struct am_verdict *v, time_t day)
{
	size_t j;

	am_buf_printf(k, "%lld:", (long long)day);
	key_field(k, v->from_domain);
	key_field(k, v->client_ip);
	am_buf_printf(k, "%d%d%d%d%d", (int)disposition(v), v->dmarc.dkim_aligned, v->dmarc.spf_aligned,
	    v->spf.helo_identity, (int)v->spf.result);
	key_field(k, envelope_domain(v));
	key_field(k, v->spf.domain);
	for (j = 0; j < v->dkim.count; j++) {
		key_field(k, v->dkim.sig[j].domain);
		key_field(k, v->dkim.sig[j].selector);
		am_buf_printf(k, "%d", (int)v->dkim.sig[j].result);
	}
}

/* RFC 9990's: its report (Policy Domain), From domain, and what the record says. */
static void
key9990(struct am_buf *k, const struct am_verdict *v, time_t day, const size_t *order)
{
	struct am_xeval e;
	size_t j;

	am_dmarcxml_eval9990(v, &e);
	am_buf_printf(k, "%lld:", (long long)day);
	key_field(k, v->dmarc.record_domain);
	key_field(k, v->from_domain);
	key_field(k, v->client_ip);
	key_field(k, e.disposition);
	key_field(k, e.reason_type != NULL ? e.reason_type : "");
	key_field(k, e.reason_comment);
	am_buf_printf(k, "%d%d%d", v->dmarc.dkim_aligned, v->dmarc.spf_aligned, (int)v->spf.result);
	key_field(k, am_dmarcxml_envelope9990(v));
	key_field(k, v->spf.domain);
	for (j = 0; j < v->dkim.count; j++) {
		key_field(k, v->dkim.sig[order[j]].domain);
		key_field(k, v->dkim.sig[order[j]].selector);
		am_buf_printf(k, "%d", (int)v->dkim.sig[order[j]].result);
	}
}

void
am_dmarcxml_add(struct am_dmarcxml *x, const struct am_verdict *v)
{
	time_t day = v->ts - v->ts % DAY;
	size_t order[AM_DKIM_REPORT_MAX], *ord = NULL;
	struct am_buf k;
	bool created;
	size_t i, pol;

	if (v->from_domain[0] == '\0') {
		x->skipped++;
		return;
	}
	/* RFC 9990 3.1: reports are per DMARC Policy Domain; without a record there is none. */
	if (x->std != AM_DMARC_RFC7489 && !v->dmarc.record_found) {
		x->no_policy++;
		return;
	}
	pol = policy_slot(x, v, day);
	am_buf_init(&k);
	if (x->std == AM_DMARC_RFC7489) {
		key7489(&k, v, day);
	} else {
		am_dmarcxml_sig_order(v, order);
		ord = order;
		key9990(&k, v, day, ord);
	}
	i = am_rmap_index(x->rowmap, k.data, &created);
	am_buf_free(&k);
	if (created) {
		if (x->nrows == x->rowcap) {
			x->rowcap = x->rowcap ? x->rowcap * 2 : 64;
			x->rows = am_xreallocarray(x->rows, x->rowcap, sizeof(*x->rows));
		}
		new_row(x, &x->rows[x->nrows++], v, day, ord);
		x->rows[i].policy = pol;
	}
	x->rows[i].count++;
}

/* ---- writing ------------------------------------------------------- */

void
am_dmarcxml_elem(struct am_buf *b, const char *indent, const char *name, const char *value)
{
	am_buf_printf(b, "%s<%s>", indent, name);
	am_buf_add_markup(b, value);
	am_buf_printf(b, "</%s>\n", name);
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

/* By report (domain, day), then most messages first, then as first seen. */
static int
cmp_row(const void *a, const void *b)
{
	const struct am_xrow *x = &sort_ctx->rows[*(const size_t *)a];
	const struct am_xrow *y = &sort_ctx->rows[*(const size_t *)b];
	int c = strcmp(x->group, y->group);

	if (c != 0)
		return c;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The document of rows[0..n) into b. */
static void
render(const struct am_dmarcxml *x, const struct am_xrow *const *rows, size_t n, const char *org,
    const char *email, const char *receiver, struct am_buf *b)
{
	struct am_xdoc doc;

	doc.first = rows[0];
	doc.rows = rows;
	doc.nrows = n;
	doc.policy = &x->pols[rows[0]->policy];
	doc.org = org;
	doc.email = email;
	doc.receiver = receiver;
	am_buf_reset(b);
	if (x->std == AM_DMARC_RFC7489)
		am_dmarcxml_render7489(&doc, b);
	else
		am_dmarcxml_render9990(&doc, b);
}

/*
 * Named by the report's domain: the From domain (RFC 7489: two
 * subdomains under one organizational record must not overwrite each
 * other) or the Policy Domain (RFC 9990 3.5.2's policy-domain).  A name
 * that had to be altered gets the optional unique-id (digits).
 */
static bool
file_name(const char *receiver, const struct am_xrow *first, size_t i, char *path, size_t pathlen)
{
	char dom[AM_DOMAIN_MAX], uniq[32];

	safe_name(first->group, dom, sizeof(dom));
	if (strcmp(dom, first->group) != 0)
		snprintf(uniq, sizeof(uniq), "!%zu", i);
	else
		uniq[0] = '\0';
	return (size_t)snprintf(path, pathlen, "%s!%s!%lld!%lld%s.xml", receiver, dom,
	    (long long)first->day, (long long)first->day + DAY - 1, uniq) < pathlen;
}

int
am_dmarcxml_each(const struct am_dmarcxml *x, const char *org, const char *email,
    am_dmarcxml_fn fn, void *arg)
{
	char receiver[AM_DOMAIN_MAX], name[1024];
	const char *at = strrchr(email, '@');
	const struct am_xrow **rows;
	struct am_dmarcxml_report rep;
	size_t *order, i, j, k;
	struct am_buf b;
	int n = 0;

	safe_name(at != NULL ? at + 1 : email, receiver, sizeof(receiver));
	order = am_xcalloc(x->nrows + 1, sizeof(*order));
	rows = am_xcalloc(x->nrows + 1, sizeof(*rows));
	for (i = 0; i < x->nrows; i++)
		order[i] = i;
	sort_ctx = x;
	qsort(order, x->nrows, sizeof(*order), cmp_row);
	for (i = 0; i < x->nrows; i++)
		rows[i] = &x->rows[order[i]];
	am_buf_init(&b);
	for (i = 0; i < x->nrows; i = j) {
		for (j = i; j < x->nrows && rows[j]->day == rows[i]->day &&
		    strcmp(rows[j]->group, rows[i]->group) == 0; j++)
			;
		render(x, rows + i, j - i, org, email, receiver, &b);
		/* A name cut short would not be unique: leave the report out, say so. */
		memset(&rep, 0, sizeof(rep));
		rep.name_ok = file_name(receiver, rows[i], i, name, sizeof(name));
		rep.domain = rows[i]->group;
		rep.org_domain = x->pols[rows[i]->policy].org_domain;
		rep.begin = rows[i]->day;
		rep.end = rows[i]->day + DAY - 1;
		rep.file_name = name;
		rep.xml = b.data;
		rep.len = b.len;
		for (k = i; k < j; k++)
			rep.messages += rows[k]->count;
		n++;
		if (!fn(arg, &rep)) {
			n = -1;
			break;
		}
	}
	am_buf_free(&b);
	free(rows);
	free(order);
	return n;
}

struct write_ctx {
	const char *dir;
	char	*err;
	size_t	errlen;
};

static bool
write_one(void *arg, const struct am_dmarcxml_report *r)
{
	struct write_ctx *w = arg;
	char path[4096];

	if (!r->name_ok || (size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, r->file_name) >= sizeof(path)) {
		snprintf(w->err, w->errlen, "%s: path too long", w->dir);
		return false;
	}
	return am_reportfile_write(path, r->xml, r->len, w->err, w->errlen);
}

int
am_dmarcxml_write(const struct am_dmarcxml *x, const char *dir, const char *org, const char *email,
    char *err, size_t errlen)
{
	struct write_ctx w = { dir, err, errlen };

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return am_dmarcxml_each(x, org, email, write_one, &w);
}
