#!/usr/bin/python3
"""scenarios.py - the end-to-end scenarios of alignmilter and their assertions.

Owns: sending each scenario of scenario_table.py (client address, HELO,
envelope, From, DKIM signatures, tampering, extra headers) and asserting
what alignmilter's contract (alignmilter(8), RFC 8601/7208/6376/7489 and
RFC 9989, the default DMARCStandard) says must come out: the SMTP reply,
the one Authentication-Results header inserted first (read from the
delivered copy, or from Postfix's hold queue with postcat), the
alignment-log record (matched by queue id) and the verdict line on the
milter's stderr.  Reads the running pieces from WORK/e2e.json (written by
lib.sh).

  scenarios.py run WORK normal|reject     send, wait, assert; prints
                                          "ok - ..." / "not ok - ..." lines
  scenarios.py offline WORK               each message through "alignmilter -t"
                                          (same pipeline, no MTA): AR + log record
  scenarios.py demo WORK                  the README demo: three SES messages,
                                          printing what alignmilter made of them

E2E_ONLY=name,name... limits run and offline to those scenarios.

Each check line is tagged [harness] (the test rig itself: delivery through
Postfix and the milter, XCLIENT, python3-dkim agreeing with the zone data;
these pass with a pass-through milter) or [contract] (alignmilter's
results).  Where RFCs leave a detail open (comments, reasons), only the
stable core is asserted: result words, properties, hints.
"""
import email.parser
import email.policy
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_table import REJECT_VARIANT, SCENARIOS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
AUTHSERV = "mx.e2e.example"
RCPT = "inbox@sink.e2e.example"



# ------------------------------------------------------------ bookkeeping
class Report:
    def __init__(self, alias=None):
        self.counts = {"harness": [0, 0], "contract": [0, 0]}
        self.alias = alias or {}
        for k in self.alias.values():
            self.counts[k] = [0, 0]

    def check(self, kind, name, desc, cond, detail=""):
        kind = self.alias.get(kind, kind)
        self.counts[kind][0 if cond else 1] += 1
        line = "%s - [%s] %s: %s" % ("ok" if cond else "not ok", kind, name, desc)
        if not cond and detail:
            line += "\n#   " + str(detail).replace("\n", "\n#   ")
        print(line, flush=True)
        return cond


# ------------------------------------------------------------ parsing
def unfold(v):
    return re.sub(r"\r?\n[ \t]+", " ", v).strip()


def split_outside(v, sep=";"):
    """Split on sep outside (comments) and "quoted strings"."""
    out, cur, depth, quote = [], "", 0, False
    for ch in v:
        if quote:
            quote = ch != '"'
        elif ch == '"':
            quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return [p for p in out if p]


def parse_ar(value):
    """RFC 8601 header value -> (authserv-id, [resinfo dicts])."""
    parts = split_outside(unfold(value))
    head = re.sub(r"\([^()]*\)", " ", parts[0]).split()
    authserv = head[0].lower() if head else ""
    results = []
    for p in parts[1:]:
        comments = re.findall(r"\(([^()]*)\)", p)
        bare = re.sub(r"\([^()]*\)", " ", p)
        toks = re.findall(r'([^\s=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)', bare)
        if not toks:
            results.append(dict(method=bare.strip().lower(), result=None, props={}, comments=comments, text=p))
            continue
        method, result = toks[0][0].lower(), toks[0][1].lower()
        props = {}
        for k, v in toks[1:]:
            props.setdefault(k.lower(), v.strip('"'))
        results.append(dict(method=method, result=result, props=props, comments=comments, text=p))
    return authserv, results


def dkim_tags(value):
    tags = {}
    for t in unfold(value).split(";"):
        k, _, v = t.partition("=")
        if k.strip():
            tags[k.strip()] = re.sub(r"\s+", "", v)
    return tags


