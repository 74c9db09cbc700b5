#!/usr/bin/python3
"""send.py - build, DKIM-sign (python3-dkim) and submit one test message.

Owns: the client side of an end-to-end scenario.  Builds a message (From,
To, Subject, Date, Message-ID, MIME text+HTML body of about 4 KB, optional
Feedback-ID and extra headers), signs it with zero or more DKIM signatures
(rsa-sha256 or ed25519-sha256, relaxed/relaxed), optionally modifies the
body after signing (as a forwarder or list would), and sends it over SMTP
to Postfix on 127.0.0.1 or ::1.  With --xclient-addr it issues
  EHLO, XCLIENT ADDR=<ip> NAME=[UNAVAILABLE] HELO=<helo>, EHLO <helo>
so that smtpd and the milter see that TEST-NET client instead of loopback.

Prints one line: the SMTP reply to the end of DATA ("250 2.0.0 Ok: queued
as 3F2A81C0D2"), or to the command that refused the message.
Exit 0 when a reply to end of DATA was read (whatever its code), 2 when an
earlier command was refused, 1 on connection or usage errors.

  send.py --port 2525 [--host ::1] --xclient-addr 192.0.2.10 --helo a8-10.smtp-out.amazonses.com \\
          --mail-from 0100@us-east-1.amazonses.com --rcpt user@e2e.example \\
          --from 'Shop <news@ses-default.example.com>' \\
          --sign ses-default.example.com:sesdefault1tok:KEYFILE[:ed25519-sha256] ...
  --keys DIR/keys.json lets --sign give only DOMAIN:SELECTOR.
"""
import argparse
import email.utils
import json
import smtplib
import sys
import time

import dkim

CRLF = b"\r\n"


def html_body(words=4000):
    para = ("<p>Hello from the end-to-end test. This paragraph pads the HTML part so the "
            "message is about the size of a real SES newsletter.</p>\r\n")
    out = "<html><body>\r\n<h1>Newsletter</h1>\r\n"
    while len(out) < words:
        out += para
    return out + "</body></html>\r\n"


def build(a):
    """The message as CRLF bytes, before signing."""
    msgid = a.message_id or email.utils.make_msgid(domain="e2e.example")
    hdrs = [
        ("From", a.from_),
        ("To", a.to or "<%s>" % a.rcpt[0]),
        ("Subject", a.subject),
        ("Date", email.utils.formatdate(time.time(), localtime=False)),
        ("Message-ID", msgid),
        ("MIME-Version", "1.0"),
    ]
    if a.feedback_id:
        hdrs.append(("Feedback-ID", a.feedback_id))
    for h in a.header:
        name, _, value = h.partition(":")
        hdrs.append((name.strip(), value.strip()))
    text = ("Hello from the end-to-end test.\r\n\r\nThis is the plain part.\r\n"
            "Regards,\r\nthe alignmilter test suite\r\n")
    if a.html:
        boundary = "=_e2e_boundary_%d" % int(time.time())
        hdrs.append(("Content-Type", 'multipart/alternative; boundary="%s"' % boundary))
        body = ("This is a multi-part message in MIME format.\r\n\r\n"
                "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n%s\r\n"
                "--%s\r\nContent-Type: text/html; charset=us-ascii\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n%s\r\n--%s--\r\n"
                % (boundary, text, boundary, html_body(), boundary))
    else:
        hdrs.append(("Content-Type", "text/plain; charset=us-ascii"))
        body = text
    head = b"".join(("%s: %s" % (n, v)).encode() + CRLF for n, v in hdrs)
    return head + CRLF + body.encode()


def sign(msg, spec, keys):
    """Prepend one DKIM-Signature.  spec: DOMAIN:SELECTOR[:KEYFILE[:ALG]]."""
    parts = spec.split(":")
    dom, sel = parts[0], parts[1]
    keyfile = parts[2] if len(parts) > 2 and parts[2] else None
    alg = parts[3] if len(parts) > 3 else None
    if keyfile is None:
        ent = keys["%s._domainkey.%s" % (sel, dom)]
        keyfile, alg = ent["key"], alg or ent["alg"]
    alg = alg or "rsa-sha256"
    with open(keyfile, "rb") as f:
        key = f.read()
    if alg == "ed25519-sha256":
        key = key.strip()
    sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                    canonicalize=(b"relaxed", b"relaxed"),
                    signature_algorithm=alg.encode(),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                     b"mime-version", b"content-type", b"feedback-id"])
    return sig + msg


