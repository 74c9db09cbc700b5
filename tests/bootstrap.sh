#!/bin/sh
# tests/bootstrap.sh - set up a fresh Debian 12 machine, build, and run
# the demo or the whole test suite.  The README's two Quick-start
# commands; .ci/run calls "test".
#
#   sh tests/bootstrap.sh demo   install, build, run the loopback demo: nsd,
#                                a private Postfix and the milter verifying
#                                three SES-style messages
#   sh tests/bootstrap.sh test   install (with mailauth from npm, for
#                                tests/secondopinion.test), build, make
#                                check (plain and under ASan+UBSan), the Debian package
#                                (built, installed, e2e on it, purged:
#                                tests/package.test), then 60 s of each
#                                libFuzzer target
set -eu

mode=${1:-test}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PACKAGES="build-essential autoconf automake pkg-config
	libmilter-dev libopendkim-dev libspf2-dev libopendmarc-dev libunbound-dev libpsl-dev libidn2-dev libssl-dev libmicrohttpd-dev zlib1g-dev
	check publicsuffix miltertest procps openssl
	python3 python3-dkim python3-yaml libxml2-utils prometheus dmarc-cat libmail-dmarc-perl
	nsd unbound postfix swaks
	chromium clang libclang-rt-14-dev
	debhelper dpkg-dev lintian logrotate strace"

install_packages() {
	missing=
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "bootstrap: installing$missing"
	# Packages must not start their system services (e.g. Postfix on port 25)
	# while we install them: the tests start private instances on loopback.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy=yes
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	[ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
	return 0
}

# mailauth, the second opinion of tests/secondopinion.test, exactly as
# tests/dmarc/mailauth/package-lock.json pins it (npm ci).  nodejs comes
# from the machine (Debian's, or NodeSource's with npm inside); Debian's
# needs its npm package beside it.
install_mailauth() {
	node_pkgs=
	command -v node >/dev/null 2>&1 || node_pkgs="nodejs"
	command -v npm >/dev/null 2>&1 || node_pkgs="$node_pkgs npm"
	if [ -n "$node_pkgs" ]; then
		echo "bootstrap: installing $node_pkgs"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $node_pkgs
	fi
	(cd tests/dmarc/mailauth && npm ci --no-audit --no-fund --loglevel=error)
}

build() { # build DIR [configure flags...]
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q --enable-werror "$@" && make -j"$(nproc)" -s)
}

install_packages
[ -x configure ] || autoreconf -fi
# The source tree stays unconfigured so out-of-tree builds work.
[ -f config.status ] && make distclean >/dev/null 2>&1 || true

case "$mode" in
demo)
	build build/plain
	exec sh tests/e2e/demo.sh "$top/build/plain"
	;;
test)
	install_mailauth
	build build/plain
	(cd build/plain && make -j"$(nproc)" check) || { cat build/plain/test-suite.log 2>/dev/null; exit 1; }
	build build/sanitizers --enable-sanitizers
	(cd build/sanitizers && make -j"$(nproc)" check) || { cat build/sanitizers/test-suite.log 2>/dev/null; exit 1; }
	# The Debian package of the plain build: built, checked by lintian,
	# installed (no service started), e2e on the installed programs, purged.
	rc=0
	top_srcdir=$top top_builddir=$top/build/plain sh tests/package.test > build/package.out 2>&1 || rc=$?
	cat build/package.out
	[ "$rc" -eq 0 ] || exit 1
	# libFuzzer targets, 60 s each; crashes fail the run.
	rc=0
	sh tests/fuzz/run.sh "$top/build/fuzz" "${FUZZ_SECONDS:-60}" > build/fuzz.out 2>&1 || rc=$?
	cat build/fuzz.out
	[ "$rc" -eq 0 ] || exit 1
	# One closing line over everything: test programs of both builds, the
	# package checks and the fuzz targets.
	total=0
	for log in build/plain/test-suite.log build/sanitizers/test-suite.log; do
		n=$(sed -n 's/^# PASS: *//p' "$log")
		total=$((total + ${n:-0}))
	done
	for out in build/package.out build/fuzz.out; do
		n=$(sed -n 's/^\([0-9][0-9]*\) passed, 0 failed$/\1/p' "$out")
		total=$((total + ${n:-0}))
	done
	echo "bootstrap: plain and sanitizer builds, the package and fuzzing all passed"
	echo "bootstrap: $total passed, 0 failed"
	;;
*)
	echo "usage: sh tests/bootstrap.sh demo|test" >&2
	exit 2
	;;
esac
