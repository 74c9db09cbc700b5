#!/usr/bin/python3
"""tools.py - alignmilter-check and alignmilter-report against the live e2e run.

Owns: issue 7's end-to-end proof of the two tools.  Run by run.sh after
the scenarios, while nsd still serves the zones of zones.py and WORK still
holds the alignment log the live milter wrote:

  alignmilter-check DOMAIN --log WORK/alignment.log (selectors, custom MAIL
      FROM and region come from the live log) --nameserver 127.0.0.1@NSD
      --json, for the SES domains of the scenarios: the correctly set-up
      ses-custom grades A (100, exit 0); ses-default, strict, noeasydkim
      and dupsuffix lose exactly the points of the SCORING table of
      man/alignmilter-check.1 (each part capped), with the hint names of
      alignmilter(8) and fix lines holding the zone-file text to publish.
  alignmilter-report --json on the same log: per-domain figures equal the
      ones counted here, independently, from the same lines (definitions
      of man/alignmilter-report.1: aligned is identifier alignment, aligned
      pass what DMARC counts); the fixes' records are zone-file lines that
      nsd-checkzone loads; --html renders a self-contained page whose data-
      attributes carry the same figures; --dmarc-xml writes well-formed RFC
      7489 aggregate reports whose rows add up and whose policy_evaluated
      says pass only for an aligned identifier that passed; the
      malformed-From spoofs of bank.example.com are in the bank's report
      in both formats (RFC 7489 and RFC 9990), header_from the bank.

  tools.py WORK           prints "ok - [contract] ..." / "not ok - ..." lines
                          (run.sh counts them) and exits 1 on any failure

Expected scores are computed here from the findings and the man page's
points and caps, not copied from the tool's output.
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

PASSED = [0, 0]
STDERR = []     # every tool run's standard error, for sanitizer reports


def run(argv, **kw):
    p = subprocess.run(argv, **kw)
    STDERR.append(p.stderr or "")
    return p


def check(name, desc, cond, detail=""):
    PASSED[0 if cond else 1] += 1
    line = "%s - [contract] %s: %s" % ("ok" if cond else "not ok", name, desc)
    if not cond and detail:
        line += "\n#   " + str(detail).replace("\n", "\n#   ")
    print(line, flush=True)
    return cond


# ------------------------------------------------------------ alignmilter-check
#
# The SCORING table of man/alignmilter-check.1: the part of each check and
# the part caps.
PART_CAP = {"dkim": 40, "mail-from": 25, "dmarc": 35}


def part_of(check_name):
    if check_name == "easy-dkim" or check_name.startswith("dkim:"):
        return "dkim"
    if check_name.startswith("mail-from"):
        return "mail-from"
    if check_name.startswith("dmarc-"):
        return "dmarc"
    return None


def grade_of(score):
    for g, low in (("A", 90), ("B", 80), ("C", 70), ("D", 60)):
        if score >= low:
            return g
    return "F"


# Per domain: the findings that are not a pass, as
#   check name -> (status, table points, hint, [text the fix must hold])
# (table points: the man page's row for that finding, before the cap;
# a text starting with "!" must not be in the fix).
# Every other check of the domain must be a pass.  The zones are those of
# zones.py; the selectors, MAIL FROM and region come from the live log.
EXPECT = {
    # Easy DKIM CNAME, MAIL FROM mail.<d> with MX + include:amazonses.com,
    # DMARC p=quarantine with rua: nothing to fix.
    "ses-custom.example.com": {},
    # Default MAIL FROM (row: mail-from warn 20); p=none (dmarc-policy warn 15).
    "ses-default.example.com": {
        "mail-from": ("warn", 20, "ses-default-mail-from",
                      ["MX 10 feedback-smtp.us-east-1.amazonses.com.", "include:amazonses.com",
                       ".ses-default.example.com."]),
        "dmarc-policy": ("warn", 15, "dmarc-policy-none",
                         ["_dmarc.ses-default.example.com.", "TXT", "p=quarantine"]),
    },
    # aspf=s with the custom MAIL FROM bounce.<d> (dmarc-aspf fail 20),
    # no rua= (dmarc-rua warn 5).
    "strict.example.com": {
        "dmarc-aspf": ("fail", 20, "aspf-strict-subdomain",
                       ["_dmarc.strict.example.com. TXT \"v=DMARC1; p=reject", "!aspf=s"]),
        "dmarc-rua": ("warn", 5, None, ["_dmarc.strict.example.com.", "rua=mailto:"]),
    },
    # SES mail in the log with no d=<domain> signature (easy-dkim fail 40),
    # default MAIL FROM (20), p=none (15), no rua= (5).
    "noeasydkim.example.com": {
        "easy-dkim": ("fail", 40, "ses-no-easy-dkim",
                      ["._domainkey.noeasydkim.example.com.", "CNAME", ".dkim.amazonses.com."]),
        "mail-from": ("warn", 20, "ses-default-mail-from",
                      ["MX 10 feedback-smtp.us-east-1.amazonses.com.", "include:amazonses.com"]),
        "dmarc-policy": ("warn", 15, "dmarc-policy-none", ["_dmarc.noeasydkim.example.com.", "p=quarantine"]),
        "dmarc-rua": ("warn", 5, None, ["_dmarc.noeasydkim.example.com.", "rua=mailto:"]),
    },
    # The selector of the live log is published at <sel>._domainkey.<d>.<d>
    # (dkim:S fail 15, dkim-cname-duplicated-suffix), so no selector works
    # (easy-dkim fail 40; the part is capped at 40); default MAIL FROM (20),
    # p=none (15), no rua= (5).
    "dupsuffix.example.com": {
        "easy-dkim": ("fail", 40, "ses-no-easy-dkim", None),
        "dkim:dupsuffix1tok": ("fail", 15, "dkim-cname-duplicated-suffix",
                               ["; remove: dupsuffix1tok._domainkey.dupsuffix.example.com.dupsuffix.example.com.",
                                "dupsuffix1tok._domainkey.dupsuffix.example.com. CNAME "
                                "dupsuffix1tok.dkim.amazonses.com."]),
        "mail-from": ("warn", 20, "ses-default-mail-from",
                      ["MX 10 feedback-smtp.us-east-1.amazonses.com.", "include:amazonses.com"]),
        "dmarc-policy": ("warn", 15, "dmarc-policy-none", ["_dmarc.dupsuffix.example.com.", "p=quarantine"]),
        "dmarc-rua": ("warn", 5, None, ["_dmarc.dupsuffix.example.com.", "rua=mailto:"]),
    },
}


# What scenarios.py sends, given on the command line instead of --log:
# the grading must be the same as with the inputs read from the live log.
EXPLICIT = {
    "ses-custom.example.com": ["--selector", "sescustom1tok", "--mail-from", "mail", "--region", "us-east-1"],
    "strict.example.com": ["--selector", "strict1tok", "--mail-from", "bounce.strict.example.com",
                           "--region", "eu-west-1"],
}


def expected_score(findings):
    lost = {}
    for name, (_st, pts, _h, _f) in findings.items():
        lost[part_of(name)] = lost.get(part_of(name), 0) + pts
    return 100 - sum(min(PART_CAP[p], n) for p, n in lost.items())


def run_check(env, tool, domain, inputs=None):
    argv = [tool, domain, "-c", env["offline_conf"], "--nameserver", "127.0.0.1@%d" % env["nsd_port"],
            "--json"] + (inputs or ["--log", env["alignment_log"]])
    try:
        p = run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, None, str(e)
    try:
        return p.returncode, json.loads(p.stdout), p.stderr
    except ValueError:
        return p.returncode, None, "stdout: %r stderr: %r" % (p.stdout[:500], p.stderr[:500])


def check_domain(env, tool, domain, findings):
    name = "check " + domain
    rc, out, err = run_check(env, tool, domain)
    if not check(name, "alignmilter-check --log --json gives one JSON object", out is not None, err):
        return
    detail = json.dumps(out, indent=1)
    score = expected_score(findings)
    grade = grade_of(score)
    checks = {c.get("name"): c for c in out.get("checks", [])}
    check(name, "grade %s, score %d (100 minus the man page's points, parts capped)" % (grade, score),
          out.get("grade") == grade and out.get("score") == score, detail)
    check(name, "exit %d (grade %s)" % (0 if grade in "AB" else 1, grade),
          rc == (0 if grade in "AB" else 1), "rc=%s %s" % (rc, err))
    if not findings:
        check(name, "every check passes (%d checks)" % len(checks),
              len(checks) > 0 and all(c.get("status") == "pass" and c.get("points") == 0
                                      and c.get("fix") is None for c in checks.values()), detail)
    for parts in ("dkim", "mail-from", "dmarc"):
        check(name, "checks of the %s part present" % parts,
              any(part_of(n) == parts for n in checks), detail)
    # Every check the test does not expect to fail passes.
    extra = [n for n, c in checks.items() if n not in findings and c.get("status") != "pass"]
    check(name, "no other check is a warn or fail", not extra, "unexpected: %s\n%s" % (extra, detail))
    # Per part: the points lost equal the table's, up to the cap.
    for part, cap in PART_CAP.items():
        want = sum(f[1] for n, f in findings.items() if part_of(n) == part)
        got = sum(c.get("points", 0) for n, c in checks.items() if part_of(n) == part)
        if want:
            check(name, "the %s part loses %d points (table %d, cap %d)" % (part, min(cap, want), want, cap),
                  got == min(cap, want), detail)
    for cname, (status, pts, hint, fix) in findings.items():
        c = checks.get(cname)
        if not check(name, "%s: %s%s" % (cname, status, " [%s]" % hint if hint else ""),
                     c is not None and c.get("status") == status and c.get("hint") == hint, detail):
            continue
        capped = sum(f[1] for n, f in findings.items() if part_of(n) == part_of(cname)) > PART_CAP[part_of(cname)]
        if capped:
            check(name, "  %s loses at most %d (its part is at the cap)" % (cname, pts),
                  0 <= c.get("points", -1) <= pts, json.dumps(c))
        else:
            check(name, "  %s loses %d points" % (cname, pts), c.get("points") == pts, json.dumps(c))
        for text in fix or []:
            if text.startswith("!"):
                check(name, "  %s fix lacks %r" % (cname, text[1:]), text[1:] not in (c.get("fix") or ""),
                      json.dumps(c))
            else:
                check(name, "  %s fix has %r" % (cname, text), text in (c.get("fix") or ""), json.dumps(c))
    if domain in EXPLICIT:
        rc2, out2, err2 = run_check(env, tool, domain, EXPLICIT[domain])

        def core(o):
            return o and (o.get("grade"), o.get("score"),
                          [(c.get("name"), c.get("status"), c.get("points"), c.get("hint"), c.get("fix"))
                           for c in o.get("checks", [])])
        check(name, "the same grading with %s instead of --log" % " ".join(EXPLICIT[domain]),
              rc2 == rc and core(out2) == core(out), "rc=%s %s\n%s" % (rc2, err2, json.dumps(out2, indent=1)))


# ------------------------------------------------------------ alignmilter-report
def check_zone_lines(got, tmp):
    """Per From domain, the records of every fix in one zone file (SOA and
    NS added, <token>/<region> filled in): nsd-checkzone must load it."""
    checkzone = "/usr/sbin/nsd-checkzone"
    for dom, g in sorted(got.items()):
        lines = sorted({l for v in (g.get("records") or {}).values() for l in v})
        if not lines or not dom:
            continue
        path = os.path.join(tmp, "fix.%s.zone" % dom)
        with open(path, "w") as f:
            f.write("$TTL 3600\n%s. IN SOA ns1.%s. h.%s. 1 3600 900 604800 300\n" % (dom, dom, dom))
            f.write("%s. IN NS ns1.%s.\nns1.%s. IN A 192.0.2.53\n" % (dom, dom, dom))
            for l in lines:
                f.write(l.replace("<token>", "tokenx").replace("<region>", "us-east-1") + "\n")
        p = run([checkzone, dom, path], capture_output=True, text=True, timeout=30)
        check("report", "%s: the fixes' %d zone-file lines load with nsd-checkzone" % (dom, len(lines)),
              p.returncode == 0, p.stdout + p.stderr + "".join(open(path).readlines()))


def load_log(path):
    recs = []
    with open(path) as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    return recs


def norm(d):
    return (d or "").lower().rstrip(".")


def count(recs):
    """Per From domain, by man/alignmilter-report.1's definitions."""
    out = {}
    for r in recs:
        d = out.setdefault(norm(r.get("from_domain")), dict(
            messages=0, spf_pass=0, spf_aligned=0, dkim_pass=0, dkim_aligned=0, dmarc_pass=0,
            spf_aligned_pass=0, dkim_aligned_pass=0, hints={}, ses=0, regions={}))
        spf = r.get("spf") or {}
        sigs = r.get("dkim") or []
        d["messages"] += 1
        # aligned: the identifier's domain aligns, whatever its result;
        # aligned pass: aligned and passed, what DMARC counts.
        d["spf_pass"] += spf.get("result") == "pass"
        d["spf_aligned"] += spf.get("aligned") is True
        d["spf_aligned_pass"] += spf.get("result") == "pass" and spf.get("aligned") is True
        d["dkim_pass"] += any(s.get("result") == "pass" for s in sigs)
        d["dkim_aligned"] += any(s.get("aligned") is True for s in sigs)
        d["dkim_aligned_pass"] += any(s.get("result") == "pass" and s.get("aligned") is True for s in sigs)
        d["dmarc_pass"] += (r.get("dmarc") or {}).get("result") == "pass"
        for h in set(r.get("hints") or []):   # a hint counts once per message
            d["hints"][h] = d["hints"].get(h, 0) + 1
        if r.get("sender") == "ses":
            d["ses"] += 1
            reg = (r.get("ses") or {}).get("region")
            if reg:
                d["regions"][reg] = d["regions"].get(reg, 0) + 1
    return out


