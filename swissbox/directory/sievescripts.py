"""Sieve scripts of mailboxes (one active at a time), an administrator's "before" script per
mail domain, and the vacation replies already sent.

Scripts are checked with ``swissbox.sieve`` before they are stored: a script that does not
compile is refused with its line-numbered error. A mixin of `Directory`, on its connection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from swissbox import sieve
from swissbox.directory.model import DirectoryError, NotFound
from swissbox.directory.names import InvalidName, normalize_domain, split_address
from swissbox.store import Database, Tx

MAX_SCRIPT_NAME = 128


@dataclass(frozen=True)
class SieveScript:
    name: str
    active: bool


class SieveStore:
    """Per-mailbox Sieve scripts (mixed into `Directory`)."""

    _db: Database

    def _mailbox_id(self, c: Tx | Database, address: str) -> int:
        try:
            local, domain = split_address(address)
        except InvalidName as exc:
            raise DirectoryError(f"mailbox {exc}") from None
        row = c.one(
            "SELECT m.id FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
            " WHERE d.name = ? AND m.local_part = ?",
            (domain, local),
        )
        if row is None:
            raise NotFound(f"no mailbox {local}@{domain}")
        return int(row["id"])

    def put_sieve_script(
        self, address: str, name: str, script: str, activate: bool = False
    ) -> None:
        """Stores (or replaces) script `name` of mailbox `address`; `activate` makes it the
        one that runs at delivery. Raises DirectoryError for a script that does not compile."""
        if not name or len(name) > MAX_SCRIPT_NAME or any(ord(ch) < 32 for ch in name):
            raise DirectoryError(f"invalid script name {name!r}")
        try:
            sieve.compile_script(script)
        except sieve.SieveParseError as exc:
            raise DirectoryError(f"script {name!r}: {exc}") from None
        with self._db.write() as c:
            box = self._mailbox_id(c, address)
            c.execute(
                "INSERT INTO sieve_scripts (mailbox_id, name, script, active, updated)"
                " VALUES (?, ?, ?, 0, ?) ON CONFLICT (mailbox_id, name) DO UPDATE"
                " SET script = excluded.script, updated = excluded.updated",
                (box, name, script, int(time.time())),
            )
            if activate:
                self._activate(c, box, name)

    def activate_sieve_script(self, address: str, name: str | None) -> None:
        """Makes `name` the active script of `address` (None: no script runs)."""
        with self._db.write() as c:
            box = self._mailbox_id(c, address)
            if (
                name is not None
                and c.one(
                    "SELECT 1 FROM sieve_scripts WHERE mailbox_id = ? AND name = ?", (box, name)
                )
                is None
            ):
                raise NotFound(f"no script {name!r} for {address}")
            self._activate(c, box, name)

    @staticmethod
    def _activate(c: Tx, box: int, name: str | None) -> None:
        c.execute("UPDATE sieve_scripts SET active = 0 WHERE mailbox_id = ?", (box,))
        if name is not None:
            c.execute(
                "UPDATE sieve_scripts SET active = 1 WHERE mailbox_id = ? AND name = ?",
                (box, name),
            )

    def sieve_scripts(self, address: str) -> list[SieveScript]:
        box = self._mailbox_id(self._db, address)
        rows = self._db.all(
            "SELECT name, active FROM sieve_scripts WHERE mailbox_id = ? ORDER BY name", (box,)
        )
        return [SieveScript(str(r["name"]), bool(r["active"])) for r in rows]

    def sieve_script(self, address: str, name: str) -> str:
        box = self._mailbox_id(self._db, address)
        row = self._db.one(
            "SELECT script FROM sieve_scripts WHERE mailbox_id = ? AND name = ?", (box, name)
        )
        if row is None:
            raise NotFound(f"no script {name!r} for {address}")
        return str(row["script"])

    def delete_sieve_script(self, address: str, name: str) -> None:
        with self._db.write() as c:
            box = self._mailbox_id(c, address)
            if not c.execute(
                "DELETE FROM sieve_scripts WHERE mailbox_id = ? AND name = ?", (box, name)
            ).rowcount:
                raise NotFound(f"no script {name!r} for {address}")

    def rename_sieve_script(self, address: str, old: str, new: str) -> None:
        """Renames script `old` (it stays active if it was); `new` must not exist."""
        if not new or len(new) > MAX_SCRIPT_NAME or any(ord(ch) < 32 for ch in new):
            raise DirectoryError(f"invalid script name {new!r}")
        with self._db.write() as c:
            box = self._mailbox_id(c, address)
            if c.one("SELECT 1 FROM sieve_scripts WHERE mailbox_id = ? AND name = ?", (box, new)):
                raise DirectoryError(f"script {new!r} already exists")
            if not c.execute(
                "UPDATE sieve_scripts SET name = ? WHERE mailbox_id = ? AND name = ?",
                (new, box, old),
            ).rowcount:
                raise NotFound(f"no script {old!r} for {address}")

    def active_sieve_script(self, address: str) -> str | None:
        """The script that runs at delivery for mailbox `address`, or None."""
        try:
            local, domain = split_address(address)
        except InvalidName:
            return None
        row = self._db.one(
            "SELECT s.script FROM sieve_scripts s JOIN mailboxes m ON m.id = s.mailbox_id"
            " JOIN domains d ON d.id = m.domain_id"
            " WHERE d.name = ? AND m.local_part = ? AND s.active = 1",
            (domain, local),
        )
        return None if row is None else str(row["script"])

    def set_domain_sieve_before(self, domain: str, script: str | None) -> None:
        """The script run before every mailbox's own on mail domain `domain` (None: none).
        Raises DirectoryError for a script that does not compile."""
        try:
            name = normalize_domain(domain)
        except InvalidName as exc:
            raise DirectoryError(f"domain {exc}") from None
        if script is not None:
            try:
                sieve.compile_script(script)
            except sieve.SieveParseError as exc:
                raise DirectoryError(f"script for {name}: {exc}") from None
        with self._db.write() as c:
            row = c.one(
                "SELECT e.domain_id FROM email_services e JOIN domains d ON d.id = e.domain_id"
                " WHERE d.name = ?",
                (name,),
            )
            if row is None:
                raise NotFound(f"{name} is not a mail domain")
            domain_id = int(row["domain_id"])
            if script is None:
                c.execute("DELETE FROM sieve_domain_scripts WHERE domain_id = ?", (domain_id,))
                return
            c.execute(
                "INSERT INTO sieve_domain_scripts (domain_id, script, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (domain_id) DO UPDATE SET script = excluded.script,"
                " updated = excluded.updated",
                (domain_id, script, int(time.time())),
            )

    def domain_sieve_before(self, address: str) -> str | None:
        """The administrator's script for the mail domain of `address`, or None."""
        try:
            _, domain = split_address(address)
        except InvalidName:
            return None
        row = self._db.one(
            "SELECT s.script FROM sieve_domain_scripts s JOIN domains d ON d.id = s.domain_id"
            " WHERE d.name = ?",
            (domain,),
        )
        return None if row is None else str(row["script"])

    def vacation_due(
        self, address: str, handle: str, sender: str, days: int, now: float | None = None
    ) -> bool:
        """True (and remembered) when no vacation reply for `handle` went from `address` to
        `sender` within `days` days; False otherwise (RFC 5230 section 4.2)."""
        now = time.time() if now is None else now
        with self._db.write() as c:
            box = self._mailbox_id(c, address)
            row = c.one(
                "SELECT sent FROM sieve_vacation_replies"
                " WHERE mailbox_id = ? AND handle = ? AND sender = ?",
                (box, handle, sender.lower()),
            )
            if row is not None and now - float(row["sent"]) < days * 86400:
                return False
            c.execute(
                "INSERT INTO sieve_vacation_replies (mailbox_id, handle, sender, sent)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (mailbox_id, handle, sender)"
                " DO UPDATE SET sent = excluded.sent",
                (box, handle, sender.lower(), int(now)),
            )
            return True
