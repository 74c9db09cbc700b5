"""conncost.py - what a milter connection and a message each cost (issue 19), for bench.py.

Owns, with bench.py's helpers (passed in as the module B):
- sessions(B): a private Postfix per system with NO exemption (the milters see
  every connection smtpd opens: one for the load generator's loopback session,
  and a second once XCLIENT names the client), driven with three session
  shapes - no message (EHLO, XCLIENT, EHLO, MAIL, RCPT refused by Postfix,
  QUIT), one message, ten messages - interleaved (run 1 of every shape and
  system, then run 2, ...); milter CPU per SMTP session from /proc/PID/stat;
  then per system the least-squares line cpu(session) = A + k * B over every
  run (k = messages in the session): A / 2 is the cost of a milter connection
  (two per session), B the cost of a message with the connection cost taken out.
- flood(B): alignmilter's added latency for a real message (miltdrive -q, as
  the latency table) alone, while one or two processes open no-message milter
  connections at it back to back (miltdrive -F F -a), and, the control, while
  as many processes only spin (no connection); two of each also pinned on CPU 1;
  interleaved over the rounds; alignmilter's CPU share during each.
- hold1000(B): alignmilter's RSS with 1,000 connections idle (negotiated,
  after HELO) and 1,000 with a message in flight (up to the end of the body).
- connsyscalls(B): strace -c system calls per no-message connection.
- callgrind(B): instructions per connection and per message, counted exactly
  (valgrind --tool=callgrind on a second alignmilter with the same
  configuration; callgrind_control zeroes and dumps around each miltdrive run).
- soak(B), dkimfloor(B): soakfloor.py's RSS over a 100k-message soak and the
  DKIM library's floor (tests/bench/dkimfloor.c), rendered here with the rest.
- render(B, w): the RESULTS.md sections and target rows.
- only(B): BENCH_ONLY=part,... - the named parts alone (see PARTS), for trying.
Everything goes into B.RES["conncost"].  Errors raise RuntimeError (bench.py
records the run as incomplete); a missing strace or valgrind skips that part.
Threads: flood's pinning thread (pinned rows), ended before flood returns.
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

import soakfloor
from soakfloor import dkimfloor, soak  # noqa: F401  (bench.py calls them as conncost's)

SHAPES = (0, 1, 10)
SYSTEMS = ("postfix", "floor/threads", "floor/epoll", "alignmilter/pass-through", "alignmilter",
           "alignmilter/metrics", "opendkim+opendmarc", "alignmilter/unix")
FLOORS = ("floor/threads", "floor/epoll")   # floormilt.c: the protocol alone, nothing kept
A, P, PT, AMET = "alignmilter", "opendkim+opendmarc", "alignmilter/pass-through", "alignmilter/metrics"
CONNS_PER_SESSION = 2       # smtpd's milter connections per SMTP session with XCLIENT


def _points(k, n):
    """Sessions, messages and loadgen options of one run of shape k: 4n sessions for k=0
    (they are cheap, CPU is counted in 10 ms ticks, and they alone give the connection's
    cost), else n messages."""
    if k == 0:
        return 4 * n, 0, ["-z"]
    return n // k, n, ["-m", str(k)]


def sessions(B):
    CFG, RES = B.CFG, B.RES
    cc = RES.setdefault("conncost", {})
    pts = cc.setdefault("points", [])
    n = int(os.environ.get("BENCH_SESSIONS_N", "600"))
    c = 16
    cc.update({"n": n, "c": c})
    extra = B.POSTFIX_COMMON + os.environ.get("BENCH_POSTFIX_EXTRA", "")
    inst = {}
    try:
        for system in SYSTEMS:
            d = os.path.join(CFG["work"], "postfix-sess-%s" % B.dirname(system))
            port = B.free_port()
            B.postfix("start", d, port, B.milter_spec(system), CFG["sink_port"], extra=extra)
            inst[system] = (port, d)
            B.loadgen(port, 100, c)
            B.loadgen(port, 100, c, opts=["-z"])
            B.wait_drained(d)
        for run in range(CFG["runs"]):
            for k in SHAPES:
                for system in SYSTEMS:
                    port, d = inst[system]
                    nsess, nmsg, opts = _points(k, n)
                    pids = B.pids_of(system)
                    cpu0, all0 = B.cpu_seconds(pids), B.machine_busy_seconds()
                    lg = B.loadgen(port, nsess if k == 0 else nmsg, c, opts=opts)
                    B.wait_drained(d)
                    cpu1, all1 = B.cpu_seconds(pids), B.machine_busy_seconds()
                    pt = {"system": system, "k": k, "run": run, "sessions": nsess, "messages": nmsg,
                          "cpu_us_per_session": (cpu1 - cpu0) * 1e6 / nsess if pids else 0.0,
                          "machine_us_per_session": (all1 - all0) * 1e6 / nsess, "rate": lg["rate"]}
                    pts.append(pt)
                    B.log("sessions %-24s k=%-2d run %d: milter CPU %6.0f us/session (machine %6.0f)" % (
                        system, k, run + 1, pt["cpu_us_per_session"], pt["machine_us_per_session"]))
        # The connection path as Postfix drives it: system calls per milter connection.
        if shutil.which("strace"):
            nz = 300
            for system in (A, P):
                port, d = inst[system]
                cc.setdefault("syscalls_postfix", {})[system] = _strace(
                    B, system, "sess", nz * CONNS_PER_SESSION, lambda: B.loadgen(port, nz, c, opts=["-z"]))
                B.log("%s: %.1f system calls per milter connection (Postfix, no message)" % (
                    system, cc["syscalls_postfix"][system]["total"]))
    finally:
        for _port, d in inst.values():
            B.postfix("stop", d, extra=extra)
    cc["fit"] = {s: fit([p for p in pts if p["system"] == s], "cpu_us_per_session") for s in SYSTEMS}
    cc["fit_machine"] = {s: fit([p for p in pts if p["system"] == s], "machine_us_per_session") for s in SYSTEMS}


def fit(pts, key):
    """Least squares y = a + b k over the points; a: per session without messages, b: per message."""
    if len(pts) < 2:
        return None
    xs = [p["k"] for p in pts]
    ys = [p[key] for p in pts]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    resid = [y - (a + b * x) for x, y in zip(xs, ys)]
    return {"a": a, "b": b, "per_conn": a / CONNS_PER_SESSION, "per_msg": b,
            "rms": (sum(r * r for r in resid) / len(resid)) ** 0.5,
            "by_k": {k: statistics.median([p[key] for p in pts if p["k"] == k]) for k in SHAPES}}


FLOODERS = (1, 2)
# Every flood round: (kind, processes, CPU the processes are pinned to or None).
# "burn" processes only spin - no connection at all: the control that shows how
# much of a flood's added latency is its processes taking the CPUs.
FLOOD_ROWS = (("idle", 0, None), ("flood", 1, None), ("burn", 1, None), ("flood", 2, None),
              ("burn", 2, None), ("flood", 2, 1), ("burn", 2, 1))
BURNER = ["sh", "-c", "while :; do :; done"]
FLOOD_N = 1000              # timed messages per row (p99 = the 10th slowest)


def _children(pid):
    """Child pids of pid, every thread's (/proc/PID/task/TID/children)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _pin_flooders(f, cpu, stop):
    """Pin miltdrive's F flooding children (our grandchildren) to cpu as they appear."""
    pinned = set()
    while not stop.is_set() and len(pinned) < f:
        for c in _children(os.getpid()):
            try:
                with open("/proc/%d/comm" % c) as fh:
                    if fh.read().strip() != "miltdrive":
                        continue
            except OSError:
                continue
            for g in _children(c):
                if g not in pinned:
                    try:
                        os.sched_setaffinity(g, {cpu})
                        pinned.add(g)
                    except OSError:
                        pass
        time.sleep(0.005)
    return pinned


