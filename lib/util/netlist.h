/*
 * netlist.h - IP addresses and CIDR lists (IgnoreHosts, Nameservers).
 *
 * Owns: parsing "IP", "IP/len" and "IP@PORT" entries and matching a
 * client address against a list.  IPv4-mapped IPv6 clients match IPv4
 * entries.
 *
 * Errors: nothing is logged.  am_netlist_parse() returns false with err
 * naming the bad entry and leaves the list empty; am_nameserver_parse()
 * returns false; a client address that does not parse matches nothing.
 * Out of memory aborts.
 *
 * Threads: any; a list is only read once parsed.
 */
#ifndef AM_NETLIST_H
#define AM_NETLIST_H

#include <stdbool.h>
#include <stddef.h>

struct am_cidr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct am_netlist {
	struct am_cidr *entry;
	size_t	count;
};

/* Parse a comma list of IP[/len]; false with err naming the bad entry. */
bool	am_netlist_parse(const char *list, struct am_netlist *out, char *err, size_t errlen);
void	am_netlist_free(struct am_netlist *);
/* Does ip (text) fall in the list?  Unparseable ip: false. */
bool	am_netlist_match(const struct am_netlist *, const char *ip);

/*
 * One Nameservers entry: "IP" or "IP@PORT" (IPv6 too: "::1@5353").
 * Fills ip (text) and port (53 when absent).
 */
bool	am_nameserver_parse(const char *entry, size_t len, char *ip, size_t iplen, unsigned *port);

#endif
