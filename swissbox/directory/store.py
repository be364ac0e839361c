"""The directory database: one SQLite file (WAL, foreign keys) shared by the CLI and the server.

Every write runs in one IMMEDIATE transaction, so a concurrent reader (the running server)
sees either all of a CLI command or none of it. `generation()` changes whenever any
connection has committed, which is how a running server notices CLI edits without restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from swissbox.directory.aliases import AliasStore
from swissbox.directory.managerdata import ManagerDataStore
from swissbox.directory.model import (
    ACCESS,
    ROLE_NAMES,
    ROLES,
    Account,
    Conflict,
    DdnsHost,
    DirectoryError,
    Domain,
    EmailService,
    Mailbox,
    MailboxUser,
    Member,
    NotFound,
    Org,
    Record,
    TsigKey,
)
from swissbox.directory.names import (
    InvalidName,
    normalize_domain,
    normalize_login,
    split_address,
)
from swissbox.directory.schema import MIGRATIONS
from swissbox.directory.sendcounts import SendCountStore
from swissbox.directory.sievescripts import SieveStore
from swissbox.directory.twofactor import TwoFactorStore
from swissbox.store import Row, Tx, is_postgres_url, open_database
from swissbox.store.events import CHANNEL_DNS, notify_on_commit

REALMS = ("account", "mailbox", "ddns")
# The password of a mailbox nobody may log in to: no secret verifies against it (not PHC).
DISABLED_HASH = "!disabled"
FAILURE_PRUNE_INTERVAL = 60.0  # seconds between two prunings of old auth_failures rows
FAILURE_KEEP = 3600.0  # rows younger than this stay, whatever the caller's window


class MailboxFate(NamedTuple):
    """What became of a mailbox a removed member used (`settle_member_mailboxes`)."""

    address: str
    fate: str  # "kept" (others hold grants), "handed" (to the new holder) or "disabled"
    holders: tuple[str, ...]  # logins that hold a grant on it afterwards, besides the member


def next_serial(old: int, now: float | None = None) -> int:
    """Date-based SOA serial (YYYYMMDDnn) that never goes backwards."""
    today = int(time.strftime("%Y%m%d", time.gmtime(now))) * 100
    return max(old + 1, today) % 2**32


class Directory(AliasStore, SieveStore, SendCountStore, ManagerDataStore, TwoFactorStore):
    """Thread-safe access to the directory over the storage seam: a SQLite file (the
    embedded default) or a postgresql:// URL (several front ends over one database)."""

    def __init__(self, location: Path | str) -> None:
        self.location: Path | str = location if is_postgres_url(location) else Path(location)
        self._db = open_database(self.location, "directory")
        self._locks_cache: tuple[Any, dict[str, tuple[str, float]]] | None = None
        self._failures_pruned = 0.0  # when this front end last dropped old auth_failures
        try:
            self._db.migrate(MIGRATIONS)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def generation(self) -> Any:
        """Changes after any commit, by this connection or any other process or front end."""
        return self._db.generation()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several write methods as one: each joins this transaction, and either every one
        of them is committed at the end or (on any exception) none is."""
        with self._write():
            yield

    def _write(self) -> AbstractContextManager[Tx]:
        """One write transaction; inside `transaction()`, a savepoint, so that a refused
        step undoes only itself."""
        return self._db.write()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Row | None:
        return self._db.one(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        return self._db.all(sql, args)

    @staticmethod
    def _now() -> int:
        return int(time.time())

    # -- organizations ----------------------------------------------------------------------

    def add_org(self, name: str) -> Org:
        name = name.strip()
        if not name or len(name) > 100 or any(c in name for c in "/\\\n\r\t"):
            raise DirectoryError(f"{name!r}: an organization name is 1-100 characters, no / or \\")
        with self._write() as c:
            if c.execute("SELECT 1 FROM orgs WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"organization {name!r} already exists")
            org_id = c.insert("INSERT INTO orgs (name, created) VALUES (?, ?)", (name, self._now()))
        return Org(org_id, name)

    def org(self, name: str) -> Org:
        row = self._one("SELECT id, name FROM orgs WHERE name = ?", (name.strip(),))
        if row is None:
            raise NotFound(f"no organization {name!r}")
        return Org(row["id"], row["name"])

    def orgs(self) -> list[Org]:
        return [
            Org(r["id"], r["name"]) for r in self._all("SELECT id, name FROM orgs ORDER BY name")
        ]

    def remove_org(self, name: str) -> None:
        org = self.org(name)
        with self._write() as c:
            if c.execute("SELECT 1 FROM domains WHERE org_id = ?", (org.id,)).fetchone():
                raise Conflict(f"organization {name!r} still has domains; remove them first")
            c.execute("DELETE FROM orgs WHERE id = ?", (org.id,))

    # -- accounts and memberships -----------------------------------------------------------

    @staticmethod
    def _account(row: Row) -> Account:
        return Account(row["id"], row["login"], row["display_name"], row["phone"], row["updated"])

    def add_account(
        self,
        login: str,
        password_hash: str,
        org: str,
        role: str = "collaborator",
        display_name: str = "",
        phone: str = "",
    ) -> Account:
        login = self._login(login)
        if role not in ROLES:
            raise DirectoryError(f"role {role!r}: use one of {', '.join(ROLES)}")
        org_row = self.org(org)
        now = self._now()
        with self._write() as c:
            if c.execute("SELECT 1 FROM accounts WHERE login = ?", (login,)).fetchone():
                raise Conflict(f"account {login!r} already exists")
            account_id = c.insert(
                "INSERT INTO accounts (login, display_name, phone, password_hash, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (login, display_name.strip(), phone.strip(), password_hash, now, now),
            )
            c.execute(
                "INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, ?)",
                (org_row.id, account_id, role),
            )
        return self.account(login)

    @staticmethod
    def _login(login: str) -> str:
        try:
            return normalize_login(login)
        except InvalidName as exc:
            raise DirectoryError(f"login {exc}") from None

    def account(self, login: str) -> Account:
        row = self._one("SELECT * FROM accounts WHERE login = ?", (self._login(login),))
        if row is None:
            raise NotFound(f"no account {login!r}")
        return self._account(row)

    def update_account(
        self,
        login: str,
        *,
        display_name: str | None = None,
        phone: str | None = None,
        password_hash: str | None = None,
    ) -> Account:
        account = self.account(login)
        with self._write() as c:
            for column, value in (
                ("display_name", display_name),
                ("phone", phone),
                ("password_hash", password_hash),
            ):
                if value is not None:
                    c.execute(f"UPDATE accounts SET {column} = ? WHERE id = ?", (value, account.id))
            c.execute("UPDATE accounts SET updated = ? WHERE id = ?", (self._now(), account.id))
        return self.account(login)

    def remove_account(self, login: str) -> None:
        """Deletes the account with its memberships, team places and mailbox grants; refused
        while it is the only legal representative of an organization."""
        account = self.account(login)
        with self._write() as c:
            legal_in = c.execute(
                "SELECT org_id FROM memberships WHERE account_id = ? AND role = 'legal'",
                (account.id,),
            ).fetchall()
            for row in legal_in:
                self._keep_legal(c, row["org_id"], account.id)
            c.execute("DELETE FROM accounts WHERE id = ?", (account.id,))

    def members(self, org: str) -> list[Member]:
        org_row = self.org(org)
        rows = self._all(
            "SELECT a.*, m.role, m.private FROM memberships m JOIN accounts a ON a.id = m.account_id"
            " WHERE m.org_id = ? ORDER BY a.login",
            (org_row.id,),
        )
        return [Member(self._account(r), org_row.name, r["role"], bool(r["private"])) for r in rows]

    def memberships(self, login: str) -> list[Member]:
        account = self.account(login)
        rows = self._all(
            "SELECT o.name, m.role, m.private FROM memberships m JOIN orgs o ON o.id = m.org_id"
            " WHERE m.account_id = ? ORDER BY o.name",
            (account.id,),
        )
        return [Member(account, r["name"], r["role"], bool(r["private"])) for r in rows]

    def set_role(self, org: str, login: str, role: str) -> str:
        """Changes a member's role; returns the previous one. A legal representative remains."""
        if role not in ROLES:
            raise DirectoryError(f"role {role!r}: use one of {', '.join(ROLES)}")
        org_row, account = self.org(org), self.account(login)
        with self._write() as c:
            row = c.execute(
                "SELECT role FROM memberships WHERE org_id = ? AND account_id = ?",
                (org_row.id, account.id),
            ).fetchone()
            if row is None:
                raise NotFound(f"{login!r} is not a member of {org!r}")
            if row["role"] == "legal" and role != "legal":
                self._keep_legal(c, org_row.id, account.id)
            c.execute(
                "UPDATE memberships SET role = ? WHERE org_id = ? AND account_id = ?",
                (role, org_row.id, account.id),
            )
        return str(row["role"])

    @staticmethod
    def _keep_legal(c: Tx, org_id: int, account_id: int) -> None:
        others = c.execute(
            "SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'legal' AND account_id != ?",
            (org_id, account_id),
        ).fetchone()[0]
        if not others:
            raise Conflict(
                f"this member is the organization's only {ROLE_NAMES['legal']}; "
                "name another one first"
            )

    # -- domains and zones ------------------------------------------------------------------

    @staticmethod
    def _domain_name(name: str) -> str:
        try:
            return normalize_domain(name)
        except InvalidName as exc:
            raise DirectoryError(f"domain {exc}") from None

    @staticmethod
    def _domain(row: Row) -> Domain:
        return Domain(
            row["id"],
            row["name"],
            row["org"],
            row["serial"],
            row["soa_mname"],
            row["soa_rname"],
            row["soa_refresh"],
            row["soa_retry"],
            row["soa_expire"],
            row["soa_minimum"],
            row["default_ttl"],
        )

    _DOMAIN_SQL = "SELECT d.*, o.name AS org FROM domains d JOIN orgs o ON o.id = d.org_id"

    def add_domain(self, name: str, org: str, nameserver: str, hostmaster: str = "") -> Domain:
        """A hosted zone with its SOA (kept in the domain row) and one NS record."""
        name = self._domain_name(name)
        ns = self._domain_name(nameserver)
        rname = self._domain_name(hostmaster or f"hostmaster.{name}")
        org_row = self.org(org)
        with self._write() as c:
            if c.execute("SELECT 1 FROM domains WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"domain {name!r} is already hosted here")
            domain_id = c.insert(
                "INSERT INTO domains (name, org_id, serial, soa_mname, soa_rname, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, org_row.id, next_serial(0), ns, rname, self._now()),
            )
            c.execute(
                "INSERT INTO records (domain_id, name, type, ttl, rdata) VALUES (?, ?, 'NS', ?, ?)",
                (domain_id, name, 86400, ns + "."),
            )
            self._zone_changed(c, name)
        return self.domain(name)

    def domain(self, name: str) -> Domain:
        row = self._one(self._DOMAIN_SQL + " WHERE d.name = ?", (self._domain_name(name),))
        if row is None:
            raise NotFound(f"domain {name!r} is not hosted here")
        return self._domain(row)

    def domains(self, org: str | None = None) -> list[Domain]:
        if org is None:
            rows = self._all(self._DOMAIN_SQL + " ORDER BY d.name")
        else:
            rows = self._all(self._DOMAIN_SQL + " WHERE o.name = ? ORDER BY d.name", (org,))
        return [self._domain(r) for r in rows]

    def zone_for(self, name: str) -> Domain | None:
        """The hosted zone that contains `name` (the longest matching suffix), if any."""
        try:
            labels = self._domain_name(name).split(".")
        except DirectoryError:
            return None
        candidates = [".".join(labels[i:]) for i in range(len(labels))]
        marks = ",".join("?" * len(candidates))
        rows = self._all(
            self._DOMAIN_SQL + f" WHERE d.name IN ({marks}) ORDER BY length(d.name) DESC LIMIT 1",
            tuple(candidates),
        )
        return self._domain(rows[0]) if rows else None

    def remove_domain(self, name: str) -> None:
        domain = self.domain(name)
        with self._write() as c:
            if c.execute("SELECT 1 FROM mailboxes WHERE domain_id = ?", (domain.id,)).fetchone():
                raise Conflict(f"domain {domain.name!r} still has mailboxes; remove them first")
            c.execute("DELETE FROM domains WHERE id = ?", (domain.id,))
            self._zone_changed(c, domain.name)

    def records(self, zone: str, name: str | None = None) -> list[Record]:
        domain = self.domain(zone)
        sql = "SELECT id, name, type, ttl, rdata FROM records WHERE domain_id = ?"
        args: tuple[Any, ...] = (domain.id,)
        if name is not None:
            sql, args = sql + " AND name = ?", (domain.id, name)
        rows = self._all(sql + " ORDER BY name, type, id", args)
        return [Record(r["id"], r["name"], r["type"], r["ttl"], r["rdata"]) for r in rows]

    def change_records(
        self,
        zone: str,
        delete: Sequence[tuple[str, str | None, str | None]] = (),
        add: Sequence[tuple[str, str, int, str]] = (),
    ) -> int:
        """Deletes (name, type|None, rdata|None) matches, then adds (name, type, ttl, rdata)
        records, in one transaction with one serial bump when anything changed.

        Names must already be absolute and normalised (the dns package validates them).
        Adding an identical record is a no-op; records of an RRset share its TTL.
        Returns the number of records deleted plus added.
        """
        domain = self.domain(zone)
        with self._write() as c:
            return self._apply_records(c, domain.id, delete, add)

    def _apply_records(
        self,
        c: Tx,
        domain_id: int,
        delete: Sequence[tuple[str, str | None, str | None]],
        add: Sequence[tuple[str, str, int, str]],
    ) -> int:
        """change_records inside a transaction the caller holds."""
        changed = 0
        for name, rtype, rdata in delete:
            sql, args = "DELETE FROM records WHERE domain_id = ? AND name = ?", [domain_id, name]
            if rtype is not None:
                sql, args = sql + " AND type = ?", [*args, rtype]
            if rdata is not None:
                sql, args = sql + " AND rdata = ?", [*args, rdata]
            changed += c.execute(sql, tuple(args)).rowcount
        for name, rtype, ttl, rdata in add:
            changed += c.execute(
                "INSERT INTO records (domain_id, name, type, ttl, rdata)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (domain_id, name, rtype, ttl, rdata),
            ).rowcount
            changed += c.execute(
                "UPDATE records SET ttl = ? WHERE domain_id = ? AND name = ? AND type = ?"
                " AND ttl != ?",
                (ttl, domain_id, name, rtype, ttl),
            ).rowcount
        for name in {name for name, *_ in add}:
            self._cname_alone(c, domain_id, name)
        if changed:
            self._bump(c, domain_id)
        return changed

    @staticmethod
    def _cname_alone(c: Tx, domain_id: int, name: str) -> None:
        """RFC 1034 3.6.2 / RFC 2181 10.1: a CNAME stands alone, and there is one at most.
        Checked inside the writing transaction, so concurrent writers cannot both pass."""
        rows = c.execute(
            "SELECT type, COUNT(*) FROM records WHERE domain_id = ? AND name = ? GROUP BY type",
            (domain_id, name),
        ).fetchall()
        counts = {row[0]: row[1] for row in rows}
        if counts.get("CNAME", 0) > 1:
            raise Conflict(f"{name} would have two CNAME records; a name has one at most")
        if "CNAME" in counts and len(counts) > 1:
            others = ", ".join(sorted(t for t in counts if t != "CNAME"))
            raise Conflict(f"{name} would have a CNAME beside other records ({others})")

    def _bump(self, c: Tx, domain_id: int) -> int:
        row = c.execute("SELECT name, serial FROM domains WHERE id = ?", (domain_id,)).fetchone()
        new = next_serial(int(row["serial"]))
        c.execute("UPDATE domains SET serial = ? WHERE id = ?", (new, domain_id))
        self._zone_changed(c, row["name"])
        return new

    def _zone_changed(self, c: Tx, zone: str) -> None:
        """Every front end reloads the zone once this transaction commits (PostgreSQL); this
        one too, whichever of its services wrote the change."""
        notify_on_commit(self._db, c, CHANNEL_DNS, zone, to_this_process=True)

    def set_soa(self, zone: str, **fields: int | str) -> Domain:
        """Changes SOA fields (mname, rname, refresh, retry, expire, minimum, default_ttl)."""
        domain = self.domain(zone)
        with self._write() as c:
            self._set_soa_fields(c, domain.id, fields)
            self._bump(c, domain.id)
        return self.domain(zone)

    @staticmethod
    def _set_soa_fields(c: Tx, domain_id: int, fields: Mapping[str, Any]) -> None:
        allowed = {"mname", "rname", "refresh", "retry", "expire", "minimum"}
        for key, value in fields.items():
            column = f"soa_{key}" if key in allowed else key
            if key not in allowed and key != "default_ttl":
                raise DirectoryError(f"unknown SOA field {key!r}")
            c.execute(f"UPDATE domains SET {column} = ? WHERE id = ?", (value, domain_id))

    def replace_zone(
        self,
        zone: str,
        delete: Sequence[tuple[str, str | None, str | None]],
        add: Sequence[tuple[str, str, int, str]],
        soa: Mapping[str, int | str],
    ) -> int:
        """change_records plus set_soa (a zone import): one transaction, one serial bump.
        Returns the number of records deleted plus added."""
        domain = self.domain(zone)
        with self._write() as c:
            changed = self._apply_records(c, domain.id, delete, add)
            if soa:
                self._set_soa_fields(c, domain.id, soa)
                if not changed:
                    self._bump(c, domain.id)
        return changed

    # -- email services and mailboxes -------------------------------------------------------

    def enable_email(
        self,
        domain: str,
        max_addresses: int | None = None,
        records: Sequence[tuple[str, str, int, str]] = (),
    ) -> EmailService:
        """Creates (or updates the limit of) the Email Service and publishes `records`, in one
        transaction."""
        d = self.domain(domain)
        if max_addresses is not None and max_addresses < 0:
            raise DirectoryError("--max-addresses must be 0 or more")
        with self._write() as c:
            used = c.execute(
                "SELECT COUNT(*) FROM mailboxes WHERE domain_id = ?", (d.id,)
            ).fetchone()[0]
            if max_addresses is not None and used > max_addresses:
                raise Conflict(
                    f"{d.name} already has {used} addresses, more than --max-addresses {max_addresses}"
                )
            c.execute(
                "INSERT INTO email_services (domain_id, max_addresses, created) VALUES (?, ?, ?)"
                " ON CONFLICT (domain_id) DO UPDATE SET max_addresses = excluded.max_addresses",
                (d.id, max_addresses, self._now()),
            )
            self._apply_records(c, d.id, (), records)  # one transaction: nothing half-written
        return self.email_service(d.name)

    def email_service(self, domain: str) -> EmailService:
        d = self.domain(domain)
        row = self._one(
            "SELECT max_addresses, (SELECT COUNT(*) FROM mailboxes WHERE domain_id = ?) AS used"
            " FROM email_services WHERE domain_id = ?",
            (d.id, d.id),
        )
        if row is None:
            raise NotFound(f"{d.name} has no Email Service (swissbox mail enable {d.name})")
        return EmailService(d.name, row["max_addresses"], row["used"])

    def is_mail_domain(self, domain: str) -> bool:
        try:
            name = normalize_domain(domain)
        except InvalidName:
            return False
        return (
            self._one(
                "SELECT 1 FROM email_services e JOIN domains d ON d.id = e.domain_id WHERE d.name = ?",
                (name,),
            )
            is not None
        )

    _MAILBOX_SQL = (
        "SELECT m.id, m.local_part, m.quota_bytes, d.name AS domain"
        " FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
    )

    @staticmethod
    def _mailbox(row: Row) -> Mailbox:
        address = f"{row['local_part']}@{row['domain']}"
        return Mailbox(row["id"], address, row["local_part"], row["domain"], row["quota_bytes"])

    def add_mailbox(
        self, address: str, password_hash: str, quota_bytes: int | None = None
    ) -> Mailbox:
        try:
            local, domain_name = split_address(address)
        except InvalidName as exc:
            raise DirectoryError(str(exc)) from None
        service = self.email_service(domain_name)
        d = self.domain(domain_name)
        with self._write() as c:
            exists = c.execute(
                "SELECT 1 FROM mailboxes WHERE domain_id = ? AND local_part = ?", (d.id, local)
            ).fetchone()
            if exists:
                raise Conflict(f"mailbox {local}@{d.name} already exists")
            self._refuse_alias_names(c, d.id, local, d.name)
            used = c.execute(
                "SELECT COUNT(*) FROM mailboxes WHERE domain_id = ?", (d.id,)
            ).fetchone()[0]
            if service.max_addresses is not None and used >= service.max_addresses:
                raise Conflict(
                    f"{d.name} has reached its limit of {service.max_addresses} addresses"
                )
            c.execute(
                "INSERT INTO mailboxes (domain_id, local_part, password_hash, quota_bytes, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (d.id, local, password_hash, quota_bytes, self._now()),
            )
        mailbox = self.mailbox(f"{local}@{d.name}")
        assert mailbox is not None
        return mailbox

    def mailbox(self, address: str) -> Mailbox | None:
        """The hosted mailbox for an address (local part matched case-insensitively), or None."""
        try:
            local, domain = split_address(address)
        except InvalidName:
            return None
        row = self._one(
            self._MAILBOX_SQL + " WHERE d.name = ? AND m.local_part = ?", (domain, local)
        )
        return self._mailbox(row) if row else None

    def mailboxes(self, domain: str | None = None) -> list[Mailbox]:
        if domain is None:
            rows = self._all(self._MAILBOX_SQL + " ORDER BY d.name, m.local_part")
        else:
            rows = self._all(
                self._MAILBOX_SQL + " WHERE d.name = ? ORDER BY m.local_part",
                (self._domain_name(domain),),
            )
        return [self._mailbox(r) for r in rows]

    def remove_mailbox(self, address: str) -> None:
        mailbox = self.mailbox(address)
        if mailbox is None:
            raise NotFound(f"no mailbox {address!r}")
        with self._write() as c:  # gone meanwhile (a concurrent delete): not found either
            if not c.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox.id,)).rowcount:
                raise NotFound(f"no mailbox {address!r}")

    def set_mailbox_quota(self, address: str, quota_bytes: int | None) -> Mailbox:
        """Sets the mailbox's quota (None: no limit); deliveries from then on are checked
        against it (mail already held stays, even over a lower quota)."""
        mailbox = self.mailbox(address)
        if mailbox is None:
            raise NotFound(f"no mailbox {address!r}")
        with self._write() as c:
            c.execute(
                "UPDATE mailboxes SET quota_bytes = ? WHERE id = ?", (quota_bytes, mailbox.id)
            )
        changed = self.mailbox(mailbox.address)
        if changed is None:
            raise NotFound(f"no mailbox {address!r}")
        return changed

    # -- who may use a mailbox ----------------------------------------------------------------
    # An account uses a mailbox through a grant with an access of model.ACCESS: "own" (its own
    # mailbox: that mailbox's password stands for the person, see usable_mailboxes), "full"
    # or "read". An account whose login is the address owns that mailbox without a grant,
    # unless another account is its explicit owner. A mailbox has one owner at most.

    def grant(self, address: str, login: str, access: str = "full") -> str:
        """Lets account `login` use mailbox `address` with `access` (replacing what it had);
        returns the access it had before ("" when none)."""
        if access not in ACCESS:
            raise DirectoryError(f"access {access!r}: use one of {', '.join(ACCESS)}")
        mailbox, account = self.mailbox(address), self.account(login)
        if mailbox is None:
            raise NotFound(f"no mailbox {address!r}")
        with self._write() as c:
            before = self._access(c, mailbox, account.id)
            owner = self._owner_id(c, mailbox)
            if access == "own" and owner is not None and owner != account.id:
                other = c.execute("SELECT login FROM accounts WHERE id = ?", (owner,)).fetchone()
                raise Conflict(f"{mailbox.address} is already the own address of {other[0]}")
            c.execute(
                "INSERT INTO mailbox_grants (mailbox_id, account_id, access) VALUES (?, ?, ?)"
                " ON CONFLICT (mailbox_id, account_id) DO UPDATE SET access = excluded.access",
                (mailbox.id, account.id, access),
            )
        return before

    def revoke(self, address: str, login: str) -> str:
        """Ends account `login`'s use of mailbox `address`; returns the access it had. The
        address that is the account's own login cannot be revoked (Conflict)."""
        mailbox, account = self.mailbox(address), self.account(login)
        if mailbox is None:
            raise NotFound(f"no mailbox {address!r}")
        with self._write() as c:
            before = self._access(c, mailbox, account.id)
            gone = c.execute(
                "DELETE FROM mailbox_grants WHERE mailbox_id = ? AND account_id = ?",
                (mailbox.id, account.id),
            ).rowcount
            if self._owner_id(c, mailbox) == account.id:
                raise Conflict(
                    f"{mailbox.address} is the login of {account.login}, its own address;"
                    " it cannot be revoked"
                )
            if not gone:
                raise NotFound(f"{account.login} has no grant on {mailbox.address}")
        return before

    @staticmethod
    def _owner_id(c: Tx, mailbox: Mailbox) -> int | None:
        """The account that owns `mailbox`: the explicit owner, else the account whose login
        is the address, else None."""
        row = c.execute(
            "SELECT account_id FROM mailbox_grants WHERE mailbox_id = ? AND access = 'own'",
            (mailbox.id,),
        ).fetchone()
        if row is None:
            row = c.execute(
                "SELECT id FROM accounts WHERE login = ?", (normalize_login(mailbox.address),)
            ).fetchone()
        return int(row[0]) if row is not None else None

    def _access(self, c: Tx, mailbox: Mailbox, account_id: int) -> str:
        if self._owner_id(c, mailbox) == account_id:
            return "own"
        row = c.execute(
            "SELECT access FROM mailbox_grants WHERE mailbox_id = ? AND account_id = ?",
            (mailbox.id, account_id),
        ).fetchone()
        return str(row[0]) if row is not None else ""

    def mailbox_users(self, mailboxes: Sequence[Mailbox]) -> dict[int, list[MailboxUser]]:
        """The accounts that may use each mailbox (by mailbox id): its owner first, then the
        others by login."""
        out: dict[int, list[MailboxUser]] = {m.id: [] for m in mailboxes}
        with self._db.read() as c:
            ids = list(out)
            explicit_owner: set[int] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                rows = c.execute(
                    "SELECT g.mailbox_id, a.login, g.access FROM mailbox_grants g"
                    " JOIN accounts a ON a.id = g.account_id"
                    f" WHERE g.mailbox_id IN ({','.join('?' * len(chunk))})",
                    tuple(chunk),
                ).fetchall()
                for mailbox_id, login, access in rows:
                    out[mailbox_id].append(MailboxUser(login, access))
                    if access == "own":
                        explicit_owner.add(mailbox_id)
            for m in mailboxes:
                if m.id in explicit_owner:
                    continue
                login = normalize_login(m.address)
                if c.execute("SELECT 1 FROM accounts WHERE login = ?", (login,)).fetchone():
                    users = [u for u in out[m.id] if u.login != login]
                    out[m.id] = [MailboxUser(login, "own"), *users]
        rank = {a: i for i, a in enumerate(ACCESS)}
        for users in out.values():
            users.sort(key=lambda u: (rank[u.access] > 0, u.login))
        return out

    def usable_mailboxes(self, address: str) -> dict[str, str]:
        """What the person behind mailbox `address` may use: {address: access} of every
        mailbox its owner account owns or holds a grant on ({} when it has no owner). This is
        what its password may act as (SASL authorization identities, send-as, shared
        folders); a grant *on* `address` to another account gives nothing here, so one
        delegate's mailbox password never reaches the other's mail."""
        mailbox = self.mailbox(address)
        if mailbox is None:
            return {}
        with self._db.read() as c:
            owner = self._owner_id(c, mailbox)
            return {} if owner is None else self._uses(c, owner)

    def account_mailboxes(self, login: str) -> dict[str, str]:
        """{address: access} of every mailbox account `login` owns or holds a grant on."""
        account = self.account(login)
        with self._db.read() as c:
            return self._uses(c, account.id)

    def _uses(self, c: Tx, account_id: int) -> dict[str, str]:
        rank = {a: i for i, a in enumerate(ACCESS)}
        out: dict[str, str] = {}
        login = c.execute("SELECT login FROM accounts WHERE id = ?", (account_id,)).fetchone()
        own = self.mailbox(login[0]) if login is not None else None
        if own is not None and self._owner_id(c, own) == account_id:
            out[own.address] = "own"
        for local, domain, access in c.execute(
            "SELECT m.local_part, d.name, g.access FROM mailbox_grants g"
            " JOIN mailboxes m ON m.id = g.mailbox_id JOIN domains d ON d.id = m.domain_id"
            " WHERE g.account_id = ?",
            (account_id,),
        ).fetchall():
            key = f"{local}@{domain}"
            if key not in out or rank[access] < rank[out[key]]:
                out[key] = access
        return out

    def granted_mailboxes(self, login: str) -> list[Mailbox]:
        account = self.account(login)
        rows = self._all(
            self._MAILBOX_SQL + " JOIN mailbox_grants g ON g.mailbox_id = m.id"
            " WHERE g.account_id = ? ORDER BY d.name, m.local_part",
            (account.id,),
        )
        return [self._mailbox(r) for r in rows]

    # -- dynamic DNS ------------------------------------------------------------------------

    def add_ddns_user(self, username: str, password_hash: str, owner: str | None = None) -> None:
        username = username.strip()
        if not username or len(username) > 64 or any(c.isspace() or c == ":" for c in username):
            raise DirectoryError(f"DDNS user {username!r}: 1-64 characters without spaces or ':'")
        owner_id = self.account(owner).id if owner else None
        with self._write() as c:
            if c.execute("SELECT 1 FROM ddns_users WHERE username = ?", (username,)).fetchone():
                raise Conflict(f"DDNS user {username!r} already exists")
            c.execute(
                "INSERT INTO ddns_users (username, password_hash, owner_account_id, created)"
                " VALUES (?, ?, ?, ?)",
                (username, password_hash, owner_id, self._now()),
            )

    def ddns_user_exists(self, username: str) -> bool:
        return (
            self._one("SELECT 1 FROM ddns_users WHERE username = ?", (username.strip(),))
            is not None
        )

    _HOST_SQL = (
        "SELECT h.id, h.hostname, h.offline, d.name AS zone, u.username FROM ddns_hosts h"
        " JOIN domains d ON d.id = h.domain_id JOIN ddns_users u ON u.id = h.user_id"
    )

    @staticmethod
    def _host(row: Row) -> DdnsHost:
        return DdnsHost(
            row["id"], row["hostname"], row["zone"], row["username"], bool(row["offline"])
        )

    def add_ddns_host(self, hostname: str, username: str) -> DdnsHost:
        """Lets an existing DDNS user update the address records of `hostname`."""
        name = self._domain_name(hostname)
        zone = self.zone_for(name)
        if zone is None:
            raise DirectoryError(f"{name!r} is not inside any domain hosted here")
        user = self._one("SELECT id FROM ddns_users WHERE username = ?", (username.strip(),))
        if user is None:
            raise NotFound(f"no DDNS user {username!r}")
        with self._write() as c:
            if c.execute("SELECT 1 FROM ddns_hosts WHERE hostname = ?", (name,)).fetchone():
                raise Conflict(f"{name!r} is already a DDNS host")
            c.execute(
                "INSERT INTO ddns_hosts (hostname, domain_id, user_id) VALUES (?, ?, ?)",
                (name, zone.id, user["id"]),
            )
        host = self.ddns_host(name)
        assert host is not None
        return host

    def ddns_host(self, hostname: str) -> DdnsHost | None:
        try:
            name = normalize_domain(hostname)
        except InvalidName:
            return None
        row = self._one(self._HOST_SQL + " WHERE h.hostname = ?", (name,))
        return self._host(row) if row else None

    def ddns_hosts(self, username: str | None = None) -> list[DdnsHost]:
        if username is None:
            rows = self._all(self._HOST_SQL + " ORDER BY h.hostname")
        else:
            rows = self._all(
                self._HOST_SQL + " WHERE u.username = ? ORDER BY h.hostname", (username,)
            )
        return [self._host(r) for r in rows]

    def remove_ddns_host(self, hostname: str) -> bool:
        """Ends dynamic DNS for `hostname`: its A/AAAA records go (one serial bump) with the
        host, and its DDNS user with its last host (a user without hosts could only be
        taken over by whoever adds a host for that name). Returns whether the user went."""
        host = self.ddns_host(hostname)
        if host is None:
            raise NotFound(f"{hostname!r} is not a DDNS host")
        with self._write() as c:
            row = c.execute(
                "SELECT domain_id, user_id FROM ddns_hosts WHERE id = ?", (host.id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"{host.hostname!r} is not a DDNS host")
            c.execute("DELETE FROM ddns_hosts WHERE id = ?", (host.id,))
            self._apply_records(
                c, row[0], [(host.hostname, "A", None), (host.hostname, "AAAA", None)], []
            )
            last = c.execute("SELECT 1 FROM ddns_hosts WHERE user_id = ?", (row[1],)).fetchone()
            if last is None:
                c.execute("DELETE FROM ddns_users WHERE id = ?", (row[1],))
        return last is None

    def set_ddns_addresses(
        self, host: DdnsHost, addresses: Mapping[str, str | None], ttl: int, offline: bool
    ) -> None:
        """Sets the host's A/AAAA records (type -> address, None removes) and its offline flag,
        in one transaction with one serial bump."""
        with self._write() as c:
            domain_id = c.execute("SELECT domain_id FROM ddns_hosts WHERE id = ?", (host.id,))
            row = domain_id.fetchone()
            if row is None:
                raise NotFound(f"{host.hostname!r} is no longer a DDNS host")
            self._apply_records(
                c,
                row[0],
                [(host.hostname, rtype, None) for rtype in addresses],
                [(host.hostname, t, ttl, v) for t, v in addresses.items() if v is not None],
            )
            c.execute(
                "UPDATE ddns_hosts SET offline = ?, updated = ? WHERE id = ?",
                (int(offline), self._now(), host.id),
            )

    # -- TSIG keys --------------------------------------------------------------------------

    def add_tsig_key(
        self,
        name: str,
        secret: str,
        zone: str,
        name_pattern: str = "",
        algorithm: str = "hmac-sha256",
    ) -> TsigKey:
        key_name = self._domain_name(name)
        d = self.domain(zone)
        with self._write() as c:
            if c.execute("SELECT 1 FROM tsig_keys WHERE name = ?", (key_name,)).fetchone():
                raise Conflict(f"TSIG key {key_name!r} already exists")
            c.execute(
                "INSERT INTO tsig_keys (name, algorithm, secret, domain_id, name_pattern, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_name, algorithm, secret, d.id, name_pattern, self._now()),
            )
        key = self.tsig_key(key_name)
        assert key is not None
        return key

    def tsig_key(self, name: str) -> TsigKey | None:
        row = self._one(
            "SELECT k.*, d.name AS zone FROM tsig_keys k JOIN domains d ON d.id = k.domain_id"
            " WHERE k.name = ?",
            (name.rstrip(".").lower(),),
        )
        if row is None:
            return None
        return TsigKey(
            row["name"], row["algorithm"], row["secret"], row["zone"], row["name_pattern"]
        )

    def remove_tsig_key(self, name: str) -> None:
        with self._write() as c:
            if not c.execute(
                "DELETE FROM tsig_keys WHERE name = ?", (name.rstrip(".").lower(),)
            ).rowcount:
                raise NotFound(f"no TSIG key {name!r}")

    def tsig_keys(self) -> list[TsigKey]:
        rows = self._all(
            "SELECT k.*, d.name AS zone FROM tsig_keys k JOIN domains d ON d.id = k.domain_id"
            " ORDER BY k.name"
        )
        return [
            TsigKey(r["name"], r["algorithm"], r["secret"], r["zone"], r["name_pattern"])
            for r in rows
        ]

    # -- secrets of the three realms --------------------------------------------------------

    def secret_hash(self, realm: str, identifier: str) -> tuple[str, str] | None:
        """(canonical identifier, stored hash) of one realm, or None when it does not exist."""
        try:
            if realm == "account":
                login = normalize_login(identifier)
                row = self._one(
                    "SELECT login AS ident, password_hash FROM accounts WHERE login = ?", (login,)
                )
            elif realm == "mailbox":
                local, domain = split_address(identifier)
                row = self._one(
                    "SELECT m.local_part || '@' || d.name AS ident, m.password_hash FROM mailboxes m"
                    " JOIN domains d ON d.id = m.domain_id WHERE d.name = ? AND m.local_part = ?",
                    (domain, local),
                )
            elif realm == "ddns":
                row = self._one(
                    "SELECT username AS ident, password_hash FROM ddns_users WHERE username = ?",
                    (identifier.strip(),),
                )
            else:
                raise ValueError(f"unknown realm {realm!r}")
        except InvalidName:
            return None
        return (row["ident"], row["password_hash"]) if row else None

    def set_secret_hash(self, realm: str, identifier: str, password_hash: str) -> None:
        found = self.secret_hash(realm, identifier)
        if found is None:
            raise NotFound(f"no {realm} {identifier!r}")
        ident = found[0]
        with self._write() as c:
            if realm == "account":
                c.execute(
                    "UPDATE accounts SET password_hash = ? WHERE login = ?", (password_hash, ident)
                )
            elif realm == "mailbox":
                local, domain = ident.rsplit("@", 1)
                c.execute(
                    "UPDATE mailboxes SET password_hash = ? WHERE local_part = ?"
                    " AND domain_id = (SELECT id FROM domains WHERE name = ?)",
                    (password_hash, local, domain),
                )
            else:
                c.execute(
                    "UPDATE ddns_users SET password_hash = ? WHERE username = ?",
                    (password_hash, ident),
                )

    # -- organization management (teams, private entries) ---------------------------------
    # Appended for swissbox.dav (issue 8). Team and member rows are returned as plain dicts
    # so that the model module stays untouched.

    def org_by_id(self, org_id: int) -> Org:
        row = self._one("SELECT id, name FROM orgs WHERE id = ?", (org_id,))
        if row is None:
            raise NotFound(f"no organization #{org_id}")
        return Org(row["id"], row["name"])

    def member(self, org: str, login: str) -> Member:
        """One membership; NotFound when `login` is not a member of `org`."""
        org_row, account = self.org(org), self.account(login)
        row = self._one(
            "SELECT role, private FROM memberships WHERE org_id = ? AND account_id = ?",
            (org_row.id, account.id),
        )
        if row is None:
            raise NotFound(f"{account.login!r} is not a member of {org_row.name!r}")
        return Member(account, org_row.name, row["role"], bool(row["private"]))

    def add_member(self, org: str, login: str, role: str = "collaborator") -> Member:
        """Adds an existing account to another organization with `role`."""
        if role not in ROLES:
            raise DirectoryError(f"role {role!r}: use one of {', '.join(ROLES)}")
        org_row, account = self.org(org), self.account(login)
        with self._write() as c:
            if c.execute(
                "SELECT 1 FROM memberships WHERE org_id = ? AND account_id = ?",
                (org_row.id, account.id),
            ).fetchone():
                raise Conflict(f"{account.login!r} is already a member of {org_row.name!r}")
            c.execute(
                "INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, ?)",
                (org_row.id, account.id, role),
            )
        return self.member(org_row.name, account.login)

    def set_private(self, org: str, login: str, private: bool) -> bool:
        """Marks a member's directory entry private (or public); returns the previous flag."""
        previous = self.member(org, login)
        org_row = self.org(org)
        with self._write() as c:
            c.execute(
                "UPDATE memberships SET private = ? WHERE org_id = ? AND account_id = ?",
                (int(private), org_row.id, previous.account.id),
            )
        return previous.private

    def add_team(self, org: str, name: str) -> None:
        name = name.strip()
        if not name or len(name) > 100 or any(c in name for c in "\n\r\t"):
            raise DirectoryError(f"{name!r}: a team name is 1-100 characters on one line")
        org_row = self.org(org)
        with self._write() as c:
            if c.execute(
                "SELECT 1 FROM teams WHERE org_id = ? AND name = ?", (org_row.id, name)
            ).fetchone():
                raise Conflict(f"team {name!r} already exists in {org_row.name!r}")
            c.execute("INSERT INTO teams (org_id, name) VALUES (?, ?)", (org_row.id, name))

    def _team_id(self, c: Tx, org_id: int, name: str) -> int:
        row = c.execute(
            "SELECT id FROM teams WHERE org_id = ? AND name = ?", (org_id, name.strip())
        ).fetchone()
        if row is None:
            raise NotFound(f"no team {name!r}")
        return int(row["id"])

    def remove_team(self, org: str, name: str) -> None:
        org_row = self.org(org)
        with self._write() as c:
            c.execute("DELETE FROM teams WHERE id = ?", (self._team_id(c, org_row.id, name),))

    def add_team_member(self, org: str, team: str, login: str) -> None:
        """Puts a member of `org` into one of its teams (idempotent)."""
        member = self.member(org, login)
        org_row = self.org(org)
        with self._write() as c:
            c.execute(
                "INSERT INTO team_members (team_id, account_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (self._team_id(c, org_row.id, team), member.account.id),
            )

    def remove_team_member(self, org: str, team: str, login: str) -> None:
        org_row, account = self.org(org), self.account(login)
        with self._write() as c:
            gone = c.execute(
                "DELETE FROM team_members WHERE team_id = ? AND account_id = ?",
                (self._team_id(c, org_row.id, team), account.id),
            ).rowcount
            if not gone:
                raise NotFound(f"{account.login!r} is not in team {team!r}")

    def teams(self, org: str) -> list[dict[str, Any]]:
        """[{"id", "name", "members": [login, ...]}] ordered by name."""
        org_row = self.org(org)
        rows = self._all(
            "SELECT t.id, t.name, a.login FROM teams t"
            " LEFT JOIN team_members tm ON tm.team_id = t.id"
            " LEFT JOIN accounts a ON a.id = tm.account_id"
            " WHERE t.org_id = ? ORDER BY t.name, a.login",
            (org_row.id,),
        )
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            team = out.setdefault(r["id"], {"id": r["id"], "name": r["name"], "members": []})
            if r["login"] is not None:
                team["members"].append(r["login"])
        return list(out.values())

    def remove_member(self, org: str, login: str) -> bool:
        """Removes `login` from `org`: membership, places in its teams, grants on mailboxes of
        its domains. The account itself goes when no membership remains (returns True then).
        The organization's last legal representative cannot be removed (Conflict)."""
        member = self.member(org, login)
        org_row, account_id = self.org(org), member.account.id
        with self._write() as c:
            if member.role == "legal":
                self._keep_legal(c, org_row.id, account_id)
            c.execute(
                "DELETE FROM team_members WHERE account_id = ?"
                " AND team_id IN (SELECT id FROM teams WHERE org_id = ?)",
                (account_id, org_row.id),
            )
            c.execute(
                "DELETE FROM mailbox_grants WHERE account_id = ? AND mailbox_id IN"
                " (SELECT m.id FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
                " WHERE d.org_id = ?)",
                (account_id, org_row.id),
            )
            c.execute(
                "DELETE FROM memberships WHERE org_id = ? AND account_id = ?",
                (org_row.id, account_id),
            )
            left = c.execute(
                "SELECT COUNT(*) FROM memberships WHERE account_id = ?", (account_id,)
            ).fetchone()[0]
            if not left:
                c.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        return not left

    def directory_rows(self, org_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Everything the organization directory is built from, read in one snapshot, as plain
        tuples (this runs on every directory refresh of large organizations):
        members (account id, login, display name, phone, role, private 0/1, emails) ordered by
        id, emails being the org's mailboxes the member may use, space-separated, their own
        ones first (may repeat an address), or None;
        teams (team id, name, member account ids comma-separated or None) ordered by id."""
        with self._db.read() as c:
            members = c.execute(
                "SELECT a.id, a.login, a.display_name, a.phone, m.role, m.private"
                " FROM memberships m JOIN accounts a ON a.id = m.account_id"
                " WHERE m.org_id = ? ORDER BY a.id",
                (org_id,),
            ).fetchall()
            boxes = c.execute(
                "SELECT mb.id, mb.local_part, d.name FROM mailboxes mb"
                " JOIN domains d ON d.id = mb.domain_id WHERE d.org_id = ?",
                (org_id,),
            ).fetchall()
            grants = c.execute(
                "SELECT g.mailbox_id, g.account_id, g.access FROM mailbox_grants g"
                " JOIN mailboxes mb ON mb.id = g.mailbox_id JOIN domains d ON d.id = mb.domain_id"
                " WHERE d.org_id = ?",
                (org_id,),
            ).fetchall()
            teams = c.execute(
                "SELECT id, name FROM teams WHERE org_id = ? ORDER BY id", (org_id,)
            ).fetchall()
            team_members = c.execute(
                "SELECT tm.team_id, tm.account_id FROM team_members tm"
                " JOIN teams t ON t.id = tm.team_id WHERE t.org_id = ? ORDER BY tm.account_id",
                (org_id,),
            ).fetchall()
        address = {r[0]: f"{r[1]}@{r[2]}" for r in boxes}
        by_address = {a.lower(): i for i, a in address.items()}
        owned_by_other: dict[int, set[int]] = {}  # mailbox -> accounts holding "own"
        held: dict[int, list[tuple[int, str]]] = {}  # account -> (0 own | 1 shared, address)
        for mailbox_id, account_id, access in grants:
            if access == "own":
                owned_by_other.setdefault(mailbox_id, set()).add(account_id)
            held.setdefault(account_id, []).append((int(access != "own"), address[mailbox_id]))
        member_rows: list[tuple[Any, ...]] = []
        for account_id, login, name, phone, role, private in members:
            # own addresses first: the login's mailbox (unless another account is its
            # explicit owner) and explicit "own" grants; then shared ones
            emails = list(held.get(account_id, []))
            own = by_address.get(str(login).lower())
            if own is not None and not owned_by_other.get(own, set()) - {account_id}:
                emails.append((0, address[own]))
            emails.sort()
            joined = " ".join(e[1] for e in emails) or None
            member_rows.append((account_id, login, name, phone, role, private, joined))
        ids: dict[int, list[str]] = {}
        for team_id, account_id in team_members:
            ids.setdefault(team_id, []).append(str(account_id))
        team_rows = [(t[0], t[1], ",".join(ids[t[0]]) if t[0] in ids else None) for t in teams]
        return member_rows, team_rows

    def member_orgs(self, login: str) -> list[tuple[int, str, str]]:
        """(org id, org name, role) of every membership of `login`; [] for unknown logins."""
        try:
            key = normalize_login(login)
        except InvalidName:
            return []
        rows = self._all(
            "SELECT o.id, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id"
            " JOIN accounts a ON a.id = m.account_id WHERE a.login = ? ORDER BY o.id",
            (key,),
        )
        return [(int(r["id"]), str(r["name"]), str(r["role"])) for r in rows]

    # -- role addresses (postmaster@, abuse@) and what a removed member's mailboxes become ---
    # Appended for issue 11.

    def mail_domain_org(self, domain: str) -> str | None:
        """The organization owning `domain` when it has an Email Service, else None."""
        try:
            name = normalize_domain(domain)
        except InvalidName:
            return None
        row = self._one(
            "SELECT o.name FROM email_services e JOIN domains d ON d.id = e.domain_id"
            " JOIN orgs o ON o.id = d.org_id WHERE d.name = ?",
            (name,),
        )
        return str(row["name"]) if row else None

    def host_org(self, hostname: str) -> str | None:
        """The organization answering for the server's own name (its bare `Postmaster`): the
        one hosting the zone that contains `hostname`, else the first organization created
        (the operator's, as `swissbox init` users set up theirs first); None without any."""
        zone = self.zone_for(hostname)
        if zone is not None:
            return zone.org
        row = self._one("SELECT name FROM orgs ORDER BY id LIMIT 1")
        return str(row["name"]) if row else None

    def admin_mailboxes(self, org: str) -> list[Mailbox]:
        """Where the organization's legal representatives and administrators read mail: for
        each, their own mailboxes (ACCESS "own", or the one that is their login); for one
        who has none, the organization's mailboxes granted to them that no one but its
        administrators may use (postmaster and abuse reports are not for collaborators'
        eyes). [] when there is none (or `org` is gone)."""
        org_row = self._one("SELECT id FROM orgs WHERE name = ?", (org.strip(),))
        if org_row is None:
            return []
        org_id = org_row["id"]
        found: dict[int, Mailbox] = {}
        with self._db.read() as c:
            admins = c.execute(
                "SELECT a.id, a.login FROM memberships ms JOIN accounts a"
                " ON a.id = ms.account_id WHERE ms.org_id = ? AND ms.role IN ('legal', 'admin')"
                " ORDER BY a.id",
                (org_id,),
            ).fetchall()
            for admin in admins:
                owned = [
                    self._mailbox(r)
                    for r in c.execute(
                        self._MAILBOX_SQL + " JOIN mailbox_grants g ON g.mailbox_id = m.id"
                        " WHERE g.account_id = ? AND g.access = 'own'"
                        " ORDER BY d.name, m.local_part",
                        (admin["id"],),
                    )
                ]
                login_box = self.mailbox(admin["login"])
                if login_box is not None and self._owner_id(c, login_box) == admin["id"]:
                    owned.append(login_box)
                if not owned:
                    owned = [
                        self._mailbox(r)
                        for r in c.execute(
                            self._MAILBOX_SQL + " JOIN mailbox_grants g ON g.mailbox_id = m.id"
                            " WHERE g.account_id = ? AND d.org_id = ? AND NOT EXISTS"
                            " (SELECT 1 FROM mailbox_grants o LEFT JOIN memberships ms"
                            "  ON ms.account_id = o.account_id AND ms.org_id = d.org_id"
                            "  WHERE o.mailbox_id = m.id AND (ms.role IS NULL"
                            "  OR ms.role NOT IN ('legal', 'admin')))"
                            " ORDER BY d.name, m.local_part",
                            (admin["id"], org_id),
                        )
                    ]
                for box in owned:
                    found.setdefault(box.id, box)
        return list(found.values())

    def settle_member_mailboxes(
        self, org: str, login: str, transfer_to: str | None = None
    ) -> list[MailboxFate]:
        """Before `remove_member`: decides and does what becomes of each mailbox of `org` that
        `login` uses (granted to them, or the one that is their login), in one transaction.
        Kept as it is when other accounts hold a grant on it (or have it as their login);
        else granted to `transfer_to` (a member of `org`) and handed over; else disabled. A
        handed-over or disabled mailbox gets DISABLED_HASH as its password, so what the
        member knew no longer opens it.
        Refused (Conflict) like `remove_member` when the member cannot be removed."""
        member, org_row = self.member(org, login), self.org(org)
        account_id = member.account.id
        target = self.member(org, transfer_to).account if transfer_to else None
        if target is not None and target.id == account_id:
            raise DirectoryError("the new holder must be another member")
        fates: list[MailboxFate] = []
        with self._write() as c:
            if member.role == "legal":
                self._keep_legal(c, org_row.id, account_id)
            boxes = c.execute(
                self._MAILBOX_SQL + " WHERE d.org_id = ? AND (m.id IN"
                " (SELECT mailbox_id FROM mailbox_grants WHERE account_id = ?)"
                " OR lower(m.local_part || '@' || d.name) = ?) ORDER BY d.name, m.local_part",
                (org_row.id, account_id, member.account.login.lower()),
            ).fetchall()
            for row in boxes:
                box = self._mailbox(row)
                others = tuple(  # grant holders, and the account whose login it is
                    r["login"]
                    for r in c.execute(
                        "SELECT login FROM accounts WHERE id != ? AND (login = ? OR id IN"
                        " (SELECT account_id FROM mailbox_grants WHERE mailbox_id = ?))"
                        " ORDER BY login",
                        (account_id, box.address.lower(), box.id),
                    )
                )
                if others:
                    fates.append(MailboxFate(box.address, "kept", others))
                    continue
                if target is not None:
                    c.execute(
                        "INSERT INTO mailbox_grants (mailbox_id, account_id)"
                        " VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (box.id, target.id),
                    )
                c.execute(
                    "UPDATE mailboxes SET password_hash = ? WHERE id = ?", (DISABLED_HASH, box.id)
                )
                if target is not None:
                    fates.append(MailboxFate(box.address, "handed", (target.login,)))
                else:
                    fates.append(MailboxFate(box.address, "disabled", ()))
        return fates

    # -- login lockouts shared by the front ends ---------------------------------------------

    def publish_lock(self, key: str, tag: str, until: float) -> None:
        """Records a lockout (auth.ratelimit.LockBoard); drops the ones that are over."""
        now = time.time()
        with self._write() as c:
            c.execute("DELETE FROM auth_locks WHERE until_time <= ?", (now,))
            c.execute(
                "INSERT INTO auth_locks (key, tag, until_time) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET tag = excluded.tag,"
                " until_time = excluded.until_time",
                (key, tag, until),
            )

    def count_failure(self, key: str, window: float) -> int | None:
        """Records one failed login under `key` (auth.ratelimit.LockBoard) and returns how
        many every front end recorded in the last `window` seconds; None on SQLite, where
        one server process counts them all itself. One statement outside the writers' lock
        and the generation: a guessing attack must not wake every front end's caches."""
        if self._db.dialect != "postgresql":
            return None
        now = time.time()
        if now - self._failures_pruned > FAILURE_PRUNE_INTERVAL:
            self._failures_pruned = now
            self._db.one(
                "WITH gone AS (DELETE FROM auth_failures WHERE at_time <= ? RETURNING 1)"
                " SELECT COUNT(*) FROM gone",
                (now - max(window, FAILURE_KEEP),),
            )
        row = self._db.one(
            "WITH added AS (INSERT INTO auth_failures (key, at_time) VALUES (?, ?) RETURNING 1)"
            " SELECT (SELECT COUNT(*) FROM auth_failures WHERE key = ? AND at_time > ?)"
            " + (SELECT COUNT(*) FROM added)",
            (key, now, key, now - window),
        )
        return int(row[0]) if row is not None else None

    def active_locks(self) -> dict[str, tuple[str, float]]:
        """{key: (tag, until)} of lockouts not yet over; on SQLite read again only after a
        commit. On PostgreSQL always read: one query, as asking for the generation is (and
        the generation moves with every directory write of every front end)."""
        if self._db.dialect == "postgresql":
            return self._read_locks()
        generation = self.generation()
        cached = self._locks_cache
        if cached is None or cached[0] != generation:
            cached = self._locks_cache = (generation, self._read_locks())
        return cached[1]

    def _read_locks(self) -> dict[str, tuple[str, float]]:
        rows = self._all(
            "SELECT key, tag, until_time FROM auth_locks WHERE until_time > ?", (time.time(),)
        )
        return {r[0]: (r[1], r[2]) for r in rows}
