/*
 * main.c - alignmilter's command line and process life cycle.
 *
 * Owns: option parsing, the order of start-up (config, socket as root,
 * detach, PID file, drop privileges, pipeline, the MetricsListen endpoint
 * (metrics-http.h), then the connection cap,
 * which counts the descriptors all of these hold: connlimit.h), signal
 * handling and the orderly stop.  Signals are handled by the main thread through a
 * self-pipe: libmilter's own signal thread would treat SIGHUP as "stop",
 * so the main thread keeps SIGHUP/SIGTERM/SIGINT unblocked (the kernel
 * prefers the thread-group leader for process signals) while every
 * other thread is started with them blocked.
 *
 * Errors: usage and configuration errors, and those of -n and -t, go to
 * stderr; once the daemon starts, a failed start-up is logged (am_log,
 * LOG_ERR), as are the start, the connection cap chosen, the stop and
 * work still running after STOP_GRACE_SECONDS.  Exit status 1 on failure, else the transport's.
 *
 * Threads: the main thread; it starts the transport's thread (and, with
 * MetricsListen, libmicrohttpd's) and keeps the signals, as above.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Utility library. */
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

/* Policy and renderers. */
#include "policy/conf.h"
#include "policy/pipeline.h"

/* Application-specific. */
#include "connlimit.h"
#include "daemon.h"
#include "listen.h"
#include "metrics-http.h"
#include "offline.h"
#include "transport.h"
#include "version.h"

#define STOP_GRACE_SECONDS 30		/* running callbacks get this long */

struct options {
	const char *config_path;
	bool	config_given;
	bool	foreground;
	const char *socket;
	bool	check_only;
	bool	version;
	const char *test_file;
	const char *ip, *helo, *mail_from;
};

static int signal_pipe[2] = { -1, -1 };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: alignmilter [-f] [-c FILE] [-p SOCKET]\n"
	    "       alignmilter -n [-c FILE]          check the configuration\n"
	    "       alignmilter -V                    versions\n"
	    "       alignmilter -t FILE|- --ip ADDR --helo NAME --mail-from ADDR [-c FILE]\n"
	    "                                         check a saved message offline\n");
}

/* 0: go on, 1: exit 0 (help), -1: usage error. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "ip", required_argument, NULL, 'I' },
		{ "helo", required_argument, NULL, 'H' },
		{ "mail-from", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config_path = AM_DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:fp:nVt:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; o->config_given = true; break;
		case 'f': o->foreground = true; break;
		case 'p': o->socket = optarg; break;
		case 'n': o->check_only = true; break;
		case 'V': o->version = true; break;
		case 't': o->test_file = optarg; break;
		case 'I': o->ip = optarg; break;
		case 'H': o->helo = optarg; break;
		case 'M': o->mail_from = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "alignmilter: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (o->test_file == NULL && (o->ip || o->helo || o->mail_from)) {
		fprintf(stderr, "alignmilter: --ip, --helo and --mail-from go with -t\n");
		return -1;
	}
	return 0;
}

/* The default config file may be absent (defaults apply); a named one may not. */
static bool
load_config(const struct options *o, struct am_conf *c, char *err, size_t errlen)
{
	if (!am_conf_load_or_defaults(c, o->config_path, o->config_given, err, errlen))
		return false;
	if (o->socket != NULL && !am_conf_set(c, "Socket", o->socket, err, errlen))
		return false;
	return true;
}

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	(void)write(signal_pipe[1], &b, 1);
	errno = saved;
}

static bool
install_signal_handlers(char *err, size_t errlen)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return false;
	}
	(void)fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return true;
}

static void
block_stop_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

struct milter_run {
	const struct am_transport *transport;
	am_pipeline *pipeline;
	unsigned max_connections;
	int	rc;
};

