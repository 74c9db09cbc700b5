#!/usr/bin/python3
"""milterproto.py - an MTA that misbehaves, speaking the milter protocol itself.

Owns: the "MTA faults" that Postfix will not produce on demand, driven
by a raw milter-protocol (version 6) client straight at alignmilter's
socket: ABORT in the middle of a body followed by a normal message on
the same milter connection, a connection dropped in the middle of a
body (hundreds of times, the milter's RSS watched), a new MAIL without
end of message or ABORT, a reused connection (QUIT_NC), and protocol
garbage (unknown command, oversized and zero lengths).  After every
fault a normal message must get the right Authentication-Results.

  milterproto.py WORK [MILTER_PID] [DROPS]
  milterproto.py one WORK SOCKET_PATH     one normal message over a unix socket
Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import json
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostile                   # noqa: E402

# Protocol constants (libmilter/mfdef.h).
ACTIONS_ALL = 0x1FF
PROTO_ALL = 0x1FFFFF
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NODATA = 0x80, 0x200
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT, NR_DATA, NR_EOH, NR_BODY = 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x40000, 0x80000
HDR_LEADSPC = 0x100000


class Milter:
    def __init__(self, port):
        if isinstance(port, str):          # a unix socket path
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(10)
            self.s.connect(port)
        else:
            self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(60)
        self.proto = 0

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def recv(self):
        hdr = self._exact(4)
        n = struct.unpack("!I", hdr)[0]
        body = self._exact(n)
        return body[:1], body[1:]

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise OSError("milter closed the connection")
            buf += d
        return buf

    def optneg(self, version=6, actions=ACTIONS_ALL, proto=PROTO_ALL):
        self.send(b"O", struct.pack("!III", version, actions, proto))
        cmd, data = self.recv()
        if cmd != b"O":
            raise OSError("bad OPTNEG reply %r" % cmd)
        self.version, self.actions, self.proto = struct.unpack("!III", data[:12])
        self.optneg_tail = data[12:]

    def step(self, cmd, data, skip_flag, nr_flag):
        """Send a stage unless negotiated away; read its reply unless no-reply."""
        if self.proto & skip_flag:
            return None
        self.send(cmd, data)
        if self.proto & nr_flag:
            return None
        return self.recv()

    def connect(self, ip, helo):
        r = self.step(b"C", b"mx.client.example\0" + b"4" + struct.pack("!H", 25000) + ip.encode() + b"\0",
                      NOCONNECT, NR_CONN)
        self.step(b"H", helo.encode() + b"\0", NOHELO, NR_HELO)
        return r

    def message(self, mail_from, msg, qid, cut_body_at=None, abort_after_body=False, qid_at_mail=False):
        """Send one message; return the end-of-message replies [(cmd, data)], or
        None when cut/aborted as asked.  qid_at_mail: the queue id comes with
        MAIL's macros (an MTA that takes no macro list), none at end of message."""
        if qid_at_mail:
            self.send(b"D", b"M" + b"{mail_addr}\0" + mail_from.encode() + b"\0i\0" + qid.encode() + b"\0")
        self.step(b"M", ("<%s>" % mail_from).encode() + b"\0", NOMAIL, NR_MAIL)
        self.step(b"R", b"<inbox@sink.e2e.example>\0", NORCPT, NR_RCPT)
        self.step(b"T", b"", NODATA, NR_DATA)
        head, _, body = msg.partition(b"\r\n\r\n")
        fields = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b"\r\n" + line
            else:
                fields.append(line)
        for f in fields:
            name, _, value = f.partition(b":")
            if not self.proto & HDR_LEADSPC:
                value = value.lstrip(b" ")
            self.step(b"L", name + b"\0" + value + b"\0", NOHDRS, NR_HDR)
        self.step(b"N", b"", NOEOH, NR_EOH)
        chunks = [body[i:i + 65535] for i in range(0, len(body), 65535)] or [b""]
        if cut_body_at is not None:
            self.step(b"B", body[:cut_body_at], NOBODY, NR_BODY)
            return None
        for c in chunks:
            if c:
                self.step(b"B", c, NOBODY, NR_BODY)
        if abort_after_body:
            self.send(b"A")
            return None
        if not qid_at_mail:
            self.send(b"D", b"E" + b"i\0" + qid.encode() + b"\0")
        self.send(b"E")
        out = []
        while True:
            cmd, data = self.recv()
            out.append((cmd, data))
            if cmd in (b"c", b"a", b"r", b"t", b"y", b"d"):
                return out

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.s.close()


