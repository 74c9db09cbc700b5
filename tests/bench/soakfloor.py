"""soakfloor.py - alignmilter's memory over a long soak, and the DKIM library's floor (issue 19).

Owns, for conncost.py (bench.py's helpers passed in as the module B):
- soak(B): BENCH_SOAK_N messages (default 100,000; 0 skips) straight at the
  bench's alignmilter, SOAK_PROCS miltdrive processes at once, in chunks of
  about a tenth; its VmRSS read after every chunk (the chunk's messages all
  answered) and, by a sampler thread, twice a second during it (the chunk's
  peak); its CPU (utime+stime) over the whole soak.  The second half's
  least-squares slope of RSS against messages says flat or not.
- dkimfloor(B): tests/bench/dkimfloor.c (built by run.sh) verifying the pool's
  first message BENCH_DKIMFLOOR_N times (default 2,000) with libopendkim alone,
  keys from memory - once decoding every key for every message (as opendkim
  does), once with each decoded key kept (as alignmilter's keycache.c does) -
  and the split: key decoding, RSA alone.  The key records are the ones
  tests/e2e/zones.py puts in the zones (zones.key_record of each key in
  WORK/dns/keys.json), written to WORK/dkimfloor-keys.txt.  Runs times, medians.
- render_floor / render_soak / target_rows: their RESULTS.md lines.
Everything goes into B.RES["conncost"]["soak" / "dkimfloor"].  Errors raise
RuntimeError (bench.py records the run as incomplete).  Threads: soak's RSS
sampler, stopped before soak returns.
"""
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

A, P = "alignmilter", "opendkim+opendmarc"
SOAK_PROCS = 4
FLAT_MB_PER_100K = 1.0      # "flat": the second half grows by no more than this


def _mb(kb):
    return kb / 1024.0


