/*
 * check_config.c - unit tests of the configuration file parser (conf.c)
 * and the IP/CIDR lists it builds (netlist.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "policy/conf.h"
#include "util/netlist.h"

static char tmpdir[] = "/tmp/amconfXXXXXX";
static char err[1024];

static const char *
write_conf(const char *text)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/test.conf", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Load text; return true on success; on failure err holds the message. */
static bool
load(struct am_conf *c, const char *text)
{
	am_conf_defaults(c);
	err[0] = '\0';
	return am_conf_load(c, write_conf(text), err, sizeof(err));
}

/* Expect text to fail on the given line with a message containing needle. */
static void
expect_error(const char *text, unsigned line, const char *needle)
{
	struct am_conf c;
	char where[64];

	ck_assert_msg(!load(&c, text), "accepted: %s", text);
	snprintf(where, sizeof(where), ".conf:%u: ", line);
	ck_assert_msg(strstr(err, where) != NULL, "no line %u in \"%s\"", line, err);
	ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
	am_conf_free(&c);
}

START_TEST(defaults)
{
	struct am_conf c;

	am_conf_defaults(&c);
	ck_assert_str_eq(c.socket, "unix:/run/alignmilter/alignmilter.sock");
	ck_assert_int_eq(c.sockspec.family, AM_SOCK_UNIX);
	ck_assert_str_eq(c.sockspec.path, "/run/alignmilter/alignmilter.sock");
	ck_assert_uint_eq(c.dns_timeout, 5);
	ck_assert_ptr_null(c.nameservers);
	ck_assert_ptr_null(c.alignment_log);
	ck_assert_str_eq(c.psl_path, "/usr/share/publicsuffix/public_suffix_list.dat");
	ck_assert(am_netlist_match(&c.ignore_hosts, "127.0.0.1"));
	ck_assert(am_netlist_match(&c.ignore_hosts, "::1"));
	ck_assert(!am_netlist_match(&c.ignore_hosts, "127.0.0.2"));
	ck_assert(!c.reject_failures);
	ck_assert(c.syslog);
	ck_assert_int_eq(c.syslog_facility, LOG_MAIL);
	ck_assert_ptr_null(c.user_id);
	ck_assert_uint_eq(c.max_signatures, 5);
	ck_assert_ptr_nonnull(c.authserv_id);
	ck_assert(c.authserv_id[0] != '\0');
	ck_assert_uint_eq(c.socket_mode, 0660);
	ck_assert_uint_eq(c.alignment_log_mode, 0640);
	am_conf_free(&c);
}
END_TEST

START_TEST(every_key)
{
	struct am_conf c;

	ck_assert_msg(load(&c,
	    "# a comment line\n"
	    "\n"
	    "socket inet:8891@127.0.0.1\n"
	    "SOCKETMODE 0600\n"
	    "AuthservID mx.example.net   # trailing comment\n"
	    "Nameservers 127.0.0.1@5353, ::1@5353,192.0.2.53\n"
	    "DNSTimeout 2\n"
	    "AlignmentLog /var/log/alignmilter/alignment.log\n"
	    "AlignmentLogMode 0644\n"
	    "PublicSuffixList /tmp/psl.dat\n"
	    "IgnoreHosts 10.0.0.0/8, 2001:db8::/32\n"
	    "RejectFailures yes\n"
	    "Syslog no\n"
	    "SyslogFacility local3\n"
	    "UserID nobody:nogroup\n"
	    "MaximumSignatures 12\n"
	    "\tPidFile\t/run/alignmilter/alignmilter.pid  \n"), "%s", err);
	ck_assert_str_eq(c.socket, "inet:8891@127.0.0.1");
	ck_assert_int_eq(c.sockspec.family, AM_SOCK_INET);
	ck_assert_uint_eq(c.sockspec.port, 8891);
	ck_assert_uint_eq(c.socket_mode, 0600);
	ck_assert_str_eq(c.authserv_id, "mx.example.net");
	ck_assert_str_eq(c.nameservers, "127.0.0.1@5353, ::1@5353,192.0.2.53");
	ck_assert_uint_eq(c.dns_timeout, 2);
	ck_assert_str_eq(c.alignment_log, "/var/log/alignmilter/alignment.log");
	ck_assert_uint_eq(c.alignment_log_mode, 0644);
	ck_assert_str_eq(c.psl_path, "/tmp/psl.dat");
	ck_assert(am_netlist_match(&c.ignore_hosts, "10.1.2.3"));
	ck_assert(am_netlist_match(&c.ignore_hosts, "2001:db8::25"));
	ck_assert(!am_netlist_match(&c.ignore_hosts, "127.0.0.1"));
	ck_assert(c.reject_failures);
	ck_assert(!c.syslog);
	ck_assert_int_eq(c.syslog_facility, LOG_LOCAL3);
	ck_assert_str_eq(c.user_id, "nobody:nogroup");
	ck_assert_uint_eq(c.max_signatures, 12);
	ck_assert_str_eq(c.pid_file, "/run/alignmilter/alignmilter.pid");
	am_conf_free(&c);
}
END_TEST

