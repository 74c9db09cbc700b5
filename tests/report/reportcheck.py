#!/usr/bin/python3
"""reportcheck.py - the test side of alignmilter-report, independent of its C code.

Subcommands (all print a reason and exit 1 on a mismatch):
  gen DIR NOW         write DIR/a.log, DIR/b.log (two MX hosts, merged by the
                      report) and DIR/bad.log (valid records between corrupt
                      lines); NOW is the epoch the records are placed before.
  expect [--domain D]... [--since EPOCH] LOG...
                      print the expected {"domains": [...]} counted here,
                      from the same logs, by alignmilter-report(1)'s definitions.
  json EXPECTED ACTUAL    compare the report's --json output with EXPECTED.
  html EXPECTED DOM PAGE  compare the numbers read back from Chromium's DOM dump
                      with EXPECTED; PAGE (the file) must reference nothing external.
  xml EXPECTED_LOGS_JSON DIR  check every aggregate report in DIR: well formed,
                      row counts summing to that domain's messages of that UTC
                      day, one row per distinct group, policy_evaluated in RFC
                      7489's sense (pass = an aligned identifier that passed).
  zone DOMAIN TEXT ZONEFILE  take the zone-file lines the text report printed
                      for DOMAIN (placeholders <token>, <region> filled in) and
                      write them into a zone file with SOA and NS, for
                      nsd-checkzone; exits 1 if there is no such line.
"""
import json
import os
import random
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

KNOWN_HINTS = ["ses-default-mail-from", "aspf-strict-subdomain", "ses-no-easy-dkim",
               "dkim-key-not-found", "dkim-cname-duplicated-suffix", "dmarc-single-mechanism",
               "dmarc-policy-none", "dmarc-no-record", "from-header-invalid", "dmarc-multiple-records",
               "dkim-aligned-signature-failed"]
# The keys the issue fixed, in order; then the aligned-and-passed counts (extras).
FIXED_METRICS = ["spf_pass", "spf_aligned", "dkim_pass", "dkim_aligned", "dmarc_pass"]
METRICS = FIXED_METRICS + ["spf_aligned_pass", "dkim_aligned_pass"]
FIRST_KEYS = ["domain", "messages"] + FIXED_METRICS + ["hints"]
DAY = 86400

# A domain whose name needs escaping in HTML, XML and JSON alike.
ODD_DOMAIN = 'odd"<b>&amp;\'.example'
DOMAINS = ["ses-default.example", "aligned.example", "broken.example", "sub.org.example",
           ODD_DOMAIN, ""]
