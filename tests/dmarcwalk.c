/*
 * dmarcwalk.c - the tree-walk case table of tests/check_dmarc_walk.c (see
 * dmarcwalk.h): reading tests/dmarc/walk/cases.txt, writing its zones for
 * the loopback nsd, evaluating a case through am_dmarc, the query log of
 * the counting backend, and the JSON line tests/secondopinion.test
 * compares with mailauth's answer.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dmarc.h"
#include "dmarcwalk.h"

#define WALK_TIMEOUT_MS	3000	/* loopback nsd: answers in well under a millisecond */
#define DEAD_TIMEOUT_MS	300	/* DNSTimeout of the ns=dead cases */

/* ---- reading the table ---------------------------------------------------- */

static bool
fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "cases.txt line %d: %s", line, msg);
	return false;
}

/* The log's words for results, read back with verdict.c's names (as alignlog-read.c does). */
static bool
spf_result(const char *s, enum am_spf_result *r)
{
	int i;

	for (i = AM_SPF_NONE; i <= AM_SPF_PERMERROR; i++)
		if (strcmp(s, am_spf_result_name((enum am_spf_result)i)) == 0) {
			*r = (enum am_spf_result)i;
			return true;
		}
	return false;
}

/* A signature's result: never "none", which means no signature at all. */
static bool
dkim_result(const char *s, enum am_dkim_result *r)
{
	int i;

	for (i = AM_DKIM_PASS; i <= AM_DKIM_PERMERROR; i++)
		if (strcmp(s, am_dkim_result_name((enum am_dkim_result)i)) == 0) {
			*r = (enum am_dkim_result)i;
			return true;
		}
	return false;
}

/* One dkim= item: RESULT:DOMAIN or N*RESULT:PATTERN (%d = 1..N). */
static bool
add_sigs(struct dw_case *c, char *item, int line, char *err, size_t errlen)
{
	enum am_dkim_result r;
	unsigned n = 1, i;
	char *colon, *pct, *star = strchr(item, '*');

	if (star != NULL) {
		n = (unsigned)strtoul(item, NULL, 10);
		item = star + 1;
	}
	if ((colon = strchr(item, ':')) == NULL)
		return fail(err, errlen, line, "dkim item without ':': %s", item);
	*colon = '\0';
	if (!dkim_result(item, &r))
		return fail(err, errlen, line, "unknown DKIM result %s", item);
	for (i = 1; i <= n; i++) {
		struct am_dkim_sig *s;

		if (c->dkim.count >= AM_DKIM_REPORT_MAX)
			return fail(err, errlen, line, "more than %d signatures", AM_DKIM_REPORT_MAX);
		s = &c->dkim.sig[c->dkim.count++];
		c->dkim.total++;
		s->result = r;
		s->verified = true;
		/* PATTERN: the table's text, its first "%d" replaced by i. */
		if ((pct = strstr(colon + 1, "%d")) != NULL)
			snprintf(s->domain, sizeof(s->domain), "%.*s%u%s", (int)(pct - colon - 1),
			    colon + 1, i, pct + 2);
		else
			am_strlcpy(s->domain, colon + 1, sizeof(s->domain));
		am_strlcpy(s->selector, "sel", sizeof(s->selector));
		am_strlcpy(s->algorithm, "rsa-sha256", sizeof(s->algorithm));
	}
	return true;
}

