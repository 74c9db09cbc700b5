#!/usr/bin/python3
"""dnsdelay.py - a DNS relay that adds a fixed delay to every answer.

Owns: listening on HOST:PORT (UDP and TCP), forwarding each query as it is
to one upstream server (the benchmark's nsd), and sending the upstream's
answer back DELAY milliseconds after the query arrived - each query on its
own thread, so queries in flight at the same time are each delayed DELAY,
not queued behind one another: a resolver that overlaps its lookups sees
one DELAY for all of them, one that chains them sees one DELAY per link.
That makes a cold DNS cache's cost visible on loopback (tests/bench).

Log (LOG, one line per query, written when its answer has been sent, flushed):
    <received> <answered|-> <udp|tcp> <query name> <type> id=<DNS id> refs=<names|->
times in unix seconds with 6 decimals ("-": no answer from the upstream);
refs = the names the answer points at - CNAME and MX targets, and in a TXT
answer the domains of SPF's include:, redirect=, a:, mx:, exists: terms -
so bench.py can tell which query needed which answer first.  bench.py
slices the log by time to count the queries of one message, to see which
of them were in flight together and how long the chain of dependent ones is.

    dnsdelay.py HOST PORT UPSTREAM_IP UPSTREAM_PORT DELAY_MS LOG
Stdlib only.  Stops on SIGTERM/SIGINT.
"""
import re
import signal
import socket
import struct
import sys
import threading
import time

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
         33: "SRV", 43: "DS", 46: "RRSIG", 48: "DNSKEY", 99: "SPF", 255: "ANY"}
UPSTREAM_TIMEOUT = 3.0      # the client retries on its own if an answer is lost


class Relay:
    def __init__(self, upstream, delay, logpath):
        self.upstream = upstream
        self.delay = delay
        self.logf = open(logpath, "a")
        self.loglock = threading.Lock()

    def note(self, t, proto, pkt, ans):
        qid, name, qtype = question(pkt)
        refs = sorted(references(ans)) if ans else []
        with self.loglock:
            self.logf.write("%.6f %s %s %s %s id=%d refs=%s\n" % (
                t, "%.6f" % time.time() if ans else "-", proto, name, qtype, qid, ",".join(refs) or "-"))
            self.logf.flush()

    def wait_until(self, t0):
        """Sleep until DELAY after t0 (the query's arrival)."""
        left = t0 + self.delay - time.monotonic()
        if left > 0:
            time.sleep(left)

    # ---- UDP: one thread per query, answers sent from the listening socket
    def udp_query(self, sock, pkt, client, t0, wall):
        ans = None
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(UPSTREAM_TIMEOUT)
                up.connect(self.upstream)
                up.send(pkt)
                while True:
                    ans = up.recv(65535)
                    if ans[:2] == pkt[:2]:
                        break
            self.wait_until(t0)
            sock.sendto(ans, client)
        except OSError:
            ans = None  # lost: the client's own retry asks again
        self.note(wall, "udp", pkt, ans)

    def serve_udp(self, sock):
        while True:
            pkt, client = sock.recvfrom(65535)
            t0 = time.monotonic()
            if len(pkt) < 12:
                continue
            threading.Thread(target=self.udp_query, args=(sock, pkt, client, t0, time.time()),
                             daemon=True).start()

    # ---- TCP: one thread per connection, one more per query on it
    def tcp_query(self, conn, wlock, pkt, t0, wall):
        ans = None
        try:
            with socket.create_connection(self.upstream, UPSTREAM_TIMEOUT) as up:
                up.sendall(struct.pack("!H", len(pkt)) + pkt)
                n = struct.unpack("!H", recv_exact(up, 2))[0]
                ans = recv_exact(up, n)
            self.wait_until(t0)
            with wlock:
                conn.sendall(struct.pack("!H", len(ans)) + ans)
        except (OSError, struct.error):
            ans = None
        self.note(wall, "tcp", pkt, ans)

    def tcp_conn(self, conn):
        wlock = threading.Lock()
        with conn:
            try:
                while True:
                    n = struct.unpack("!H", recv_exact(conn, 2))[0]
                    pkt = recv_exact(conn, n)
                    t0 = time.monotonic()
                    if len(pkt) < 12:
                        return
                    th = threading.Thread(target=self.tcp_query, args=(conn, wlock, pkt, t0, time.time()),
                                          daemon=True)
                    th.start()
            except (OSError, struct.error):
                pass
            # Let answers still on their way reach the client before closing.
            time.sleep(self.delay + UPSTREAM_TIMEOUT)

    def serve_tcp(self, lsock):
        while True:
            conn, _ = lsock.accept()
            threading.Thread(target=self.tcp_conn, args=(conn,), daemon=True).start()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def question(pkt):
    """(id, name, type) of a query's first question; '?' parts when malformed."""
    qid = struct.unpack("!H", pkt[:2])[0]
    labels, i = [], 12
    try:
        while pkt[i] != 0:
            if pkt[i] >= 0xc0:      # no compression in a question; give up
                return qid, "?", "?"
            labels.append(pkt[i + 1:i + 1 + pkt[i]].decode("ascii", "replace"))
            i += 1 + pkt[i]
        qtype = struct.unpack("!H", pkt[i + 1:i + 3])[0]
    except (IndexError, struct.error):
        return qid, "?", "?"
    return qid, ".".join(labels) + ".", TYPES.get(qtype, "TYPE%d" % qtype)


