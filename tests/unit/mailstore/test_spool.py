"""Spools (memory, then an unnamed file), the in-flight budget, and deliveries whose bytes
come from a spool: stored identically, summarised as if whole, the budget always returned."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailStore
from swissbox.mailstore.meta import summarize
from swissbox.mailstore.queue import OutboundQueue, QueuedMessage
from swissbox.mailstore.spool import InflightBudget, Spool

ADDR = "toto@abc.xyz"


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def big_message(lines: int) -> bytes:
    return (
        b"From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--b\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n" * lines
        + b"--b--\r\n"
    )


def test_spool_stays_in_memory_then_moves_to_an_unnamed_file(tmp_path: Path) -> None:
    s = Spool(tmp_path / "spool", threshold=10)
    s.write(b"12345")
    assert not s.on_disk and s.getvalue() == b"12345"
    s.write(b"6789012345")
    assert s.on_disk and s.size == 15
    assert os.listdir(tmp_path / "spool") == []  # O_TMPFILE: nothing to clean after a crash
    assert s.getvalue() == b"123456789012345" and s.head(4) == b"1234"
    assert b"".join(s.chunks(3, size=4)) == b"456789012345"
    out = tmp_path / "copy"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    os.write(fd, b">")
    s.copy_to(fd)
    os.close(fd)
    assert out.read_bytes() == b">123456789012345"
    s.close()
    s.close()
    with pytest.raises(ValueError):
        s.write(b"x")


def test_size_hint_goes_to_disk_at_once(tmp_path: Path) -> None:
    s = Spool(tmp_path, threshold=10, size_hint=11)
    assert s.on_disk
    s.close()


def test_budget_per_key_and_total() -> None:
    b = InflightBudget(total=100, per_key=60)
    assert b.take("a", 60) and not b.take("a", 1)
    assert b.take("b", 40) and not b.take("c", 1)
    assert b.free_for("c") == 0
    b.give("a", 60)
    assert b.free_for("c") == 60 and b.free_for("b") == 20
    b.give("b", 40)
    assert b.used == 0 and b.by_key == {}


def test_close_or_garbage_returns_the_reservation(tmp_path: Path) -> None:
    b = InflightBudget(total=100, per_key=100)
    assert b.take("u", 30)
    s = Spool(tmp_path, on_close=lambda: b.give("u", 30))
    s.close()
    assert b.used == 0
    assert b.take("u", 30)
    s = Spool(tmp_path, threshold=1, on_close=lambda: b.give("u", 30))
    s.write(b"xyz")
    del s  # a command that never ran (wrong state, parse error): nobody closes it
    gc.collect()
    assert b.used == 0


def test_delivery_from_a_spool_is_byte_identical_and_summarised_whole(store: MailStore) -> None:
    raw = big_message(40_000)  # ~3 MB: past the in-memory summary limit
    spool = store.spool(threshold=64 * 1024)
    for i in range(0, len(raw) - 100, 65_536):
        spool.write(raw[i : min(i + 65_536, len(raw) - 100)])
    spool.write(raw[len(raw) - 100 :])
    assert spool.on_disk
    prefix = b"Received: from test\r\n"
    d = store.begin()
    d.add_recipient(ADDR)
    d.add_recipient("other@abc.xyz")
    d.write(prefix)
    d.write(spool)
    done = d.commit_sync()
    spool.close()
    for delivered in done:
        box = store.mailbox(delivered.address)
        assert box.fetch(INBOX, delivered.uid) == prefix + raw
        [row] = box.messages(INBOX, full=True)
        want = summarize(prefix + raw)
        assert row.size == len(prefix + raw) == want.size
        assert row.bodystructure == want.bodystructure
        assert row.envelope == want.envelope and row.headers == want.headers
        assert box.usage() == len(prefix + raw)


def test_queue_takes_parts(tmp_path: Path, store: MailStore) -> None:
    spool = store.spool(threshold=4)
    spool.write(b"Subject: q\r\n\r\nbody\r\n")
    q = OutboundQueue(tmp_path / "queue")
    qid = q.enqueue("a@b.c", ["x@y.z"], [b"Received: r\r\n", spool])
    spool.close()
    m = QueuedMessage.read(tmp_path / "queue" / f"{qid}.msg")
    assert m.data == b"Received: r\r\nSubject: q\r\n\r\nbody\r\n"
