#!/usr/bin/python3
"""bench.py - the measurements of tests/bench/run.sh, and RESULTS.md.

Owns: with the DNS server, milters and sinks that run.sh started (described
in WORK/bench.json), for each system - Postfix alone, Postfix +
alignmilter, Postfix + opendkim + opendmarc - a private Postfix
(tests/e2e/postfix.sh) is started: once relaying to tests/e2e/sink.py to
capture one delivered sample and check the milters' verdicts on it
(dkim=pass, dmarc=pass), then relaying to smtp-sink for the timed runs.
All systems' Postfix instances run at once; after a warm-up each, RUNS
rounds of N messages by loadgen per system and concurrency C, interleaved
across the systems (the machine's speed drifts); a run ends when Postfix's queue is empty again (end-to-end rate =
N / that time), and the milter processes' utime+stime from /proc/PID/stat
before and after gives CPU per message.  Then, straight at the milters
(no Postfix), miltdrive times each message's round trips (with and
without the delayed-ACK artifact), holds 100 connections open for the
memory figure, and perf samples alignmilter under Postfix load for its
top costs.  Last, the cold cache: a separate alignmilter asking the nsd
through dnsdelay.py (every answer DELAY ms late) is restarted before each
trial and sent one message; the relay's log shows which lookups it made
and which were in flight together.  conncost.py adds the per-session rows
(milter connections and messages apart, no exemption), the flood latency,
1,000 connections' memory and the instruction counts.  Everything is written to
WORK/results.json and rendered into RESULTS.md (machine, versions,
command, tables, ratios against the performance targets).

  bench.py WORK/bench.json
BENCH_COLD_ONLY=1: only the cold-cache measurement (a short RESULTS file).
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

import conncost

CFG = {}
RES = {"points": [], "ceiling": [], "latency": {}, "hold": {}, "samples": {}, "hwm_kb": {}}
CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("# bench: " + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pids):
    total = 0
    for p in pids:
        with open("/proc/%d/stat" % p) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])     # utime, stime
    return total / CLK


def machine_busy_seconds():
    """CPU time of the whole machine (every process and the kernel), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait
    return (sum(v[:8]) - v[3] - v[4]) / CLK


def status_kb(pids, field):
    total = 0
    for p in pids:
        with open("/proc/%d/status" % p) as f:
            for line in f:
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total


# Postfix's inflow control pauses cleanup up to in_flow_delay (1 s) whenever
# deliveries lag arrivals; at these rates that made every system's runs
# bimodal (SMTP p99 ~1 s, medians swinging 360-814 msg/s for Postfix alone),
# so it is off for all systems alike.
# smtpd opens its milter connections when a client connects and, after
# XCLIENT, closes them and opens new ones for the client XCLIENT names.  The
# load generator's own loopback session is not mail a milter should see (an
# inbound MX sees one client per session, one milter connection): the
# postconf(5) way to say so is smtpd_milter_maps with DISABLE for local
# clients, for every system alike.  Without it every message cost each milter
# two connections.  BENCH_POSTFIX_EXTRA adds main.cf lines (experiments).
# reject.bench.example: the recipient domain conncost.py's sessions with no
# message use (refused at RCPT, as an unknown or unrelayable recipient is).
POSTFIX_COMMON = ("in_flow_delay = 0\n"
                  "smtpd_recipient_restrictions = check_recipient_access "
                  "inline:{{reject.bench.example = REJECT unknown recipient}}\n")
POSTFIX_EXEMPT = "smtpd_milter_maps = cidr:{{127.0.0.0/8 DISABLE}, {::1/128 DISABLE}}\n"
POSTFIX_EXTRA = POSTFIX_COMMON + POSTFIX_EXEMPT + os.environ.get("BENCH_POSTFIX_EXTRA", "")


def postfix(action, d, *args, extra=None):
    r = subprocess.run(["sh", os.path.join(CFG["e2e_dir"], "postfix.sh"), action, d] + [str(a) for a in args],
                       capture_output=True, text=True,
                       env=dict(os.environ, E2E_POSTFIX_MAIN_EXTRA=POSTFIX_EXTRA if extra is None else extra))
    if r.returncode != 0:
        raise RuntimeError("postfix.sh %s %s: %s%s" % (action, d, r.stdout, r.stderr))


def queue_empty(d):
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        q = os.path.join(d, "queue", sub)
        for _root, _dirs, files in os.walk(q):
            if files:
                return False
    return True


def wait_drained(d, limit=300):
    end = time.monotonic() + limit
    while not queue_empty(d):
        if time.monotonic() > end:
            raise RuntimeError("Postfix queue in %s did not drain" % d)
        time.sleep(0.02)
    return time.monotonic()


