#!/usr/bin/python3
"""rfc9990check.py - the RFC 9990 aggregate reports of alignmilter-report
--dmarc-xml (--dmarc-standard rfc9989, the default), checked against an
independent reading of the alignment logs they came from.

  rfc9990check.py DIR LOG...

Every file in DIR must be an RFC 9990 report (element by element, in
the order the text asks) and together they must hold exactly the rows
and policies counted here from LOG...  The schema itself is xmllint's
job (tests/report-dmarc.test); this checks what a schema cannot: order,
counts, which row says what.

The final RFC 9990 text was not at hand: this follows its last draft,
draft-ietf-dmarc-aggregate-reporting-32 (tests/report/MANIFEST).  Section
numbers are the draft's; the RFC's may differ.  Exits 1 with a reason on
the first mismatch.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reportcheck import DAY, fail, parse_ts, valid_records  # noqa: E402

NS = "urn:ietf:params:xml:ns:dmarc-2.0"  # 3.1.1.1, 6.1
POLICIES = ("none", "quarantine", "reject")
LOWER = {"reject": "quarantine", "quarantine": "none", "none": "none"}
# RFC 5322 dot-atom-text, for 3.5.1's ridfmt.
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = r"%s(?:\.%s)*" % (ATEXT, ATEXT)


def q(name):
    return "{%s}%s" % (NS, name)


def children(el):
    return [c.tag.replace("{%s}" % NS, "") for c in el]


def text(el, path):
    found = el.find("/".join(q(p) for p in path.split("/")))
    return None if found is None else (found.text or "")


def in_order(name, el, allowed):
    """el's children, by name, each at most as often as allowed says
    ("1" exactly once, "?" at most once, "*" any, "+" at least once), in
    the order of allowed (the draft's tables)."""
    got = children(el)
    i = 0
    for tag, mult in allowed:
        n = 0
        while i < len(got) and got[i] == tag:
            i, n = i + 1, n + 1
        if (mult == "1" and n != 1) or (mult == "?" and n > 1) or (mult == "+" and n < 1):
            fail("%s: <%s> %d times in %s" % (name, tag, n, got))
    if i != len(got):
        fail("%s: unexpected or misplaced <%s> in %s" % (name, got[i], got))


# ---- what the logs say --------------------------------------------------------

def sig_rank(sig, header_from):
    """3.1.3: pass strict, pass relaxed, other passes, the rest."""
    if sig["result"] != "pass":
        return 3
    if sig["domain"].lower() == header_from:
        return 0
    return 1 if sig.get("aligned") is True else 2


def expected(paths):
    """{row key: count} and {(policy domain, day): policy} from the logs."""
    rows, pols = {}, {}
    for rec in valid_records(paths):
        frm, d = rec["from_domain"].lower(), rec["dmarc"]
        if frm == "" or not ("pct" in d or "record_domain" in d):
            continue  # no From domain, or no record: no DMARC Policy Domain (3.1)
        pdom = d.get("record_domain", frm).lower()
        ts = parse_ts(rec["ts"])
        day = ts // DAY * DAY
        policy, disp, testing = d.get("policy", "none"), d.get("disposition", "none"), d.get("testing", False)
        spf, sigs = rec["spf"], rec["dkim"]
        dkim_ok = any(s.get("aligned") is True and s["result"] == "pass" for s in sigs)
        spf_ok = spf.get("aligned") is True and spf["result"] == "pass"
        reason = None
        if d["result"] == "pass":
            eff = LOWER[policy] if testing else policy
            action = "pass" if eff != "none" else "none"
        else:
            action = disp
            if disp != policy:  # 3.1.1.9: the policy applied is not the one configured
                reason = "policy_test_mode" if testing and d["result"] == "fail" else "other"
        mf = rec.get("mail_from", "")
        env = "" if mf == "" else mf.rsplit("@", 1)[1].lower() if "@" in mf else spf.get("domain", "")
        order = sorted(range(len(sigs)), key=lambda i: (sig_rank(sigs[i], frm), i))
        key = (pdom, day, frm, rec.get("client_ip", ""), action, "pass" if dkim_ok else "fail",
               "pass" if spf_ok else "fail", reason, env, spf.get("domain", "").lower(), spf["result"],
               tuple((sigs[i]["domain"].lower(), sigs[i].get("selector", ""), sigs[i]["result"]) for i in order))
        rows[key] = rows.get(key, 0) + 1
        old = pols.get((pdom, day))
        if old is None or ts >= old[0]:
            pub = d.get("published", {"p": policy})
            sp = pub.get("sp", pub.get("p", policy))
            pols[(pdom, day)] = (ts, {
                "domain": pdom, "discovery_method": d.get("discovery", "psl"), "p": pub.get("p", policy),
                "sp": sp, "np": pub.get("np", sp), "adkim": d.get("adkim", "r"), "aspf": d.get("aspf", "r"),
                "testing": "y" if testing else "n"})
    return rows, {k: v[1] for k, v in pols.items()}


# ---- what the reports say -----------------------------------------------------

def read_record(name, rec, pdom, day):
    in_order(name, rec, [("row", "1"), ("identifiers", "1"), ("auth_results", "1")])  # 3.1.1.7
    row = rec.find(q("row"))
    in_order(name, row, [("source_ip", "1"), ("count", "1"), ("policy_evaluated", "1")])  # 3.1.1.8
    pe = row.find(q("policy_evaluated"))
    in_order(name, pe, [("disposition", "1"), ("dkim", "1"), ("spf", "1"), ("reason", "*")])  # 3.1.1.9
    reasons = pe.findall(q("reason"))
    for r in reasons:
        in_order(name, r, [("type", "1"), ("comment", "?")])  # 3.1.1.14
    ids = rec.find(q("identifiers"))
    in_order(name, ids, [("header_from", "1"), ("envelope_from", "?"), ("envelope_to", "?")])  # 3.1.1.10
    auth = rec.find(q("auth_results"))
    in_order(name, auth, [("dkim", "*"), ("spf", "?")])  # 3.1.1.11
    sigs = []
    for s in auth.findall(q("dkim")):
        in_order(name, s, [("domain", "1"), ("selector", "1"), ("result", "1"), ("human_result", "?")])
        sigs.append((text(s, "domain"), text(s, "selector"), text(s, "result")))
    spf = auth.find(q("spf"))
    if spf is None:
        fail("%s: a record without auth_results/spf" % name)
    in_order(name, spf, [("domain", "1"), ("scope", "?"), ("result", "1"), ("human_result", "?")])
    if text(spf, "scope") not in (None, "mfrom"):
        fail("%s: spf scope %r: 3.1.1.13 allows only mfrom" % (name, text(spf, "scope")))
    count = int(text(row, "count"))
    if count < 1:
        fail("%s: row count %d" % (name, count))
    key = (pdom, day, text(ids, "header_from"), text(row, "source_ip"), text(pe, "disposition"),
           text(pe, "dkim"), text(pe, "spf"), text(reasons[0], "type") if reasons else None,
           text(ids, "envelope_from"), text(spf, "domain"), text(spf, "result"), tuple(sigs))
    return key, count


def read_report(outdir, name, rows, pols):
    m = re.fullmatch(r"([^!/]+)!([^!/]+)!(\d+)!(\d+)(![A-Za-z0-9]+)?\.xml", name)  # 3.5.2
    if not m:
        fail("file name %r is not receiver!policy-domain!begin!end[!unique-id].xml" % name)
    begin, end = int(m.group(3)), int(m.group(4))
    if begin % DAY or end != begin + DAY - 1:
        fail("%s: not one UTC day" % name)
    try:
        root = ET.parse(os.path.join(outdir, name)).getroot()
    except ET.ParseError as e:
        fail("%s: not well-formed XML: %s" % (name, e))
    if root.tag != q("feedback"):
        fail("%s: root %s, want feedback in %s" % (name, root.tag, NS))
    in_order(name, root, [("version", "?"), ("report_metadata", "1"), ("policy_published", "1"),
                          ("extension", "?"), ("record", "+")])  # 3.1.1.2
    if text(root, "version") not in (None, "1.0"):
        fail("%s: version %r, 3.1.1.2 says 1.0" % (name, text(root, "version")))
    md = root.find(q("report_metadata"))  # 3.1.1.3
    in_order(name, md, [("org_name", "1"), ("email", "1"), ("extra_contact_info", "?"), ("report_id", "1"),
                        ("date_range", "1"), ("error", "?"), ("generator", "?")])
    if not re.fullmatch(r"<?%s(@%s)?>?" % (DOT_ATOM, DOT_ATOM), text(md, "report_id")):
        fail("%s: report_id %r is not 3.5.1's ridfmt" % (name, text(md, "report_id")))
    if (int(text(md, "date_range/begin")), int(text(md, "date_range/end"))) != (begin, end):
        fail("%s: date_range differs from the file name" % name)
    pp = root.find(q("policy_published"))  # 3.1.1.5
    in_order(name, pp, [("domain", "1"), ("discovery_method", "?"), ("p", "1"), ("sp", "?"), ("np", "?"),
                        ("fo", "?"), ("adkim", "?"), ("aspf", "?"), ("testing", "?")])
    got_pol = {c.tag.replace("{%s}" % NS, ""): c.text or "" for c in pp}
    pdom = got_pol["domain"]
    if m.group(5) is None and m.group(2) != pdom:
        fail("%s: policy_published/domain %r is not the file's policy-domain" % (name, pdom))
    want_pol = pols.get((pdom, begin))
    if got_pol != want_pol:
        fail("%s: policy_published %s, want %s (the newest message's record)" % (name, got_pol, want_pol))
    for rec in root.findall(q("record")):
        key, count = read_record(name, rec, pdom, begin)
        if key in rows:
            fail("%s: two records for %s" % (name, key))
        rows[key] = count


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    outdir, logs = sys.argv[1], sys.argv[2:]
    want_rows, want_pols = expected(logs)
    got_rows = {}
    names = sorted(os.listdir(outdir))
    for name in names:
        read_report(outdir, name, got_rows, want_pols)
    if got_rows != want_rows:
        missing = [(k, v, got_rows.get(k)) for k, v in want_rows.items() if got_rows.get(k) != v]
        extra = [k for k in got_rows if k not in want_rows]
        fail("rows differ: %d wanted rows missing or miscounted, e.g. %s; %d unexpected, e.g. %s" %
             (len(missing), missing[:2], len(extra), extra[:2]))
    if len(names) != len(want_pols):
        fail("%d reports, want one per policy domain and day: %d" % (len(names), len(want_pols)))
    print("rfc9990: %d reports, %d records, %d messages, each as counted from the logs" %
          (len(names), len(got_rows), sum(got_rows.values())))


if __name__ == "__main__":
    main()