def soak(B):
    CFG, RES = B.CFG, B.RES
    n = int(os.environ.get("BENCH_SOAK_N", "100000"))
    if n <= 0:
        return
    ports, pids = CFG["milters"][A]["ports"], CFG["milters"][A]["pids"]
    chunk = max(SOAK_PROCS, (n + 9) // 10)
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.wait(0.5):
            samples.append((time.monotonic(), B.status_kb(pids, "VmRSS")))
    th = threading.Thread(target=sampler, daemon=True)
    points = [{"done": 0, "rss_kb": B.status_kb(pids, "VmRSS"), "max_kb": None, "s": 0.0}]
    B.drive(A, ports, 20, True, warm=0)                     # caches warm, not counted
    cpu0, t0, done = B.cpu_seconds(pids), time.monotonic(), 0
    th.start()
    try:
        while done < n:
            k = min(chunk, n - done)
            per = [k // SOAK_PROCS + (1 if i < k % SOAK_PROCS else 0) for i in range(SOAK_PROCS)]
            tc = time.monotonic()
            procs = [subprocess.Popen([CFG["miltdrive"], "-n", str(m), "-w", "0", "-q", "-x", CFG["xclient_addr"],
                                       "-H", CFG["helo"], CFG["sample"], "127.0.0.1:%d" % ports[0]],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for m in per if m > 0]
            for p in procs:
                out, err = p.communicate()
                if p.returncode != 0 or not re.search(r"(?m)^messages=\d+ failures=0$", out):
                    raise RuntimeError("soak: miltdrive failed at %d messages: %s %s" % (done, out[-300:], err[-300:]))
            done += k
            during = [kb for t, kb in samples if t >= tc]
            points.append({"done": done, "rss_kb": B.status_kb(pids, "VmRSS"),
                           "max_kb": max(during) if during else None, "s": time.monotonic() - t0})
            B.log("soak: %6d messages, RSS %.1f MB (peak in the chunk %s), %.0f s" % (
                done, _mb(points[-1]["rss_kb"]), "-" if not during else "%.1f MB" % _mb(max(during)), points[-1]["s"]))
    finally:
        stop.set()
        th.join()
    wall, cpu = time.monotonic() - t0, B.cpu_seconds(pids) - cpu0
    half = [p for p in points if p["done"] >= n / 2]
    slope = _slope([p["done"] for p in half], [p["rss_kb"] for p in half]) * 100000 / 1024
    allkb = [p["rss_kb"] for p in points] + [kb for _t, kb in samples]
    RES.setdefault("conncost", {})["soak"] = {
        "n": n, "procs": SOAK_PROCS, "points": points, "wall_s": wall, "cpu_us_per_msg": cpu * 1e6 / n,
        "rate": n / wall, "start_kb": points[0]["rss_kb"], "end_kb": points[-1]["rss_kb"], "max_kb": max(allkb),
        "slope_mb_per_100k": slope, "flat": abs(slope) <= FLAT_MB_PER_100K}
    B.log("soak: %d messages in %.0f s (%.0f msg/s), alignmilter %.0f us CPU per message; RSS %.1f -> %.1f MB "
          "(max %.1f), second half %+.2f MB per 100k" % (n, wall, n / wall, cpu * 1e6 / n, _mb(points[0]["rss_kb"]),
                                                         _mb(points[-1]["rss_kb"]), _mb(max(allkb)), slope))


def _slope(xs, ys):
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0


def _key_file(B):
    """WORK/dkimfloor-keys.txt: "<name> TAB <TXT text>" for every RSA key of the zones."""
    sys.dont_write_bytecode = True          # no __pycache__ in the source tree
    sys.path.insert(0, B.CFG["e2e_dir"])
    import zones                            # noqa: E402  (tests/e2e/zones.py: the record format)
    work = B.CFG["work"]
    with open(os.path.join(work, "dns", "keys.json")) as f:
        keys = json.load(f)
    path = os.path.join(work, "dkimfloor-keys.txt")
    with open(path, "w") as out:
        for name, k in sorted(keys.items()):
            if not k["alg"].startswith("rsa"):
                continue
            der = subprocess.run(["openssl", "pkey", "-in", k["key"], "-pubout", "-outform", "DER"],
                                 check=True, capture_output=True).stdout
            out.write("%s\t%s\n" % (name, zones.key_record("rsa", base64.b64encode(der).decode())))
    return path


def dkimfloor(B):
    CFG, RES = B.CFG, B.RES
    exe = CFG.get("dkimfloor")
    if not exe:
        B.log("dkimfloor not built (libopendkim-dev missing?): no DKIM library floor")
        return
    n = int(os.environ.get("BENCH_DKIMFLOOR_N", "2000"))
    keys = _key_file(B)
    runs = []
    for _r in range(CFG["runs"]):
        r = subprocess.run([exe, "-n", str(n), keys, CFG["sample"]], capture_output=True, text=True)
        got = {m.group(1): {k: float(v) for k, v in (kv.split("=") for kv in m.group(2).split())}
               for m in re.finditer(r"(?m)^(libopendkim|cached|keydecode|rsa) (.*)$", r.stdout)}
        if r.returncode != 0 or len(got) != 4:
            raise RuntimeError("dkimfloor: %s %s" % (r.stdout, r.stderr))
        runs.append(got)
        B.log("dkimfloor: libopendkim %.0f us per message (keys cached %.0f us; key decoding %.0f, RSA %.0f)" % (
            got["libopendkim"]["cpu_us"], got["cached"]["cpu_us"], got["keydecode"]["cpu_us"], got["rsa"]["cpu_us"]))

    def med(part, key):
        return statistics.median([g[part][key] for g in runs])
    RES.setdefault("conncost", {})["dkimfloor"] = {
        "n": n, "runs": len(runs), "sigs": int(runs[0]["libopendkim"]["sigs"]), "bits": int(runs[0]["rsa"]["bits"]),
        **{part: {k: med(part, k) for k in ("cpu_us", "wall_us")} for part in ("libopendkim", "cached", "keydecode", "rsa")},
        "all": [g["libopendkim"]["cpu_us"] for g in runs]}


# ---------------------------------------------------------------------- render
def render_floor(B, w):
    """The DKIM library's floor, in the per-session section."""
    cc = B.RES.get("conncost", {})
    fl = cc.get("dkimfloor")
    if not fl:
        return
    fp = cc.get("fit", {}).get(P)
    fa = cc.get("fit", {}).get(A)
    peers = fp["per_msg"] if fp else None

    def vs(us):
        return "" if not peers else " = 1/%.1f of the peers' per-message figure" % B.ratio(peers, us)
    lib, cached = fl["libopendkim"]["cpu_us"], fl["cached"]["cpu_us"]
    w("**The DKIM library's floor** (`tests/bench/dkimfloor.c`, one thread, no milter, no DNS: the pool's first "
      "message verified %s times with Debian's libopendkim - `dkim_verify`, `dkim_header` per field, `dkim_eoh`, "
      "`dkim_body`, `dkim_eom` - keys from memory through `dkim_set_key_lookup`, both signatures checked to pass "
      "every time; CPU = getrusage user+sys / messages, median of %d run%s): **libopendkim alone, per message: "
      "%.0f us%s** (wall %.0f us); with each decoded key kept across messages (alignmilter's keycache.c interposes "
      "`d2i_PUBKEY_bio`; so does dkimfloor for this figure): **%.0f us%s** (wall %.0f us). Target: per message <= 1/20 of the "
      "peers'%s%s. Keeping the decoded keys saves %.0f us per message (the %d keys decoded alone, base64 + "
      "`d2i_PUBKEY` through OpenSSL 3's decoder: %.0f us); of the %.0f us left, the %d RSA-%d verifications "
      "alone (`EVP_PKEY_verify` on the header hash) take %.0f us and the rest - header and body "
      "canonicalisation, SHA-256, the library's parsing and set-up - about %.0f us." % (
          format(fl["n"], ","), fl["runs"], "" if fl["runs"] == 1 else "s", lib, vs(lib),
          fl["libopendkim"]["wall_us"], cached, vs(cached), fl["cached"]["wall_us"],
          " = %.0f us" % (peers / 20) if peers else " (not measured in this run)",
          "; alignmilter's per-message B above is %.0f us" % fa["per_msg"] if fa else "",
          lib - cached, fl["sigs"], fl["keydecode"]["cpu_us"], cached, fl["sigs"], fl["bits"], fl["rsa"]["cpu_us"],
          cached - fl["rsa"]["cpu_us"]))
    w("")


def render_soak(B, w):
    sk = B.RES.get("conncost", {}).get("soak")
    if not sk:
        return
    w("## Memory over a %s-message soak (alignmilter, %d miltdrive processes at once)" % (
        format(sk["n"], ","), sk["procs"]))
    w("")
    w("Straight at the bench's alignmilter after the rest of the run, one milter connection per message "
      "(`miltdrive -q`), in chunks; VmRSS after each chunk (its messages all answered) and the highest read "
      "during it (sampled twice a second); %d connections at a time. %s messages in %.0f s (%.0f msg/s); "
      "alignmilter CPU **%.0f us per message** over the soak." % (
          sk["procs"], format(sk["n"], ","), sk["wall_s"], sk["rate"], sk["cpu_us_per_msg"]))
    w("")
    w("| messages done | RSS after | peak during the chunk | elapsed |")
    w("|---|---|---|---|")
    for p in sk["points"]:
        w("| %s | %.1f MB | %s | %.0f s |" % (format(p["done"], ","), _mb(p["rss_kb"]),
                                           "-" if p["max_kb"] is None else "%.1f MB" % _mb(p["max_kb"]), p["s"]))
    w("")
    w("Start %.1f MB, end %.1f MB, max %.1f MB; slope over the second half (least squares) **%+.2f MB per 100k "
      "messages**: %s (flat = within %.1f MB per 100k)." % (
          _mb(sk["start_kb"]), _mb(sk["end_kb"]), _mb(sk["max_kb"]), sk["slope_mb_per_100k"],
          "flat" if sk["flat"] else "not flat", FLAT_MB_PER_100K))
    w("")


def target_rows(B, w):
    cc = B.RES.get("conncost", {})
    sk = cc.get("soak")
    if sk:
        w("| RSS flat over a %s-message soak | %.1f -> %.1f MB (max %.1f); second half %+.2f MB per 100k; "
          "%.0f us CPU per message | %s |" % (
              format(sk["n"], ","), _mb(sk["start_kb"]), _mb(sk["end_kb"]), _mb(sk["max_kb"]),
              sk["slope_mb_per_100k"], sk["cpu_us_per_msg"], "yes" if sk["flat"] else "no"))
    fl, fp, fa = cc.get("dkimfloor"), cc.get("fit", {}).get(P), cc.get("fit", {}).get(A)
    if fl:
        lib, cached = fl["libopendkim"]["cpu_us"], fl["cached"]["cpu_us"]
        w("| (info) the floor under per message <= 1/20 of the peers': verifying the two signatures with "
          "libopendkim alone | %.0f us%s; keys cached %.0f us%s%s | - |" % (
              lib, " (1/%.1f of the peers' %.0f us)" % (B.ratio(fp["per_msg"], lib), fp["per_msg"]) if fp else "",
              cached, " (1/%.1f)" % B.ratio(fp["per_msg"], cached) if fp else "",
              "; alignmilter %.0f us" % fa["per_msg"] if fa else ""))
