#!/usr/bin/python3
"""mtaclient.py - the MTA side of the milter protocol, for tests/connlimit.test
and tests/quitnc.test: a small version-6 client, and the two scenarios.

  mtaclient.py flood HOST PORT PID [N]
      N (default 2000) idle connections and a client that never reads,
      against the milter at HOST:PORT (process PID): a session opened before
      keeps its verdict (DNS keeps its descriptors), new sessions are
      refused at once while the cap holds and served again once the flood
      closes, the milter's RSS and threads stay bounded, it never dies.
  mtaclient.py cap HOST PORT N
      with MaxConnections N: N sessions served, the next refused at once,
      one served again after a session closed.
  mtaclient.py quitnc HOST PORT
      one milter connection, a message, SMFIC_QUIT_NC, a new SMTP session
      and a message on the same connection: the second is handled under
      the flags negotiated first (no reply where a no-reply flag was
      negotiated, our header value with its leading space).

The mail: client 192.0.2.7, MAIL FROM and From at connlimit.example, whose
zone (served by the test's nsd) says "v=spf1 ip4:192.0.2.0/24 -all" and
"v=DMARC1; p=none": spf=pass, dmarc=pass when DNS works.  Prints
"ok - ..." / "not ok - ..." lines and "# ..." figures; exit 1 on a failure.
"""
import os
import resource
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True

# libmilter/mfdef.h
ACTIONS_ALL = 0x1FF
PROTO_ALL = 0x1FFFFF
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NODATA = 0x80, 0x200
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT, NR_DATA, NR_EOH, NR_BODY = (0x1000, 0x2000, 0x4000, 0x8000,
                                                               0x10000, 0x40000, 0x80000)
HDR_LEADSPC = 0x100000
FINAL = (b"c", b"a", b"r", b"t", b"y", b"d")

CLIENT, HELO = "192.0.2.7", "mail.connlimit.example"
ZONE = "connlimit.example"
MESSAGE = ("From: Alice <alice@%s>\r\nTo: bob@sink.example\r\n"
           "Subject: through the milter\r\nMessage-ID: <%d@%s>\r\n\r\nHello.\r\n")

failed = 0
# A sanitizer build (connlimit.test sets it): ASan keeps freed memory, RSS says nothing.
ASAN = os.environ.get("MTACLIENT_ASAN") == "1"


def check(cond, desc, detail=None):
    global failed
    print("%s - %s" % ("ok" if cond else "not ok", desc))
    if not cond:
        failed += 1
        if detail is not None:
            print("#   %r" % (detail,))
    sys.stdout.flush()
    return cond