static void *
milter_thread(void *arg)
{
	struct milter_run *run = arg;

	run->rc = run->transport->run(run->pipeline, run->max_connections);
	/* Wake the main thread if the transport stopped on its own. */
	on_signal(0);
	return NULL;
}

/*
 * Let work in flight finish (its replies reach the MTA), within
 * STOP_GRACE_SECONDS; false if some is still running.
 */
static bool
wait_for_inflight(const struct am_transport *t)
{
	time_t deadline = time(NULL) + STOP_GRACE_SECONDS;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (t->inflight() > 0 && time(NULL) < deadline)
		nanosleep(&ts, NULL);
	if (t->inflight() == 0)
		return true;
	am_log(LOG_WARNING, "stopping with %u %s still running", t->inflight(), t->inflight_what);
	return false;
}

/* Main thread: wait for signals until asked to stop. */
static void
signal_loop(am_pipeline *pipeline)
{
	unsigned char sig;
	ssize_t n;

	for (;;) {
		n = read(signal_pipe[0], &sig, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || sig == 0)
			return;
		if (sig == SIGHUP) {
			am_pipeline_reopen_log(pipeline);
			continue;
		}
		am_log(LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

/* Threads made from here on must not take the main thread's signals. */
static am_pipeline *
start_pipeline(const struct am_conf *c, char *err, size_t errlen)
{
	am_pipeline *e;
	sigset_t old;

	block_stop_signals(&old);
	e = am_pipeline_new(c, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != NULL && !am_pipeline_open_log(e, err, errlen)) {
		am_pipeline_free(e);
		return NULL;
	}
	return e;
}

/*
 * MetricsListen: counting starts with the endpoint (off, the hot path
 * pays one relaxed load); its thread must not take the stop signals.
 */
static bool
start_metrics(const struct am_conf *c, struct am_metrics_http **out, char *err, size_t errlen)
{
	sigset_t old;

	*out = NULL;
	if (c->metrics_listen == NULL)
		return true;
	am_metrics_enable(true);
	block_stop_signals(&old);
	*out = am_metrics_http_start(&c->metrics_addr, c->metrics_listen, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (*out == NULL) {
		am_metrics_enable(false);
		return false;
	}
	am_log(LOG_INFO, "metrics at http://%s/metrics", c->metrics_listen);
	return true;
}

static int
run_daemon(const struct options *o, struct am_conf *c)
{
	char err[512];
	pthread_t tid;
	sigset_t old;
	struct milter_run run = { NULL, NULL, 0, 0 };
	struct am_connlimit_info limits;
	struct am_metrics_http *metrics = NULL;

	run.transport = c->use_libmilter ? &am_transport_libmilter : &am_transport_native;
	am_log_init("alignmilter", c->syslog, c->syslog_facility, o->foreground);
	/* A unix socket is born the UserID user's (listen.h): no chown here. */
	if (!am_conf_check_system(c, err, sizeof(err)) || !run.transport->open(c, err, sizeof(err)))
		goto fail;
	if (!o->foreground && !am_daemonize(err, sizeof(err)))
		goto fail;
	if (c->pid_file != NULL && !am_pidfile_write(c->pid_file, err, sizeof(err)))
		goto fail;
	if (c->user_id != NULL && !am_drop_privileges(c->user_id, err, sizeof(err)))
		goto fail;
	/* Allowed, but never silently: root would parse every sender's mail. */
	if (c->user_id == NULL && geteuid() == 0)
		am_log(LOG_WARNING, "running as root: set UserID to drop privileges");
	/* After the fork and the privilege drop: the resolver's threads live here. */
	if ((run.pipeline = start_pipeline(c, err, sizeof(err))) == NULL)
		goto fail;
	if (!install_signal_handlers(err, sizeof(err)))
		goto fail;
	if (!start_metrics(c, &metrics, err, sizeof(err)))
		goto fail;
	/* With every start-up descriptor open: what is left bounds the MTA connections. */
	am_connlimit_init(c->max_connections, &limits);
	run.max_connections = limits.max_connections;

	block_stop_signals(&old);
	if (pthread_create(&tid, NULL, milter_thread, &run) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(err, sizeof(err), "cannot start the milter thread");
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	am_log(LOG_INFO, "%s %s listening on %s (%s engine; DMARC by %s)", PACKAGE_NAME, PACKAGE_VERSION,
	    c->socket, run.transport->name, c->dmarc_standard == AM_DMARC_RFC7489 ?
	    "RFC 7489, Public Suffix List" : "RFC 9989, DNS tree walk");
	am_log(LOG_INFO, "at most %u MTA connections at once (MaxConnections %s; %lu file descriptors, "
	    "%lu open, %lu kept for DNS and files)", limits.max_connections,
	    c->max_connections == 0 ? "auto" : "set", limits.nofile, limits.open, limits.reserved);

	signal_loop(run.pipeline);
	run.transport->stop();
	pthread_join(tid, NULL);
	if (!wait_for_inflight(run.transport)) {
		/*
		 * Work still running after the grace period reads the pipeline
		 * and the configuration: end the process here, before main()
		 * frees either or exit handlers tear libraries down under it.
		 */
		am_listen_remove(c);
		am_pidfile_remove(c->pid_file);
		am_log(LOG_INFO, "stopped");
		_exit(run.rc);
	}
	am_metrics_http_stop(metrics);
	am_pipeline_free(run.pipeline);
	am_listen_remove(c);
	am_pidfile_remove(c->pid_file);
	am_log(LOG_INFO, "stopped");
	return run.rc;
fail:
	am_log(LOG_ERR, "%s", err);
	am_metrics_http_stop(metrics);
	am_pidfile_remove(c->pid_file);
	am_pipeline_free(run.pipeline);
	return 1;
}

/* -t: the offline check of a saved message. */
static int
run_offline(const struct options *o, struct am_conf *c)
{
	char err[512], *mail_from;
	am_pipeline *e;
	size_t len;
	int rc;

	if (o->ip == NULL || o->helo == NULL || o->mail_from == NULL) {
		fprintf(stderr, "alignmilter: -t needs --ip ADDR --helo NAME --mail-from ADDR (<> for the null sender)\n");
		return 1;
	}
	/* "<user@example.com>" and "user@example.com" alike; "<>" is the null sender. */
	/* Whole, as the session keeps it: the pipeline judges an over-long one. */
	mail_from = am_xstrdup(o->mail_from[0] == '<' ? o->mail_from + 1 : o->mail_from);
	len = strlen(mail_from);
	if (len > 0 && mail_from[len - 1] == '>')
		mail_from[len - 1] = '\0';
	am_log_init("alignmilter", false, LOG_MAIL, true);
	if ((e = am_pipeline_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "alignmilter: %s\n", err);
		free(mail_from);
		return 1;
	}
	rc = am_offline_check(e, o->test_file, o->ip, o->helo, mail_from, stdout, stderr);
	am_pipeline_free(e);
	free(mail_from);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct am_conf conf;
	char err[512];
	int rc;

	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc > 0 ? 0 : 1;
	if (o.version) {
		am_version_print(stdout);
		return 0;
	}
	if (!load_config(&o, &conf, err, sizeof(err))) {
		fprintf(stderr, "alignmilter: %s\n", err);
		am_conf_free(&conf);
		return 1;
	}
	if (o.check_only) {
		rc = am_conf_check_system(&conf, err, sizeof(err)) ? 0 : 1;
		if (rc == 0)
			printf("%s: configuration OK\n", o.config_path);
		else
			fprintf(stderr, "alignmilter: %s\n", err);
		am_conf_free(&conf);
		return rc;
	}
	rc = o.test_file != NULL ? run_offline(&o, &conf) : run_daemon(&o, &conf);
	am_conf_free(&conf);
	return rc;
}
