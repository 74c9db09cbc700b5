#!/bin/sh
# tests/robust/soak.sh [BUILDDIR] [N] [C] - the soak ("make soak").
#
# Owns: N messages (default 100000) through the live path (smtpload ->
# Postfix -> alignmilter -> sink) at C concurrent SMTP connections
# (default 20), on the rig of tests/robust/lib.sh.  Records the milter's
# RSS (from /proc) after a 500-message warm-up, every 10 s during the run
# (WORK/rss.log) and at the end; then checks at the sink that every one of
# the N Message-IDs arrived exactly once with exactly one
# Authentication-Results of ours saying spf=pass, dkim=pass x2, dmarc=pass.
# Not part of "make check" (tests/robust/run.sh runs a 2,000-message version).
# Prints the figures and "N passed, M failed"; the work directory is kept
# when ROBUST_KEEP=1 or on failure.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ $# -ge 1 ] && [ -n "$1" ]; then top_builddir=$(cd "$1" && pwd) || exit 1; fi
: "${top_builddir:=$top_srcdir}"
N=${2:-100000}
C=${3:-20}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/e2e/lib.sh"
E2E_DIR=$top_srcdir/tests/e2e
. "$here/lib.sh"

if reason=$(e2e_skip_reason); then
	echo "SKIP: soak: $reason"
	exit 77
fi
WORK=$(mktemp -d /tmp/amsoak.XXXXXX) || exit 1
chmod 755 "$WORK"
SAMPLER=
finish() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	rob_down
	if [ "$FAILED" -eq 0 ] && [ -z "${ROBUST_KEEP:-}" ]; then rm -rf "$WORK"; else echo "# soak: work directory kept: $WORK"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

rob_up "$WORK" || { nok "bring-up"; summary; exit 1; }
rob_build_load "$WORK" && "$E2E_PY" "$here/hostile.py" template "$WORK" "$WORK/load.eml" ||
	{ nok "smtpload and its message built"; summary; exit 1; }
SES="192.0.2.10 a8-10.smtp-out.amazonses.com 0100018c4a1b2c3d@us-east-1.amazonses.com inbox@sink.e2e.example"
MPID=$E2E_MILTER_PID

# shellcheck disable=SC2086
"$WORK/smtpload" 127.0.0.1 "$SMTP_PORT" 500 "$C" "$WORK/load.eml" warmup $SES 50 >/dev/null
rss_start=$(rob_rss "$MPID")
(
	t=0
	while sleep 10; do
		t=$((t + 10))
		echo "$t $(rob_rss "$MPID") $(ls "$E2E_WORK/sink" | grep -c '\.eml$')"
	done
) >"$WORK/rss.log" 2>/dev/null &
SAMPLER=$!
echo "# soak: $N messages at $C connections; milter pid $MPID, RSS after warm-up $rss_start KiB"
# shellcheck disable=SC2086
out=$("$WORK/smtpload" 127.0.0.1 "$SMTP_PORT" "$N" "$C" "$WORK/load.eml" soak $SES 100 2>"$WORK/smtpload.err")
rss_end=$(rob_rss "$MPID")
kill "$SAMPLER" 2>/dev/null; SAMPLER=
rss_max=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$WORK/rss.log")
echo "# soak: $out"
echo "# soak: milter RSS start $rss_start KiB, end $rss_end KiB, max sampled $rss_max KiB (every 10 s: $WORK/rss.log)"
check "soak: all $N accepted" rob_all_accepted "$out"
res=$("$E2E_PY" "$here/sinkcheck.py" "$E2E_WORK/sink" soak "$N" mx.e2e.example \
	spf=pass,dkim=pass,dkim=pass,dmarc=pass 600)
rc=$?
echo "$res"
check "soak: every message delivered once with exactly one Authentication-Results of ours, all pass" test $rc = 0
check "soak: alignmilter still running" alive "$MPID"
# Flat: the end within 20% (and 16 MiB) of the start after warm-up.
check "soak: milter RSS flat ($rss_start -> $rss_end KiB)" \
	test "$rss_end" -le $((rss_start + rss_start / 5 + 16384))
check "soak: no error in the milter's log" \
	sh -c "! grep -Ei 'cannot|failed|sanitizer|abort|segmentation|still running' '$E2E_WORK/milter.log'"
{
	echo "soak N=$N C=$C: $out"
	echo "milter RSS start $rss_start KiB end $rss_end KiB max $rss_max KiB"
	echo "$res"
} >"$WORK/soak-result.txt"
cat "$WORK/soak-result.txt" >"${ROBUST_SOAK_RESULT:-/dev/null}"
summary