IPS = ["54.240.8.1", "54.240.8.2", "192.0.2.10", "2001:db8::25"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def record(rng, now, boundaries):
    """One alignment-log record with a random but realistic mix."""
    while True:
        ts = now - rng.randint(60, 5 * DAY)
        if all(abs(ts - b) > 3600 for b in boundaries):
            break
    dom = rng.choice(DOMAINS)
    ses = dom == "ses-default.example" or rng.random() < 0.2
    spf_res = rng.choice(["pass", "pass", "pass", "fail", "softfail", "none", "temperror", "neutral"])
    spf_dom = "us-east-1.amazonses.com" if ses and rng.random() < 0.7 else (dom or "helo.example")
    # aligned: identifier alignment, whatever the result (the generator's
    # names align only when equal, under adkim/aspf r and s alike).
    spf = {"result": spf_res, "domain": spf_dom, "aligned": bool(dom) and spf_dom == dom}
    if rng.random() < 0.1:
        spf["identity"] = "helo"
    sigs = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        d = rng.choice([dom or "x.example", "amazonses.com", "third.example"])
        res = rng.choice(["pass", "pass", "fail", "permerror", "neutral", "temperror"])
        sig = {"domain": d, "selector": rng.choice(["s1", "token1", "224i4yxa"]),
               "algorithm": rng.choice(["rsa-sha256", "ed25519-sha256"]), "result": res,
               "aligned": bool(dom) and d == dom}
        if res == "permerror":
            sig["reason"] = "key not found"
        elif res == "fail":
            sig["reason"] = rng.choice(["body hash mismatch", "signature did not verify"])
        if rng.random() < 0.5:
            sig["key_bits"] = 2048
        sigs.append(sig)
    found = rng.random() < 0.8
    pol = rng.choice(["none", "quarantine", "reject"]) if found else "none"
    # DMARC counts an identifier that is aligned and passed (RFC 7489 4.2).
    aligned_any = (spf["aligned"] and spf_res == "pass") or \
        any(s["aligned"] and s["result"] == "pass" for s in sigs)
    dmarc = {"result": ("pass" if aligned_any else "fail") if found else "none", "policy": pol,
             "disposition": pol if found and not aligned_any else "none",
             "adkim": rng.choice("rs"), "aspf": rng.choice("rs")}
    if found:
        dmarc["pct"] = rng.choice([100, 100, 50])
        dmarc["record_domain"] = "org.example" if dom == "sub.org.example" else dom
        if rng.random() < 0.6:
            bis_keys(rng, dom, dmarc, aligned_any)
    hints = [h for h in KNOWN_HINTS if rng.random() < 0.25]
    if rng.random() < 0.1:
        hints.append("a-hint-from-a-newer-milter")
    rec = {"ts": iso(ts), "queue_id": "Q%06x" % rng.randrange(1 << 24), "client_ip": rng.choice(IPS),
           "helo": "mx.example", "mail_from": ("bounce@" + spf_dom) if rng.random() < 0.9 else "",
           "from_domain": dom, "spf": spf, "dkim": sigs, "dmarc": dmarc,
           "sender": "ses" if ses else "other",
           "ses": {"region": rng.choice(["us-east-1", "eu-west-1", ""]), "mail_from": "default"} if ses else None,
           "hints": hints}
    if rng.random() < 0.05:
        rec["an_extra_key_from_the_future"] = {"nested": [1, 2.5e3, None, True]}
    malformed_from(rec)
    return rec


# Its own sequence, so the records above stay what they were before it.
rng_from = random.Random(16)


def malformed_from(rec):
    """Now and then a From that was not one clean domain (issue 16,
    docs/alignment-log.md): author_domains lists every author domain, in
    any case and with a trailing dot (the reader normalizes), and
    from_domain is the one that decided, or "" with [] when none could be
    read.  The report counts the message under from_domain."""
    if rng_from.random() >= 0.08:
        return
    dom = rec["from_domain"]
    others = rng_from.sample(["attacker.example", "Other.Example."], rng_from.randint(0, 2))
    authors = others + [dom] if dom else []
    rng_from.shuffle(authors)
    rec["author_domains"] = authors
    if "from-header-invalid" not in rec["hints"]:
        rec["hints"].append("from-header-invalid")


LOWER = {"reject": "quarantine", "quarantine": "none", "none": "none"}


def bis_keys(rng, dom, dmarc, passed):
    """The RFC 9989 keys a newer milter writes (docs/alignment-log.md), in
    its order after record_domain; the other records stay RFC 7489's."""
    pol, sub = dmarc["policy"], dom != dmarc["record_domain"]
    testing = rng.random() < 0.3
    published = {"p": pol if not sub else rng.choice(["none", "quarantine", "reject"])}
    if sub or rng.random() < 0.5:
        published["sp"] = pol if sub else rng.choice(["none", "quarantine", "reject"])
    if rng.random() < 0.3:
        published["np"] = rng.choice(["none", "quarantine", "reject"])
    if testing and not passed:
        dmarc["disposition"] = LOWER[pol]  # t=y: the next lower policy
    dmarc["pct"] = 100
    dmarc.update({"policy_tag": "sp" if sub else "p", "testing": testing,
                  "psd": rng.choice("ynu"), "discovery": "treewalk", "published": published,
                  "org_domain": dmarc["record_domain"]})
    if rng.random() < 0.1:
        dmarc["walks_skipped"] = rng.randint(1, 3)


def line(rec):
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=rng_ascii.random() < 0.5)


