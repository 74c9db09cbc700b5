#!/usr/bin/python3
"""sinkcheck.py - count what reached the sink, by Message-ID, and check each copy.

Owns: the "none lost, none twice, none unverified" assertion of the load
runs (soak, 200 concurrent connections, milter restarts).  Reads every
SINKDIR/*.eml whose Message-ID is <TAG.INDEX@robust.e2e.example>: each
index 0..N-1 must be there exactly once, with exactly one
Authentication-Results of AUTHSERV, and that one must contain each of the
EXPECT words as often as listed (e.g. spf=pass,dkim=pass,dkim=pass,dmarc=pass).

  sinkcheck.py SINKDIR TAG N AUTHSERV EXPECT [WAIT_SECONDS]
Prints one summary line; exit 0 when all is well.
"""
import os
import re
import sys
import time

MID = re.compile(rb"^message-id:[ \t]*<([^.>]+)\.(\d+)@robust\.e2e\.example>", re.I | re.M)
WORD = re.compile(rb"[a-z]+=[a-z]+")


def head(path):
    with open(path, "rb") as f:
        data = f.read(65536)
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
    return data if end < 0 else data[:end]


def fields(h):
    """Unfolded header fields as (lower-case name, value)."""
    out = []
    for line in re.split(rb"\r?\n", h):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b" " + line.strip())
        elif b":" in line:
            n, v = line.split(b":", 1)
            out.append((n.strip().lower(), v.strip()))
    return out


def scan(sinkdir, tag):
    seen = {}
    bad = []
    for fn in os.listdir(sinkdir):
        if not fn.endswith(".eml"):
            continue
        h = head(os.path.join(sinkdir, fn))
        m = MID.search(h)
        if not m or m.group(1).decode() != tag:
            continue
        seen.setdefault(int(m.group(2)), []).append(fn)
        bad.append((int(m.group(2)), fn, fields(h)))
    return seen, bad


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    sinkdir, tag, n, authserv, expect = argv[1], argv[2], int(argv[3]), argv[4].encode().lower(), argv[5]
    wait = float(argv[6]) if len(argv) == 7 else 0
    want = {}
    for w in expect.split(","):
        if w:
            want[w.encode()] = want.get(w.encode(), 0) + 1
    end = time.time() + wait
    while True:
        seen, copies = scan(sinkdir, tag)
        if len(seen) >= n or time.time() >= end:
            break
        time.sleep(1)
    missing = [i for i in range(n) if i not in seen]
    dups = sum(len(v) - 1 for v in seen.values())
    no_ar = wrong = 0
    examples = []
    for idx, fn, fl in copies:
        ours = [v for k, v in fl if k == b"authentication-results"
                and re.split(rb"[\s;(]", v.lower(), 1)[0] == authserv]
        if len(ours) != 1:
            no_ar += 1
            examples.append("%s: %d of ours" % (fn, len(ours)))
            continue
        words = WORD.findall(ours[0].lower())
        if any(words.count(w) != k for w, k in want.items()):
            wrong += 1
            examples.append("%s: %s" % (fn, ours[0][:300].decode("utf-8", "replace")))
    print("sink %s: want %d, delivered %d distinct, missing %d, duplicates %d, "
          "not exactly one AR of ours %d, unexpected results %d"
          % (tag, n, len(seen), len(missing), dups, no_ar, wrong))
    for e in examples[:5]:
        print("#   " + e)
    if missing:
        print("#   missing indexes (first 20): %s" % missing[:20])
    return 0 if not missing and dups == 0 and no_ar == 0 and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
