#!/usr/bin/env python3
"""`swissbox mailbox import-imap` speed: a Dovecot on loopback holding N messages (default
10,000, filled with `doveadm import` from a generated Maildir: 4 folders, flags, keywords,
sizes from 1 KiB to 500 KiB), copied into a fresh swissbox data folder.

Prints: fill time; the first import (messages/s, MB/s of message bytes, peak RSS of the
import process); the second run (must copy 0: the idempotency check over every message);
and, as a baseline for the store's own write speed, `swissbox mailbox import` of the same
Maildir from disk.

    python bench/import_imap_bench.py [--count 10000] [--serve]

--serve runs the import beside a running `swissbox serve`. Everything lives in a temporary
folder (Dovecot's outside it, see tests/support/dovecot.py), removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

ADDRESS, PASSWORD = "bench@example.test", "bench-mailbox-pw"
COPY_ADDRESS = "baseline@example.test"
SRC_USER, SRC_PW = "bench", "source-pw"
FOLDERS = [(".", 0.60), (".Sent Messages", 0.20), (".Archive.2023", 0.15), (".Work", 0.05)]
FLAG_INFOS = ["", "S", "S", "S", "RS", "FS", "Sa", "Sab"]


def message(rng: random.Random, i: int) -> bytes:
    kind = rng.random()
    head = (
        f"From: Sender {i % 97} <s{i % 97}@peer.test>\r\nTo: bench@example.test\r\n"
        f"Subject: bench message {i}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        f"Message-ID: <bench.{i}@peer.test>\r\nMIME-Version: 1.0\r\n"
    )
    if kind < 0.85:
        text = "".join(
            f"line {n} of message {i}, some words to fill it\r\n"
            for n in range(rng.randint(20, 120))
        )
        return (head + "Content-Type: text/plain\r\n\r\n" + text).encode()
    size = rng.randint(20_000, 50_000) if kind < 0.98 else rng.randint(200_000, 500_000)
    blob = base64.encodebytes(rng.randbytes(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        head.encode()
        + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        + b"see attached\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + blob
        + b"--b--\r\n"
    )


def generate(root: Path, count: int, seed: int = 7) -> int:
    """A Maildir++ tree; returns its bytes."""
    rng = random.Random(seed)
    total = 0
    weights = [w for _f, w in FOLDERS]
    for folder, _w in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
        (root / folder / "dovecot-keywords").write_text("0 $Label1\n1 Custom\n")
    base = 1_500_000_000
    for i in range(count):
        folder = rng.choices([f for f, _w in FOLDERS], weights)[0]
        data = message(rng, i)
        total += len(data)
        when = base + i * 3600 + rng.randint(0, 3599)
        path = root / folder / "cur" / f"{when}.{i}.bench:2,{rng.choice(FLAG_INFOS)}"
        path.write_bytes(data)
        os.utime(path, (when, when))
    return total


# Runs a command and prints its own peak RSS (KiB) on the last line of stderr.
RSS_WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
    " sys.exit(r.returncode)"
)


def timed(cmd: list[str], stdin: str | None = None) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, stdout) of one command."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *cmd], input=stdin, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]), done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--serve", action="store_true", help="import beside a running serve")
    args = ap.parse_args()
    doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
    work = Path(tempfile.mkdtemp(prefix="swissbox-import-bench-"))
    dovecot = Dovecot({SRC_USER: SRC_PW})
    try:
        src = dovecot.folder / "home" / "generated"
        t0 = time.perf_counter()
        size = generate(src, args.count)
        gen = time.perf_counter() - t0
        dovecot.give_mail()
        dovecot.start()
        t0 = time.perf_counter()
        subprocess.run(
            [doveadm, "-c", str(dovecot.config), "import", "-s", "-u", SRC_USER,
             f"maildir:{src}:LAYOUT=maildir++", "", "all"],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [doveadm, "-c", str(dovecot.config), "mailbox", "status", "-u", SRC_USER,
             "messages", "*"],
            check=True, capture_output=True,
        )  # fmt: skip
        fill = time.perf_counter() - t0
        print(f"source: {args.count} messages, {size / 1e6:.1f} MB; generated in {gen:.1f} s,"
              f" doveadm import {fill:.1f} s")  # fmt: skip

        stack = Stack(work)
        stack.provision(mailboxes={ADDRESS: PASSWORD, COPY_ADDRESS: PASSWORD})
        if args.serve:
            stack.start()
        cmd = [
            sys.executable, "-m", "swissbox.cli", "mailbox", "import-imap", ADDRESS,
            "--from", f"imap://{SRC_USER}@127.0.0.1:{dovecot.port}", "--password-stdin",
            "--json", "--data", str(stack.data),
        ]  # fmt: skip
        first, rss, out = timed(cmd, SRC_PW + "\n")
        result = json.loads(out)
        assert result["added"] == args.count, result
        print(f"import-imap: {result['added']} messages in {first:.1f} s ="
              f" {args.count / first:.0f} messages/s, {size / 1e6 / first:.1f} MB/s;"
              f" peak RSS of the import {rss / 1024:.0f} MiB")  # fmt: skip
        again, _rss, out = timed(cmd, SRC_PW + "\n")
        result = json.loads(out)
        assert result["added"] == 0, result
        print(f"second run: 0 new of {args.count} in {again:.1f} s"
              f" ({args.count / again:.0f} messages/s checked)")  # fmt: skip
        local = [
            sys.executable, "-m", "swissbox.cli", "mailbox", "import", COPY_ADDRESS, str(src),
            "--json", "--data", str(stack.data),
        ]  # fmt: skip
        base, _rss, out = timed(local)
        print(f"baseline `mailbox import` of the same Maildir from disk: {base:.1f} s ="
              f" {args.count / base:.0f} messages/s; import-imap takes {first / base:.2f}x")  # fmt: skip
        stack.stop()
    finally:
        dovecot.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