def name_at(pkt, i):
    """(name, offset after it) of a possibly compressed name at i."""
    labels, end, hops = [], None, 0
    while True:
        n = pkt[i]
        if n >= 0xc0:
            if end is None:
                end = i + 2
            i = ((n & 0x3f) << 8) | pkt[i + 1]
            hops += 1
            if hops > 32:
                raise IndexError("compression loop")
            continue
        if n == 0:
            return ".".join(labels).lower(), (end if end is not None else i + 1)
        labels.append(pkt[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n


SPF_TERM = re.compile(r"(?i)^[+?~-]?(include:|redirect=|a:|mx:|exists:)([^/\s]+)")


def references(pkt):
    """Names an answer points at (see the header comment); empty when unparsable."""
    refs = set()
    try:
        qd, an = struct.unpack("!HH", pkt[4:8])
        i = 12
        for _ in range(qd):
            i = name_at(pkt, i)[1] + 4
        for _ in range(an):
            i = name_at(pkt, i)[1]
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", pkt[i:i + 10])
            rd = i + 10
            if rtype == 5:
                refs.add(name_at(pkt, rd)[0])
            elif rtype == 15:
                refs.add(name_at(pkt, rd + 2)[0])
            elif rtype == 16:
                txt, j = b"", rd
                while j < rd + rdlen:
                    txt += pkt[j + 1:j + 1 + pkt[j]]
                    j += 1 + pkt[j]
                for term in txt.decode("ascii", "replace").split():
                    m = SPF_TERM.match(term)
                    if m and "%" not in m.group(2):
                        refs.add(m.group(2).rstrip(".").lower())
            i = rd + rdlen
    except (IndexError, struct.error):
        pass
    return {r.rstrip(".") + "." for r in refs if r}


def main(argv):
    if len(argv) != 7:
        sys.stderr.write("usage: dnsdelay.py HOST PORT UPSTREAM_IP UPSTREAM_PORT DELAY_MS LOG\n")
        return 2
    host, port = argv[1], int(argv[2])
    relay = Relay((argv[3], int(argv[4])), float(argv[5]) / 1000.0, argv[6])
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((host, port))
    ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ts.bind((host, port))
    ts.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=relay.serve_tcp, args=(ts,), daemon=True).start()
    sys.stdout.write("dnsdelay: %s:%d -> %s:%s, answers delayed %s ms\n" % (host, port, argv[3], argv[4], argv[5]))
    sys.stdout.flush()
    try:
        relay.serve_udp(us)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
