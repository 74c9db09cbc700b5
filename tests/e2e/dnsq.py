#!/usr/bin/python3
"""dnsq.py - a stdlib-only TXT lookup against the loopback test DNS server.

Owns: asking one server for TXT records and following CNAMEs (the way a
recursive resolver would), so the harness can check its own zone data and
python3-dkim signatures without dig or a resolver library.

  dnsq.py HOST PORT NAME [TYPE]   print rcode and the TXT strings / CNAME target
"""
import random
import socket
import struct
import sys

TXT, CNAME = 16, 5
RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def _qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def _name(pkt, off):
    """Decode a possibly compressed name; return (name, offset after it)."""
    labels, end, jumps = [], None, 0
    while True:
        n = pkt[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | pkt[off + 1]
            jumps += 1
            if jumps > 50:
                raise ValueError("compression loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels), (end if end is not None else off)


def query(host, port, name, qtype=TXT, timeout=3.0):
    """One UDP question; return (rcode, [(owner, type, rdata-bytes, rdata-offset, packet)])."""
    qid = random.randint(0, 0xFFFF)
    pkt = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _qname(name) + struct.pack("!HH", qtype, 1)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (host, port))
        while True:
            data, _ = s.recvfrom(65535)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                break
    finally:
        s.close()
    flags, qd, an = struct.unpack("!HHH", data[2:8])
    off = 12
    for _ in range(qd):
        _, off = _name(data, off)
        off += 4
    rrs = []
    for _ in range(an):
        owner, off = _name(data, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        off += 10
        rrs.append((owner.lower(), rtype, data[off:off + rdlen], off, data))
        off += rdlen
    return flags & 0xF, rrs


def txt(host, port, name, depth=8):
    """TXT strings of NAME (records joined), following CNAMEs; None if none."""
    name = name.rstrip(".").lower()
    for _ in range(depth):
        rcode, rrs = query(host, port, name, TXT)
        if rcode != 0:
            return None
        target, found = None, []
        for owner, rtype, rdata, _off, _pkt in rrs:
            if owner != name:
                continue
            if rtype == CNAME:
                target = _name(_pkt, _off)[0].lower()
            elif rtype == TXT:
                i, parts = 0, []
                while i < len(rdata):
                    n = rdata[i]
                    parts.append(rdata[i + 1:i + 1 + n])
                    i += 1 + n
                found.append(b"".join(parts))
        if found:
            return found[0]
        if target is None:
            return None
        name = target   # chase it, as a resolver would
    return None


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    h, p, n = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rc, answers = query(h, p, n, TXT)
    print("rcode=%s" % RCODES.get(rc, rc))
    for owner, rtype, rdata, off, pk in answers:
        if rtype == CNAME:
            print("%s CNAME %s" % (owner, _name(pk, off)[0]))
        elif rtype == TXT:
            print("%s TXT %r" % (owner, rdata))
    t = txt(h, p, n)
    if t is not None:
        print("resolved: %s" % t.decode("ascii", "replace"))
