#!/usr/bin/python3
"""pool.py - the benchmark's pool of pre-signed SES-shaped messages.

Owns: building COUNT distinct messages shaped like Amazon SES mail with the
default MAIL FROM (From news@ses-default.example.com, MIME text + ~4 KB
HTML, Feedback-ID, distinct Message-IDs and bounce addresses), each signed
ONCE by python3-dkim (Easy DKIM rsa-sha256 2048 d=ses-default.example.com,
then d=amazonses.com, as SES does), before any timing.  The building and
signing are tests/e2e/send.py's own build() and sign(), so the benchmark
and the end-to-end tests send the same kind of message.

Writes
  OUT/pool.bin      for loadgen: per message "<mail-from> <len>\\n" + the
                    dot-stuffed DATA content ending in "\\r\\n.\\r\\n"
  OUT/msg0000.eml   the first message as signed (for miltdrive / checks)

  pool.py KEYS_JSON OUT [COUNT]        (COUNT default 200)
"""
import argparse
import multiprocessing
import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import send  # noqa: E402  (tests/e2e/send.py)

FROM = "Shop <news@ses-default.example.com>"
FEEDBACK_ID = "1.us-east-1.ZHVtbXlmZWVkYmFja2lk=:AmazonSES"
SIGN = ["ses-default.example.com:sesdefault1tok", "amazonses.com:224i4yxa"]
KEYS = {}


def mail_from(i):
    # SES's bounce address: a per-message id under the region's domain.
    return "0100018c4a1b%04x-11111111-2222-3333-4444-%012d-000000@us-east-1.amazonses.com" % (i, i)


def one(i):
    a = argparse.Namespace(
        message_id="<0100018c4a1b%04x-bench-%06d@email.amazonses.com>" % (i, i),
        from_=FROM, to="<postmaster@sink.bench.example>", rcpt=["postmaster@sink.bench.example"],
        subject="Your weekly newsletter #%d" % i, feedback_id=FEEDBACK_ID, header=[], html=True)
    msg = send.build(a)
    for spec in SIGN:
        msg = send.sign(msg, spec, KEYS)
    return i, msg


def stuff(msg):
    """RFC 5321 4.5.2 dot-stuffing and the final dot."""
    lines = msg.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
    return out + b".\r\n"


def init(keys):
    KEYS.update(keys)


def main(argv):
    import json
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    with open(argv[1]) as f:
        keys = json.load(f)
    out = argv[2]
    count = int(argv[3]) if len(argv) == 4 else 200
    os.makedirs(out, exist_ok=True)
    # Signing is pure-Python RSA in python3-dkim: use every core.
    with multiprocessing.Pool(initializer=init, initargs=(keys,)) as p:
        msgs = sorted(p.map(one, range(count)))
    with open(os.path.join(out, "pool.bin"), "wb") as f:
        for i, msg in msgs:
            data = stuff(msg)
            f.write(("%s %d\n" % (mail_from(i), len(data))).encode() + data)
    with open(os.path.join(out, "msg0000.eml"), "wb") as f:
        f.write(msgs[0][1])
    with open(os.path.join(out, "msg0000.env"), "w") as f:
        f.write(mail_from(0) + "\n")
    print("pool: %d messages, %d bytes each (first)" % (count, len(msgs[0][1])))


if __name__ == "__main__":
    main(sys.argv)
