/*
 * check_dmarc_walk.c - the RFC 9989 DMARC rules (DMARCStandard rfc9989)
 * against a real DNS server: every case of tests/dmarc/walk/cases.txt,
 * written from the RFC text (draft-ietf-dmarc-dmarcbis-41; its section
 * numbers may differ from RFC 9989's), evaluated by am_dmarc_start() +
 * am_dmarc_evaluate() over a libunbound resolver pointed at a loopback
 * nsd serving the table's zones (tests/dns/nsd-fixture.sh).
 *
 * Owns: the assertions on every verdict field the RFC 9989 design note
 * names (result, policy, disposition, policy_tag, testing, psd,
 * record_domain, org_domain, discovery, published p/sp/np, adkim/aspf,
 * walks_skipped, spf/dkim aligned and aligned_relaxed) and on the queries
 * made: each case runs twice, on a plain resolver (libunbound's own
 * cache, the module's parallel queries) and behind a counting backend
 * (no cache; every query logged) for the walk's bounds (RFC 9989 4.10:
 * at most 8 queries a walk, shortening to 7 labels; the per-message
 * bound of AM_DMARC_WALKS_MAX identifier walks).  The rules each case
 * checks are cited beside it in the table.
 *
 * "check_dmarc_walk --json" evaluates each case once (plain resolver) and
 * prints one JSON line per case instead (tests/secondopinion.test);
 * "--trace CASE" prints one case's line and every query it made.
 *
 * Errors: Check failures list every field that differs ("result: got
 * fail, want pass"); no nsd or an unreadable table is a hard error (99).
 *
 * Threads: Check forks each test; main() owns nsd and stops it at exit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"
#include "auth/dmarc.h"
#include "dmarcwalk.h"
#include "nsdfixture.h"

#define CASES	TOP_SRCDIR "/tests/dmarc/walk/cases.txt"
#define PSL	TESTDATA_DIR "/dmarc/psl/public_suffix_list.dat"

static struct dw_table *table;
static char tmpdir[64];
static struct dw_servers servers;
static pid_t main_pid;

/* ---- comparing a verdict with a case's expectations ---------------------- */

struct diff {
	char	text[2048];
	int	n;
};

static void
differs(struct diff *d, const char *field, const char *got, const char *want)
{
	/* Piece by piece: a long message is cut, never mangled. */
	if (d->n++ > 0)
		am_strlcat(d->text, "; ", sizeof(d->text));
	am_strlcat(d->text, field, sizeof(d->text));
	am_strlcat(d->text, ": got ", sizeof(d->text));
	am_strlcat(d->text, got, sizeof(d->text));
	am_strlcat(d->text, ", want ", sizeof(d->text));
	am_strlcat(d->text, want, sizeof(d->text));
}

/* Compare when the case names a value other than "?"; dflt when it names none. */
static void
expect_str(struct diff *d, const struct dw_case *c, const char *key, const char *dflt,
    const char *got)
{
	const char *want = dw_expect_get(c, key);

	if (want == NULL)
		want = dflt;
	if (want == NULL || strcmp(want, "?") == 0)
		return;
	if (strcmp(want, "-") == 0 ? got[0] != '\0' : strcasecmp(want, got) != 0)
		differs(d, key, got[0] == '\0' ? "-" : got, want);
}

static const char *
policy_word(enum am_dmarc_policy p)
{
	switch (p) {
	case AM_POLICY_UNSPEC:	return "unspec";
	case AM_POLICY_NONE:	return "none";
	case AM_POLICY_QUARANTINE: return "quarantine";
	case AM_POLICY_REJECT:	return "reject";
	}
	return "?";
}

static const char *
pub_word(enum am_dmarc_policy p)
{
	return p == AM_POLICY_UNSPEC ? "-" : policy_word(p);
}

static const char *
tag_word(enum am_dmarc_policy_tag t)
{
	switch (t) {
	case AM_PTAG_NONE:	return "none";
	case AM_PTAG_P:		return "p";
	case AM_PTAG_SP:	return "sp";
	case AM_PTAG_NP:	return "np";
	}
	return "?";
}

static const char *
disc_word(enum am_dmarc_discovery x)
{
	switch (x) {
	case AM_DISCOVERY_NONE:	return "none";
	case AM_DISCOVERY_PSL:	return "psl";
	case AM_DISCOVERY_TREEWALK: return "treewalk";
	}
	return "?";
}

static bool
is_domain(const char *want)
{
	return want != NULL && strcmp(want, "?") != 0 && strcmp(want, "-") != 0;
}

