"""Crash safety: SIGKILL `swissbox serve` in the middle of a burst of deliveries; after a
restart every message that got a 250 is in the store exactly once and the index agrees with
the files."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from pathlib import Path

import aiosmtplib

from swissbox.mailstore import MailStore
from swissbox.mailstore.paths import INDEX_NAME, mailbox_dir, split_name
from tests.support.stack import Stack

ADDRESS = "user@example.test"
SENDERS = 12
TARGET_ACKS = 120


async def burst(stack: Stack) -> tuple[set[int], set[int]]:
    """Senders loop until the server dies; returns (acknowledged, attempted) message numbers."""
    acked: set[int] = set()
    attempted: set[int] = set()
    counter = iter(range(1_000_000))
    killed = asyncio.Event()

    async def sender() -> None:
        while not killed.is_set():
            try:
                async with aiosmtplib.SMTP(
                    hostname="127.0.0.1", port=stack.ports["smtp_mx"], start_tls=False, timeout=5
                ) as client:
                    while not killed.is_set():
                        n = next(counter)
                        attempted.add(n)
                        body = f"Subject: burst-{n}\r\nMessage-ID: <{n}@burst>\r\n\r\n" + "z" * 3000
                        await client.sendmail(
                            "a@sender.example", [ADDRESS], body.encode() + b"\r\n"
                        )
                        acked.add(n)
            except (aiosmtplib.SMTPException, OSError):
                if not killed.is_set():
                    await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(sender()) for _ in range(SENDERS)]
    deadline = asyncio.get_running_loop().time() + 60
    while len(acked) < TARGET_ACKS:
        assert asyncio.get_running_loop().time() < deadline, f"too slow:\n{stack.log()[-3000:]}"
        await asyncio.sleep(0.005)
    stack.kill()  # SIGKILL, mid-burst: many sessions are inside DATA right now
    killed.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
    return acked, attempted


def stored_numbers(folder: Path) -> list[int]:
    found = []
    for sub in ("new", "cur"):
        for name in os.listdir(folder / sub):
            m = re.search(rb"Subject: burst-(\d+)\r\n", (folder / sub / name).read_bytes())
            assert m, name
            found.append(int(m.group(1)))
    return found


def test_sigkill_mid_burst_loses_no_acknowledged_message(tmp_path: Path) -> None:
    with Stack(tmp_path, hostname="mx.example.test") as stack:
        stack.provision(mailboxes={ADDRESS: "Burst-password-1"})
        stack.start()
        acked, attempted = asyncio.run(burst(stack))
        assert len(acked) >= TARGET_ACKS
        stack.start()  # recovery runs before the listeners open
        stack.stop()

    box = mailbox_dir(stack.data / "mail", ADDRESS)
    numbers = stored_numbers(box)
    assert len(numbers) == len(set(numbers)), "a message stored twice"
    assert acked <= set(numbers), f"acknowledged but lost: {sorted(acked - set(numbers))[:10]}"
    assert set(numbers) <= attempted
    # the index the restarted server left: one row per file, unique UIDs
    conn = sqlite3.connect(box / INDEX_NAME)
    rows = conn.execute(
        "SELECT m.uid, m.key, m.subdir, m.filename FROM messages m JOIN folders f"
        " ON f.id = m.folder_id WHERE f.name = 'INBOX'"
    ).fetchall()
    uidnext = conn.execute("SELECT uidnext FROM folders WHERE name = 'INBOX'").fetchone()[0]
    conn.close()
    files = {split_name(n)[0]: (sub, n) for sub in ("new", "cur") for n in os.listdir(box / sub)}
    assert {r[1] for r in rows} == set(files), (
        f"index {len(rows)} rows, {len(files)} files; only in index:"
        f" {sorted({r[1] for r in rows} - set(files))[:5]}, only files:"
        f" {sorted(set(files) - {r[1] for r in rows})[:5]}"
    )
    assert all(files[key] == (sub, name) for _, key, sub, name in rows)
    uids = [r[0] for r in rows]
    assert len(uids) == len(set(uids)) and max(uids) < uidnext
    assert os.listdir(box / "tmp") == [] or all(
        not (box / "new" / n).exists() for n in os.listdir(box / "tmp")
    )
    # and the store opens clean: nothing left to reconcile
    store = MailStore(stack.data / "mail")
    assert store.recover() == {"mailboxes": 1, "added": 0, "removed": 0, "renamed": 0}
    store.close()