START_TEST(booleans_and_none)
{
	struct am_conf c;

	ck_assert(load(&c, "RejectFailures true\nSyslog off\nAlignmentLog /tmp/x.log\nAlignmentLog none\n"));
	ck_assert(c.reject_failures);
	ck_assert(!c.syslog);
	ck_assert_ptr_null(c.alignment_log);
	am_conf_free(&c);
	ck_assert(load(&c, "RejectFailures 0\nSyslog 1\n"));
	ck_assert(!c.reject_failures);
	ck_assert(c.syslog);
	am_conf_free(&c);
}
END_TEST

/*
 * RejectMalformedFrom (alignmilter.conf(5)): on by default, so with
 * RejectFailures a From whose author domains cannot all be known is
 * refused (RFC 9989 (draft-41) 11.5: its DMARC evaluation is
 * incomplete); a boolean like the others; the key alone does not turn
 * enforcement on.
 */
START_TEST(reject_malformed_from)
{
	struct am_conf c;

	am_conf_defaults(&c);
	ck_assert(c.reject_malformed_from);
	ck_assert(!c.reject_failures);
	am_conf_free(&c);
	ck_assert_msg(load(&c, "RejectFailures yes\n"), "%s", err);
	ck_assert(c.reject_failures && c.reject_malformed_from);
	am_conf_free(&c);
	ck_assert_msg(load(&c, "RejectFailures yes\nRejectMalformedFrom no\n"), "%s", err);
	ck_assert(c.reject_failures && !c.reject_malformed_from);
	am_conf_free(&c);
	ck_assert_msg(load(&c, "rejectmalformedfrom off\nRejectMalformedFrom YES\n"), "%s", err);
	ck_assert(c.reject_malformed_from);
	ck_assert(!c.reject_failures);
	am_conf_free(&c);
	ck_assert_msg(load(&c, "RejectMalformedFrom 0\n"), "%s", err);
	ck_assert(!c.reject_malformed_from);
	am_conf_free(&c);
	ck_assert(am_conf_set(&c, "RejectMalformedFrom", "true", err, sizeof(err)));
	ck_assert(c.reject_malformed_from);
	ck_assert(!am_conf_set(&c, "RejectMalformedFrom", "sometimes", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad RejectMalformedFrom"));
	ck_assert(c.reject_malformed_from);	/* a refused value changes nothing */
	am_conf_free(&c);
	expect_error("RejectFailures yes\nRejectMalformedFrom maybe\n", 2, "bad RejectMalformedFrom");
	expect_error("RejectMalformedFrom\n", 1, "RejectMalformedFrom");
}
END_TEST

START_TEST(later_key_wins)
{
	struct am_conf c;

	ck_assert(load(&c, "DNSTimeout 3\nDNSTimeout 7\n"));
	ck_assert_uint_eq(c.dns_timeout, 7);
	am_conf_free(&c);
}
END_TEST

START_TEST(dns_cache_size)
{
	struct am_conf c;

	am_conf_defaults(&c);
	ck_assert_uint_eq(c.dns_cache_size, 32u << 20);
	am_conf_free(&c);
	ck_assert(load(&c, "DNSCacheSize 4096\n"));
	ck_assert_uint_eq(c.dns_cache_size, 4096);
	am_conf_free(&c);
	ck_assert(load(&c, "DNSCacheSize 64k\n"));
	ck_assert_uint_eq(c.dns_cache_size, 64u << 10);
	am_conf_free(&c);
	ck_assert(load(&c, "DNSCacheSize 1024M\n"));
	ck_assert_uint_eq(c.dns_cache_size, 1u << 30);
	am_conf_free(&c);
	ck_assert(load(&c, "DNSCacheSize 0\n"));
	ck_assert_uint_eq(c.dns_cache_size, 0);
	am_conf_free(&c);
	expect_error("DNSCacheSize 1025M\n", 1, "bad DNSCacheSize");
	expect_error("DNSCacheSize 32MB\n", 1, "bad DNSCacheSize");
	expect_error("DNSCacheSize -1\n", 1, "bad DNSCacheSize");
	expect_error("DNSCacheSize 99999999999999999999K\n", 1, "bad DNSCacheSize");
	expect_error("DNSCacheSize M\n", 1, "bad DNSCacheSize");
}
END_TEST

/*
 * MetricsListen: an IP literal and a port (IPv6 in brackets, as in RFC
 * 3986 section 3.2.2's authority), off by default; a later line wins.
 */
START_TEST(metrics_listen)
{
	struct am_conf c;
	const struct sockaddr_in *v4;
	const struct sockaddr_in6 *v6;
	char text[INET6_ADDRSTRLEN];
	static const char *const bad[] = {
		"MetricsListen 127.0.0.1\n",		/* no port */
		"MetricsListen 127.0.0.1:\n",
		"MetricsListen 127.0.0.1:0\n",
		"MetricsListen 127.0.0.1:65536\n",
		"MetricsListen 127.0.0.1:99999999\n",
		"MetricsListen 127.0.0.1:+80\n",
		"MetricsListen 127.0.0.1:80x\n",
		"MetricsListen :9808\n",		/* no address */
		"MetricsListen localhost:9808\n",	/* a name: no DNS at start-up */
		"MetricsListen 256.0.0.1:9808\n",
		"MetricsListen ::1:9808\n",		/* IPv6 without brackets */
		"MetricsListen [::1]9808\n",
		"MetricsListen [::1\n",
		"MetricsListen [127.0.0.1]:9808\n",	/* brackets are for IPv6 */
		"MetricsListen [fe80::1%eth0]:9808\n",
		"MetricsListen no\n",			/* off is the absence of the key */
	};
	size_t i;

	am_conf_defaults(&c);
	ck_assert_ptr_null(c.metrics_listen);
	am_conf_free(&c);

	ck_assert(load(&c, "MetricsListen 127.0.0.1:9808\n"));
	ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9808");
	v4 = (const struct sockaddr_in *)&c.metrics_addr.addr;
	ck_assert_int_eq(v4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(v4->sin_port), 9808);
	ck_assert_uint_eq(ntohl(v4->sin_addr.s_addr), 0x7f000001u);
	ck_assert_uint_eq(c.metrics_addr.addrlen, sizeof(*v4));
	am_conf_free(&c);

	ck_assert(load(&c, "MetricsListen [::1]:65535\n"));
	v6 = (const struct sockaddr_in6 *)&c.metrics_addr.addr;
	ck_assert_int_eq(v6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(v6->sin6_port), 65535);
	ck_assert_str_eq(inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text)), "::1");
	ck_assert_uint_eq(c.metrics_addr.addrlen, sizeof(*v6));
	am_conf_free(&c);

	ck_assert(load(&c, "MetricsListen [2001:db8::7]:1\nMetricsListen 0.0.0.0:9808\n"));
	ck_assert_str_eq(c.metrics_listen, "0.0.0.0:9808");
	am_conf_free(&c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!load(&c, bad[i]), "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "test.conf:1: bad MetricsListen") != NULL, "%s: %s", bad[i], err);
		am_conf_free(&c);
	}
	expect_error("MetricsListen\n", 1, "MetricsListen needs a value");
}
END_TEST