rng_ascii = random.Random(7)


def cmd_gen(outdir, now):
    now = int(now)
    rng = random.Random(20261127)
    # Keep records an hour away from the --since boundaries the tests use.
    boundaries = [now - DAY, since_iso_epoch(now)]
    os.makedirs(outdir, exist_ok=True)
    for name, n in (("a.log", 700), ("b.log", 500)):
        with open(os.path.join(outdir, name), "w") as f:
            for _ in range(n):
                f.write(line(record(rng, now, boundaries)) + "\n")
    # bad.log: good records around every kind of corrupt line; lines noted.
    good = [line(record(rng, now, boundaries)) for _ in range(6)]
    corrupt = [
        b"not json at all",
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x.example"',  # truncated
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x.example","spf":{"result":"pass"},"dkim":[],"hints":[]}',  # no dmarc
        b'{"ts":"yesterday","from_domain":"x.example","spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x.example","spf":{"result":"maybe"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"\xff\xfe.example","spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x\x00.example","spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'[1,2,3]',
        b'{"ts":"2026-11-27T05:00:00Z","ts":"2026-11-27T05:00:00Z","from_domain":"x.example","spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'{"a":' + b"[" * 100000,
        b'{"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}',
        # from_domain is the deciding author domain, so one of author_domains
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x.example","author_domains":["y.example"],'
        b'"spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
        b'{"ts":"2026-11-27T05:00:00Z","from_domain":"x.example","author_domains":["x.example",7],'
        b'"spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"none"},"hints":[]}',
    ]
    bad_lines = []
    with open(os.path.join(outdir, "bad.log"), "wb") as f:
        n = 0
        for i, c in enumerate(corrupt):
            if i < len(good):
                f.write(good[i].encode() + b"\n")
                n += 1
            f.write(c + b"\n")
            n += 1
            bad_lines.append(n)
            if i == 3:
                f.write(b"\n")  # a blank line is not a record and not an error
                n += 1
        # The last record without a final newline still counts.
        f.write(good[-1].encode())
    with open(os.path.join(outdir, "bad-lines.txt"), "w") as f:
        f.write(" ".join(str(n) for n in bad_lines) + "\n")


def since_iso_epoch(now):
    """The ISO --since the tests use: midnight UTC two days before now."""
    return (int(now) // DAY - 2) * DAY


def parse_ts(s):
    import calendar
    import time
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def norm_domain(d):
    """As the reader normalizes a domain: one trailing dot off, ASCII lower case."""
    assert isinstance(d, str) and d
    d = d[:-1] if d.endswith(".") else d
    assert d
    return "".join(c.lower() if c < "\x80" else c for c in d)


def valid_records(paths):
    """Records as this script understands a well-formed log line."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            for raw in f:
                try:
                    rec = json.loads(raw.decode("utf-8"))
                    parse_ts(rec["ts"])
                    assert isinstance(rec, dict) and "dmarc" in rec and "spf" in rec
                    assert rec["spf"]["result"] in ("none", "neutral", "pass", "fail", "softfail",
                                                    "temperror", "permerror")
                    assert raw.count(b'"ts":') == 1  # a duplicate key is malformed
                    assert "\x00" not in rec["from_domain"]
                    if "author_domains" in rec:
                        authors = [norm_domain(a) for a in rec["author_domains"]]
                        assert authors or rec["from_domain"] == ""
                        assert not authors or norm_domain(rec["from_domain"]) in authors
                except Exception:
                    continue
                out.append(rec)
    return out


def expect(paths, domains=(), since=None):
    per = {}
    for rec in valid_records(paths):
        if since is not None and parse_ts(rec["ts"]) < since:
            continue
        dom = rec["from_domain"].lower()
        if domains and dom not in domains:
            continue
        d = per.setdefault(dom, {"domain": dom, "messages": 0, "spf_pass": 0, "spf_aligned": 0,
                                 "dkim_pass": 0, "dkim_aligned": 0, "dmarc_pass": 0, "hints": {},
                                 "spf_aligned_pass": 0, "dkim_aligned_pass": 0, "ses": 0, "days": {}})
        d["messages"] += 1
        spf_pass = rec["spf"]["result"] == "pass"
        spf_aligned = rec["spf"].get("aligned", False) is True
        d["spf_pass"] += spf_pass
        d["spf_aligned"] += spf_aligned
        d["spf_aligned_pass"] += spf_pass and spf_aligned
        sigs = rec["dkim"]
        d["dkim_pass"] += any(s["result"] == "pass" for s in sigs)
        d["dkim_aligned"] += any(s.get("aligned") is True for s in sigs)
        d["dkim_aligned_pass"] += any(s.get("aligned") is True and s["result"] == "pass" for s in sigs)
        d["dmarc_pass"] += rec["dmarc"]["result"] == "pass"
        d["ses"] += rec.get("sender") == "ses" or bool(rec.get("ses"))
        for h in set(rec["hints"]):
            if h in KNOWN_HINTS:
                d["hints"][h] = d["hints"].get(h, 0) + 1
        day = str(parse_ts(rec["ts"]) // DAY * DAY)
        d["days"][day] = d["days"].get(day, 0) + 1
    return {"domains": sorted(per.values(), key=lambda d: (-d["messages"], d["domain"]))}


def cmd_expect(args):
    domains, since, paths = [], None, []
    it = iter(args)
    for a in it:
        if a == "--domain":
            domains.append(next(it).lower())
        elif a == "--since":
            since = int(next(it))
        else:
            paths.append(a)
    json.dump(expect(paths, domains, since), sys.stdout, indent=1)
    print()


def cmd_json(expected_path, actual_path):
    exp = json.load(open(expected_path))
    try:
        raw = open(actual_path).read()
        act = json.loads(raw)
    except ValueError as e:
        fail("--json output is not JSON: %s" % e)
    if list(act.keys()) != ["domains"]:
        fail("top level keys %s, want exactly [\"domains\"]" % list(act.keys()))
    if len(act["domains"]) != len(exp["domains"]):
        fail("%d domains, want %d" % (len(act["domains"]), len(exp["domains"])))
    total = 0
    for a, e in zip(act["domains"], exp["domains"]):
        if list(a.keys())[:len(FIRST_KEYS)] != FIRST_KEYS:
            fail("keys of %r start %s, want %s" % (a.get("domain"), list(a.keys())[:8], FIRST_KEYS))
        for k in ["domain", "messages"] + METRICS + ["hints", "ses"]:
            if a[k] != e[k]:
                fail("%r %s = %r, want %r" % (e["domain"], k, a[k], e[k]))
        total += a["messages"]
    print("json: %d domains, %d messages, every figure equal" % (len(exp["domains"]), total))


class DomReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.domains, self.cur, self.urls, self.td_n = [], None, [], None
        self.scripts, self.reading, self.markup_in_h2 = 0, None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k])
        if tag in ("script", "link", "img", "iframe", "object", "embed"):
            self.scripts += 1
        if tag == "h2":
            self.in_h2 = True
        elif getattr(self, "in_h2", False) and tag != "span":
            self.markup_in_h2.append(tag)  # a domain name that became markup
        if tag == "section" and "data-domain" in a:
            self.cur = {"domain": a["data-domain"], "messages": int(a["data-messages"]),
                        "metrics": {}, "hints": {}, "text": {}}
            self.domains.append(self.cur)
        elif tag == "tr" and self.cur is not None and "data-metric" in a:
            self.cur["metrics"][a["data-metric"]] = (int(a["data-count"]), int(a["data-total"]))
            self.td_n = ("m", a["data-metric"])
        elif tag == "tr" and self.cur is not None and "data-hint" in a:
            self.cur["hints"][a["data-hint"]] = int(a["data-count"])
            self.td_n = ("h", a["data-hint"])
        elif tag == "td" and a.get("class") == "n" and self.td_n:
            self.cur["text"][self.td_n] = ""
            self.reading = self.td_n
            self.td_n = None

    def handle_endtag(self, tag):
        if tag == "td":
            self.reading = None
        if tag == "h2":
            self.in_h2 = False

    def handle_data(self, data):
        r = getattr(self, "reading", None)
        if r is not None:
            self.cur["text"][r] += data


def cmd_html(expected_path, dom_path, page_path):
    exp = json.load(open(expected_path))
    page = open(page_path, encoding="utf-8").read()
    if re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page, re.I) or re.search(r"url\(", page):
        fail("the page references an external resource")
    if re.search(r"<script|<link|@import|@font-face", page, re.I):
        fail("the page has a script, link, import or font")
    r = DomReader()
    r.feed(open(dom_path, encoding="utf-8").read())
    if r.urls:
        fail("the DOM references URLs: %s" % r.urls[:5])
    if r.scripts:
        fail("the DOM has script/link/img elements")
    if r.markup_in_h2:
        fail("a domain heading holds elements %s: a name was not escaped" % r.markup_in_h2)
    if len(r.domains) != len(exp["domains"]):
        fail("DOM has %d domain sections, want %d" % (len(r.domains), len(exp["domains"])))
    for a, e in zip(r.domains, exp["domains"]):
        if a["domain"] != e["domain"] or a["messages"] != e["messages"]:
            fail("section %r/%d, want %r/%d" % (a["domain"], a["messages"], e["domain"], e["messages"]))
        for m in METRICS + ["ses"]:
            if a["metrics"].get(m) != (e[m], e["messages"]):
                fail("%r %s = %r, want %r" % (e["domain"], m, a["metrics"].get(m), (e[m], e["messages"])))
            if a["text"].get(("m", m), "").strip() != str(e[m]):
                fail("%r %s shows %r, want %d" % (e["domain"], m, a["text"].get(("m", m)), e[m]))
        if a["hints"] != e["hints"]:
            fail("%r hints %r, want %r" % (e["domain"], a["hints"], e["hints"]))
    print("html: %d domain sections read back from the DOM, every figure equal" % len(r.domains))


def check_policy_evaluated(name, header_from, pe, auth):
    """RFC 7489 4.2 / Appendix C: policy_evaluated says "pass" for an
    identifier that is aligned AND passed; the log's aligned alone (a
    broken signature for the From domain is aligned) is not enough.  The
    generator's names align only when equal."""
    dkim = any((d.findtext("domain") or "") == header_from and d.findtext("result") == "pass"
               for d in auth.findall("dkim"))
    spf = auth.find("spf")
    spf_ok = (spf.findtext("domain") or "") == header_from and spf.findtext("result") == "pass"
    want = ("pass" if dkim else "fail", "pass" if spf_ok else "fail")
    got = (pe.findtext("dkim"), pe.findtext("spf"))
    if got != want:
        fail("%s: policy_evaluated dkim/spf %s for %s, want %s (aligned and passed)" %
             (name, got, header_from, want))


def cmd_zone(domain, text_path, zone_path):
    """The report's zone-file lines for DOMAIN, in a zone nsd can load."""
    lines = []
    with open(text_path, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln and not ln[0].isspace() and ln.split(" ", 1)[0].endswith("." + domain + ".") and \
                    re.search(r"\. (MX|TXT|CNAME) ", ln):
                lines.append(ln.replace("<token>", "tokenx").replace("<region>", "us-east-1"))
    if not lines:
        fail("no zone-file line for %s in %s" % (domain, text_path))
    with open(zone_path, "w") as f:
        f.write("$TTL 3600\n")
        f.write("%s. IN SOA ns1.%s. hostmaster.%s. 1 3600 900 604800 300\n" % (domain, domain, domain))
        f.write("%s. IN NS ns1.%s.\n" % (domain, domain))
        f.write("ns1.%s. IN A 192.0.2.53\n" % domain)
        for ln in sorted(set(lines)):
            f.write(ln + "\n")
    print("zone: %d lines for %s" % (len(set(lines)), domain))


def cmd_xml(expected_path, outdir):
    exp = json.load(open(expected_path))
    want = {}
    for d in exp["domains"]:
        if d["domain"] == "":
            continue  # no From domain: no policy domain to report to
        for day, n in d["days"].items():
            want[(d["domain"], int(day))] = n
    got, files, rows = {}, 0, 0
    for name in sorted(os.listdir(outdir)):
        m = re.fullmatch(r"([^!/]+)!([^!/]+)!(\d+)!(\d+)(![^!/]+)?\.xml", name)
        if not m:
            fail("file name %r is not receiver!domain!begin!end.xml" % name)
        begin, end = int(m.group(3)), int(m.group(4))
        if begin % DAY or end != begin + DAY - 1:
            fail("%s: not one UTC day" % name)
        try:
            root = ET.parse(os.path.join(outdir, name)).getroot()
        except ET.ParseError as e:
            fail("%s: not well-formed XML: %s" % (name, e))
        files += 1
        if root.tag != "feedback":
            fail("%s: root <%s>" % (name, root.tag))
        md = root.find("report_metadata")
        for k in ("org_name", "email", "report_id", "date_range/begin", "date_range/end"):
            if md is None or md.find(k) is None or not (md.find(k).text or "").strip():
                fail("%s: report_metadata/%s missing" % (name, k))
        if int(md.find("date_range/begin").text) != begin:
            fail("%s: begin differs from the file name" % name)
        pp = root.find("policy_published")
        for k in ("domain", "p", "pct"):
            if pp is None or pp.find(k) is None:
                fail("%s: policy_published/%s missing" % (name, k))
        if pp.find("p").text not in ("none", "quarantine", "reject"):
            fail("%s: p=%s" % (name, pp.find("p").text))
        header_from, total, keys = None, 0, set()
        for rec in root.findall("record"):
            rows += 1
            hf = rec.find("identifiers/header_from").text
            if header_from not in (None, hf):
                fail("%s: two header_from domains" % name)
            header_from = hf
            cnt = int(rec.find("row/count").text)
            if cnt < 1:
                fail("%s: row count %d" % (name, cnt))
            total += cnt
            pe = rec.find("row/policy_evaluated")
            if pe.find("disposition").text not in ("none", "quarantine", "reject") or \
                    pe.find("dkim").text not in ("pass", "fail") or pe.find("spf").text not in ("pass", "fail"):
                fail("%s: bad policy_evaluated" % name)
            check_policy_evaluated(name, hf, pe, rec.find("auth_results"))
            if rec.find("auth_results/spf/result") is None:
                fail("%s: auth_results without spf" % name)
            key = ET.tostring(rec.find("auth_results")) + ET.tostring(pe) + \
                (rec.find("row/source_ip").text or "").encode() + \
                (rec.find("identifiers/envelope_from").text or "").encode()
            if key in keys:
                fail("%s: two rows for the same group" % name)
            keys.add(key)
        got[(header_from, begin)] = got.get((header_from, begin), 0) + total
    if got != want:
        missing = {k: v for k, v in want.items() if got.get(k) != v}
        fail("per domain and day counts differ, e.g. %s (got %s)" %
             (list(missing.items())[:3], [got.get(k) for k in list(missing)[:3]]))
    print("xml: %d reports, %d rows, per-day counts equal for %d domain-days" % (files, rows, len(want)))


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        cmd_gen(*args)
    elif cmd == "expect":
        cmd_expect(args)
    elif cmd == "since-iso":
        print(iso(since_iso_epoch(int(args[0]))).replace("T00:00:00Z", ""))
    elif cmd == "json":
        cmd_json(*args)
    elif cmd == "html":
        cmd_html(*args)
    elif cmd == "xml":
        cmd_xml(*args)
    elif cmd == "zone":
        cmd_zone(*args)
    else:
        fail("unknown subcommand " + cmd)


if __name__ == "__main__":
    main()
