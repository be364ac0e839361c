"""The outbound queue: mail for other domains, waiting for delivery (smtp/outbound).

`<queue_dir>/<id>.msg` = one JSON envelope line, then the message bytes. Written to
`<queue_dir>/tmp/`, fsynced, renamed into place, directory fsynced — only then does
submission answer 250. Core tier: submission, bounces and server notices (e.g. a role-change
mail to a member without a mailbox here) all queue through it.

The file is the message; its delivery state is a row in `queuestate.QueueState`, added by a
runner that *adopts* the file (`adopt_files`): at once for mail its own front end queued (the
wake-up names the id), and by a scan of the folder at start and on every idle pass for the
rest (files queued by the CLI, by a front end that died before adopting them, or by versions
before the state store, whose `<id>.state` seeds the row). Adopting twice changes nothing.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from swissbox.mailstore.durable import fsync_dir as _fsync_dir
from swissbox.mailstore.durable import place as _place
from swissbox.mailstore.queuestate import DeliveryState, Envelope, QueueState
from swissbox.mailstore.spool import Part

ENVELOPE_MAX = 1 << 20  # bytes: a first line longer than this is not an envelope

log = logging.getLogger("swissbox.mailstore.queue")

_SEED = secrets.token_hex(3).upper()  # per process: ids stay unique across restarts
_serial = itertools.count(1)


def queue_id() -> str:
    """A short unique id for logs, Received: and the 250 reply (no syscall per message)."""
    return f"{int(time.time() * 1000):X}{_SEED}{next(_serial) % 0xFFFFF:05X}"


@dataclass(frozen=True)
class QueuedMessage:
    id: str
    sender: str
    recipients: list[str]
    created: float
    data: bytes

    @classmethod
    def read(cls, path: Path) -> QueuedMessage:
        """A queued message from its file (the envelope line, then the message bytes)."""
        head, _, data = path.read_bytes().partition(b"\n")
        env = json.loads(head)
        return cls(env["id"], env["from"], list(env["to"]), float(env["created"]), data)


def read_envelope(path: Path) -> Envelope | None:
    """The envelope line of a queued file, without reading the message; None when the file
    is gone (delivered meanwhile) or its first line is not an envelope."""
    try:
        with path.open("rb") as f:
            head = f.readline(ENVELOPE_MAX)
        env = json.loads(head)
        return Envelope(str(env["id"]), str(env["from"]), list(env["to"]), float(env["created"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.error("outbound queue: %s has no readable envelope; left alone", path.name)
        return None


class OutboundQueue:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True, mode=0o700)

    def enqueue(self, sender: str, recipients: list[str], data: bytes | list[Part]) -> str:
        """Durable when it returns; blocking (run it in an executor). Returns the queue id.
        `data`: the message, or its parts in order (bytes and spools)."""
        qid = queue_id()
        envelope = {"id": qid, "from": sender, "to": recipients, "created": time.time()}
        head = json.dumps(envelope).encode() + b"\n"
        raw: list[Part] = [head, data] if isinstance(data, bytes) else [head, *data]
        _place(raw, self.root / "tmp" / f"{qid}.msg", self.root / f"{qid}.msg", None)
        _fsync_dir(self.root)
        return qid

    def list(self) -> list[QueuedMessage]:
        return [QueuedMessage.read(path) for path in sorted(self.root.glob("*.msg"))]

    def path(self, qid: str) -> Path:
        return self.root / f"{qid}.msg"

    def file_ids(self) -> set[str]:
        """Ids of the complete files in the folder (those in `tmp/` are still being written)."""
        with os.scandir(self.root) as entries:
            return {e.name[:-4] for e in entries if e.name.endswith(".msg") and e.is_file()}

    def remove(self, qid: str) -> None:
        """The message left the queue: its file goes (before its row, so that a crash in
        between leaves a row without a file, which is dropped, never a file that would be
        adopted and sent again). Not fsynced, as before the state store: after a power cut
        the file may be back and its message sent again (at least once, never lost)."""
        self.path(qid).unlink(missing_ok=True)


def adopt_files(queue: OutboundQueue, state: QueueState, ids: Iterable[str] | None = None) -> int:
    """Adds state rows for queued files that have none (`ids`: only those; None: every file
    in the folder). Blocking. Returns how many were added."""
    wanted = queue.file_ids() if ids is None else set(ids)
    missing = sorted(wanted - state.ids()) if ids is None else sorted(wanted)
    added = 0
    for start in range(0, len(missing), 200):
        batch = []
        for qid in missing[start : start + 200]:
            env = read_envelope(queue.path(qid))
            if env is None:
                continue
            legacy_path = queue.root / f"{qid}.state"
            legacy = DeliveryState.load(legacy_path, []) if legacy_path.exists() else None
            batch.append((env, legacy))
        added += len(state.adopt(batch))
        for env, legacy in batch:
            if legacy is not None:  # its content is in the row now
                (queue.root / f"{env.id}.state").unlink(missing_ok=True)
    return added
