#!/bin/sh
# tests/robust/run.sh [BUILDDIR] - alignmilter under hostile input, hostile
# DNS and MTA faults, live (Postfix) and through -t.  The part CI runs.
#
# Owns: one complete robustness run on the rig of tests/e2e plus
# tests/robust/lib.sh (hostile nsd zone, the lying DNS front, DNSTimeout 2):
#   hostile.py live      each hostile message + a normal one on one SMTP connection
#   hostile.py offline   the same messages (and non-messages) through -t
#   hostile.py deadns    -t with a nameserver that never answers
#   milterproto.py       ABORT mid-body, dropped connections (RSS), QUIT_NC, garbage
#   200 concurrent SMTP connections (smtpload), every copy checked at the sink
#   milter restarts (TERM, then KILL) while smtpload sends: 4xx retried,
#     none lost, none twice, none delivered without our Authentication-Results
#   a short soak (ROBUST_SOAK_N, default 2000, at 20 connections), RSS start/end
#   privileges: UserID drop, socket and log modes (lib.sh rob_privileges)
# and the health of the pieces.  Ends with "N passed, M failed"; exit 1 on
# failure, 77 when this machine cannot run it (see tests/e2e/README.md).
# ROBUST_KEEP=1 keeps the work directory (always kept on failure).
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ $# -ge 1 ]; then top_builddir=$(cd "$1" && pwd) || exit 1; fi
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/e2e/lib.sh"
E2E_DIR=$top_srcdir/tests/e2e		# lib.sh derives it from $0: ours is tests/robust
. "$here/lib.sh"

if reason=$(e2e_skip_reason); then
	echo "SKIP: robust: $reason"
	exit 77
fi
command -v "${CC:-cc}" >/dev/null 2>&1 || { echo "SKIP: robust: no C compiler for smtpload"; exit 77; }