def _flood_round(B, kind, nproc, cpu):
    """One timed row: FLOOD_N messages (miltdrive -q) while nproc flooders or burners run."""
    ports, pids = B.CFG["milters"][A]["ports"], B.CFG["milters"][A]["pids"]
    burners, pinner, opts = [], None, []
    stop = threading.Event()
    try:
        if kind == "burn":
            for _i in range(nproc):
                burners.append(subprocess.Popen(BURNER))
                if cpu is not None:
                    os.sched_setaffinity(burners[-1].pid, {cpu})
            time.sleep(0.2)                     # as miltdrive -F lets its flood get under way
        elif kind == "flood":
            opts = ["-F", str(nproc), "-a"]
            if cpu is not None:
                res = {}
                pinner = threading.Thread(target=lambda: res.update(p=_pin_flooders(nproc, cpu, stop)))
                pinner.start()
        cpu0, t0 = B.cpu_seconds(pids), time.monotonic()
        r = B.drive(A, ports, FLOOD_N, True, warm=10, opts=opts)
        r["milter_cpu_share"] = (B.cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
        if pinner:
            stop.set()
            pinner.join()
            if len(res.get("p", ())) < nproc:
                raise RuntimeError("flood: pinned %d of %d flooding processes" % (len(res.get("p", ())), nproc))
        return r
    finally:
        stop.set()
        for b in burners:
            b.kill()
            b.wait()


def flood(B):
    """Idle, one and two flooding processes, and the CPU-burner controls, interleaved over the rounds."""
    CFG, RES = B.CFG, B.RES
    ncpu = os.cpu_count() or 1
    rows = [r for r in FLOOD_ROWS if r[2] is None or r[2] < ncpu]
    got = {r: [] for r in rows}
    for _r in range(CFG["runs"]):
        for row in rows:
            got[row].append(_flood_round(B, *row))
            d = got[row][-1]
            B.log("flood %-5s x%d%s: total p50 %.0f p99 %.0f us, alignmilter %.0f%% of a CPU%s" % (
                row[0], row[1], "" if row[2] is None else " on CPU %d" % row[2], d["chain"]["total"]["p50_us"],
                d["chain"]["total"]["p99_us"], 100 * d["milter_cpu_share"],
                ", %d connections/s" % d["flood"]["per_s"] if "flood" in d else ""))

    def summ(row):
        rs = got[row]
        out = {st: {q: statistics.median([r["chain"][st][q] for r in rs]) for q in ("p50_us", "p99_us")}
               for st in ("eom", "total")}
        out.update({"kind": row[0], "procs": row[1], "cpu": row[2],
                    "cpu_share": statistics.median([r["milter_cpu_share"] for r in rs])})
        if row[0] == "flood":
            out["per_s"] = statistics.median([r["flood"]["per_s"] for r in rs])
        return out
    out = {"n": FLOOD_N, "idle": summ(rows[0]), "rows": [summ(r) for r in rows[1:]]}
    # "floods": the unpinned flood rows the targets are read from.
    out["floods"] = [dict(d, flooders=d["procs"]) for d in out["rows"] if d["kind"] == "flood" and d["cpu"] is None]
    RES.setdefault("conncost", {})["flood"] = out


def hold1000(B, k=1000):
    CFG, RES = B.CFG, B.RES
    ports, pids = CFG["milters"][A]["ports"], CFG["milters"][A]["pids"]
    out = {"k": k, "before_kb": B.status_kb(pids, "VmRSS")}
    for label, opts in (("idle", ["-m", "0"]), ("active", [])):
        cmd = [CFG["miltdrive"], "-P", str(k), "-p", ",".join(map(str, pids)), "-x", CFG["xclient_addr"],
               "-H", CFG["helo"]] + opts + [CFG["sample"]] + ["127.0.0.1:%d" % p for p in ports]
        r = subprocess.run(cmd, capture_output=True, text=True)
        m1 = re.search(r"hold connections=\d+ rss_kb=(\d+)", r.stdout)
        m2 = re.search(r"hold after rss_kb=(\d+) hwm_kb=(\d+) failed=(\d+)", r.stdout)
        if r.returncode != 0 or not m1 or not m2:
            raise RuntimeError("miltdrive -P %d %s: %s %s" % (k, label, r.stdout, r.stderr[-500:]))
        out[label] = {"rss_kb": int(m1.group(1)), "after_kb": int(m2.group(1))}
        B.log("%d connections %s: RSS %.1f MB" % (k, label, int(m1.group(1)) / 1024))
        time.sleep(1)
    RES.setdefault("conncost", {})["hold"] = out


def _strace(B, system, tag, n, action):
    """strace -c -f on the system's milter processes while action() runs; calls per 1/n."""
    out = os.path.join(B.CFG["work"], "strace-%s-%s.txt" % (tag, B.dirname(system)))
    r = B.strace_calls(B.pids_of(system), out, n, action, top=8)
    if r is None:
        raise RuntimeError("strace cannot run")
    return r


def connsyscalls(B, n=500):
    """strace -c per no-message connection straight from miltdrive (negotiation, CONNECT, HELO,
    MAIL, ABORT, QUIT)."""
    CFG, RES = B.CFG, B.RES
    if not shutil.which("strace"):
        return
    res = {}
    for system in (A, P):
        res[system] = _strace(B, system, "conn", n, lambda: B.drive(
            system, CFG["milters"][system]["ports"][:1], n, True, warm=0, opts=["-m", "0", "-a"]))
        B.log("%s: %.1f system calls per no-message connection (miltdrive)" % (system, res[system]["total"]))
    RES.setdefault("conncost", {})["syscalls"] = res


def _callgrind_total(path):
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", path], capture_output=True, text=True)
    m = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", r.stdout, re.M)
    top = []
    for line in r.stdout.splitlines():
        t = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+):(\S+)", line)
        if t and len(top) < 40 and t.group(4) not in [fn for _ir, fn in top]:
            top.append((int(t.group(1).replace(",", "")), t.group(4)))
    return (int(m.group(1).replace(",", "")) if m else 0), top


