"""Second factor (TOTP) and app passwords of accounts, in the directory database (migration
10). A mixin of `Directory`, on its connection. Pure rules (codes, hashing) live in
`swissbox.auth.totp` and `swissbox.auth.apppasswords`; this module only keeps rows.

An app password is for DAV (realm "account") or for one mailbox (realm "mailbox"). A mailbox
one opens that mailbox only while its account still owns it or holds a full grant on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from swissbox.directory.model import NotFound
from swissbox.directory.names import normalize_login, split_address
from swissbox.store import Database, Row, Tx

APP_REALMS = ("account", "mailbox")
MAILBOX_APP_ACCESS = ("own", "full")  # a read-only grant gives no mailbox app password


@dataclass(frozen=True)
class TotpState:
    secret: str
    confirmed: int | None  # None while enrolling (a code not yet shown back)
    last_step: int | None  # newest time step accepted (older or equal ones are replays)


@dataclass(frozen=True)
class AppPassword:
    id: int
    login: str
    realm: str  # "account" (CalDAV/CardDAV) or "mailbox" (IMAP/SMTP/ManageSieve)
    mailbox: str | None  # the address, for realm "mailbox"
    name: str
    created: int
    last_used: int | None


class TwoFactorStore:
    _db: Database

    def account_mailboxes(self, login: str) -> dict[str, str]:  # from Directory
        raise NotImplementedError

    @staticmethod
    def _account_id(c: Tx, login: str) -> int:
        row = c.one("SELECT id FROM accounts WHERE login = ?", (normalize_login(login),))
        if row is None:
            raise NotFound(f"no account {login!r}")
        return int(row[0])

    # -- TOTP -------------------------------------------------------------------------------

    def totp_state(self, login: str) -> TotpState | None:
        row = self._db.one(
            "SELECT t.* FROM totp t JOIN accounts a ON a.id = t.account_id WHERE a.login = ?",
            (normalize_login(login),),
        )
        return TotpState(row["secret"], row["confirmed"], row["last_step"]) if row else None

    def two_factor_on(self, login: str) -> bool:
        state = self.totp_state(login)
        return state is not None and state.confirmed is not None

    def begin_totp(self, login: str, secret: str) -> None:
        """A new unconfirmed secret (replacing an unconfirmed one); refused when 2FA is on."""
        with self._db.write() as c:
            account = self._account_id(c, login)
            row = c.one("SELECT confirmed FROM totp WHERE account_id = ?", (account,))
            if row is not None and row[0] is not None:
                raise ValueError("two-factor authentication is already on: disable it first")
            c.execute("DELETE FROM totp WHERE account_id = ?", (account,))
            c.execute(
                "INSERT INTO totp (account_id, secret, created) VALUES (?, ?, ?)",
                (account, secret, int(time.time())),
            )

    def accept_totp_step(self, login: str, step: int) -> bool:
        """Records `step` as used; False when it (or a newer one) was used already. Atomic,
        so two front ends racing on one code accept it once."""
        with self._db.write() as c:
            account = self._account_id(c, login)
            return bool(
                c.execute(
                    "UPDATE totp SET last_step = ? WHERE account_id = ?"
                    " AND (last_step IS NULL OR last_step < ?)",
                    (step, account, step),
                ).rowcount
            )

    def confirm_totp(self, login: str, step: int, recovery_digests: list[str]) -> bool:
        """Turns 2FA on with the first good code's step and new recovery codes (digests);
        False when there was nothing to confirm or the step was used."""
        with self._db.write() as c:
            account = self._account_id(c, login)
            done = c.execute(
                "UPDATE totp SET confirmed = ?, last_step = ? WHERE account_id = ?"
                " AND confirmed IS NULL",
                (int(time.time()), step, account),
            ).rowcount
            if not done:
                return False
            c.execute("DELETE FROM recovery_codes WHERE account_id = ?", (account,))
            for digest in recovery_digests:
                c.execute(
                    "INSERT INTO recovery_codes (account_id, digest) VALUES (?, ?)",
                    (account, digest),
                )
            return True

    def use_recovery_code(self, login: str, digest: str) -> bool:
        """Spends one recovery code (by digest); False when unknown or spent."""
        with self._db.write() as c:
            account = self._account_id(c, login)
            return bool(
                c.execute(
                    "DELETE FROM recovery_codes WHERE account_id = ? AND digest = ?",
                    (account, digest),
                ).rowcount
            )

    def recovery_codes_left(self, login: str) -> int:
        row = self._db.one(
            "SELECT COUNT(*) FROM recovery_codes r JOIN accounts a ON a.id = r.account_id"
            " WHERE a.login = ?",
            (normalize_login(login),),
        )
        return int(row[0]) if row else 0

    def disable_totp(self, login: str) -> bool:
        """Turns 2FA off (secret and recovery codes gone); False when it was not set up."""
        with self._db.write() as c:
            account = self._account_id(c, login)
            c.execute("DELETE FROM recovery_codes WHERE account_id = ?", (account,))
            c.execute("DELETE FROM login_pending WHERE account_id = ?", (account,))
            return bool(c.execute("DELETE FROM totp WHERE account_id = ?", (account,)).rowcount)

    # -- the pending state between password and code (API login) -----------------------------

    def create_pending_login(self, digest: str, login: str, lifetime: int) -> None:
        now = int(time.time())
        with self._db.write() as c:
            account = self._account_id(c, login)
            c.execute("DELETE FROM login_pending WHERE expires <= ?", (now,))
            c.execute(
                "INSERT INTO login_pending (digest, account_id, expires) VALUES (?, ?, ?)",
                (digest, account, now + lifetime),
            )

    def pending_login(self, digest: str) -> str | None:
        """The account of a live pending login, or None."""
        row = self._db.one(
            "SELECT a.login FROM login_pending p JOIN accounts a ON a.id = p.account_id"
            " WHERE p.digest = ? AND p.expires > ?",
            (digest, int(time.time())),
        )
        return str(row[0]) if row else None

    def end_pending_login(self, digest: str) -> None:
        with self._db.write() as c:
            c.execute("DELETE FROM login_pending WHERE digest = ?", (digest,))

    # -- app passwords ----------------------------------------------------------------------

    _APP_SQL = (
        "SELECT p.id, p.realm, p.name, p.created, p.last_used, a.login,"
        " m.local_part, d.name AS domain FROM app_passwords p"
        " JOIN accounts a ON a.id = p.account_id"
        " LEFT JOIN mailboxes m ON m.id = p.mailbox_id LEFT JOIN domains d ON d.id = m.domain_id"
    )

    @staticmethod
    def _app(r: Row) -> AppPassword:
        mailbox = f"{r['local_part']}@{r['domain']}" if r["local_part"] is not None else None
        return AppPassword(
            r["id"], r["login"], r["realm"], mailbox, r["name"], r["created"], r["last_used"]
        )

    def add_app_password(
        self, login: str, realm: str, mailbox: str | None, name: str, password_hash: str
    ) -> AppPassword:
        """A new app password of `login`; a mailbox one only for an address the account owns
        or has full use of (ValueError otherwise)."""
        if realm not in APP_REALMS or (realm == "mailbox") != (mailbox is not None):
            raise ValueError("an app password is for DAV (no address) or for one address")
        mailbox_id = None
        if mailbox is not None:
            address = mailbox.strip().lower()
            if self.account_mailboxes(login).get(address) not in MAILBOX_APP_ACCESS:
                raise ValueError(f"{address} is not an address you own or fully use")
            local, domain = split_address(address)
            row = self._db.one(
                "SELECT m.id FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
                " WHERE d.name = ? AND m.local_part = ?",
                (domain, local),
            )
            if row is None:
                raise NotFound(f"no mailbox {address}")
            mailbox_id = int(row[0])
        with self._db.write() as c:
            account = self._account_id(c, login)
            new_id = c.insert(
                "INSERT INTO app_passwords (account_id, realm, mailbox_id, name, password_hash,"
                " created) VALUES (?, ?, ?, ?, ?, ?)",
                (account, realm, mailbox_id, name, password_hash, int(time.time())),
            )
        found = self._db.one(self._APP_SQL + " WHERE p.id = ?", (new_id,))
        assert found is not None
        return self._app(found)

    def app_passwords(self, login: str) -> list[AppPassword]:
        rows = self._db.all(
            self._APP_SQL + " WHERE a.login = ? ORDER BY p.id", (normalize_login(login),)
        )
        return [self._app(r) for r in rows]

    def revoke_app_password(self, login: str, app_id: int) -> bool:
        with self._db.write() as c:
            account = self._account_id(c, login)
            return bool(
                c.execute(
                    "DELETE FROM app_passwords WHERE id = ? AND account_id = ?", (app_id, account)
                ).rowcount
            )

    def app_password_hashes(self, realm: str, identifier: str) -> list[tuple[int, str]]:
        """(id, hash) of the app passwords that may open `identifier` of `realm`: an
        account's DAV ones, or a mailbox's ones whose account still owns or fully uses it."""
        if realm == "account":
            rows = self._db.all(
                "SELECT p.id, p.password_hash FROM app_passwords p"
                " JOIN accounts a ON a.id = p.account_id WHERE a.login = ? AND p.realm = ?",
                (normalize_login(identifier), "account"),
            )
            return [(int(r[0]), str(r[1])) for r in rows]
        if realm != "mailbox":
            return []
        try:
            local, domain = split_address(identifier)
        except ValueError:
            return []
        rows = self._db.all(
            "SELECT p.id, p.password_hash, a.login, m.local_part || '@' || d.name AS address"
            " FROM app_passwords p JOIN accounts a ON a.id = p.account_id"
            " JOIN mailboxes m ON m.id = p.mailbox_id JOIN domains d ON d.id = m.domain_id"
            " WHERE p.realm = ? AND d.name = ? AND m.local_part = ?",
            ("mailbox", domain, local),
        )
        out = []
        for r in rows:
            if self.account_mailboxes(r[2]).get(str(r[3]).lower()) in MAILBOX_APP_ACCESS:
                out.append((int(r[0]), str(r[1])))
        return out

    def app_password_used(self, app_id: int) -> None:
        """Records the time of use (at most once a minute)."""
        now = int(time.time())
        with self._db.write() as c:
            c.execute(
                "UPDATE app_passwords SET last_used = ? WHERE id = ?"
                " AND (last_used IS NULL OR last_used < ?)",
                (now, app_id, now - 60),
            )