def loadgen(port, n, c, xclient=True, opts=()):
    cmd = [CFG["loadgen"], "-p", str(port), "-f", CFG["pool"], "-n", str(n), "-c", str(c),
           "-H", CFG["helo"]] + list(opts)
    if xclient:
        cmd += ["-x", CFG["xclient_addr"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = dict(kv.split("=", 1) for kv in r.stdout.split())
    if r.returncode != 0 or int(out.get("errors", 1)) != 0:
        raise RuntimeError("loadgen failed: %s %s" % (r.stdout, r.stderr))
    return {k: float(v) for k, v in out.items()}


def milter_spec(system):
    if system == "postfix":
        return ""
    m = CFG["milters"][system]
    if "sockets" in m:
        return ", ".join("unix:" + p for p in m["sockets"])
    return ", ".join("inet:127.0.0.1:%d" % p for p in m["ports"])


def dirname(system):
    return system.replace("/", "-").replace("+", "-")


def pids_of(system):
    return CFG["milters"][system]["pids"] if system != "postfix" else []


def capture_sample(system):
    """One message through Postfix to sink.py; the verdicts on it."""
    d = os.path.join(CFG["work"], "postfix-%s-sample" % dirname(system))
    port = free_port()
    before = set(os.listdir(CFG["capture_dir"]))
    postfix("start", d, port, milter_spec(system), CFG["capture_port"])
    try:
        loadgen(port, 1, 1)
        end = time.monotonic() + 30
        new = []
        while time.monotonic() < end and not new:
            new = [f for f in set(os.listdir(CFG["capture_dir"])) - before if f.endswith(".eml")]
            time.sleep(0.05)
    finally:
        postfix("stop", d)
    if not new:
        raise RuntimeError("%s: no sample delivered" % system)
    with open(os.path.join(CFG["capture_dir"], new[0]), "rb") as f:
        msg = f.read().decode("utf-8", "replace")
    head = msg.split("\n\n", 1)[0].split("\r\n\r\n", 1)[0]
    ars = [m.group(0) for m in re.finditer(r"(?mi)^Authentication-Results:.*(?:\r?\n[ \t].*)*", head)]
    text = " ".join(ars)
    ok = True
    if system == PASS_THROUGH:
        ok = not ars                        # passed through: nothing added
    elif system != "postfix":
        ok = len(re.findall(r"dkim=pass", text)) == 2 and "dmarc=pass" in text and "spf=pass" in text
    RES["samples"][system] = {"ok": ok, "ar": [re.sub(r"\s+", " ", a) for a in ars]}
    log("%s sample: %s; %s" % (system, "verdicts ok" if ok else "VERDICTS WRONG", " | ".join(
        re.sub(r"\s+", " ", a)[:300] for a in ars) or "no Authentication-Results"))
    if not ok:
        raise RuntimeError("%s did not verify the sample (dkim/spf/dmarc pass expected)" % system)


def one_run(system, port, d, c, run):
    pids = pids_of(system)
    cpu0, all0 = cpu_seconds(pids), machine_busy_seconds()
    t0 = time.monotonic()
    lg = loadgen(port, CFG["n"], c)
    t1 = wait_drained(d)
    cpu1, all1 = cpu_seconds(pids), machine_busy_seconds()
    pt = {"system": system, "c": c, "run": run, "n": CFG["n"],
          "accept_rate": lg["rate"], "e2e_rate": CFG["n"] / (t1 - t0),
          "smtp_p50_ms": lg["p50_ms"], "smtp_p99_ms": lg["p99_ms"],
          "cpu_us_per_msg": (cpu1 - cpu0) * 1e6 / CFG["n"] if pids else 0.0,
          "machine_us_per_msg": (all1 - all0) * 1e6 / CFG["n"]}
    RES["points"].append(pt)
    log("%-24s C=%-3d run %d: %6.1f msg/s end to end (%6.1f accepted), milter CPU %5.0f us/msg "
        "(machine %5.0f), SMTP p50 %.1f ms p99 %.1f ms" % (
            system, c, run + 1, pt["e2e_rate"], pt["accept_rate"], pt["cpu_us_per_msg"],
            pt["machine_us_per_msg"], pt["smtp_p50_ms"], pt["smtp_p99_ms"]))


def measure_systems(systems, profile):
    """Every system's Postfix up at once, the runs interleaved (run 1 of every
    system, then run 2, ...): this machine's speed drifts with its neighbours'
    load, and interleaving spreads that drift over all systems alike instead of
    handing one system a slow stretch."""
    inst = {}
    try:
        for system in systems:
            d = os.path.join(CFG["work"], "postfix-%s" % dirname(system))
            port = free_port()
            postfix("start", d, port, milter_spec(system), CFG["sink_port"])
            inst[system] = (port, d)
            # Warm-up: smtpd/cleanup processes spawned, DNS caches filled.
            loadgen(port, 200, max(CFG["cs"]))
            wait_drained(d)
        for run in range(CFG["runs"]):
            for c in CFG["cs"]:
                for system in systems:
                    one_run(system, inst[system][0], inst[system][1], c, run)
        if profile and "alignmilter" in inst:
            perf_profile("alignmilter", *inst["alignmilter"])
    finally:
        for _port, d in inst.values():
            postfix("stop", d)


def perf_profile(system, port, d):
    pid = pids_of(system)[0]
    data = os.path.join(CFG["work"], "perf.data")
    try:
        p = subprocess.Popen(["perf", "record", "-g", "-F", "1999", "-p", str(pid), "-o", data],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        log("perf not available: no profile")
        return
    time.sleep(0.5)
    loadgen(port, max(CFG["n"], 1000), 16)
    wait_drained(d)
    p.send_signal(2)
    p.wait()
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-g", "none",
                          "--sort", "dso,symbol", "--percent-limit", "0.2"],
                         capture_output=True, text=True).stdout
    top = []
    for line in rep.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[([.k])\]\s+(.*?)(\s+-\s+-)?\s*$", line)
        if m:
            dso = "[kernel]" if m.group(3) == "k" else m.group(2)
            top.append((float(m.group(1)), dso, m.group(4).strip()))
    # By object, to see where the time goes at a glance.
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-g", "none",
                          "--sort", "dso", "--percent-limit", "0.5"], capture_output=True, text=True).stdout
    bydso = {}
    for line in rep.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
        if m:
            bydso[m.group(2)] = float(m.group(1))
    inc = subprocess.run(["perf", "report", "-i", data, "--children", "--stdio", "-g", "none",
                          "--sort", "symbol", "--percent-limit", "3"],
                         capture_output=True, text=True).stdout
    children = []
    for line in inc.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*?)(\s+-\s+-)?\s*$", line)
        if m:
            children.append((float(m.group(1)), m.group(3).strip()))
    user = [t for t in top if t[1] != "[kernel]"]
    RES["profile"] = {"self": top[:25], "user": user[:25],
                      "bydso": sorted(bydso.items(), key=lambda x: -x[1])[:10],
                      "children": children[:25]}
    log("profile: top self costs: " + "; ".join("%.1f%% %s" % (p, s) for p, _d, s in top[:10]))


def strace_calls(pids, out, n, action, top=10):
    """strace -c -f on pids while action() runs: system calls per 1/n, the most frequent first.
    None when strace cannot run."""
    cmd = ["strace", "-c", "-f", "-q", "-o", out]
    for p in pids:
        cmd += ["-p", str(p)]
    try:
        st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    time.sleep(1.0)
    try:
        action()
    finally:
        time.sleep(0.3)
        st.send_signal(2)
        st.wait()
    rows = []
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+\s+)?(\w+)\s*$", line)
            if m and m.group(3) != "total":
                rows.append((int(m.group(1)) / n, m.group(3)))
    rows.sort(reverse=True)
    return {"total": sum(r[0] for r in rows), "top": rows[:top]}


def syscalls(system, n=200):
    """System calls per message of the milter processes (strace -c), over a miltdrive replay."""
    out = os.path.join(CFG["work"], "strace-%s.txt" % dirname(system))
    r = strace_calls(CFG["milters"][system]["pids"], out, n,
                     lambda: drive(system, CFG["milters"][system]["ports"], n, True, warm=0))
    return None if r is None else {"per_msg_total": r["total"], "top": r["top"]}


