#!/bin/sh
# tests/e2e/demo.sh [BUILDDIR] - the README demo, with real parts.
#
# Owns: showing what alignmilter does to SES mail.  Starts nsd (test
# zones), an SMTP sink, alignmilter and a private Postfix on loopback
# (tests/e2e/lib.sh), sends three SES-style messages through Postfix:
#   1. default MAIL FROM (amazonses.com) with Easy DKIM, p=none
#   2. custom MAIL FROM mail.<domain> with Easy DKIM, p=quarantine
#   3. custom MAIL FROM bounce.<domain> under aspf=s, p=reject, body
#      modified after signing (what a forwarder or list footer does)
# and prints for each the Authentication-Results header of the delivered
# copy, the milter's verdict line and the alignment-log record; then stops
# everything it started.  Needs root, postfix, nsd, python3-dkim.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ $# -ge 1 ]; then top_builddir=$(cd "$1" && pwd) || exit 1; fi
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/common.sh"
. "$here/lib.sh"

if reason=$(e2e_skip_reason); then
	echo "demo: cannot run: $reason" >&2
	exit 1
fi
WORK=$(mktemp -d /tmp/amdemo.XXXXXX) || exit 1
chmod 755 "$WORK"
rc=1
finish() {
	e2e_down
	if [ "$rc" -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then rm -rf "$WORK"
	else echo "demo: work directory kept: $WORK" >&2; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

e2e_up "$WORK" >&2 || exit 1
"$E2E_PY" "$here/scenarios.py" demo "$WORK"
rc=$?
exit $rc
