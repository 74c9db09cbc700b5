/*
 * check_metrics.c - unit tests of lib/util/metrics.c (the registry and its
 * Prometheus text format 0.0.4 rendering) and lib/policy/metrics-verdict.c
 * (a verdict into closed label sets).
 *
 * The format rules cited are those of the Prometheus "Exposition formats"
 * page, text format 0.0.4: "# HELP" and "# TYPE" lines, label values with
 * backslash, double quote and line feed escaped, histogram buckets
 * cumulative with le="+Inf" equal to _count.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Utility library. */
#include "util/metrics.h"
#include "util/util.h"

/* Policy. */
#include "policy/metrics-verdict.h"

static void
setup(void)
{
	am_metrics_reset();
	am_metrics_enable(true);
}

static void
teardown(void)
{
	am_metrics_enable(false);
	am_metrics_reset();
}

/* The rendering of one family, for exact comparison; caller frees. */
static char *
render(enum am_metric m)
{
	struct am_buf b;

	am_buf_init(&b);
	am_metrics_render_family(&b, m);
	return b.data != NULL ? b.data : am_xstrdup("");
}

#define ck_render(m, want) do { \
	char *got_ = render(m); \
	ck_assert_str_eq(got_, (want)); \
	free(got_); \
} while (0)

START_TEST(metrics_counts_and_renders_exactly)
{
	am_metrics_count1(AM_MET_DNS_QUERIES, AM_MET_DNS_OK);
	am_metrics_count1(AM_MET_DNS_QUERIES, AM_MET_DNS_OK);
	am_metrics_count1(AM_MET_DNS_QUERIES, AM_MET_DNS_TIMEOUT);
	am_metrics_count1(AM_MET_DNS_QUERIES, 99);	/* out of range: the last value, "other" */
	/* One label: every value rendered, zeros too (rate() needs the series). */
	ck_render(AM_MET_DNS_QUERIES,
	    "# HELP alignmilter_dns_queries_total DNS queries sent, by outcome.\n"
	    "# TYPE alignmilter_dns_queries_total counter\n"
	    "alignmilter_dns_queries_total{outcome=\"ok\"} 2\n"
	    "alignmilter_dns_queries_total{outcome=\"nxdomain\"} 0\n"
	    "alignmilter_dns_queries_total{outcome=\"nodata\"} 0\n"
	    "alignmilter_dns_queries_total{outcome=\"servfail\"} 0\n"
	    "alignmilter_dns_queries_total{outcome=\"timeout\"} 1\n"
	    "alignmilter_dns_queries_total{outcome=\"other\"} 1\n");
	/* Several labels: only the combinations seen. */
	am_metrics_inc(AM_MET_MESSAGES, am_metrics_label(AM_MET_MESSAGES, 0, "fail"),
	    am_metrics_label(AM_MET_MESSAGES, 1, "reject"), 0);
	ck_render(AM_MET_MESSAGES,
	    "# HELP alignmilter_messages_total Messages verified, by DMARC result and disposition.\n"
	    "# TYPE alignmilter_messages_total counter\n"
	    "alignmilter_messages_total{dmarc_result=\"fail\",disposition=\"reject\"} 1\n");
	am_metrics_count(AM_MET_DNS_CACHE_HITS);
	ck_render(AM_MET_DNS_CACHE_HITS,
	    "# HELP alignmilter_dns_cache_hits_total DNS lookups answered from the cache.\n"
	    "# TYPE alignmilter_dns_cache_hits_total counter\n"
	    "alignmilter_dns_cache_hits_total 1\n");
	am_metrics_gauge_add(AM_MET_CONN_OPEN, 3);
	am_metrics_gauge_add(AM_MET_CONN_OPEN, -1);
	ck_render(AM_MET_CONN_OPEN,
	    "# HELP alignmilter_connections_open MTA connections open.\n"
	    "# TYPE alignmilter_connections_open gauge\n"
	    "alignmilter_connections_open 2\n");
	/* A counter is no gauge: a gauge update on it does nothing. */
	am_metrics_gauge_set(AM_MET_DNS_CACHE_HITS, 7);
	ck_render(AM_MET_DNS_CACHE_HITS,
	    "# HELP alignmilter_dns_cache_hits_total DNS lookups answered from the cache.\n"
	    "# TYPE alignmilter_dns_cache_hits_total counter\n"
	    "alignmilter_dns_cache_hits_total 1\n");
}
END_TEST