def drive(name, ports, n, quick, warm=20, opts=()):
    cmd = [CFG["miltdrive"], "-n", str(n), "-w", str(warm), "-x", CFG["xclient_addr"], "-H", CFG["helo"]]
    cmd += list(opts)
    if quick:
        cmd.append("-q")
    cmd += [CFG["sample"]] + ["127.0.0.1:%d" % p for p in ports]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("miltdrive %s: %s %s" % (name, r.stdout, r.stderr))
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"flood connections=(\d+) per_s=(\d+)", line)
        if m:
            out["flood"] = {"connections": int(m.group(1)), "per_s": int(m.group(2))}
        m = re.match(r"(milter=\S+|chain) (eom|total|conn) (.*)", line)
        if m:
            who = "chain" if m.group(1) == "chain" else m.group(1)[7:]
            out.setdefault(who, {})[m.group(2)] = {k: float(v) for k, v in
                                                    (kv.split("=") for kv in m.group(3).split())}
    return out


def hold(system, k=100):
    ports, pids = CFG["milters"][system]["ports"], CFG["milters"][system]["pids"]
    cmd = [CFG["miltdrive"], "-P", str(k), "-p", ",".join(map(str, pids)), "-x", CFG["xclient_addr"],
           "-H", CFG["helo"], CFG["sample"]] + ["127.0.0.1:%d" % p for p in ports]
    r = subprocess.run(cmd, capture_output=True, text=True)
    m1 = re.search(r"hold connections=\d+ rss_kb=(\d+)", r.stdout)
    m2 = re.search(r"hold after rss_kb=(\d+) hwm_kb=(\d+) failed=(\d+)", r.stdout)
    if r.returncode != 0 or not m1 or not m2:
        raise RuntimeError("miltdrive hold %s: %s %s" % (system, r.stdout, r.stderr))
    return {"rss_kb_100": int(m1.group(1)), "rss_kb_after": int(m2.group(1)), "hwm_kb": int(m2.group(2))}


