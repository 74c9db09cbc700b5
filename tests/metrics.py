#!/usr/bin/python3
"""metrics.py - the scrape side of tests/metrics.test.

  metrics.py run MILTERPORT METRICSPORT PASS FAIL REJECT OUTFILE
      sends PASS messages that pass DMARC (client 192.0.2.7 inside the SPF
      record of metrics.example), FAIL that fail it under p=none (client
      198.51.100.9, no DKIM signature) and REJECT that fail it at
      reject.metrics.example (p=reject; the milter runs with RejectFailures),
      through tests/mtaclient.py's MTA-side milter client, then scrapes
      /metrics and checks every counter against what was sent; the scrape
      is written to OUTFILE for promtool.
  metrics.py http METRICSPORT
      404 for another path, 405 (with Allow) for another method, HEAD 200.
  metrics.py names METRICSFILE DASHBOARD RULES
      every alignmilter_* name the dashboard and the rules use is served.

Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtaclient  # noqa: E402
from mtaclient import check  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError("bad sample line %r" % line)
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    """Sum of the series of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def send(host, port, n, client, domain, tag):
    """n messages, each on its own milter connection; [(A-R values, final reply)]."""
    results = []
    for i in range(n):
        m = mtaclient.Milter(host, port)
        m.optneg()
        m.connect(ip=client, helo="mail." + domain)
        replies = m.message("%s%d" % (tag, i), domain=domain)
        results.append((mtaclient.inserted_ar(replies), replies[-1][0]))
        m.close()
    return results


def run(mport, hport, npass, nfail, nreject, outfile):
    status, ctype, text = scrape(hport)
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
          "GET /metrics: 200, text/plain; version=0.0.4", (status, ctype))
    before = parse(text)
    check(value(before, "alignmilter_messages_total") == 0, "no message counted before any was sent")
    check(value(before, "alignmilter_build_info") == 1, "alignmilter_build_info is 1")
    start = value(before, "process_start_time_seconds")
    check(0 < time.time() - start < 120, "process_start_time_seconds is the start", start)

    # RFC 7208 section 2.6.1/2.6.2 (pass, fail), RFC 7489 section 4.2 (DMARC
    # passes with one aligned pass), section 6.6.4 (p=reject -> reject).
    ok = send("127.0.0.1", mport, npass, "192.0.2.7", "metrics.example", "P")
    check(all(len(a) == 1 and "dmarc=pass" in a[0] and r == b"c" for a, r in ok),
          "%d messages pass DMARC" % npass, ok[:1])
    bad = send("127.0.0.1", mport, nfail, "198.51.100.9", "metrics.example", "F")
    check(all(len(a) == 1 and "spf=fail" in a[0] and "dmarc=fail" in a[0] and r == b"c" for a, r in bad),
          "%d messages fail DMARC under p=none, accepted" % nfail, bad[:1])
    rej = send("127.0.0.1", mport, nreject, "198.51.100.9", "reject.metrics.example", "R")
    check(all(r == b"y" or r == b"r" for a, r in rej),
          "%d messages fail DMARC under p=reject, rejected (RejectFailures)" % nreject, rej[:1])

    # The end-of-message counters are updated before the reply is written;
    # the connection gauge when the milter sees the close: allow it a moment.
    deadline = time.time() + 5
    while True:
        status, _, text = scrape(hport)
        s = parse(text)
        if value(s, "alignmilter_connections_open") == 0 or time.time() > deadline:
            break
        time.sleep(0.05)
    with open(outfile, "w") as f:
        f.write(text)
    total = npass + nfail + nreject
    for labels, want in (({"dmarc_result": "pass", "disposition": "none"}, npass),
                         ({"dmarc_result": "fail", "disposition": "none"}, nfail),
                         ({"dmarc_result": "fail", "disposition": "reject"}, nreject),
                         ({}, total)):
        got = value(s, "alignmilter_messages_total", **labels)
        check(got == want, "alignmilter_messages_total%s = %d" % (labels or "", want), got)
    for res, want in (("pass", npass), ("fail", nfail + nreject)):
        got = value(s, "alignmilter_spf_results_total", result=res)
        check(got == want, "alignmilter_spf_results_total{result=%s} = %d" % (res, want), got)
    got = value(s, "alignmilter_rejectfailures_total", action="rejected")
    check(got == nreject, "alignmilter_rejectfailures_total{action=rejected} = %d" % nreject, got)
    got = value(s, "alignmilter_dkim_signatures_total")
    check(got == 0, "no DKIM signature counted (none was sent)", got)
    got = value(s, "alignmilter_hints_total", hint="dmarc-policy-none")
    check(got >= npass, "the hint dmarc-policy-none counted per message of metrics.example", got)
    for h in ("alignmilter_verify_seconds", "alignmilter_eom_seconds"):
        got = value(s, h + "_count")
        inf = value(s, h + "_bucket", le="+Inf")
        check(got == total and inf == total, "%s_count = le=+Inf bucket = %d" % (h, total), (got, inf))
        check(value(s, h + "_sum") > 0, "%s_sum > 0" % h)
    got = value(s, "alignmilter_dns_queries_total", outcome="ok")
    check(got > 0, "DNS queries answered counted", got)
    got = value(s, "alignmilter_dns_queries_total", outcome="timeout") + \
        value(s, "alignmilter_dns_queries_total", outcome="servfail")
    check(got == 0, "no DNS timeout or SERVFAIL (the loopback nsd answers)", got)
    hits = value(s, "alignmilter_dns_cache_hits_total")
    misses = value(s, "alignmilter_dns_cache_misses_total")
    check(hits > 0 and misses > 0, "the DNS cache: hits and misses (the same records again)", (hits, misses))
    check(value(s, "alignmilter_dns_cache_bytes") > 0, "alignmilter_dns_cache_bytes > 0")
    check(value(s, "alignmilter_connections_open") == 0, "alignmilter_connections_open back to 0",
          value(s, "alignmilter_connections_open"))
    check(value(s, "alignmilter_connections_refused_total") == 0, "no connection refused")
    domains = [ls for (n, ls) in s if any(k not in ("le", "version") and "." in v for k, v in ls)]
    check(not domains, "no label value looks like a domain name", domains[:3])