START_TEST(metrics_label_sets_are_closed)
{
	/* A value outside the set is "other", never itself (no domain ever becomes a label). */
	ck_assert_uint_eq(am_metrics_label(AM_MET_SES, 1, "eu-west-1"), 7);
	ck_assert_uint_eq(am_metrics_label(AM_MET_SES, 1, "example.com"),
	    am_metrics_label(AM_MET_SES, 1, "other"));
	ck_assert_uint_eq(am_metrics_label(AM_MET_DKIM, 1, "rsa-sha512"),
	    am_metrics_label(AM_MET_DKIM, 1, "other"));
	ck_assert_uint_eq(am_metrics_label(AM_MET_DKIM, 1, NULL),
	    am_metrics_label(AM_MET_DKIM, 1, "other"));
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 512), "<1024");
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 1024), "1024");
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 2048), "2048");
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 4096), "4096");
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 3072), "other");
	ck_assert_str_eq(am_metrics_key_size("rsa-sha256", 0), "other");
	ck_assert_str_eq(am_metrics_key_size("ed25519-sha256", 0), "ed25519");
}
END_TEST

START_TEST(metrics_escapes_label_values)
{
	struct am_buf b;
	char *all;

	am_buf_init(&b);
	am_metrics_escape_label(&b, "a\\b\"c\nd");
	ck_assert_str_eq(b.data, "a\\\\b\\\"c\\nd");
	am_buf_free(&b);
	/* The one free-form label, the version, goes through the same escaping. */
	am_metrics_set_version("1.0\"x\\\n");
	ck_render(AM_MET_BUILD_INFO,
	    "# HELP alignmilter_build_info Build information; the value is always 1.\n"
	    "# TYPE alignmilter_build_info gauge\n"
	    "alignmilter_build_info{version=\"1.0\\\"x\\\\\\n\"} 1\n");
	am_metrics_set_version(PACKAGE_VERSION);
	all = render(AM_MET_START_TIME);
	ck_assert_ptr_nonnull(strstr(all, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1"));
	free(all);
}
END_TEST

START_TEST(metrics_histogram_buckets_are_cumulative)
{
	char *got, *p;

	am_metrics_observe(AM_MET_EOM_SECONDS, 0.00005);	/* <= 0.0001 */
	am_metrics_observe(AM_MET_EOM_SECONDS, 0.001);	/* == 0.001: le is inclusive */
	am_metrics_observe(AM_MET_EOM_SECONDS, 0.3);	/* <= 0.5 */
	am_metrics_observe(AM_MET_EOM_SECONDS, 60);	/* +Inf only */
	am_metrics_observe(AM_MET_EOM_SECONDS, -1);	/* a clock step: counted as 0 */
	got = render(AM_MET_EOM_SECONDS);
	ck_assert_str_eq(got,
	    "# HELP alignmilter_eom_seconds Time spent in the end-of-message callback.\n"
	    "# TYPE alignmilter_eom_seconds histogram\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.0001\"} 2\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.00025\"} 2\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.0005\"} 2\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.001\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.0025\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.005\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.01\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.025\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.05\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.1\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.25\"} 3\n"
	    "alignmilter_eom_seconds_bucket{le=\"0.5\"} 4\n"
	    "alignmilter_eom_seconds_bucket{le=\"1\"} 4\n"
	    "alignmilter_eom_seconds_bucket{le=\"2.5\"} 4\n"
	    "alignmilter_eom_seconds_bucket{le=\"5\"} 4\n"
	    "alignmilter_eom_seconds_bucket{le=\"10\"} 4\n"
	    "alignmilter_eom_seconds_bucket{le=\"+Inf\"} 5\n"
	    "alignmilter_eom_seconds_sum 60.301050\n"
	    "alignmilter_eom_seconds_count 5\n");
	free(got);
	/* The other histogram is untouched. */
	got = render(AM_MET_VERIFY_SECONDS);
	p = strstr(got, "alignmilter_verify_seconds_count 0\n");
	ck_assert_ptr_nonnull(p);
	free(got);
}
END_TEST

#define NTHREADS	8
#define PER_THREAD	100000

static void *
hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		am_metrics_count1(AM_MET_SPF, 2);
		am_metrics_observe(AM_MET_VERIFY_SECONDS, 0.002);
		am_metrics_gauge_add(AM_MET_CONN_OPEN, i % 2 == 0 ? 1 : -1);
	}
	return NULL;
}

