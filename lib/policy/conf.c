/*
 * conf.c - alignmilter's configuration file (see conf.h, which also says
 * how it fails and who may call it).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Policy and renderers. */
#include "policy/conf.h"
#include "policy/conf-int.h"

#define CONF_LINE_MAX	4096

void
am_conf_set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = am_xstrdup(value);
}

void
am_conf_defaults(struct am_conf *c)
{
	char host[256];
	char err[64];

	memset(c, 0, sizeof(*c));
	am_conf_set_string(&c->socket, AM_DEFAULT_SOCKET);
	(void)am_sockspec_parse(c->socket, &c->sockspec, err, sizeof(err));
	c->socket_mode = 0660;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		am_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	am_conf_set_string(&c->authserv_id, host);
	c->dns_timeout = 5;
	c->dns_cache_size = AM_RESOLVER_CACHE_DEFAULT;
	c->alignment_log_mode = 0640;
	am_conf_set_string(&c->psl_path, AM_DEFAULT_PSL);
	am_conf_set_string(&c->ignore_hosts_text, AM_DEFAULT_IGNORE);
	(void)am_netlist_parse(AM_DEFAULT_IGNORE, &c->ignore_hosts, err, sizeof(err));
	am_conf_set_string(&c->trusted_authres_text, "");
	c->reject_malformed_from = true;
	c->syslog = true;
	c->syslog_facility = LOG_MAIL;
	am_conf_set_string(&c->syslog_facility_name, "mail");
	c->max_signatures = 5;
	am_conf_tools_defaults(c, host);
}

void
am_conf_free(struct am_conf *c)
{
	free(c->socket);
	free(c->authserv_id);
	free(c->nameservers);
	free(c->alignment_log);
	free(c->psl_path);
	free(c->ignore_hosts_text);
	am_netlist_free(&c->ignore_hosts);
	free(c->trusted_authres_text);
	am_netlist_free(&c->trusted_authres);
	free(c->syslog_facility_name);
	free(c->user_id);
	free(c->pid_file);
	free(c->metrics_listen);
	am_conf_tools_free(c);
	memset(c, 0, sizeof(*c));
}

static bool
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return false;
	return true;
}

bool
am_conf_parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*out = (unsigned)n;
	return true;
}

/* File mode: octal, at most 0777, never world-writable. */
static bool
parse_mode(const char *v, unsigned *out, char *err, size_t errlen)
{
	unsigned long n;
	char *end;

	if (*v < '0' || *v > '7') {
		snprintf(err, errlen, "bad mode \"%s\" (expected octal, e.g. 0660)", v);
		return false;
	}
	n = strtoul(v, &end, 8);
	if (*end != '\0' || n > 0777) {
		snprintf(err, errlen, "bad mode \"%s\" (expected octal, e.g. 0660)", v);
		return false;
	}
	if (n & 02) {
		snprintf(err, errlen, "mode %s would be world-writable", v);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

/* authserv-id: an RFC 8601 value; we accept a dot-atom of host-name characters. */
static bool
valid_authserv_id(const char *v)
{
	const char *p;

	if (*v == '\0' || strlen(v) > 253)
		return false;
	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

static bool
valid_user_id(const char *v)
{
	const char *p;

	if (*v == '\0' || *v == ':')
		return false;
	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.' && *p != ':')
			return false;
	return strchr(v, ':') == strrchr(v, ':');
}

typedef bool (*conf_setter)(struct am_conf *, const char *, char *, size_t);

static bool
set_socket(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	struct am_sockspec s;

	if (!am_sockspec_parse(v, &s, err, errlen))
		return false;
	c->sockspec = s;
	am_conf_set_string(&c->socket, v);
	return true;
}

static bool
set_socket_mode(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return parse_mode(v, &c->socket_mode, err, errlen);
}

static bool
set_authserv_id(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!valid_authserv_id(v)) {
		snprintf(err, errlen, "bad AuthservID \"%s\" (letters, digits, '-', '.', '_')", v);
		return false;
	}
	am_conf_set_string(&c->authserv_id, v);
	return true;
}

static bool
set_nameservers(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!am_resolver_check_nameservers(v, err, errlen))
		return false;
	am_conf_set_string(&c->nameservers, v);
	return true;
}

static bool
set_dns_timeout(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!am_conf_parse_uint(v, 1, 120, &c->dns_timeout)) {
		snprintf(err, errlen, "bad DNSTimeout \"%s\" (seconds, 1-120)", v);
		return false;
	}
	return true;
}