static bool
parse_case(struct dw_table *t, char *rest, int line, char *err, size_t errlen)
{
	struct dw_case *c;
	char *tok, *save = NULL;

	if (t->ncases >= DW_CASES_MAX)
		return fail(err, errlen, line, "more than %d cases", DW_CASES_MAX);
	c = &t->cases[t->ncases];
	memset(c, 0, sizeof(*c));
	c->line = line;
	if ((tok = strtok_r(rest, " \t", &save)) == NULL)
		return fail(err, errlen, line, "case without a name");
	am_strlcpy(c->name, tok, sizeof(c->name));
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		char *eq = strchr(tok, '=');

		if (eq == NULL)
			return fail(err, errlen, line, "not key=value: %s", tok);
		*eq++ = '\0';
		if (strcmp(tok, "from") == 0) {
			am_strlcpy(c->from, eq, sizeof(c->from));
		} else if (strcmp(tok, "spf") == 0) {
			char *colon = strchr(eq, ':');

			if (colon == NULL)
				return fail(err, errlen, line, "spf=RESULT:DOMAIN");
			*colon = '\0';
			if (!spf_result(eq, &c->spf.result))
				return fail(err, errlen, line, "unknown SPF result %s", eq);
			am_strlcpy(c->spf.domain, colon + 1, sizeof(c->spf.domain));
			c->has_spf = true;
		} else if (strcmp(tok, "dkim") == 0) {
			char *item, *save2 = NULL;

			for (item = strtok_r(eq, ",", &save2); item != NULL; item = strtok_r(NULL, ",", &save2))
				if (!add_sigs(c, item, line, err, errlen))
					return false;
		} else if (strcmp(tok, "ns") == 0) {
			if (strcmp(eq, "dead") == 0)
				c->ns = DW_NS_DEAD;
			else if (strcmp(eq, "noroot") == 0)
				c->ns = DW_NS_NOROOT;
			else
				return fail(err, errlen, line, "ns=dead or ns=noroot");
		} else {
			struct dw_expect *e;

			if (c->nexpect >= DW_EXPECT_MAX)
				return fail(err, errlen, line, "too many expectations");
			e = &c->expect[c->nexpect++];
			if (strlen(tok) >= sizeof(e->key) || strlen(eq) >= sizeof(e->value))
				return fail(err, errlen, line, "%s too long", tok);
			am_strlcpy(e->key, tok, sizeof(e->key));
			am_strlcpy(e->value, eq, sizeof(e->value));
		}
	}
	if (c->from[0] == '\0')
		return fail(err, errlen, line, "case %s without from=", c->name);
	t->ncases++;
	return true;
}

static bool
parse_rr(struct dw_table *t, char *rest, int line, char *err, size_t errlen)
{
	struct dw_rr *rr;
	char *owner, *type, *data;

	if (t->nrrs >= DW_RRS_MAX)
		return fail(err, errlen, line, "more than %d records", DW_RRS_MAX);
	rr = &t->rrs[t->nrrs];
	owner = rest + strspn(rest, " \t");
	type = owner + strcspn(owner, " \t");
	if (*type == '\0')
		return fail(err, errlen, line, "rr OWNER TYPE DATA");
	*type++ = '\0';
	type += strspn(type, " \t");
	data = type + strcspn(type, " \t");
	if (*data == '\0')
		return fail(err, errlen, line, "rr OWNER TYPE DATA");
	*data++ = '\0';
	data += strspn(data, " \t");
	if (strcmp(type, "A") != 0 && strcmp(type, "MX") != 0 && strcmp(type, "TXT") != 0 &&
	    strcmp(type, "CNAME") != 0)
		return fail(err, errlen, line, "type %s: only A, CNAME, MX and TXT", type);
	am_strlcpy(rr->owner, owner, sizeof(rr->owner));
	am_strlcpy(rr->type, type, sizeof(rr->type));
	if (am_strlcpy(rr->data, data, sizeof(rr->data)) >= sizeof(rr->data))
		return fail(err, errlen, line, "record data too long");
	t->nrrs++;
	return true;
}

static bool
parse_line(struct dw_table *t, char *l, int line, char *err, size_t errlen)
{
	char *rest = l + strcspn(l, " \t");

	if (*rest != '\0')
		*rest++ = '\0';
	if (strcmp(l, "case") == 0)
		return parse_case(t, rest, line, err, errlen);
	if (strcmp(l, "rr") == 0)
		return parse_rr(t, rest, line, err, errlen);
	if (strcmp(l, "zone") == 0) {
		struct dw_zone *z;
		char name[AM_DOMAIN_MAX] = "", flag[16] = "";

		if (t->nzones >= DW_ZONES_MAX || sscanf(rest, "%255s %15s", name, flag) < 1)
			return fail(err, errlen, line, "zone NAME [broken]");
		z = &t->zones[t->nzones++];
		am_strlcpy(z->name, name, sizeof(z->name));
		z->broken = strcmp(flag, "broken") == 0;
		return true;
	}
	return fail(err, errlen, line, "unknown line \"%s\"", l);
}

bool
dw_load(const char *path, struct dw_table *t, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char buf[2048], logical[8192] = "";
	int lineno = 0, start = 0;
	bool ok = true;

	memset(t, 0, sizeof(*t));
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	/* Blank-led lines continue the logical line before them. */
	while (ok && fgets(buf, sizeof(buf), fp) != NULL) {
		lineno++;
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '#')
			continue;
		if (buf[0] == ' ' || buf[0] == '\t') {
			if (buf[strspn(buf, " \t")] == '\0')
				continue;
			if (logical[0] == '\0')
				ok = fail(err, errlen, lineno, "continuation of nothing");
			am_strlcat(logical, " ", sizeof(logical));
			am_strlcat(logical, buf + strspn(buf, " \t"), sizeof(logical));
			continue;
		}
		if (logical[0] != '\0')
			ok = parse_line(t, logical, start, err, errlen);
		am_strlcpy(logical, buf, sizeof(logical));
		start = lineno;
	}
	if (ok && logical[0] != '\0')
		ok = parse_line(t, logical, start, err, errlen);
	fclose(fp);
	return ok;
}

