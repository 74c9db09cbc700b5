#!/usr/bin/python3
"""zones.py - DNS zones and DKIM keys for alignmilter's end-to-end tests.

Owns: the DNS world the e2e scenarios live in.  Writes into DIR:
  DIR/keys/<selector>.<domain>.key   private keys (RSA 2048 PEM, or ed25519
                                     seed in python3-dkim's base64 format)
  DIR/keys.json                      {"<selector>._domainkey.<domain>": {"key": path, "alg": ...}}
  DIR/zones/<zone>.zone              one nsd zone file per zone
  DIR/zones.list                     the zone files, first the one to wait for

Existing keys are reused, so a second run in the same DIR is fast and
signatures stay verifiable.  Zone names follow tests/dns/README.md: no
.test/.invalid/.localhost (libunbound answers those itself).

Zones: amazonses.com, example.com/.net/.org, bis.example (RFC 9989's
tree walk, psd=, np=, t=), attacker.example (the sender of the
malformed-From spoofs of bank.example.com), and the unloadable
_dmarc.servfail.example.net.

Addresses: SES sends from 192.0.2.0/24, 198.51.100.0/24 and
2001:db8:5e5::/48; every other sender from 203.0.113.0/24 or
2001:db8:ed::/48 (RFC 5737 / RFC 3849 documentation ranges).

  zones.py DIR            generate (prints the zone file paths)
  zones.py DIR --verify-message FILE HOST PORT
                          verify every DKIM signature of FILE with python3-dkim,
                          fetching keys from the DNS server HOST:PORT
"""
import json
import os
import subprocess
import sys

# Easy DKIM tokens (real ones are 32 base32 characters; shape does not matter).
EASY = {
    "ses-default.example.com": "sesdefault1tok",
    "ses-custom.example.com": "sescustom1tok",
    "strict.example.com": "strict1tok",
    "noeasydkim.example.com": None,           # identity never verified
    "dupsuffix.example.com": "dupsuffix1tok",
    "dupmf.example.com": "dupmf1tok",         # respond.py: broken CNAME, custom MAIL FROM
}
SES_SPF = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8:5e5::/48 -all"
INCLUDE_SES = "v=spf1 include:amazonses.com -all"
OTHER_SPF = "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:ed::/48 -all"

# (selector, domain, algorithm): keys to create.  Easy DKIM keys live in the
# amazonses.com zone under <token>.dkim.amazonses.com.
KEYS = [
    ("224i4yxa", "amazonses.com", "rsa"),
    ("sel1", "tamper.example.com", "rsa"),
    ("ed1", "ed.example.org", "ed25519"),
    ("sel1", "nodmarc.example.org", "rsa"),
    ("sel1", "forwarder.example.org", "rsa"),
    ("sel1", "forged.example.org", "rsa"),
    ("sel1", "sub.example.net", "rsa"),
    ("sel1", "servfail.example.net", "rsa"),
    ("sel1", "other.psd.bis.example", "rsa"),
    ("sel1", "n.bis.example", "rsa"),
    ("sel1", "attacker.example", "rsa"),
] + [(tok, "dkim.amazonses.com", "rsa") for tok in EASY.values() if tok]


def txt(value):
    """A TXT rdata: strings of at most 255 octets (RFC 1035 3.3.14)."""
    parts = [value[i:i + 250] for i in range(0, len(value), 250)] or [""]
    return "( " + " ".join('"%s"' % p for p in parts) + " )"


def soa(zone):
    return [
        "$ORIGIN %s." % zone,
        "$TTL 300",
        "@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 86400 300" % (zone, zone),
        "@ IN NS ns1.%s." % zone,
        "ns1 IN A 127.0.0.1",
    ]