def callgrind(B, k=1000, nmsg=200):
    CFG, RES = B.CFG, B.RES
    if os.environ.get("BENCH_CALLGRIND", "1") == "0" or not shutil.which("valgrind"):
        return
    port = B.free_port()
    conf = os.path.join(CFG["work"], "alignmilter-callgrind.conf")
    with open(CFG["alignmilter_conf"]) as f:
        text = f.read()
    text = re.sub(r"(?m)^Socket .*$", "Socket inet:%d@127.0.0.1" % port, text)
    text = re.sub(r"(?m)^AlignmentLog .*$", "AlignmentLog %s/alignment-callgrind.log" % CFG["work"], text)
    with open(conf, "w") as f:
        f.write(text)
    base = os.path.join(CFG["work"], "callgrind.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + base + ".%p",
                             CFG["alignmilter"], "-f", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(CFG["work"], "callgrind.log"), "w"))
    try:
        B.wait_listen(port, proc, 60)
        B.drive(A, [port], 20, True, warm=0)                    # caches warm
        B.drive(A, [port], 50, True, warm=0, opts=["-m", "0"])
        runs = (("conn", k, ["-m", "0"]), ("nomsg", k, ["-m", "0", "-a"]),
                ("msg1", nmsg, []), ("msg10", nmsg, ["-m", "10"]))
        res = {}
        for name, n, opts in runs:
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
            B.drive(A, [port], n, True, warm=0, opts=opts)
            subprocess.run(["callgrind_control", "-d", name, str(proc.pid)], capture_output=True)
            time.sleep(0.5)
            dumps = sorted((f for f in os.listdir(CFG["work"]) if f.startswith("callgrind.out.%d." % proc.pid)),
                           key=lambda f: int(f.rsplit(".", 1)[1]))
            total, top = _callgrind_total(os.path.join(CFG["work"], dumps[-1]))
            res[name] = {"n": n, "total": total, "per": total / n, "top": [(ir / n, fn) for ir, fn in top]}
            B.log("callgrind %s: %.0f instructions each" % (name, total / n))
        RES.setdefault("conncost", {})["callgrind"] = res
    finally:
        B.stop(proc)


