"""Backup, verify and restore of a data folder holding many messages, against `cp -a`.

Builds a data folder (`swissbox init`-like: directory database, TLS) with MAILBOXES mailboxes
of MESSAGES messages each (about 4 KB), then times:
- the first `take_backup` (every file read, hashed and written) and `cp -a` of the folder
  (no consistency, no checksums) as the reference;
- a second backup after 100 new messages and 1,000 flag changes (only new files read);
- `verify` of both snapshots (every object read and hashed);
- `restore` into a new folder (every file written, checked and fsynced).

    python bench/backup_bench.py [--messages 10000] [--mailboxes 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swissbox.backup import Repository, restore, take_backup, verify  # noqa: E402
from swissbox.conf import load  # noqa: E402
from swissbox.directory import Directory  # noqa: E402
from swissbox.mailstore import INBOX, MailStore  # noqa: E402
from swissbox.mailstore.importer import NewMessage, add_messages  # noqa: E402

BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 64 + "\r\n").encode()


def message(n: int) -> bytes:
    return (
        f"From: a@example.org\r\nTo: b@example.test\r\nSubject: message {n}\r\n"
        f"Message-ID: <{n}@example.org>\r\n\r\n"
    ).encode() + BODY


def fill(store: MailStore, address: str, first: int, count: int) -> None:
    box = store.mailbox(address)
    for start in range(first, first + count, 1000):
        batch = [
            NewMessage(message(n), frozenset(), time.time())
            for n in range(start, min(first + count, start + 1000))
        ]
        add_messages(box, INBOX, batch)


def timed(label: str, fn, unit_count: int, unit: str):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    took = time.perf_counter() - started
    print(f"{label:<42} {took:7.2f} s  {unit_count / took:9.0f} {unit}/s")
    return result, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--mailboxes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        data.mkdir()
        (data / "swissbox.toml").write_text('[server]\nhostname = "mx.example.test"\n')
        Directory(data / "swissbox.db").close()
        store = MailStore(data / "mail")
        addresses = [f"user{i}@example.test" for i in range(args.mailboxes)]
        for a in addresses:
            fill(store, a, 0, args.messages)
        total = args.messages * args.mailboxes
        config = load(data=str(data), env={})
        print(f"{total} messages in {args.mailboxes} mailboxes, {len(message(0))} bytes each")

        _, copy_s = timed(
            "cp -a (reference)",
            lambda: subprocess.run(["cp", "-a", str(data), str(tmp / "copy")], check=True),
            total,
            "msg",
        )
        first, first_s = timed(
            "backup, first", lambda: take_backup(config, tmp / "bk"), total, "msg"
        )
        box = store.mailbox(addresses[0])
        box.set_flags(INBOX, range(1, 1001), ["\\Seen"])
        fill(store, addresses[0], args.messages, 100)
        second, second_s = timed(
            "backup, second (100 new, 1000 flag changes)",
            lambda: take_backup(config, tmp / "bk"),
            total + 100,
            "msg",
        )
        print(
            f"  second backup wrote {second.tally.messages_written} message files,"
            f" {second.tally.others_written} other files"
        )
        repo = Repository.open(tmp / "bk")
        report, _ = timed("verify (both snapshots)", lambda: verify(repo), total + 100, "obj")
        assert not report.problems, report.problems[:3]
        timed("restore", lambda: restore(repo, tmp / "restored"), total + 100, "msg")
        store.close()
        print(
            f"first backup / cp -a: {first_s / copy_s:.1f}x;  second / first: {second_s / first_s:.2f}"
        )
        shutil.rmtree(tmp / "copy")


if __name__ == "__main__":
    main()
