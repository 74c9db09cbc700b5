#!/usr/bin/python3
"""make-seeds.py - (re)generate the seed corpora of tests/fuzz/corpus/.

Run from anywhere with Debian's python3 (python3-yaml):
    /usr/bin/python3 tests/fuzz/make-seeds.py [TESTDATA_DIR]
TESTDATA_DIR defaults to tests/vectors in this tree.  Seeds are
small and meaningful: real config lines, Authentication-Results values,
messages of the DKIM/DMARC vectors, From values of the DMARC tables, SPF
records of the openspf RFC 7208 suite, the CVE-2023-42118 trigger, and
milter byte streams of a Postfix conversation (with malformed variants).
The corpus is committed; this script documents where it came from.
"""
import glob
import hashlib
import os
import re
import shutil
import struct
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
TD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "tests", "vectors")
CORPUS = os.path.join(HERE, "corpus")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header_values(raw, want):
    """Unfolded-as-received values of header fields named want."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    out, cur = [], None
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur += line
            continue
        if cur is not None:
            out.append(cur)
            cur = None
        if line.lower().startswith(want.lower() + b":"):
            cur = line[len(want) + 1:]
    if cur is not None:
        out.append(cur)
    return [v.rstrip(b"\r\n") for v in out]


# ---- conf --------------------------------------------------------------------
def seeds_conf():
    shutil.copy(os.path.join(TOP, "conf", "alignmilter.conf"), os.path.join(CORPUS, "conf", "alignmilter.conf"))
    lines = [
        "Socket unix:/run/alignmilter/alignmilter.sock", "Socket inet:8891@127.0.0.1",
        "Socket inet6:8891@[::1]", "Socket local:/tmp/x.sock", "Socket inet:99999@host",
        "SocketMode 0660", "SocketMode 0666", "SocketMode 9", "AuthservID mx.example.net",
        "AuthservID mx;evil", "Nameservers 127.0.0.1@5353,::1", "Nameservers 300.1.1.1",
        "DNSTimeout 5", "DNSTimeout 0", "DNSTimeout 99999999999999999999",
        "AlignmentLog /var/log/alignmilter/alignment.jsonl", "AlignmentLog none",
        "AlignmentLog relative", "AlignmentLogMode 0640",
        "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat",
        "IgnoreHosts 127.0.0.1,::1,10.0.0.0/8,2001:db8::/32", "IgnoreHosts none",
        "IgnoreHosts 10.0.0.0/33", "RejectFailures yes", "RejectFailures maybe",
        "Syslog no", "SyslogFacility local7", "SyslogFacility kern", "UserID alignmilter:mail",
        "UserID a:b:c", "MaximumSignatures 5", "MaximumSignatures 51", "PidFile /run/alignmilter.pid",
        "UnknownKey value", "Socket", "  # only a comment", "dnstimeout 7 # trailing comment",
        "MaxConnections auto", "MaxConnections 4096", "MaxConnections 4097", "MaxConnections 0",
    ]
    for l in lines:
        put("conf", l + "\n")
    put("conf", "Socket inet:8891@127.0.0.1\r\nDNSTimeout 3\r\n")
    put("conf", "DNSTimeout 3\0garbage\nSyslog yes\n")
    put("conf", "AuthservID " + "a" * 5000 + "\nSyslog yes\n")
    put("conf", "AuthservID mx.example.net")          # no final newline


# ---- authres -----------------------------------------------------------------
def seeds_authres():
    vals = [
        " mx.example.net; spf=pass smtp.mailfrom=example.com",
        " mx.example.net;\r\n\tdkim=pass header.d=example.com",
        "mx.example.net;spf=none", " MX.Example.NET ; dmarc=pass", " (comment) mx.example.net; none",
        " (nested (comment)) mx.example.net 1; none", ' "mx.example.net"; none',
        ' "mx.exa\\"mple.net" ; none', " mx.example.net\0forged; none", " \r\n\tmx.example.net; none",
        " (unterminated mx.example.net; none", " ; none", "", " ", " mx.example.net(x); none",
        ' "' + "a" * 300 + '"; none', " " + "b" * 300 + "; none",
    ]
    for v in vals:
        put("authres", v)
    for f in sorted(glob.glob(os.path.join(TD, "dkim", "*", "**", "*.*"), recursive=True)):
        try:
            raw = open(f, "rb").read()
        except (IsADirectoryError, PermissionError):
            continue
        for v in header_values(raw, b"Authentication-Results")[:2]:
            put("authres", v)


# ---- message -------------------------------------------------------------------
def seeds_message():
    files = sorted(glob.glob(os.path.join(TD, "dkim", "opendkim-milter", "messages", "*.eml")))
    files += sorted(glob.glob(os.path.join(TD, "dmarc", "opendmarc", "milter", "messages", "*.eml")))
    files += [os.path.join(TD, "dkim", "dkimpy", n) for n in
              ("test.message", "test_nofrom.message", "message.mbox", "rfc6376.signed.msg",
               "ed25519test.msg", "test_extra.message")]
    files += sorted(glob.glob(os.path.join(TD, "dkim", "mail-dkim", "corpus", "good_*.txt")))[:6]
    files += sorted(glob.glob(os.path.join(TD, "dkim", "mail-dkim", "corpus", "bad*.txt")))[:4]
    for f in files:
        if os.path.isfile(f):
            put("message", open(f, "rb").read()[:16384], os.path.basename(f))
    put("message", "From: a@example.com\nSubject: bare LF\n\nbody\n", "bare-lf")
    put("message", "From: a@example.com\r\nSubject: folded\r\n\tvalue\r\n\r\nbody\r\n", "crlf-fold")
    put("message", "From sender@example.com Mon Jan  1 00:00:00 2024\nFrom : a@example.com\n\n", "mbox-obs-from")
    put("message", "From: a@example.com\nSubject: ends in the head", "ends-in-header")
    put("message", "From: a@example.com\nX-Fuzz-Stop: now\nSubject: x\n\n", "callback-stop")
    put("message", "Received: x\n\tcontinued\nFrom: <a@b.example>\nFeedback-ID: 1.us-east-1.abc=:AmazonSES\n"
        "Authentication-Results: mx.example.net; spf=pass\n\nbody", "ses-fields")
    put("message", " leading continuation\nFrom: a@b.example\n\n", "leading-wsp")
    put("message", "From: a@b.example\nBad Header\n\n", "bad-line")
    put("message", "From: a\0b@example.com\nSubject: \x80\xff\n\n", "nul-8bit")


# ---- from ------------------------------------------------------------------------
def seeds_from():
    for line in open(os.path.join(TD, "dmarc", "opendmarc", "finddomain.tsv"), encoding="utf-8"):
        if line.startswith("#") or "\t" not in line:
            continue
        put("from", line.split("\t")[1])
    for line in open(os.path.join(TD, "dmarc", "mail-dmarc", "from_domain.tsv"), encoding="utf-8"):
        m = re.match(r"^\[(.*)\]\t", line)
        if m:
            put("from", m.group(1))
    for f in glob.glob(os.path.join(TD, "dmarc", "opendmarc", "milter", "messages", "*.eml")):
        for v in header_values(open(f, "rb").read(), b"From"):
            put("from", v)
    vals = [
        " Joe <joe@EXAMPLE.COM.>", " joe@[192.0.2.1]", " group: a@example.com, b@example.org;",
        " undisclosed-recipients:;", " <@route.example,@other.example:joe@example.com>",
        " joe@b\xfccher.example", " joe@xn--bcher-kva.example", " \"quoted@fake.example\" <real@example.com>",
        " joe@example.com (comment (nested))", " joe@ example . com", " joe@example..com",
        " joe@" + "a" * 64 + ".example", " joe@" + ("a" * 60 + ".") * 5 + "com", " <>", " joe",
        " a@b@c.example", " joe@example.com\r\n\t(folded comment)", " joe@exa\0mple.com",
        " \"unterminated@example.com", " (" * 100 + "joe@example.com",
    ]
    for v in vals:
        put("from", v)
    # Issue 16: a malformed From must not hide an author domain (the lenient
    # reader, am_from_authors_add); NUL separates the From fields of one message.
    for v in [" PayPal, Inc. <service@paypal.example>", " <service@paypal.example> (PayPal",
              " a@attacker.example, b@paypal.example", " a@attacker.example\0 Service <service@paypal.example>",
              " undisclosed", " \"PayPal <service@paypal.example>", " PayPal <service@paypal.example",
              " a@1.example, b@2.example, c@3.example, d@4.example, e@5.example, f@6.example",
              " <@relay.example:service@paypal.example>, x@[192.0.2.1]", " a@x.example\0\0 b@X.Example.\0(c@y.example"]:
        put("from", v)


# ---- hints -------------------------------------------------------------------------
def seeds_hints():
    def s(x):                       # a raw string field
        x = x.encode()
        return bytes([len(x)]) + x

    def d(i):                       # a dictionary pick (see fuzz_hints.c)
        return bytes([0x80 | i])

    ses_default = (struct.pack(">I", 1764219600) + s("4Fx1") + s("54.240.8.1") + d(6) + d(1)
                   + b"\x00" + d(0)                                  # from OK, example.com
                   + bytes([2]) + d(6) + d(0) + d(0)                 # spf pass us-east-1.amazonses.com
                   + bytes([2, 2])                                   # 2 sigs
                   + bytes([1 | 0x08 | 0x40]) + d(0) + d(0) + d(0) + s("AbCdEfGh") + b"\x40" + d(0)
                   + bytes([1 | 0x08]) + d(5) + d(1) + d(0) + s("XyZ01234") + b"\x40" + d(0)
                   + bytes([1 | 0x08 | 0x80]) + bytes([1]) + bytes([100]) + d(0) + d(0) + d(0)
                   + b"\x01" + d(1) + s("") + b"\x00")
    put("hints", ses_default, "ses-default-mail-from")
    put("hints", b"\x00" * 64, "all-zero")
    put("hints", b"\xff" * 512, "all-ones")
    put("hints", struct.pack(">I", 0) + s("q\r\nid") + s("1.2.3.4\n") + s("helo\x01") + s("a@b\"c")
        + b"\x02" + s("EXAMPLE.com\t") + b"\x05" + s("x" * 100) + s("reason ) \\ (") + s("exp\x7f"),
        "controls")


# ---- spf --------------------------------------------------------------------------
def spf_records():
    recs = set()
    for doc in yaml.safe_load_all(open(os.path.join(TD, "spf", "rfc7208-tests.yml"), encoding="utf-8")):
        if not doc:
            continue
        for name, rrs in (doc.get("zonedata") or {}).items():
            for rr in rrs or []:
                if not isinstance(rr, dict):
                    continue
                for typ in ("TXT", "SPF"):
                    v = rr.get(typ)
                    if v is None or v == "NONE":
                        continue
                    if isinstance(v, list):
                        v = "".join(v)
                    recs.add(v)
    return sorted(recs)


def macro_record(prefix, n3, tail, suffix):
    """The CVE-2023-42118 trigger of tests/check_spf.c (guard test)."""
    return prefix + ("a" * 200 + "%{d}") * 2 + "a" * n3 + "%{d}" + "b" * tail + suffix


def seeds_spf():
    for r in spf_records():
        put("spf", b"\x00" + r.encode("utf-8", "surrogateescape"))
    put("spf", b"\x01v=spf1 ip6:2001:db8::/32 -all", "ipv6-client")
    put("spf", b"\x02v=spf1 a -all", "helo-identity")
    put("spf", b"\x00v=spf1 include:inc.fuzz.example -all\nv=spf1 ip4:192.0.2.0/24 ~all", "include")
    put("spf", b"\x00v=spf1 redirect=r.fuzz.example\nv=spf1 mx ptr exists:%{i}.fuzz.example -all", "redirect")
    put("spf", b"\x00v=spf1 -all exp=e.%{d}\n%{s} at %{i} via %{h}: %{c} %{r} %{t} %{p} %{v} %{l}-%{o}",
        "explanation")
    put("spf", b"\x08v=spf1 include:x.fuzz.example -all\nv=spf1 +all", "include-timeout")
    put("spf", b"\x04v=spf1 -all", "servfail")
    put("spf", b"\x00" + macro_record("v=spf1 exists:", 84, 8000, ".example -all").encode(), "cve-2023-42118-term")
    put("spf", b"\x00" + macro_record("v=spf1 ip4:192.0.2.0/24 x=", 84, 3000, "").encode(), "cve-2023-42118-modifier")
    put("spf", b"\x00v=spf1 -all exp=e.fuzz.example\n" + macro_record("", 84, 8000, " text").encode(),
        "cve-2023-42118-exp")


# ---- mproto ------------------------------------------------------------------------
def seeds_mproto():
    """Milter byte streams as Postfix's milter8.c writes them (fuzz_mproto.c)."""
    def pkt(cmd, data=b""):
        return struct.pack(">I", len(data) + 1) + cmd + data

    def z(*strs):                   # NUL-terminated strings
        return b"".join(x.encode() + b"\0" for x in strs)

    def macros(stage, *pairs):
        return pkt(b"D", stage + z(*pairs))

    optneg = pkt(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
    connect = (macros(b"C", "j", "mx.example.org", "{daemon_name}", "smtpd", "v", "Postfix 3.7.11",
                      "_", "mail.example.net [192.0.2.7]")
               + pkt(b"C", z("mail.example.net") + b"4" + struct.pack(">H", 50123) + z("192.0.2.7")))
    helo = macros(b"H", "{tls_version}", "TLSv1.3") + pkt(b"H", z("mail.example.net"))
    mail = (macros(b"M", "i", "4VxYz1kqZ9", "{mail_addr}", "alice@example.net", "{auth_type}", "")
            + pkt(b"M", z("<alice@example.net>", "SIZE=1234", "BODY=8BITMIME")))
    rcpt = macros(b"R", "{rcpt_addr}", "bob@example.org") + pkt(b"R", z("<bob@example.org>"))
    data = macros(b"T", "i", "4VxYz1kqZ9") + pkt(b"T")
    headers = b"".join(pkt(b"L", z(n, v)) for n, v in [
        ("Received", " from mail.example.net (mail.example.net [192.0.2.7])\n\tby mx.example.org"),
        ("DKIM-Signature", " v=1; a=rsa-sha256; d=example.net; s=sel;\n\th=from:subject; bh=AAAA; b=BBBB"),
        ("Authentication-Results", " mx.example.org; spf=pass smtp.mailfrom=example.net"),
        ("From", " Alice <alice@example.net>"),
        ("Subject", " hello"),
        ("X-Empty", ""),
    ])
    eoh = macros(b"N") + pkt(b"N")
    body = pkt(b"B", b"Hello Bob,\r\n\r\nbest, Alice\r\n")
    eob = macros(b"E", "i", "4VxYz1kqZ9") + pkt(b"E")
    message = mail + rcpt + data + headers + eoh + body + eob
    session = optneg + connect + helo + message
    put("mproto", session + pkt(b"Q"), "postfix-session")
    put("mproto", session + pkt(b"A") + message + pkt(b"K"), "postfix-abort-quit-nc")
    put("mproto", optneg, "optneg-v6")
    put("mproto", pkt(b"O", struct.pack(">III", 2, 0x3f, 0x7f)), "optneg-v2")
    put("mproto", pkt(b"O", struct.pack(">III", 6, 0x1, 0x1fffff)), "optneg-no-chghdrs")
    put("mproto", pkt(b"C", z("[2001:db8::7]") + b"6" + struct.pack(">H", 25) + z("IPv6:2001:db8::7"))
        + pkt(b"C", z("localhost") + b"L" + struct.pack(">H", 0) + z("/var/spool/postfix/public/x"))
        + pkt(b"C", z("[192.0.2.9]") + b"U"), "connect-families")
    # Malformed: truncated fields, missing NULs, bad lengths, a cut packet.
    put("mproto", pkt(b"C", b"host\x004\x00") + pkt(b"C", b"host") + pkt(b"C", z("h") + b"X\x00\x19"),
        "connect-truncated")
    put("mproto", pkt(b"L", b"From\x00 no-nul") + pkt(b"H", b"no-nul") + macros(b"E", "i")
        + pkt(b"D", b"") + pkt(b"O", b"\x00\x00\x00\x06"), "fields-truncated")
    put("mproto", pkt(b"D", b"E{i}\x00Q1\x00i\x00Q2\x00{\x00}\x00{}\x00\x00"), "macro-names")
    put("mproto", struct.pack(">I", 0) + b"Q", "length-zero")
    put("mproto", struct.pack(">I", 1024 * 1024 + 1) + b"B", "length-over-max")
    put("mproto", pkt(b"B", b"x" * 100)[:60], "cut-short")
    put("mproto", b"\x00\x00\x00", "three-bytes")



# ---- mserver -----------------------------------------------------------------------
def seeds_mserver():
    """Whole MTA conversations for fuzz_mserver.c: an options byte (bit 0
    RejectFailures, bits 1-3 how the stream is cut into reads), then what
    Postfix's milter8.c writes: negotiation, macros, CONNECT, HELO, MAIL,
    headers, body, end of message, ABORT, QUIT_NC, QUIT."""
    def pkt(cmd, data=b""):
        return struct.pack(">I", len(data) + 1) + cmd + data

    def z(*strs):
        return b"".join((x if isinstance(x, bytes) else x.encode()) + b"\0" for x in strs)

    def optneg(proto=0x1fffff, version=6, actions=0x1ff):
        return pkt(b"O", struct.pack(">III", version, actions, proto))

    def connect(ip, helo):
        return (pkt(b"D", b"C" + z("j", "mx.fuzz.example", "{daemon_name}", "smtpd"))
                + pkt(b"C", z(helo) + b"4" + struct.pack(">H", 50123) + z(ip))
                + pkt(b"H", z(helo)))

    def message(raw, mail_from, qid, leadspc=True, abort_at=None):
        head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        fields = []
        for line in head.split(b"\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b"\r\n" + line
            elif line:
                fields.append(line)
        out = (pkt(b"D", b"M" + z("i", qid, "{mail_addr}", mail_from))
               + pkt(b"M", z("<%s>" % mail_from, "SIZE=%d" % len(raw))) + pkt(b"R", z("<bob@example.net>")))
        for f in fields:
            name, _, value = f.partition(b":")
            out += pkt(b"L", name + b"\0" + (value if leadspc else value.lstrip(b" ")) + b"\0")
        out += pkt(b"N")
        body = body.replace(b"\n", b"\r\n")
        if abort_at is not None:
            return out + pkt(b"B", body[:abort_at]) + pkt(b"A")
        for i in range(0, len(body), 65535):
            out += pkt(b"B", body[i:i + 65535])
        return out + pkt(b"D", b"E" + z("i", qid)) + pkt(b"E")

    ses = open(os.path.join(TOP, "tests", "verdict", "ses.eml"), "rb").read()
    ses_from = "0100018c1a2b3c4d-5e6f7a8b@us-east-1.amazonses.com"
    ses_conn = connect("54.240.8.1", "a8-1.smtp-out.amazonses.com")
    plain = lambda frm, extra=b"": (b"From: " + frm.encode() + b"\nTo: bob@example.net\nSubject: hi\n"
                                    + extra + b"\nHello.\n")
    reject_msg = message(plain("x@reject.example"), "x@other.example", "REJ1")
    quit_ = pkt(b"Q")

    for opt, name in ((0x00, "ses-whole"), (0x02, "ses-byte-by-byte"), (0x04, "ses-odd-reads"),
                      (0x06, "ses-5-byte-reads"), (0x0c, "ses-16k-plus-one")):
        put("mserver", bytes([opt]) + optneg() + ses_conn + message(ses, ses_from, "SES1") + quit_, name)
    put("mserver", b"\x0a" + optneg() + ses_conn + message(ses, ses_from, "AB1", abort_at=100)
        + message(ses, ses_from, "AB2") + pkt(b"K") + ses_conn + message(ses, ses_from, "NC1") + quit_,
        "abort-then-quit-nc")
    put("mserver", b"\x00" + optneg(proto=0) + ses_conn + message(ses, ses_from, "NONR", leadspc=False)
        + quit_, "no-reply-flags-none")
    put("mserver", b"\x00" + optneg(proto=0x7f, version=2, actions=0x3f)
        + connect("192.0.2.7", "mail.example.com") + message(plain("a@example.com"), "a@example.com", "V2",
                                                               leadspc=False), "protocol-v2")
    put("mserver", b"\x01" + optneg() + connect("192.0.2.9", "mail.other.example") + reject_msg
        + pkt(b"K") + connect("192.0.2.9", "mail.other.example")
        + message(plain("y@quarantine.example"), "y@other.example", "QUA1") + quit_, "reject-failures")
    put("mserver", b"\x00" + optneg() + connect("192.0.2.7", "mail.example.com")
        + message(plain("a@example.com", b"Authentication-Results: mx.fuzz.example; dmarc=pass\n"
                        b"Authentication-Results: (c) MX.FUZZ.EXAMPLE. ; spf=pass\n"
                        b"Authentication-Results: other.example; none\n"), "a@example.com", "FORGED"), "forged-ar")
    put("mserver", b"\x00" + optneg() + connect("10.0.0.1", "webmail.example")
        + message(plain("a@example.com", b"Authentication-Results: mx.fuzz.example; dmarc=pass\n"),
                  "a@example.com", "IGN") + pkt(b"K") + connect("10.1.2.3", "relay.example")
        + message(plain("a@example.com"), "a@example.com", "TRUST"), "ignored-and-trusted-clients")
    put("mserver", b"\x08" + optneg() + connect("192.0.2.7", "mail.example.com")
        + message(plain("a@example.com", b"X-Big: " + b"y" * 70000 + b"\n"), "a@example.com", "BIG")
        + message(plain("a@example.com"), "a@example.com", "AFTERBIG"), "large-header-then-small")
    put("mserver", b"\x00" + optneg() + connect("192.0.2.7", "mail.slow.example")
        + message(plain("a@slow.example"), "a@slow.example", "SERVFAIL"), "dns-servfail")
    put("mserver", b"\x00" + optneg() + connect("192.0.2.7", "h")
        + pkt(b"D", b"M" + z("i", "q" * 300)) + pkt(b"M", z("<a@example.com>")) + pkt(b"E")
        + pkt(b"L", z("From", " a@example.com")) + pkt(b"N") + pkt(b"E") + pkt(b"A") + pkt(b"A")
        + pkt(b"U", z("XFOO")) + pkt(b"T") + pkt(b"K") + pkt(b"K") + pkt(b"E"), "out-of-order")
    put("mserver", b"\x00" + pkt(b"H", z("before-negotiation")), "command-before-optneg")
    put("mserver", b"\x00" + optneg() + pkt(b"Z"), "unknown-command")
    put("mserver", b"\x00" + optneg() + optneg(proto=0) + optneg(actions=0x1), "renegotiate-then-refuse")
    put("mserver", b"\x0e" + optneg() + struct.pack(">I", 1024 * 1024) + b"B" + b"x" * 3000, "cut-1m-packet")
    put("mserver", b"\x02" + optneg() + ses_conn + message(ses, ses_from, "M1") + message(ses, ses_from, "M2")
        + message(ses, ses_from, "M3"), "three-messages-no-quit")

def main():
    for t in ("conf", "authres", "message", "from", "hints", "spf", "mproto", "mserver"):
        d = os.path.join(CORPUS, t)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    seeds_conf()
    seeds_authres()
    seeds_message()
    seeds_from()
    seeds_hints()
    seeds_spf()
    seeds_mproto()
    seeds_mserver()
    for t in sorted(os.listdir(CORPUS)):
        n = len(os.listdir(os.path.join(CORPUS, t)))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in os.listdir(os.path.join(CORPUS, t)))
        print(f"{t}: {n} seeds, {size} bytes")


if __name__ == "__main__":
    main()