def metrics_scrape(B):
    """The metrics instance really counted: alignmilter_messages_total summed."""
    port = B.CFG["milters"][AMET]["metrics_port"]
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        raise RuntimeError("metrics endpoint: %s" % e)
    total = sum(float(m.group(1)) for m in re.finditer(rb"(?m)^alignmilter_messages_total\{[^}]*\} (\S+)", data))
    B.RES.setdefault("conncost", {})["metrics_messages"] = total


# ---------------------------------------------------------------------- render
def _fmt_fit(f):
    return "%.0f + %.0f k (rms %.0f)" % (f["a"], f["b"], f["rms"]) if f else "-"


def render(B, w):
    cc = B.RES.get("conncost")
    if not cc:
        return
    fits = cc.get("fit", {})
    if fits:
        w("## Per-session cost: milter connections and messages apart (no exemption, C=%d)" % cc["c"])
        w("")
        w("A private Postfix per system *without* the load generator's exemption, so each SMTP session "
          "costs the milters two connections (smtpd opens one when the client connects and, after "
          "XCLIENT, a new one for the client it names), as it would a real MX's milter for every "
          "session. Shapes: *0* = no message (EHLO, XCLIENT, EHLO, MAIL, RCPT refused by Postfix "
          "with 554 - the milters see negotiation, CONNECT, HELO, MAIL, ABORT, QUIT), *1* = one "
          "message, *10* = ten messages per session; %d sessions (shape 0) or %d messages (1, 10) per "
          "run, %d runs per point interleaved. Model, fitted by least squares over every run of a "
          "system: milter CPU per session = A + B x k (k = messages in the session); **per connection "
          "= A / 2** (a no-message session's MAIL and ABORT included), **per message = B** (the "
          "connection cost taken out). *floor/threads* and *floor/epoll* are `floormilt.c`, a milter "
          "that negotiates as alignmilter does (so Postfix sends it the same packets and awaits the same "
          "replies), verifies nothing and keeps nothing: the least any milter costs, with alignmilter's "
          "model (a thread per connection, waiting in accept, TCP_DEFER_ACCEPT) and with an epoll event "
          "loop on one thread. The intercept A leans on the noisy ten-message runs; *shape 0 / 2* "
          "(the no-message sessions alone, halved) measures the connection directly." % (
              4 * cc["n"], cc["n"], B.CFG["runs"]))
        w("")
        w("| system | CPU us/session, k=0 | k=1 | k=10 | fit A + B k | per milter connection us | "
          "shape 0 / 2 us | per message us | machine CPU us/session k=0 / 1 / 10 |")
        w("|---|---|---|---|---|---|---|---|---|")
        for s in SYSTEMS:
            f, fm = fits.get(s), cc["fit_machine"].get(s)
            if not f:
                continue
            w("| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %.0f / %.0f / %.0f |" % (
                s, f["by_k"][0], f["by_k"][1], f["by_k"][10], "-" if s == "postfix" else _fmt_fit(f),
                "-" if s == "postfix" else "%.0f" % f["per_conn"],
                "-" if s == "postfix" else "%.0f" % (f["by_k"][0] / CONNS_PER_SESSION),
                "-" if s == "postfix" else "%.0f" % f["per_msg"],
                fm["by_k"][0], fm["by_k"][1], fm["by_k"][10]))
        w("")
    soakfloor.render_floor(B, w)
    for key, lead in (("syscalls_postfix", "System calls per milter connection as Postfix drives it "
                       "(strace -c -f on the milter processes over 300 no-message sessions, 600 connections): "),
                      ("syscalls", "The same straight from miltdrive (`-m 0 -a`: negotiation, "
                       "CONNECT, HELO, MAIL, ABORT, QUIT, each stage its own write): ")):
        calls = cc.get(key)
        if calls:
            w(lead + "; ".join(
                "%s %.1f (%s)" % (s, v["total"], ", ".join("%s %.1f" % (n, c) for c, n in v["top"][:6]))
                for s, v in calls.items()) + ".")
            w("")
    cg = cc.get("callgrind")
    if cg:
        w("Instructions (callgrind, alignmilter's every thread, per unit; `tests/bench/README.md` has the "
          "procedure): connection with no message (negotiation, CONNECT, HELO, QUIT) **%.0f**; "
          "with MAIL and ABORT **%.0f**; message on its own connection **%.0f**; message, ten per "
          "connection **%.0f**." % (cg["conn"]["per"], cg["nomsg"]["per"], cg["msg1"]["per"], cg["msg10"]["per"]))
        w("")
        w("Connection path, inclusive instructions per connection (top): " + "; ".join(
            "`%s` %.0f" % (fn, ir) for ir, fn in cg["conn"]["top"][:14] if ir >= 50) + ".")
        w("")
    fl = cc.get("flood")
    if fl:
        _render_flood(B, w, fl)
    h = cc.get("hold")
    if h:
        w("## Memory with 1,000 connections (alignmilter, miltdrive -P %d)" % h["k"])
        w("")
        w("| state | RSS |")
        w("|---|---|")
        w("| before (after the whole run) | %.1f MB |" % (h["before_kb"] / 1024))
        w("| %d connections idle (negotiated, after HELO) | %.1f MB |" % (h["k"], h["idle"]["rss_kb"] / 1024))
        w("| %d connections, each with a message in flight (up to the end of the body) | %.1f MB |" % (
            h["k"], h["active"]["rss_kb"] / 1024))
        w("| after they all ended | %.1f MB |" % (h["active"]["after_kb"] / 1024))
        w("")
    soakfloor.render_soak(B, w)


