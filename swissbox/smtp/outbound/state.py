"""Per-message delivery state beside the queued message: `<id>.state`, replaced atomically.

A recipient is `pending` until a remote server accepts it (`sent`) or refuses it for good or
the message outlives the queue lifetime (`failed`, with the reply that decided it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass
class RecipientState:
    status: str = PENDING
    reply: str = ""  # last server reply or local diagnosis, e.g. "550 5.1.1 no such user"
    remote: str = ""  # host that gave the reply


@dataclass
class DeliveryState:
    attempts: int = 0
    next_attempt: float = 0.0
    recipients: dict[str, RecipientState] = field(default_factory=dict)

    def pending(self) -> list[str]:
        return [r for r, s in self.recipients.items() if s.status == PENDING]

    def failed(self) -> dict[str, RecipientState]:
        return {r: s for r, s in self.recipients.items() if s.status == FAILED}

    @classmethod
    def load(cls, path: Path, recipients: list[str]) -> DeliveryState:
        try:
            raw = json.loads(path.read_text())
            state = cls(raw["attempts"], raw["next_attempt"])
            state.recipients = {r: RecipientState(**s) for r, s in raw["recipients"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            state = cls()
        for rcpt in recipients:
            state.recipients.setdefault(rcpt, RecipientState())
        return state

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".state.tmp")
        data = json.dumps(
            {
                "attempts": self.attempts,
                "next_attempt": self.next_attempt,
                "recipients": {r: asdict(s) for r, s in self.recipients.items()},
            }
        ).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
