/*
 * sockspec.c - the milter socket specification (see sockspec.h, which
 * also says how it fails and who may call it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/sockspec.h"
#include "util/util.h"

static bool
parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/* Host part: an address of the family, or a host name of sane characters. */
static bool
valid_host(const char *host, enum am_sock_family family)
{
	unsigned char buf[16];
	const char *p;

	if (inet_pton(family == AM_SOCK_INET6 ? AF_INET6 : AF_INET, host, buf) == 1)
		return true;
	if (*host == '\0' || strlen(host) > 253)
		return false;
	for (p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

static bool
parse_inet(const char *rest, enum am_sock_family family, struct am_sockspec *out,
    char *err, size_t errlen)
{
	const char *at = strchr(rest, '@');
	size_t portlen = at ? (size_t)(at - rest) : strlen(rest);

	if (!parse_port(rest, portlen, &out->port)) {
		snprintf(err, errlen, "bad port in socket \"%s\" (expected 1-65535)", rest);
		return false;
	}
	if (at == NULL)
		return true;
	if (strlen(at + 1) >= sizeof(out->host) || !valid_host(at + 1, family)) {
		snprintf(err, errlen, "bad host \"%s\" in socket", at + 1);
		return false;
	}
	am_strlcpy(out->host, at + 1, sizeof(out->host));
	return true;
}

bool
am_sockspec_parse(const char *spec, struct am_sockspec *out, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t plen;

	memset(out, 0, sizeof(*out));
	if (colon == NULL) {
		snprintf(err, errlen, "socket \"%s\" lacks a type (inet:, inet6:, unix: or local:)", spec);
		return false;
	}
	plen = (size_t)(colon - spec);
	if (plen == 4 && strncasecmp(spec, "inet", 4) == 0) {
		out->family = AM_SOCK_INET;
		return parse_inet(colon + 1, AM_SOCK_INET, out, err, errlen);
	}
	if (plen == 5 && strncasecmp(spec, "inet6", 5) == 0) {
		out->family = AM_SOCK_INET6;
		return parse_inet(colon + 1, AM_SOCK_INET6, out, err, errlen);
	}
	if ((plen == 4 && strncasecmp(spec, "unix", 4) == 0) ||
	    (plen == 5 && strncasecmp(spec, "local", 5) == 0)) {
		out->family = AM_SOCK_UNIX;
		if (colon[1] != '/') {
			snprintf(err, errlen, "unix socket path \"%s\" must be absolute", colon + 1);
			return false;
		}
		if (strlen(colon + 1) >= sizeof(out->path)) {
			snprintf(err, errlen, "unix socket path is longer than %zu bytes", sizeof(out->path) - 1);
			return false;
		}
		am_strlcpy(out->path, colon + 1, sizeof(out->path));
		return true;
	}
	snprintf(err, errlen, "unknown socket type \"%.*s\" (expected inet, inet6, unix or local)",
	    (int)(plen > 32 ? 32 : plen), spec);
	return false;
}

void
am_sockspec_format(const struct am_sockspec *s, char *buf, size_t buflen)
{
	switch (s->family) {
	case AM_SOCK_UNIX:
		snprintf(buf, buflen, "unix:%s", s->path);
		break;
	case AM_SOCK_INET:
	case AM_SOCK_INET6:
		snprintf(buf, buflen, "%s:%u%s%s", s->family == AM_SOCK_INET ? "inet" : "inet6",
		    s->port, s->host[0] ? "@" : "", s->host);
		break;
	}
}
