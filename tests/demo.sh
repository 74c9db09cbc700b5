#!/bin/sh
# tests/demo.sh BUILDDIR - the foreground demo: check the sample
# configuration, print the versions, then run the milter in the
# foreground on the sample config (inet:8891@127.0.0.1) until Ctrl-C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/${1:-build/plain}/milter/alignmilter"
"$bin" -V
"$bin" -n -c "$top/conf/alignmilter.conf"
echo "demo: alignmilter runs in the foreground on conf/alignmilter.conf; Ctrl-C stops it."
exec "$bin" -f -c "$top/conf/alignmilter.conf"