class Page(HTMLParser):
    """Figures from the data- attributes, and anything external."""
    def __init__(self):
        super().__init__()
        self.sections, self.cur, self.external = {}, None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "object", "embed", "base", "image"):
            self.external.append("<%s %s>" % (tag, attrs))
        for k in ("href", "src", "xlink:href", "action", "srcset", "background"):
            v = a.get(k)
            if v is not None and not v.startswith("#"):
                self.external.append("%s=%s" % (k, v))
        if tag == "section" and "data-domain" in a:
            self.cur = self.sections.setdefault(a["data-domain"], {"messages": a.get("data-messages")})
        if tag == "tr" and self.cur is not None:
            if "data-metric" in a:
                self.cur[a["data-metric"]] = (a.get("data-count"), a.get("data-total"))
            if "data-hint" in a:
                self.cur.setdefault("hints", {})[a["data-hint"]] = a.get("data-count")

    def handle_endtag(self, tag):
        if tag == "section":
            self.cur = None

    def handle_data(self, data):
        if re.search(r"url\(|@import", data):
            self.external.append(data.strip()[:80])


METRICS = ["spf_pass", "spf_aligned", "dkim_pass", "dkim_aligned", "dmarc_pass", "spf_aligned_pass",
           "dkim_aligned_pass"]


