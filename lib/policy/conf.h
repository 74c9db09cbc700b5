/*
 * conf.h - alignmilter's configuration file.
 *
 * Owns: the settings of /etc/alignmilter.conf ("Key value" per line, keys
 * case-insensitive, '#' comments), their defaults, and their validation.
 *
 * Errors: nothing is logged; every problem goes to err for the caller and
 * the call returns false.  A file's problems are reported all at once, one
 * "FILE:LINE: message" per line, an over-long line or a NUL byte in one
 * included (a read error stops the reading).  Out of memory aborts.
 *
 * Threads: not thread-safe: loading and the system checks run on the main
 * thread at start-up (getpwnam, getgrnam); the loaded struct am_conf is
 * then only read, by any thread.
 */
#ifndef AM_CONF_H
#define AM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/hostport.h"
#include "util/netlist.h"
#include "util/sockspec.h"
#include "auth/dmarc.h"

#define AM_DEFAULT_CONFIG	"/etc/alignmilter.conf"
#define AM_DEFAULT_SOCKET	"unix:/run/alignmilter/alignmilter.sock"
#define AM_DEFAULT_PSL		"/usr/share/publicsuffix/public_suffix_list.dat"
#define AM_DEFAULT_IGNORE	"127.0.0.1,::1"
/* The most MaxConnections may say (the native engine: a thread per connection). */
#define AM_CONF_MAX_CONNECTIONS	4096
#define AM_DEFAULT_RESPOND_SPOOL	"/var/spool/alignmilter-respond"
#define AM_DEFAULT_RESPOND_STATE	"/var/lib/alignmilter-respond/state"
#define AM_DEFAULT_RESPOND_SENDMAIL	"/usr/sbin/sendmail"
#define AM_DEFAULT_RESPOND_CHECK	"/usr/bin/alignmilter-check"

struct am_conf {
	char	*socket;		/* Socket */
	struct am_sockspec sockspec;	/* parsed Socket */
	unsigned socket_mode;		/* SocketMode (unix sockets) */
	char	*authserv_id;		/* AuthservID; default: host name */
	char	*nameservers;		/* Nameservers; NULL: resolv.conf */
	unsigned dns_timeout;		/* DNSTimeout, seconds */
	size_t	dns_cache_size;		/* DNSCacheSize, bytes; 0: no answer cache */
	char	*alignment_log;		/* AlignmentLog; NULL: none */
	unsigned alignment_log_mode;	/* AlignmentLogMode */
	char	*psl_path;		/* PublicSuffixList */
	enum am_dmarc_standard dmarc_standard; /* DMARCStandard; default rfc9989 */
	char	*ignore_hosts_text;	/* IgnoreHosts as written */
	struct am_netlist ignore_hosts;
	char	*trusted_authres_text;	/* TrustedAuthResClients as written */
	struct am_netlist trusted_authres;	/* their A-R under our id is kept */
	bool	reject_failures;	/* RejectFailures */
	bool	reject_malformed_from;	/* RejectMalformedFrom (default yes; with RejectFailures only) */
	bool	syslog;			/* Syslog */
	int	syslog_facility;	/* SyslogFacility (LOG_*) */
	char	*syslog_facility_name;
	char	*user_id;		/* UserID "user[:group]"; NULL: stay */
	unsigned max_signatures;	/* MaximumSignatures */
	char	*pid_file;		/* PidFile; NULL: none */
	bool	use_libmilter;		/* MilterEngine libmilter (default: native) */
	unsigned max_connections;	/* MaxConnections; 0: auto (from the descriptors) */
	char	*metrics_listen;	/* MetricsListen as written; NULL: off (no such line) */
	struct am_hostport metrics_addr;	/* parsed MetricsListen */
	/* alignmilter-respond(8) only; the milter ignores them, -n validates them. */
	char	*respond_probe;		/* RespondProbe; NULL: the responder refuses to start */
	char	*respond_delimiters;	/* RespondDelimiters, default "+" */
	char	*respond_from;		/* RespondFrom; NULL: the probe address */
	char	*respond_spool;		/* RespondSpool */
	char	*respond_state;		/* RespondState */
	char	*respond_sendmail;	/* RespondSendmail */
	char	*respond_check;		/* RespondCheck; NULL: "no" */
	unsigned respond_rate_limit;	/* RespondRateLimit, per reply address per window */
	unsigned respond_domain_rate_limit; /* RespondDomainRateLimit, per From domain */
	unsigned respond_window;	/* RespondWindow, seconds */
	size_t	respond_max_size;	/* RespondMaxSize, bytes */
	unsigned respond_retries;	/* RespondRetries, exit 75s per queue id */
	/* The alignment log's "host" (the milter) and alignmilter-report(1)'s sender. */
	char	*reporting_host;	/* ReportingHost; default: host name */
	char	*report_from;		/* ReportFrom; NULL: alignmilter-report's default */
	char	*report_org;		/* ReportOrg; NULL: the host name */
};

/* Fill defaults (never fails). */
void	am_conf_defaults(struct am_conf *);
/*
 * Read path over the defaults.  On error returns false and writes
 * "path:line: message" into err.
 */
bool	am_conf_load(struct am_conf *, const char *path, char *err, size_t errlen);
/*
 * The same parser over len bytes of text (fuzzing, tests); name stands in
 * for the path in messages.  Behaves exactly as am_conf_load on a file
 * holding those bytes.
 */
bool	am_conf_parse_text(struct am_conf *, const char *text, size_t len, const char *name,
	    char *err, size_t errlen);
/*
 * Defaults, then path over them.  The default file (given == false) may be
 * absent, and then the defaults alone apply; a file named on the command
 * line must exist.
 */
bool	am_conf_load_or_defaults(struct am_conf *, const char *path, bool given, char *err, size_t errlen);
/* Parse one "Key value" line (for -p overrides and tests). */
bool	am_conf_set(struct am_conf *, const char *key, const char *value, char *err, size_t errlen);
/*
 * Checks that need the system (PSL file readable, UserID exists);
 * false with err.
 */
bool	am_conf_check_system(const struct am_conf *, char *err, size_t errlen);
/* Resolve UserID into uid/gid; false with err. */
bool	am_conf_lookup_user(const char *user_id, uid_t *uid, gid_t *gid, char *err, size_t errlen);
void	am_conf_free(struct am_conf *);

#endif