def pkt(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


class Milter:
    """One MTA connection to the milter."""

    def __init__(self, host, port, timeout=10):
        self.s = socket.create_connection((host, port), timeout)
        self.s.settimeout(timeout)
        self.proto = 0

    def send(self, cmd, data=b""):
        self.s.sendall(pkt(cmd, data))

    def recv(self):
        n = struct.unpack("!I", self._exact(4))[0]
        body = self._exact(n)
        return body[:1], body[1:]

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise EOFError("the milter closed the connection")
            buf += d
        return buf

    def optneg(self, proto=PROTO_ALL):
        self.send(b"O", struct.pack("!III", 6, ACTIONS_ALL, proto))
        cmd, data = self.recv()
        if cmd != b"O":
            raise OSError("bad OPTNEG reply %r" % cmd)
        self.version, self.actions, self.proto = struct.unpack("!III", data[:12])

    def step(self, cmd, data, skip_flag, nr_flag):
        """Send a stage unless negotiated away; read its reply unless no-reply."""
        if self.proto & skip_flag:
            return None
        self.send(cmd, data)
        if self.proto & nr_flag:
            return None
        return self.recv()

    def connect(self, ip=CLIENT, helo=HELO):
        r = self.step(b"C", b"mx.client.example\0" + b"4" + struct.pack("!H", 25000) + ip.encode() + b"\0",
                      NOCONNECT, NR_CONN)
        self.step(b"H", helo.encode() + b"\0", NOHELO, NR_HELO)
        return r

    def message(self, qid, domain=ZONE):
        """One message from alice@domain; the end-of-message replies [(cmd, data)].
        A domain under connlimit.example the milter has not seen needs fresh
        lookups (the zone has a wildcard SPF record)."""
        msg = (MESSAGE % (domain, int(time.time() * 1e6), domain)).encode()
        self.step(b"M", ("<alice@%s>" % domain).encode() + b"\0", NOMAIL, NR_MAIL)
        self.step(b"R", b"<bob@sink.example>\0", NORCPT, NR_RCPT)
        self.step(b"T", b"", NODATA, NR_DATA)
        head, _, body = msg.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if not self.proto & HDR_LEADSPC:
                value = value.lstrip(b" ")
            self.step(b"L", name + b"\0" + value + b"\0", NOHDRS, NR_HDR)
        self.step(b"N", b"", NOEOH, NR_EOH)
        if body:
            self.step(b"B", body, NOBODY, NR_BODY)
        self.send(b"D", b"E" + b"i\0" + qid.encode() + b"\0")
        self.send(b"E")
        out = []
        while True:
            cmd, data = self.recv()
            out.append((cmd, data))
            if cmd in FINAL:
                return out

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.s.close()


def inserted_ar(replies):
    """Values of the Authentication-Results fields inserted ('i' = INSHEADER)."""
    out = []
    for cmd, data in replies or []:
        if cmd == b"i":
            parts = data[4:].split(b"\0")
            if parts[0].lower() == b"authentication-results":
                out.append(parts[1].decode("utf-8", "replace"))
    return out


def verdict_ok(replies):
    """One A-R of ours with spf=pass and dmarc=pass, and continue."""
    ars = inserted_ar(replies)
    return (len(ars) == 1 and replies[-1][0] == b"c" and "spf=pass" in ars[0]
            and "dmarc=pass" in ars[0]), ars


def status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def state(sock):
    """'refused' (EOF or reset, after any replies) or 'open'; reads what waits."""
    sock.settimeout(0)          # a socket with a timeout would wait for data first
    try:
        while sock.recv(65536):
            pass
        return "refused"
    except BlockingIOError:
        return "open"
    except OSError:
        return "refused"


def refused_within(host, port, seconds):
    """A new MTA session: (how it ended, seconds until then)."""
    t0 = time.time()
    try:
        m = Milter(host, port, timeout=seconds)
        m.optneg()
    except (EOFError, ConnectionError):
        return "refused", time.time() - t0
    except socket.timeout:
        return "no answer", time.time() - t0
    except OSError as e:
        return "error %s" % e, time.time() - t0
    m.close()
    return "served", time.time() - t0


def flood(host, port, pid, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 512)), hard))
    port = int(port)

    # A Postfix session opened before the flood: its next message must still be verified.
    pre = Milter(host, port)
    pre.optneg()
    pre.connect()
    ok, ars = verdict_ok(pre.message("PRE1"))
    check(ok, "before the flood: a message gets spf=pass dmarc=pass", ars)
    rss0 = status(pid, "VmRSS")

    # A client that never reads: every command answered (no no-reply flag), replies never read.
    deaf = Milter(host, port)
    deaf.optneg(proto=0)
    deaf.s.setblocking(False)
    sent = 0
    helo = pkt(b"H", b"deaf.example\0")
    try:
        while sent < 64 * 1024 * 1024:
            sent += deaf.s.send(helo * 512)
    except BlockingIOError:
        pass
    print("# the client that never reads wrote %d bytes before its socket filled" % sent)

    # Silent connections (TCP, never a byte): the kernel holds them (TCP_DEFER_ACCEPT) until they
    # speak, so they take neither a thread nor a slot of the cap.
    threads0 = status(pid, "Threads")
    silent = [socket.create_connection((host, port), 5) for _ in range(200)]
    time.sleep(0.5)
    threads1 = status(pid, "Threads")
    check(threads0 is not None and threads1 is not None and threads1 <= threads0 + 2,
          "200 connections that send nothing take no milter thread (%s threads before, %s with them)"
          % (threads0, threads1), (threads0, threads1))

    # The flood: n connections, each negotiating as an MTA does at once, none sending more.
    t0 = time.time()
    flood_socks, failed_connects = [], 0
    for _i in range(n):
        try:
            s = socket.create_connection((host, port), 5)
            s.sendall(pkt(b"O", struct.pack("!III", 6, ACTIONS_ALL, PROTO_ALL)))
            flood_socks.append(s)
        except OSError:
            failed_connects += 1
    print("# %d connections opened in %.1f s (%d connects failed)" % (len(flood_socks), time.time() - t0,
                                                                     failed_connects))
    time.sleep(1.5)
    states = [state(s) for s in flood_socks]
    refused, held = states.count("refused"), len(states) - states.count("refused")
    print("# flood: %d held by the milter, %d refused at once" % (held, refused))
    check(refused > 0 and held > 0, "over the cap, connections are refused at once (EOF, not a timeout)",
          (held, refused))

    how, secs = refused_within(host, port, 5)
    check(how == "refused" and secs < 2, "a new MTA session meanwhile ends at once, so the MTA applies "
          "milter_default_action (%s after %.2f s)" % (how, secs), (how, secs))

    t1 = time.time()
    try:
        ok, ars = verdict_ok(pre.message("PRE2", "during-flood." + ZONE))
    except (OSError, EOFError) as e:
        ok, ars = False, str(e)
    check(ok, "during the flood the session opened before still gets spf=pass dmarc=pass, "
          "from a domain not looked up before (DNS has descriptors; %.2f s)" % (time.time() - t1), ars)

    rss, hwm, threads = status(pid, "VmRSS"), status(pid, "VmHWM"), status(pid, "Threads")
    print("# milter RSS %s KiB before the flood, %s KiB during it (peak %s KiB), %s threads"
          % (rss0, rss, hwm, threads))
    check(ASAN or (rss is not None and rss < 160 * 1024), "RSS during the flood stays under 160 MiB (%s KiB%s)"
          % (rss, ", ASan build: not asserted" if ASAN else ""), rss)
    check(threads is not None and threads <= held + 40,
          "threads stay at the connections held plus a few (%s for %d held)" % (threads, held), threads)
    check(status(pid, "VmRSS") is not None, "the milter is alive during the flood")

    for s in flood_socks + silent:
        s.close()
    deaf.s.close()
    deadline = time.time() + 10
    how = "not tried"
    while time.time() < deadline:
        how, secs = refused_within(host, port, 5)
        if how == "served":
            break
        time.sleep(0.2)
    check(how == "served", "once the flood closes, new sessions are served again", how)
    try:
        post = Milter(host, port)
        post.optneg()
        post.connect()
        ok, ars = verdict_ok(post.message("POST1", "after-flood." + ZONE))
        post.close()
    except (OSError, EOFError) as e:
        ok, ars = False, str(e)
    check(ok, "and a new session's message gets spf=pass dmarc=pass", ars)
    try:
        ok, ars = verdict_ok(pre.message("PRE3"))
        pre.close()
    except (OSError, EOFError) as e:
        ok, ars = False, str(e)
    check(ok, "the session opened before the flood still works", ars)
    print("# milter RSS after the flood closed: %s KiB" % status(pid, "VmRSS"))
    check(status(pid, "VmRSS") is not None, "the milter is alive after the flood")


