#!/usr/bin/python3
"""sendcheck.py - logs for tests/report-send.test, and the check of what arrived.

  sendcheck.py logs DIR          write DIR/mx1.log, DIR/mx2.log, DIR/expected.json
  sendcheck.py check EXPECTED MAILDIR XSD OUTDIR [--eml]
                                 parse every message of MAILDIR (the sink's
                                 N.eml + N.env, or --eml: dry-run .eml files),
                                 check it, unpack each report into OUTDIR, print
                                 one line per message: "domain begin rcpt count"

Independent of the C code: the expected counts are computed here from the
records (a message is host + queue_id + ts; draft-32 = draft-ietf-dmarc-
aggregate-reporting-32, which RFC 9990 follows).
"""
import calendar
import email
import email.policy
import gzip
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

NS = "{urn:ietf:params:xml:ns:dmarc-2.0}"


def record(ts, host, qid, domain, ip, result="pass"):
    r = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)), "queue_id": qid}
    if host:
        r["host"] = host
    r.update({"client_ip": ip, "helo": "mta." + domain, "mail_from": "bounce@" + domain,
              "from_domain": domain,
              "spf": {"result": result, "domain": domain, "aligned": True},
              "dkim": [{"domain": domain, "selector": "s1", "algorithm": "rsa-sha256",
                        "result": result, "aligned": True}],
              "dmarc": {"result": result, "policy": "none", "disposition": "none", "adkim": "r",
                        "aspf": "r", "pct": 100, "record_domain": domain, "policy_tag": "p",
                        "testing": False, "psd": "u", "discovery": "treewalk",
                        "published": {"p": "none"}, "org_domain": domain},
              "sender": "other", "ses": None, "hints": []})
    return json.dumps(r, separators=(",", ":"))


def logs(d):
    now = int(time.time())
    today = now - now % 86400
    y, y2 = today - 86400 + 3600, today - 2 * 86400 + 7200   # yesterday, the day before
    mx1 = [record(y + 1, "mx1.example", "Q1", "a.example", "192.0.2.1"),
           record(y + 2, "mx1.example", "Q2", "a.example", "192.0.2.1"),
           record(y + 3, "mx1.example", "Q3", "a.example", "192.0.2.2", "fail"),
           record(y2, "mx1.example", "Q9", "a.example", "192.0.2.1"),
           record(y + 4, "mx1.example", "Q5", "b.example", "198.51.100.7"),
           record(y + 5, "mx1.example", "Q6", "c.example", "198.51.100.8"),
           record(y + 6, "mx1.example", "Q7", "d.example", "198.51.100.9"),
           # today: its day is not over, nothing is sent for it
           record(now - 1, "mx1.example", "Q8", "a.example", "192.0.2.1")]
    mx2 = [record(y + 1, "mx2.example", "Q1", "a.example", "192.0.2.3"),   # same queue id, other host
           record(y + 7, "mx2.example", "Q4", "a.example", "192.0.2.3"),
           mx1[1],                                                    # mx1's Q2 again: counted once
           record(y + 8, "mx2.example", "Q5", "b.example", "198.51.100.7"),
           record(y + 9, "", "", "b.example", "198.51.100.7")]        # an old record without host
    with open(os.path.join(d, "mx1.log"), "w") as f:
        f.write("\n".join(mx1) + "\n")
    with open(os.path.join(d, "mx2.log"), "w") as f:
        f.write("\n".join(mx2) + "\n")
    seen, counts = set(), {}
    for line in mx1 + mx2:
        r = json.loads(line)
        key = (r.get("host", ""), r["queue_id"], r["ts"])
        if r["queue_id"] and r.get("host") and key in seen:
            continue
        seen.add(key)
        ts = calendar.timegm(time.strptime(r["ts"], "%Y-%m-%dT%H:%M:%SZ"))
        begin = int(ts) - int(ts) % 86400
        if begin + 86400 > now:
            continue
        k = "%s %d" % (r["dmarc"]["record_domain"], begin)
        counts[k] = counts.get(k, 0) + 1
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(counts, f, sort_keys=True)


SUBJECT = re.compile(r"^Report Domain: (\S+) Submitter: (\S+) Report-ID: <([^<>\s]+)>$")
FNAME = re.compile(r"^([A-Za-z0-9.-]+)!([A-Za-z0-9.-]+)!(\d+)!(\d+)\.xml\.gz$")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(expected_path, maildir, xsd, outdir, eml_only):
    expected = json.load(open(expected_path))
    names = sorted(n for n in os.listdir(maildir) if n.endswith(".eml"))
    os.makedirs(outdir, exist_ok=True)
    for n in names:
        raw = open(os.path.join(maildir, n), "rb").read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if eml_only:
            rcpts = [str(msg["To"]).strip("<>")]
        else:
            env = open(os.path.join(maildir, n[:-4] + ".env")).read().split("\n")
            # sink.py: "MAIL FROM:<a>", "RCPT TO:<b>"
            rcpts = [re.sub(r"^.*<(.*)>.*$", r"\1", l) for l in env if l.startswith("RCPT ")]
            if "<reports@mx.example>" not in env[0]:
                fail("%s: envelope sender %r, not ReportFrom (sendmail -f)" % (n, env[0]))
        subj = " ".join(str(msg["Subject"]).split())
        m = SUBJECT.match(subj)
        if not m:
            fail("%s: Subject %r is not draft-32 3.5.2's dmarc-subject" % (n, subj))
        for h in ("Message-ID", "Date", "From"):
            if not msg[h]:
                fail("%s: no %s field" % (n, h))
        if "reports@mx.example" not in str(msg["From"]):
            fail("%s: From %s is not ReportFrom" % (n, msg["From"]))
        if msg.get_content_type() != "multipart/mixed":
            fail("%s: %s, not multipart/mixed" % (n, msg.get_content_type()))
        parts = [p for p in msg.iter_attachments() if p.get_content_type() == "application/gzip"]
        if len(parts) != 1:
            fail("%s: %d application/gzip attachments" % (n, len(parts)))
        fn = parts[0].get_filename()
        f = FNAME.match(fn or "")
        if not f or f.group(2) != m.group(1) or f.group(1) != m.group(2):
            fail("%s: attachment name %r does not match draft-32 3.5.2 or the Subject" % (n, fn))
        xml = gzip.decompress(parts[0].get_content())
        path = os.path.join(outdir, fn[:-3])
        gzpath = os.path.join(outdir, fn)
        with open(path, "wb") as out:
            out.write(xml)
        with open(gzpath, "wb") as out:
            out.write(parts[0].get_content())
        r = subprocess.run(["xmllint", "--noout", "--schema", xsd, path], capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s: xmllint --schema: %s" % (n, r.stderr.strip()[:400]))
        root = ET.fromstring(xml)
        rid = root.find(NS + "report_metadata/" + NS + "report_id").text
        if rid != m.group(3):
            fail("%s: Report-ID %s in the Subject, %s in the report" % (n, m.group(3), rid))
        count = sum(int(c.text) for c in root.iter(NS + "count"))
        key = "%s %s" % (f.group(2), f.group(3))
        if expected.get(key) != count:
            fail("%s: %s counts %d, the logs %s" % (n, key, count, expected.get(key)))
        for rc in rcpts:
            print("%s %s %s %d %s" % (f.group(2), f.group(3), rc, count, gzpath))


if __name__ == "__main__":
    if sys.argv[1] == "logs":
        logs(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], "--eml" in sys.argv[6:])
