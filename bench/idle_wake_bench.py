#!/usr/bin/env python3
"""IDLE wake-up across front ends: two `swissbox serve` over one throwaway PostgreSQL and one
shared blob_path; a message delivered over SMTP through A, timed from the 250 until an IDLE
session on B (and one on A, for comparison) reads `* n EXISTS`.

    python bench/idle_wake_bench.py [--count 30]

Needs PostgreSQL's initdb/pg_ctl (Debian `postgresql`); state in a temporary folder.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import running_postgres  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

MAILBOX, PASSWORD = "bench@example.test", "Bench-password-1"


def idle_session(stack: Stack) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=30)
    imap.starttls(ssl_context=ssl.create_default_context(cafile=str(stack.ca_file)))
    imap.login(MAILBOX, PASSWORD)
    imap.select("INBOX")
    imap.send(b"i IDLE\r\n")
    assert imap.readline().startswith(b"+")
    return imap


def wait_exists(imap: imaplib.IMAP4) -> float:
    while b"EXISTS" not in (line := imap.readline()):
        assert line, "connection closed"
    return time.monotonic()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=30)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="swissbox-idle-bench-"))
    os.chmod(folder, 0o755)
    try:
        with running_postgres(folder / "pg") as server:
            store = {"url": server.new_database(), "blob_path": str(folder / "blobs")}
            a, b = Stack(folder / "a", store=store), Stack(folder / "b", store=store)
            a.provision(mailboxes={MAILBOX: PASSWORD})
            b.init()
            with a, b:
                a.start()
                b.start()
                on_a, on_b = idle_session(a), idle_session(b)
                same, other = [], []
                with smtplib.SMTP("127.0.0.1", a.ports["smtp_mx"], timeout=30) as mx:
                    for n in range(args.count):
                        mx.sendmail("far@away.example", [MAILBOX], b"Subject: %d\r\n\r\nx\r\n" % n)
                        accepted = time.monotonic()
                        same.append(wait_exists(on_a) - accepted)
                        other.append(wait_exists(on_b) - accepted)
                for name, values in (("IDLE on A (same front end)", same), ("IDLE on B", other)):
                    ms = sorted(v * 1000 for v in values)
                    print(
                        f"{name}: median {statistics.median(ms):.1f} ms,"
                        f" p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms, max {ms[-1]:.1f} ms"
                        f" ({len(ms)} messages)"
                    )
                a.stop()
                b.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