# ------------------------------------------------------------------ cold cache
def wait_listen(port, proc, limit=10.0):
    """Wait until the milter accepts TCP on port (a bare connect, closed at once)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("cold-cache alignmilter exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("cold-cache alignmilter does not listen on %d" % port)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def relay_lines(path, t0, t1):
    """The relay's queries received in [t0, t1] (unix time), in arrival order: dicts
    t, ta (answer sent, None if none), proto, name, type, refs (see dnsdelay.py)."""
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 7 and t0 <= float(p[0]) <= t1:
                refs = p[6].split("=", 1)[1]
                out.append({"t": float(p[0]), "ta": None if p[1] == "-" else float(p[1]), "proto": p[2],
                            "name": p[3].lower(), "type": p[4],
                            "refs": [] if refs == "-" else refs.lower().split(",")})
    out.sort(key=lambda q: q["t"])
    return out


def analyse_queries(qs, delay, pause):
    """Per query: its dependency depth (1 + the deepest earlier answer that named it),
    and how long after it could have been asked it was ("late": after the answer
    that named it or, for a first-level query, after its stage began - the message's
    first query for what is asked at MAIL FROM, PAUSE later for the end of headers).
    Rounds: queries asked within DELAY/2 of a round's first one.  ideal_ms: when the
    last answer would come, counted from the end of the headers, had every query
    been asked as soon as its stage and dependencies allowed (each takes DELAY)."""
    if not qs:
        return {"queries": [], "rounds": [], "depth": 0, "ideal_ms": 0.0}
    t_first = qs[0]["t"]
    t_eoh = t_first + pause
    out = []
    ideal = {}
    for i, q in enumerate(qs):
        deps = [p for p in out if q["name"] in p["refs"] and p["ta_abs"] is not None and p["ta_abs"] <= q["t"]]
        if deps:
            ready = max(p["ta_abs"] for p in deps)
            ideal[i] = max(ideal[out.index(p)] for p in deps) + delay
        else:
            ready = t_first if q["t"] < t_eoh - delay / 2 else t_eoh
            ideal[i] = ready + delay
        answered_before = [p for p in out if p["ta_abs"] is not None and p["ta_abs"] <= q["t"]]
        prev = max(answered_before, key=lambda p: p["ta_abs"]) if answered_before else None
        out.append({"at_ms": (q["t"] - t_first) * 1000, "proto": q["proto"], "name": q["name"], "type": q["type"],
                    "answered_ms": None if q["ta"] is None else (q["ta"] - t_first) * 1000,
                    "refs": q["refs"], "depth": 1 + max((p["depth"] for p in deps), default=0),
                    "after": deps[-1]["name"] + " " + deps[-1]["type"] if deps else None,
                    "late_ms": (q["t"] - ready) * 1000,
                    "prev_answer": prev["name"] + " " + prev["type"] if prev else None,
                    "t_abs": q["t"], "ta_abs": q["ta"]})
    rounds = []
    for q in out:
        if not rounds or q["t_abs"] - rounds[-1]["t_abs"] > delay / 2:
            rounds.append({"t_abs": q["t_abs"], "start_ms": q["at_ms"], "queries": []})
        rounds[-1]["queries"].append(q)
    for q in out:
        del q["t_abs"], q["ta_abs"]
    for r in rounds:
        del r["t_abs"]
    return {"queries": out, "rounds": rounds, "depth": max(q["depth"] for q in out),
            "ideal_ms": (max(ideal.values()) - t_eoh) * 1000}


def cold_trial(cc, mail_sleep_ms):
    """One message to a freshly started alignmilter: times, verdicts, its DNS queries."""
    with open(cc["milter_log"], "a") as log_f:
        proc = subprocess.Popen([CFG["alignmilter"], "-f", "-c", cc["conf"]], stdin=subprocess.DEVNULL,
                                stdout=log_f, stderr=subprocess.STDOUT)
    # For run.sh's clean-up, should this script itself be killed mid-trial.
    with open(cc["conf"] + ".pid", "w") as f:
        f.write("%d\n" % proc.pid)
    try:
        wait_listen(cc["port"], proc)
        time.sleep(0.05)        # any start-up lookups land before t0, not in the trial
        cmd = [CFG["miltdrive"], "-n", "1", "-w", "0", "-q", "-v", "-x", CFG["xclient_addr"], "-H", CFG["helo"]]
        if mail_sleep_ms:
            cmd += ["-S", str(mail_sleep_ms)]
        cmd += [CFG["sample"], "127.0.0.1:%d" % cc["port"]]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        t1 = time.time()
    finally:
        stop(proc)
        os.unlink(cc["conf"] + ".pid")     # a stale pid could name some other process later
    if r.returncode != 0:
        raise RuntimeError("miltdrive (cold cache): %s %s" % (r.stdout, r.stderr))
    m_eom = re.search(r"^chain eom p50_us=(\d+)", r.stdout, re.M)
    m_tot = re.search(r"^chain total p50_us=(\d+)", r.stdout, re.M)
    ar = r.stderr.split("added Authentication-Results:", 1)[-1] if "added Auth" in r.stderr else ""
    an = analyse_queries(relay_lines(cc["relay_log"], t0, t1), cc["delay_ms"] / 1000, mail_sleep_ms / 1000)
    return {"eom_ms": int(m_eom.group(1)) / 1000, "total_ms": int(m_tot.group(1)) / 1000,
            "verdicts_ok": len(re.findall(r"dkim=pass", ar)) == 2 and "spf=pass" in ar and "dmarc=pass" in ar,
            "ar": re.sub(r"\s+", " ", ar).strip(), "queries": len(an["queries"]), "depth": an["depth"],
            "ideal_ms": an["ideal_ms"],
            "rounds": an["rounds"], "detail": an["queries"]}


def cold_cache():
    """Target: a cold key lookup costs one DNS round trip (lookups overlap, not queue)."""
    cc = CFG["cold"]
    d = cc["delay_ms"]
    variants = (("back-to-back", 0), ("MAIL, %d ms pause, rest of message" % (4 * d), 4 * d))
    res = {"delay_ms": d, "trials": cc["trials"], "variants": []}
    for label, pause in variants:
        trials = [cold_trial(cc, pause) for _ in range(cc["trials"])]
        eom = [t["eom_ms"] for t in trials]
        # total includes miltdrive's own pause after MAIL: take it out.
        tot = [t["total_ms"] - pause for t in trials]
        v = {"label": label, "pause_ms": pause, "trials": trials,
             "eom_p50_ms": med(eom), "eom_max_ms": max(eom), "total_p50_ms": med(tot), "total_max_ms": max(tot),
             "queries": sorted(set(t["queries"] for t in trials)),
             "rounds": sorted(set(len(t["rounds"]) for t in trials)),
             "depth": max(t["depth"] for t in trials),
             "ideal_ms": med([t["ideal_ms"] for t in trials]),
             "verdicts_ok": all(t["verdicts_ok"] for t in trials)}
        # Lookups that waited for an answer they did not need (the first trial's).
        v["queued"] = [q for q in trials[0]["detail"] if q["late_ms"] > d / 2]
        res["variants"].append(v)
        log("cold cache, %s: %s queries per message in %s rounds (chain depth %d); EOM p50 %.1f ms (%.2f D) "
            "max %.1f ms, overlapped it would be %.1f ms; total p50 %.1f ms max %.1f ms; verdicts %s" % (
                label, "/".join(map(str, v["queries"])), "/".join(map(str, v["rounds"])), v["depth"],
                v["eom_p50_ms"], v["eom_p50_ms"] / d, v["eom_max_ms"], v["ideal_ms"],
                v["total_p50_ms"], v["total_max_ms"],
                "ok" if v["verdicts_ok"] else "WRONG: " + trials[0]["ar"]))
        for r in trials[0]["rounds"]:
            log("  round at +%.1f ms: %s" % (r["start_ms"], ", ".join(
                "%s %s (+%.1f, depth %d)" % (q["name"], q["type"], q["at_ms"], q["depth"]) for q in r["queries"])))
    res["chain_depth"] = res["variants"][0]["depth"]
    RES["cold"] = res


def run_cmd(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=isinstance(cmd, str)).stdout.strip()
    except OSError:
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_mb": mem, "kernel": os.uname().release,
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}


def versions():
    return {
        "alignmilter": run_cmd([CFG["alignmilter"], "-V"]).replace("\n", "; "),
        "opendkim": run_cmd("/usr/sbin/opendkim -V 2>&1 | head -1"),
        "opendmarc": run_cmd("/usr/sbin/opendmarc -V 2>&1 | head -1"),
        "postfix": run_cmd("postconf -d mail_version"),
        "nsd": run_cmd("/usr/sbin/nsd -v 2>&1 | head -1"),
    }


# ------------------------------------------------------------------ report
def med(values):
    return statistics.median(values) if values else float("nan")


def summary():
    s = {}
    for pt in RES["points"]:
        s.setdefault((pt["system"], pt["c"]), []).append(pt)
    out = {}
    for key, pts in s.items():
        out[key] = {k: med([p[k] for p in pts]) for k in
                    ("e2e_rate", "accept_rate", "cpu_us_per_msg", "smtp_p50_ms", "smtp_p99_ms",
                     "machine_us_per_msg")}
        out[key]["runs"] = ", ".join("%.0f" % p["e2e_rate"] for p in pts)
    return out


def ratio(a, b):
    return a / b if b else float("nan")


def render():
    S = summary()
    M, V = RES["machine"], RES["versions"]
    A, P, N0 = "alignmilter", "opendkim+opendmarc", "postfix"
    L = []
    w = L.append
    w("# alignmilter benchmark results")
    w("")
    w("Generated by `tests/bench/run.sh` (see `tests/bench/README.md`); do not edit by hand.")
    w("")
    w("## Machine and versions")
    w("")
    w("- %d CPUs, %s, %d MB RAM, Linux %s; load average at start %s (a shared machine: other jobs may run)"
      % (M["nproc"], M["cpu"], M["mem_mb"], M["kernel"], " ".join(M["loadavg_start"])))
    for k in ("alignmilter", "opendkim", "opendmarc", "postfix", "nsd"):
        w("- %s: %s" % (k, V[k]))
    w("- command: `%s` (%d runs per point, median reported; %s)" % (
        CFG["command"], CFG["runs"], RES["when"]))
    w("")
    w("## Setup")
    w("")
    w("Private Postfix (`tests/e2e/postfix.sh`) on 127.0.0.1 relaying to `smtp-sink` (discards); "
      "nsd on %s serving `tests/e2e/zones.py`'s zones; %d pre-signed SES-shaped messages "
      "(~6 KB: text + ~4 KB HTML, Easy DKIM rsa-sha256 2048 d=ses-default.example.com + "
      "d=amazonses.com, Feedback-ID, default MAIL FROM under us-east-1.amazonses.com) sent "
      "round-robin by `loadgen` (C threads, one SMTP session per message: EHLO, XCLIENT "
      "ADDR=192.0.2.10 HELO=a8-10.smtp-out.amazonses.com, EHLO, MAIL/RCPT/DATA pipelined). "
      "End-to-end rate = N / (time until Postfix's queue is empty again). "
      "Milter CPU = utime+stime of the milter processes (/proc/PID/stat) over the run / N. "
      "opendkim: Mode v, Nameservers = the nsd; opendmarc: SPFSelfValidate, its resolv.conf "
      "(private mount namespace) naming the nsd; chained as `smtpd_milters = opendkim, opendmarc`."
      % (CFG["dns"], RES.get("pool_size", 200)))
    w("")
    w("Samples (one message per system through Postfix to `tests/e2e/sink.py`):")
    w("")
    for sysn, smp in RES["samples"].items():
        w("- %s: %s" % (sysn, "; ".join("`%s`" % a[:400] for a in smp["ar"]) or "no Authentication-Results"))
    w("")
    w("## Load generator ceiling (straight into smtp-sink, no Postfix)")
    w("")
    w("| C | msg/s (median) | runs |")
    w("|---|---|---|")
    for c in CFG["cs"]:
        vals = [p["rate"] for p in RES["ceiling"] if p["c"] == c]
        w("| %d | %.0f | %s |" % (c, med(vals), ", ".join("%.0f" % v for v in vals)))
    w("")
    w("## Throughput and CPU through Postfix (N=%d per run)" % CFG["n"])
    w("")
    w("*machine CPU*: every process and the kernel (from /proc/stat, load generator and sinks "
      "included) per message - what a system costs the whole machine.")
    w("")
    w("| system | C | end-to-end msg/s (median) | runs | accepted msg/s | milter CPU us/msg | "
      "machine CPU us/msg | SMTP session p50 / p99 ms |")
    w("|---|---|---|---|---|---|---|---|")
    for sysn in SYSTEMS:
        for c in CFG["cs"]:
            r = S.get((sysn, c))
            if r:
                w("| %s | %d | %.0f | %s | %.0f | %s | %.0f | %.1f / %.1f |" % (
                    sysn, c, r["e2e_rate"], r["runs"], r["accept_rate"],
                    "-" if sysn == N0 else "%.0f" % r["cpu_us_per_msg"], r.get("machine_us_per_msg", 0),
                    r["smtp_p50_ms"], r["smtp_p99_ms"]))
    w("")
    w("## Added latency, straight at the milter (miltdrive, warm cache, %d messages, one milter "
      "connection per message)" % RES.get("lat_n", 0))
    w("")
    w("`eom` = round trip of end-of-message, what the MTA waits for after the final dot; `total` = "
      "every round trip of the message from connect to the EOM reply. *as the MTA sees it*: a plain "
      "TCP client; *milter only*: the client sets TCP_QUICKACK before every read (see below).")
    w("")
    w("| milter | client | eom p50 us | eom p99 us | total p50 us | total p99 us |")
    w("|---|---|---|---|---|---|")
    for key, lab in (("alignmilter", A), ("peers", P)):
        for mode, mlab in (("quick", "milter only"), ("plain", "as the MTA sees it")):
            d = RES["latency"].get(key, {}).get(mode)
            if not d:
                continue
            for who, v in d.items():
                name = lab if who == "chain" else "%s (%s)" % (lab, PORTNAME.get(who, who))
                if key == "alignmilter" and who != "chain":
                    continue
                w("| %s | %s | %.0f | %.0f | %.0f | %.0f |" % (name, mlab, v["eom"]["p50_us"], v["eom"]["p99_us"],
                                                            v["total"]["p50_us"], v["total"]["p99_us"]))
    w("")
    render_cold(w)
    w("## Memory")
    w("")
    w("| milter | RSS with 100 messages in flight (100 connections each) | peak RSS over the whole run (VmHWM, or the highest RSS read if higher) |")
    w("|---|---|---|")
    for sysn in (A, P):
        h = RES["hold"].get(sysn, {})
        w("| %s | %.1f MB | %.1f MB |" % (sysn, h.get("rss_kb_100", 0) / 1024, RES["hwm_kb"].get(sysn, 0) / 1024))
    w("")
    conncost.render(sys.modules[__name__], w)
    # Ratios and targets.
    w("## Ratios against the performance targets")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")
    c0 = CFG["cs"][0]
    cpu_a = med([S[(A, c)]["cpu_us_per_msg"] for c in CFG["cs"] if (A, c) in S])
    cpu_p = med([S[(P, c)]["cpu_us_per_msg"] for c in CFG["cs"] if (P, c) in S])
    rc = ratio(cpu_a, cpu_p)
    w("| milter CPU <= 1/10 of opendkim+opendmarc (stretch 1/20) | %.0f vs %.0f us/msg = 1/%.1f (%.3f) | %s |"
      % (cpu_a, cpu_p, ratio(1, rc), rc, "yes" if rc <= 0.1 else "no"))
    for c in CFG["cs"]:
        if (A, c) in S and (N0, c) in S:
            r = ratio(S[(A, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"])
            w("| throughput >= 0.95 x Postfix alone, C=%d | %.0f / %.0f msg/s = %.2f | %s |"
              % (c, S[(A, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"], r, "yes" if r >= 0.95 else "no"))
    for c in CFG["cs"]:
        au = A + "/unix"
        if (au, c) in S and (N0, c) in S:
            r = ratio(S[(au, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"])
            w("| (info) same over a unix socket, C=%d | %.0f / %.0f msg/s = %.2f; vs peers on unix sockets %.2f | %s |"
              % (c, S[(au, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"], r,
                 ratio(S[(au, c)]["e2e_rate"], S.get((P + "/unix", c), {}).get("e2e_rate", 0)),
                 "yes" if r >= 0.95 else "no"))
    for c in CFG["cs"]:
        if (PASS_THROUGH, c) in S and (N0, c) in S and (A, c) in S:
            pt = S[(PASS_THROUGH, c)]["e2e_rate"]
            w("| (info) the milter protocol alone (alignmilter passing every client through), C=%d | "
              "%.0f / %.0f msg/s = %.2f of Postfix alone; alignmilter verifying = %.2f of that | - |"
              % (c, pt, S[(N0, c)]["e2e_rate"], ratio(pt, S[(N0, c)]["e2e_rate"]),
                 ratio(S[(A, c)]["e2e_rate"], pt)))
    for c in CFG["cs"]:
        if all((x, c) in S for x in (N0, PASS_THROUGH, A)):
            base = S[(N0, c)]["machine_us_per_msg"]
            pt, al = S[(PASS_THROUGH, c)], S[(A, c)]
            w("| (info) machine CPU per message, C=%d (comparable at similar rates only: it grows with "
              "load) | Postfix alone %.0f us; milter protocol alone +%.0f us (our engine %.0f of it, "
              "Postfix's milter client about %.0f); alignmilter +%.0f us. The machine is CPU-bound, so "
              "0.95 x Postfix alone leaves about %.0f us per message for all a milter adds, Postfix's "
              "side included | - |"
              % (c, base, pt["machine_us_per_msg"] - base, pt["cpu_us_per_msg"],
                 pt["machine_us_per_msg"] - base - pt["cpu_us_per_msg"], al["machine_us_per_msg"] - base,
                 base / 0.95 - base))
    for c in CFG["cs"]:
        if (A, c) in S and (P, c) in S:
            w("| (peers) throughput vs Postfix alone, C=%d | %.0f / %.0f msg/s = %.2f; alignmilter/peers = %.2f | - |"
              % (c, S[(P, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"],
                 ratio(S[(P, c)]["e2e_rate"], S[(N0, c)]["e2e_rate"]),
                 ratio(S[(A, c)]["e2e_rate"], S[(P, c)]["e2e_rate"])))
    la = RES["latency"].get("alignmilter", {})
    for mode, mlab in (("quick", "milter only"), ("plain", "as the MTA sees it over TCP")):
        if mode in la:
            p99 = la[mode]["chain"]["total"]["p99_us"]
            w("| added latency p99 <= 2 ms (%s, all round trips) | %.2f ms (EOM alone %.2f ms) | %s |"
              % (mlab, p99 / 1000, la[mode]["chain"]["eom"]["p99_us"] / 1000, "yes" if p99 <= 2000 else "no"))
    cold_ratio_row(w)
    h = RES["hold"].get(A, {})
    w("| RSS <= 30 MB with 100 concurrent connections | %.1f MB (peak over the run %.1f MB) | %s |"
      % (h.get("rss_kb_100", 0) / 1024, RES["hwm_kb"].get(A, 0) / 1024,
         "yes" if h.get("rss_kb_100", 1 << 40) <= 30 * 1024 else "no"))
    pe = RES["latency"].get("peers", {}).get("quick", {}).get("chain")
    if pe and "quick" in la:
        w("| (info) alignmilter / peers, milter-only total p50 | %.0f / %.0f us = %.2f | - |" % (
            la["quick"]["chain"]["total"]["p50_us"], pe["total"]["p50_us"],
            ratio(la["quick"]["chain"]["total"]["p50_us"], pe["total"]["p50_us"])))
    hp = RES["hold"].get(P, {})
    if hp and h:
        w("| (info) alignmilter / peers, RSS with 100 connections | %.2f | - |" % ratio(h["rss_kb_100"], hp["rss_kb_100"]))
    conncost.target_rows(sys.modules[__name__], w)
    w("")
    prof = RES.get("profile")
    if prof:
        w("## Where alignmilter spends its CPU (perf, under Postfix load, C=16)")
        w("")
        w("Top 10 self costs (perf record -g -F 1999 -p PID; perf report --no-children --sort dso,symbol):")
        w("")
        w("| # | self % | object | symbol |")
        w("|---|---|---|---|")
        for i, (pct, dso, sym) in enumerate(prof["self"][:10]):
            w("| %d | %.1f | %s | `%s` |" % (i + 1, pct, dso, sym))
        w("")
        w("Top 10 user-space self costs (same profile, kernel samples left out):")
        w("")
        w("| # | self % | object | symbol |")
        w("|---|---|---|---|")
        for i, (pct, dso, sym) in enumerate(prof["user"][:10]):
            w("| %d | %.1f | %s | `%s` |" % (i + 1, pct, dso, sym))
        w("")
        w("By object: " + ", ".join("%s %.1f%%" % (d, p) for d, p in prof["bydso"]) + ".")
        w("")
        if prof["children"]:
            w("Inclusive (children) costs >= 3%: " + "; ".join("%.1f%% `%s`" % (p, s) for p, s in prof["children"][:15]) + ".")
            w("")
    if RES.get("syscalls"):
        w("## System calls per message (strace -c -f on the milter processes, miltdrive replay of 200 messages)")
        w("")
        w("| milter | total per message | top calls per message |")
        w("|---|---|---|")
        for sysn, sc in RES["syscalls"].items():
            w("| %s | %.0f | %s |" % (sysn, sc["per_msg_total"], ", ".join("%s %.1f" % (n, c) for c, n in sc["top"])))
        w("")
    w("## Notes")
    w("")
    for note in RES.get("notes", []):
        w("- " + note)
    return "\n".join(L) + "\n"


def cold_verdict():
    """(met, rounds, queries, depth) for "a cold key lookup costs one DNS round trip":
    met when, in every variant, what the MTA waits at EOM is the dependency chain's
    depth in round trips (within D/2 of the fully overlapped ideal), not queries x D.
    A lookup asked late but off that path (it cannot lengthen the EOM wait) is listed,
    not counted against the target."""
    co = RES["cold"]
    v0 = co["variants"][0]
    depth, rounds, queries = co["chain_depth"], max(v0["rounds"]), max(v0["queries"])
    met = all(v["eom_p50_ms"] <= v["ideal_ms"] + co["delay_ms"] / 2 for v in co["variants"])
    return met, rounds, queries, depth


def fmt_query(q):
    s = "`%s %s` +%.0f" % (q["name"], q["type"], q["at_ms"])
    if q["after"]:
        s += " (named by %s)" % q["after"]
    return s


def render_cold(w):
    co = RES.get("cold")
    if not co:
        return
    d = co["delay_ms"]
    w("## Cold cache: one message with nothing cached")
    w("")
    w("A second alignmilter asks the nsd through `dnsdelay.py`, which answers every query "
      "D = %d ms after it arrives, each on its own thread (queries in flight together are each "
      "delayed D, not queued). The milter is restarted before each trial (its caches live in the "
      "process) and sent the pool's first message once, `miltdrive -n 1 -w 0 -q` (SES-shaped: "
      "MAIL FROM under us-east-1.amazonses.com, DKIM d=ses-default.example.com (Easy DKIM CNAME) "
      "and d=amazonses.com, From ses-default.example.com); %d trials per variant. "
      "*back-to-back*: the message as fast as miltdrive sends it; *pause*: `miltdrive -S` waits "
      "after MAIL, so what is asked at MAIL FROM is answered before the headers come (`total` "
      "leaves the pause out). Every cold message's verdicts are checked (spf=pass, two dkim=pass, "
      "dmarc=pass). The relay's log gives the queries; a query's *depth* is 1 + the depth of the "
      "answer that named it (CNAME target, SPF include/redirect); the chain depth is the fewest "
      "round trips any resolver needs; *rounds* counts the queries' waves as asked (a wave = "
      "queries asked within D/2 of its first); *if overlapped* is when the last answer would come, "
      "counted from the end of the headers, had every query been asked as soon as its stage "
      "(MAIL FROM, end of headers) and the answer naming it allowed. (libunbound asks the nsd for "
      "the Easy DKIM CNAME's target in a query of its own; a recursive resolver as Nameservers would "
      "return the chain in one answer.)" % (d, co["trials"]))
    w("")
    w("| variant | DNS queries per message | chain depth | rounds asked | if queued (queries x D) | "
      "if overlapped (EOM) | EOM p50 / max ms | = x D | total p50 / max ms | = x D | verdicts |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for v in co["variants"]:
        q = max(v["queries"])
        w("| %s | %s | %d | %s | %d ms | %.0f ms = %.1f D | %.1f / %.1f | %.2f / %.2f | %.1f / %.1f | %.2f / %.2f | %s |" % (
            v["label"], "/".join(map(str, v["queries"])), v["depth"], "/".join(map(str, v["rounds"])), q * d,
            v["ideal_ms"], v["ideal_ms"] / d,
            v["eom_p50_ms"], v["eom_max_ms"], v["eom_p50_ms"] / d, v["eom_max_ms"] / d,
            v["total_p50_ms"], v["total_max_ms"], v["total_p50_ms"] / d, v["total_max_ms"] / d,
            "ok" if v["verdicts_ok"] else "WRONG"))
    w("")
    for v in co["variants"]:
        w("First %s trial, queries by round (ms after its first query):" % v["label"])
        w("")
        for i, r in enumerate(v["trials"][0]["rounds"]):
            w("- round %d, +%.0f ms: %s" % (i + 1, r["start_ms"], "; ".join(fmt_query(q) for q in r["queries"])))
        if v["queued"]:
            w("- asked late (more than D/2 after what it depends on was answered; 'after' = the answer "
              "just before it)%s: " % (" - off the EOM path: EOM waited no longer than the overlapped ideal"
                                       if v["eom_p50_ms"] <= v["ideal_ms"] + d / 2 else "") + "; ".join("`%s %s` %.0f ms late, after %s" % (
                  q["name"], q["type"], q["late_ms"], q["prev_answer"]) for q in v["queued"]))
        w("")
    met, _r, _q, _d = cold_verdict()
    v0 = co["variants"][0]
    w("Verdict: %s. Back to back the message waited %.2f D at EOM for %d queries (%.0f ms if they had "
      "queued, %.0f ms if every one had been asked as soon as what it depends on was answered)%s." % (
          "the lookups overlap as the target asks" if met else "not met",
          v0["eom_p50_ms"] / d, max(v0["queries"]), max(v0["queries"]) * d, v0["ideal_ms"],
          "" if met else "; the extra round trips are the late lookups listed above"))
    w("")
    w("Both 2-deep chains are inherent: the SPF include is named by the SPF record, and the Easy DKIM "
      "key sits behind a CNAME that the bench's authoritative nsd answers without its target. With a "
      "recursive resolver as Nameservers the CNAME and its target come in one answer, so the Easy DKIM "
      "key costs one round trip; the SPF record is asked at MAIL FROM, the keys as their signature "
      "fields arrive, the DMARC record at end of headers, and the SPF check runs at end of headers "
      "while the keys are in flight.")
    w("")


def cold_ratio_row(w):
    co = RES.get("cold")
    if not co:
        return
    d = co["delay_ms"]
    met, rounds, queries, depth = cold_verdict()
    v0 = co["variants"][0]
    text = ("D=%d ms: EOM p50 %.1f ms = %.2f D (max %.2f D) for %d queries in %d rounds (one after another: "
            "%d D; overlapped as far as their %d-deep dependency chain allows: %.1f D)" % (
                d, v0["eom_p50_ms"], v0["eom_p50_ms"] / d, v0["eom_max_ms"] / d, queries, rounds, queries,
                depth, v0["ideal_ms"] / d))
    for v in co["variants"][1:]:
        text += "; %d ms pause after MAIL: %.2f D (overlapped: %.1f D)" % (
            v["pause_ms"], v["eom_p50_ms"] / d, v["ideal_ms"] / d)
    w("| cold key lookup costs one DNS round trip (DKIM keys, DMARC record and SPF lookups overlap, "
      "not queue) | %s | %s |" % (text, "yes" if met else "no"))


def render_cold_only():
    M, V = RES["machine"], RES["versions"]
    L = []
    w = L.append
    w("# alignmilter benchmark results: cold cache only")
    w("")
    w("Generated by `BENCH_COLD_ONLY=1 tests/bench/run.sh` (see `tests/bench/README.md`); not the full benchmark.")
    w("")
    w("- %d CPUs, %s, Linux %s; load average at start %s; alignmilter %s; %s" % (
        M["nproc"], M["cpu"], M["kernel"], " ".join(M["loadavg_start"]), V["alignmilter"], RES["when"]))
    w("")
    render_cold(w)
    w("| target | measured | met |")
    w("|---|---|---|")
    cold_ratio_row(w)
    w("")
    return "\n".join(L) + "\n"


PORTNAME = {}
COLD_ONLY = bool(os.environ.get("BENCH_COLD_ONLY"))
SYSTEMS = ("postfix", "alignmilter/pass-through", "alignmilter", "alignmilter/metrics", "opendkim+opendmarc",
           "alignmilter/unix", "opendkim+opendmarc/unix")
PASS_THROUGH = "alignmilter/pass-through"    # the milter protocol alone: nothing verified
# BENCH_QUICK=system,system: only those systems' throughput and CPU, no
# latency, memory or RESULTS.md - for trying a change, never for the record.
QUICK = [x for x in os.environ.get("BENCH_QUICK", "").split(",") if x]
if QUICK:
    SYSTEMS = tuple(x for x in SYSTEMS if x in QUICK)


class QuickStop(Exception):
    pass


class ColdStop(Exception):
    pass



def main(argv):
    global CFG
    with open(argv[1]) as f:
        CFG = json.load(f)
    RES["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RES["machine"] = machine()
    RES["versions"] = versions()
    with open(CFG["pool"], "rb") as f:
        RES["pool_size"] = sum(1 for line in f if re.match(rb"^\S+@\S+ \d+\n$", line))
    for name, m in CFG["milters"].items():
        for port, label in zip(m.get("ports", []), name.split("+")):
            PORTNAME["127.0.0.1:%d" % port] = label
    t_start = time.monotonic()
    rc = 0
    try:
        if conncost.ONLY:       # BENCH_ONLY=part,...: those conncost.py parts alone (README)
            return conncost.only(sys.modules[__name__])
        if COLD_ONLY:
            cold_cache()
            raise ColdStop()
        log("load generator ceiling against smtp-sink")
        for c in ([] if QUICK else CFG["cs"]):
            loadgen(CFG["sink_port"], 200, c)
            for run in range(CFG["runs"]):
                r = loadgen(CFG["sink_port"], CFG["n"] * 2, c)
                RES["ceiling"].append({"c": c, "rate": r["rate"]})
                log("smtp-sink direct C=%d: %.0f msg/s" % (c, r["rate"]))
        for system in SYSTEMS:
            capture_sample(system)
        measure_systems(SYSTEMS, CFG["profile"])
        if QUICK:
            raise QuickStop()
        B = sys.modules[__name__]
        # Issue 19: sessions with 0, 1 and 10 messages, no exemption; connection and message apart.
        if os.environ.get("BENCH_SESSIONS", "1") != "0":
            conncost.sessions(B)
            conncost.metrics_scrape(B)
        for system in ("alignmilter", "opendkim+opendmarc"):
            RES["hwm_kb"][system] = status_kb(CFG["milters"][system]["pids"], "VmHWM")
        lat_n = 1000
        RES["lat_n"] = lat_n
        for key, system in (("alignmilter", "alignmilter"), ("peers", "opendkim+opendmarc")):
            ports = CFG["milters"][system]["ports"]
            RES["latency"][key] = {"quick": drive(key, ports, lat_n, True)}
            # Without QUICKACK every message can cost a delayed ACK: fewer messages.
            RES["latency"][key]["plain"] = drive(key, ports, 100, False, warm=5)
            q, p = RES["latency"][key]["quick"]["chain"], RES["latency"][key]["plain"]["chain"]
            log("%s latency: milter only total p50 %.0f p99 %.0f us (eom p50 %.0f p99 %.0f); "
                "as the MTA sees it total p50 %.0f p99 %.0f us" % (
                    system, q["total"]["p50_us"], q["total"]["p99_us"], q["eom"]["p50_us"], q["eom"]["p99_us"],
                    p["total"]["p50_us"], p["total"]["p99_us"]))
            RES["hold"][system] = hold(system)
            sc = syscalls(system)
            if sc:
                RES.setdefault("syscalls", {})[system] = sc
                log("%s: %.0f system calls per message (miltdrive replay): %s" % (
                    system, sc["per_msg_total"], ", ".join("%s %.1f" % (n, c) for c, n in sc["top"][:6])))
            log("%s: RSS with 100 connections in flight %.1f MB" % (system, RES["hold"][system]["rss_kb_100"] / 1024))
        conncost.flood(B)
        conncost.connsyscalls(B)
        conncost.hold1000(B)
        conncost.callgrind(B)
        conncost.soak(B)
        conncost.dkimfloor(B)
        # VmHWM can read lower than an RSS seen earlier: memory a process
        # returns with madvise (glibc's cached thread stacks) leaves RSS
        # without passing the kernel's high-water update.  Peak = the higher.
        for system in ("alignmilter", "opendkim+opendmarc"):
            RES["hwm_kb"][system] = max(RES["hwm_kb"][system],
                                        status_kb(CFG["milters"][system]["pids"], "VmHWM"),
                                        RES["hold"].get(system, {}).get("rss_kb_100", 0))
        cold_cache()
    except ColdStop:
        pass
    except QuickStop:
        print(json.dumps(RES["points"]))
        return 0
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log("FAILED: %s" % e)
        RES.setdefault("notes", []).append("run incomplete: %s" % e)
        rc = 1
    RES.setdefault("notes", []).extend([
        "Every SMTP session uses XCLIENT, after which smtpd closes its milter connections and "
        "opens new ones for the client XCLIENT names. `smtpd_milter_maps = cidr:{{127.0.0.0/8 "
        "DISABLE}, {::1/128 DISABLE}}` (postconf(5)'s way to exempt local clients) keeps the load "
        "generator's own loopback session away from the milters, so each milter sees one "
        "connection per message, as behind a real MX; the same for every system. (Earlier runs "
        "without it paid two milter connections per message.)",
        "libmilter answers end-of-message with two packets (the header edit, then the verdict) and "
        "does not set TCP_NODELAY; the second packet waits for the MTA's ACK of the first, which "
        "Linux delays (~40 ms) - so over inet sockets each message can wait ~40 ms on a libmilter "
        "milter that adds a header (opendkim's and opendmarc's here; unix sockets have no Nagle). "
        "alignmilter's native engine writes all replies of a batch at once on TCP_NODELAY sockets "
        "and acknowledges at once (TCP_QUICKACK) what it does not answer. The 'milter only' rows take "
        "that artifact out; the 'as the MTA sees it' rows keep it.",
        "Per-session rows (issue 19): where a target is not met, tests/bench/README.md "
        "('Per-session cost') gives the profile that shows the floor - a milter connection over "
        "TCP is the kernel's accept, two reads, a send and a close, ~3,500 instructions of ours - "
        "and what was tried.",
        "Run time: %.0f s." % (time.monotonic() - t_start),
    ])
    with open(os.path.join(CFG["work"], "results.json"), "w") as f:
        json.dump(RES, f, indent=1, default=str)
    try:
        text = render_cold_only() if COLD_ONLY else render()
    except (KeyError, ValueError, ZeroDivisionError) as e:
        log("cannot render RESULTS.md: %r" % e)
        return 1
    with open(CFG["out"], "w") as f:
        f.write(text)
    log("wrote %s" % CFG["out"])
    sys.stdout.write(text)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
