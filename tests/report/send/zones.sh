#!/bin/sh
# zones.sh DIR: the zones of tests/report-send.test into DIR (one file per zone).
# _dmarc records with rua= (draft-ietf-dmarc-aggregate-reporting-32 3.4) and the
# authorising record of an external destination (draft-32 section 4).
set -eu
d=$1
mkdir -p "$d"
zone() {	# NAME RECORDS...
	n=$1; shift
	{
		printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 192.0.2.53\n' "$n" "$n" "$n" "$n"
		for r in "$@"; do printf '%s\n' "$r"; done
	} >"$d/$n.zone"
}
# internal destination (same organizational domain)
zone a.example '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@a.example"'
# one external destination that authorises b.example, one that does not
zone b.example '_dmarc TXT "v=DMARC1; p=none; rua=mailto:agg@ext.example,mailto:victim@unauth.example"'
zone ext.example 'b.example._report._dmarc TXT "v=DMARC1"'
zone unauth.example '@ TXT "nothing here"'
# a size limit too small for any report, and one large enough
zone c.example '_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:tiny@c.example!1k,mailto:big@c.example!10m"'
# no rua=: no report is wanted
zone d.example '_dmarc TXT "v=DMARC1; p=none"'
