"""What the Manager keeps in the directory database: browser sessions, API tokens and the audit
log. A mixin of `Directory`, on its connection. Sessions and tokens are stored only as the
SHA-256 digest of their random secret (`swissbox.manager.tokens` makes and hashes them)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from swissbox.directory.model import NotFound
from swissbox.store import Database, Row

AUDIT_PAGE = 200  # most entries one read returns


@dataclass(frozen=True)
class SessionRow:
    login: str
    account_id: int
    csrf: str
    created: int
    last_seen: int
    expires: int
    client: str = ""  # the address the session was started from
    agent: str = ""  # the browser's User-Agent then


@dataclass(frozen=True)
class TokenRow:
    id: int
    org_id: int
    login: str  # the account that made it; it acts as that account
    name: str
    permissions: tuple[str, ...]
    created: int
    last_used: int | None
    revoked: int | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time: int
    org_id: int | None
    actor: str
    via: str  # "session" or "token:<id>"
    client: str
    action: str
    target: str
    detail: dict[str, Any]


class ManagerDataStore:
    _db: Database

    # -- sessions ---------------------------------------------------------------------------

    def create_session(
        self, digest: str, login: str, csrf: str, lifetime: int, client: str = "", agent: str = ""
    ) -> None:
        """A new session for account `login` (drops that account's expired ones), started
        from address `client` by a browser calling itself `agent`."""
        now = int(time.time())
        with self._db.write() as c:
            row = c.one("SELECT id FROM accounts WHERE login = ?", (login,))
            if row is None:
                raise NotFound(f"no account {login!r}")
            c.execute("DELETE FROM manager_sessions WHERE expires <= ?", (now,))
            c.execute(
                "INSERT INTO manager_sessions (digest, account_id, csrf, created, last_seen,"
                " expires, client, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (digest, row[0], csrf, now, now, now + lifetime, client[:64], agent[:300]),
            )

    def session(self, digest: str, idle: int) -> SessionRow | None:
        """The live session with this digest (not expired, used within `idle` seconds);
        marks it used (at most once a minute, to spare the writer)."""
        now = int(time.time())
        row = self._db.one(
            "SELECT s.*, a.login FROM manager_sessions s JOIN accounts a ON a.id = s.account_id"
            " WHERE s.digest = ?",
            (digest,),
        )
        if row is None or row["expires"] <= now or row["last_seen"] + idle <= now:
            return None
        if now - row["last_seen"] >= 60:
            with self._db.write() as c:
                c.execute(
                    "UPDATE manager_sessions SET last_seen = ? WHERE digest = ?", (now, digest)
                )
        return SessionRow(
            row["login"], row["account_id"], row["csrf"], row["created"], now, row["expires"],
            row["client"], row["agent"],
        )  # fmt: skip

    def end_session(self, digest: str) -> bool:
        with self._db.write() as c:
            return bool(
                c.execute("DELETE FROM manager_sessions WHERE digest = ?", (digest,)).rowcount
            )

    def end_other_sessions(self, login: str, keep: str = "") -> int:
        """Ends every session of `login` but the one with digest `keep` (a password change)."""
        with self._db.write() as c:
            return c.execute(
                "DELETE FROM manager_sessions WHERE digest != ? AND account_id ="
                " (SELECT id FROM accounts WHERE login = ?)",
                (keep, login),
            ).rowcount

    def account_sessions(self, login: str, idle: int) -> list[tuple[str, SessionRow]]:
        """(digest, session) of each live session of `login`, most recently used first."""
        now = int(time.time())
        rows = self._db.all(
            "SELECT s.*, a.login FROM manager_sessions s JOIN accounts a ON a.id = s.account_id"
            " WHERE a.login = ? AND s.expires > ? AND s.last_seen > ?"
            " ORDER BY s.last_seen DESC, s.created DESC",
            (login, now, now - idle),
        )
        return [
            (
                str(r["digest"]),
                SessionRow(
                    r["login"], r["account_id"], r["csrf"], r["created"], r["last_seen"],
                    r["expires"], r["client"], r["agent"],
                ),
            )
            for r in rows
        ]  # fmt: skip

    # -- API tokens -------------------------------------------------------------------------

    @staticmethod
    def _token(row: Row) -> TokenRow:
        return TokenRow(
            row["id"],
            row["org_id"],
            row["login"],
            row["name"],
            tuple(json.loads(row["permissions"])),
            row["created"],
            row["last_used"],
            row["revoked"],
        )

    _TOKEN_SQL = "SELECT t.*, a.login FROM api_tokens t JOIN accounts a ON a.id = t.account_id"

    def add_token(
        self, digest: str, org_id: int, login: str, name: str, permissions: list[str]
    ) -> TokenRow:
        now = int(time.time())
        with self._db.write() as c:
            row = c.one("SELECT id FROM accounts WHERE login = ?", (login,))
            if row is None:
                raise NotFound(f"no account {login!r}")
            token_id = c.insert(
                "INSERT INTO api_tokens (digest, org_id, account_id, name, permissions, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (digest, org_id, row[0], name, json.dumps(sorted(permissions)), now),
            )
        found = self.token_by_id(org_id, token_id)
        assert found is not None
        return found

    def token_by_digest(self, digest: str) -> TokenRow | None:
        row = self._db.one(self._TOKEN_SQL + " WHERE t.digest = ?", (digest,))
        return self._token(row) if row is not None else None

    def token_by_id(self, org_id: int, token_id: int) -> TokenRow | None:
        row = self._db.one(self._TOKEN_SQL + " WHERE t.org_id = ? AND t.id = ?", (org_id, token_id))
        return self._token(row) if row is not None else None

    def tokens(self, org_id: int) -> list[TokenRow]:
        rows = self._db.all(self._TOKEN_SQL + " WHERE t.org_id = ? ORDER BY t.id", (org_id,))
        return [self._token(r) for r in rows]

    def token_used(self, token_id: int) -> None:
        """Records the time of use (at most once a minute per token)."""
        now = int(time.time())
        with self._db.write() as c:
            c.execute(
                "UPDATE api_tokens SET last_used = ? WHERE id = ?"
                " AND (last_used IS NULL OR last_used < ?)",
                (now, token_id, now - 60),
            )

    def revoke_token(self, org_id: int, token_id: int) -> TokenRow:
        with self._db.write() as c:
            gone = c.execute(
                "UPDATE api_tokens SET revoked = ? WHERE org_id = ? AND id = ? AND revoked IS NULL",
                (int(time.time()), org_id, token_id),
            ).rowcount
        token = self.token_by_id(org_id, token_id)
        if token is None or not gone:
            raise NotFound(f"no live API token #{token_id} in this organization")
        return token

    # -- audit log --------------------------------------------------------------------------

    def audit(
        self,
        org_id: int | None,
        actor: str,
        via: str,
        client: str,
        action: str,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self._db.write() as c:
            c.execute(
                "INSERT INTO audit_log (time, org_id, actor, via, client, action, target, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(time.time()),
                    org_id,
                    actor,
                    via,
                    client,
                    action,
                    target,
                    json.dumps(detail or {}, sort_keys=True),
                ),
            )

    def prune_audit(self, before: int) -> int:
        """Deletes the audit entries written before Unix time `before`; how many went."""
        with self._db.write() as c:
            return c.execute("DELETE FROM audit_log WHERE time < ?", (before,)).rowcount

    def audit_entries(
        self, org_id: int, before: int | None = None, limit: int = AUDIT_PAGE
    ) -> list[AuditEntry]:
        """The newest entries of one organization first (ids below `before` when given)."""
        sql, args = "SELECT * FROM audit_log WHERE org_id = ?", [org_id]
        if before is not None:
            sql, args = sql + " AND id < ?", [*args, before]
        rows = self._db.all(sql + " ORDER BY id DESC LIMIT ?", (*args, min(limit, AUDIT_PAGE)))
        return [
            AuditEntry(
                r["id"],
                r["time"],
                r["org_id"],
                r["actor"],
                r["via"],
                r["client"],
                r["action"],
                r["target"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]
