#!/usr/bin/python3
"""Generate alignmilter's own DKIM test fixtures (tests/dkim/own/).

Signed with Debian's python3-dkim (dkimpy 1.1.x), an independent signer.
Run once from tests/dkim/ with /usr/bin/python3 (it needs the dknewkey
tool and openssl); the output is committed so `make check` needs neither.

Writes:
  own/keys/*            private keys (test only; never used anywhere else)
  own/*.eml             signed messages (CRLF unless the name says lf)
  own/dns.txt           "<name> TXT <value>" / "<name> CNAME <target>" /
                        "<name> SERVFAIL" / "<name> TIMEOUT", one per line
  own/expected.tsv      file, max_sigs, expected results, flags, reason
"""
import base64
import os
import subprocess
import sys

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "own")
KEYS = os.path.join(OUT, "keys")

BASE = (
    b"Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n"
    b"\tby mx.example.net with ESMTPS id 4Fx1\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: alignmilter DKIM fixture\r\n"
    b"Date: Fri, 27 Nov 2026 05:00:00 +0000\r\n"
    b"Message-ID: <fixture-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"this message is signed for alignmilter's unit tests.\r\n"
    b"Trailing spaces here   \r\n"
    b"\r\n"
    b"\r\n"
)

HDRS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]


def run(*args):
    subprocess.run(args, check=True, cwd=KEYS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def newkey(name, ktype="rsa"):
    """dknewkey writes NAME.key (private) and NAME.dns (record)."""
    if not os.path.exists(os.path.join(KEYS, name + ".key")):
        run("dknewkey", "--ktype", ktype, name)
    with open(os.path.join(KEYS, name + ".key"), "rb") as f:
        priv = f.read()
    with open(os.path.join(KEYS, name + ".dns"), "r") as f:
        rec = f.read()
    # .dns holds the record text (older dknewkey: a quoted zone-file line)
    if '"' in rec:
        rec = "".join(rec.split('"')[1::2])
    return priv, rec.strip()


def rsa_small(name, bits):
    """A deliberately weak RSA key (RFC 8301 forbids < 1024 bits)."""
    path = os.path.join(KEYS, name + ".key")
    if not os.path.exists(path):
        run("openssl", "genrsa", "-traditional", "-out", name + ".key", str(bits))
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        priv = f.read()
    return priv, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def sign(msg, sel, dom, priv, alg=b"rsa-sha256", canon=(b"relaxed", b"relaxed")):
    sig = dkim.sign(msg, sel.encode(), dom.encode(), priv, canonicalize=canon,
                    signature_algorithm=alg, include_headers=HDRS)
    return sig + msg


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(KEYS, exist_ok=True)
    rsa_priv, rsa_rec = newkey("rsa2048")
    ed_priv, ed_rec = newkey("ed25519", "ed25519")
    small_priv, small_rec = rsa_small("rsa512", 512)

    dns = []
    exp = []

    def txt(name, value):
        dns.append("%s TXT %s" % (name, value))

    txt("rsa2048._domainkey.example.com", rsa_rec)
    txt("ed._domainkey.example.com", ed_rec)
    txt("small._domainkey.example.com", small_rec)

    # 1. rsa-sha256 2048, relaxed/relaxed
    write("rsa2048.eml", sign(BASE, "rsa2048", "example.com", rsa_priv))
    exp.append(("rsa2048.eml", 5, "pass", "-", "-"))

    # 2. ed25519-sha256 (RFC 8463)
    write("ed25519.eml", sign(BASE, "ed", "example.com", ed_priv, alg=b"ed25519-sha256"))
    exp.append(("ed25519.eml", 5, "pass", "-", "-"))

    # 3. dual signature: rsa over ed25519 (the usual RFC 8463 deployment)
    m = sign(BASE, "ed", "example.com", ed_priv, alg=b"ed25519-sha256")
    write("dual.eml", sign(m, "rsa2048", "example.com", rsa_priv))
    exp.append(("dual.eml", 5, "pass,pass", "-", "-"))

    # 4. body changed after signing
    m = sign(BASE, "rsa2048", "example.com", rsa_priv)
    write("tampered-body.eml", m.replace(b"Hello Bob,", b"Hello Eve,"))
    exp.append(("tampered-body.eml", 5, "fail", "-", "body hash mismatch"))

    # 5. header changed after signing (body intact)
    write("tampered-header.eml", m.replace(b"Subject: alignmilter", b"Subject: Alignmilter"))
    exp.append(("tampered-header.eml", 5, "fail", "-", "signature did not verify"))

    # 6. unknown selector: no key record at all
    write("unknown-selector.eml", sign(BASE, "nokey", "example.com", rsa_priv))
    exp.append(("unknown-selector.eml", 5, "permerror", "key_not_found", "key not found"))

    # 7. key published at <s>._domainkey.<d>.<d> (DNS provider appended the zone)
    write("dup-suffix.eml", sign(BASE, "dup", "example.com", rsa_priv))
    txt("dup._domainkey.example.com.example.com", rsa_rec)
    exp.append(("dup-suffix.eml", 5, "permerror", "key_not_found,duplicated_suffix", "key not found"))

    # 8/9. DNS trouble on the key query
    write("servfail.eml", sign(BASE, "sf", "example.com", rsa_priv))
    dns.append("sf._domainkey.example.com SERVFAIL")
    exp.append(("servfail.eml", 5, "temperror", "-", "key query failed"))
    write("timeout.eml", sign(BASE, "to", "example.com", rsa_priv))
    dns.append("to._domainkey.example.com TIMEOUT")
    exp.append(("timeout.eml", 5, "temperror", "-", "key query failed"))

    # 10. SES Easy DKIM: selector CNAME to <token>.dkim.amazonses.com
    tok = "224i4yxa5dv7c2xz3womw6peuasteono"
    write("ses-cname.eml", sign(BASE, tok, "example.com", rsa_priv))
    dns.append("%s._domainkey.example.com CNAME %s.dkim.amazonses.com" % (tok, tok))
    txt("%s.dkim.amazonses.com" % tok, rsa_rec)
    exp.append(("ses-cname.eml", 5, "pass", "-", "-"))

    # 11. seven signatures, MaximumSignatures 5: two left unverified.  The
    # first signature is by an unrelated domain: From-related ones go first.
    m = BASE
    for i in range(7, 0, -1):
        dom = "amazonses.com" if i == 1 else "example.com"
        m = sign(m, "s%d" % i, dom, rsa_priv)
    for i in range(1, 8):
        txt("s%d._domainkey.%s" % (i, "amazonses.com" if i == 1 else "example.com"), rsa_rec)
    write("seven-sigs.eml", m)
    exp.append(("seven-sigs.eml", 5, "neutral,pass,pass,pass,pass,pass,neutral", "-", "-"))
    exp.append(("seven-sigs.eml", 7, "pass,pass,pass,pass,pass,pass,pass", "-", "-"))
    exp.append(("seven-sigs.eml", 0, "neutral,neutral,neutral,neutral,neutral,neutral,neutral", "-", "-"))

    # 12. bare LF line ends (a file saved by a Unix tool)
    m = sign(BASE, "rsa2048", "example.com", rsa_priv, canon=(b"simple", b"simple"))
    write("bare-lf-simple.lf.eml", m.replace(b"\r\n", b"\n"))
    exp.append(("bare-lf-simple.lf.eml", 5, "pass", "-", "-"))

    # 13. c=simple/simple with a folded header
    folded = BASE.replace(b"Subject: alignmilter DKIM fixture\r\n",
                          b"Subject: alignmilter DKIM fixture\r\n  with a fold\r\n\tand a tab \r\n")
    write("simple-folded.eml", sign(folded, "rsa2048", "example.com", rsa_priv,
                                    canon=(b"simple", b"simple")))
    exp.append(("simple-folded.eml", 5, "pass", "-", "-"))

    # 14. rsa-sha1 (RFC 8301: must not be accepted); the key record has no
    # h= so the signature itself verifies
    write("rsa-sha1.eml", sign(BASE, "sha1", "example.com", rsa_priv, alg=b"rsa-sha1"))
    txt("sha1._domainkey.example.com", rsa_rec.replace("h=sha256; ", ""))
    exp.append(("rsa-sha1.eml", 5, "policy", "-", "rsa-sha1"))
    # ... and against the h=sha256 key record: the key refuses sha1
    write("rsa-sha1-hkey.eml", sign(BASE, "rsa2048", "example.com", rsa_priv, alg=b"rsa-sha1"))
    exp.append(("rsa-sha1-hkey.eml", 5, "permerror", "-", "hash"))

    # 15. 512-bit key (RFC 8301: must not be accepted)
    write("rsa512.eml", sign(BASE, "small", "example.com", small_priv))
    exp.append(("rsa512.eml", 5, "policy", "-", "key too small"))

    # 16. a second From added above the signed one (RFC 6376 section 8.15)
    m = sign(BASE, "rsa2048", "example.com", rsa_priv)
    write("double-from.eml", b"From: attacker@example.org\r\n" + m)
    exp.append(("double-from.eml", 5, "permerror", "-", "multiple From"))

    # 17. From removed after signing
    m = sign(BASE, "rsa2048", "example.com", rsa_priv)
    write("no-from.eml", m.replace(b"From: Alice Example <alice@example.com>\r\n", b""))
    exp.append(("no-from.eml", 5, "permerror", "-", "no From"))

    # 18. one good, one unknown selector: independent results
    m = sign(BASE, "nokey", "example.com", rsa_priv)
    write("good-and-missing.eml", sign(m, "ed", "example.com", ed_priv, alg=b"ed25519-sha256"))
    exp.append(("good-and-missing.eml", 5, "pass,permerror", "-", "-"))

    # 19. dkimpy's test.message signed with dkimpy's test.private (s=test,
    # d=example.com): check_dkim pairs it with each dkimpy key-record file
    # (test.txt, test2.txt, test_bad.txt, badversion.txt, badk.txt, ...)
    dd = os.path.join(HERE, "..", "vectors", "dkim", "dkimpy")
    with open(os.path.join(dd, "test.message"), "rb") as fh:
        tm = fh.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(os.path.join(dd, "test.private"), "rb") as fh:
        tp = fh.read()
    write("dkimpy-test.eml", dkim.sign(tm, b"test", b"example.com", tp,
                                       canonicalize=(b"relaxed", b"simple")) + tm)

    with open(os.path.join(OUT, "dns.txt"), "w") as f:
        f.write("# generated by gen-fixtures.py: <name> TXT <value> | CNAME <target> | SERVFAIL | TIMEOUT\n")
        for line in dns:
            f.write(line + "\n")
    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("# file\tmax_sigs\texpected (per signature, header order; a|b = either)\tflags\treason substring\n")
        for row in exp:
            f.write("\t".join(str(x) for x in row) + "\n")

    # cross-check: dkimpy itself verifies every signature we expect to pass
    zone = {}
    cnames = {}
    for line in dns:
        f = line.split(" ", 2)
        if f[1] == "TXT":
            zone[f[0] + "."] = f[2].encode()
        elif f[1] == "CNAME":
            cnames[f[0] + "."] = f[2] + "."

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        name = cnames.get(name, name)
        return zone.get(name)

    bad = 0
    for fname, maxs, expected, _flags, _reason in exp:
        with open(os.path.join(OUT, fname), "rb") as fh:
            msg = fh.read()
        if fname.endswith(".lf.eml"):
            msg = msg.replace(b"\n", b"\r\n")
        results = expected.split(",")
        d = dkim.DKIM(msg)
        for idx, r in enumerate(results):
            if r != "pass" or maxs < len(results):
                continue
            if not d.verify(idx=idx, dnsfunc=dnsfunc):
                print("dkimpy does not verify %s signature %d" % (fname, idx), file=sys.stderr)
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
