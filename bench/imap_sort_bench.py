#!/usr/bin/env python3
"""SORT and THREAD benchmark: swissbox vs Dovecot on the same 10,000-message Maildir, one run.

A generated Maildir (deterministic): threads of 1-12 messages linked by References and
In-Reply-To (some parents missing, some duplicate Message-IDs), "Re:"/"Fwd:"/"[list]"
subjects, some encoded words and raw UTF-8, some messages without a Date. swissbox serves
it after `swissbox mailbox import` (imap_bench.py's prepare/serve), Dovecot from a copy of it
(a standalone config as in the shared peer harness, imap/peer_imap.sh). Each command is timed
once cold (the first run after the server started) and then --rounds times warm:

    SORT (DATE), SORT (SUBJECT), SORT (FROM), SORT (REVERSE ARRIVAL),
    THREAD REFERENCES, THREAD ORDEREDSUBJECT      (all: UTF-8 ALL)

It prints both servers' figures, the ratios, and whether the two answers are the same.

    python bench/imap_sort_bench.py [--count 10000] [--rounds 5] [--skip-dovecot]

Server state lives under $BENCH_WORK/imap-sort (default /tmp/bench-work), never in the repo.
"""

from __future__ import annotations

import argparse
import email.utils
import imaplib
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imap_bench import ADDRESS, PASSWORD, WORK, free_port, prepare, serve, stop  # noqa: E402

COMMANDS = [
    ("SORT (DATE)", ("SORT", "(DATE)", "UTF-8", "ALL")),
    ("SORT (SUBJECT)", ("SORT", "(SUBJECT)", "UTF-8", "ALL")),
    ("SORT (FROM)", ("SORT", "(FROM)", "UTF-8", "ALL")),
    ("SORT (REVERSE ARRIVAL)", ("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")),
    ("THREAD REFERENCES", ("THREAD", "REFERENCES", "UTF-8", "ALL")),
    ("THREAD ORDEREDSUBJECT", ("THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL")),
]
NAMES = ["Alice Smith", "bob", "=?utf-8?q?=C3=89mile_Zola?=", "Dörte Klein", "Eve", "frank"]
TOPICS = ["budget", "release", "meeting", "deploy", "invoice", "report", "schedule", "review"]
MAILUSER = "benchmail"  # the unprivileged owner of Dovecot's copy, as in the peer harness


def generate(maildir: Path, count: int) -> None:
    """`count` messages in maildir/cur, each file's mtime its INTERNALDATE."""
    rnd = random.Random(5256)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    t0 = 1_700_000_000
    i = 0
    while i < count:
        topic = f"{rnd.choice(TOPICS)} {rnd.randrange(1000)}"
        ids: list[str] = []
        for depth in range(min(rnd.randint(1, 12), count - i)):
            ts = t0 + i * 1800 + rnd.randrange(3600)
            mid = f"<m{i}.{rnd.randrange(10**6)}@bench.test>"
            if rnd.random() < 0.01 and ids:
                mid = ids[-1]  # a duplicate Message-ID
            name = rnd.choice(NAMES)
            prefix = "" if depth == 0 else rnd.choice(["Re: ", "RE: ", "Fwd: ", "[list] Re: "])
            subject = prefix + topic
            if rnd.random() < 0.05:
                subject = f"=?utf-8?q?{subject.replace(' ', '_')}?="
            hdr = [
                f"From: {name} <{name.split()[0].lower().strip('=?')}{i % 50}@senders.test>",
                "To: Bench User <user@bench.test>",
                f"Subject: {subject}",
                f"Message-ID: {mid}",
            ]
            if rnd.random() > 0.03:
                hdr.append(f"Date: {email.utils.formatdate(ts - rnd.randrange(600))}")
            if ids:
                parents = [p for p in ids if rnd.random() > 0.1]  # some references lost
                if parents and rnd.random() < 0.8:
                    hdr.append("References: " + "\r\n ".join(parents[-8:]))
                else:
                    hdr.append(f"In-Reply-To: {ids[-1]}")
            body = "\r\n".join(
                " ".join(rnd.choices(TOPICS, k=10)) for _ in range(rnd.randint(3, 60))
            )
            raw = ("\r\n".join(hdr) + "\r\n\r\n" + body + "\r\n").encode()
            path = maildir / "cur" / f"{ts}.M{i}P1.bench,S={len(raw)}:2,S"
            path.write_bytes(raw)
            os.utime(path, (ts, ts))
            ids.append(mid)
            i += 1


