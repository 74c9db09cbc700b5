# tests/lib/common.sh - shell helpers shared by alignmilter's script tests.
#
# Owns: finding the programs under test, picking free loopback ports,
# waiting for a port, and the pass/fail bookkeeping that prints
# "N passed, M failed".

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# The programs under test: the build's, unless the environment names others
# (tests/package.test runs the e2e suite on the installed package's).
: "${ALIGNMILTER:=$top_builddir/milter/alignmilter}"
: "${ALIGNMILTER_CHECK:=$top_builddir/tools/check/alignmilter-check}"
: "${ALIGNMILTER_REPORT:=$top_builddir/tools/report/alignmilter-report}"
PASSED=0
FAILED=0

ok()   { PASSED=$((PASSED + 1)); echo "ok - $*"; }
nok()  { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	desc=$1; shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
# rc_and_grep RC WANT PATTERN FILE: exit status was WANT and FILE matches PATTERN.
rc_and_grep() {
	[ "$1" -eq "$2" ] && grep -q -- "$3" "$4"
}
summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# free_port: print a TCP/UDP port free on 127.0.0.1 and ::1.
free_port() {
	/usr/bin/python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    try:
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(fam, typ); t.bind((addr, p)); t.close()
        print(p); break
    except OSError:
        continue
PY
}

# wait_port HOST PORT [SECONDS]: wait until a TCP port accepts connections.
wait_port() {
	/usr/bin/python3 - "$1" "$2" "${3:-10}" <<'PY'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection((host, port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# alive PID: the process exists and is not a zombie awaiting wait.
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in Z*|"") return 1 ;; esac
	return 0
}

# wait_gone PID [SECONDS]: wait until a process has exited.
wait_gone() {
	i=0
	while alive "$1"; do
		i=$((i + 1)); [ $i -gt $((${2:-10} * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}