/* "YY,NN" or "10*NN,YY": the i-th two-letter flag pair of an expanded list; NULL past its end. */
static const char *
flag_pair(const char *list, size_t i, char out[3])
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = 1;
		const char *star = strchr(p, '*'), *comma = strchr(p, ',');

		if (star != NULL && (comma == NULL || star < comma)) {
			n = strtoul(p, NULL, 10);
			p = star + 1;
		}
		if (i < n) {
			out[0] = p[0];
			out[1] = p[0] != '\0' ? p[1] : '\0';
			out[2] = '\0';
			return out;
		}
		i -= n;
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return NULL;
}

static void
expect_flags(struct diff *d, const char *field, const char *want, bool aligned, bool relaxed)
{
	char got[3] = { aligned ? 'Y' : 'N', relaxed ? 'Y' : 'N', '\0' };

	if ((want[0] != '?' && want[0] != got[0]) || (want[1] != '?' && want[1] != got[1]))
		differs(d, field, got, want);
}

static void
check_alignment(struct diff *d, const struct dw_case *c, const struct dw_outcome *o)
{
	const char *spfal = dw_expect_get(c, "spfal"), *dkimal = dw_expect_get(c, "dkimal");
	bool any_dkim = false;
	char pair[3], field[64];
	size_t i;

	if (c->has_spf && spfal != NULL)
		expect_flags(d, "spf aligned/relaxed", spfal, o->spf.aligned, o->spf.aligned_relaxed);
	for (i = 0; i < o->dkim.count; i++) {
		const struct am_dkim_sig *s = &o->dkim.sig[i];

		if (dkimal != NULL && flag_pair(dkimal, i, pair) != NULL) {
			snprintf(field, sizeof(field), "dkim[%zu] aligned/relaxed", i);
			expect_flags(d, field, pair, s->aligned, s->aligned_relaxed);
		}
		any_dkim |= s->result == AM_DKIM_PASS && s->aligned;
	}
	if (dkimal != NULL && flag_pair(dkimal, o->dkim.count, pair) != NULL)
		differs(d, "dkimal", "longer than the signatures", "one pair a signature");
	/*
	 * The DMARC mechanism's view: an identifier counts when it passes and
	 * aligns (5.3.5).  Without a policy record the mechanism does not apply
	 * (5.3.2): nothing counts, whatever the flags say.
	 */
	if (o->v.result != AM_DMARC_PASS && o->v.result != AM_DMARC_FAIL) {
		if (o->v.spf_aligned || o->v.dkim_aligned)
			differs(d, "spf_aligned/dkim_aligned", "true", "false without a pass or fail");
		return;
	}
	if (o->v.spf_aligned != (c->has_spf && o->spf.result == AM_SPF_PASS && o->spf.aligned))
		differs(d, "spf_aligned", o->v.spf_aligned ? "true" : "false", "spf pass && aligned");
	if (o->v.dkim_aligned != any_dkim)
		differs(d, "dkim_aligned", o->v.dkim_aligned ? "true" : "false",
		    "some dkim pass && aligned");
	if ((o->v.result == AM_DMARC_PASS || o->v.result == AM_DMARC_FAIL) &&
	    (o->v.result == AM_DMARC_PASS) != (o->v.spf_aligned || o->v.dkim_aligned))
		differs(d, "pass", am_dmarc_result_name(o->v.result), "pass exactly when an identifier counts");
}

static void
check_verdict(struct diff *d, const struct dw_case *c, const struct dw_outcome *o)
{
	const struct am_dmarc_verdict *v = &o->v;
	const char *rec = dw_expect_get(c, "rec"), *pub = dw_expect_get(c, "pub");
	bool applies = is_domain(rec);
	char psd[2] = { v->psd, '\0' }, adkim[2] = { v->adkim, '\0' }, aspf[2] = { v->aspf, '\0' };
	char skipped[16];

	expect_str(d, c, "result", NULL, am_dmarc_result_name(v->result));
	expect_str(d, c, "policy", NULL, policy_word(v->policy));
	expect_str(d, c, "disp", NULL, policy_word(v->disposition));
	expect_str(d, c, "tag", NULL, tag_word(v->policy_tag));
	expect_str(d, c, "testing", "n", v->testing ? "y" : "n");
	expect_str(d, c, "psd", NULL, psd);
	expect_str(d, c, "rec", NULL, v->record_domain);
	expect_str(d, c, "org", NULL, v->org_domain);
	expect_str(d, c, "disc", applies ? "treewalk" : rec != NULL && strcmp(rec, "-") == 0 ? "none" : NULL,
	    disc_word(v->discovery));
	expect_str(d, c, "adkim", applies ? "r" : NULL, adkim);
	expect_str(d, c, "aspf", applies ? "r" : NULL, aspf);
	snprintf(skipped, sizeof(skipped), "%u", v->walks_skipped);
	expect_str(d, c, "skipped", "0", skipped);
	if (pub != NULL) {
		char want[3][16] = { "", "", "" };

		if (sscanf(pub, "%15[^/]/%15[^/]/%15s", want[0], want[1], want[2]) != 3)
			differs(d, "pub", pub, "P/SP/NP in the table");
		if (strcmp(want[0], "?") != 0 && strcmp(want[0], pub_word(v->published_p)) != 0)
			differs(d, "published_p", pub_word(v->published_p), want[0]);
		if (strcmp(want[1], "?") != 0 && strcmp(want[1], pub_word(v->published_sp)) != 0)
			differs(d, "published_sp", pub_word(v->published_sp), want[1]);
		if (strcmp(want[2], "?") != 0 && strcmp(want[2], pub_word(v->published_np)) != 0)
			differs(d, "published_np", pub_word(v->published_np), want[2]);
	}
	if (rec != NULL && strcmp(rec, "?") != 0 && v->record_found != applies)
		differs(d, "record_found", v->record_found ? "true" : "false", applies ? "true" : "false");
	/* RFC 9989 has no pct (4.7): nothing is ever sampled out. */
	if (v->sampled_out)
		differs(d, "sampled_out", "true", "false (pct is not sampled under rfc9989)");
	check_alignment(d, c, o);
}

