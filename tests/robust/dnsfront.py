#!/usr/bin/python3
"""dnsfront.py - the robustness tests' DNS server: a router and a liar.

Owns: the one nameserver alignmilter is pointed at during tests/robust.
Queries under ZONE (dyn.hostile.example) are answered here, with the
behaviours an authoritative nsd cannot be made to show; every other query
is relayed, over the transport it came on, to an upstream nsd chosen by
the longest matching suffix (ROUTE arguments).  stdlib only, UDP and TCP,
127.0.0.1 only.

Behaviours under ZONE (the label right below ZONE names it; any name
below that label behaves the same, e.g. s7._domainkey.blackhole.ZONE):
  blackhole   never answers (UDP nor TCP): the lookup must time out
  servfail    RCODE 2
  tc          over UDP: TC=1 and no answer; over TCP: the SPF record
  spf50       one TXT record of 50 strings (their concatenation is SPF)
  rr50        50 TXT records, one of them SPF
  anything else: NXDOMAIN
The SPF answered allows 203.0.113.0/24 and 2001:db8:ed::/48.

  dnsfront.py PORT LOGFILE [--silent] [SUFFIX=UPSTREAM_PORT ...]
      --silent: answer nothing at all (a dead nameserver).
      LOGFILE gets one line per query: "udp|tcp NAME TYPE -> what".
"""
import socket
import socketserver
import struct
import sys
import threading

ZONE = "dyn.hostile.example"
SPF = "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:ed::/48 -all"
T_TXT, T_OPT = 16, 41

_log_lock = threading.Lock()
_log = None


def log(line):
    with _log_lock:
        _log.write(line + "\n")
        _log.flush()