START_TEST(error_unknown_key_names_line)
{
	expect_error("Socket inet:1@127.0.0.1\n# comment\nBogus yes\n", 3, "unknown key \"Bogus\"");
}
END_TEST

START_TEST(error_missing_value)
{
	expect_error("DNSTimeout\n", 1, "DNSTimeout needs a value");
}
END_TEST

START_TEST(error_bad_values)
{
	expect_error("\nSocket tcp:25\n", 2, "unknown socket type");
	expect_error("Socket inet:0@127.0.0.1\n", 1, "bad port");
	expect_error("Socket inet:99999\n", 1, "bad port");
	expect_error("Socket unix:relative/path\n", 1, "absolute");
	expect_error("SocketMode 0666\n", 1, "world-writable");
	expect_error("SocketMode rw\n", 1, "bad mode");
	expect_error("SocketMode 01777\n", 1, "bad mode");
	expect_error("AlignmentLogMode 0662\n", 1, "world-writable");
	expect_error("AuthservID mx example\n", 1, "bad AuthservID");
	expect_error("AuthservID mx;evil\n", 1, "bad AuthservID");
	expect_error("Nameservers 127.0.0.1,not-an-ip\n", 1, "Nameservers entry 2 \"not-an-ip\"");
	expect_error("Nameservers 127.0.0.1@0\n", 1, "Nameservers entry 1");
	expect_error("Nameservers 127.0.0.1@70000\n", 1, "Nameservers entry 1");
	expect_error("Nameservers 127.0.0.1,,::1\n", 1, "Nameservers entry 2 is empty");
	expect_error("DNSTimeout 0\n", 1, "bad DNSTimeout");
	expect_error("DNSTimeout 121\n", 1, "bad DNSTimeout");
	expect_error("DNSTimeout 5s\n", 1, "bad DNSTimeout");
	expect_error("DNSTimeout -1\n", 1, "bad DNSTimeout");
	expect_error("AlignmentLog relative.log\n", 1, "absolute path");
	expect_error("PublicSuffixList psl.dat\n", 1, "absolute path");
	expect_error("IgnoreHosts 127.0.0.1,300.1.1.1\n", 1, "bad IP address or CIDR \"300.1.1.1\"");
	expect_error("IgnoreHosts 10.0.0.0/33\n", 1, "bad IP address");
	expect_error("IgnoreHosts ::1/129\n", 1, "bad IP address");
	expect_error("RejectFailures maybe\n", 1, "bad RejectFailures");
	expect_error("Syslog 2\n", 1, "bad Syslog");
	expect_error("SyslogFacility kern\n", 1, "unknown SyslogFacility");
	expect_error("UserID :group\n", 1, "bad UserID");
	expect_error("UserID a:b:c\n", 1, "bad UserID");
	expect_error("UserID a b\n", 1, "bad UserID");
	expect_error("MaximumSignatures 0\n", 1, "bad MaximumSignatures");
	expect_error("MaximumSignatures 51\n", 1, "bad MaximumSignatures");
	expect_error("PidFile run.pid\n", 1, "absolute path");
}
END_TEST