def make_key(keydir, sel, dom, alg):
    """Create (or reuse) a key; return (path, public key base64)."""
    base = os.path.join(keydir, "%s.%s" % (sel, dom))
    path = base + ".key"
    if alg == "ed25519":
        if not os.path.exists(path):
            subprocess.run(["dknewkey", "--ktype", "ed25519", base], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(base + ".dns") as f:
            rec = f.read().strip()
        return path, rec.split("p=", 1)[1].strip()
    if not os.path.exists(path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", path + ".tmp"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rename(path + ".tmp", path)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    return path, base64.b64encode(der).decode()


def key_record(alg, pub):
    return "v=DKIM1; k=%s; p=%s" % ("ed25519" if alg == "ed25519" else "rsa", pub)


def generate(out):
    keydir = os.path.join(out, "keys")
    zdir = os.path.join(out, "zones")
    os.makedirs(keydir, exist_ok=True)
    os.makedirs(zdir, exist_ok=True)
    keys = {}
    rec = {}
    for sel, dom, alg in KEYS:
        path, pub = make_key(keydir, sel, dom, alg)
        name = "%s._domainkey.%s" % (sel, dom) if dom != "dkim.amazonses.com" \
            else "%s.dkim.amazonses.com" % sel
        rec[name] = key_record(alg, pub)
        keys[name] = {"key": path, "alg": "ed25519-sha256" if alg == "ed25519" else "rsa-sha256"}
    # Easy DKIM: the sender domain's selector is the token; signing uses
    # the key published at <token>.dkim.amazonses.com.
    for dom, tok in EASY.items():
        if tok:
            keys["%s._domainkey.%s" % (tok, dom)] = keys["%s.dkim.amazonses.com" % tok]

    zones = {}
    z = soa("amazonses.com") + [
        "@ IN TXT " + txt(SES_SPF),
        "us-east-1 IN TXT " + txt(INCLUDE_SES),
        "us-east-1 IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
        "eu-west-1 IN TXT " + txt(INCLUDE_SES),
        "eu-west-1 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.",
        "feedback-smtp.us-east-1 IN A 192.0.2.1",
        "feedback-smtp.eu-west-1 IN A 198.51.100.1",
        "a8-10.smtp-out IN A 192.0.2.10",
        "a7-20.smtp-out.eu-west-1 IN A 198.51.100.20",
        "224i4yxa._domainkey IN TXT " + txt(rec["224i4yxa._domainkey.amazonses.com"]),
    ]
    for tok in EASY.values():
        if tok:
            z.append("%s.dkim IN TXT %s" % (tok, txt(rec["%s.dkim.amazonses.com" % tok])))
    zones["amazonses.com"] = z

    def cname_easy(dom, at=None):
        tok = EASY[dom]
        owner = at or "%s._domainkey.%s." % (tok, dom)
        return "%s IN CNAME %s.dkim.amazonses.com." % (owner, tok)

    z = soa("example.com") + [
        # SES, default MAIL FROM, Easy DKIM, monitoring only.
        cname_easy("ses-default.example.com"),
        "_dmarc.ses-default IN TXT " + txt("v=DMARC1; p=none; rua=mailto:dmarc@ses-default.example.com"),
        # SES, custom MAIL FROM mail.ses-custom.example.com.
        cname_easy("ses-custom.example.com"),
        "mail.ses-custom IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
        "mail.ses-custom IN TXT " + txt(INCLUDE_SES),
        # A complete set-up: alignmilter-check grades it A (tools.py).  No
        # pct=: RFC 9989 made it historic, the check warns about it.
        "_dmarc.ses-custom IN TXT " + txt("v=DMARC1; p=quarantine; "
                                          "rua=mailto:dmarc-reports@ses-custom.example.com"),
        # SES, custom MAIL FROM under a strict-SPF-alignment policy.
        cname_easy("strict.example.com"),
        "bounce.strict IN MX 10 feedback-smtp.eu-west-1.amazonses.com.",
        "bounce.strict IN TXT " + txt(INCLUDE_SES),
        "_dmarc.strict IN TXT " + txt("v=DMARC1; p=reject; aspf=s"),
        # Own signer, forwarded and modified on the way.
        "sel1._domainkey.tamper IN TXT " + txt(rec["sel1._domainkey.tamper.example.com"]),
        "tamper IN TXT " + txt(OTHER_SPF),
        "_dmarc.tamper IN TXT " + txt("v=DMARC1; p=reject"),
        # SES without Easy DKIM: only the amazonses.com signature.
        "_dmarc.noeasydkim IN TXT " + txt("v=DMARC1; p=none"),
        # Easy DKIM CNAME entered with the domain appended twice.
        cname_easy("dupsuffix.example.com",
                   "%s._domainkey.dupsuffix.example.com.dupsuffix.example.com." % EASY["dupsuffix.example.com"]),
        "_dmarc.dupsuffix IN TXT " + txt("v=DMARC1; p=none"),
        # The same mistake with a working custom MAIL FROM (respond.py: the
        # probe is answered, SPF authenticating the domain).
        cname_easy("dupmf.example.com",
                   "%s._domainkey.dupmf.example.com.dupmf.example.com." % EASY["dupmf.example.com"]),
        "mail.dupmf IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
        "mail.dupmf IN TXT " + txt(INCLUDE_SES),
        "_dmarc.dupmf IN TXT " + txt("v=DMARC1; p=none"),
        # A bank whose From an attacker spoofs with malformed From fields
        # (issue 16 item 1): p=reject, sends only from its own servers.
        "bank IN TXT " + txt("v=spf1 ip6:2001:db8:ba4b::/48 -all"),
        "_dmarc.bank IN TXT " + txt("v=DMARC1; p=reject"),
    ]
    zones["example.com"] = z

    z = soa("example.org") + [
        # ed25519 signer with SPF for its HELO and MAIL FROM (sends over IPv6).
        "ed IN TXT " + txt(OTHER_SPF),
        "mail.ed IN TXT " + txt(OTHER_SPF),
        "mail.ed IN AAAA 2001:db8:ed::25",
        "ed1._domainkey.ed IN TXT " + txt(rec["ed1._domainkey.ed.example.org"]),
        "_dmarc.ed IN TXT " + txt("v=DMARC1; p=reject"),
        # No DMARC record anywhere (nor at example.org).
        "nodmarc IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.nodmarc IN TXT " + txt(rec["sel1._domainkey.nodmarc.example.org"]),
        # Bounces: HELO identity only.
        "mx.null IN TXT " + txt(OTHER_SPF),
        "mx.null IN A 203.0.113.40",
        "_dmarc.null IN TXT " + txt("v=DMARC1; p=reject"),
        # A forwarder (envelope rewritten, SPF passes for the forwarder).
        "forwarder IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.forwarder IN TXT " + txt(rec["sel1._domainkey.forwarder.example.org"]),
        # Forged Authentication-Results scenario.
        "forged IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.forged IN TXT " + txt(rec["sel1._domainkey.forged.example.org"]),
        "_dmarc.forged IN TXT " + txt("v=DMARC1; p=none"),
    ]
    zones["example.org"] = z

    z = soa("example.net") + [
        # Organizational domain policy: p=none for itself, sp=reject for
        # subdomains (example.net is the org domain of sub.example.net by the PSL).
        "_dmarc IN TXT " + txt("v=DMARC1; p=none; sp=reject"),
        "sub IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.sub IN TXT " + txt(rec["sel1._domainkey.sub.example.net"]),
        # _dmarc.servfail.example.net is a zone of its own that nsd cannot
        # load: SERVFAIL (tests/dns/README.md).
        "servfail IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.servfail IN TXT " + txt(rec["sel1._domainkey.servfail.example.net"]),
    ]
    zones["example.net"] = z

    # RFC 9989 (draft-41; section numbers may differ from the RFC's): the
    # tree walk (4.10), policy discovery (4.10.1), organizational domains
    # (4.10.2).  No _dmarc.bis.example: a record there would be the
    # organizational domain (fewest labels) of every name below it.
    # _dmarc.example is NXDOMAIN (the fixture's empty root zone).
    z = soa("bis.example") + [
        # np= for names that do not exist (3.2.13: NXDOMAIN): ghost.np has
        # nothing at or below it; www.np exists.
        "_dmarc.np IN TXT " + txt("v=DMARC1; p=quarantine; sp=none; np=reject"),
        "www.np IN A 203.0.113.51",
        # t=y: a failing message gets the next lower policy (4.7).
        "_dmarc.testing IN TXT " + txt("v=DMARC1; p=reject; t=y"),
        # psd=y: psd.bis.example is a public suffix domain; shop. and other.
        # below it are organizations of their own (4.10.2 step 2).
        "_dmarc.psd IN TXT " + txt("v=DMARC1; p=reject; psd=y"),
        "shop.psd IN A 203.0.113.53",
        "mail.shop.psd IN TXT " + txt(OTHER_SPF),
        "other.psd IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.other.psd IN TXT " + txt(rec["sel1._domainkey.other.psd.bis.example"]),
        # psd=n: dept.n is its own organizational domain (4.10.2 step 1),
        # although n has a record with fewer labels.
        "_dmarc.n IN TXT " + txt("v=DMARC1; p=none"),
        "n IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey.n IN TXT " + txt(rec["sel1._domainkey.n.bis.example"]),
        "_dmarc.dept.n IN TXT " + txt("v=DMARC1; p=reject; psd=n"),
        # No p= (4.10.1): with a valid rua it acts as p=none; without one no
        # DMARC processing, whatever sp= says.
        "_dmarc.rua-only IN TXT " + txt("v=DMARC1; rua=mailto:dmarc@rua-only.bis.example"),
        "_dmarc.no-p IN TXT " + txt("v=DMARC1; sp=reject"),
    ]
    zones["bis.example"] = z

    # The attacker's own domain, correctly set up: SPF and DKIM pass and
    # align for it, its DMARC passes (p=none).  Its pass must not hide the
    # bank's fail when both are author domains of one message.
    z = soa("attacker.example") + [
        "@ IN TXT " + txt(OTHER_SPF),
        "sel1._domainkey IN TXT " + txt(rec["sel1._domainkey.attacker.example"]),
        "_dmarc IN TXT " + txt("v=DMARC1; p=none"),
    ]
    zones["attacker.example"] = z

    files = []
    for name, lines in zones.items():
        path = os.path.join(zdir, name + ".zone")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(path + ".tmp", path)
        files.append(path)
    bad = os.path.join(zdir, "_dmarc.servfail.example.net.zone")
    with open(bad, "w") as f:
        f.write("; deliberately unparsable: nsd answers SERVFAIL for this zone\n"
                "$ORIGIN _dmarc.servfail.example.net.\nthis is not a zone file\n")
    files.append(bad)
    with open(os.path.join(out, "keys.json"), "w") as f:
        json.dump(keys, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "zones.list"), "w") as f:
        f.write("\n".join(files) + "\n")
    return files


def verify_message(path, host, port):
    """Verify each DKIM-Signature of a message with python3-dkim over real DNS."""
    import dkim
    sys.dont_write_bytecode = True   # no __pycache__ in the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import dnsq
    with open(path, "rb") as f:
        msg = f.read()

    def dnsfunc(name, timeout=5):
        return dnsq.txt(host, int(port), name.decode() if isinstance(name, bytes) else name)

    d = dkim.DKIM(msg)
    sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    ok = 0
    for i in range(len(sigs)):
        try:
            res, why = d.verify(idx=i, dnsfunc=dnsfunc), ""
        except dkim.DKIMException as e:
            res, why = False, " (%s)" % e
        print("signature %d: %s%s" % (i, "pass" if res else "fail", why))
        ok += bool(res)
    return ok, len(sigs)


if __name__ == "__main__":
    if len(sys.argv) == 2:
        for p in generate(sys.argv[1]):
            print(p)
    elif len(sys.argv) == 6 and sys.argv[2] == "--verify-message":
        good, total = verify_message(sys.argv[3], sys.argv[4], sys.argv[5])
        sys.exit(0 if good == total and total > 0 else 1)
    else:
        sys.exit(__doc__)