START_TEST(metrics_threads_lose_no_update)
{
	pthread_t t[NTHREADS];
	char want[128], *got;

	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	got = render(AM_MET_SPF);
	snprintf(want, sizeof(want), "alignmilter_spf_results_total{result=\"pass\"} %d\n",
	    NTHREADS * PER_THREAD);
	ck_assert_ptr_nonnull(strstr(got, want));
	free(got);
	got = render(AM_MET_VERIFY_SECONDS);
	snprintf(want, sizeof(want), "alignmilter_verify_seconds_bucket{le=\"0.0025\"} %d\n",
	    NTHREADS * PER_THREAD);
	ck_assert_ptr_nonnull(strstr(got, want));
	snprintf(want, sizeof(want), "alignmilter_verify_seconds_sum %d.000000\n",
	    NTHREADS * PER_THREAD * 2 / 1000);
	ck_assert_ptr_nonnull(strstr(got, want));
	free(got);
	ck_render(AM_MET_CONN_OPEN,
	    "# HELP alignmilter_connections_open MTA connections open.\n"
	    "# TYPE alignmilter_connections_open gauge\n"
	    "alignmilter_connections_open 0\n");
}
END_TEST

START_TEST(metrics_off_counts_nothing)
{
	struct am_verdict v;
	struct am_buf on, off;

	am_buf_init(&on);
	am_buf_init(&off);
	am_metrics_render(&on);
	am_metrics_enable(false);
	ck_assert(!am_metrics_on());
	memset(&v, 0, sizeof(v));
	v.dmarc.result = AM_DMARC_FAIL;
	am_metrics_count_verdict(&v, 0.5);
	am_metrics_count1(AM_MET_DNS_QUERIES, AM_MET_DNS_OK);
	am_metrics_count(AM_MET_DNS_CACHE_MISSES);
	am_metrics_gauge_set(AM_MET_DNS_CACHE_BYTES, 100);
	am_metrics_gauge_add(AM_MET_CONN_OPEN, 1);
	am_metrics_observe(AM_MET_EOM_SECONDS, 0.1);
	am_metrics_error(AM_MET_ERR_DNS);
	am_metrics_render(&off);
	ck_assert_str_eq(off.data, on.data);
	am_buf_free(&on);
	am_buf_free(&off);
}
END_TEST