def _flood_label(d):
    what = {"flood": "flooding process", "burn": "CPU burner"}[d["kind"]]
    return "%d %s%s%s" % (d["procs"], what, "es" if d["procs"] > 1 and d["kind"] == "flood" else
                          ("s" if d["procs"] > 1 else ""),
                          "" if d["cpu"] is None else ", all pinned on CPU %d" % d["cpu"])


def _render_flood(B, w, fl):
    w("## Added latency under a connection flood (miltdrive -q, %d messages x %d rounds)" % (
        fl.get("n", 500), B.CFG["runs"]))
    w("")
    w("One or two more miltdrive processes (`-F`) open no-message connections (negotiation, CONNECT, "
      "HELO, MAIL, ABORT, QUIT) at alignmilter back to back while the messages are timed, as the "
      "latency table does (`-q`); rounds interleaved with the idle ones; medians. On this %d-CPU "
      "machine the flooding processes themselves take a CPU's worth or more. The *CPU burner* rows are "
      "the control: the same number of processes that only spin (`%s`), opening no connection at all; "
      "what a burner row adds over idle is the CPUs being taken, what a flood row adds over its burner row "
      "the milter handling the flood. *Pinned* rows put all of them on CPU 1 (sched_setaffinity, as "
      "`taskset -c 1`), leaving the other CPU to the milter and the timed client: what a pinned flood still "
      "adds is the milter (and the kernel under it) handling the connections, not the flooders' own "
      "CPU." % (os.cpu_count() or 1, " ".join(BURNER[2:])))
    w("")
    w("| alignmilter | no-message connections/s | alignmilter CPU, % of one CPU | eom p50 us | eom p99 us | "
      "total p50 us | total p99 us | total p99 / idle |")
    w("|---|---|---|---|---|---|---|---|")
    idle = fl["idle"]
    rows = [("idle", idle)] + [(_flood_label(d), d) for d in fl.get("rows", fl["floods"])]
    for lab, d in rows:
        w("| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.2f |" % (
            lab, "%.0f" % d["per_s"] if "per_s" in d else "-",
            "%.0f" % (100 * d["cpu_share"]) if "cpu_share" in d else "-", d["eom"]["p50_us"], d["eom"]["p99_us"],
            d["total"]["p50_us"], d["total"]["p99_us"], B.ratio(d["total"]["p99_us"], idle["total"]["p99_us"])))
    w("")
    parts, worse = [], False
    for f, c in _flood_pairs(fl):
        add_f = f["total"]["p99_us"] - idle["total"]["p99_us"]
        add_b = c["total"]["p99_us"] - idle["total"]["p99_us"]
        worse = worse or (add_f > 0 and add_b >= add_f)
        parts.append("%s %+.0f us, as many burners %+.0f us%s" % (
            _flood_label(f), add_f, add_b, " (the CPUs taken: %.0f%%, the milter handling the flood: %.0f us)" % (
                100 * max(add_b, 0) / add_f, add_f - max(add_b, 0)) if 0 < add_f and add_b < add_f else ""))
    if parts:
        w("Added total p99 over idle: " + "; ".join(parts) + "." + (
            " Where the burners add as much or more, processes that never block delay a waking milter or client "
            "thread longer than flooders do, which wait on every round trip: the flood then costs the timed "
            "messages less than the CPU time its processes take would." if worse else ""))
        w("")


