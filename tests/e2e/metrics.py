#!/usr/bin/python3
"""tests/e2e/metrics.py WORK METRICSPORT FIRSTLINE - the milter's /metrics
against the alignment log of the same run.

Scrapes http://127.0.0.1:METRICSPORT/metrics (MetricsListen) after a batch
of scenarios and checks that the counters equal what the alignment log
recorded from line FIRSTLINE on (1-based: the records the running milter
wrote; one record per message verified, so the two must agree): messages
by DMARC result and disposition, SPF results, DKIM signatures by result
and algorithm, hints by name, SES messages by MAIL FROM kind and region,
and the histograms' counts; then that `promtool check metrics` (Debian's
prometheus package) accepts the exposition when promtool is installed.
Prints "ok - ..." / "not ok - ..." lines.
"""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

sys.dont_write_bytecode = True
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
failed = 0


def check(cond, desc, detail=None):
    global failed
    print("%s - metrics: %s" % ("ok" if cond else "not ok", desc))
    if not cond:
        failed += 1
        if detail is not None:
            print("#   %r" % (detail,))
    return cond


def parse(text):
    out = collections.Counter()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = SAMPLE.match(line)
            if m is None:
                raise ValueError("bad sample line %r" % line)
            out[(m.group(1), tuple(sorted(LABEL.findall(m.group(3) or ""))))] += float(m.group(4))
    return out


def series(samples, name, keys):
    """{label values in keys' order: value} of name's non-zero series."""
    out = collections.Counter()
    for (n, labels), v in samples.items():
        if n == name and v:
            d = dict(labels)
            out[tuple(d.get(k, "") for k in keys)] += v
    return out


def main(work, port, first):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    samples = parse(text)
    with open(os.path.join(work, "alignment.log")) as f:
        recs = [json.loads(line) for line in f.readlines()[first - 1:] if line.strip()]
    n = len(recs)
    check(n > 0, "the milter logged messages to compare (%d)" % n)

    want = collections.Counter((r["dmarc"]["result"], r["dmarc"]["disposition"]) for r in recs)
    got = series(samples, "alignmilter_messages_total", ("dmarc_result", "disposition"))
    check(got == want, "messages by DMARC result and disposition = the alignment log's (%s)" %
          ", ".join("%s/%s %d" % (k[0], k[1], v) for k, v in sorted(want.items())), (dict(got), dict(want)))
    want = collections.Counter((r["spf"]["result"],) for r in recs)
    got = series(samples, "alignmilter_spf_results_total", ("result",))
    check(got == want, "SPF results = the alignment log's", (dict(got), dict(want)))
    want = collections.Counter((s["result"], s["algorithm"] if s["algorithm"] in
                                ("rsa-sha256", "ed25519-sha256", "rsa-sha1") else "other")
                               for r in recs for s in r["dkim"])
    got = series(samples, "alignmilter_dkim_signatures_total", ("result", "algorithm"))
    check(got == want, "DKIM signatures by result and algorithm = the alignment log's (%d)" %
          sum(want.values()), (dict(got), dict(want)))
    want = collections.Counter((h,) for r in recs for h in r.get("hints", []))
    got = series(samples, "alignmilter_hints_total", ("hint",))
    check(got == want, "hints by name = the alignment log's (%d)" % sum(want.values()), (dict(got), dict(want)))
    want = collections.Counter((r["ses"]["mail_from"], r["ses"]["region"] or "unknown")
                               for r in recs if r.get("ses"))
    got = series(samples, "alignmilter_ses_messages_total", ("mail_from", "region"))
    check(got == want, "SES messages by MAIL FROM kind and region = the alignment log's (%d)" %
          sum(want.values()), (dict(got), dict(want)))
    for h in ("alignmilter_verify_seconds", "alignmilter_eom_seconds"):
        got = series(samples, h + "_count", ())[()]
        check(got == n, "%s_count = messages logged (%d)" % (h, n), got)
    check(series(samples, "alignmilter_dns_queries_total", ("outcome",))[("ok",)] > 0,
          "DNS queries answered are counted")
    promtool = shutil.which("promtool")
    if promtool is None:
        print("# metrics: promtool not installed (Debian package prometheus): exposition not checked")
    else:
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        check(p.returncode == 0, "promtool check metrics accepts the scrape", p.stdout + p.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