def read_message(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    return raw, list(msg.items())


# ------------------------------------------------------------ running
class Env:
    def __init__(self, work):
        with open(os.path.join(work, "e2e.json")) as f:
            self.__dict__.update(json.load(f))
        self.work = work


def send(env, scen, tag, no_send=False):
    s = scen["send"]
    msgid = "<%s.%s.%d@e2e.example>" % (scen["name"], tag, int(time.time() * 1000))
    argv = [PY, os.path.join(HERE, "send.py"), "--port", str(env.smtp_port),
            "--host", s.get("host", "127.0.0.1"), "--xclient-addr", s["addr"], "--helo", s["helo"],
            "--mail-from", s["mail_from"], "--rcpt", RCPT, "--from", s["from_"],
            "--message-id", msgid, "--keys", env.keys,
            "--subject", "e2e %s: %s" % (scen["name"], scen["what"]),
            "--save", os.path.join(env.work, "sent", "%s.%s.eml" % (tag, scen["name"]))]
    if s.get("feedback_id"):
        argv += ["--feedback-id", s["feedback_id"]]
    for spec in s.get("sign", []):
        argv += ["--sign", spec]
    for h in s.get("header", []):
        argv += ["--header", h]
    for h in s.get("header_after_sign", []):
        argv += ["--header-after-sign", h]
    if s.get("tamper"):
        argv.append("--tamper")
    if s.get("html"):
        argv.append("--html")
    if no_send:
        argv.append("--no-send")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    reply = (p.stdout.strip().splitlines() or [p.stderr.strip() or "no reply"])[-1]
    m = re.search(r"queued as ([0-9A-Za-z]+)", reply)
    return dict(msgid=msgid, reply=reply, qid=m.group(1) if m else None, rc=p.returncode)


def delivered(env):
    """Message-ID -> path of the delivered copy in the sink."""
    out = {}
    for fn in sorted(os.listdir(env.sink_dir)):
        if not fn.endswith(".eml"):
            continue
        path = os.path.join(env.sink_dir, fn)
        _raw, hdrs = read_message(path)
        for k, v in hdrs:
            if k.lower() == "message-id":
                out[unfold(v)] = path
    return out


def wait_delivery(env, msgids, limit):
    end = time.time() + limit
    while True:
        got = delivered(env)
        if all(m in got for m in msgids) or time.time() > end:
            return got
        time.sleep(0.1)


def log_records(env):
    recs, bad = [], 0
    try:
        with open(env.alignment_log) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    bad += 1
    except OSError:
        pass
    return recs, bad


def maillog_qid(env, what, addr):
    """Queue id of the last Postfix log line with WHAT for client [ADDR]."""
    qid = None
    try:
        with open(env.maillog, errors="replace") as f:
            for line in f:
                m = re.search(r": ([0-9A-F]+): " + re.escape(what), line)
                if m and ("[%s]" % addr) in line:
                    qid = m.group(1)
    except OSError:
        pass
    return qid


def held_headers(env, qid):
    """The headers of a message in Postfix's hold queue, as postcat shows them."""
    etc = os.path.join(os.path.dirname(env.queue_dir), "etc")
    p = subprocess.run(["/usr/sbin/postcat", "-c", etc, "-h", os.path.join(env.queue_dir, "hold", qid)],
                       capture_output=True, timeout=30)
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(p.stdout, headersonly=True)
    return list(msg.items())


def milter_lines(env):
    try:
        with open(env.milter_log, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


# ------------------------------------------------------------ assertions
def check_ar(rep, name, exp, hdrs):
    ours = [(i, v) for i, (k, v) in enumerate(hdrs)
            if k.lower() == "authentication-results" and parse_ar(v)[0] == AUTHSERV]
    rep.check("contract", name, "exactly one Authentication-Results with authserv-id %s" % AUTHSERV,
              len(ours) == 1, "found %d: %r" % (len(ours), [unfold(v) for _i, v in ours]))
    if len(ours) != 1:
        return None
    idx, value = ours[0]
    rep.check("contract", name, "it is the first header (inserted at index 0, above Postfix's Received)",
              idx == 0, "at index %d; first is %s" % (idx, hdrs[0][0]))
    _, res = parse_ar(value)
    detail = "header: " + unfold(value)

    spf = [r for r in res if r["method"] == "spf"]
    if "spf" in exp:
        want, ident, dom = exp["spf"]
        ok = len(spf) == 1 and spf[0]["result"] == want
        rep.check("contract", name, "spf=%s" % want, ok, detail)
        prop = "smtp.mailfrom" if ident == "mailfrom" else "smtp.helo"
        other = "smtp.helo" if ident == "mailfrom" else "smtp.mailfrom"
        val = spf[0]["props"].get(prop, "").lower() if spf else ""
        rep.check("contract", name, "%s=%s" % (prop, dom),
                  bool(spf) and (val == dom or val.endswith("@" + dom)) and other not in spf[0]["props"],
                  detail)

    dk = [r for r in res if r["method"] == "dkim"]
    if "dkim" in exp:
        if not exp["dkim"]:
            rep.check("contract", name, "dkim=none (unsigned)",
                      len(dk) == 1 and dk[0]["result"] == "none", detail)
        else:
            rep.check("contract", name, "one dkim= result per signature (%d)" % len(exp["dkim"]),
                      len(dk) == len(exp["dkim"]), detail)
            sigs = {}
            for k, v in hdrs:
                if k.lower() == "dkim-signature":
                    t = dkim_tags(v)
                    sigs[(t.get("d", "").lower(), t.get("s", ""))] = t
            for want, d, s, alg in exp["dkim"]:
                m = [r for r in dk if r["props"].get("header.d", "").lower() == d
                     and r["props"].get("header.s") == s]
                got = m[0] if m else None
                rep.check("contract", name, "dkim=%s header.d=%s header.s=%s" % (want, d, s),
                          got is not None and got["result"] == want, detail)
                b8 = sigs.get((d, s), {}).get("b", "")[:8]
                rep.check("contract", name, "  with header.a=%s header.b=%s" % (alg, b8),
                          got is not None and got["props"].get("header.a") == alg
                          and got["props"].get("header.b") == b8 and len(b8) == 8, detail)

    dm = [r for r in res if r["method"] == "dmarc"]
    if "dmarc" in exp:
        want, p, dis, hfrom = exp["dmarc"]
        ok = len(dm) == 1 and dm[0]["result"] == want \
            and dm[0]["props"].get("header.from", "").lower() == hfrom
        rep.check("contract", name, "dmarc=%s %s" % (want, "header.from=" + hfrom if hfrom else "without header.from"),
                  ok, detail)
        if p is not None and dm:
            c = " ".join(dm[0]["comments"])
            rep.check("contract", name, "  (p=%s dis=%s)" % (p, dis),
                      re.search(r"\bp=%s\b" % p, c) is not None and re.search(r"\bdis=%s\b" % dis, c) is not None,
                      detail)
    if "dmarc_comment" in exp:
        rep.check("contract", name, "  dmarc comment (%s)" % exp["dmarc_comment"],
                  len(dm) == 1 and any(exp["dmarc_comment"] in c for c in dm[0]["comments"]), detail)
    if "policy_dmarc" in exp:   # RFC 9989 (draft-41) section 9.1
        want = exp["policy_dmarc"]
        got = dm[0]["props"].get("policy.dmarc") if len(dm) == 1 else "(no single dmarc result)"
        rep.check("contract", name, "  policy.dmarc=%s" % want if want else "  no policy.dmarc property",
                  got == want, detail)
    return value


def check_forged(rep, name, exp, hdrs):
    f = exp["forged"]
    ars = [unfold(v) for k, v in hdrs if k.lower() == "authentication-results"]
    rep.check("contract", name, "forged Authentication-Results (our authserv-id, any case) removed",
              not any(f["gone"] in v for v in ars), "\n".join(ars))
    kept = [v for v in ars if parse_ar(v)[0] == f["kept"]]
    rep.check("contract", name, "the one of authserv-id %s is kept" % f["kept"], len(kept) == 1, "\n".join(ars))


def check_unchecked(rep, name, exp, qid, hdrs, recs):
    """An IgnoreHosts client: not verified, no header or record of ours, but the forgeries go."""
    ars = [unfold(v) for k, v in hdrs if k.lower() == "authentication-results"]
    rep.check("contract", name, "no Authentication-Results of ours (unchecked client)",
              not any(parse_ar(v)[0] == AUTHSERV for v in ars), "\n".join(ars))
    rep.check("contract", name, "no alignment-log record", not any(r.get("queue_id") == qid for r in recs))
    check_forged(rep, name, exp, hdrs)


# The "dmarc" keys a scenario's log dict may state (docs/alignment-log.md).
DMARC_LOG_KEYS = ("policy", "disposition", "adkim", "aspf", "record_domain", "policy_tag", "testing",
                  "psd", "discovery", "published", "org_domain")


def check_log(rep, name, exp, qid, recs):
    mine = [r for r in recs if r.get("queue_id") == qid]
    rep.check("contract", name, "one alignment-log record with queue_id %s" % qid, len(mine) == 1,
              "%d records in the log, %d for this queue id" % (len(recs), len(mine)))
    if len(mine) != 1:
        return
    r = mine[0]
    L = exp.get("log", {})
    detail = json.dumps(r, sort_keys=True)

    def eq(desc, got, want):
        rep.check("contract", name, "log %s = %s" % (desc, json.dumps(want)), got == want, detail)

    hfrom = exp["dmarc"][3]
    eq("from_domain", r.get("from_domain"), hfrom)
    # Present exactly when the From was not one clean domain (alignment-log.md).
    if "author_domains" in L:
        eq("author_domains", r.get("author_domains"), L["author_domains"])
    else:
        rep.check("contract", name, "log author_domains absent (one clean From domain)",
                  "author_domains" not in r, detail)
    if "client_ip" in L:
        eq("client_ip", r.get("client_ip"), L["client_ip"])
    if "helo" in L:
        eq("helo", r.get("helo"), L["helo"])
    if "mail_from" in L:
        eq("mail_from", r.get("mail_from"), L["mail_from"])
    spf = r.get("spf") or {}
    eq("spf.result", spf.get("result"), exp["spf"][0])
    eq("spf.domain", (spf.get("domain") or "").lower(), exp["spf"][2])
    if "spf_aligned" in L:
        eq("spf.aligned", spf.get("aligned"), L["spf_aligned"])
    dk = r.get("dkim") or []
    eq("number of dkim entries", len(dk), len(exp["dkim"]))
    for want, d, s, alg in exp["dkim"]:
        m = [x for x in dk if (x.get("domain") or "").lower() == d and x.get("selector") == s]
        got = m[0] if m else {}
        eq("dkim[%s/%s].result" % (d, s), got.get("result"), want)
        eq("dkim[%s/%s].algorithm" % (d, s), got.get("algorithm"), alg)
        if d in L.get("dkim_aligned", {}):
            eq("dkim[%s/%s].aligned" % (d, s), got.get("aligned"), L["dkim_aligned"][d])
    dm = r.get("dmarc") or {}
    eq("dmarc.result", dm.get("result"), exp["dmarc"][0])
    for k in DMARC_LOG_KEYS:
        if k in L:
            eq("dmarc." + k, dm.get(k), L[k])
    for k in L.get("absent", []):
        rep.check("contract", name, "log dmarc.%s absent" % k, k not in dm, detail)
    if "ses" in L:
        if L["ses"] is None:
            rep.check("contract", name, "log sender is not ses", r.get("sender") != "ses", detail)
        else:
            eq("sender", r.get("sender"), "ses")
            ses = r.get("ses") or {}
            eq("ses.region", ses.get("region"), L["ses"][0])
            eq("ses.mail_from", ses.get("mail_from"), L["ses"][1])
    hints = r.get("hints")
    if not isinstance(hints, list):
        rep.check("contract", name, "log hints is a list", False, detail)
        return
    if "hints_exact" in L:
        eq("hints (as a set)", sorted(hints), sorted(L["hints_exact"]))
    for h in L.get("hints_include", []):
        rep.check("contract", name, "log hints include %s" % h, h in hints, detail)
    for h in L.get("hints_exclude", []):
        rep.check("contract", name, "log hints lack %s" % h, h not in hints, detail)


def check_verdict_line(rep, name, exp, qid, lines):
    mine = [l for l in lines if qid and qid in l]
    hfrom = exp["dmarc"][3]
    dmarc = exp["dmarc"][0]
    ok = any(hfrom in l and re.search(r"\bdmarc\W{1,3}%s\b" % dmarc, l, re.I)
             and re.search(r"\bspf\W{1,3}%s\b" % exp["spf"][0], l, re.I) for l in mine)
    rep.check("contract", name, "milter verdict line with queue id, %s, spf=%s, dmarc=%s" % (hfrom, exp["spf"][0], dmarc),
              ok, "lines with the queue id: %r" % mine)
    if ok:
        line = [l for l in mine if hfrom in l][0]
        L = exp.get("log", {})
        for h in L.get("hints_exact", []) + L.get("hints_include", []):
            rep.check("contract", name, "  verdict line names hint %s" % h, h in line, line)
        if L.get("ses"):
            rep.check("contract", name, "  verdict line names SES region %s" % L["ses"][0], L["ses"][0] in line, line)
        # "aligned" is identifier alignment, whatever the result (man alignmilter.8).
        if "spf_aligned" in L:
            want = "spf=%s (%s=%s, %s)" % (exp["spf"][0], exp["spf"][1], exp["spf"][2],
                                           "aligned" if L["spf_aligned"] else "unaligned")
            rep.check("contract", name, "  verdict line says %s" % want, want in line, line)
        for res, d, sel, _alg in exp["dkim"]:
            if d in L.get("dkim_aligned", {}):
                want = "dkim=%s (%s/%s, %s)" % (res, d, sel, "aligned" if L["dkim_aligned"][d] else "unaligned")
                rep.check("contract", name, "  verdict line says %s" % want, want in line, line)


def check_harness(rep, env, name, scen, raw, hdrs):
    s = scen["send"]
    recv = [unfold(v) for k, v in hdrs if k.lower() == "received"]
    top = recv[0] if recv else ""
    addr = ("IPv6:" + s["addr"]) if ":" in s["addr"] else s["addr"]
    rep.check("harness", name, "Postfix saw the XCLIENT client [%s] and HELO %s" % (addr, s["helo"]),
              ("[%s]" % addr) in top and top.startswith("from %s " % s["helo"]) and "by mx.e2e.example" in top, top)
    fake = [unfold(v) for k, v in hdrs if k.lower() == "x-e2e-milter"]
    if fake:   # E2E_FAKE_MILTER: what a milter is told about the session
        m = re.search(r"\bid ([0-9A-Za-z]+)\b", top)
        rep.check("harness", name, "the milter was told addr=%s helo=%s and the queue id" % (s["addr"], s["helo"]),
                  len(fake) == 1 and "addr=%s " % s["addr"] in fake[0] and "helo=%s " % s["helo"] in fake[0]
                  and m is not None and "qid=%s " % m.group(1) in fake[0], fake)
    # python3-dkim, an independent verifier, on the delivered copy.
    exp = scen["expect"].get("dkim") or []
    if exp:
        path = os.path.join(env.work, "sent", "delivered.%s.eml" % name)
        with open(path, "wb") as f:
            f.write(raw)
        p = subprocess.run([PY, os.path.join(HERE, "zones.py"), env.dns_dir, "--verify-message", path,
                            "127.0.0.1", str(env.nsd_port)], capture_output=True, text=True, timeout=60)
        got = re.findall(r"signature (\d+): (pass|fail)", p.stdout)
        sigs = [dkim_tags(v) for k, v in hdrs if k.lower() == "dkim-signature"]
        want = {(d, sl): res == "pass" for res, d, sl, _a in exp}
        ok = len(got) == len(sigs) == len(exp)
        for (i, res), t in zip(got, sigs):
            ok = ok and want.get((t.get("d"), t.get("s"))) == (res == "pass")
        rep.check("harness", name, "python3-dkim agrees on the delivered signatures (%s)" %
                  ", ".join("%s=%s" % (k[0], "pass" if v else "not pass") for k, v in want.items()),
                  ok, p.stdout + p.stderr)


def only(scens):
    """E2E_ONLY=name,name...: just those scenarios (e.g. against an older build)."""
    want = [n for n in os.environ.get("E2E_ONLY", "").split(",") if n]
    return [s for s in scens if s["name"] in want] if want else scens


def run(work, variant):
    env = Env(work)
    os.makedirs(os.path.join(work, "sent"), exist_ok=True)
    rep = Report()
    if variant == "reject":
        scens = [dict(s, expect=dict(s["expect"], **s.get("reject", {})))
                 for name in REJECT_VARIANT for s in SCENARIOS if s["name"] == name]
    else:
        scens = [s for s in SCENARIOS if variant in s.get("variants", ("normal",))]
    scens = only(scens)

    sent = {}
    for scen in scens:
        r = send(env, scen, variant)
        sent[scen["name"]] = r
        want = scen["expect"].get("reply", "250")
        rep.check("contract" if want != "250" or scen["expect"].get("held") else "harness", scen["name"],
                  "%s (%s): end-of-DATA reply %s" % (scen["what"], variant, want),
                  r["reply"].startswith(want) and r["rc"] == 0, r["reply"])
        if "reply_text" in scen["expect"]:
            rep.check("contract", scen["name"], "  the reply says \"%s\"" % scen["expect"]["reply_text"],
                      scen["expect"]["reply_text"] in r["reply"], r["reply"])

    expect_delivery = [sent[s["name"]]["msgid"] for s in scens
                       if sent[s["name"]]["reply"].startswith("250")
                       and s["expect"].get("reply", "250") == "250" and not s["expect"].get("held")]
    got = wait_delivery(env, expect_delivery, 30)
    time.sleep(0.5)   # let the milter finish its log lines
    got = delivered(env)
    recs, bad = log_records(env)
    lines = milter_lines(env)
    rep.check("contract", "alignment-log", "every line is a JSON object (%s)" % variant, bad == 0,
              "%d malformed lines" % bad)

    for scen in scens:
        name, exp, r = scen["name"], scen["expect"], sent[scen["name"]]
        want = exp.get("reply", "250")
        if want != "250":
            rep.check("contract", name, "not delivered", r["msgid"] not in got)
            # The reply carries no queue id: Postfix's log line does.
            qid = maillog_qid(env, "milter-reject: END-OF-MESSAGE", scen["send"]["addr"])
            rep.check("contract", name, "Postfix logged a milter-reject at END-OF-MESSAGE", qid is not None)
            if qid:
                check_log(rep, name, exp, qid, recs)
                check_verdict_line(rep, name, exp, qid, lines)
            continue
        if exp.get("held"):
            held = bool(r["qid"]) and os.path.exists(os.path.join(env.queue_dir, "hold", r["qid"]))
            rep.check("contract", name, "queued in Postfix's hold queue (%s)" % r["qid"], held)
            rep.check("contract", name, "Postfix logged a milter-hold",
                      maillog_qid(env, "milter-hold: END-OF-MESSAGE", scen["send"]["addr"]) == r["qid"])
            rep.check("contract", name, "not delivered", r["msgid"] not in got)
            if held and "dmarc" in exp:
                check_ar(rep, name, exp, held_headers(env, r["qid"]))
                check_log(rep, name, exp, r["qid"], recs)
                check_verdict_line(rep, name, exp, r["qid"], lines)
            continue
        if not r["reply"].startswith("250"):
            continue
        path = got.get(r["msgid"])
        rep.check("harness", name, "delivered to the sink through Postfix and the milter", path is not None,
                  "queue id %s" % r["qid"])
        if path is None:
            continue
        raw, hdrs = read_message(path)
        check_harness(rep, env, name, scen, raw, hdrs)
        if exp.get("unchecked"):
            check_unchecked(rep, name, exp, r["qid"], hdrs, recs)
            continue
        check_ar(rep, name, exp, hdrs)
        if "forged" in exp:
            check_forged(rep, name, exp, hdrs)
        check_log(rep, name, exp, r["qid"], recs)
        check_verdict_line(rep, name, exp, r["qid"], lines)

    for kind, (p, f) in rep.counts.items():
        print("# %s (%s): %d passed, %d failed" % (kind, variant, p, f))
    return rep


# ------------------------------------------------------------ offline
def offline(work):
    """Each scenario's message through "alignmilter -t" (the same pipeline,
    no MTA): the Authentication-Results and alignment-log assertions."""
    env = Env(work)
    os.makedirs(os.path.join(work, "sent"), exist_ok=True)
    rep = Report(alias={"contract": "offline"})
    for scen in only([s for s in SCENARIOS if "normal" in s.get("variants", ("normal",)) and s.get("offline", True)]):
        name, x, exp = "offline " + scen["name"], scen["send"], scen["expect"]
        send(env, scen, "offline", no_send=True)
        path = os.path.join(work, "sent", "offline.%s.eml" % scen["name"])
        argv = [env.alignmilter, "-c", env.offline_conf, "-t", path, "--ip", x["addr"],
                "--helo", x["helo"], "--mail-from", x["mail_from"] or "<>"]
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            out, rc = p.stdout, p.returncode
        except subprocess.TimeoutExpired:
            out, rc = "", "timeout"
        rep.check("contract", name, "alignmilter -t exits 0", rc == 0, "rc=%s %s" % (rc, p.stderr[-500:]))
        lines = out.splitlines()
        ar, rec = None, None
        for i, l in enumerate(lines):
            if ar is None and l.lower().startswith("authentication-results:"):
                j = i + 1
                while j < len(lines) and lines[j][:1] in (" ", "\t"):
                    j += 1
                ar = "\r\n".join(lines[i:j]).split(":", 1)[1]
            if rec is None and l.startswith("{"):
                try:
                    rec = json.loads(l)
                except ValueError:
                    pass
        hdrs = read_message(path)[1]
        if ar is not None:
            hdrs = [("Authentication-Results", ar)] + [(k, v) for k, v in hdrs
                                                       if k.lower() != "authentication-results"]
        check_ar(rep, name, exp, hdrs)
        check_log(rep, name, exp, "", [rec] if rec is not None else [])
        check_offline_fixes(rep, name, exp, p.stderr if rc == 0 else "")
    for kind, (pp, f) in rep.counts.items():
        if pp or f:
            print("# %s: %d passed, %d failed" % (kind, pp, f))
    return rep


ZONE_LINE = re.compile(r'^[A-Za-z0-9<>_.-]+\. (MX 10 [A-Za-z0-9<>.-]+\.|TXT "[^"\\]*"|CNAME [A-Za-z0-9<>_.-]+\.)$')


def check_offline_fixes(rep, name, exp, err):
    """-t prints per hint "hint NAME: words", then the records to publish as
    bare zone-file lines: nothing else, no record inside the words."""
    lines = [l for l in err.splitlines() if l]
    hints = [l.split(":", 1)[0][5:] for l in lines if l.startswith("hint ")]
    other = [l for l in lines if not l.startswith("hint ")]
    L = exp.get("log", {})
    if "hints_exact" in L:
        rep.check("contract", name, "-t names each hint on standard error", sorted(hints) == sorted(L["hints_exact"]),
                  err)
    rep.check("contract", name, "-t: every other line is a bare zone-file record",
              all(ZONE_LINE.match(l) for l in other), err)
    rep.check("contract", name, "-t: no record inside a fix's words",
              not any(re.search(r"\. (MX|TXT|CNAME) |\\\"", l) for l in lines if l.startswith("hint ")), err)
    if "ses-default-mail-from" in L.get("hints_exact", []) + L.get("hints_include", []):
        dom = exp["dmarc"][3]
        want = ["mail.%s. MX 10 feedback-smtp.%s.amazonses.com." % (dom, L["ses"][0]),
                'mail.%s. TXT "v=spf1 include:amazonses.com ~all"' % dom]
        rep.check("contract", name, "-t: the custom MAIL FROM records, each a line", all(w in other for w in want),
                  err)


# ------------------------------------------------------------ demo
DEMO = ["ses-default", "ses-custom", "strict-broken"]


def demo(work):
    env = Env(work)
    os.makedirs(os.path.join(work, "sent"), exist_ok=True)
    scens = [s for n in DEMO for s in SCENARIOS if s["name"] == n]
    sent = [(s, send(env, s, "demo")) for s in scens]
    got = wait_delivery(env, [r["msgid"] for _s, r in sent if r["reply"].startswith("250")], 20)
    time.sleep(0.5)
    recs, _bad = log_records(env)
    lines = milter_lines(env)
    for s, r in sent:
        x = s["send"]
        print("=" * 78)
        print("%s: %s" % (s["name"], s["what"]))
        print("  client %s  HELO %s  MAIL FROM <%s>" % (x["addr"], x["helo"], x["mail_from"]))
        print("  From: %s  DKIM: %s%s" % (x["from_"], ", ".join(x.get("sign", [])) or "none",
                                         "  (body modified after signing)" if x.get("tamper") else ""))
        print("  SMTP reply: %s" % r["reply"])
        path = got.get(r["msgid"])
        print("--- Authentication-Results (delivered copy):")
        if path:
            ars = [(k, v) for k, v in read_message(path)[1] if k.lower() == "authentication-results"]
            for k, v in ars:
                print("%s: %s" % (k, v.replace("\r\n", "\n")))
            if not ars:
                print("  (none: the milter added no header)")
        else:
            print("  (not delivered)")
        print("--- milter verdict line:")
        vl = [l for l in lines if r["qid"] and r["qid"] in l]
        print("\n".join(vl) if vl else "  (none)")
        print("--- alignment log record:")
        rl = [json.dumps(x, separators=(",", ":")) for x in recs if x.get("queue_id") == r["qid"]]
        print("\n".join(rl) if rl else "  (none)")
    print("=" * 78)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        rep = run(sys.argv[2], sys.argv[3])
        sys.exit(0 if all(f == 0 for _p, f in rep.counts.values()) else 1)
    if len(sys.argv) == 3 and sys.argv[1] == "offline":
        rep = offline(sys.argv[2])
        sys.exit(0 if all(f == 0 for _p, f in rep.counts.values()) else 1)
    if len(sys.argv) == 3 and sys.argv[1] == "demo":
        sys.exit(demo(sys.argv[2]))
    sys.exit(__doc__)
