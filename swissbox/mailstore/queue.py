"""The outbound queue: mail for other domains, waiting for delivery (smtp/outbound).

`<data>/queue/<id>.msg` = one JSON envelope line, then the message bytes. Written to
`<data>/queue/tmp/`, fsynced, renamed into place, directory fsynced — only then does
submission answer 250. Core tier: submission, bounces and server notices (e.g. a role-change
mail to a member without a mailbox here) all queue through it; a running server's queue runner
picks up files queued by the CLI on its next pass.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from swissbox.mailstore.durable import fsync_dir as _fsync_dir
from swissbox.mailstore.durable import place as _place
from swissbox.mailstore.spool import Part

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
