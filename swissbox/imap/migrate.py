"""Copying a mailbox from another IMAP server into the mail store (`swissbox mailbox
import-imap`): every selectable folder, each message with its flags, keywords and
INTERNALDATE.

Folders: INBOX is INBOX; a folder the source marks \\Sent \\Drafts \\Trash \\Junk \\Archive
(RFC 6154) becomes swissbox's folder of that use; any other keeps its name, hierarchy
separator turned into "/". The source is only read (EXAMINE, BODY.PEEK).

Idempotent and resumable: a message is identified by (Message-ID, internal date, size). One
already in the target folder, or copied there by an earlier run (table `imported`, as for
the Maildir import; deleted here since, it stays deleted), is not copied again; n messages
of a source folder alike in all three are n messages here. Messages are written in batches through the mail
store's bulk path (`importer.add_messages`: files fsynced, then one index transaction that
also records them), so a run broken off at any point keeps what it committed and the next
run goes on from there. Ctrl-C and SIGTERM wait for the batch being written; only a hard
kill (SIGKILL, power loss) during one can leave that batch's files without index rows. Memory is bounded: metadata is fetched per HEAD_CHUNK UIDs, bodies
per batch of at most BODY_BATCH messages or BODY_BYTES bytes.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from swissbox.imap.source import (
    Fetched,
    SourceError,
    SourceFolder,
    check,
    parse_fetch,
    quote,
)
from swissbox.mailstore.importer import SCHEMA, NewMessage, add_messages
from swissbox.mailstore.paths import INBOX, SPECIAL_USE
from swissbox.mailstore.query import refresh
from swissbox.mailstore.store import MailboxStore, MailStoreError, NoSuchFolder

HEAD_CHUNK = 500  # UIDs per metadata FETCH
BODY_BATCH = 200  # messages per body FETCH and per index transaction
BODY_BYTES = 16 * 1024 * 1024  # bytes of bodies held at once (one larger message may pass)
HEAD_ITEMS = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
BODY_ITEMS = "(UID BODY.PEEK[])"
KEY_PREFIX = "imap:"
WAITING_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_FOLDER_OF_USE = {flag: name for name, flag in SPECIAL_USE.items()}
# Top-level names that say a folder's use on servers that do not mark it (no RFC 6154).
WELL_KNOWN = {
    "sent": "\\Sent", "sent items": "\\Sent", "sent messages": "\\Sent", "sent mail": "\\Sent",
    "drafts": "\\Drafts", "draft": "\\Drafts",
    "trash": "\\Trash", "deleted items": "\\Trash", "deleted messages": "\\Trash", "bin": "\\Trash",
    "junk": "\\Junk", "spam": "\\Junk", "junk e-mail": "\\Junk", "junk email": "\\Junk",
    "archive": "\\Archive", "archives": "\\Archive",
}  # fmt: skip


@dataclass
class FolderResult:
    source: str
    folder: str
    found: int = 0
    added: int = 0
    skipped: int = 0
    error: str | None = None  # the folder could not be made here


@dataclass
class Budget:
    """How many more messages this run may copy (None: all)."""

    left: int | None = None

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def take(self, wanted: int) -> int:
        if self.left is None:
            return wanted
        granted = min(wanted, self.left)
        self.left -= granted
        return granted


Progress = Callable[[FolderResult], None]


def target_names(folders: list[SourceFolder]) -> list[tuple[SourceFolder, str]]:
    """(source folder, swissbox folder name) for every selectable source folder, INBOX
    first. A use the source marks on no folder is taken from a well-known top-level name."""
    out = []
    used: set[str] = set()
    marked = {f.special_use for f in folders if f.special_use}
    for folder in folders:
        if not folder.selectable:
            continue
        special = folder.special_use
        if special is None and WELL_KNOWN.get(folder.name.lower()) not in marked:
            special = WELL_KNOWN.get(folder.name.lower())
        if folder.name.upper() == INBOX:
            name = INBOX
        elif special is not None and special not in used:
            used.add(special)
            name = _FOLDER_OF_USE[special]
        else:
            name = folder.name
        out.append((folder, name))
    return sorted(out, key=lambda pair: (pair[1] != INBOX, pair[1]))


def without(folders: list[SourceFolder], excluded: list[str]) -> list[SourceFolder]:
    """The folders not named in `excluded` (source names, "/" separated), nor below one."""
    gone = [name.strip("/") for name in excluded]
    return [f for f in folders if not any(f.name == g or f.name.startswith(g + "/") for g in gone)]


def message_key(message_id: str | None, internaldate: float, size: int) -> str:
    return f"{KEY_PREFIX}{message_id or ''}|{int(internaldate)}|{size}"


def occurrence_key(key: str, n: int) -> str:
    """What the `imported` table records for the n-th message of a source folder with `key`
    (two messages alike in Message-ID, date and size are both copied, and remembered apart)."""
    return key if n == 1 else f"{key}#{n}"


def seqset(uids: list[int]) -> str:
    """`1:3,7,9:10` for sorted UIDs."""
    runs: list[list[int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(f"{a}:{b}" if a != b else str(a) for a, b in runs)


def _present(box: MailboxStore, folder: str) -> tuple[Counter[str], set[str]]:
    """Keys of the messages in the folder (with their counts) and of those imported once."""
    info = box.folder(folder)
    with box.index.lock:
        rows = box.index.conn.execute(
            "SELECT envelope, internaldate, size FROM messages WHERE folder_id = ?",
            (info.id,),
        ).fetchall()
        imported = {
            r[0]
            for r in box.index.conn.execute(
                "SELECT source_key FROM imported WHERE folder = ? AND substr(source_key, 1, ?) = ?",
                (folder, len(KEY_PREFIX), KEY_PREFIX),
            )
        }
    return Counter(message_key(_message_id(r[0]), r[1], r[2]) for r in rows), imported


def _message_id(envelope: str) -> str | None:
    """The Message-ID field of an index envelope (JSON, RFC 3501 order: the tenth)."""
    value = json.loads(envelope)
    return value[9] if isinstance(value, list) and len(value) > 9 else None


def _batches(todo: list[Fetched]) -> Iterator[list[Fetched]]:
    batch: list[Fetched] = []
    size = 0
    for f in todo:
        if batch and (len(batch) >= BODY_BATCH or size + f.size > BODY_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


@contextlib.contextmanager
def interrupts_after() -> Iterator[None]:
    """Ctrl-C and SIGTERM received inside wait until the block is done, then end the run as
    KeyboardInterrupt: a batch's files are placed before its index rows are committed, and a
    file left without its row would be indexed by the server's next start as a second copy
    of the message the next run copies again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    kept = {sig: signal.signal(sig, lambda n, _f: received.append(n)) for sig in WAITING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


def _crlf(raw: bytes) -> bytes:
    """The store keeps CRLF line ends; servers that send bare LF get them converted."""
    if b"\n" in raw.replace(b"\r\n", b""):
        return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw


def copy_folder(
    conn: imaplib.IMAP4,
    box: MailboxStore,
    source: SourceFolder,
    target: str,
    budget: Budget,
    progress: Progress,
) -> FolderResult:
    result = FolderResult(source.name, target)
    check(conn.select(quote(source.raw), readonly=True), f"EXAMINE {source.name}")
    found = check(conn.uid("SEARCH", "ALL"), f"UID SEARCH in {source.name}")
    uids = sorted(int(u) for u in b" ".join(x for x in found if isinstance(x, bytes)).split())
    result.found = len(uids)
    present, imported = _present(box, target)
    seen: Counter[str] = Counter()  # occurrences of each key so far in this source folder
    for i in range(0, len(uids), HEAD_CHUNK):
        if budget.spent:
            break
        chunk = uids[i : i + HEAD_CHUNK]
        data = check(conn.uid("FETCH", seqset(chunk), HEAD_ITEMS), f"FETCH in {source.name}")
        todo = []
        for f in parse_fetch(data):
            key = message_key(f.message_id, f.internaldate, f.size)
            seen[key] += 1
            f.key = occurrence_key(key, seen[key])
            if present[key] > 0:
                present[key] -= 1
                result.skipped += 1
            elif f.key in imported:  # copied by an earlier run, deleted here since
                result.skipped += 1
            else:
                todo.append(f)
        todo = todo[: budget.take(len(todo))]
        for batch in _batches(todo):
            result.added += _copy_batch(conn, box, source, target, batch)
            progress(result)
    return result


def _copy_batch(
    conn: imaplib.IMAP4, box: MailboxStore, source: SourceFolder, target: str, batch: list[Fetched]
) -> int:
    data = check(
        conn.uid("FETCH", seqset([f.uid for f in batch]), BODY_ITEMS), f"FETCH in {source.name}"
    )
    bodies = {f.uid: f.body for f in parse_fetch(data) if f.body is not None}
    kept = [f for f in batch if f.uid in bodies]  # the others were expunged meanwhile
    messages = [
        NewMessage(_crlf(bodies.pop(f.uid)), f.flags, f.internaldate, recent=False) for f in kept
    ]
    keys = [(target, f.key) for f in kept]

    def record(db: Any) -> None:
        db.executemany(
            "INSERT INTO imported (folder, source_key) VALUES (?, ?) ON CONFLICT DO NOTHING", keys
        )

    if messages:
        with interrupts_after():
            add_messages(box, target, messages, record)
    return len(messages)


def copy_mailbox(
    conn: imaplib.IMAP4,
    box: MailboxStore,
    folders: list[SourceFolder],
    budget: Budget,
    progress: Progress,
) -> list[FolderResult]:
    """Copies every selectable folder in turn; SourceError when the source breaks off (what
    was committed stays: run again to continue)."""
    box.index.ensure_table("imported", SCHEMA)
    refresh(box)
    results = []
    for source, target in target_names(folders):
        if budget.spent:
            break
        try:
            box.folder(target)
        except NoSuchFolder:
            try:
                box.create_folder(target)
            except (ValueError, MailStoreError) as exc:
                results.append(FolderResult(source.name, target, error=str(exc)))
                progress(results[-1])
                continue
        try:
            results.append(copy_folder(conn, box, source, target, budget, progress))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(f"{source.name}: {exc}") from None
    return results