def parse_query(pkt):
    """(id, flags, qname lower-case text, qtype, qend offset, edns udp size or 0)."""
    if len(pkt) < 12:
        raise ValueError("short")
    qid, flags, qd, _an, _ns, ar = struct.unpack("!HHHHHH", pkt[:12])
    if qd != 1:
        raise ValueError("qdcount")
    off, labels = 12, []
    while True:
        n = pkt[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compressed qname")
        labels.append(pkt[off:off + n])
        off += n
    qtype, _qclass = struct.unpack("!HH", pkt[off:off + 4])
    qend = off + 4
    edns = 0
    if ar >= 1 and len(pkt) >= qend + 11 and pkt[qend] == 0:
        rtype, rclass = struct.unpack("!HH", pkt[qend + 1:qend + 5])
        if rtype == T_OPT:
            edns = rclass
    name = b".".join(labels).decode("latin-1").lower()
    return qid, flags, name, qtype, qend, edns


def txt_rdata(strings):
    out = b""
    for s in strings:
        b = s.encode()
        assert len(b) <= 255
        out += bytes([len(b)]) + b
    return out


def answer(pkt, qend, flags, rcode, rrs, tc=False, edns=0):
    """A reply to pkt: rrs is a list of (type, rdata) for the question name."""
    qid = struct.unpack("!H", pkt[:2])[0]
    rd = flags & 0x0100
    f = 0x8000 | 0x0400 | rd | (0x0200 if tc else 0) | rcode   # QR AA [TC] RD
    body = pkt[12:qend]
    for rtype, rdata in rrs:
        body += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    arcount = 0
    if edns:
        body += b"\x00" + struct.pack("!HHIH", T_OPT, 1232, 0, 0)
        arcount = 1
    return struct.pack("!HHHHHH", qid, f, 1, len(rrs), 0, arcount) + body


def behaviour(name):
    if name != ZONE and name.endswith("." + ZONE):
        return name[:-len(ZONE) - 1].rsplit(".", 1)[-1]
    return None


def synthesize(pkt, transport):
    """The reply for a query under ZONE, or None to stay silent."""
    qid, flags, name, qtype, qend, edns = parse_query(pkt)
    what = behaviour(name)
    rrs, rcode, tc = [], 0, False
    is_spf_name = name.split(".", 1)[0] == what   # the label itself, not a child
    if what == "blackhole":
        log("%s %s %d -> (no answer)" % (transport, name, qtype))
        return None
    if what == "servfail":
        rcode = 2
    elif what == "tc" and is_spf_name and qtype == T_TXT:
        if transport == "udp":
            tc = True
        else:
            rrs = [(T_TXT, txt_rdata([SPF]))]
    elif what == "spf50" and is_spf_name and qtype == T_TXT:
        words = ["v=spf1"] + ["ip4:198.18.%d.0/24" % i for i in range(48)] + [SPF[len("v=spf1 "):]]
        strings = [w + " " for w in words[:-1]] + [words[-1]]
        assert len(strings) == 50
        rrs = [(T_TXT, txt_rdata(strings))]
    elif what == "rr50" and is_spf_name and qtype == T_TXT:
        rrs = [(T_TXT, txt_rdata(["junk record %d: %s" % (i, "x" * 40)])) for i in range(49)]
        rrs.insert(25, (T_TXT, txt_rdata([SPF])))
    elif what in ("tc", "spf50", "rr50") and is_spf_name:
        pass                      # NOERROR, no data (A, AAAA, ...)
    else:
        rcode = 3                 # NXDOMAIN
    reply = answer(pkt, qend, flags, rcode, rrs, tc=tc, edns=edns)
    limit = max(512, min(edns, 1232)) if edns else 512
    if transport == "udp" and len(reply) > limit:
        reply = answer(pkt, qend, flags, rcode, [], tc=True, edns=edns)
        tc = True
    log("%s %s %d -> rcode %d, %d RR%s" % (transport, name, qtype, rcode, len(rrs) if not tc else 0,
                                          ", TC" if tc else ""))
    return reply


class Front:
    def __init__(self, routes, silent):
        self.routes = sorted(routes, key=lambda r: -len(r[0]))
        self.silent = silent

    def upstream(self, name):
        for suffix, port in self.routes:
            if suffix == "" or name == suffix or name.endswith("." + suffix):
                return port
        return None

    def handle(self, pkt, transport):
        if self.silent:
            return None
        try:
            name = parse_query(pkt)[2]
        except (ValueError, IndexError, struct.error):
            return None
        if name == ZONE or name.endswith("." + ZONE):
            return synthesize(pkt, transport)
        port = self.upstream(name)
        if port is None:
            return None
        try:
            if transport == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(3)
                    s.sendto(pkt, ("127.0.0.1", port))
                    return s.recv(65535)
            with socket.create_connection(("127.0.0.1", port), 3) as s:
                s.sendall(struct.pack("!H", len(pkt)) + pkt)
                n = struct.unpack("!H", recv_exact(s, 2))[0]
                return recv_exact(s, n)
        except OSError:
            return None


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("short read")
        buf += chunk
    return buf


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        pkt, sock = self.request
        reply = self.server.front.handle(pkt, "udp")
        if reply is not None:
            sock.sendto(reply, self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        try:
            while True:
                n = struct.unpack("!H", recv_exact(s, 2))[0]
                reply = self.server.front.handle(recv_exact(s, n), "tcp")
                if reply is None:
                    # A silent TCP server: hold the connection until the client goes.
                    while s.recv(512):
                        pass
                    return
                s.sendall(struct.pack("!H", len(reply)) + reply)
        except (OSError, struct.error):
            return


class UDPServer(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv):
    global _log
    if len(argv) < 3:
        sys.exit(__doc__)
    port = int(argv[1])
    _log = open(argv[2], "a")
    silent = "--silent" in argv[3:]
    routes = []
    for a in argv[3:]:
        if "=" in a:
            suffix, up = a.split("=", 1)
            routes.append((suffix.lower().rstrip("."), int(up)))
    front = Front(routes, silent)
    servers = [UDPServer(("127.0.0.1", port), UDPHandler), TCPServer(("127.0.0.1", port), TCPHandler)]
    for srv in servers:
        srv.front = front
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("# dnsfront on 127.0.0.1:%d%s routes %r" % (port, " (silent)" if silent else "", routes))
    threading.Event().wait()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except KeyboardInterrupt:
        pass