def http(hport):
    base = "http://127.0.0.1:%d" % hport
    for path in ("/", "/metrics/", "/metric", "/other"):
        try:
            urllib.request.urlopen(base + path, timeout=10)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        check(code == 404, "GET %s: 404" % path, code)
    for method in ("POST", "PUT", "DELETE"):
        req = urllib.request.Request(base + "/metrics", data=b"x=1", method=method)
        try:
            urllib.request.urlopen(req, timeout=10)
            code, allow = 200, None
        except urllib.error.HTTPError as e:
            code, allow = e.code, e.headers.get("Allow")
        check(code == 405 and allow == "GET, HEAD", "%s /metrics: 405, Allow: GET, HEAD" % method, (code, allow))
    req = urllib.request.Request(base + "/metrics", method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as r:
        check(r.status == 200 and r.read() == b"", "HEAD /metrics: 200, no body", r.status)


def names(metrics_file, dashboard, rules):
    with open(metrics_file) as f:
        text = f.read()
    # A family with no series yet (no DKIM signature was sent) still has its # TYPE line.
    served = {n for (n, _) in parse(text)}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        served.add(name)
        if kind == "histogram":
            served.update(name + s for s in ("_bucket", "_sum", "_count"))
    with open(dashboard) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    check(len(exprs) >= 10, "the dashboard has its panels' queries", len(exprs))
    with open(rules) as f:
        exprs += [line for line in f if "alignmilter_" in line and not line.lstrip().startswith("#")]
    used = set()
    for e in exprs:
        used.update(re.findall(r"\b(alignmilter_[a-z_]+|process_start_time_seconds)\b", e))
    missing = sorted(used - served)
    check(not missing, "every metric the dashboard and the rules use is served (%d)" % len(used), missing)


def main(argv):
    if argv[1] == "run":
        run(*[int(a) for a in argv[2:7]], argv[7])
    elif argv[1] == "http":
        http(int(argv[2]))
    elif argv[1] == "names":
        names(*argv[2:5])
    return 1 if mtaclient.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