def start_dovecot(base: Path, source: Path, port: int) -> subprocess.Popen[bytes]:
    """A standalone Dovecot on 127.0.0.1:`port` serving a fresh copy of `source`."""
    if shutil.which("dovecot") is None:
        raise SystemExit("dovecot missing (apt-get install dovecot-imapd)")
    try:
        pw = pwd.getpwnam(MAILUSER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MAILUSER],
            check=True,
        )
        pw = pwd.getpwnam(MAILUSER)
    d, home = base / "dovecot", base / "home" / ADDRESS
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(base / "home", ignore_errors=True)
    (d / "run").mkdir(parents=True)
    (d / "state").mkdir()
    home.mkdir(parents=True)
    shutil.copytree(source, home / "Maildir")
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(base / "home")], check=True)
    (d / "users").write_text(f"{ADDRESS}:{{PLAIN}}{PASSWORD}\n")
    (d / "dovecot.conf").write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {pw.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid} home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
    )
    proc = subprocess.Popen(
        ["dovecot", "-c", str(d / "dovecot.conf"), "-F"],
        stdout=subprocess.DEVNULL,
        stderr=(d / "stderr.log").open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit((d / "stderr.log").read_text()) from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("dovecot did not start")


def run(port: int, count: int, rounds: int) -> tuple[dict[str, list[float]], dict[str, bytes]]:
    """Seconds per run of each command (cold first), and each command's answer."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=600)
    m.login(ADDRESS, PASSWORD)
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK" and int(data[0] or 0) == count, data
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    answers: dict[str, bytes] = {}
    for r in range(rounds + 1):
        for label, args in COMMANDS:
            t = time.perf_counter()
            typ, data = m._simple_command(*args)
            took = time.perf_counter() - t
            assert typ == "OK", (label, data)
            answer = m.untagged_responses.pop(args[0], [b""])[0] or b""
            times[label].append(took)
            if r == 0:
                answers[label] = answer
    m.logout()
    return times, answers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5, help="warm rounds after the cold one")
    ap.add_argument("--skip-dovecot", action="store_true")
    a = ap.parse_args()

    base = WORK / "imap-sort"
    source = base / f"src-{a.count}" / "Maildir"
    if not (source / "cur").is_dir():
        t = time.perf_counter()
        generate(source, a.count)
        print(f"# generated {a.count} messages in {time.perf_counter() - t:.1f} s: {source}")
    results: dict[str, tuple[dict[str, list[float]], dict[str, bytes]]] = {}

    if not a.skip_dovecot:
        port = free_port()
        proc = start_dovecot(base, source, port)
        try:
            results["dovecot"] = run(port, a.count, a.rounds)
        finally:
            stop(proc)

    port = free_port()
    took = prepare(base / "swissbox", port, source)
    print(f"# swissbox import of {a.count} messages: {took:.1f} s")
    proc = serve(base / "swissbox", port)
    try:
        results["swissbox"] = run(port, a.count, a.rounds)
    finally:
        stop(proc)

    ours, ours_answers = results["swissbox"]
    theirs, their_answers = results.get("dovecot", ({}, {}))
    print(f"\n# {a.count} messages, cold = first run after start, warm = median of {a.rounds}")
    print("| command | swissbox cold | swissbox warm | dovecot cold | dovecot warm |", end="")
    print(" warm ratio | same answer |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, _ in COMMANDS:
        s = ours[label]
        sw = statistics.median(s[1:])
        row = f"| {label} | {s[0] * 1000:.0f} ms | {sw * 1000:.0f} ms |"
        if label in theirs:
            d = theirs[label]
            dw = statistics.median(d[1:])
            same = "yes" if ours_answers[label] == their_answers[label] else "no"
            row += f" {d[0] * 1000:.0f} ms | {dw * 1000:.0f} ms | {sw / dw:.2f}x | {same} |"
        else:
            row += " - | - | - | - |"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