/* dq, qmax, qglob: the queries the counting backend saw. */
static void
check_queries(struct diff *d, const struct dw_case *c, const struct dw_outcome *o)
{
	const char *dq = dw_expect_get(c, "dq"), *qmax = dw_expect_get(c, "qmax");
	const char *qglob = dw_expect_get(c, "qglob");
	char got[24], want[32], name[AM_DOMAIN_MAX];
	size_t i, j;

	if (qmax != NULL && o->nq > strtoul(qmax, NULL, 10)) {
		snprintf(got, sizeof(got), "%zu", o->nq);
		differs(d, "queries", got, qmax);
	}
	if (dq != NULL) {
		/* Every _dmarc TXT name queried is listed, and every listed one was queried. */
		char hay[800], needle[AM_DOMAIN_MAX + 2];

		snprintf(hay, sizeof(hay), ",%s,", dq);
		for (i = 0; i < o->nq; i++) {
			if (o->qtype[i] != AM_RR_TXT || strncasecmp(o->qname[i], "_dmarc.", 7) != 0)
				continue;
			snprintf(needle, sizeof(needle), ",%s,", o->qname[i]);
			if (strcasestr(hay, needle) == NULL)
				differs(d, "query", o->qname[i], "not queried");
		}
		for (const char *p = dq; *p != '\0'; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
			bool seen = false;

			am_strlcpy(name, p, sizeof(name));
			name[strcspn(name, ",")] = '\0';
			for (j = 0; j < o->nq && !seen; j++)
				seen = o->qtype[j] == AM_RR_TXT && strcasecmp(o->qname[j], name) == 0;
			if (!seen)
				differs(d, "query", "missing", name);
		}
	}
	if (qglob != NULL) {
		char glob[AM_DOMAIN_MAX];
		const char *colon = strrchr(qglob, ':');
		size_t distinct = 0;

		am_strlcpy(glob, qglob, sizeof(glob));
		glob[colon - qglob] = '\0';
		for (i = 0; i < o->nq; i++) {
			bool first = true;

			if (fnmatch(glob, o->qname[i], FNM_CASEFOLD) != 0)
				continue;
			for (j = 0; j < i && first; j++)
				first = strcasecmp(o->qname[i], o->qname[j]) != 0;
			distinct += first;
		}
		if (distinct > strtoul(colon + 1, NULL, 10)) {
			snprintf(got, sizeof(got), "%zu", distinct);
			snprintf(want, sizeof(want), "<= %s", colon + 1);
			differs(d, glob, got, want);
		}
	}
}

/* ---- tests ------------------------------------------------------------------ */

/* Case i / 2; odd i run behind the counting backend. */
START_TEST(test_case)
{
	const struct dw_case *c = &table->cases[_i / 2];
	bool counting = _i % 2 == 1;
	struct dw_outcome o;
	struct diff d = { "", 0 };

	dw_eval(c, &servers, PSL, counting, &o);
	check_verdict(&d, c, &o);
	if (counting)
		check_queries(&d, c, &o);
	dw_outcome_free(&o);
	ck_assert_msg(d.n == 0, "%s (cases.txt:%d, %s resolver): %s", c->name, c->line,
	    counting ? "counting" : "plain", d.text);
}
END_TEST