/* Bytes, or K/M (1024-based) with the suffix, at most max; false for anything else. */
bool
am_conf_parse_size(const char *v, unsigned long long max, size_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = isdigit((unsigned char)*v) ? strtoull(v, &end, 10) : ULLONG_MAX;
	if (n != ULLONG_MAX && errno == 0) {
		if ((*end == 'k' || *end == 'K') && end[1] == '\0')
			n = n > (1ULL << 30) ? ULLONG_MAX : n << 10;
		else if ((*end == 'm' || *end == 'M') && end[1] == '\0')
			n = n > (1ULL << 30) ? ULLONG_MAX : n << 20;
		else if (*end != '\0')
			n = ULLONG_MAX;
	}
	if (errno != 0 || n > max)
		return false;
	*out = (size_t)n;
	return true;
}

/* At most 1G so a typo cannot ask for all memory. */
static bool
set_dns_cache_size(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!am_conf_parse_size(v, 1ULL << 30, &c->dns_cache_size)) {
		snprintf(err, errlen, "bad DNSCacheSize \"%s\" (bytes, or with K or M; 0 to 1024M)", v);
		return false;
	}
	return true;
}

bool
am_conf_set_path(char **slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (*v != '/') {
		snprintf(err, errlen, "%s \"%s\" must be an absolute path", key, v);
		return false;
	}
	am_conf_set_string(slot, v);
	return true;
}

static bool
set_alignment_log(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!strcasecmp(v, "none")) {
		free(c->alignment_log);
		c->alignment_log = NULL;
		return true;
	}
	return am_conf_set_path(&c->alignment_log, "AlignmentLog", v, err, errlen);
}

static bool
set_alignment_log_mode(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return parse_mode(v, &c->alignment_log_mode, err, errlen);
}

static bool
set_psl(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return am_conf_set_path(&c->psl_path, "PublicSuffixList", v, err, errlen);
}

static bool
set_dmarc_standard(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!am_dmarc_standard_parse(v, &c->dmarc_standard)) {
		snprintf(err, errlen, "bad DMARCStandard \"%s\" (rfc9989 or rfc7489)", v);
		return false;
	}
	return true;
}

/* A comma list of IP[/len], or "none" for the empty list. */
static bool
set_netlist(struct am_netlist *list, char **text, const char *v, char *err, size_t errlen)
{
	struct am_netlist l;

	if (!strcasecmp(v, "none"))
		v = "";
	if (!am_netlist_parse(v, &l, err, errlen))
		return false;
	am_netlist_free(list);
	*list = l;
	am_conf_set_string(text, v);
	return true;
}

static bool
set_ignore_hosts(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_netlist(&c->ignore_hosts, &c->ignore_hosts_text, v, err, errlen);
}

static bool
set_trusted_authres(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_netlist(&c->trusted_authres, &c->trusted_authres_text, v, err, errlen);
}

static bool
set_bool(bool *slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (!parse_bool(v, slot)) {
		snprintf(err, errlen, "bad %s \"%s\" (expected yes or no)", key, v);
		return false;
	}
	return true;
}

static bool
set_reject_failures(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_bool(&c->reject_failures, "RejectFailures", v, err, errlen);
}

static bool
set_reject_malformed_from(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_bool(&c->reject_malformed_from, "RejectMalformedFrom", v, err, errlen);
}

static bool
set_syslog(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return set_bool(&c->syslog, "Syslog", v, err, errlen);
}

static bool
set_syslog_facility(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	int f = am_log_facility(v);

	if (f < 0) {
		snprintf(err, errlen, "unknown SyslogFacility \"%s\" (mail, daemon, user, local0-local7)", v);
		return false;
	}
	c->syslog_facility = f;
	am_conf_set_string(&c->syslog_facility_name, v);
	am_lowercase(c->syslog_facility_name);
	return true;
}