def check_report(env, tool, tmp):
    name = "report"
    log = env["alignment_log"]
    try:
        recs = load_log(log)
    except (OSError, ValueError) as e:
        check(name, "the live alignment log is readable JSON Lines", False, str(e))
        return
    want = count(recs)
    live = {"ses-default.example.com", "ses-custom.example.com", "strict.example.com",
            "noeasydkim.example.com", "dupsuffix.example.com"}
    check(name, "the live log has the SES scenarios' domains (%d records)" % len(recs),
          live <= set(want), sorted(want))

    p = run([tool, "--json", log], capture_output=True, text=True, timeout=30)
    try:
        got = {d["domain"]: d for d in json.loads(p.stdout)["domains"]}
    except (ValueError, KeyError, TypeError):
        check(name, "--json on the live log gives a domains list", False, p.stdout[:500] + p.stderr[:500])
        return
    check(name, "--json exit 0, no line skipped", p.returncode == 0 and "skipped" not in p.stderr,
          "rc=%d %s" % (p.returncode, p.stderr))
    check(name, "--json has the same domains as the log (%d)" % len(want), set(got) == set(want),
          "report %s, log %s" % (sorted(got), sorted(want)))
    for dom in sorted(want):
        w, g = want[dom], got.get(dom, {})
        figs = ["messages"] + METRICS
        check(name, "%s: %s = %s" % (dom, "/".join(figs), "/".join(str(w[k]) for k in figs)),
              all(g.get(k) == w[k] for k in figs), json.dumps(g))
        check(name, "%s: hint counts %s" % (dom, json.dumps(w["hints"], sort_keys=True)),
              g.get("hints") == w["hints"], json.dumps(g.get("hints")))
        check(name, "%s: SES %d, regions %s" % (dom, w["ses"], json.dumps(w["regions"], sort_keys=True)),
              g.get("ses") == w["ses"] and (g.get("regions") or {}) == w["regions"], json.dumps(g))
        fixes = g.get("fixes") or {}
        check(name, "%s: a fix for every hint" % dom, set(fixes) == set(w["hints"]), json.dumps(fixes))
        records = g.get("records") or {}
        check(name, "%s: records (zone-file lines) for every hint" % dom,
              set(records) == set(w["hints"]) and all(isinstance(v, list) for v in records.values()),
              json.dumps(records))
    fx = (got.get("ses-default.example.com") or {}).get("records", {}).get("ses-default-mail-from", [])
    check(name, "ses-default.example.com: the ses-default-mail-from records are the MX and SPF lines",
          fx == ["mail.ses-default.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.",
                 'mail.ses-default.example.com. TXT "v=spf1 include:amazonses.com ~all"'], fx)
    tx = (got.get("tamper.example.com") or {}).get("fixes", {}).get("dkim-aligned-signature-failed", "")
    check(name, "tamper.example.com: dkim-aligned-signature-failed names the signature and the reason",
          "d=tamper.example.com s=sel1" in tx and "body hash mismatch" in tx, tx)
    check_zone_lines(got, tmp)

    # --html: a self-contained page carrying the same figures.
    html = os.path.join(tmp, "report.html")
    p = run([tool, "--html", html, log], capture_output=True, text=True, timeout=30)
    ok = p.returncode == 0 and os.path.isfile(html) and os.path.getsize(html) > 0
    if check(name, "--html writes a page (exit 0)", ok, "rc=%d %s" % (p.returncode, p.stderr)):
        with open(html, encoding="utf-8") as f:
            text = f.read()
        page = Page()
        page.feed(text)
        plain = re.sub(r'xmlns(:\w+)?="[^"]*"', "", text)
        check(name, "--html references nothing external (no scripts, links, images, URLs)",
              not page.external and not re.search(r"(https?|ftp):|//[a-z0-9]", plain, re.I),
              page.external or re.findall(r".{0,40}(?:https?|ftp):.{0,40}", plain)[:3])
        same = set(page.sections) == set(want)
        for dom, w in want.items():
            s = page.sections.get(dom, {})
            same = same and s.get("messages") == str(w["messages"])
            for k in METRICS:
                same = same and s.get(k) == (str(w[k]), str(w["messages"]))
            same = same and (s.get("hints") or {}) == {h: str(n) for h, n in w["hints"].items()}
        check(name, "--html data- attributes carry the same per-domain figures", same,
              json.dumps(page.sections, sort_keys=True))

    # --dmarc-xml: well-formed aggregate reports whose rows add up.
    xdir = os.path.join(tmp, "xml")
    # The RFC 7489 format (Appendix C), which the checks below read; the
    # default is RFC 9990's (--dmarc-standard, like DMARCStandard).
    p = run([tool, "--dmarc-xml", xdir, "--dmarc-standard", "rfc7489", "--org", "e2e receiver", "--email",
             "dmarc@mx.e2e.example", log], capture_output=True, text=True, timeout=30)
    files = sorted(os.listdir(xdir)) if os.path.isdir(xdir) else []
    check(name, "--dmarc-xml writes reports (exit 0)", p.returncode == 0 and files,
          "rc=%d %s" % (p.returncode, p.stderr))
    rows, bad = {}, []
    dkim_aligned_pass = {d for d, w in want.items() if w["dkim_aligned_pass"]}
    for fn in files:
        try:
            root = ET.parse(os.path.join(xdir, fn)).getroot()
        except ET.ParseError as e:
            bad.append("%s: %s" % (fn, e))
            continue
        # receiver!domain!begin!end.xml: one From domain, one UTC day.
        part = fn[:-4].split("!") if fn.endswith(".xml") else []
        day = len(part) == 4 and part[2].isdigit() and part[3].isdigit() \
            and int(part[2]) % 86400 == 0 and int(part[3]) - int(part[2]) == 86399
        pdom = norm(root.findtext("policy_published/domain"))
        if (root.tag != "feedback" or root.findtext("report_metadata/org_name") != "e2e receiver"
                or not day or part[0] != "mx.e2e.example"):
            bad.append("%s: root %s, not receiver!domain!day" % (fn, root.tag))
            continue
        for rec in root.findall("record"):
            n = int(rec.findtext("row/count") or "0")
            hf = norm(rec.findtext("identifiers/header_from"))
            rows[hf] = rows.get(hf, 0) + n
            # The policy is published at the From domain or its
            # organizational domain (sub.example.net -> example.net).
            if hf != part[1] or n < 1 or not (hf == pdom or hf.endswith("." + pdom)):
                bad.append("%s: header_from %s, count %d, policy_published %s" % (fn, hf, n, pdom))
            pe = [rec.findtext("row/policy_evaluated/" + k) for k in ("dkim", "spf")]
            if any(v not in ("pass", "fail") for v in pe):
                bad.append("%s: policy_evaluated %s" % (fn, pe))
            # RFC 7489 semantics: a pass needs a passing identifier; a domain
            # none of whose messages had an aligned passing signature is fail.
            if pe[0] == "pass" and not any(d.findtext("result") == "pass"
                                           for d in rec.findall("auth_results/dkim")):
                bad.append("%s: dkim pass without a passing signature" % fn)
            if pe[0] == "pass" and hf not in dkim_aligned_pass:
                bad.append("%s: dkim pass for %s, which no aligned signature passed" % (fn, hf))
            if pe[1] == "pass" and rec.findtext("auth_results/spf/result") != "pass":
                bad.append("%s: spf pass without an SPF pass" % fn)
    check(name, "--dmarc-xml: %d files, each parseable RFC 7489 feedback" % len(files),
          files and not bad, "\n".join(bad))
    # tamper.example.com: the log says aligned (broken signature), the report fail.
    tam = [r for r in recs if norm(r.get("from_domain")) == "tamper.example.com"]
    check(name, "tamper.example.com: the log has aligned:true with result fail, and no aligned pass",
          tam and any(s.get("aligned") is True and s.get("result") == "fail" for r in tam for s in r.get("dkim", []))
          and "tamper.example.com" not in dkim_aligned_pass, json.dumps(tam)[:800])
    msgs = {d: w["messages"] for d, w in want.items() if d}
    check(name, "--dmarc-xml: row counts add up to each From domain's messages", rows == msgs,
          "xml %s, log %s" % (json.dumps(rows, sort_keys=True), json.dumps(msgs, sort_keys=True)))
    check_spoofs(name, tool, log, recs, rows, tmp)