const char *
dw_expect_get(const struct dw_case *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->nexpect; i++)
		if (strcmp(c->expect[i].key, key) == 0)
			return c->expect[i].value;
	return NULL;
}

/* ---- zones ---------------------------------------------------------------- */

static bool
under(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	return strcasecmp(name, zone) == 0 ||
	    (n > z && name[n - z - 1] == '.' && strcasecmp(name + n - z, zone) == 0);
}

/* The zone an owner belongs to: the closest enclosing one, as nsd picks it. */
static const struct dw_zone *
zone_of(const struct dw_table *t, const char *owner)
{
	const struct dw_zone *best = NULL;
	size_t i;

	for (i = 0; i < t->nzones; i++)
		if (under(owner, t->zones[i].name) &&
		    (best == NULL || strlen(t->zones[i].name) > strlen(best->name)))
			best = &t->zones[i];
	return best;
}

/* TXT data in zone-file form: as written when quoted, else 255-octet strings. */
static void
write_txt(FILE *fp, const char *data)
{
	size_t i, n = strlen(data);

	if (data[0] == '"') {
		fputs(data, fp);
		return;
	}
	for (i = 0; i < n; i++) {
		if (i % 255 == 0)
			fputs(i == 0 ? "\"" : "\" \"", fp);
		if (data[i] == '"' || data[i] == '\\')
			fputc('\\', fp);
		fputc(data[i], fp);
	}
	fputs(n == 0 ? "\"\"" : "\"", fp);
}

