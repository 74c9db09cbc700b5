#!/usr/bin/python3
"""dnsutil.py - tiny stdlib-only DNS helpers for the loopback test fixture.

Owns: picking a free loopback port and asking a server one question, so
the shell fixture (nsd-fixture.sh) and end-to-end tests need neither dig
nor any package beyond python3.

  dnsutil.py freeport [--v6]          print a port free for UDP+TCP on 127.0.0.1 (and ::1)
  dnsutil.py wait HOST PORT NAME [SECONDS]
                                      exit 0 once HOST:PORT answers NAME/SOA (any rcode
                                      but REFUSED), 1 after SECONDS (default 5)
  dnsutil.py query HOST PORT NAME [TYPE]
                                      print "rcode=N ancount=N" for one UDP question
"""
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def freeport(v6):
    """A port that is free for UDP and TCP on every loopback address asked for."""
    for _ in range(200):
        port = random.randint(20000, 32000)  # below the ephemeral range: fewer races
        socks = []
        try:
            for fam, host in [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if v6 else []):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, kind)
                    socks.append(s)
                    s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SystemExit("no free port found")


def build_query(name, qtype):
    qid = random.randint(0, 0xFFFF)
    hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b""
    for label in name.rstrip(".").split("."):
        if label:
            q += bytes([len(label)]) + label.encode("ascii")
    q += b"\0" + struct.pack("!HH", qtype, 1)
    return qid, hdr + q


def ask(host, port, name, qtype, timeout):
    qid, pkt = build_query(name, qtype)
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (host, port))
        while True:
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                flags, _qd, an = struct.unpack("!HHH", data[2:8])
                return flags & 0xF, an
    finally:
        s.close()


def main(argv):
    if len(argv) >= 2 and argv[1] == "freeport":
        print(freeport("--v6" in argv[2:]))
        return 0
    if len(argv) >= 5 and argv[1] == "wait":
        host, port, name = argv[2], int(argv[3]), argv[4]
        limit = time.monotonic() + (float(argv[5]) if len(argv) > 5 else 5.0)
        while time.monotonic() < limit:
            try:
                rcode, _ = ask(host, port, name, TYPES["SOA"], 0.2)
                if rcode != 5:  # REFUSED: zone not loaded yet
                    return 0
            except OSError:
                pass
            time.sleep(0.05)
        return 1
    if len(argv) >= 5 and argv[1] == "query":
        qtype = TYPES.get(argv[5].upper(), 1) if len(argv) > 5 else 1
        rcode, an = ask(argv[2], int(argv[3]), argv[4], qtype, 2.0)
        print("rcode=%d ancount=%d" % (rcode, an))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
