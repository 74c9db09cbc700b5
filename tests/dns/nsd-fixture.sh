#!/bin/sh
# nsd-fixture.sh - a throw-away authoritative DNS server (NSD) on loopback.
#
# Owns: generating an nsd.conf in a private directory, starting nsd in the
# foreground (as a background job of this script), waiting until it
# answers, and stopping it again.  Used by tests/check_resolver.c and meant
# for the end-to-end tests too.  See tests/dns/README.md.
#
#   nsd-fixture.sh start DIR PORT ZONEFILE...
#       DIR: a directory of its own (created; holds nsd.conf, nsd.log, nsd.pid).
#       PORT: a port number, or 0 to choose a free one.
#       ZONEFILE: path named ZONE.zone, e.g. example.test.zone serves
#       "example.test".  A file that does not exist or does not parse gives a
#       zone that nsd answers with SERVFAIL.  Unless a root.zone is given, an
#       empty root zone is served too, so a name outside the zones gets
#       NXDOMAIN as on the Internet (RFC 9989's tree walk asks _dmarc.com)
#       rather than REFUSED, which a resolver reports as SERVFAIL
#       (NSD_FIXTURE_NO_ROOT=1: no root, for tests of REFUSED itself).
#       Listens on 127.0.0.1 and, when usable, ::1.  Prints the port on
#       stdout; exit 0 once the server answers, 1 on failure (log on stderr).
#   nsd-fixture.sh stop DIR
#       TERM (then KILL after 3 s) the server started in DIR; always exit 0.
#
# Environment: NSD (default: nsd on PATH or /usr/sbin/nsd), PYTHON
# (default /usr/bin/python3), NSD_FIXTURE_OWNER: a process id; when that
# process is gone (killed, crashed) a watcher stops the server, so no
# nsd outlives its test.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -z "${NSD:-}" ]; then
	NSD=$(command -v nsd 2>/dev/null || echo /usr/sbin/nsd)
fi

die() { echo "nsd-fixture: $*" >&2; exit 1; }

have_v6() {
	"$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' \
		2>/dev/null
}

# The root with nothing delegated: every name no other zone holds is NXDOMAIN.
write_root_zone() {	# FILE
	cat >"$1" <<'ROOT'
$TTL 300
.		IN SOA	localhost. hostmaster.localhost. 1 3600 600 86400 300
.		IN NS	localhost.
localhost.	IN A	127.0.0.1
ROOT
}

write_conf() {	# DIR PORT V6 ZONEFILE...
	d=$1; p=$2; v6=$3; shift 3
	{
		echo "server:"
		echo "	ip-address: 127.0.0.1"
		[ "$v6" = yes ] && echo "	ip-address: ::1"
		echo "	port: $p"
		echo "	username: \"\""
		echo "	chroot: \"\""
		echo "	zonesdir: \"$d\""
		echo "	database: \"\""
		echo "	zonelistfile: \"$d/zone.list\""
		echo "	xfrdfile: \"$d/xfrd.state\""
		echo "	xfrdir: \"$d\""
		echo "	pidfile: \"$d/nsd.pid\""
		echo "	logfile: \"$d/nsd.log\""
		echo "	server-count: 1"
		echo "	reuseport: no"
		echo "	verbosity: 1"
		echo "	hide-version: yes"
		echo "	refuse-any: no"
		echo "remote-control:"
		echo "	control-enable: no"
		root=yes
		[ -n "${NSD_FIXTURE_NO_ROOT:-}" ] && root=no
		for z in "$@"; do
			[ "$(basename "$z")" = root.zone ] && root=no
		done
		if [ $root = yes ]; then
			write_root_zone "$d/root.zone"
			set -- "$@" "$d/root.zone"
		fi
		for z in "$@"; do
			case "$z" in /*) ;; *) z="$(pwd)/$z" ;; esac
			name=$(basename "$z" .zone)
			[ "$name" = root ] && name=.
			echo "zone:"
			echo "	name: \"$name\""
			echo "	zonefile: \"$z\""
		done
	} >"$d/nsd.conf"
}

stop() {	# DIR
	d=$1
	[ -f "$d/fixture.pid" ] || return 0
	pid=$(cat "$d/fixture.pid")
	rm -f "$d/fixture.pid"
	case "$pid" in ''|*[!0-9]*) return 0 ;; esac
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 60 ]; do
		sleep 0.05; i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# Stop the server once NSD_FIXTURE_OWNER has gone; ends with the server.
watch_owner() {	# DIR
	owner=${NSD_FIXTURE_OWNER:-}
	case "$owner" in ''|*[!0-9]*) return 0 ;; esac
	srv=$(cat "$1/fixture.pid")
	(
		while kill -0 "$owner" 2>/dev/null && kill -0 "$srv" 2>/dev/null; do
			sleep 0.5
		done
		[ "$(cat "$1/fixture.pid" 2>/dev/null)" = "$srv" ] && stop "$1"
	) </dev/null >/dev/null 2>&1 &
}

start() {	# DIR PORT ZONEFILE...
	d=$1; want=$2; shift 2
	[ $# -ge 1 ] || die "start needs at least one zone file"
	[ -x "$NSD" ] || die "nsd not found (Debian package nsd)"
	mkdir -p "$d" || die "cannot create $d"
	d=$(cd "$d" && pwd)
	stop "$d"
	first=$(basename "$1" .zone)
	v6=no; have_v6 && v6=yes
	tries=0
	while [ $tries -lt 5 ]; do
		tries=$((tries + 1))
		p=$want
		if [ "$p" = 0 ]; then
			if [ "$v6" = yes ]; then p=$("$PYTHON" "$here/dnsutil.py" freeport --v6)
			else p=$("$PYTHON" "$here/dnsutil.py" freeport); fi || die "no free port"
		fi
		write_conf "$d" "$p" "$v6" "$@"
		: >"$d/nsd.log"
		# -d: foreground, so fixture.pid is the server itself.  Its
		# output must not hold our stdout open (callers read it with popen).
		"$NSD" -d -c "$d/nsd.conf" </dev/null >>"$d/nsd.log" 2>&1 &
		echo $! >"$d/fixture.pid"
		if "$PYTHON" "$here/dnsutil.py" wait 127.0.0.1 "$p" "$first" 5 &&
		    kill -0 "$(cat "$d/fixture.pid")" 2>/dev/null; then
			watch_owner "$d"
			echo "$p"
			return 0
		fi
		stop "$d"
		# A fixed port that does not work will not work next time either.
		[ "$want" = 0 ] || break
	done
	cat "$d/nsd.log" >&2
	die "nsd did not answer on port $p"
}

case "${1:-}" in
start)	[ $# -ge 4 ] || die "usage: $0 start DIR PORT ZONEFILE..."
	shift; start "$@" ;;
stop)	[ $# -eq 2 ] || die "usage: $0 stop DIR"
	stop "$2" ;;
*)	die "usage: $0 start DIR PORT ZONEFILE... | stop DIR" ;;
esac