def tamper(msg):
    """Change one body word after signing (breaks the body hash only)."""
    head, sep, body = msg.partition(CRLF + CRLF)
    return head + sep + body.replace(b"Hello", b"Hullo", 1)


def xclient_addr(ip):
    return "IPv6:" + ip if ":" in ip and not ip.upper().startswith("IPV6:") else ip


def send(a, msg):
    with smtplib.SMTP(a.host, a.port, local_hostname="client.e2e.example", timeout=60) as s:
        s.ehlo()
        if a.xclient_addr:
            if not s.has_extn("xclient"):
                print("XCLIENT not offered (smtpd_authorized_xclient_hosts?)")
                return 1
            args = "ADDR=%s NAME=[UNAVAILABLE]" % xclient_addr(a.xclient_addr)
            if a.helo:
                args += " HELO=%s" % a.helo
            code, text = s.docmd("XCLIENT", args)
            if code != 220:
                print("%d %s" % (code, text.decode(errors="replace")))
                return 2
            s.ehlo(a.helo or "client.e2e.example")
        elif a.helo:
            s.ehlo(a.helo)
        code, text = s.docmd("MAIL", "FROM:<%s>" % a.mail_from)
        if code != 250:
            print("%d %s" % (code, text.decode(errors="replace")))
            return 2
        for r in a.rcpt:
            code, text = s.docmd("RCPT", "TO:<%s>" % r)
            if code not in (250, 251):
                print("%d %s" % (code, text.decode(errors="replace")))
                return 2
        code, text = s.docmd("DATA")
        if code != 354:
            print("%d %s" % (code, text.decode(errors="replace")))
            return 2
        # Dot-stuffing and the final dot, as smtplib.data() does, but keep
        # the reply whatever its code.
        q = smtplib.quotedata(msg.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        if not q.endswith(CRLF):
            q += CRLF
        s.send(q + b"." + CRLF)
        code, text = s.getreply()
        print("%d %s" % (code, text.decode(errors="replace").replace("\n", " ")))
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
    return 0


def main(argv):
    p = argparse.ArgumentParser(description="build, sign and send one e2e test message")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--xclient-addr", help="client IP to present via XCLIENT")
    p.add_argument("--helo", help="HELO name (via XCLIENT and EHLO)")
    p.add_argument("--mail-from", default="", help="envelope sender; empty for <>")
    p.add_argument("--rcpt", action="append", default=[])
    p.add_argument("--from", dest="from_", required=True, help="From header value")
    p.add_argument("--to")
    p.add_argument("--subject", default="alignmilter e2e test")
    p.add_argument("--message-id")
    p.add_argument("--feedback-id")
    p.add_argument("--header", action="append", default=[], help="extra header 'Name: value', signed")
    p.add_argument("--header-after-sign", action="append", default=[],
                   help="header 'Name: value' prepended after signing")
    p.add_argument("--sign", action="append", default=[], help="DOMAIN:SELECTOR[:KEYFILE[:ALG]]")
    p.add_argument("--keys", help="keys.json written by zones.py")
    p.add_argument("--tamper", action="store_true", help="modify the body after signing")
    p.add_argument("--html", action="store_true", help="MIME text+HTML body (~4 KB)")
    p.add_argument("--save", help="also write the message as sent to this file")
    p.add_argument("--no-send", action="store_true", help="only build (with --save)")
    a = p.parse_args(argv[1:])
    if not a.rcpt:
        a.rcpt = ["postmaster@sink.e2e.example"]
    keys = {}
    if a.keys:
        with open(a.keys) as f:
            keys = json.load(f)
    msg = build(a)
    for spec in a.sign:
        msg = sign(msg, spec, keys)
    for h in a.header_after_sign:
        msg = h.encode() + CRLF + msg
    if a.tamper:
        msg = tamper(msg)
    if a.save:
        with open(a.save, "wb") as f:
            f.write(msg)
    if a.no_send:
        return 0
    try:
        return send(a, msg)
    except (OSError, smtplib.SMTPException) as e:
        print("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