/* The table says what every case expects of the fields of the design note. */
START_TEST(test_table_complete)
{
	static const char *const needed[] = { "result", "policy", "disp", "tag", "psd", "rec",
		"org", "pub", NULL };
	size_t i, k;

	ck_assert_uint_ge(table->ncases, 60);
	for (i = 0; i < table->ncases; i++) {
		const struct dw_case *c = &table->cases[i];

		for (k = 0; needed[k] != NULL; k++)
			ck_assert_msg(dw_expect_get(c, needed[k]) != NULL, "%s: no %s=", c->name, needed[k]);
		ck_assert_msg(!c->has_spf || dw_expect_get(c, "spfal") != NULL, "%s: no spfal=", c->name);
		ck_assert_msg(c->dkim.count == 0 || dw_expect_get(c, "dkimal") != NULL,
		    "%s: no dkimal=", c->name);
		for (k = 0; k < i; k++)
			ck_assert_msg(strcmp(c->name, table->cases[k].name) != 0, "%s twice", c->name);
	}
}
END_TEST

/* ---- the fixture ------------------------------------------------------------ */

static void
cleanup(void)
{
	char cmd[256];

	if (getpid() != main_pid || tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "%s/ns", tmpdir);
	nsdf_stop(cmd);
	snprintf(cmd, sizeof(cmd), "%s/ns-noroot", tmpdir);
	nsdf_stop(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_dmarc_walk: cannot remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A UDP port bound and never read: queries to it time out (the ns=dead cases). */
static bool
dead_server(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return false;
	snprintf(servers.dead, sizeof(servers.dead), "127.0.0.1@%u", ntohs(sin.sin_port));
	return true;		/* fd stays open for the program's life */
}

static bool
start(void)
{
	char err[256], dir[128], *zonefiles = am_xmalloc(8192);
	unsigned port, port2;

	table = am_xcalloc(1, sizeof(*table));
	if (!dw_load(CASES, table, err, sizeof(err))) {
		fprintf(stderr, "check_dmarc_walk: %s\n", err);
		free(zonefiles);
		return false;
	}
	am_strlcpy(tmpdir, "/tmp/check_dmarc_walk.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		tmpdir[0] = '\0';
		free(zonefiles);
		return false;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (!dw_write_zones(table, tmpdir, zonefiles, 8192, err, sizeof(err))) {
		fprintf(stderr, "check_dmarc_walk: %s\n", err);
		free(zonefiles);
		return false;
	}
	snprintf(dir, sizeof(dir), "%s/ns", tmpdir);
	port = nsdf_start(dir, zonefiles, main_pid);
	snprintf(servers.main, sizeof(servers.main), "127.0.0.1@%u", port);
	/* The same zones without the fixture's empty root: REFUSED outside them. */
	snprintf(dir, sizeof(dir), "%s/ns-noroot", tmpdir);
	setenv("NSD_FIXTURE_NO_ROOT", "1", 1);
	port2 = port == 0 ? 0 : nsdf_start(dir, zonefiles, main_pid);
	unsetenv("NSD_FIXTURE_NO_ROOT");
	snprintf(servers.noroot, sizeof(servers.noroot), "127.0.0.1@%u", port2);
	free(zonefiles);
	if (port == 0 || port2 == 0) {
		fprintf(stderr, "check_dmarc_walk: cannot start nsd (Debian package nsd)\n");
		return false;
	}
	return dead_server();
}

/* --json: every case on the plain resolver; --trace NAME: one case and its queries. */
static int
print_json(const char *only)
{
	size_t i, q;

	for (i = 0; i < table->ncases; i++) {
		struct dw_outcome o;

		if (only != NULL && strcmp(only, table->cases[i].name) != 0)
			continue;
		dw_eval(&table->cases[i], &servers, PSL, only != NULL, &o);
		dw_json(stdout, &table->cases[i], &o);
		for (q = 0; q < o.nq; q++)
			printf("query %s %s\n", o.qname[q], o.qtype[q] == AM_RR_TXT ? "TXT" :
			    o.qtype[q] == AM_RR_A ? "A" : o.qtype[q] == AM_RR_CNAME ? "CNAME" : "other");
		dw_outcome_free(&o);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	main_pid = getpid();
	if (!start())
		return 99;
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return print_json(NULL);
	if (argc == 3 && strcmp(argv[1], "--trace") == 0)
		return print_json(argv[2]);
	s = suite_create("dmarc_walk");
	tc = tcase_create("rfc9989");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_table_complete);
	tcase_add_loop_test(tc, test_case, 0, (int)(2 * table->ncases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fprintf(stderr, "check_dmarc_walk: %zu cases, each on a plain and a counting resolver: "
	    "%d of %zu runs failed\n", table->ncases, failed, 2 * table->ncases + 1);
	cleanup();
	return failed == 0 ? 0 : 1;
}