static bool
set_user_id(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!valid_user_id(v)) {
		snprintf(err, errlen, "bad UserID \"%s\" (expected user or user:group)", v);
		return false;
	}
	am_conf_set_string(&c->user_id, v);
	return true;
}

static bool
set_max_signatures(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (!am_conf_parse_uint(v, 1, 50, &c->max_signatures)) {
		snprintf(err, errlen, "bad MaximumSignatures \"%s\" (1-50)", v);
		return false;
	}
	return true;
}

static bool
set_pid_file(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	return am_conf_set_path(&c->pid_file, "PidFile", v, err, errlen);
}

static bool
set_milter_engine(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (strcasecmp(v, "native") == 0)
		c->use_libmilter = false;
	else if (strcasecmp(v, "libmilter") == 0)
		c->use_libmilter = true;
	else {
		snprintf(err, errlen, "bad MilterEngine \"%s\" (native or libmilter)", v);
		return false;
	}
	return true;
}

/* "IPv4:PORT" or "[IPv6]:PORT": a literal, so binding needs no DNS. */
static bool
set_metrics_listen(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	char why[160];

	if (!am_hostport_parse(v, &c->metrics_addr, why, sizeof(why))) {
		snprintf(err, errlen, "bad MetricsListen %s", why);
		return false;
	}
	am_conf_set_string(&c->metrics_listen, v);
	return true;
}

/* "auto" (0: derived from the file descriptors at start-up) or 1-4096. */
static bool
set_max_connections(struct am_conf *c, const char *v, char *err, size_t errlen)
{
	if (strcasecmp(v, "auto") == 0) {
		c->max_connections = 0;
		return true;
	}
	if (!am_conf_parse_uint(v, 1, AM_CONF_MAX_CONNECTIONS, &c->max_connections)) {
		snprintf(err, errlen, "bad MaxConnections \"%s\" (auto, or 1-%d)", v, AM_CONF_MAX_CONNECTIONS);
		return false;
	}
	return true;
}

static const struct {
	const char *key;
	conf_setter set;
} conf_keys[] = {
	{ "Socket", set_socket },
	{ "SocketMode", set_socket_mode },
	{ "AuthservID", set_authserv_id },
	{ "Nameservers", set_nameservers },
	{ "DNSTimeout", set_dns_timeout },
	{ "DNSCacheSize", set_dns_cache_size },
	{ "AlignmentLog", set_alignment_log },
	{ "AlignmentLogMode", set_alignment_log_mode },
	{ "PublicSuffixList", set_psl },
	{ "DMARCStandard", set_dmarc_standard },
	{ "IgnoreHosts", set_ignore_hosts },
	{ "TrustedAuthResClients", set_trusted_authres },
	{ "RejectFailures", set_reject_failures },
	{ "RejectMalformedFrom", set_reject_malformed_from },
	{ "Syslog", set_syslog },
	{ "SyslogFacility", set_syslog_facility },
	{ "UserID", set_user_id },
	{ "MaximumSignatures", set_max_signatures },
	{ "PidFile", set_pid_file },
	{ "MilterEngine", set_milter_engine },
	{ "MaxConnections", set_max_connections },
	{ "MetricsListen", set_metrics_listen },
};

bool
am_conf_set(struct am_conf *c, const char *key, const char *value, char *err, size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		if (strcasecmp(key, conf_keys[i].key) != 0)
			continue;
		if (*value == '\0') {
			snprintf(err, errlen, "%s needs a value", conf_keys[i].key);
			return false;
		}
		return conf_keys[i].set(c, value, err, errlen);
	}
	/* The companion tools' keys (conf-tools.c). */
	if ((rc = am_conf_tools_set(c, key, value, err, errlen)) >= 0)
		return rc == 1;
	snprintf(err, errlen, "unknown key \"%.64s\"", key);
	return false;
}

/* Split one line into key and value; false for blank/comment lines. */
static bool
split_line(char *line, char **key, char **value)
{
	char *p, *hash;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	p = am_trim(line);
	if (*p == '\0')
		return false;
	*key = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*value = am_trim(p);
	return true;
}

