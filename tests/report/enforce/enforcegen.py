#!/usr/bin/python3
"""enforcegen.py - alignment logs built to be ready and not ready for
alignmilter-report --enforce (tests/report-enforce.test), and the checks
of its JSON and HTML output, written from alignmilter-report(1)'s rules,
not from the C code.

Subcommands (each prints a reason and exits 1 on a mismatch):
  gen DIR              DIR/enforce.log: the scenarios below, ending on
                       2026-11-27 (run the report with --now NOW)
  many DIR N           DIR/many.log: N domains, a few messages each (paging)
  json FILE CASE       check the --json output FILE for CASE (default,
                       pass999, days3, source05, window7)
  html DIR BASE N PER MAXBYTES  check the pages BASE, BASE-2.html, ...: N
                       domains in all, PER a page, each page well formed,
                       at most MAXBYTES, links to existing pages only
"""
import json
import os
import sys
from html.parser import HTMLParser

NOW = "2026-11-27T23:00:00Z"
DAY = 86400
END = 1795737600 + 23 * 3600        # 2026-11-27T23:00:00Z
ODD = 'odd"<b>&amp;\'.example'


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Log:
    def __init__(self):
        self.lines = []
        self.n = 0

    def add(self, dom, ts, result, ip="192.0.2.1", helo="mx.example", ses=None, hints=(),
            policy="none", tag="p", testing=False, record=True, aligned_dkim=None):
        """One record.  result: pass, fail, temperror, permerror, none.
        ses: None, or (region, "default"|"custom")."""
        self.n += 1
        passed = result == "pass" or (result == "none" and aligned_dkim)
        sig = {"domain": dom, "selector": "s1", "algorithm": "rsa-sha256",
               "result": "pass" if passed else "fail", "aligned": True}
        if not passed:
            sig["reason"] = "body hash mismatch"
        dmarc = {"result": result, "policy": policy if record else "none",
                 "disposition": "none" if passed or not record else
                 ({"reject": "quarantine", "quarantine": "none", "none": "none"}[policy] if testing else policy),
                 "adkim": "r", "aspf": "r"}
        if record:
            dmarc.update({"pct": 100, "record_domain": dom, "policy_tag": tag, "testing": testing,
                          "psd": "u", "discovery": "treewalk", "published": {"p": policy},
                          "org_domain": dom})
        mail_from = "bounce@" + (("%s.amazonses.com" % ses[0]) if ses and ses[1] == "default" else dom)
        rec = {"ts": iso(ts), "queue_id": "Q%06d" % self.n, "client_ip": ip, "helo": helo,
               "mail_from": mail_from, "from_domain": dom,
               "spf": {"result": "pass", "domain": mail_from.split("@")[1],
                       "aligned": not (ses and ses[1] == "default")},
               "dkim": [sig], "dmarc": dmarc, "sender": "ses" if ses else "other",
               "ses": {"region": ses[0], "mail_from": ses[1]} if ses else None,
               "hints": list(hints)}
        if ses and ses[1] == "default":
            rec["spf"]["aligned"] = False
        self.lines.append(json.dumps(rec, separators=(",", ":")))

    def spread(self, dom, days, n, nfail, **kw):
        """n messages over the last `days` days (the first on the oldest), nfail failing."""
        fail_hints = kw.pop("fail_hints", ())
        step = max(n // max(nfail, 1), 1)
        for i in range(n):
            ts = END - 3600 - (days - 1) * DAY + (i * (days - 1) * DAY) // max(n - 1, 1)
            res = "fail" if i % step == 0 and nfail > 0 else "pass"
            if res == "fail":
                nfail -= 1
            self.add(dom, ts, res, hints=fail_hints if res == "fail" else (), **kw)
        assert nfail == 0, (dom, nfail)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def gen(outdir):
    log = Log()
    # Ready for p=reject: 99.8% pass over 14 days (2 of 1000 fail, in a
    # source whose own fail share, 0.7%, is under the 1% rule).
    log.spread("ready.example", 14, 700, 0, ses=("us-east-1", "custom"), policy="quarantine")
    log.spread("ready.example", 14, 300, 2, ip="192.0.2.7", helo="mx1.ready.example",
               policy="quarantine", fail_hints=("dkim-aligned-signature-failed",))
    # Not ready: SES us-east-1 default MAIL FROM fails 12% (30 of 250).
    log.spread("notready.example", 14, 750, 0, ses=("us-east-1", "custom"))
    log.spread("notready.example", 14, 250, 30, ses=("us-east-1", "default"),
               fail_hints=("ses-default-mail-from", "ses-no-easy-dkim", "dmarc-policy-none"))
    # Not enough data: 3 days of mail.
    log.spread("young.example", 3, 90, 0, policy="quarantine")
    # A source under 1% of the volume failing does not block: 15 of 2000.
    log.spread("smallfail.example", 10, 1985, 0, ip="192.0.2.20", helo="out.smallfail.example",
               policy="quarantine")
    log.spread("smallfail.example", 10, 15, 15, ip="198.51.100.9", helo="spam.invalid",
               policy="quarantine")
    # Grouping: /24 and /48, the HELO's organizational domain (PSL: co.uk).
    for i, (ip, helo) in enumerate([("203.0.113.5", "mta1.grouping.co.uk"),
                                    ("203.0.113.77", "mta2.grouping.co.uk"),
                                    ("::ffff:203.0.113.9", "a.b.grouping.co.uk"),
                                    ("203.0.113.5", "[203.0.113.5]"),
                                    ("2001:db8:1:2::5", "mx.example.net"),
                                    ("2001:db8:1:ffff::9", "smtp.eu.example.net"),
                                    ("2001:db8:2::1", "mx.example.net"),
                                    ("198.51.100.200", "mta1.grouping.co.uk")]):
        for d in range(8):
            log.add("grouping.example", END - 3600 - d * DAY - i, "pass", ip=ip, helo=helo)
    # Enforcing already; p=reject with t=y; sp=quarantine for a subdomain.
    log.spread("enforcing.example", 14, 100, 0, policy="reject")
    log.spread("testing.example", 14, 100, 0, policy="reject", testing=True)
    log.spread("news.org.example", 14, 100, 0, policy="quarantine", tag="sp")
    # No DMARC record: passes when an aligned identifier passed (10 of 10).
    for d in range(10):
        log.add("norecord.example", END - 3600 - d * DAY, "none", record=False, aligned_dkim=True)
    # temperror and permerror: unknown, neither pass nor fail.
    log.spread("unknown.example", 14, 200, 0, policy="quarantine")
    for d in range(5):
        log.add("unknown.example", END - 7200 - d * DAY, "temperror", policy="quarantine")
    log.add("unknown.example", END - 7200, "permerror", policy="quarantine")
    # Old mail only (before the window): not listed.
    for d in range(5):
        log.add("old.example", END - (20 + d) * DAY, "pass")
    # After --now: not counted.
    log.add("ready.example", END + 3600, "fail", policy="reject")
    # Everything from the log is escaped in HTML and printable in text.
    log.spread(ODD, 8, 20, 20, ip="192.0.2.99", helo="<script>alert(1)</script>",
               fail_hints=("from-header-invalid",))
    os.makedirs(outdir, exist_ok=True)
    log.write(os.path.join(outdir, "enforce.log"))


def many(outdir, n):
    log = Log()
    for i in range(n):
        dom = "d%05d.example" % i
        bad = i % 5 == 0
        for d in range(8):
            log.add(dom, END - 3600 - d * DAY, "fail" if bad and d < 2 else "pass",
                    ip="192.0.2.%d" % (i % 250), helo="mx.%s" % dom,
                    hints=("dkim-aligned-signature-failed",) if bad and d < 2 else ())
    os.makedirs(outdir, exist_ok=True)
    log.write(os.path.join(outdir, "many.log"))


# ---- checking the JSON --------------------------------------------------------
# What the logs of gen() were built to give, by alignmilter-report(1)'s rules.
# Per case: domain -> (state, verdict, pass, fail, unknown, days); None: not listed.
BASE = {
    "ready.example": ("ready", "ready for p=reject: 99.8% pass over 14 days", 998, 2, 0, 14),
    "notready.example": ("not-ready", "not ready for p=quarantine: SES us-east-1 default MAIL FROM "
                         "fails 12.0% (ses-no-easy-dkim)", 970, 30, 0, 14),
    "young.example": ("not-enough-data", "not enough data: 3 days of mail (need 7)", 90, 0, 0, 3),
    "smallfail.example": ("ready", "ready for p=reject: 99.2% pass over 10 days", 1985, 15, 0, 10),
    "grouping.example": ("ready", "ready for p=quarantine: 100.0% pass over 8 days", 64, 0, 0, 8),
    "enforcing.example": ("enforcing", "enforcing already: p=reject, 100.0% pass over 14 days",
                          100, 0, 0, 14),
    "testing.example": ("ready", "ready for p=reject without t=y: 100.0% pass over 14 days",
                        100, 0, 0, 14),
    "news.org.example": ("ready", "ready for sp=reject: 100.0% pass over 14 days", 100, 0, 0, 14),
    "norecord.example": ("ready", "ready for p=quarantine: 100.0% pass over 10 days", 10, 0, 0, 10),
    "unknown.example": ("ready", "ready for p=reject: 100.0% pass over 14 days", 200, 0, 6, 14),
    ODD: ("not-ready", None, 0, 20, 0, 8),
    "old.example": None,
}


def case(name):
    exp = dict(BASE)
    if name == "pass999":       # --ready-pass 99.9: the 0.7%-failing source now blocks
        exp["ready.example"] = ("not-ready", "not ready for p=reject: 192.0.2.0/24 helo ready.example "
                                "fails 0.7% (dkim-aligned-signature-failed)", 998, 2, 0, 14)
        exp["smallfail.example"] = ("not-ready", None, 1985, 15, 0, 10)
    elif name == "days3":       # --ready-days 3
        exp["young.example"] = ("ready", "ready for p=reject: 100.0% pass over 3 days", 90, 0, 0, 3)
    elif name == "source05":    # --ready-source 0.5: the 0.75% source blocks
        exp["smallfail.example"] = ("not-ready", "not ready for p=reject: 198.51.100.0/24 helo "
                                    "spam.invalid fails 100.0%", 1985, 15, 0, 10)
    elif name == "window7":     # --window 7: the last 7 days only
        for d, v in list(exp.items()):
            if v is not None and v[5] > 7:
                exp[d] = (v[0], None, None, None, None, 7)
        exp["young.example"] = BASE["young.example"]
    return exp


def cmd_json(path, name):
    with open(path) as f:
        doc = json.load(f)
    exp = case(name)
    doms = {d["domain"]: d for d in doc["domains"]}
    for dom, e in exp.items():
        if e is None:
            if dom in doms:
                fail("%s: listed, but it has no mail in the window" % dom)
            continue
        if dom not in doms:
            fail("%s: not listed" % dom)
        d = doms[dom]
        for key, want in zip(("state", "verdict", "pass", "fail", "unknown", "days"), e):
            if want is not None and d[key] != want:
                fail("%s: %s is %r, want %r" % (dom, key, d[key], want))
        # The sources add up to the domain, and each volume is its share.
        for key in ("messages", "pass", "fail", "unknown"):
            if sum(s[key] for s in d["sources"]) != d[key]:
                fail("%s: the sources' %s do not add up" % (dom, key))
    order = ["not-ready", "not-enough-data", "ready", "enforcing"]
    ranks = [order.index(d["state"]) for d in doc["domains"]]
    if ranks != sorted(ranks):
        fail("domains are not sorted not ready first")
    if name == "default":
        check_default(doms, doc)
    print("ok: %s: %d domains as built" % (name, len(doms)))


def src(d, label):
    for s in d["sources"]:
        if s["source"] == label:
            return s
    fail("%s: no source %r in %s" % (d["domain"], label, [s["source"] for s in d["sources"]]))


def check_default(doms, doc):
    if doc["window"] != {"days": 14, "from": "2026-11-14", "to": "2026-11-27"}:
        fail("window %r" % doc["window"])
    if doc["thresholds"] != {"pass_pct": 99, "days": 7, "source_pct": 1}:
        fail("thresholds %r" % doc["thresholds"])
    s = src(doms["notready.example"], "SES us-east-1 default MAIL FROM")
    if (s["kind"], s["region"], s["mail_from"], s["messages"], s["fail"], s["fail_pct"], s["blocks"],
            s["hint"]) != ("ses", "us-east-1", "default", 250, 30, 12.0, True, "ses-no-easy-dkim"):
        fail("the SES default MAIL FROM source: %r" % s)
    if "dmarc-policy-none" in s["hints"]:
        fail("a domain-wide hint counted against a source")
    if s["records"] != ["<token>._domainkey.notready.example. CNAME <token>.dkim.amazonses.com."]:
        fail("its fix's records: %r" % s["records"])
    if doms["notready.example"]["blocking"] != "SES us-east-1 default MAIL FROM":
        fail("blocking: %r" % doms["notready.example"]["blocking"])
    # Under 1% of the volume, failing 100%: listed, does not block.
    s = src(doms["smallfail.example"], "198.51.100.0/24 helo spam.invalid")
    if s["blocks"] or s["fail"] != 15 or s["messages"] != 15:
        fail("the small failing source: %r" % s)
    # /24 (an IPv4-mapped address too), /48, HELO organizational domains.
    g = doms["grouping.example"]
    want = {"203.0.113.0/24 helo grouping.co.uk": 24, "2001:db8:1::/48 helo example.net": 16,
            "2001:db8:2::/48 helo example.net": 8, "198.51.100.0/24 helo grouping.co.uk": 8,
            "203.0.113.0/24 helo [203.0.113.5]": 8}
    got = {s["source"]: s["messages"] for s in g["sources"]}
    if got != want:
        fail("grouping: %r, want %r" % (got, want))
    s = src(g, "2001:db8:1::/48 helo example.net")
    if (s["kind"], s["network"], s["helo_domain"]) != ("network", "2001:db8:1::/48", "example.net"):
        fail("a /48 source: %r" % s)
    t = doms["testing.example"]
    if (t["policy"], t["testing"], t["next"], t["next_drops_testing"]) != ("reject", True, "reject", True):
        fail("t=y: %r" % t)
    if doms["enforcing.example"]["next"] is not None:
        fail("enforcing: next is not null")
    n = doms["norecord.example"]
    if (n["record"], n["policy"], n["next"]) != (False, "none", "quarantine"):
        fail("no record: %r" % n)


# ---- checking the HTML ----------------------------------------------------------
class Page(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link", "rect"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.sections, self.links = [], [], [], []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a)
        if tag == "a" and a.get("href") and not a["href"].startswith("#"):
            self.links.append(a["href"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else ""))
        else:
            self.stack.pop()


def parse_page(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p = Page()
    p.feed(text)
    p.close()
    if p.errors or p.stack:
        fail("%s: not well formed: %s %s" % (path, p.errors[:3], p.stack))
    if "script" in p.tags or "iframe" in p.tags:
        fail("%s: markup from the log got through: %s" % (path, sorted(p.tags)))
    return p, text


def page_file(base, n):
    return base if n == 1 else base[:-5] + "-%d.html" % n


def cmd_html(outdir, base, total, per, maxbytes):
    total, per, maxbytes = int(total), int(per), int(maxbytes)
    pages = (total + per - 1) // per
    seen, order = [], []
    rank = {"not-ready": 0, "not-enough-data": 1, "ready": 2, "enforcing": 3}
    for n in range(1, pages + 1):
        path = os.path.join(outdir, page_file(base, n))
        if os.path.getsize(path) > maxbytes:
            fail("%s: %d bytes, over %d" % (path, os.path.getsize(path), maxbytes))
        p, _text = parse_page(path)
        want = min(per, total - (n - 1) * per)
        if len(p.sections) != want:
            fail("%s: %d domains, want %d" % (path, len(p.sections), want))
        for href in p.links:
            if "/" in href or not os.path.exists(os.path.join(outdir, href)):
                fail("%s: a link to %s, which is not a page" % (path, href))
        seen += [s["data-domain"] for s in p.sections]
        order += [rank[s["data-state"]] for s in p.sections]
    if os.path.exists(os.path.join(outdir, page_file(base, pages + 1))):
        fail("a page past the last")
    if len(set(seen)) != total:
        fail("%d distinct domains over the pages, want %d" % (len(set(seen)), total))
    if order != sorted(order):
        fail("the pages are not sorted not ready first")
    print("ok: %d pages of at most %d domains, each under %d bytes" % (pages, per, maxbytes))


def cmd_odd(path):
    """The one-page HTML of gen()'s log: the odd names are text, not markup."""
    p, text = parse_page(path)
    doms = [s["data-domain"] for s in p.sections]
    if ODD not in doms:
        fail("the odd domain did not round-trip: %r" % doms)
    if "<script>" in text or 'odd"<b>' in text:
        fail("unescaped text from the log in the page")
    if "&lt;script&gt;alert(1)&lt;/script&gt;" not in text:
        fail("the HELO with markup is not shown escaped")
    print("ok: escaped")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"gen": gen, "many": lambda d, n: many(d, int(n)), "json": cmd_json, "html": cmd_html,
     "odd": cmd_odd}[cmd](*args)
