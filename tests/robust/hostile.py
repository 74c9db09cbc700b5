#!/usr/bin/python3
"""hostile.py - hostile messages and hostile DNS, live through Postfix and through -t.

Owns: the robustness cases ("Hostile messages", "Hostile DNS")
and their assertions.  Each live case runs on ONE SMTP connection: the
hostile message, then a normal signed message (forged.example.org, which
must come out spf=pass dkim=pass dmarc=pass).  Asserted per case: the
end-of-DATA reply, its latency (bounded by DNSTimeout), and for each
delivered copy exactly one Authentication-Results of ours, first, with the
expected result words; the follower is checked the same way.  The -t pass
feeds the same messages (and some that are not messages at all) to
"alignmilter -t".  Reads WORK/e2e.json (tests/e2e/lib.sh) and
WORK/robust.json (tests/robust/lib.sh); writes WORK/outcomes.txt, the
"input -> what alignmilter did" table.

  hostile.py live WORK [CASE...]     the SMTP pairs (all cases by default)
  hostile.py offline WORK [CASE...]  the same messages through alignmilter -t
  hostile.py deadns WORK             -t against a nameserver that never answers
  hostile.py template WORK FILE      the signed SES-shaped message smtpload sends
  hostile.py list                    the case names
Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import dkim                      # noqa: E402  (python3-dkim)
import scenarios                 # noqa: E402  (tests/e2e: parse_ar, read_message, unfold)

CRLF = b"\r\n"
AUTHSERV = "mx.e2e.example"
RCPT = "inbox@sink.e2e.example"
CLIENT = "203.0.113.41"
HELO = "mail.forged.example.org"
NORMAL_FROM = "a@forged.example.org"
SIGN_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]


# ----------------------------------------------------------------- rig
class Env:
    def __init__(self, work):
        for f in ("e2e.json", "robust.json"):
            with open(os.path.join(work, f)) as fp:
                self.__dict__.update(json.load(fp))
        self.work = work
        self.keys_file = self.keys
        self.keys = {}
        for f in (self.keys_file, self.hkeys):
            with open(f) as fp:
                self.keys.update(json.load(fp))
        # Worst case: SPF, 5 keys, DMARC, org DMARC each waiting DNSTimeout;
        # ROBUST_SLOW multiplies it (e.g. under valgrind).
        self.bound = ((3 + 5) * self.dns_timeout + 3) * float(os.environ.get("ROBUST_SLOW", "1"))


class Report:
    def __init__(self):
        self.passed = self.failed = 0
        self.rows = []

    def check(self, name, desc, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        line = "%s - %s: %s" % ("ok" if cond else "not ok", name, desc)
        if not cond and detail:
            line += "\n#   " + str(detail).replace("\n", "\n#   ")[:3000]
        print(line, flush=True)
        return cond


# ------------------------------------------------------------- messages
def msgid(tag):
    return "<%s.%d.%d@robust.e2e.example>" % (tag, os.getpid(), int(time.time() * 1e6))


def build(headers, body=b"Hello from the robustness tests.\r\n", mid=None):
    """headers: list of (name, value) str/bytes; a Message-ID is added unless
    given (mid False: none, for smtpload's template)."""
    out = b""
    have_mid = any(n.lower() == "message-id" for n, _v in headers if isinstance(n, str))
    hs = list(headers)
    if not have_mid and mid is not False:
        hs.append(("Message-ID", mid or msgid("m")))
    for n, v in hs:
        n = n.encode() if isinstance(n, str) else n
        v = v.encode() if isinstance(v, str) else v
        out += n + b": " + v + CRLF
    return out + CRLF + body


def std_headers(from_=NORMAL_FROM, subject="robust", extra=()):
    hs = [("From", from_)] if from_ is not None else []
    hs += [("To", "<%s>" % RCPT), ("Subject", subject),
           ("Date", "Mon, 02 Mar 2026 10:00:00 +0000"), ("MIME-Version", "1.0"),
           ("Content-Type", "text/plain; charset=us-ascii")]
    return hs + list(extra)


def sign(env, msg, domain, sel, key=None, length=False, expire=None, headers=None):
    """Prepend a DKIM-Signature (relaxed/relaxed).  key: a keys.json name to borrow."""
    ent = env.keys[key or "%s._domainkey.%s" % (sel, domain)]
    with open(ent["key"], "rb") as f:
        pk = f.read()
    orig = dkim.DKIM.gen_header
    if expire is not None:
        # python3-dkim has no x=: add t= and x= (both in the past) to the fields it signs.
        def gen_header(self, fields, *a, **kw):
            fields = [(k, v) for k, v in fields if k != b"t"]
            i = [k for k, _v in fields].index(b"b")
            fields[i:i] = [(b"t", str(expire - 3600).encode()), (b"x", str(expire).encode())]
            return orig(self, fields, *a, **kw)
        dkim.DKIM.gen_header = gen_header
    try:
        sig = dkim.sign(msg, sel.encode(), domain.encode(), pk, canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=headers or SIGN_HEADERS, length=length)
    finally:
        dkim.DKIM.gen_header = orig
    return sig + msg


def normal(env, tag):
    m = build(std_headers(subject="the normal message after " + tag), mid=msgid("normal." + tag))
    return sign(env, m, "forged.example.org", "sel1")


NORMAL_WANT = dict(spf="pass", dkim=["pass"], dmarc="pass")


# ------------------------------------------------------------ the cases
#
# Each case: name, what, mail_from, make(env) -> bytes, and
#   reply    SMTP reply code prefix expected ("250")
#   want     result words in our Authentication-Results: spf, dkim (list, any
#            order; or {"result": count}), dmarc; a tuple means "one of"
#   check    optional fn(ar_text, delivered_bytes) -> (bool, description)
#   offline  False: not through -t; or a dict overriding want for -t
#   slow     True: a DNS timeout is part of the case
CASES = []


def case(**kw):
    kw.setdefault("reply", "250")
    kw.setdefault("mail_from", NORMAL_FROM)
    CASES.append(kw)


# -- hostile messages ---------------------------------------------------
case(name="no-from", what="no From header field",
     make=lambda e: build(std_headers(from_=None)),
     want=dict(spf="pass", dkim=[], dmarc="permerror"))
# RFC 7489 6.6.1 / RFC 9989 (draft-41) 5.3.1: each author domain is
# evaluated and the strictest outcome kept: bank.example.com (p=reject in
# the e2e zones) fails, which outranks forged.example.org's pass.
case(name="two-from", what="two From header fields",
     make=lambda e: sign(e, build(std_headers(extra=[("From", "evil@bank.example.com")])),
                         "forged.example.org", "sel1"),
     want=dict(spf="pass", dkim=(["pass"], ["permerror"]), dmarc="fail"))
case(name="from-no-domain", what="From: alice (no domain)",
     make=lambda e: build(std_headers(from_="alice")),
     want=dict(spf="pass", dkim=[], dmarc="permerror"))
case(name="from-empty-angle", what="From: Alice <> (empty address)",
     make=lambda e: build(std_headers(from_="Alice <>")),
     want=dict(spf="pass", dkim=[], dmarc="permerror"))
case(name="from-idn-alabel", what="From domain an IDN A-label (xn--bcher-kva.hostile.example, p=quarantine)",
     mail_from="a@xn--bcher-kva.hostile.example",
     make=lambda e: build(std_headers(from_="a@xn--bcher-kva.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc="pass"))
case(name="from-idn-utf8", what="From domain in raw UTF-8 (b\u00fccher.hostile.example), 8-bit header",
     mail_from="a@xn--bcher-kva.hostile.example",
     make=lambda e: build(std_headers(from_="Jos\u00e9 <a@b\u00fccher.hostile.example>".encode())),
     want=dict(spf="pass", dkim=[], dmarc="pass"))   # the U-label is looked up as its A-label (RFC 8616)
case(name="8bit-header", what="Latin-1 and UTF-8 bytes in a signed Subject",
     make=lambda e: sign(e, build(std_headers(subject=b"caf\xe9 \xc3\xa9t\xc3\xa9 \xff\xfe")),
                         "forged.example.org", "sel1"),
     want=dict(spf="pass", dkim=["pass"], dmarc="pass"))
case(name="nul-header", what="NUL bytes in a header value (signed)",
     make=lambda e: sign(e, build(std_headers(subject=b"before\x00after\x00")), "forged.example.org", "sel1"),
     want=dict(spf="pass", dkim=(["pass"], ["fail"]), dmarc="pass"))
def long_kept(ars, raw):
    """What Postfix delivered of the 300,000 octets: all of them (then the signature
    over X-Long passes) or, as Postfix 3.7 does with smtpd_milters set, the field
    cut at 60,000 octets (name included) for the milter and the queue file alike
    (then it must fail).  Postfix refolds the line at 998 octets on delivery."""
    h = raw.split(b"\r\n\r\n", 1)[0]
    m = re.search(rb"^X-Long:(.*?)\r\n(?=[^ \t])", h + b"\r\nX", re.S | re.M)
    n = len(re.sub(rb"\s", b"", m.group(1))) if m else 0
    dk = re.findall(r"dkim=(\w+)", " ".join(ars))
    ok = (n == 300000 and dk == ["pass"]) or (n == 60000 - len("X-Long: ") and dk == ["fail"])
    return ok, "X-Long delivered with %d of 300,000 octets, dkim=%s agrees with that" % (n, ",".join(dk))


case(name="long-header-300k", what="one 300 KB header line, signed (header_size_limit raised to 400 KB)",
     make=lambda e: sign(e, build(std_headers(extra=[("X-Long", "a" * 300000)])), "forged.example.org", "sel1",
                         headers=SIGN_HEADERS + [b"x-long"]),
     want=dict(spf="pass", dkim=(["pass"], ["fail"]), dmarc="pass"), check=long_kept,
     offline=dict(dkim=["fail"]))   # -t: a field over 256 KiB (dkim.c HDR_MAX) is not hashed
case(name="1000-headers", what="1,000 header fields",
     make=lambda e: sign(e, build(std_headers(extra=[("X-Junk-%d" % i, "value %d" % i) for i in range(1000)])),
                         "forged.example.org", "sel1"),
     want=dict(spf="pass", dkim=["pass"], dmarc="pass"))


def forty(env):
    m = build(std_headers())
    for _ in range(40):
        m = sign(env, m, "forged.example.org", "sel1")
    return m


case(name="40-signatures", what="40 valid DKIM-Signature fields (MaximumSignatures 5)",
     make=forty, want=dict(spf="pass", dkim={"pass": 5, "neutral": 35}, dmarc="pass"))


def forty_dead(env):
    m = sign(env, build(std_headers()), "forged.example.org", "sel1")
    for i in range(40):
        m = sign(env, m, "blackhole.dyn.hostile.example", "s%d" % i, key="sel1._domainkey.forged.example.org")
    return m


case(name="40-signatures-dead-dns", what="40 signatures whose keys sit behind a silent nameserver, then a good one",
     make=forty_dead, slow=True,
     want=dict(spf="pass", dkim=lambda r: len(r) == 41 and r.count("pass") <= 1 and
               all(x in ("pass", "temperror", "neutral") for x in r),
               dmarc=("pass", "fail")))


def malformed(env):
    m = build(std_headers())
    m = sign(env, m, "forged.example.org", "sel1")
    bad = [b"v=1; a=rsa-sha256; d=; s==;; b=!!!; bh=",
           b"v=2; a=rsa-sha256; d=forged.example.org; s=sel1; h=from; bh=AAAA; b=AAAA",
           b"v=1; a=rsa-sha256; d=forged.example.org; s=sel1; h=subject; bh=AAAA; b=AAAA",
           b"v=1; a=rsa-md5; d=forged.example.org; d=evil.example; s=sel1; h=from; bh=AAAA; b=AAAA",
           b"v=1; a=rsa-sha256; c=weird/strange; d=forged.example.org; s=sel1; h=from; l=-5; bh=AAAA; b=AAAA",
           b"\x01\x02 ;;;; = = ; \xff",
           b"v=1; a=rsa-sha256; d=forged.example.org; s=" + b"s" * 300 + b"; h=from; bh=AAAA; b=AAAA",
           b"v=1; a=rsa-sha256; d=..; s=sel1; h=from; q=dns/txt; t=abc; x=def; bh=AAAA; b=AAAA"]
    return b"".join(b"DKIM-Signature: " + b + CRLF for b in bad) + m


case(name="dkim-malformed", what="8 malformed DKIM-Signature fields (empty d=, v=2, no From in h=, "
     "md5, l=-5, binary, 300-octet selector, t=abc) above a good one",
     make=malformed,
     want=dict(spf="pass", dkim=lambda r: len(r) == 9 and r.count("pass") == 1 and
               all(x in ("pass", "neutral", "permerror") for x in r), dmarc="pass"))


def with_l(env):
    m = sign(env, build(std_headers()), "forged.example.org", "sel1", length=True)
    return m + b"APPENDED AFTER SIGNING: click http://evil.example/\r\n"


case(name="dkim-l-tag", what="l= signature, text appended after signing",
     make=with_l, want=dict(spf="pass", dkim=(["pass"], ["fail"], ["policy"], ["neutral"]), dmarc=("pass",)))
case(name="dkim-x-expired", what="x= in the past (signature expired)",
     make=lambda e: sign(e, build(std_headers()), "forged.example.org", "sel1",
                         expire=int(time.time()) - 86400),
     want=dict(spf="pass", dkim=(["fail"], ["permerror"], ["neutral"], ["policy"]), dmarc="pass"))


def body25(env):
    line = b"0123456789 the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
    body = line * (25 * 1024 * 1024 // len(line))
    return sign(env, build(std_headers(), body=body), "forged.example.org", "sel1")


case(name="body-25mb", what="a 25 MB body (message_size_limit raised to 40 MB), signed",
     make=body25, want=dict(spf="pass", dkim=["pass"], dmarc="pass"))


def bare_lf(env):
    m = sign(env, build(std_headers(), body=b"line one\r\nline two\r\n\r\nlast\r\n"), "forged.example.org", "sel1")
    return m.replace(CRLF, b"\n")


case(name="bare-lf", what="every line ends in a bare LF (signed as CRLF)",
     make=bare_lf, want=dict(spf="pass", dkim=["pass"], dmarc="pass"))

FORGED_AR = [
    "(comment) MX.E2E.EXAMPLE (another) ; dkim=pass header.d=bank.example.com",
    "\"mx.e2e.example\"; spf=pass smtp.mailfrom=bank.example.com",
    "mx.e2e.example;spf=pass smtp.mailfrom=bank.example.com",
    "\r\n\tmx.e2e.example\r\n\t; dmarc=pass header.from=bank.example.com",
    "   mX.e2E.ExAmPlE    1   ;   dkim = pass header.d=bank.example.com",
    "mx.e2e.example(no space before comment); spf=pass smtp.mailfrom=bank.example.com",
    "mx.e2e.example",
]
FORGED_KEEP = ["other.example; spf=pass smtp.mailfrom=other.example",
               "mx.e2e.example.evil; spf=pass smtp.mailfrom=other.example"]


def forged_ar(env):
    m = sign(env, build(std_headers()), "forged.example.org", "sel1")
    hs = [("Authentication-Results", v) for v in FORGED_AR + FORGED_KEEP]
    return b"".join(("%s:%s%s" % (n, "" if v.startswith(("\r", "(")) else " ", v)).encode() + CRLF
                    for n, v in hs) + m


def forged_check(ar_all, _raw):
    bad = [v for v in ar_all if "bank.example.com" in v]
    kept = [v for v in ar_all if "other.example" in v]
    return (not bad and len(kept) == 2,
            "forgeries left: %d (want 0), others kept: %d (want 2)" % (len(bad), len(kept)))


case(name="forged-ar-odd", what="7 forged Authentication-Results (comments, case, quotes, folds, no space, "
     "no results) and 2 of others",
     make=forged_ar, want=dict(spf="pass", dkim=["pass"], dmarc="pass"), check=forged_check)
case(name="truncated-in-header", what="message ends inside a header field (no body, no final CRLF)",
     make=lambda e: b"From: a@forged.example.org\r\nTo: <inbox@sink.e2e.example>\r\nMessage-ID: "
     + msgid("trunc").encode() + b"\r\nSubject: this header is cut sho",
     want=dict(spf="pass", dkim=[], dmarc="pass"))

# -- hostile DNS ----------------------------------------------------------
case(name="spf-include-loop", what="SPF include loop (loop -> loop2 -> loop)",
     mail_from="a@loop.hostile.example",
     make=lambda e: sign(e, build(std_headers()), "forged.example.org", "sel1"),
     want=dict(spf="permerror", dkim=["pass"], dmarc="pass"))
case(name="spf-11-lookups", what="SPF record with 11 DNS mechanisms before the match",
     mail_from="a@many.hostile.example",
     make=lambda e: build(std_headers()), want=dict(spf="permerror", dkim=[], dmarc="fail"))
case(name="spf-10-lookups", what="SPF record with exactly 10 DNS mechanisms (allowed)",
     mail_from="a@ten.hostile.example",
     make=lambda e: build(std_headers()), want=dict(spf="pass", dkim=[], dmarc="fail"))
case(name="spf-void-storm", what="SPF record with 9 void a: lookups before the match (RFC 7208 4.6.4 limit 2)",
     mail_from="a@void.hostile.example",
     make=lambda e: build(std_headers()), want=dict(spf="permerror", dkim=[], dmarc="fail"))
case(name="dmarc-garbage-tags", what="_dmarc: p=reject among unknown, empty and broken tags; unaligned",
     mail_from="bounce@forwarder.example.org",
     make=lambda e: build(std_headers(from_="a@garbage.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc="fail"),
     check=lambda ars, raw: (re.search(r"dmarc=fail \(p=reject dis=reject\)", " ".join(ars)) is not None,
                             "p=reject must survive the garbage"))
case(name="dmarc-invalid-p", what="_dmarc: p=maybe, sp=perhaps, pct=abc (no valid p, no rua)",
     mail_from="bounce@forwarder.example.org",
     make=lambda e: build(std_headers(from_="a@garbage2.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc=("none", "permerror")))
case(name="dkim-key-good", what="control: RSA 2048 key of keys.hostile.example (p=reject), SPF unaligned",
     mail_from="bounce@forwarder.example.org",
     make=lambda e: sign(e, build(std_headers(from_="a@keys.hostile.example")), "keys.hostile.example", "good"),
     want=dict(spf="pass", dkim=["pass"], dmarc="pass"))
case(name="dkim-key-revoked", what="DKIM key record with empty p= (revoked)",
     mail_from="bounce@forwarder.example.org",
     make=lambda e: sign(e, build(std_headers(from_="a@keys.hostile.example")), "keys.hostile.example", "revoked"),
     want=dict(spf="pass", dkim=(["fail"], ["permerror"], ["policy"]), dmarc="fail"))
case(name="dkim-key-512", what="RSA 512-bit key (RFC 8301: must not pass)",
     mail_from="bounce@forwarder.example.org",
     make=lambda e: sign(e, build(std_headers(from_="a@keys.hostile.example")), "keys.hostile.example", "weak"),
     want=dict(spf="pass", dkim=(["policy"], ["fail"], ["permerror"], ["neutral"]), dmarc="fail"))
case(name="dns-silent-spf", what="the SPF record's nameserver never answers",
     mail_from="a@blackhole.dyn.hostile.example", slow=True,
     make=lambda e: sign(e, build(std_headers()), "forged.example.org", "sel1"),
     want=dict(spf="temperror", dkim=["pass"], dmarc="pass"))
case(name="dns-silent-all", what="SPF, DKIM key and DMARC all behind a nameserver that never answers",
     mail_from="a@blackhole.dyn.hostile.example", slow=True,
     make=lambda e: sign(e, build(std_headers(from_="a@blackhole.dyn.hostile.example")),
                         "blackhole.dyn.hostile.example", "s1", key="sel1._domainkey.forged.example.org"),
     want=dict(spf="temperror", dkim=["temperror"], dmarc="temperror"))
case(name="dns-servfail-all", what="SPF, DKIM key and DMARC all answer SERVFAIL",
     mail_from="a@servfail.dyn.hostile.example",
     make=lambda e: sign(e, build(std_headers(from_="a@servfail.dyn.hostile.example")),
                         "servfail.dyn.hostile.example", "s1", key="sel1._domainkey.forged.example.org"),
     want=dict(spf="temperror", dkim=["temperror"], dmarc="temperror"))
case(name="dns-truncated", what="SPF TXT answered TC=1 over UDP, in full over TCP",
     mail_from="a@tc.dyn.hostile.example",
     make=lambda e: build(std_headers(from_="a@tc.dyn.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc="none"),
     dnslog=[r"^udp tc\.dyn\.hostile\.example 16 -> .*TC$", r"^tcp tc\.dyn\.hostile\.example 16 -> rcode 0, 1 RR"])
case(name="dns-50-strings", what="SPF TXT record of 50 character-strings",
     mail_from="a@spf50.dyn.hostile.example",
     make=lambda e: build(std_headers(from_="a@spf50.dyn.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc="none"))
case(name="dns-50-records", what="50 TXT records at the SPF name, one of them v=spf1",
     mail_from="a@rr50.dyn.hostile.example",
     make=lambda e: build(std_headers(from_="a@rr50.dyn.hostile.example")),
     want=dict(spf="pass", dkim=[], dmarc="none"))


# ------------------------------------------------------------ SMTP client
class SMTP:
    """A byte-exact SMTP client: what is sent is exactly what the test built."""

    def __init__(self, port, timeout=300):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(timeout)
        self.buf = b""
        self.reply()

    def line(self):
        while CRLF not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise OSError("connection closed")
            self.buf += d
        ln, self.buf = self.buf.split(CRLF, 1)
        return ln.decode("utf-8", "replace")

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return int(lines[0][:3]), " ".join(lines)

    def cmd(self, text):
        self.s.sendall(text.encode() + CRLF)
        return self.reply()

    def hello(self, client=CLIENT, helo=HELO):
        self.cmd("EHLO client.robust.example")
        code, text = self.cmd("XCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s" % (client, helo))
        if code != 220:
            raise OSError("XCLIENT: " + text)
        self.cmd("EHLO " + helo)

    def send(self, mail_from, msg, rcpt=RCPT):
        """(reply text, seconds from the final dot to the reply)."""
        for c in ("MAIL FROM:<%s>" % mail_from, "RCPT TO:<%s>" % rcpt):
            code, text = self.cmd(c)
            if code // 100 != 2:
                return text, 0.0
        code, text = self.cmd("DATA")
        if code != 354:
            return text, 0.0
        nl = b"\n" if CRLF not in msg[:200] else CRLF
        lines = msg.split(nl)
        if lines and lines[-1] == b"":
            lines.pop()
        data = nl.join((b"." + ln) if ln.startswith(b".") else ln for ln in lines) + nl
        if nl == b"\n" and not data.endswith(b"\n"):
            data += b"\n"
        self.s.sendall(data)
        t0 = time.time()
        self.s.sendall(b".\r\n")
        code, text = self.reply()
        return text, time.time() - t0

    def close(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.s.close()


# ------------------------------------------------------------ checking
def read_message(path):
    """scenarios.read_message, with 8-bit values as text (compat32 gives Header objects)."""
    raw, hdrs = scenarios.read_message(path)
    return raw, [(k, v if isinstance(v, str) else str(v)) for k, v in hdrs]


def ours(hdrs):
    return [(i, v) for i, (k, v) in enumerate(hdrs)
            if k.lower() == "authentication-results" and scenarios.parse_ar(v)[0] == AUTHSERV]


def results(ar_value):
    _id, res = scenarios.parse_ar(ar_value)
    out = {"spf": [], "dkim": [], "dmarc": []}
    for r in res:
        if r["method"] in out:
            out[r["method"]].append(r["result"])
    return out


def match(want, got):
    """want (str/list/tuple of alternatives/dict of counts/callable) vs got list."""
    if callable(want):
        return want(got)
    if isinstance(want, dict):
        return sorted(got) == sorted(k for k, n in want.items() for _ in range(n))
    if isinstance(want, tuple):
        return any(match(w, got) for w in want)
    if isinstance(want, list):
        if not want:
            return got == ["none"]
        return sorted(got) == sorted(want)
    return got == [want]


def check_ar(rep, name, want, value, hdrs_all, extra=None, raw=b""):
    res = results(value)
    ok = all(match(want[k], res[k]) for k in ("spf", "dkim", "dmarc") if k in want)
    rep.check(name, "result words %s" % summary(res), ok,
              "want %r; header: %s" % ({k: v for k, v in want.items() if not callable(v)},
                                       scenarios.unfold(value)))
    if extra:
        cond, desc = extra([scenarios.unfold(v) for k, v in hdrs_all if k.lower() == "authentication-results"], raw)
        rep.check(name, desc, cond)


def summary(res):
    d = res["dkim"]
    if len(d) > 3:
        from collections import Counter
        dk = "dkim=" + "+".join("%s*%d" % (k, n) for k, n in sorted(Counter(d).items()))
    else:
        dk = " ".join("dkim=%s" % x for x in d)
    return "spf=%s %s dmarc=%s" % (",".join(res["spf"]), dk, ",".join(res["dmarc"]))


def delivered_by_id(env):
    return scenarios.delivered(scenarios.Env(env.work))


def wait_for(env, ids, limit):
    end = time.time() + limit
    while True:
        got = delivered_by_id(env)
        if all(i in got for i in ids) or time.time() > end:
            return got
        time.sleep(0.2)


def read_msgid(msg):
    m = re.search(rb"^Message-ID:\s*(<[^>\r\n]*>)", msg, re.I | re.M)
    return m.group(1).decode() if m else None


# ------------------------------------------------------------ live
def live(work, names):
    env = Env(work)
    rep = Report()
    cases = [c for c in CASES if not names or c["name"] in names]
    sent = []
    for c in cases:
        t0 = time.time()
        msg = c["make"](env)
        build_s = time.time() - t0
        mid = read_msgid(msg)
        nmsg = normal(env, c["name"])
        nmid = read_msgid(nmsg)
        try:
            s = SMTP(env.smtp_port)
            s.hello()
            r1, lat1 = s.send(c["mail_from"], msg)
            r2, lat2 = s.send(NORMAL_FROM, nmsg)
            s.close()
        except OSError as e:
            r1, lat1, r2, lat2 = "error: %s" % e, 0, "not sent", 0
        rep.check(c["name"], "%s: reply %s... (%.2f s; %d octets)" % (c["what"], c["reply"], lat1, len(msg)),
                  r1.startswith(c["reply"]), r1)
        rep.check(c["name"], "end of DATA within %d s (DNSTimeout %d)" % (env.bound, env.dns_timeout),
                  lat1 <= env.bound, "%.2f s" % lat1)
        rep.check(c["name"], "then the normal message on the same connection: 250 (%.2f s)" % lat2,
                  r2.startswith("250"), r2)
        sent.append(dict(case=c, mid=mid, nmid=nmid, r1=r1, r2=r2, lat1=lat1, lat2=lat2, size=len(msg),
                         build=build_s))
    ids = [x["mid"] for x in sent if x["r1"].startswith("250") and x["mid"]] + \
          [x["nmid"] for x in sent if x["r2"].startswith("250")]
    got = wait_for(env, ids, 60)
    rows = []
    for x in sent:
        c = x["case"]
        name = c["name"]
        outcome = x["r1"][:60]
        if x["r1"].startswith("250"):
            path = got.get(x["mid"]) if x["mid"] else None
            if x["mid"] is None:
                # No Message-ID survived (e.g. truncated): find it by the follower's sink order.
                path = None
            rep.check(name, "delivered", path is not None or x["mid"] is None, x["mid"])
            if path is not None:
                raw, hdrs = read_message(path)
                mine = ours(hdrs)
                rep.check(name, "exactly one Authentication-Results of ours, first",
                          len(mine) == 1 and mine[0][0] == 0,
                          [scenarios.unfold(v)[:300] for _i, v in mine])
                if len(mine) == 1:
                    check_ar(rep, name, c["want"], mine[0][1], hdrs, c.get("check"), raw)
                    outcome = "%s; %s" % (x["r1"][:3], summary(results(mine[0][1])))
        npath = got.get(x["nmid"])
        rep.check(name, "normal follower delivered", npath is not None, x["nmid"])
        if npath is not None:
            _raw, hdrs = read_message(npath)
            mine = ours(hdrs)
            rep.check(name, "normal follower: one Authentication-Results of ours", len(mine) == 1)
            if len(mine) == 1:
                check_ar(rep, name + " (follower)", NORMAL_WANT, mine[0][1], hdrs)
        if c.get("dnslog"):
            with open(env.dnsfront_log, errors="replace") as f:
                dl = f.read()
            for rx in c["dnslog"]:
                rep.check(name, "DNS front logged /%s/" % rx, re.search(rx, dl, re.M) is not None)
        rows.append("| %s | %s | %s | %.2f s |" % (name, c["what"], outcome, x["lat1"]))
    with open(os.path.join(work, "outcomes-live.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("# hostile live: %d passed, %d failed" % (rep.passed, rep.failed))
    return rep


# ------------------------------------------------------------ load template
def template(work, out):
    """An SES-shaped message for smtpload: Easy DKIM + amazonses.com signatures,
    no Message-ID (smtpload prepends one, outside the signed fields)."""
    env = Env(work)
    sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
    import send as e2esend
    body = ("Hello from the soak test.\r\n\r\n" + e2esend.html_body(4000)).encode()
    hs = std_headers(from_="Shop <news@ses-default.example.com>", subject="robust soak",
                     extra=[("Feedback-ID", "1.us-east-1.c29hawo=:AmazonSES")])
    m = build(hs, body=body, mid=False)
    for d, s_ in (("ses-default.example.com", "sesdefault1tok"), ("amazonses.com", "224i4yxa")):
        m = sign(env, m, d, s_, headers=[h for h in SIGN_HEADERS if h != b"message-id"] + [b"feedback-id"])
    with open(out, "wb") as f:
        f.write(m)


# ------------------------------------------------------------ offline (-t)
NOT_MESSAGES = [
    ("empty-file", b""),
    ("only-body", b"\r\n\r\nno header at all\r\n"),
    ("binary", bytes(range(256)) * 8),
    ("header-no-colon", b"this is not a header\r\nFrom: a@forged.example.org\r\n\r\nbody\r\n"),
    ("cut-in-name", b"From: a@forged.example.org\r\nSubj"),
]


def run_t(env, path, mail_from, conf=None, timeout=120):
    argv = [env.alignmilter, "-c", conf or env.offline_conf, "-t", path, "--ip", CLIENT,
            "--helo", HELO, "--mail-from", mail_from or "<>"]
    t0 = time.time()
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
        rc, out, err = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    return rc, out, err, time.time() - t0


def ar_of(out):
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l.lower().startswith("authentication-results:"):
            j = i + 1
            while j < len(lines) and lines[j][:1] in (" ", "\t"):
                j += 1
            return "\r\n".join(lines[i:j]).split(":", 1)[1]
    return None


def offline(work, names):
    env = Env(work)
    rep = Report()
    d = os.path.join(work, "robust-t")
    os.makedirs(d, exist_ok=True)
    rows = []
    for c in [c for c in CASES if (not names or c["name"] in names) and c.get("offline", True) is not False]:
        name = "-t " + c["name"]
        path = os.path.join(d, c["name"] + ".eml")
        with open(path, "wb") as f:
            f.write(c["make"](env))
        rc, out, err, secs = run_t(env, path, c["mail_from"])
        ar = ar_of(out)
        rep.check(name, "%s: exit 0 with an Authentication-Results (%.2f s)" % (c["what"], secs),
                  rc == 0 and ar is not None, "rc=%s %s" % (rc, err[-400:]))
        rep.check(name, "within %d s" % env.bound, secs <= env.bound, "%.2f s" % secs)
        rep.check(name, "no sanitizer report", "Sanitizer" not in err and "runtime error" not in err, err[-800:])
        if ar is not None:
            want = dict(c["want"], **(c.get("offline") or {}))
            check_ar(rep, name, want, ar, [("Authentication-Results", ar)])
            rows.append("| %s | %s | exit %s; %s | %.2f s |" % (c["name"], c["what"], rc, summary(results(ar)), secs))
    for nm, data in NOT_MESSAGES:
        name = "-t " + nm
        path = os.path.join(d, nm + ".eml")
        with open(path, "wb") as f:
            f.write(data)
        rc, out, err, secs = run_t(env, path, NORMAL_FROM)
        ar = ar_of(out)
        defined = (rc == 1 and "not an RFC 5322 message" in err) or (rc == 0 and ar is not None)
        rep.check(name, "not a message (%d octets): exit 1 'not an RFC 5322 message' or a verdict; got exit %s"
                  % (len(data), rc), defined, err[-400:])
        rep.check(name, "no sanitizer report", "Sanitizer" not in err and "runtime error" not in err, err[-800:])
        rows.append("| -t %s | %d octets | exit %s: %s | %.2f s |" % (nm, len(data), rc,
                    (err.strip().splitlines() or [summary(results(ar)) if ar else ""])[-1][:90], secs))
    with open(os.path.join(work, "outcomes-offline.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("# hostile -t: %d passed, %d failed" % (rep.passed, rep.failed))
    return rep


def deadns(work):
    """-t against a nameserver that never answers: every check temperror, bounded time."""
    env = Env(work)
    rep = Report()
    port = int(subprocess.run([scenarios.PY, os.path.join(HERE, "..", "dns", "dnsutil.py"), "freeport"],
                              capture_output=True, text=True).stdout.strip())
    logf = os.path.join(work, "dnsfront-silent.log")
    p = subprocess.Popen([scenarios.PY, env.dnsfront, str(port), logf, "--silent"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        conf = os.path.join(work, "silent.conf")
        with open(conf, "w") as f:
            f.write("AuthservID %s\nNameservers 127.0.0.1@%d\nDNSTimeout %d\nSyslog no\n"
                    % (AUTHSERV, port, env.dns_timeout))
        path = os.path.join(work, "robust-t", "deadns.eml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(sign(env, sign(env, build(std_headers()), "forged.example.org", "sel1"),
                         "amazonses.com", "224i4yxa"))
        rc, out, err, secs = run_t(env, path, NORMAL_FROM, conf=conf)
        ar = ar_of(out)
        rep.check("dead-nameserver", "-t with a nameserver that never answers: exit 0 (%.2f s)" % secs,
                  rc == 0 and ar is not None, err[-400:])
        rep.check("dead-nameserver", "whole message within %d s (DNSTimeout %d)" % (env.bound, env.dns_timeout),
                  secs <= env.bound, "%.2f s" % secs)
        if ar is not None:
            check_ar(rep, "dead-nameserver", dict(spf="temperror", dkim=["temperror", "temperror"],
                                                  dmarc="temperror"), ar, [])
        with open(os.path.join(work, "outcomes-deadns.txt"), "w") as f:
            f.write("| dead-nameserver | every query unanswered (-t, 2 signatures) | exit %s; %s | %.2f s |\n"
                    % (rc, summary(results(ar)) if ar else "-", secs))
    finally:
        p.terminate()
        p.wait()
    print("# dead nameserver: %d passed, %d failed" % (rep.passed, rep.failed))
    return rep


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "live":
        r = live(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "offline":
        r = offline(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "deadns":
        r = deadns(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "template":
        template(sys.argv[2], sys.argv[3])
        sys.exit(0)
    elif len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join("%-24s %s" % (c["name"], c["what"]) for c in CASES))
        sys.exit(0)
    else:
        sys.exit(__doc__)
    sys.exit(0 if r.failed == 0 else 1)
