#!/bin/sh
# tests/bench/run.sh BUILDDIR [N] [C...] - alignmilter against no milter and
# against Debian's opendkim + opendmarc, on this machine, in one command.
#
# Owns: bringing up, in one private work directory, everything the
# benchmark needs on loopback - nsd serving tests/e2e/zones.py's zones on
# 127.0.0.x:53 (port 53 because opendmarc reads resolv.conf, which has no
# port), the pre-signed message pool (pool.py), the C load generator and
# milter driver (built here with cc), alignmilter, opendkim (Mode v,
# Nameservers) and opendmarc (SPFSelfValidate, private resolv.conf in its
# own mount namespace), smtp-sink (discarding) and tests/e2e/sink.py (for
# the one captured sample per system) - then running bench.py, which
# measures and writes tests/bench/RESULTS.md; and stopping all of it,
# whatever happens (trap).
#
#   sudo sh tests/bench/run.sh /tmp/build            # N=1000, C=16 and 32
#   sudo sh tests/bench/run.sh /tmp/build 2000 8 16 32
# Environment: BENCH_RUNS (default 3 runs per point), BENCH_POOL (200
# messages), BENCH_KEEP=1 keeps the work directory, BENCH_OUT (default
# tests/bench/RESULTS.md), BENCH_PROFILE=0 skips the perf profile,
# BENCH_COLD_ONLY=1 runs only the cold-cache measurement (dnsdelay.py and
# a restarted alignmilter; see README), BENCH_COLD_DELAY (50 ms per
# answer), BENCH_COLD_TRIALS (10 per variant), BENCH_SESSIONS=0 skips the
# per-session rows (BENCH_SESSIONS_N, 600), BENCH_CALLGRIND=0 the
# instruction counts (conncost.py), BENCH_SOAK_N=0 the soak (100000
# messages), BENCH_DKIMFLOOR_N (2000) messages for dkimfloor.c;
# BENCH_ONLY=soak,flood,dkimfloor,... runs only those parts of conncost.py
# (also sessions, syscalls, hold, callgrind) and writes WORK/only.md (and
# BENCH_OUT if set), not RESULTS.md.
# Needs root and the Debian packages postfix, nsd, opendkim, opendmarc,
# python3-dkim, openssl, linux-perf (optional), a C compiler; libopendkim-dev
# and libssl-dev for dkimfloor.c (optional: without them no DKIM floor).
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [N] [C...]" >&2; exit 2; }
top_builddir=$(cd "$1" && pwd) || exit 1
shift
N=${1:-1000}
[ $# -ge 1 ] && shift
CS=${*:-16 32}
. "$top_srcdir/tests/lib/common.sh"
E2E=$top_srcdir/tests/e2e
PY=/usr/bin/python3

say() { echo "# bench: $*"; }
die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master, nsd on port 53, mount namespaces)"
for p in /usr/sbin/postfix /usr/sbin/smtp-sink /usr/sbin/nsd /usr/sbin/opendkim /usr/sbin/opendmarc; do
	[ -x "$p" ] || die "$p missing (Debian packages postfix nsd opendkim opendmarc)"
done
command -v unshare >/dev/null || die "unshare missing (util-linux)"
command -v cc >/dev/null || die "no C compiler"
"$PY" -c 'import dkim' 2>/dev/null || die "python3-dkim missing"
[ -x "$ALIGNMILTER" ] || die "$ALIGNMILTER not built"

WORK=$(mktemp -d /tmp/ambench.XXXXXX) || exit 1
chmod 755 "$WORK"	# Postfix's daemons (user postfix) must reach the queues
PIDS=
NSD_PID=

