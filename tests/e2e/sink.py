#!/usr/bin/python3
"""sink.py - a tiny SMTP sink for the end-to-end tests (stdlib only).

Owns: accepting every message Postfix relays to it and writing each one,
complete, to DIR/N.eml (written to a temporary name, then renamed, so a
reader polling DIR never sees half a message), with the envelope in
DIR/N.env.  No 8BITMIME/PIPELINING/TLS: the simplest dialogue Postfix's
smtp client accepts.

  sink.py DIR HOST PORT [PIDFILE]    serve until SIGTERM/SIGINT
"""
import os
import signal
import socketserver
import sys
import threading

_count = 0
_lock = threading.Lock()


def _next_name(outdir):
    global _count
    with _lock:
        _count += 1
        return os.path.join(outdir, "%04d" % _count)


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self):
        outdir = self.server.outdir
        self.reply("220 sink.e2e.example ESMTP sink")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode("ascii", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink.e2e.example")
                self.reply("250 SIZE 52428800")
            elif verb == "HELO":
                self.reply("250 sink.e2e.example")
            elif verb == "MAIL":
                mail_from, rcpts = cmd[5:].strip(), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(cmd[5:].strip())
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.reply("503 5.5.1 Error: need MAIL and RCPT")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    dl = self.rfile.readline(1 << 20)
                    if not dl:
                        return
                    if dl in (b".\r\n", b".\n"):
                        break
                    if dl.startswith(b"."):
                        dl = dl[1:]   # RFC 5321 4.5.2 dot-stuffing
                    chunks.append(dl)
                base = _next_name(outdir)
                with open(base + ".env", "w") as f:
                    f.write("MAIL %s\n" % mail_from)
                    for r in rcpts:
                        f.write("RCPT %s\n" % r)
                with open(base + ".tmp", "wb") as f:
                    f.write(b"".join(chunks))
                os.rename(base + ".tmp", base + ".eml")
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok: stored as %s" % os.path.basename(base))
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    outdir, host, port = argv[1], argv[2], int(argv[3])
    os.makedirs(outdir, exist_ok=True)
    srv = Server((host, port), Handler)
    srv.outdir = outdir
    if len(argv) == 5:
        with open(argv[4], "w") as f:
            f.write("%d\n" % os.getpid())

    def stop(_sig, _frm):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main(sys.argv)