def check_spoofs(name, tool, log, recs, rows7489, tmp):
    """The malformed-From spoofs of bank.example.com (scenario_table.py) reach
    the bank: the log keeps the deciding author domain as from_domain, so
    both aggregate formats count them in its report, header_from the bank."""
    bank = "bank.example.com"
    spoofs = [r for r in recs if norm(r.get("from_domain")) == bank and r.get("author_domains")]
    check(name, "the live log has the malformed-From spoofs of %s, author_domains naming it" % bank,
          len(spoofs) >= 4 and all(bank in r["author_domains"] for r in spoofs), len(spoofs))
    check(name, "--dmarc-xml rfc7489: %s's report counts every spoof (%d)" % (bank, len(spoofs)),
          rows7489.get(bank) == len(spoofs), json.dumps(rows7489.get(bank)))
    xdir = os.path.join(tmp, "xml9990")
    p = run([tool, "--dmarc-xml", xdir, "--email", "dmarc@mx.e2e.example", "--domain", bank, log],
            capture_output=True, text=True, timeout=30)
    ns = "{urn:ietf:params:xml:ns:dmarc-2.0}"
    n, froms, dispositions = 0, set(), set()
    for fn in sorted(os.listdir(xdir)) if os.path.isdir(xdir) else []:
        try:
            root = ET.parse(os.path.join(xdir, fn)).getroot()
        except ET.ParseError:
            continue
        for rec in root.findall(ns + "record"):
            n += int(rec.findtext("%srow/%scount" % (ns, ns)) or "0")
            froms.add(norm(rec.findtext("%sidentifiers/%sheader_from" % (ns, ns))))
            dispositions.add(rec.findtext("%srow/%spolicy_evaluated/%sdisposition" % (ns, ns, ns)))
    check(name, "--dmarc-xml (RFC 9990): %s's report counts every spoof, header_from %s, disposition reject"
          % (bank, bank), p.returncode == 0 and n == len(spoofs) and froms == {bank} and dispositions == {"reject"},
          "rc=%d n=%d header_from %s dispositions %s %s" % (p.returncode, n, sorted(froms), sorted(dispositions),
                                                            p.stderr))


def main(work):
    with open(os.path.join(work, "e2e.json")) as f:
        env = json.load(f)
    bindir = os.path.dirname(env["alignmilter"])
    tmp = os.path.join(work, "tools")
    os.makedirs(tmp, exist_ok=True)
    ctool = env.get("alignmilter_check") or os.path.join(bindir, "alignmilter-check")
    rtool = env.get("alignmilter_report") or os.path.join(bindir, "alignmilter-report")
    if check("check", "%s is built" % ctool, os.access(ctool, os.X_OK)):
        for domain, findings in EXPECT.items():
            check_domain(env, ctool, domain, findings)
    if check("report", "%s is built" % rtool, os.access(rtool, os.X_OK)):
        check_report(env, rtool, tmp)
    san = [e for e in STDERR if re.search(r"AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|"
                                          r"runtime error:", e)]
    check("tools", "no sanitizer report on the tools' stderr (%d runs)" % len(STDERR), not san,
          "\n".join(san)[:2000])
    print("# tools: %d passed, %d failed" % tuple(PASSED))
    return 1 if PASSED[1] else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