WORK=$(mktemp -d /tmp/amrobust.XXXXXX) || exit 1
chmod 755 "$WORK"
finish() {
	rob_down
	if [ "$FAILED" -eq 0 ] && [ -z "${ROBUST_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "# robust: work directory kept: $WORK"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

count() {	# OUTFILE
	PASSED=$((PASSED + $(grep -c '^ok - ' "$1")))
	FAILED=$((FAILED + $(grep -c '^not ok - ' "$1")))
}
py() {	# NAME SCRIPT ARGS...: run, show, count
	n=$1; shift
	"$E2E_PY" "$@" >"$WORK/$n.out" 2>&1
	rc=$?
	cat "$WORK/$n.out"; count "$WORK/$n.out"
	[ $rc -eq 0 ] || grep -q '^not ok - ' "$WORK/$n.out" || nok "$n exited $rc"
}

# A sanitizer build: ASan keeps freed memory in quarantine, RSS says nothing.
if grep -q __asan_init "$ALIGNMILTER" 2>/dev/null; then export ROBUST_ASAN=1; fi

start=$(date +%s)
if ! rob_up "$WORK"; then
	nok "bring-up of nsd x2, DNS front, sink, alignmilter and Postfix"
	summary
	exit 1
fi
ok "bring-up of nsd x2, DNS front, sink, alignmilter and Postfix"
SMTP=127.0.0.1
SES="192.0.2.10 a8-10.smtp-out.amazonses.com 0100018c4a1b2c3d@us-east-1.amazonses.com inbox@sink.e2e.example"
SES_WANT=spf=pass,dkim=pass,dkim=pass,dmarc=pass

py live "$here/hostile.py" live "$WORK"
py offline "$here/hostile.py" offline "$WORK"
py deadns "$here/hostile.py" deadns "$WORK"
py milterproto "$here/milterproto.py" "$WORK" "$E2E_MILTER_PID" 300

rob_privileges

# The load pieces: smtpload (C) and one signed SES-shaped message.
if ! rob_build_load "$WORK" || ! "$E2E_PY" "$here/hostile.py" template "$WORK" "$WORK/load.eml"; then
	nok "smtpload and its message built"
	summary
	exit 1
fi

# 200 concurrent SMTP connections (two messages each).
# shellcheck disable=SC2086
out=$("$WORK/smtpload" $SMTP "$SMTP_PORT" 400 200 "$WORK/load.eml" conc $SES 2)
echo "# concurrent: $out"
check "200 concurrent connections: 400 messages accepted ($out)" rob_all_accepted "$out"
check "200 concurrent connections: each delivered once, one Authentication-Results of ours, all pass" \
	"$E2E_PY" "$here/sinkcheck.py" "$E2E_WORK/sink" conc 400 mx.e2e.example "$SES_WANT" 60
check "alignmilter alive after 200 concurrent connections" alive "$E2E_MILTER_PID"

# Restart the milter while Postfix is sending (milter_default_action = tempfail).
# shellcheck disable=SC2086
"$WORK/smtpload" $SMTP "$SMTP_PORT" 600 10 "$WORK/load.eml" rst $SES 20 >"$WORK/restart.out" 2>&1 &
load=$!
sleep 1.5
t0=$(date +%s)
rob_milter_stop TERM
t1=$(($(date +%s) - t0))
echo "# restart: SIGTERM with 10 SMTP sessions open: the milter exited in $t1 s"
check "alignmilter stopped on SIGTERM with exit 0" test "$ROB_MILTER_RC" = 0
# libmilter serves no open connection after smfi_stop(): waiting for them
# to close only stalled their mail for the whole grace period (30 s).
check "SIGTERM: exit within 10 s although SMTP sessions are open (took $t1 s)" test "$t1" -le 10
rob_milter_start || nok "alignmilter restarted after SIGTERM"
sleep 1.5
rob_milter_stop KILL
rob_milter_start || nok "alignmilter restarted after SIGKILL"
wait "$load"
out=$(tail -1 "$WORK/restart.out")
echo "# restart: $out"
tempfails=$(grep -c 'milter.*451 4.7.1\|451 4.7.1.*milter\|milter-reject.*4\.' "$E2E_WORK/postfix/maillog")
echo "# restart: Postfix logged $tempfails 4xx milter replies"
check "restarts: every message finally accepted, 4xx retried ($out)" rob_all_accepted "$out"
check "restarts: none lost, none twice, none delivered unverified" \
	"$E2E_PY" "$here/sinkcheck.py" "$E2E_WORK/sink" rst 600 mx.e2e.example "$SES_WANT" 60

# A short soak.
n=${ROBUST_SOAK_N:-2000}
rss0=$(rob_rss "$E2E_MILTER_PID")
# shellcheck disable=SC2086
out=$("$WORK/smtpload" $SMTP "$SMTP_PORT" "$n" 20 "$WORK/load.eml" soak $SES 50)
rss1=$(rob_rss "$E2E_MILTER_PID")
echo "# soak: $out; milter RSS ${rss0} KiB -> ${rss1} KiB${ROBUST_ASAN:+ (ASan build: not asserted)}"
check "soak: $n messages at 20 connections accepted" rob_all_accepted "$out"
check "soak: each delivered once with one Authentication-Results of ours, all pass" \
	"$E2E_PY" "$here/sinkcheck.py" "$E2E_WORK/sink" soak "$n" mx.e2e.example "$SES_WANT" 120

check "alignmilter is still running" alive "$E2E_MILTER_PID"
# Stop it now: a sanitizer build reports leaks at exit (LeakSanitizer: exit 23).
rob_milter_stop TERM
check "alignmilter exits 0 on SIGTERM after all of it (exit $ROB_MILTER_RC)" test "$ROB_MILTER_RC" = 0
check "Postfix logged no fatal/panic" sh -c "! grep -E 'postfix-e2e/[a-z-]+\[[0-9]+\]: (fatal|panic):' '$E2E_WORK/postfix/maillog'"
check "the milter's stderr shows no sanitizer report or crash" \
	sh -c "! grep -E 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation|abort' '$E2E_WORK/milter.log'"
echo "# robust: $(($(date +%s) - start)) s"
summary