def _flood_pairs(fl):
    """(flood row, burner row with the same processes and pinning) pairs."""
    rows = fl.get("rows", [])
    return [(f, c) for f in rows if f["kind"] == "flood" for c in rows
            if c["kind"] == "burn" and c["procs"] == f["procs"] and c["cpu"] == f["cpu"]]


def target_rows(B, w):
    cc = B.RES.get("conncost")
    if not cc:
        return
    fits = cc.get("fit", {})
    fa, fp, fm = fits.get(A), fits.get(P), fits.get(AMET)
    if fa and fp:
        w("| CPU per milter connection <= 50 us (fit, no exemption) | %.0f us (peers %.0f, pass-through %.0f); "
          "shape 0 / 2: %.0f us | %s |" % (
              fa["per_conn"], fp["per_conn"], fits[PT]["per_conn"] if fits.get(PT) else float("nan"),
              fa["by_k"][0] / CONNS_PER_SESSION, "yes" if fa["per_conn"] <= 50 else "no"))
        ft, fe = fits.get(FLOORS[0]), fits.get(FLOORS[1])
        if ft and fe:
            w("| (info) the floor: a milter that does nothing, same run | per connection (fit; shape 0 / 2) "
              "%.0f; %.0f us with a thread per connection (alignmilter's model), %.0f; %.0f us with an epoll "
              "loop; per message %.0f / %.0f us | - |" % (
                  ft["per_conn"], ft["by_k"][0] / CONNS_PER_SESSION, fe["per_conn"],
                  fe["by_k"][0] / CONNS_PER_SESSION, ft["per_msg"], fe["per_msg"]))
        r = B.ratio(fa["per_msg"], fp["per_msg"])
        w("| CPU per message, connection cost out, <= 1/20 of the peers' | %.0f vs %.0f us = 1/%.1f | %s |" % (
            fa["per_msg"], fp["per_msg"], B.ratio(1, r), "yes" if r <= 1 / 20 else "no"))
        r1 = B.ratio(fa["by_k"][1], fp["by_k"][1])
        w("| CPU per message at one message per session <= 1/12 of the peers' | %.0f vs %.0f us/session = 1/%.1f | %s |" % (
            fa["by_k"][1], fp["by_k"][1], B.ratio(1, r1), "yes" if r1 <= 1 / 12 else "no"))
    fu = fits.get("alignmilter/unix")
    if fu and fa:
        w("| (info) the same per milter connection over a unix socket (no TCP) | %.0f us (TCP %.0f us) | - |" % (
            fu["per_conn"], fa["per_conn"]))
    if fa and fm:
        w("| (issue 18) CPU with metrics on vs off, same run | per message %.0f vs %.0f us; one message per "
          "session %.0f vs %.0f us; per connection %.0f vs %.0f us%s | - |" % (
              fm["per_msg"], fa["per_msg"], fm["by_k"][1], fa["by_k"][1], fm["per_conn"], fa["per_conn"],
              "; the metrics instance counted %.0f messages" % cc["metrics_messages"]
              if "metrics_messages" in cc else ""))
    h = cc.get("hold")
    if h:
        for st in ("idle", "active"):
            w("| RSS <= 32 MB with %d connections, %s | %.1f MB | %s |" % (
                h["k"], st, h[st]["rss_kb"] / 1024, "yes" if h[st]["rss_kb"] <= 32 * 1024 else "no"))
    soakfloor.target_rows(B, w)
    fl = cc.get("flood")
    for d in (fl or {}).get("floods", []):
        r50 = B.ratio(d["total"]["p50_us"], fl["idle"]["total"]["p50_us"])
        r99 = B.ratio(d["total"]["p99_us"], fl["idle"]["total"]["p99_us"])
        w("| added latency under a no-message connection flood <= 2x idle (%d flooding process%s, %.0f "
          "connections/s) | total p50 %.0f vs %.0f us = %.2fx; p99 %.0f vs %.0f us = %.2fx | %s |" % (
              d["flooders"], "es" if d["flooders"] > 1 else "", d["per_s"],
              d["total"]["p50_us"], fl["idle"]["total"]["p50_us"], r50,
              d["total"]["p99_us"], fl["idle"]["total"]["p99_us"], r99,
              "yes" if r50 <= 2 and r99 <= 2 else ("p50 yes, p99 no" if r50 <= 2 else "no")))
    for f, c in _flood_pairs(fl or {}):
        w("| (info) the same against as many CPU burners, no connections (%s) | total p99 %.0f us with the "
          "flood vs %.0f us with the burners = %.2fx; idle %.0f us | - |" % (
              _flood_label(f), f["total"]["p99_us"], c["total"]["p99_us"],
              B.ratio(f["total"]["p99_us"], c["total"]["p99_us"]), fl["idle"]["total"]["p99_us"]))