START_TEST(every_problem_reported)
{
	struct am_conf c;

	ck_assert(!load(&c, "Bogus 1\nDNSTimeout 5\nMaximumSignatures 0\nSyslog perhaps\n"));
	ck_assert_msg(strstr(err, ".conf:1: unknown key") != NULL, "%s", err);
	ck_assert_msg(strstr(err, ".conf:3: bad MaximumSignatures") != NULL, "%s", err);
	ck_assert_msg(strstr(err, ".conf:4: bad Syslog") != NULL, "%s", err);
	am_conf_free(&c);
}
END_TEST

START_TEST(ignore_hosts_none)
{
	struct am_conf c;

	ck_assert(load(&c, "IgnoreHosts none\n"));
	ck_assert_uint_eq(c.ignore_hosts.count, 0);
	ck_assert(!am_netlist_match(&c.ignore_hosts, "127.0.0.1"));
	am_conf_free(&c);
}
END_TEST

/* Empty by default: RFC 8601 section 5 trusts no client's fields under our id unless told. */
START_TEST(trusted_authres_clients)
{
	struct am_conf c;

	ck_assert(load(&c, ""));
	ck_assert_uint_eq(c.trusted_authres.count, 0);
	ck_assert(!am_netlist_match(&c.trusted_authres, "127.0.0.1"));
	am_conf_free(&c);
	ck_assert(load(&c, "TrustedAuthResClients 127.0.0.1, 2001:db8::/32\n"));
	ck_assert(am_netlist_match(&c.trusted_authres, "127.0.0.1"));
	ck_assert(am_netlist_match(&c.trusted_authres, "2001:db8::25"));
	ck_assert(!am_netlist_match(&c.trusted_authres, "::1"));
	ck_assert(am_conf_set(&c, "trustedauthresclients", "none", err, sizeof(err)));
	ck_assert_uint_eq(c.trusted_authres.count, 0);
	ck_assert(!am_conf_set(&c, "TrustedAuthResClients", "10.0.0.0/33", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad IP address"));
	am_conf_free(&c);
}
END_TEST

START_TEST(error_long_line)
{
	char *text = malloc(6000);

	memset(text, 'x', 5000);
	memcpy(text, "AuthservID ", 11);
	strcpy(text + 5000, "\n");
	expect_error(text, 1, "line longer than");
	free(text);
}
END_TEST

/* text of len bytes (NULs included), through the file reader; false with err. */
static bool
parse_bytes(const char *text, size_t len)
{
	struct am_conf c;
	bool ok;

	am_conf_defaults(&c);
	ok = am_conf_parse_text(&c, text, len, "nul.conf", err, sizeof(err));
	am_conf_free(&c);
	return ok;
}

/* A NUL early in a line must not hide its length, nor shift the line count. */
START_TEST(error_long_line_behind_nul)
{
	char *text = malloc(6000);
	size_t len;

	memcpy(text, "AuthservID x", 12);
	text[12] = '\0';
	memset(text + 13, 'y', 4987);
	memcpy(text + 5000, "\nBogus 1\n", 9);
	len = 5009;
	ck_assert(!parse_bytes(text, len));
	ck_assert_msg(strstr(err, "nul.conf:1: line longer than 4094 bytes") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "nul.conf:2: unknown key") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "yyyy") == NULL, "%s", err);
	free(text);
}
END_TEST

