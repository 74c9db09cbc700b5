/*
 * check_appendfile.c - unit tests of lib/util/appendfile.c, the alignment
 * log's record file: every record is one whole line, from any number of
 * threads, and a full disk costs the records it cuts, never the ones after
 * it (a record cut by a short write must not glue the next one to it).
 *
 * The full-disk case mounts a 16 KiB tmpfs, so it needs root (as CI and
 * tests/bootstrap.sh run); elsewhere it says it was skipped.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Utility library. */
#include "util/appendfile.h"
#include "util/log.h"

#include "testutil.h"

static char dir[64];
static char mnt[128];

static void
setup(void)
{
	am_log_init("check_appendfile", false, 0, true);
	strcpy(dir, "/tmp/check_appendfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* One record of len bytes (len >= 8): "<tag> xxx...x\n". */
static char *
record(const char *tag, size_t len)
{
	char *r = malloc(len + 1);
	int n;

	ck_assert_ptr_nonnull(r);
	memset(r, 'x', len);
	n = snprintf(r, len, "%s ", tag);
	r[n] = ' ';
	r[len - 1] = '\n';
	r[len] = '\0';
	return r;
}

struct writer {
	am_appendfile *lf;
	int	id;
};

static void *
write_many(void *arg)
{
	struct writer *w = arg;
	char tag[32];
	char *r;
	int i;

	for (i = 0; i < 500; i++) {
		snprintf(tag, sizeof(tag), "t%d-%d", w->id, i);
		r = record(tag, 200 + (size_t)(i % 50));
		ck_assert(am_appendfile_append(w->lf, r, strlen(r)));
		free(r);
	}
	return NULL;
}

/* Four threads, 2,000 records: 2,000 whole lines, each as written. */
START_TEST(appendfile_threads_write_whole_lines)
{
	char path[128], *buf, *line, *save = NULL;
	struct writer w[4];
	pthread_t t[4];
	am_appendfile *lf;
	size_t len, lines = 0;
	int i;

	snprintf(path, sizeof(path), "%s/log", dir);
	lf = am_appendfile_open(path, 0640, path, sizeof(path));
	ck_assert_ptr_nonnull(lf);
	for (i = 0; i < 4; i++) {
		w[i].lf = lf;
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	am_appendfile_close(lf);
	snprintf(path, sizeof(path), "%s/log", dir);
	buf = tu_slurp(path, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(buf[len - 1], '\n');
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(line[0] == 't' && strspn(strchr(line, ' '), " x") == strlen(strchr(line, ' ')),
		    "line %zu is not one record: %.40s", lines + 1, line);
		lines++;
	}
	ck_assert_uint_eq(lines, 2000);
	free(buf);
}
END_TEST

/*
 * A full disk: records are refused (false), the one cut by the short
 * write is lost, and once there is room again the next record is a whole
 * line of its own - before the fix it was glued to the cut one.
 */
START_TEST(appendfile_full_disk_loses_only_the_cut_record)
{
	char path[160], pad[160], err[256], *buf, *r, *last;
	am_appendfile *lf;
	size_t len;
	int i, refused = -1;
	FILE *fp;

	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	/*
	 * In a mount namespace of this test's own process (Check runs each
	 * test in a child), so the tmpfs goes away with it, failed or not.
	 */
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=16k") != 0) {
		fprintf(stderr, "appendfile full disk: skipped (mount tmpfs: %s; needs root)\n", strerror(errno));
		return;
	}
	/* 4 KiB of padding, freed later to let the log write again */
	snprintf(pad, sizeof(pad), "%s/pad", mnt);
	fp = fopen(pad, "w");
	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < 4096; i++)
		fputc('p', fp);
	ck_assert_int_eq(fclose(fp), 0);

	snprintf(path, sizeof(path), "%s/log", mnt);
	lf = am_appendfile_open(path, 0640, err, sizeof(err));
	ck_assert_msg(lf != NULL, "%s", err);
	for (i = 0; i < 40 && refused < 0; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "r%d", i);
		r = record(tag, 1000);
		if (!am_appendfile_append(lf, r, strlen(r)))
			refused = i;
		free(r);
	}
	ck_assert_msg(refused > 0, "the 16 KiB disk never filled");
	ck_assert_int_eq(unlink(pad), 0);
	r = record("after", 300);
	ck_assert_msg(am_appendfile_append(lf, r, strlen(r)), "no record written after room came back");
	am_appendfile_close(lf);

	buf = tu_slurp(path, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(buf[len - 1], '\n');
	buf[len - 1] = '\0';
	last = strrchr(buf, '\n');
	last = last != NULL ? last + 1 : buf;
	r[strlen(r) - 1] = '\0';
	ck_assert_msg(strcmp(last, r) == 0, "the record after the outage is not a line of its own: %.60s...", last);
	fprintf(stderr, "appendfile full disk: record %d refused (cut at %zu bytes of log), the next one whole\n",
	    refused, len);
	free(r);
	free(buf);
	ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("appendfile");
	TCase *tc = tcase_create("appendfile");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, appendfile_threads_write_whole_lines);
	tcase_add_test(tc, appendfile_full_disk_loses_only_the_cut_record);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