static bool
write_zone(const struct dw_table *t, const struct dw_zone *z, const char *path,
    char *err, size_t errlen)
{
	FILE *fp = fopen(path, "w");
	size_t i;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (z->broken) {
		/* nsd loads nothing and answers SERVFAIL (tests/dns/README.md). */
		fputs("this is not a zone file\n", fp);
	} else {
		fprintf(fp, "$ORIGIN %s.\n$TTL 300\n", z->name);
		fprintf(fp, "@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n", z->name, z->name);
		fprintf(fp, "@ NS ns.%s.\n", z->name);
		for (i = 0; i < t->nrrs; i++) {
			const struct dw_rr *rr = &t->rrs[i];

			if (zone_of(t, rr->owner) != z)
				continue;
			fprintf(fp, "%s. %s ", rr->owner, rr->type);
			if (strcmp(rr->type, "TXT") == 0)
				write_txt(fp, rr->data);
			else
				fputs(rr->data, fp);
			fputc('\n', fp);
		}
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

bool
dw_write_zones(const struct dw_table *t, const char *dir, char *zonefiles, size_t len,
    char *err, size_t errlen)
{
	char path[512];
	size_t i;

	zonefiles[0] = '\0';
	for (i = 0; i < t->nrrs; i++) {
		const struct dw_zone *z = zone_of(t, t->rrs[i].owner);

		if (z == NULL || z->broken) {
			snprintf(err, errlen, "record %s is in no zone that can serve it", t->rrs[i].owner);
			return false;
		}
	}
	for (i = 0; i < t->nzones; i++) {
		snprintf(path, sizeof(path), "%s/%s.zone", dir, t->zones[i].name);
		if (!write_zone(t, &t->zones[i], path, err, errlen))
			return false;
		if (i > 0)
			am_strlcat(zonefiles, " ", len);
		if (am_strlcat(zonefiles, path, len) >= len) {
			snprintf(err, errlen, "too many zone files");
			return false;
		}
	}
	return true;
}

/* ---- evaluation ----------------------------------------------------------- */

/* The counting backend: every query the DMARC module makes, answered by libunbound. */
struct counter {
	am_resolver *inner;
	pthread_mutex_t mu;
	struct dw_outcome *out;
};

static struct am_dns_answer *
counting_backend(void *arg, const char *name, int rrtype)
{
	struct counter *c = arg;
	struct dw_outcome *o = c->out;

	pthread_mutex_lock(&c->mu);
	o->qname = am_xreallocarray(o->qname, o->nq + 1, sizeof(*o->qname));
	o->qtype = am_xreallocarray(o->qtype, o->nq + 1, sizeof(*o->qtype));
	am_strlcpy(o->qname[o->nq], name, sizeof(o->qname[o->nq]));
	o->qtype[o->nq] = rrtype;
	o->nq++;
	pthread_mutex_unlock(&c->mu);
	return am_dns_lookup(c->inner, name, rrtype);
}

void
dw_eval(const struct dw_case *c, const struct dw_servers *srv, const char *psl_path,
    bool counting, struct dw_outcome *out)
{
	const char *spec = c->ns == DW_NS_DEAD ? srv->dead :
	    c->ns == DW_NS_NOROOT ? srv->noroot : srv->main;
	unsigned timeout = c->ns == DW_NS_DEAD ? DEAD_TIMEOUT_MS : WALK_TIMEOUT_MS;
	struct counter ctr = { .inner = NULL, .out = out };
	am_resolver *res;
	am_dmarc *dm;
	am_dmarc_lookup *lk;
	char err[256] = "";

	memset(out, 0, sizeof(*out));
	if (counting) {
		/* No cache inside: each query the module makes reaches the backend once. */
		ctr.inner = am_resolver_new_sized(spec, timeout, 0, err, sizeof(err));
		pthread_mutex_init(&ctr.mu, NULL);
		res = ctr.inner == NULL ? NULL : am_resolver_new_backend(counting_backend, &ctr, timeout);
	} else {
		res = am_resolver_new(spec, timeout, err, sizeof(err));
	}
	if (res == NULL) {
		fprintf(stderr, "dmarcwalk: resolver on %s: %s\n", spec, err);
		abort();
	}
	if ((dm = am_dmarc_new(res, AM_DMARC_RFC9989, psl_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarcwalk: am_dmarc_new: %s\n", err);
		abort();
	}
	out->spf = c->spf;
	out->dkim = c->dkim;
	lk = am_dmarc_start(dm, c->from);
	am_dmarc_evaluate(dm, lk, c->from, &out->spf, &out->dkim, 0, &out->v);
	am_dmarc_lookup_free(lk);
	am_dmarc_free(dm);
	am_resolver_free(res);
	if (counting) {
		am_resolver_free(ctr.inner);
		pthread_mutex_destroy(&ctr.mu);
		out->counted = true;
	}
}

void
dw_outcome_free(struct dw_outcome *o)
{
	free(o->qname);
	free(o->qtype);
	o->qname = NULL;
	o->qtype = NULL;
	o->nq = 0;
}

/* ---- JSON for the second opinion ------------------------------------------ */

/* Domain names and case names here are plain ASCII without quotes; escape anyway. */
static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

void
dw_json(FILE *fp, const struct dw_case *c, const struct dw_outcome *o)
{
	const struct am_dmarc_verdict *v = &o->v;
	enum am_dmarc_policy applied = v->testing ? am_dmarc_policy_lower(v->policy) : v->policy;
	size_t i;

	fputs("{\"case\":", fp);
	json_str(fp, c->name);
	fputs(",\"result\":", fp);
	json_str(fp, am_dmarc_result_name(v->result));
	fputs(",\"policy\":", fp);
	json_str(fp, am_dmarc_policy_name(v->policy));
	/* The policy after t= (what mailauth reports as "policy", A-R's policy.dmarc). */
	fputs(",\"applied\":", fp);
	json_str(fp, am_dmarc_policy_name(applied));
	fprintf(fp, ",\"testing\":%s,\"record_domain\":", v->testing ? "true" : "false");
	json_str(fp, v->record_domain);
	fputs(",\"org_domain\":", fp);
	json_str(fp, v->org_domain);
	fprintf(fp, ",\"walks_skipped\":%u,\"spf\":", v->walks_skipped);
	if (c->has_spf) {
		fputs("{\"domain\":", fp);
		json_str(fp, o->spf.domain);
		fprintf(fp, ",\"pass\":%s,\"aligned\":%s}", o->spf.result == AM_SPF_PASS ? "true" : "false",
		    o->spf.aligned ? "true" : "false");
	} else {
		fputs("null", fp);
	}
	fputs(",\"dkim\":[", fp);
	for (i = 0; i < o->dkim.count; i++) {
		fputs(i == 0 ? "{\"domain\":" : ",{\"domain\":", fp);
		json_str(fp, o->dkim.sig[i].domain);
		fprintf(fp, ",\"pass\":%s,\"aligned\":%s}",
		    o->dkim.sig[i].result == AM_DKIM_PASS ? "true" : "false",
		    o->dkim.sig[i].aligned ? "true" : "false");
	}
	fputs("]}\n", fp);
}
