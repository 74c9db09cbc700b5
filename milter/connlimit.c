/*
 * connlimit.c - the MTA connection cap and the descriptor budget (see
 * connlimit.h, which also says how it fails and who may call it).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

/* Utility library. */
#include "util/log.h"
#include "util/metrics.h"

/* Application-specific. */
#include "connlimit.h"

/*
 * Kept for DNS: libunbound opens one UDP socket per query in flight (at
 * most num-queries-per-thread, 1,024, plus outgoing-num-tcp, 10, TCP
 * connections).  A quarter of the descriptors, at least DNS_MIN, at most
 * DNS_MAX: enough for every busy session's SPF, DKIM and DMARC lookups
 * while idle connections hold the rest.
 */
#define DNS_MIN			64
#define DNS_MAX			1100
/* Files opened later (log reopen, syslog reconnect, a refused accept). */
#define FILES_SPARE		16
#define REFUSAL_LOG_SECONDS	60

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned cap = AM_CONNLIMIT_MAX;	/* until init */
static unsigned count;			/* under lock, as the rest */
static bool refusing;			/* since the last admitted connection */
static bool burst_logged;		/* the refusal of this burst was logged */
static unsigned long refused;		/* in this burst */
static time_t last_warning;

/* Soft RLIMIT_NOFILE up to the hard one; the soft limit now (0 if unknown). */
static unsigned long
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 0;
	}
	/* "unlimited": as many as a thread per connection would ever use */
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1024UL * 1024)
		return 1024UL * 1024;
	return (unsigned long)rl.rlim_cur;
}

/* Descriptors open now: /proc/self/fd, else probing each number below the limit. */
static unsigned long
count_open(unsigned long nofile)
{
	struct dirent *e;
	unsigned long n = 0, fd;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		return n > 0 ? n - 1 : 0;	/* not the directory's own */
	}
	for (fd = 0; fd < nofile && fd < 65536; fd++)
		if (fcntl((int)fd, F_GETFD) != -1)
			n++;
	return n;
}

void
am_connlimit_init(unsigned configured, struct am_connlimit_info *info)
{
	unsigned long nofile = raise_nofile(), dns, budget;

	info->nofile = nofile;
	info->open = count_open(nofile != 0 ? nofile : 1024);
	dns = nofile / 4;
	if (dns < DNS_MIN)
		dns = DNS_MIN;
	if (dns > DNS_MAX)
		dns = DNS_MAX;
	info->reserved = dns + FILES_SPARE;
	budget = nofile > info->open + info->reserved ? nofile - info->open - info->reserved : 0;
	if (budget > AM_CONNLIMIT_MAX)
		budget = AM_CONNLIMIT_MAX;
	if (budget == 0)
		budget = 1;
	if (configured == 0) {
		info->max_connections = budget < AM_CONNLIMIT_AUTO_MAX ? (unsigned)budget : AM_CONNLIMIT_AUTO_MAX;
	} else if (configured > budget) {
		info->max_connections = (unsigned)budget;
		am_log(LOG_WARNING, "MaxConnections %u lowered to %u: %lu file descriptors, %lu open, "
		    "%lu kept for DNS and files (raise the limit: LimitNOFILE= with systemd, ulimit -n)",
		    configured, info->max_connections, nofile, info->open, info->reserved);
	} else {
		info->max_connections = configured;
	}
	pthread_mutex_lock(&lock);
	cap = info->max_connections;
	pthread_mutex_unlock(&lock);
}

bool
am_connlimit_admit(void)
{
	unsigned long was_refused = 0;
	bool admitted, warn = false, recovered = false;
	unsigned at;
	time_t now;

	pthread_mutex_lock(&lock);
	at = cap;
	admitted = count < cap;
	if (admitted) {
		count++;
		if (refusing) {
			recovered = burst_logged;
			was_refused = refused;
			refusing = false;
		}
	} else {
		if (!refusing) {
			now = time(NULL);
			refusing = true;
			refused = 0;
			/* A cap flapping at its edge logs at most a line a minute. */
			burst_logged = warn = last_warning == 0 || now - last_warning >= REFUSAL_LOG_SECONDS;
			if (warn)
				last_warning = now;
		}
		refused++;
	}
	/* Set under the lock that orders count: the gauge is exact even if metrics came on late. */
	am_metrics_gauge_set(AM_MET_CONN_OPEN, (long long)count);
	pthread_mutex_unlock(&lock);
	if (!admitted)
		am_metrics_count(AM_MET_CONN_REFUSED);
	if (warn)
		am_log(LOG_WARNING, "%u MTA connections open (MaxConnections): refusing new ones until some "
		    "close; the MTA applies its milter_default_action", at);
	if (recovered)
		am_log(LOG_NOTICE, "accepting MTA connections again after refusing %lu", was_refused);
	return admitted;
}

void
am_connlimit_release(void)
{
	pthread_mutex_lock(&lock);
	if (count > 0)
		count--;
	am_metrics_gauge_set(AM_MET_CONN_OPEN, (long long)count);
	pthread_mutex_unlock(&lock);
}
