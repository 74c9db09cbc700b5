/*
 * netlist.c - IP addresses and CIDR lists (see netlist.h, which also says
 * how it fails and who may call it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Utility library. */
#include "util/netlist.h"
#include "util/util.h"

static bool
parse_cidr(const char *s, size_t len, struct am_cidr *c)
{
	char buf[64];
	char *slash, *end;
	unsigned long prefix;
	unsigned max;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return false;
	c->prefix = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return false;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max)
			return false;
		c->prefix = (unsigned)prefix;
	}
	return true;
}

/* Next comma-separated, blank-trimmed item of *p; false at the end. */
static bool
next_item(const char **p, const char **item, size_t *len)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return false;
	e = s;
	while (*e != '\0' && *e != ',')
		e++;
	*p = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = s;
	*len = (size_t)(e - s);
	return true;
}

bool
am_netlist_parse(const char *list, struct am_netlist *out, char *err, size_t errlen)
{
	const char *p = list, *item;
	size_t len;
	struct am_cidr c;

	out->entry = NULL;
	out->count = 0;
	while (next_item(&p, &item, &len)) {
		if (!parse_cidr(item, len, &c)) {
			snprintf(err, errlen, "bad IP address or CIDR \"%.*s\"", (int)(len > 64 ? 64 : len), item);
			am_netlist_free(out);
			return false;
		}
		out->entry = am_xreallocarray(out->entry, out->count + 1, sizeof(*out->entry));
		out->entry[out->count++] = c;
	}
	return true;
}

void
am_netlist_free(struct am_netlist *l)
{
	free(l->entry);
	l->entry = NULL;
	l->count = 0;
}

static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

bool
am_netlist_match(const struct am_netlist *l, const char *ip)
{
	unsigned char a4[4], a6[16];
	int family;
	size_t i;

	if (inet_pton(AF_INET, ip, a4) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a6) == 1) {
		static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

		family = AF_INET6;
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			memcpy(a4, a6 + 12, 4);
			family = AF_INET;
		}
	} else
		return false;
	for (i = 0; i < l->count; i++) {
		const struct am_cidr *c = &l->entry[i];

		if (c->family != family)
			continue;
		if (prefix_equal(c->addr, family == AF_INET ? a4 : a6, c->prefix))
			return true;
	}
	return false;
}

bool
am_nameserver_parse(const char *entry, size_t len, char *ip, size_t iplen, unsigned *port)
{
	char buf[80];
	const char *at;
	unsigned char bin[16];
	unsigned long p = 53;
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, entry, len);
	buf[len] = '\0';
	at = strrchr(buf, '@');
	if (at != NULL) {
		if (!isdigit((unsigned char)at[1]))
			return false;
		p = strtoul(at + 1, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return false;
		buf[at - buf] = '\0';
	}
	if (inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1)
		return false;
	if (strlen(buf) >= iplen)
		return false;
	am_strlcpy(ip, buf, iplen);
	*port = (unsigned)p;
	return true;
}
