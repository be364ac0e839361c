"""Addresses that are not mailboxes: aliases, a mailbox's forward, catch-alls, domain aliases.

An alias delivers to one or more targets (hosted addresses or external ones); a mailbox may
forward to one target (keeping a copy or not); a mail domain may have a catch-all target
(off by default); a domain alias makes every local part of one mail domain reach the same
local part of another. Targets are stored as written (normalised `local@domain`) and
resolved at delivery (swissbox.smtp.routing), so a removed mailbox leaves a target that
leads nowhere rather than a broken row. A mixin of `Directory`, on its connection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from swissbox.directory.model import Conflict, DirectoryError, Mailbox, NotFound
from swissbox.directory.names import InvalidName, normalize_domain, split_address
from swissbox.store import Database, Tx


@dataclass(frozen=True)
class Alias:
    address: str
    targets: tuple[str, ...]
    send_as: bool  # the mailboxes among its targets may send as it


@dataclass(frozen=True)
class Forward:
    address: str  # the mailbox
    target: str
    keep: bool  # a copy stays in the mailbox too


@dataclass(frozen=True)
class MailDomain:
    """A hosted mail domain as routing sees it."""

    name: str
    target: str  # the domain whose local parts it reaches: itself, or the one it aliases
    catch_all: str | None  # the target's catch-all, if any


@dataclass(frozen=True)
class AddressEntry:
    """What one exact address is here: a mailbox (maybe forwarding), an alias, or nothing."""

    mailbox: Mailbox | None = None
    forward: Forward | None = None
    alias: Alias | None = None


def _address(address: str, what: str) -> tuple[str, str]:
    try:
        return split_address(address)
    except InvalidName as exc:
        raise DirectoryError(f"{what} {exc}") from None


class AliasStore:
    """Aliases, forwards, catch-alls and domain aliases (mixed into `Directory`)."""

    _db: Database

    # -- reading (routing asks these at RCPT) ------------------------------------------------

    def mail_domain(self, domain: str) -> MailDomain | None:
        """The hosted mail domain `domain` with where its local parts live, or None."""
        try:
            name = normalize_domain(domain)
        except InvalidName:
            return None
        row = self._db.one(
            "SELECT t.name AS target, c.target AS catch_all FROM domains d"
            " JOIN email_services e ON e.domain_id = d.id"
            " LEFT JOIN domain_aliases da ON da.domain_id = d.id"
            " JOIN domains t ON t.id = COALESCE(da.target_id, d.id)"
            " LEFT JOIN catch_alls c ON c.domain_id = t.id"
            " WHERE d.name = ?",
            (name,),
        )
        if row is None:
            return None
        return MailDomain(name, str(row["target"]), row["catch_all"])

    def address_entry(self, address: str) -> AddressEntry:
        """The mailbox (with its forward) or alias at exactly `address` (local part matched
        case-insensitively; no domain alias, plus-address or catch-all applied)."""
        try:
            local, domain = split_address(address)
        except InvalidName:
            return AddressEntry()
        with self._db.read() as c:
            row = c.one(
                "SELECT m.id, m.local_part, m.quota_bytes, d.name AS domain,"
                " f.target, f.keep FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
                " LEFT JOIN mailbox_forwards f ON f.mailbox_id = m.id"
                " WHERE d.name = ? AND m.local_part = ?",
                (domain, local),
            )
            if row is not None:
                box = Mailbox(
                    row["id"],
                    f"{row['local_part']}@{row['domain']}",
                    row["local_part"],
                    row["domain"],
                    row["quota_bytes"],
                )
                forward = None
                if row["target"] is not None:
                    forward = Forward(box.address, str(row["target"]), bool(row["keep"]))
                return AddressEntry(mailbox=box, forward=forward)
            alias = self._alias(c, local, domain)
        return AddressEntry(alias=alias)

    @staticmethod
    def _alias(c: Tx, local: str, domain: str) -> Alias | None:
        rows = c.execute(
            "SELECT a.local_part, a.send_as, t.target FROM aliases a"
            " JOIN domains d ON d.id = a.domain_id"
            " LEFT JOIN alias_targets t ON t.alias_id = a.id"
            " WHERE d.name = ? AND a.local_part = ? ORDER BY t.target",
            (domain, local),
        ).fetchall()
        if not rows:
            return None
        targets = tuple(str(r["target"]) for r in rows if r["target"] is not None)
        return Alias(f"{rows[0]['local_part']}@{domain}", targets, bool(rows[0]["send_as"]))

    def alias(self, address: str) -> Alias | None:
        local, domain = _address(address, "alias")
        with self._db.read() as c:
            return self._alias(c, local, domain)

    def aliases(self, domain: str | None = None) -> list[Alias]:
        sql = (
            "SELECT a.id, a.local_part, d.name AS domain, a.send_as, t.target FROM aliases a"
            " JOIN domains d ON d.id = a.domain_id"
            " LEFT JOIN alias_targets t ON t.alias_id = a.id"
        )
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql, args = sql + " WHERE d.name = ?", (self._mail_domain_name(domain),)
        rows = self._db.all(sql + " ORDER BY d.name, a.local_part, t.target", args)
        found: dict[int, tuple[str, bool, list[str]]] = {}
        for r in rows:
            entry = found.setdefault(
                r["id"], (f"{r['local_part']}@{r['domain']}", bool(r["send_as"]), [])
            )
            if r["target"] is not None:
                entry[2].append(str(r["target"]))
        return [Alias(a, tuple(t), s) for a, s, t in found.values()]

    def forwards(self, domain: str | None = None) -> list[Forward]:
        sql = (
            "SELECT m.local_part, d.name AS domain, f.target, f.keep FROM mailbox_forwards f"
            " JOIN mailboxes m ON m.id = f.mailbox_id JOIN domains d ON d.id = m.domain_id"
        )
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql, args = sql + " WHERE d.name = ?", (self._mail_domain_name(domain),)
        rows = self._db.all(sql + " ORDER BY d.name, m.local_part", args)
        return [
            Forward(f"{r['local_part']}@{r['domain']}", str(r["target"]), bool(r["keep"]))
            for r in rows
        ]

    def catch_alls(self, domain: str | None = None) -> dict[str, str]:
        """{mail domain: catch-all target}."""
        sql = "SELECT d.name, c.target FROM catch_alls c JOIN domains d ON d.id = c.domain_id"
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql, args = sql + " WHERE d.name = ?", (self._mail_domain_name(domain),)
        return {str(r[0]): str(r[1]) for r in self._db.all(sql + " ORDER BY d.name", args)}

    def domain_aliases(self, domain: str | None = None) -> dict[str, str]:
        """{alias domain: target domain}; with `domain`, those where it is either side."""
        sql = (
            "SELECT a.name, t.name FROM domain_aliases x JOIN domains a ON a.id = x.domain_id"
            " JOIN domains t ON t.id = x.target_id"
        )
        args: tuple[Any, ...] = ()
        if domain is not None:
            name = self._mail_domain_name(domain)
            sql, args = sql + " WHERE a.name = ? OR t.name = ?", (name, name)
        return {str(r[0]): str(r[1]) for r in self._db.all(sql + " ORDER BY a.name", args)}

    def alias_senders(self, addresses: list[str]) -> list[str]:
        """The aliases that list one of `addresses` (mailboxes) as a target and let their
        mailboxes send as them (`send_as`); every mailbox address also at each domain
        aliasing its domain."""
        wanted: set[str] = set()
        for address in addresses:
            try:
                local, domain = split_address(address)
            except InvalidName:
                continue
            wanted.add(f"{local}@{domain}".lower())
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        out: list[str] = []
        with self._db.read() as c:
            for row in c.execute(
                "SELECT DISTINCT a.local_part, d.name FROM aliases a"
                " JOIN domains d ON d.id = a.domain_id"
                " JOIN alias_targets t ON t.alias_id = a.id"
                f" WHERE a.send_as = 1 AND lower(t.target) IN ({marks})"
                " ORDER BY d.name, a.local_part",
                tuple(sorted(wanted)),
            ).fetchall():
                out.append(f"{row[0]}@{row[1]}")
            domains = {a.rpartition("@")[2] for a in [*wanted, *out]}
            dmarks = ",".join("?" * len(domains))
            aliased = c.execute(
                "SELECT a.name, t.name FROM domain_aliases x JOIN domains a ON a.id = x.domain_id"
                f" JOIN domains t ON t.id = x.target_id WHERE t.name IN ({dmarks})",
                tuple(sorted(domains)),
            ).fetchall()
        for alias_domain, target in aliased:
            for address in [*addresses, *out]:
                local, _, domain = address.rpartition("@")
                if domain.lower() == target:
                    out.append(f"{local}@{alias_domain}")
        return out

    # -- writing (the CLI verbs; each is one transaction, or a savepoint in one) -------------

    def _mail_domain_name(self, domain: str) -> str:
        try:
            return normalize_domain(domain)
        except InvalidName as exc:
            raise DirectoryError(f"domain {exc}") from None

    @staticmethod
    def _service_id(c: Tx, domain: str) -> int:
        row = c.one(
            "SELECT d.id FROM domains d JOIN email_services e ON e.domain_id = d.id"
            " WHERE d.name = ?",
            (domain,),
        )
        if row is None:
            raise NotFound(f"{domain} has no Email Service here (swissbox mail enable {domain})")
        return int(row[0])

    @staticmethod
    def _not_alias_domain(c: Tx, domain_id: int, name: str) -> None:
        row = c.one(
            "SELECT t.name FROM domain_aliases x JOIN domains t ON t.id = x.target_id"
            " WHERE x.domain_id = ?",
            (domain_id,),
        )
        if row is not None:
            raise Conflict(
                f"{name} is a domain alias of {row[0]}: its addresses are those of {row[0]}"
            )

    def _check_target(self, c: Tx, target: str, what: str) -> str:
        """A target in normal form; one on a hosted mail domain must exist there (a mailbox,
        an alias, or a role address) — after a domain alias is applied."""
        local, domain = _address(target, f"{what} target")
        row = c.one(
            "SELECT t.id, t.name FROM domains d JOIN email_services e ON e.domain_id = d.id"
            " LEFT JOIN domain_aliases x ON x.domain_id = d.id"
            " JOIN domains t ON t.id = COALESCE(x.target_id, d.id) WHERE d.name = ?",
            (domain,),
        )
        if row is not None and local.lower() not in ("postmaster", "abuse"):
            exists = c.one(
                "SELECT 1 FROM mailboxes WHERE domain_id = ? AND local_part = ?"
                " UNION ALL SELECT 1 FROM aliases WHERE domain_id = ? AND local_part = ?",
                (row["id"], local, row["id"], local),
            )
            if exists is None:
                raise NotFound(f"{what} target {local}@{domain}: no mailbox or alias of that name")
        return f"{local}@{domain}"

    def add_alias(self, address: str, targets: list[str], send_as: bool | None = None) -> Alias:
        """Creates the alias `address` with `targets`, or adds `targets` to it; `send_as`
        (None: on for a new alias, unchanged for an existing one)."""
        local, domain = _address(address, "alias")
        if not targets:
            raise DirectoryError("an alias needs at least one target")
        with self._db.write() as c:
            domain_id = self._service_id(c, domain)
            self._not_alias_domain(c, domain_id, domain)
            if c.one(
                "SELECT 1 FROM mailboxes WHERE domain_id = ? AND local_part = ?",
                (domain_id, local),
            ):
                raise Conflict(
                    f"{local}@{domain} is a mailbox; to send its mail on, use"
                    f" swissbox mailbox forward {local}@{domain} TARGET"
                )
            row = c.one(
                "SELECT id, local_part FROM aliases WHERE domain_id = ? AND local_part = ?",
                (domain_id, local),
            )
            if row is None:
                alias_id = c.insert(
                    "INSERT INTO aliases (domain_id, local_part, send_as, created)"
                    " VALUES (?, ?, ?, ?)",
                    (domain_id, local, int(send_as is not False), int(time.time())),
                )
                name = f"{local}@{domain}"
            else:
                alias_id, name = int(row["id"]), f"{row['local_part']}@{domain}"
                if send_as is not None:
                    c.execute(
                        "UPDATE aliases SET send_as = ? WHERE id = ?", (int(send_as), alias_id)
                    )
            for target in targets:
                checked = self._check_target(c, target, "alias")
                if checked.lower() == name.lower():
                    raise DirectoryError(f"alias {name} cannot be its own target")
                c.execute(
                    "INSERT INTO alias_targets (alias_id, target) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (alias_id, checked),
                )
        found = self.alias(name)
        assert found is not None
        return found

    def remove_alias(self, address: str, targets: list[str] | None = None) -> Alias | None:
        """Removes the alias, or only some of its targets (the alias goes with its last one);
        returns what remains (None when the alias is gone)."""
        local, domain = _address(address, "alias")
        with self._db.write() as c:
            row = c.one(
                "SELECT a.id, a.local_part FROM aliases a JOIN domains d ON d.id = a.domain_id"
                " WHERE d.name = ? AND a.local_part = ?",
                (domain, local),
            )
            if row is None:
                raise NotFound(f"no alias {local}@{domain}")
            alias_id, name = int(row["id"]), f"{row['local_part']}@{domain}"
            for target in targets or []:
                t_local, t_domain = _address(target, "target")
                if not c.execute(
                    "DELETE FROM alias_targets WHERE alias_id = ? AND target = ?",
                    (alias_id, f"{t_local}@{t_domain}"),
                ).rowcount:
                    raise NotFound(f"{t_local}@{t_domain} is not a target of {name}")
            left = c.one("SELECT COUNT(*) FROM alias_targets WHERE alias_id = ?", (alias_id,))
            if not targets or not left or not left[0]:
                c.execute("DELETE FROM aliases WHERE id = ?", (alias_id,))
                return None
        return self.alias(name)

    def set_forward(self, address: str, target: str | None, keep: bool = False) -> Forward | None:
        """Mail to mailbox `address` goes on to `target` (a copy stays with `keep`); None
        ends forwarding. Returns the forward in force."""
        local, domain = _address(address, "mailbox")
        with self._db.write() as c:
            row = c.one(
                "SELECT m.id, m.local_part FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
                " WHERE d.name = ? AND m.local_part = ?",
                (domain, local),
            )
            if row is None:
                raise NotFound(f"no mailbox {local}@{domain}")
            box_id, name = int(row["id"]), f"{row['local_part']}@{domain}"
            if target is None:
                if not c.execute(
                    "DELETE FROM mailbox_forwards WHERE mailbox_id = ?", (box_id,)
                ).rowcount:
                    raise NotFound(f"{name} does not forward")
                return None
            checked = self._check_target(c, target, "forward")
            if checked.lower() == name.lower():
                raise DirectoryError(f"{name} cannot forward to itself")
            c.execute(
                "INSERT INTO mailbox_forwards (mailbox_id, target, keep) VALUES (?, ?, ?)"
                " ON CONFLICT (mailbox_id) DO UPDATE SET target = excluded.target,"
                " keep = excluded.keep",
                (box_id, checked, int(keep)),
            )
        return Forward(name, checked, keep)

    def set_catch_all(self, domain: str, target: str | None) -> str | None:
        """Unknown local parts of mail domain `domain` go to `target`; None turns it off.
        Returns the previous target."""
        name = self._mail_domain_name(domain)
        with self._db.write() as c:
            domain_id = self._service_id(c, name)
            self._not_alias_domain(c, domain_id, name)
            row = c.one("SELECT target FROM catch_alls WHERE domain_id = ?", (domain_id,))
            before = str(row[0]) if row is not None else None
            if target is None:
                c.execute("DELETE FROM catch_alls WHERE domain_id = ?", (domain_id,))
                return before
            checked = self._check_target(c, target, "catch-all")
            c.execute(
                "INSERT INTO catch_alls (domain_id, target) VALUES (?, ?)"
                " ON CONFLICT (domain_id) DO UPDATE SET target = excluded.target",
                (domain_id, checked),
            )
        return before

    def set_domain_alias(self, alias_domain: str, target_domain: str | None) -> str | None:
        """Every local part of mail domain `alias_domain` reaches the same one of
        `target_domain` (same organization; the alias domain has no mailboxes, aliases or
        catch-all of its own; no chains). None ends it. Returns the previous target."""
        name = self._mail_domain_name(alias_domain)
        with self._db.write() as c:
            domain_id = self._service_id(c, name)
            row = c.one(
                "SELECT t.name FROM domain_aliases x JOIN domains t ON t.id = x.target_id"
                " WHERE x.domain_id = ?",
                (domain_id,),
            )
            before = str(row[0]) if row is not None else None
            if target_domain is None:
                if before is None:
                    raise NotFound(f"{name} is not a domain alias")
                c.execute("DELETE FROM domain_aliases WHERE domain_id = ?", (domain_id,))
                return before
            target = self._mail_domain_name(target_domain)
            if target == name:
                raise DirectoryError(f"{name} cannot be a domain alias of itself")
            target_id = self._service_id(c, target)
            orgs = c.execute(
                "SELECT DISTINCT org_id FROM domains WHERE id IN (?, ?)", (domain_id, target_id)
            ).fetchall()
            if len(orgs) != 1:
                raise Conflict(f"{name} and {target} belong to different organizations")
            self._not_alias_domain(c, target_id, target)
            if c.one("SELECT 1 FROM domain_aliases WHERE target_id = ?", (domain_id,)):
                raise Conflict(f"{name} is the target of a domain alias; aliases do not chain")
            for table, what in (
                ("mailboxes", "mailboxes"),
                ("aliases", "aliases"),
                ("catch_alls", "a catch-all"),
            ):
                if c.one(f"SELECT 1 FROM {table} WHERE domain_id = ?", (domain_id,)):
                    raise Conflict(f"{name} has {what} of its own; a domain alias has none")
            c.execute(
                "INSERT INTO domain_aliases (domain_id, target_id) VALUES (?, ?)"
                " ON CONFLICT (domain_id) DO UPDATE SET target_id = excluded.target_id",
                (domain_id, target_id),
            )
        return before

    def _refuse_alias_names(self, c: Tx, domain_id: int, local: str, domain: str) -> None:
        """For add_mailbox: no mailbox where an alias has the name or on an alias domain."""
        self._not_alias_domain(c, domain_id, domain)
        if c.one(
            "SELECT 1 FROM aliases WHERE domain_id = ? AND local_part = ?", (domain_id, local)
        ):
            raise Conflict(f"{local}@{domain} is an alias; remove it first (swissbox alias del)")