/* A NUL in a line is itself an error: what follows it would be dropped silently. */
START_TEST(error_nul_byte)
{
	static const char text[] = "Syslog yes\nAuthservID mx.example.net\0evil\n";

	ck_assert(!parse_bytes(text, sizeof(text) - 1));
	ck_assert_msg(strcmp(err, "nul.conf:2: NUL byte") == 0, "%s", err);
}
END_TEST

START_TEST(error_unreadable_file)
{
	struct am_conf c;

	am_conf_defaults(&c);
	ck_assert(!am_conf_load(&c, "/nonexistent/alignmilter.conf", err, sizeof(err)));
	ck_assert_msg(strstr(err, "/nonexistent/alignmilter.conf: cannot open") != NULL, "%s", err);
	am_conf_free(&c);
}
END_TEST

START_TEST(system_checks)
{
	struct am_conf c;

	ck_assert(load(&c, "PublicSuffixList /nonexistent/psl.dat\n"));
	ck_assert(!am_conf_check_system(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "PublicSuffixList /nonexistent/psl.dat") != NULL, "%s", err);
	am_conf_free(&c);
	ck_assert(load(&c, "UserID no-such-user-here\n"));
	c.psl_path[0] = '\0';
	free(c.psl_path);
	c.psl_path = strdup("/dev/null");
	ck_assert(!am_conf_check_system(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no such user") != NULL, "%s", err);
	am_conf_free(&c);
	ck_assert(load(&c, "UserID root:no-such-group-here\nPublicSuffixList /dev/null\n"));
	ck_assert(!am_conf_check_system(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no such group") != NULL, "%s", err);
	am_conf_free(&c);
	ck_assert(load(&c, "UserID root:root\nPublicSuffixList /dev/null\n"));
	ck_assert_msg(am_conf_check_system(&c, err, sizeof(err)), "%s", err);
	am_conf_free(&c);
}
END_TEST

START_TEST(set_for_overrides)
{
	struct am_conf c;

	am_conf_defaults(&c);
	ck_assert(am_conf_set(&c, "socket", "local:/tmp/x.sock", err, sizeof(err)));
	ck_assert_int_eq(c.sockspec.family, AM_SOCK_UNIX);
	ck_assert(!am_conf_set(&c, "socket", "inet6:", err, sizeof(err)));
	/* A failed set leaves the previous value. */
	ck_assert_str_eq(c.socket, "local:/tmp/x.sock");
	am_conf_free(&c);
}
END_TEST

START_TEST(netlist_matching)
{
	struct am_netlist l;

	ck_assert(am_netlist_parse("192.0.2.0/24, 2001:db8::/33,198.51.100.7", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.count, 3);
	ck_assert(am_netlist_match(&l, "192.0.2.255"));
	ck_assert(!am_netlist_match(&l, "192.0.3.0"));
	ck_assert(am_netlist_match(&l, "::ffff:192.0.2.1"));
	ck_assert(am_netlist_match(&l, "2001:db8:7fff::1"));
	ck_assert(!am_netlist_match(&l, "2001:db8:8000::1"));
	ck_assert(am_netlist_match(&l, "198.51.100.7"));
	ck_assert(!am_netlist_match(&l, "198.51.100.8"));
	ck_assert(!am_netlist_match(&l, "garbage"));
	ck_assert(!am_netlist_match(&l, ""));
	am_netlist_free(&l);
	ck_assert(am_netlist_parse("0.0.0.0/0", &l, err, sizeof(err)));
	ck_assert(am_netlist_match(&l, "203.0.113.9"));
	ck_assert(!am_netlist_match(&l, "::1"));
	am_netlist_free(&l);
	ck_assert(am_netlist_parse("", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.count, 0);
	ck_assert(!am_netlist_parse("10.0.0.0/", &l, err, sizeof(err)));
}
END_TEST

START_TEST(nameserver_entries)
{
	char ip[64];
	unsigned port;

	ck_assert(am_nameserver_parse("127.0.0.1", 9, ip, sizeof(ip), &port));
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_uint_eq(port, 53);
	ck_assert(am_nameserver_parse("::1@5353", 8, ip, sizeof(ip), &port));
	ck_assert_str_eq(ip, "::1");
	ck_assert_uint_eq(port, 5353);
	ck_assert(!am_nameserver_parse("ns.example.com", 14, ip, sizeof(ip), &port));
	ck_assert(!am_nameserver_parse("127.0.0.1@", 10, ip, sizeof(ip), &port));
	ck_assert(!am_nameserver_parse("127.0.0.1@53x", 13, ip, sizeof(ip), &port));
}
END_TEST

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/test.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

/* alignmilter-report's keys and ReportingHost (alignmilter.conf(5)): defaults, values, refusals. */
START_TEST(report_keys)
{
	static const char *const bad[] = {
		"ReportingHost mx1/example.net", "ReportingHost a b", "ReportFrom reports",
		"ReportFrom -oQ@example.net", "ReportFrom r@example..net", "ReportOrg Caf\xc3\xa9",
	};
	struct am_conf c;
	size_t i;

	am_conf_defaults(&c);
	ck_assert_ptr_nonnull(c.reporting_host);
	ck_assert_uint_gt(strlen(c.reporting_host), 0);
	ck_assert_ptr_null(c.report_from);
	ck_assert_ptr_null(c.report_org);
	am_conf_free(&c);

	ck_assert_msg(load(&c, "ReportingHost MX1.Example.NET.\nReportFrom dmarc-reports@example.net\n"
	    "ReportOrg Example Mail\n"), "%s", err);
	ck_assert_str_eq(c.reporting_host, "mx1.example.net");
	ck_assert_str_eq(c.report_from, "dmarc-reports@example.net");
	ck_assert_str_eq(c.report_org, "Example Mail");
	am_conf_free(&c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!load(&c, bad[i]), "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "Report") != NULL, "%s: %s", bad[i], err);
		am_conf_free(&c);
	}
}
END_TEST

/* alignmilter-respond's keys (alignmilter-respond(8)): defaults, values, refusals. */
START_TEST(respond_keys)
{
	static const char *const bad[] = {
		"RespondProbe check", "RespondProbe check@", "RespondProbe a b@example.net",
		"RespondProbe check@exa_mple.net", "RespondFrom <x@example.net>", "RespondFrom -oQ@example.net",
		"RespondDelimiters a", "RespondDelimiters +=", "RespondSpool spool",
		"RespondCheck maybe", "RespondRateLimit 0", "RespondDomainRateLimit 100001",
		"RespondWindow 59", "RespondMaxSize 100", "RespondMaxSize 2048M", "RespondRetries 101",
	};
	struct am_conf c;
	size_t i;

	am_conf_defaults(&c);
	ck_assert_ptr_null(c.respond_probe);
	ck_assert_str_eq(c.respond_delimiters, "+");
	ck_assert_str_eq(c.respond_spool, "/var/spool/alignmilter-respond");
	ck_assert_str_eq(c.respond_state, "/var/lib/alignmilter-respond/state");
	ck_assert_str_eq(c.respond_sendmail, "/usr/sbin/sendmail");
	ck_assert_str_eq(c.respond_check, "/usr/bin/alignmilter-check");
	ck_assert_uint_eq(c.respond_rate_limit, 5);
	ck_assert_uint_eq(c.respond_domain_rate_limit, 20);
	ck_assert_uint_eq(c.respond_window, 3600);
	ck_assert_uint_eq(c.respond_max_size, 10u << 20);
	ck_assert_uint_eq(c.respond_retries, 3);
	am_conf_free(&c);

	ck_assert_msg(load(&c, "RespondProbe check@mx.example.net\nRespondDelimiters +-\n"
	    "RespondFrom noreply@mx.example.net\nRespondSpool /tmp/s\nRespondState /tmp/st\n"
	    "RespondSendmail /bin/true\nRespondCheck no\nRespondRateLimit 1\n"
	    "RespondDomainRateLimit 100000\nRespondWindow 60\nRespondMaxSize 1K\nRespondRetries 0\n"), "%s", err);
	ck_assert_str_eq(c.respond_probe, "check@mx.example.net");
	ck_assert_str_eq(c.respond_delimiters, "+-");
	ck_assert_str_eq(c.respond_from, "noreply@mx.example.net");
	ck_assert_str_eq(c.respond_spool, "/tmp/s");
	ck_assert_str_eq(c.respond_state, "/tmp/st");
	ck_assert_str_eq(c.respond_sendmail, "/bin/true");
	ck_assert_ptr_null(c.respond_check);
	ck_assert_uint_eq(c.respond_rate_limit, 1);
	ck_assert_uint_eq(c.respond_domain_rate_limit, 100000);
	ck_assert_uint_eq(c.respond_window, 60);
	ck_assert_uint_eq(c.respond_max_size, 1024);
	ck_assert_uint_eq(c.respond_retries, 0);
	am_conf_free(&c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!load(&c, bad[i]), "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "Respond") != NULL, "%s: %s", bad[i], err);
		am_conf_free(&c);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, booleans_and_none);
	tcase_add_test(tc, reject_malformed_from);
	tcase_add_test(tc, later_key_wins);
	tcase_add_test(tc, dns_cache_size);
	tcase_add_test(tc, metrics_listen);
	tcase_add_test(tc, error_unknown_key_names_line);
	tcase_add_test(tc, error_missing_value);
	tcase_add_test(tc, error_bad_values);
	tcase_add_test(tc, error_long_line);
	tcase_add_test(tc, error_long_line_behind_nul);
	tcase_add_test(tc, error_nul_byte);
	tcase_add_test(tc, every_problem_reported);
	tcase_add_test(tc, ignore_hosts_none);
	tcase_add_test(tc, trusted_authres_clients);
	tcase_add_test(tc, error_unreadable_file);
	tcase_add_test(tc, system_checks);
	tcase_add_test(tc, set_for_overrides);
	tcase_add_test(tc, netlist_matching);
	tcase_add_test(tc, nameserver_entries);
	tcase_add_test(tc, respond_keys);
	tcase_add_test(tc, report_keys);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