finish() {
	# Postfix instances bench.py may have left running (it stops its own).
	for d in "$WORK"/postfix-*; do
		[ -d "$d/etc" ] && sh "$E2E/postfix.sh" stop "$d"
	done
	# The cold-cache alignmilter bench.py may have left running (it stops its own).
	COLD_PID=$(cat "$WORK/alignmilter-cold.conf.pid" 2>/dev/null)
	for p in $PIDS $NSD_PID $COLD_PID; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS $NSD_PID $COLD_PID; do
		wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${BENCH_KEEP:-}" ] || [ "${RC:-1}" != 0 ]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM
RC=1

# --- tools -----------------------------------------------------------------
cc -O2 -std=gnu11 -Wall -Wextra -pthread -o "$WORK/loadgen" "$here/loadgen.c" || die "cannot build loadgen"
cc -O2 -std=gnu11 -Wall -Wextra -pthread -o "$WORK/miltdrive" "$here/miltdrive.c" "$here/miltclient.c" ||
	die "cannot build miltdrive"
cc -O2 -std=gnu11 -Wall -Wextra -pthread -o "$WORK/floormilt" "$here/floormilt.c" || die "cannot build floormilt"
# The DKIM library's floor; its d2i_PUBKEY_bio must be what libopendkim calls.
DKIMFLOOR=$WORK/dkimfloor
cc -O2 -std=gnu11 -Wall -Wextra -Wl,--export-dynamic-symbol=d2i_PUBKEY_bio -o "$DKIMFLOOR" \
	"$here/dkimfloor.c" -lopendkim -lcrypto || { say "cannot build dkimfloor.c: no DKIM library floor"; DKIMFLOOR=; }

# --- DNS: tests/e2e/zones.py's world on 127.0.0.x:53 -------------------------
"$PY" "$E2E/zones.py" "$WORK/dns" >/dev/null || die "zones.py failed"
DNS_IP=
for x in 153 154 155 156 157 158 159; do
	if "$PY" -c "import socket,sys
for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s=socket.socket(socket.AF_INET,t); s.bind(('127.0.0.$x',53)); s.close()" 2>/dev/null; then
		DNS_IP=127.0.0.$x; break
	fi
done
[ -n "$DNS_IP" ] || die "no free 127.0.0.x:53"
mkdir -p "$WORK/nsd"
{
	echo "server:"
	echo "	ip-address: $DNS_IP"
	echo "	port: 53"
	echo "	username: \"\""
	echo "	chroot: \"\""
	echo "	zonesdir: \"$WORK/nsd\""
	echo "	database: \"\""
	echo "	zonelistfile: \"$WORK/nsd/zone.list\""
	echo "	xfrdfile: \"$WORK/nsd/xfrd.state\""
	echo "	xfrdir: \"$WORK/nsd\""
	echo "	pidfile: \"$WORK/nsd/nsd.pid\""
	echo "	logfile: \"$WORK/nsd/nsd.log\""
	echo "	server-count: 1"
	echo "	verbosity: 1"
	echo "	refuse-any: no"
	# No response rate limiting: the peers' stub resolvers (no cache) ask
	# hundreds of times a second; RRL would drop answers into 5 s timeouts.
	echo "	rrl-ratelimit: 0"
	echo "	rrl-whitelist-ratelimit: 0"
	echo "remote-control:"
	echo "	control-enable: no"
	# The deliberately broken SERVFAIL zone of the e2e world is left out.
	grep -v '_dmarc.servfail' "$WORK/dns/zones.list" | while read -r z; do
		echo "zone:"
		echo "	name: \"$(basename "$z" .zone)\""
		echo "	zonefile: \"$z\""
	done
	# An empty root, as tests/dns/nsd-fixture.sh serves: RFC 9989's tree
	# walk asks _dmarc.<tld>, which must be NXDOMAIN, not REFUSED.
	printf '%s\n' '$TTL 300' \
	    '. IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 300' \
	    '. IN NS localhost.' 'localhost. IN A 127.0.0.1' >"$WORK/nsd/root.zone"
	echo "zone:"
	echo "	name: \".\""
	echo "	zonefile: \"$WORK/nsd/root.zone\""
} >"$WORK/nsd/nsd.conf"
/usr/sbin/nsd -d -c "$WORK/nsd/nsd.conf" </dev/null >>"$WORK/nsd/nsd.log" 2>&1 &
NSD_PID=$!
"$PY" "$top_srcdir/tests/dns/dnsutil.py" wait "$DNS_IP" 53 amazonses.com 5 ||
	{ cat "$WORK/nsd/nsd.log" >&2; die "nsd does not answer on $DNS_IP:53"; }
say "nsd on $DNS_IP:53"

# --- the cold-cache relay: every answer of the nsd delayed (dnsdelay.py) ----
COLD_DELAY=${BENCH_COLD_DELAY:-50}
RELAY_PORT=$(free_port)
"$PY" "$here/dnsdelay.py" 127.0.0.1 "$RELAY_PORT" "$DNS_IP" 53 "$COLD_DELAY" "$WORK/dnsdelay.log" \
	</dev/null >"$WORK/dnsdelay.out" 2>&1 &
PIDS="$PIDS $!"
"$PY" "$top_srcdir/tests/dns/dnsutil.py" wait 127.0.0.1 "$RELAY_PORT" amazonses.com 5 ||
	{ cat "$WORK/dnsdelay.out" >&2; die "dnsdelay.py does not answer on 127.0.0.1:$RELAY_PORT"; }
say "dnsdelay.py on 127.0.0.1:$RELAY_PORT (answers of $DNS_IP:53 delayed $COLD_DELAY ms)"

# --- the message pool, signed once, before any timing -------------------------
# The cold-cache measurement and BENCH_ONLY's parts need few messages.
[ -n "${BENCH_COLD_ONLY:-}${BENCH_ONLY:-}" ] && : "${BENCH_POOL:=10}"
"$PY" "$here/pool.py" "$WORK/dns/keys.json" "$WORK/pool" "${BENCH_POOL:-200}" || die "pool.py failed"
"$PY" "$E2E/zones.py" "$WORK/dns" --verify-message "$WORK/pool/msg0000.eml" "$DNS_IP" 53 >"$WORK/pool/verify.txt" ||
	{ cat "$WORK/pool/verify.txt" >&2; die "python3-dkim cannot verify the pool's first message"; }

# --- the milters ------------------------------------------------------------
# Each set twice: on loopback TCP (the comparison the targets are set for) and on
# unix sockets (no Nagle/delayed-ACK stall; see README).
# start_milters TAG SOCKET_AM SOCKET_ODK SOCKET_ODM: sets AM_PID_TAG etc.
start_milters() {
	tag=$1
	cat >"$WORK/alignmilter-$tag.conf" <<EOF
# generated by tests/bench/run.sh
Socket $2
AuthservID mx.bench.example
Nameservers $DNS_IP
DNSTimeout 5
AlignmentLog $WORK/alignment-$tag.log
Syslog no
EOF
	"$ALIGNMILTER" -n -c "$WORK/alignmilter-$tag.conf" >"$WORK/alignmilter-n.out" 2>&1 ||
		{ cat "$WORK/alignmilter-n.out" >&2; die "alignmilter -n failed"; }
	"$ALIGNMILTER" -f -c "$WORK/alignmilter-$tag.conf" </dev/null >"$WORK/alignmilter-$tag.log" 2>&1 &
	eval "AM_PID_$tag=\$!"; PIDS="$PIDS $!"

	cat >"$WORK/opendkim-$tag.conf" <<EOF
# generated by tests/bench/run.sh: verify only, keys from the bench nsd
Mode v
Socket $3
Nameservers $DNS_IP
AuthservID mx.bench.example
Syslog no
SoftwareHeader no
UMask 000
EOF
	/usr/sbin/opendkim -f -x "$WORK/opendkim-$tag.conf" </dev/null >"$WORK/opendkim-$tag.log" 2>&1 &
	eval "ODK_PID_$tag=\$!"; PIDS="$PIDS $!"

	cat >"$WORK/opendmarc-$tag.conf" <<EOF
# generated by tests/bench/run.sh: SPF by itself, DKIM from opendkim's header
Socket $4
AuthservID mx.bench.example
TrustedAuthservIDs mx.bench.example
SPFSelfValidate true
SPFIgnoreResults true
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
Syslog false
FailureReports false
RejectFailures false
UMask 000
EOF
	# opendmarc (and its libspf2) resolve through res_ninit: /etc/resolv.conf,
	# which cannot name a port - hence nsd on port 53 and a private mount.
	unshare -m sh -c "mount --bind '$WORK/resolv.conf' /etc/resolv.conf &&
		exec /usr/sbin/opendmarc -f -c '$WORK/opendmarc-$tag.conf'" </dev/null >"$WORK/opendmarc-$tag.log" 2>&1 &
	eval "ODM_PID_$tag=\$!"; PIDS="$PIDS $!"
}
echo "nameserver $DNS_IP" >"$WORK/resolv.conf"
AM_PORT=$(free_port); ODK_PORT=$(free_port); ODM_PORT=$(free_port)
SINK_PORT=$(free_port); CAP_PORT=$(free_port)
start_milters inet "inet:$AM_PORT@127.0.0.1" "inet:$ODK_PORT@127.0.0.1" "inet:$ODM_PORT@127.0.0.1"
start_milters unix "unix:$WORK/am.sock" "local:$WORK/odk.sock" "local:$WORK/odm.sock"

# The floor any milter pays: alignmilter passing every client through
# (IgnoreHosts everything), so only the milter protocol is left - Postfix's
# side of it and our engine's.
NULL_PORT=$(free_port)
cat >"$WORK/alignmilter-null.conf" <<EOF
# generated by tests/bench/run.sh: protocol only, nothing verified
Socket inet:$NULL_PORT@127.0.0.1
AuthservID mx.bench.example
Nameservers $DNS_IP
IgnoreHosts 0.0.0.0/0, ::/0
Syslog no
EOF
"$ALIGNMILTER" -f -c "$WORK/alignmilter-null.conf" </dev/null >"$WORK/alignmilter-null.log" 2>&1 &
AM_PID_null=$!; PIDS="$PIDS $!"

# The floor of the milter protocol itself (floormilt.c: negotiates as
# alignmilter does, verifies nothing, keeps nothing): one thread per
# connection as alignmilter's engine, and an epoll event loop.
FLOOR_T_PORT=$(free_port); FLOOR_E_PORT=$(free_port)
"$WORK/floormilt" -t "$FLOOR_T_PORT" </dev/null >"$WORK/floormilt-t.log" 2>&1 &
FLOOR_T_PID=$!; PIDS="$PIDS $!"
"$WORK/floormilt" -e "$FLOOR_E_PORT" </dev/null >"$WORK/floormilt-e.log" 2>&1 &
FLOOR_E_PID=$!; PIDS="$PIDS $!"

# The same alignmilter with Prometheus metrics on (MetricsListen): its CPU
# per message beside the one without (issue 18: no shared lock, no cost).
MET_PORT=$(free_port); METRICS_PORT=$(free_port)
sed -e "s|^Socket .*|Socket inet:$MET_PORT@127.0.0.1|" -e "s|^AlignmentLog .*|AlignmentLog $WORK/alignment-metrics.log|" \
	"$WORK/alignmilter-inet.conf" >"$WORK/alignmilter-metrics.conf"
echo "MetricsListen 127.0.0.1:$METRICS_PORT" >>"$WORK/alignmilter-metrics.conf"
"$ALIGNMILTER" -f -c "$WORK/alignmilter-metrics.conf" </dev/null >"$WORK/alignmilter-metrics.log" 2>&1 &
AM_PID_metrics=$!; PIDS="$PIDS $!"

# The cold-cache instance: bench.py starts it afresh for every trial (the
# answer caches are in the process), asking the nsd through dnsdelay.py.
COLD_PORT=$(free_port)
cat >"$WORK/alignmilter-cold.conf" <<EOF
# generated by tests/bench/run.sh: cold-cache trials, DNS through dnsdelay.py
Socket inet:$COLD_PORT@127.0.0.1
AuthservID mx.bench.example
Nameservers 127.0.0.1@$RELAY_PORT
DNSTimeout 5
AlignmentLog $WORK/alignment-cold.log
Syslog no
EOF
"$ALIGNMILTER" -n -c "$WORK/alignmilter-cold.conf" >"$WORK/alignmilter-n.out" 2>&1 ||
	{ cat "$WORK/alignmilter-n.out" >&2; die "alignmilter -n failed on the cold-cache config"; }

# --- the sinks: smtp-sink discards; sink.py keeps the samples ---------------
/usr/sbin/smtp-sink -u nobody -m 2000 127.0.0.1:"$SINK_PORT" 1024 </dev/null >"$WORK/smtp-sink.log" 2>&1 &
PIDS="$PIDS $!"
mkdir -p "$WORK/capture"
"$PY" "$E2E/sink.py" "$WORK/capture" 127.0.0.1 "$CAP_PORT" </dev/null >"$WORK/sink.log" 2>&1 &
PIDS="$PIDS $!"

for p in "$AM_PORT alignmilter" "$NULL_PORT alignmilter-null" "$FLOOR_T_PORT floormilt-t" "$FLOOR_E_PORT floormilt-e" "$MET_PORT alignmilter-metrics" "$METRICS_PORT metrics-http" "$ODK_PORT opendkim" "$ODM_PORT opendmarc" "$SINK_PORT smtp-sink" "$CAP_PORT sink.py"; do
	set -- $p
	wait_port 127.0.0.1 "$1" 10 || { cat "$WORK"/*.log >&2; die "$2 does not listen on $1"; }
done
i=0
while ! { [ -S "$WORK/am.sock" ] && [ -S "$WORK/odk.sock" ] && [ -S "$WORK/odm.sock" ]; }; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$WORK"/*-unix.log >&2; die "unix-socket milters did not start"; }
	sleep 0.1
done
# Postfix's smtpd (user postfix) must reach them; alignmilter refuses a
# world-writable SocketMode, so group postfix it is.
chgrp postfix "$WORK/am.sock" "$WORK/odk.sock" "$WORK/odm.sock" &&
	chmod 660 "$WORK/am.sock" "$WORK/odk.sock" "$WORK/odm.sock" || die "cannot open the milter sockets to Postfix"
say "alignmilter :$AM_PORT (pid $AM_PID_inet), opendkim :$ODK_PORT ($ODK_PID_inet), opendmarc :$ODM_PORT ($ODM_PID_inet), smtp-sink :$SINK_PORT, sink.py :$CAP_PORT; unix-socket milters in $WORK"

cat >"$WORK/bench.json" <<EOF
{"work": "$WORK", "e2e_dir": "$E2E", "n": $N, "cs": [$(echo $CS | tr ' ' ',')],
 "runs": ${BENCH_RUNS:-3}, "profile": ${BENCH_PROFILE:-1},
 "loadgen": "$WORK/loadgen", "miltdrive": "$WORK/miltdrive", "dkimfloor": "$DKIMFLOOR",
 "pool": "$WORK/pool/pool.bin", "sample": "$WORK/pool/msg0000.eml",
 "xclient_addr": "192.0.2.10", "helo": "a8-10.smtp-out.amazonses.com",
 "sink_port": $SINK_PORT, "capture_port": $CAP_PORT, "capture_dir": "$WORK/capture",
 "dns": "$DNS_IP:53", "alignmilter": "$ALIGNMILTER", "alignmilter_conf": "$WORK/alignmilter-inet.conf",
 "cold": {"conf": "$WORK/alignmilter-cold.conf", "port": $COLD_PORT, "relay": "127.0.0.1:$RELAY_PORT",
          "relay_log": "$WORK/dnsdelay.log", "delay_ms": $COLD_DELAY, "trials": ${BENCH_COLD_TRIALS:-10},
          "milter_log": "$WORK/alignmilter-cold.log"},
 "milters": {
   "alignmilter": {"ports": [$AM_PORT], "pids": [$AM_PID_inet]},
   "opendkim+opendmarc": {"ports": [$ODK_PORT, $ODM_PORT], "pids": [$ODK_PID_inet, $ODM_PID_inet]},
   "alignmilter/unix": {"sockets": ["$WORK/am.sock"], "pids": [$AM_PID_unix]},
   "alignmilter/pass-through": {"ports": [$NULL_PORT], "pids": [$AM_PID_null]},
   "floor/threads": {"ports": [$FLOOR_T_PORT], "pids": [$FLOOR_T_PID]},
   "floor/epoll": {"ports": [$FLOOR_E_PORT], "pids": [$FLOOR_E_PID]},
   "alignmilter/metrics": {"ports": [$MET_PORT], "pids": [$AM_PID_metrics], "metrics_port": $METRICS_PORT,
                           "conf": "$WORK/alignmilter-metrics.conf"},
   "opendkim+opendmarc/unix": {"sockets": ["$WORK/odk.sock", "$WORK/odm.sock"], "pids": [$ODK_PID_unix, $ODM_PID_unix]}},
 "out": "${BENCH_OUT:-$here/RESULTS.md}",
 "command": "sudo sh tests/bench/run.sh BUILDDIR $N $CS"}
EOF
"$PY" "$here/bench.py" "$WORK/bench.json"
RC=$?
for p in $PIDS; do
	alive "$p" || { say "process $p died during the run"; RC=1; }
done
exit $RC