def big_packets(host, port, pid, n):
    """n connections each send most of a 1 MiB packet: memory stays within the budget."""
    port = int(port)
    rss0 = status(pid, "VmRSS")
    socks, chunk, cut = [], b"x" * (1024 * 1024 - 2), 0
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), 5)
            socks.append(s)
            s.sendall(pkt(b"O", struct.pack("!III", 6, ACTIONS_ALL, PROTO_ALL)))
            s.sendall(struct.pack("!I", 1024 * 1024) + b"B" + chunk)
        except OSError:
            cut += 1            # closed by the milter while still sending
    time.sleep(1.5)
    states = [state(s) for s in socks]
    closed = states.count("refused")
    rss = status(pid, "VmRSS")
    grew = (rss - rss0) // 1024 if rss and rss0 else None
    print("# %d connections each sending most of a 1 MiB packet: %d closed by the milter (%d while "
          "sending); RSS %s -> %s KiB" % (len(socks), closed, cut, rss0, rss))
    check(0 < closed < len(socks), "input buffers past the 64 MiB budget: those connections are closed "
          "(%d of %d), the others held" % (closed, len(socks)), closed)
    check(ASAN or (grew is not None and grew < 80), "RSS grows by less than 80 MiB (%s MiB%s)"
          % (grew, ", ASan build: not asserted" if ASAN else ""), grew)
    for s in socks:
        s.close()
    time.sleep(0.5)
    try:
        m = Milter(host, port)
        m.optneg()
        m.connect()
        ok, ars = verdict_ok(m.message("BIG1"))
        m.close()
    except (OSError, EOFError) as e:
        ok, ars = False, str(e)
    check(ok, "afterwards a message gets spf=pass dmarc=pass", ars)


