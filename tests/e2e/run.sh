#!/bin/sh
# tests/e2e/run.sh [BUILDDIR] - alignmilter end to end, with real parts only.
#
# Owns: one complete e2e run: brings up nsd + the SMTP sink + alignmilter
# + a private Postfix on loopback (lib.sh; the milter with MetricsListen,
# its /metrics compared with its alignment-log records by metrics.py after
# each live batch), runs every scenario of
# scenarios.py with RejectFailures no, restarts the milter with
# RejectFailures yes and runs the enforcement scenarios, runs the offline
# pass and tools.py (alignmilter-check / -report on this run's DNS and
# alignment log), then respond.py (alignmilter-respond as a pipe(8)
# service of the same Postfix, its replies to the sink), checks the pieces stayed healthy, stops everything it
# started (even on failure or Ctrl-C) and ends with "N passed, M failed"
# (exit 1 on any failure, 77 = skipped when this machine cannot run it:
# not root, package missing).
#
# BUILDDIR (or $top_builddir) holds milter/alignmilter; default: the
# source tree.  E2E_KEEP=1 keeps the work directory (it is always kept on
# failure and its path printed).  E2E_VERBOSE=1 prints one reply of
# alignmilter-respond as delivered.  E2E_FAKE_MILTER=1 runs the harness
# against tests/e2e/fakemilter.py (a self-test of the rig: every
# [contract] check then fails by design).
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ $# -ge 1 ]; then top_builddir=$(cd "$1" && pwd) || exit 1; fi
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/common.sh"
. "$here/lib.sh"

if reason=$(e2e_skip_reason); then
	echo "SKIP: e2e: $reason"
	exit 77
fi

WORK=$(mktemp -d /tmp/ame2e.XXXXXX) || exit 1
chmod 755 "$WORK"	# Postfix's daemons (user postfix) must reach the queue
finish() {
	e2e_down
	if [ "$FAILED" -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "# e2e: work directory kept: $WORK (milter.log, alignment.log, postfix/maillog, sink/)"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

count() {	# OUTFILE: add its ok / not ok lines to the totals
	PASSED=$((PASSED + $(grep -c '^ok - ' "$1")))
	FAILED=$((FAILED + $(grep -c '^not ok - ' "$1")))
}

# MetricsListen (issue 18): after each batch of scenarios metrics.py
# compares /metrics with the alignment-log records of that milter process.
METRICS_PORT=$(free_port)
METRICS="MetricsListen 127.0.0.1:$METRICS_PORT"
log_lines() { if [ -f "$WORK/alignment.log" ]; then wc -l <"$WORK/alignment.log"; else echo 0; fi; }
scrape() {	# LABEL FIRSTLINE: the counters of the running milter against its records
	[ -z "${E2E_FAKE_MILTER:-}" ] || return 0
	"$E2E_PY" "$here/metrics.py" "$WORK" "$METRICS_PORT" "$2" >"$WORK/metrics-$1.out" 2>&1
	sed "s/^\(not \)\{0,1\}ok - /&$1: /" "$WORK/metrics-$1.out"; count "$WORK/metrics-$1.out"
}

start=$(date +%s)
if ! e2e_up "$WORK" "RejectFailures no" "$METRICS"; then
	nok "bring-up of nsd, sink, alignmilter and Postfix"
	summary
	exit 1
fi
ok "bring-up of nsd, sink, alignmilter and Postfix"
MILTER1=$E2E_MILTER_PID

"$E2E_PY" "$here/scenarios.py" run "$WORK" normal >"$WORK/normal.out" 2>&1
cat "$WORK/normal.out"; count "$WORK/normal.out"
scrape normal 1
check "alignmilter (RejectFailures no) is still running" alive "$MILTER1"

if [ -z "${E2E_FAKE_MILTER:-}" ]; then
	first=$(($(log_lines) + 1))
	if e2e_milter_restart "RejectFailures yes" "$METRICS"; then
		ok "alignmilter restarted with RejectFailures yes"
		"$E2E_PY" "$here/scenarios.py" run "$WORK" reject >"$WORK/reject.out" 2>&1
		cat "$WORK/reject.out"; count "$WORK/reject.out"
		scrape reject "$first"
		check "alignmilter (RejectFailures yes) is still running" alive "$E2E_MILTER_PID"
	else
		nok "alignmilter restarted with RejectFailures yes"
	fi
	check "the default milter engine is the native one" grep -q 'listening on .*(native engine; DMARC by RFC 9989, DNS tree walk)' "$WORK/milter.log"
	# The same scenarios once more over the other transport (MilterEngine libmilter).
	first=$(($(log_lines) + 1))
	if e2e_milter_restart "MilterEngine libmilter" "$METRICS"; then
		ok "alignmilter restarted with MilterEngine libmilter"
		# The socket listens before the line is logged: give it a moment.
		check "it says it runs on libmilter" sh -c "for i in \$(seq 50); do
			grep -q 'listening on .*(libmilter engine;' '$WORK/milter.log' && exit 0; sleep 0.1; done; exit 1"
		"$E2E_PY" "$here/scenarios.py" run "$WORK" normal >"$WORK/libmilter.out" 2>&1
		sed 's/^\(not \)\{0,1\}ok - /&libmilter: /' "$WORK/libmilter.out"; count "$WORK/libmilter.out"
		scrape libmilter "$first"
		check "alignmilter (MilterEngine libmilter) is still running" alive "$E2E_MILTER_PID"
	else
		nok "alignmilter restarted with MilterEngine libmilter"
	fi
fi

# The same scenarios through the offline mode (-t): the same pipeline
# without an MTA; checks the verdicts even while the live adapter lags.
"$E2E_PY" "$here/scenarios.py" offline "$WORK" >"$WORK/offline.out" 2>&1
cat "$WORK/offline.out"; count "$WORK/offline.out"

# The tools: alignmilter-check against this nsd (inputs from the live
# alignment log) and alignmilter-report on that log (tools.py).
"$E2E_PY" "$here/tools.py" "$WORK" >"$WORK/tools.out" 2>&1
cat "$WORK/tools.out"; count "$WORK/tools.out"

# alignmilter-respond (issue 17) through the same Postfix: respond.py adds
# the pipe service of contrib/postfix-respond-*.cf and sends the probes (a
# forged From must get through the milter: RejectFailures no).
case ",${E2E_ONLY:-respond}," in *,respond,*)
	if [ -n "${E2E_FAKE_MILTER:-}" ]; then
		echo "# e2e: respond skipped (the fake milter writes no alignment log)"
	elif e2e_milter_restart "RejectFailures no"; then
		ok "alignmilter restarted with RejectFailures no (for alignmilter-respond)"
		"$E2E_PY" "$here/respond.py" run "$WORK" >"$WORK/respond.out" 2>&1
		cat "$WORK/respond.out"; count "$WORK/respond.out"
		check "alignmilter (for alignmilter-respond) is still running" alive "$E2E_MILTER_PID"
	else
		nok "alignmilter restarted with RejectFailures no (for alignmilter-respond)"
	fi ;;
esac

check "Postfix logged no fatal/panic" sh -c "! grep -E 'postfix-e2e/[a-z-]+\[[0-9]+\]: (fatal|panic):' '$WORK/postfix/maillog'"
check "Postfix never lost the milter" sh -c "! grep -E 'milter .*(: (Connection refused|timeout|unreachable)|read error)' '$WORK/postfix/maillog'"
check "the milter's stderr shows no sanitizer report" sh -c "! grep -E 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:' '$WORK/milter.log'"
echo "# e2e: $(($(date +%s) - start)) s"
summary
