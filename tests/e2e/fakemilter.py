#!/usr/bin/python3
"""fakemilter.py - a minimal milter (protocol 6) that reports what it saw.

Owns: checking the harness itself, independently of alignmilter: that
Postfix hands the XCLIENT address and HELO to a milter, that the queue id
macro arrives, and where a header inserted at index 0 lands in the
delivered message.  At end of message it inserts, at index 0,
  X-E2E-Milter: family=4 addr=192.0.2.10 helo=... qid=... first=<first header it saw>

  fakemilter.py HOST PORT [PIDFILE]    serve until SIGTERM/SIGINT
"""
import os
import signal
import socketserver
import struct
import sys
import threading

SMFIF_ADDHDRS, SMFIF_CHGHDRS = 0x01, 0x10


class Handler(socketserver.BaseRequestHandler):
    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def send(self, cmd, data=b""):
        self.request.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def handle(self):
        st = {}
        try:
            while True:
                (n,) = struct.unpack("!I", self.recv_exact(4))
                pkt = self.recv_exact(n)
                cmd, data = pkt[:1], pkt[1:]
                if cmd == b"O":
                    self.send(b"O", struct.pack("!III", 6, SMFIF_ADDHDRS | SMFIF_CHGHDRS, 0))
                elif cmd == b"D":
                    parts = data[1:].split(b"\0")
                    for k, v in zip(parts[0::2], parts[1::2]):
                        st["macro:" + k.decode()] = v.decode()
                elif cmd == b"C":
                    host, rest = data.split(b"\0", 1)
                    fam = rest[:1].decode()
                    addr = rest[3:].rstrip(b"\0").decode() if fam in "46" else ""
                    st.update(family=fam, addr=addr, host=host.decode())
                    self.send(b"c")
                elif cmd == b"H":
                    st["helo"] = data.rstrip(b"\0").decode()
                    self.send(b"c")
                elif cmd == b"L":
                    name = data.split(b"\0", 1)[0].decode()
                    st.setdefault("first", name)
                    self.send(b"c")
                elif cmd in (b"M", b"R", b"T", b"N", b"B", b"U"):
                    self.send(b"c")
                elif cmd == b"E":
                    val = "family=%s addr=%s helo=%s qid=%s first=%s" % (
                        st.get("family"), st.get("addr"), st.get("helo"),
                        st.get("macro:i"), st.get("first"))
                    self.send(b"i", struct.pack("!I", 0) + b"X-E2E-Milter\0" + val.encode() + b"\0")
                    self.send(b"c")
                    st.pop("first", None)
                elif cmd == b"A":
                    st.pop("first", None)
                elif cmd in (b"Q",):
                    return
                elif cmd == b"K":
                    st = {}
                else:
                    self.send(b"c")
        except (EOFError, OSError):
            return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    srv = Server((argv[1], int(argv[2])), Handler)
    if len(argv) == 4:
        with open(argv[3], "w") as f:
            f.write("%d\n" % os.getpid())

    def stop(_sig, _frm):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main(sys.argv)
