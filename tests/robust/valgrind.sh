#!/bin/sh
# tests/robust/valgrind.sh [BUILDDIR] [N] - alignmilter under valgrind memcheck ("make valgrind").
#
# Owns: the memcheck run.  The live rig of tests/robust/lib.sh
# with the milter started as
#   valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9
#            --suppressions=tests/robust/valgrind.supp alignmilter -f ...
# then: every hostile message and hostile-DNS case of hostile.py (each
# followed by a normal message on the same SMTP connection), the raw
# milter-protocol faults of milterproto.py (ABORT mid-body, 100 connections
# dropped mid-body, garbage), and N (default 1000) SES-shaped messages at
# 10 connections through Postfix; then SIGTERM and valgrind's verdict:
# "definitely lost: 0 bytes" (or no leak at all) and "ERROR SUMMARY: 0
# errors".  The report is WORK/valgrind.log (kept with ROBUST_KEEP=1 or on
# failure).  Needs the Debian package valgrind.  Not part of "make check".
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ $# -ge 1 ] && [ -n "$1" ]; then top_builddir=$(cd "$1" && pwd) || exit 1; fi
: "${top_builddir:=$top_srcdir}"
N=${2:-1000}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/e2e/lib.sh"
E2E_DIR=$top_srcdir/tests/e2e
. "$here/lib.sh"

if reason=$(e2e_skip_reason); then
	echo "SKIP: valgrind: $reason"
	exit 77
fi
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind: valgrind not installed"; exit 77; }
WORK=$(mktemp -d /tmp/amvalgrind.XXXXXX) || exit 1
chmod 755 "$WORK"
finish() {
	rob_down
	if [ "$FAILED" -eq 0 ] && [ -z "${ROBUST_KEEP:-}" ]; then rm -rf "$WORK"; else echo "# valgrind: work directory kept: $WORK"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

count() {
	PASSED=$((PASSED + $(grep -c '^ok - ' "$1")))
	FAILED=$((FAILED + $(grep -c '^not ok - ' "$1")))
}
export ROBUST_VALGRIND="$WORK/valgrind.log"
export ROBUST_SLOW=4		# DNS-timeout bounds, with memcheck's slowdown
start=$(date +%s)
rob_up "$WORK" || { nok "bring-up (milter under valgrind)"; summary; exit 1; }
ok "bring-up, alignmilter under valgrind memcheck (pid $E2E_MILTER_PID)"

"$E2E_PY" "$here/hostile.py" live "$WORK" >"$WORK/live.out" 2>&1
grep -E '^not ok|^# ' "$WORK/live.out"; count "$WORK/live.out"
"$E2E_PY" "$here/milterproto.py" "$WORK" "" 100 >"$WORK/milterproto.out" 2>&1
grep -E '^not ok|^# ' "$WORK/milterproto.out"; count "$WORK/milterproto.out"

rob_build_load "$WORK" && "$E2E_PY" "$here/hostile.py" template "$WORK" "$WORK/load.eml" ||
	{ nok "smtpload and its message built"; summary; exit 1; }
SES="192.0.2.10 a8-10.smtp-out.amazonses.com 0100018c4a1b2c3d@us-east-1.amazonses.com inbox@sink.e2e.example"
# shellcheck disable=SC2086
out=$("$WORK/smtpload" 127.0.0.1 "$SMTP_PORT" "$N" 10 "$WORK/load.eml" vg $SES 50)
echo "# valgrind: $out"
check "$N live messages accepted under valgrind" rob_all_accepted "$out"
check "each delivered once, one Authentication-Results of ours, all pass" \
	"$E2E_PY" "$here/sinkcheck.py" "$E2E_WORK/sink" vg "$N" mx.e2e.example spf=pass,dkim=pass,dkim=pass,dmarc=pass 120

rob_milter_stop TERM
echo "# valgrind: milter exit status $ROB_MILTER_RC (9 = valgrind found errors)"
grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY|All heap blocks|no leaks are possible' \
	"$ROBUST_VALGRIND" | sed 's/^==[0-9]*== /# valgrind: /'
check "valgrind: exit status not 9 (no error, no definite leak)" test "$ROB_MILTER_RC" != 9
check "valgrind: ERROR SUMMARY: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$ROBUST_VALGRIND"
check "valgrind: definitely lost: 0 bytes" sh -c \
	"grep -q 'definitely lost: 0 bytes' '$ROBUST_VALGRIND' || grep -q 'no leaks are possible' '$ROBUST_VALGRIND'"
echo "# valgrind: $(($(date +%s) - start)) s; report $ROBUST_VALGRIND"
summary