/* A verdict as the pipeline hands it: every family it feeds, with closed labels only. */
START_TEST(metrics_count_verdict_maps_to_closed_sets)
{
	struct am_verdict *v = am_xcalloc(1, sizeof(*v));
	char *got;

	v->dmarc.result = AM_DMARC_FAIL;
	v->dmarc.disposition = AM_POLICY_QUARANTINE;
	v->spf.result = AM_SPF_SOFTFAIL;
	v->dkim.count = 3;
	v->dkim.sig[0].result = AM_DKIM_PASS;
	am_strlcpy(v->dkim.sig[0].algorithm, "rsa-sha256", sizeof(v->dkim.sig[0].algorithm));
	v->dkim.sig[0].keybits = 2048;
	v->dkim.sig[1].result = AM_DKIM_FAIL;
	am_strlcpy(v->dkim.sig[1].algorithm, "ed25519-sha256", sizeof(v->dkim.sig[1].algorithm));
	v->dkim.sig[2].result = AM_DKIM_PERMERROR;
	am_strlcpy(v->dkim.sig[2].algorithm, "x-evil.example", sizeof(v->dkim.sig[2].algorithm));
	v->dkim.sig[2].keybits = 768;
	v->hints = 1u << AM_HINT_SES_DEFAULT_MAIL_FROM | 1u << AM_HINT_DMARC_POLICY_NONE;
	v->ses.is_ses = true;
	v->ses.default_mail_from = true;
	am_strlcpy(v->ses.region, "us-east-1", sizeof(v->ses.region));
	am_strlcpy(v->from_domain, "example.com", sizeof(v->from_domain));
	am_metrics_count_verdict(v, 0.004);
	v->ses.default_mail_from = false;
	am_strlcpy(v->ses.region, "xx-mars-1", sizeof(v->ses.region));
	am_metrics_count_verdict(v, 0.004);
	v->ses.region[0] = '\0';
	am_metrics_count_verdict(v, 0.004);

	got = render(AM_MET_DKIM);
	ck_assert_str_eq(got,
	    "# HELP alignmilter_dkim_signatures_total DKIM signatures, by result, algorithm and key size.\n"
	    "# TYPE alignmilter_dkim_signatures_total counter\n"
	    "alignmilter_dkim_signatures_total{result=\"pass\",algorithm=\"rsa-sha256\",key_size=\"2048\"} 3\n"
	    "alignmilter_dkim_signatures_total{result=\"fail\",algorithm=\"ed25519-sha256\",key_size=\"ed25519\"} 3\n"
	    "alignmilter_dkim_signatures_total{result=\"permerror\",algorithm=\"other\",key_size=\"<1024\"} 3\n");
	free(got);
	got = render(AM_MET_SES);
	ck_assert_str_eq(got,
	    "# HELP alignmilter_ses_messages_total Messages sent through Amazon SES, by MAIL FROM kind and region.\n"
	    "# TYPE alignmilter_ses_messages_total counter\n"
	    "alignmilter_ses_messages_total{mail_from=\"default\",region=\"us-east-1\"} 1\n"
	    "alignmilter_ses_messages_total{mail_from=\"custom\",region=\"unknown\"} 1\n"
	    "alignmilter_ses_messages_total{mail_from=\"custom\",region=\"other\"} 1\n");
	free(got);
	got = render(AM_MET_HINTS);
	ck_assert_ptr_nonnull(strstr(got, "alignmilter_hints_total{hint=\"ses-default-mail-from\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(got, "alignmilter_hints_total{hint=\"dmarc-policy-none\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(got, "alignmilter_hints_total{hint=\"other\"} 0\n"));
	free(got);
	got = render(AM_MET_MESSAGES);
	ck_assert_ptr_nonnull(strstr(got,
	    "alignmilter_messages_total{dmarc_result=\"fail\",disposition=\"quarantine\"} 3\n"));
	free(got);
	got = render(AM_MET_SPF);
	ck_assert_ptr_nonnull(strstr(got, "alignmilter_spf_results_total{result=\"softfail\"} 3\n"));
	free(got);
	got = render(AM_MET_VERIFY_SECONDS);
	ck_assert_ptr_nonnull(strstr(got, "alignmilter_verify_seconds_bucket{le=\"0.005\"} 3\n"));
	free(got);
	/* Nothing of the message's own names reaches the page. */
	{
		struct am_buf b;

		am_buf_init(&b);
		am_metrics_render(&b);
		ck_assert_ptr_null(strstr(b.data, "example"));
		ck_assert_ptr_null(strstr(b.data, "mars"));
		am_buf_free(&b);
	}
	free(v);
}
END_TEST

/*
 * The whole page parses line by line under the 0.0.4 grammar: each family
 * has one HELP and one TYPE before its samples, sample names start with
 * the family name, every sample line is name[{labels}] value.
 */
START_TEST(metrics_page_is_well_formed)
{
	struct am_buf b;
	char family[128] = "", *line, *save = NULL;
	unsigned helps = 0, types = 0, samples = 0;

	am_buf_init(&b);
	am_metrics_count1(AM_MET_ERRORS, AM_MET_ERR_ALIGNLOG_WRITE);
	am_metrics_render(&b);
	for (line = strtok_r(b.data, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s", family), 1);
			helps++;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128], type[32];

			ck_assert_int_eq(sscanf(line + 7, "%127s %31s", name, type), 2);
			ck_assert_str_eq(name, family);
			ck_assert(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0);
			types++;
		} else {
			const char *sp = strrchr(line, ' ');
			char *end;

			ck_assert_msg(strncmp(line, family, strlen(family)) == 0, "%s", line);
			ck_assert_ptr_nonnull(sp);
			(void)strtod(sp + 1, &end);
			ck_assert_msg(*end == '\0' && end != sp + 1, "%s", line);
			samples++;
		}
	}
	ck_assert_uint_eq(helps, AM_MET_COUNT);
	ck_assert_uint_eq(types, AM_MET_COUNT);
	ck_assert_uint_gt(samples, AM_MET_COUNT);
	am_buf_free(&b);
}
END_TEST

/* An independent parser and linter: Debian's promtool (prometheus package), when installed. */
START_TEST(metrics_page_passes_promtool)
{
	struct am_buf b;
	FILE *p;
	int st;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		fprintf(stderr, "check_metrics: promtool not installed, page not linted\n");
		return;
	}
	am_metrics_inc(AM_MET_DKIM, 1, 1, 4);
	am_metrics_inc(AM_MET_SES, 0, 0, 0);
	am_metrics_observe(AM_MET_VERIFY_SECONDS, 0.02);
	am_metrics_set_version("0.1.0 \"q\"");
	am_buf_init(&b);
	am_metrics_render(&b);
	am_metrics_set_version(PACKAGE_VERSION);
	p = popen("/usr/bin/promtool check metrics", "w");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fwrite(b.data, 1, b.len, p), b.len);
	st = pclose(p);
	ck_assert_msg(st == 0, "promtool check metrics: status %d", st);
	am_buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metrics_counts_and_renders_exactly);
	tcase_add_test(tc, metrics_label_sets_are_closed);
	tcase_add_test(tc, metrics_escapes_label_values);
	tcase_add_test(tc, metrics_histogram_buckets_are_cumulative);
	tcase_add_test(tc, metrics_threads_lose_no_update);
	tcase_add_test(tc, metrics_off_counts_nothing);
	tcase_add_test(tc, metrics_count_verdict_maps_to_closed_sets);
	tcase_add_test(tc, metrics_page_is_well_formed);
	tcase_add_test(tc, metrics_page_passes_promtool);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