def m_data_tail(m):
    """What followed the three words of the milter's OPTNEG answer (a macro list)."""
    return getattr(m, "optneg_tail", b"")


def inserted_ar(replies):
    """Authentication-Results values inserted ('i' = INSHEADER, 'h' = ADDHEADER)."""
    out = []
    for cmd, data in replies or []:
        if cmd == b"i":
            parts = data[4:].split(b"\0")
        elif cmd == b"h":
            parts = data.split(b"\0")
        else:
            continue
        if parts[0].lower() == b"authentication-results":
            out.append(parts[1].decode("utf-8", "replace"))
    return out


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def main(work, pid=None, drops=300):
    env = hostile.Env(work)
    rep = hostile.Report()
    port = env.milter_port
    msg = hostile.normal(env, "milterproto")
    want = hostile.NORMAL_WANT

    def good(name, m, qid):
        r = m.message(hostile.NORMAL_FROM, msg, qid)
        ars = inserted_ar(r)
        final = r[-1][0] if r else None
        rep.check(name, "then a normal message: one Authentication-Results inserted, reply continue",
                  len(ars) == 1 and final == b"c", r)
        if len(ars) == 1:
            hostile.check_ar(rep, name, want, ars[0], [])
        return ars

    # 1. ABORT in the middle of a body, the next message on the same connection.
    m = Milter(port)
    m.optneg()
    rep.check("negotiate", "milter asks for ADDHDRS+CHGHDRS, skips RCPT/DATA, wants HDR_LEADSPC (actions %#x, "
              "protocol %#x)" % (m.actions, m.proto),
              m.actions & 0x11 == 0x11 and m.proto & NORCPT and m.proto & HDR_LEADSPC)
    m.connect(hostile.CLIENT, hostile.HELO)
    m.message(hostile.NORMAL_FROM, msg, "ABORT1", cut_body_at=100)
    m.send(b"A")
    good("abort-mid-body", m, "AFTERABORT1")
    # 2. ABORT after the whole body, before end of message.
    m.message(hostile.NORMAL_FROM, msg, "ABORT2", abort_after_body=True)
    good("abort-before-eom", m, "AFTERABORT2")
    # 3. A new MAIL in the middle of headers: no EOM, no ABORT.
    m.step(b"M", b"<a@forged.example.org>\0", NOMAIL, NR_MAIL)
    m.step(b"L", b"From\0 a@forged.example.org\0", NOHDRS, NR_HDR)
    good("mail-without-eom", m, "AFTERMAIL")
    # 4. A third and fourth message on the same connection.
    good("third-message", m, "THIRD")
    good("fourth-message", m, "FOURTH")
    # 5. QUIT_NC: the same milter connection reused for a new SMTP session.
    m.send(b"K")
    m.connect(hostile.CLIENT, hostile.HELO)
    good("quit-nc-reuse", m, "REUSED")
    m.close()

    # 5b. Older or plainer MTAs: the milter answers what they expect.
    SETSYMLIST = 0x100
    NR_ALL = NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_DATA | NR_EOH | NR_BODY | NR_HDR | 0x20000
    for name, version, actions, proto, what in (
            ("mta-v2", 2, 0x3F, 0, "protocol version 2, no protocol flags: every command answered"),
            ("mta-v6-no-noreply", 6, ACTIONS_ALL, PROTO_ALL & ~NR_ALL, "version 6 without no-reply flags"),
            ("mta-v6-no-leadspc", 6, ACTIONS_ALL, PROTO_ALL & ~HDR_LEADSPC, "header values without their space")):
        m = Milter(port)
        m.optneg(version, actions, proto)
        rep.check(name, "%s (answered version %d, protocol %#x within %#x)" % (what, m.version, m.proto, proto),
                  m.version == version and m.proto & ~proto == 0 and m.actions & ~actions == 0, m.proto)
        r = m.connect(hostile.CLIENT, hostile.HELO)
        if not m.proto & NR_CONN:
            rep.check(name, "connect answered with continue", r is not None and r[0] == b"c", r)
        good(name + " message", m, name.upper())
        good(name + " second message", m, name.upper() + "2")
        m.close()
    # No macro list taken (no SETSYMLIST): the queue id comes from MAIL's macros.
    m = Milter(port)
    m.optneg(6, ACTIONS_ALL & ~SETSYMLIST, PROTO_ALL)
    rep.check("mta-no-symlist", "no macro list asked of an MTA that takes none (actions %#x)" % m.actions,
              not m.actions & SETSYMLIST and len(m_data_tail(m)) == 0)
    m.connect(hostile.CLIENT, hostile.HELO)
    r = m.message(hostile.NORMAL_FROM, msg, "QIDATMAIL", qid_at_mail=True)
    ars = inserted_ar(r)
    rep.check("mta-no-symlist", "then a normal message: one Authentication-Results inserted",
              len(ars) == 1 and r[-1][0] == b"c", r)
    m.close()
    log_text = open(os.path.join(work, "milter.log"), errors="replace").read() if os.path.exists(
        os.path.join(work, "milter.log")) else None
    if log_text is not None:
        rep.check("mta-no-symlist", "the verdict line names the queue id sent with MAIL",
                  "QIDATMAIL" in log_text)

    # 6. Connections dropped in the middle of a body; the milter must free them.
    def drop_some(n):
        for i in range(n):
            d = Milter(port)
            d.optneg()
            d.connect(hostile.CLIENT, hostile.HELO)
            d.message(hostile.NORMAL_FROM, msg, "DROP%d" % i, cut_body_at=200 + i % 500)
            d.s.close()

    drop_some(50)                     # warm up pools and caches
    time.sleep(0.5)
    rss0 = rss_kb(pid) if pid else None
    t0 = time.time()
    drop_some(drops)
    time.sleep(1.0)
    rss1 = rss_kb(pid) if pid else None
    rep.check("drop-mid-body", "%d connections closed in the middle of a body (%.1f s)" % (drops, time.time() - t0),
              True)
    if rss0 and rss1:
        grow = rss1 - rss0
        asan = os.environ.get("ROBUST_ASAN")   # ASan's quarantine keeps freed memory resident
        rep.check("drop-mid-body", "milter RSS %d KiB -> %d KiB after %d drops (%s)"
                  % (rss0, rss1, drops, "not bounded under ASan" if asan else "growth < 4 MiB"),
                  asan or grow < 4096)
        with open(os.path.join(work, "outcomes-milter.txt"), "a") as f:
            f.write("| drop-mid-body | %d milter connections closed mid-body | RSS %d -> %d KiB | |\n"
                    % (drops, rss0, rss1))
    m = Milter(port)
    m.optneg()
    m.connect(hostile.CLIENT, hostile.HELO)
    good("after-drops", m, "AFTERDROPS")
    m.close()

    # 7. Protocol garbage: the milter drops that connection, serves the next.
    for name, raw in (("unknown-command", struct.pack("!I", 1) + b"Z"),
                      ("zero-length", struct.pack("!I", 0)),
                      ("oversized-length", struct.pack("!I", 0x7FFFFFF0) + b"L"),
                      ("header-before-negotiation", struct.pack("!I", 7) + b"Lab\0cd\0"),
                      ("truncated-packet", struct.pack("!I", 100) + b"M<a@b")):
        g = socket.create_connection(("127.0.0.1", port), 10)
        g.settimeout(10)
        try:
            g.sendall(raw)
            g.shutdown(socket.SHUT_WR)
            while g.recv(4096):
                pass
            closed = True
        except OSError:
            closed = True
        except socket.timeout:
            closed = False
        g.close()
        rep.check("garbage " + name, "milter closed the connection", closed)
        m = Milter(port)
        m.optneg()
        m.connect(hostile.CLIENT, hostile.HELO)
        good("after garbage " + name, m, "AFTERGARBAGE")
        m.close()
    print("# milter protocol faults: %d passed, %d failed" % (rep.passed, rep.failed))
    return rep


def one(work, path):
    """One normal message over a unix socket (the privilege-drop check)."""
    env = hostile.Env(work)
    rep = hostile.Report()
    m = Milter(path)
    m.optneg()
    m.connect(hostile.CLIENT, hostile.HELO)
    r = m.message(hostile.NORMAL_FROM, hostile.normal(env, "unix"), "UNIX1")
    m.close()
    ars = inserted_ar(r)
    rep.check("unix-socket", "a message over %s: one Authentication-Results" % path, len(ars) == 1, r)
    if ars:
        hostile.check_ar(rep, "unix-socket", hostile.NORMAL_WANT, ars[0], [])
    return rep


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "one":
        sys.exit(0 if one(sys.argv[2], sys.argv[3]).failed == 0 else 1)
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    r = main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None,
             int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    sys.exit(0 if r.failed == 0 else 1)