# ------------------------------------------------------------------ BENCH_ONLY
# BENCH_ONLY=part,part (bench.py main): only those parts, for trying them.
PARTS = (("sessions", sessions), ("flood", flood), ("syscalls", connsyscalls), ("hold", hold1000),
         ("callgrind", callgrind), ("soak", soak), ("dkimfloor", dkimfloor))
ONLY = [x for x in os.environ.get("BENCH_ONLY", "").split(",") if x]


def only(B):
    """The BENCH_ONLY parts alone; their sections and target rows go to WORK/only.md (and to
    BENCH_OUT if set), never to tests/bench/RESULTS.md.  Returns bench.py's exit code."""
    names = [n for n, _fn in PARTS]
    if set(ONLY) - set(names):
        B.log("BENCH_ONLY: unknown %s (parts: %s)" % (",".join(sorted(set(ONLY) - set(names))), ",".join(names)))
        return 2
    rc = 0
    took = B.RES.setdefault("conncost", {}).setdefault("took_s", {})
    try:
        for name, fn in PARTS:
            if name in ONLY:
                t0 = time.monotonic()
                fn(B)
                took[name] = time.monotonic() - t0
                B.log("%s took %.0f s" % (name, took[name]))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        B.log("FAILED: %s" % e)
        rc = 1
    lines = ["# BENCH_ONLY=%s (not the full benchmark; %s)" % (",".join(ONLY), B.RES.get("when", "")), ""]
    render(B, lines.append)
    lines += ["| target | measured | met |", "|---|---|---|"]
    target_rows(B, lines.append)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(B.CFG["work"], "results.json"), "w") as f:
        json.dump(B.RES, f, indent=1, default=str)
    for path in [os.path.join(B.CFG["work"], "only.md")] + [p for p in [os.environ.get("BENCH_OUT")] if p]:
        with open(path, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return rc