/* Every problem is reported, one per line, so -n shows them all at once. */
static void
add_problem(char *err, size_t errlen, unsigned nth, const char *path, unsigned lineno, const char *msg)
{
	char one[700];

	snprintf(one, sizeof(one), "%s%s:%u: %s", nth > 0 ? "\n" : "", path, lineno, msg);
	am_strlcat(err, one, errlen);
}

/*
 * One line, without its newline, into buf (at most buflen - 1 bytes
 * kept); *len is its whole length and *nul whether it held a NUL byte,
 * counted byte by byte: strlen() after fgets() stops at a NUL and would
 * hide both.  false at end of file.
 */
static bool
read_line(FILE *fp, char *buf, size_t buflen, size_t *len, bool *nul)
{
	size_t n = 0;
	int ch;

	*nul = false;
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (ch == '\0')
			*nul = true;
		if (n + 1 < buflen)
			buf[n] = (char)ch;
		n++;
	}
	if (ch == EOF && n == 0)
		return false;
	buf[n < buflen ? n : buflen - 1] = '\0';
	*len = n;
	return true;
}

static bool
load_stream(struct am_conf *c, FILE *fp, const char *path, char *err, size_t errlen)
{
	char line[CONF_LINE_MAX], msg[512];
	char *key, *value;
	unsigned lineno = 0, problems = 0;
	size_t len;
	bool nul;

	err[0] = '\0';
	while (read_line(fp, line, sizeof(line), &len, &nul)) {
		lineno++;
		if (len > CONF_LINE_MAX - 2) {
			snprintf(msg, sizeof(msg), "line longer than %d bytes", CONF_LINE_MAX - 2);
			add_problem(err, errlen, problems++, path, lineno, msg);
			continue;
		}
		if (nul) {
			add_problem(err, errlen, problems++, path, lineno, "NUL byte");
			continue;
		}
		if (!split_line(line, &key, &value))
			continue;
		if (!am_conf_set(c, key, value, msg, sizeof(msg)))
			add_problem(err, errlen, problems++, path, lineno, msg);
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		return false;
	}
	return problems == 0;
}

bool
am_conf_load(struct am_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *fp;
	bool ok;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	ok = load_stream(c, fp, path, err, errlen);
	fclose(fp);
	return ok;
}

bool
am_conf_parse_text(struct am_conf *c, const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	FILE *fp;
	bool ok;

	err[0] = '\0';
	if (len == 0)
		return true;	/* an empty file: nothing to read (fmemopen refuses size 0) */
	/* Read-only stream over the caller's bytes: the file path's line reader, unchanged. */
	if ((fp = fmemopen((void *)(uintptr_t)text, len, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno));
		return false;
	}
	ok = load_stream(c, fp, name, err, errlen);
	fclose(fp);
	return ok;
}

bool
am_conf_load_or_defaults(struct am_conf *c, const char *path, bool given, char *err, size_t errlen)
{
	am_conf_defaults(c);
	if (!given && access(path, F_OK) != 0 && errno == ENOENT)
		return true;
	return am_conf_load(c, path, err, errlen);
}

bool
am_conf_lookup_user(const char *user_id, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	char user[128];
	const char *colon = strchr(user_id, ':');
	struct passwd *pw;
	struct group *gr;

	am_strlcpy(user, user_id, sizeof(user));
	if (colon != NULL && (size_t)(colon - user_id) < sizeof(user))
		user[colon - user_id] = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "UserID: no such user \"%s\"", user);
		return false;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL) {
			snprintf(err, errlen, "UserID: no such group \"%s\"", colon + 1);
			return false;
		}
		*gid = gr->gr_gid;
	}
	return true;
}

bool
am_conf_check_system(const struct am_conf *c, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (access(c->psl_path, R_OK) != 0) {
		snprintf(err, errlen, "PublicSuffixList %s: %s (install the Debian package publicsuffix)",
		    c->psl_path, strerror(errno));
		return false;
	}
	if (c->user_id != NULL && !am_conf_lookup_user(c->user_id, &uid, &gid, err, errlen))
		return false;
	return true;
}
