#!/usr/bin/python3
"""hzones.py - the hostile zone of the robustness tests (served by nsd).

Owns: DIR/hostile.example.zone and DIR/keys.json (keys signed with by
hostile.py).  Records (all under hostile.example):
  loop, loop2      SPF include loop
  many             11 DNS-querying mechanisms before the one that matches
  ten              exactly 10 (allowed, RFC 7208 4.6.4): passes
  void             9 a: mechanisms naming nothing (void lookups) first
  garbage          _dmarc: p=reject among unknown/empty/broken tags
  garbage2         _dmarc: an invalid p=, no rua
  keys             DKIM keys: good (RSA 2048), weak (RSA 512), revoked (p= empty);
                   _dmarc p=reject
  xn--bcher-kva    IDN From domain (A-label), _dmarc p=quarantine
  dyn              delegated in spirit to dnsfront.py (never asked here)
Every SPF name that is a mail domain allows 203.0.113.0/24.

  hzones.py DIR     write (keys are reused when present)
"""
import base64
import json
import os
import subprocess
import sys

OK_SPF = "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:ed::/48 -all"


def txt(value):
    parts = [value[i:i + 250] for i in range(0, len(value), 250)] or [""]
    return "( " + " ".join('"%s"' % p for p in parts) + " )"


def rsa_key(path, bits):
    if not os.path.exists(path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:%d" % bits, "-out", path + ".tmp"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rename(path + ".tmp", path)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def generate(out):
    os.makedirs(out, exist_ok=True)
    keys = {}
    pub = {}
    for sel, bits in (("good", 2048), ("weak", 512), ("revoked", 2048)):
        path = os.path.join(out, "%s.keys.hostile.example.key" % sel)
        pub[sel] = rsa_key(path, bits)
        keys["%s._domainkey.keys.hostile.example" % sel] = {"key": path, "alg": "rsa-sha256"}
    z = [
        "$ORIGIN hostile.example.",
        "$TTL 300",
        "@ IN SOA ns1.hostile.example. hostmaster.hostile.example. 1 3600 600 86400 300",
        "@ IN NS ns1.hostile.example.",
        "ns1 IN A 127.0.0.1",
        "loop IN TXT " + txt("v=spf1 include:loop2.hostile.example -all"),
        "loop2 IN TXT " + txt("v=spf1 include:loop.hostile.example -all"),
        "many IN TXT " + txt("v=spf1 " + " ".join("a:m%d.hostile.example" % i for i in range(1, 12))
                             + " ip4:203.0.113.0/24 -all"),
        "ten IN TXT " + txt("v=spf1 " + " ".join("a:m%d.hostile.example" % i for i in range(1, 10))
                            + " include:okspf.hostile.example -all"),
        "okspf IN TXT " + txt(OK_SPF),
        "void IN TXT " + txt("v=spf1 " + " ".join("a:v%d.hostile.example" % i for i in range(1, 10))
                             + " ip4:203.0.113.0/24 -all"),
        "garbage IN TXT " + txt(OK_SPF),
        "_dmarc.garbage IN TXT " + txt("v=DMARC1; p=reject; xyzzy=1; ;;; =; \\\"quoted\\\"; zz=%%; adkim=r"),
        "garbage2 IN TXT " + txt(OK_SPF),
        "_dmarc.garbage2 IN TXT " + txt("v=DMARC1; p=maybe; sp=perhaps; pct=abc; adkim=q"),
        "keys IN TXT " + txt(OK_SPF),
        "_dmarc.keys IN TXT " + txt("v=DMARC1; p=reject"),
        "good._domainkey.keys IN TXT " + txt("v=DKIM1; k=rsa; p=" + pub["good"]),
        "weak._domainkey.keys IN TXT " + txt("v=DKIM1; k=rsa; p=" + pub["weak"]),
        "revoked._domainkey.keys IN TXT " + txt("v=DKIM1; k=rsa; p="),
        "xn--bcher-kva IN TXT " + txt(OK_SPF),
        "_dmarc.xn--bcher-kva IN TXT " + txt("v=DMARC1; p=quarantine"),
    ]
    z += ["m%d IN A 192.0.2.250" % i for i in range(1, 12)]
    path = os.path.join(out, "hostile.example.zone")
    with open(path, "w") as f:
        f.write("\n".join(z) + "\n")
    with open(os.path.join(out, "keys.json"), "w") as f:
        json.dump(keys, f, indent=1, sort_keys=True)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(generate(sys.argv[1]))
