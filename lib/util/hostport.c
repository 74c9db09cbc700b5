/*
 * hostport.c - "IPv4:PORT" and "[IPv6]:PORT" into a socket address
 * (hostport.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostport.h"

/* Decimal 1-65535, digits only (no sign, no spaces). */
static bool
parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

bool
am_hostport_parse(const char *s, struct am_hostport *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hstart;
	size_t hlen;
	unsigned port;
	bool v6 = s[0] == '[';

	memset(out, 0, sizeof(*out));
	if (v6) {
		hstart = s + 1;
		if ((colon = strchr(hstart, ']')) == NULL || colon[1] != ':') {
			snprintf(err, errlen, "\"%.80s\": expected [IPv6]:PORT", s);
			return false;
		}
		hlen = (size_t)(colon - hstart);
		colon++;
	} else {
		hstart = s;
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon) {
			snprintf(err, errlen, "\"%.80s\": expected IPv4:PORT or [IPv6]:PORT", s);
			return false;
		}
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "\"%.80s\": missing or over-long address", s);
		return false;
	}
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (!parse_port(colon + 1, &port)) {
		snprintf(err, errlen, "\"%.80s\": bad port (1-65535)", s);
		return false;
	}
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			snprintf(err, errlen, "\"%.80s\": \"%s\" is not an IPv6 address", s, host);
			return false;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			snprintf(err, errlen, "\"%.80s\": \"%s\" is not an IPv4 address", s, host);
			return false;
		}
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*a);
	}
	return true;
}