def cap(host, port, n):
    """MaxConnections n: n sessions served, the next ones refused, one served after a close."""
    port, n = int(port), int(n)
    held, outcomes = [], []
    for _ in range(n + 2):
        try:
            m = Milter(host, port, 5)
            m.optneg()
            held.append(m)
            outcomes.append("served")
        except (EOFError, ConnectionError):
            outcomes.append("refused")
        except OSError as e:
            outcomes.append("error %s" % e)
    check(outcomes == ["served"] * n + ["refused"] * 2, "MaxConnections %d: %d sessions served, "
          "the next two refused at once" % (n, n), outcomes)
    held.pop(0).close()
    deadline, how = time.time() + 5, None
    while time.time() < deadline:
        how, _ = refused_within(host, port, 5)
        if how == "served":
            break
        time.sleep(0.1)
    check(how == "served", "one closed: a new session is served", how)
    for m in held:
        m.close()


def quitnc(host, port):
    port = int(port)
    m = Milter(host, port)
    m.optneg()
    check(m.proto & HDR_LEADSPC and m.proto & NR_HDR, "negotiated HDR_LEADSPC and the no-reply flags "
          "(protocol %#x)" % m.proto, m.proto)
    m.connect()
    ok, ars = verdict_ok(m.message("FIRST"))
    check(ok and ars[0].startswith(" "), "first session: one A-R, its value with the leading space "
          "HDR_LEADSPC asks for", ars)
    m.send(b"K")			# QUIT_NC: the same connection serves the next SMTP session
    m.connect()
    try:
        r = m.message("SECOND")
        ok, ars = verdict_ok(r)
        extra = [c for c, _ in r if c not in (b"i", b"c")]
    except (OSError, EOFError, socket.timeout) as e:
        ok, ars, extra = False, str(e), None
    check(ok, "after QUIT_NC: the next session's message is verified (spf=pass dmarc=pass)", ars)
    check(extra == [], "after QUIT_NC: no reply where a no-reply flag was negotiated", extra)
    check(ok and ars[0].startswith(" "), "after QUIT_NC: our header value keeps its leading space "
          "(HDR_LEADSPC still applies)", ars)
    m.send(b"K")
    m.connect()
    ok, ars = verdict_ok(m.message("THIRD"))
    check(ok and ars[0].startswith(" "), "a second QUIT_NC: the same", ars)
    m.close()


def main(argv):
    if len(argv) >= 5 and argv[1] == "flood":
        n = int(argv[5]) if len(argv) > 5 else 2000
        flood(argv[2], argv[3], int(argv[4]), n)
        big_packets(argv[2], argv[3], int(argv[4]), 128)
    elif len(argv) == 5 and argv[1] == "cap":
        cap(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "quitnc":
        quitnc(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
