"""import-imap's copy loop over a real mail store, with a scripted source connection shaped
like imaplib's answers: a source that breaks off mid-run leaves whole batches behind and the
next run goes on; duplicates and messages deleted here since are not copied again."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.imap import migrate
from swissbox.imap.migrate import Budget, copy_mailbox
from swissbox.imap.source import SourceError, SourceFolder
from swissbox.mailstore import INBOX, MailStore, importer
from swissbox.mailstore.durable import place as durable_place

ADDR = "toto@abc.xyz"
DATE = '"01-Jan-2020 10:00:00 +0000"'


def raw(i: int, bare_lf: bool = False) -> bytes:
    text = f"From: a@example.org\r\nMessage-ID: <m{i}@src>\r\nSubject: {i}\r\n\r\nbody {i}\r\n"
    return text.replace("\r\n", "\n").encode() if bare_lf else text.encode()


class Source:
    """One folder of messages {uid: (flags, bytes)}; fails the `fail_at`-th body FETCH."""

    def __init__(self, messages: dict[int, tuple[str, bytes]], fail_at: int = 0) -> None:
        self.messages = messages
        self.fail_at = fail_at
        self.body_fetches = 0

    def select(self, name: str, readonly: bool = False) -> tuple[str, list[bytes]]:
        assert readonly and name == '"INBOX"'
        return "OK", [str(len(self.messages)).encode()]

    def _uids(self, spec: str) -> Iterator[int]:
        for part in spec.split(","):
            lo, _, hi = part.partition(":")
            yield from (u for u in range(int(lo), int(hi or lo) + 1) if u in self.messages)

    def uid(self, command: str, spec: str, items: str = "") -> tuple[str, list[Any]]:
        if command == "SEARCH":
            return "OK", [" ".join(map(str, sorted(self.messages))).encode()]
        data: list[Any] = []
        if "BODY.PEEK[]" in items:
            self.body_fetches += 1
            if self.body_fetches == self.fail_at:
                raise OSError("connection reset by peer")
        for n, uid in enumerate(self._uids(spec), 1):
            flags, body = self.messages[uid]
            if "BODY.PEEK[]" in items:
                data += [(f"{n} (UID {uid} BODY[] {{{len(body)}}}".encode(), body), b")"]
            else:
                mid = re.search(rb"Message-ID: [^\r\n]*\r?\n", body)
                head = (mid.group(0) if mid else b"") + b"\r\n"
                line = (
                    f"{n} (UID {uid} FLAGS ({flags}) INTERNALDATE {DATE} RFC822.SIZE"
                    f" {len(body)} BODY[HEADER.FIELDS (MESSAGE-ID)] {{{len(head)}}}"
                )
                data += [(line.encode(), head), b")"]
        return "OK", data


INBOX_SOURCE = [SourceFolder("INBOX", "INBOX", frozenset())]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def run(store: MailStore, source: Source) -> migrate.FolderResult:
    box = store.mailbox(ADDR)
    (result,) = copy_mailbox(source, box, INBOX_SOURCE, Budget(), lambda r: None)  # type: ignore[arg-type]
    return result


def test_broken_off_run_resumes(store: MailStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrate, "HEAD_CHUNK", 100)
    monkeypatch.setattr(migrate, "BODY_BATCH", 40)
    messages = {uid: ("\\Seen $Label1" if uid % 3 else "", raw(uid)) for uid in range(1, 251)}
    with pytest.raises(SourceError, match="connection reset"):
        run(store, Source(messages, fail_at=4))
    box = store.mailbox(ADDR)
    assert len(box.messages(INBOX)) == 100  # 40 + 40 + 20 of the first chunk, no more
    second = run(store, Source(messages))
    assert (second.added, second.skipped) == (150, 100)
    rows = box.messages(INBOX)
    assert len(rows) == 250 and len({r.uid for r in rows}) == 250
    assert {"\\Seen", "$Label1"} <= rows[0].flags
    third = run(store, Source(messages))
    assert (third.added, third.skipped) == (0, 250)


def test_duplicates_deletions_and_line_ends(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = {1: ("", raw(1)), 2: ("", raw(1)), 3: ("\\Flagged", raw(3, bare_lf=True))}
    monkeypatch.setattr(migrate, "BODY_BATCH", 1)
    with pytest.raises(SourceError):
        run(store, Source(messages, fail_at=2))  # UID 1 copied, then the source breaks off
    first = run(store, Source(messages))
    assert (first.added, first.skipped) == (2, 1)  # UID 2 is alike but a message of its own
    box = store.mailbox(ADDR)
    rows = box.messages(INBOX)
    assert len(rows) == 3
    body = box.fetch(INBOX, rows[-1].uid)
    assert body.count(b"\r\n") == body.count(b"\n") and rows[-1].flags == {"\\Flagged"}
    box.set_flags(INBOX, [rows[0].uid], ["\\Deleted"])
    box.expunge(INBOX)
    again = run(store, Source(messages))
    assert (again.added, again.skipped) == (0, 3)  # deleted here since: stays deleted


def test_ctrl_c_waits_for_the_batch(store: MailStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or SIGTERM) while a batch is being written ends the run only once the batch is
    indexed: no message file is left without its index row (a server starting later would
    index it as a second copy of what the next run copies again)."""
    placed = []

    def place_then_interrupt(*args: Any) -> None:
        durable_place(*args)
        placed.append(args)
        if len(placed) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(importer, "_place", place_then_interrupt)
    messages = {uid: ("\\Seen", raw(uid)) for uid in range(1, 11)}
    with pytest.raises(KeyboardInterrupt):
        run(store, Source(messages))
    box = store.mailbox(ADDR)
    files = [p for sub in ("cur", "new") for p in (box.path / sub).iterdir()]
    assert len(box.messages(INBOX)) == len(files) == 10
    again = run(store, Source(messages))
    assert (again.added, again.skipped) == (0, 10)
