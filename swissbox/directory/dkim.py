"""DKIM keys of mail domains: the private keys are files in `Config.dkim_dir` (the data folder,
or `[store] blob_path` that several front ends share; 0600, never in the database); their selectors, dates and states are rows of `dkim_keys`; their public keys
are `selector._domainkey` TXT records of the hosted zone.

A key's life: made and published (`created`); seen in DNS by the server (`confirmed`); it
signs once both have happened and `sign_from` has passed (a rotation sets `sign_from` to
after the record's TTL, so no verifier meets a selector its resolver does not know yet);
the newest such key of each algorithm signs. An older one is then `retired`, its record
kept until `withdraw_at` (mail signed with it may still sit in queues), then `withdrawn`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from swissbox.directory.mailrecords import canonical
from swissbox.directory.model import Conflict
from swissbox.directory.store import Directory
from swissbox.mailauth.dkim import ALGORITHMS, KeyPair, generate, public_record
from swissbox.store import Row

KEY_TTL = 3600  # of the TXT records, like the other mail records
SELECTOR_SUFFIX = {"ed25519": "ed25519", "rsa": "rsa"}
_COLUMNS = (
    "d.name AS domain, k.selector, k.algorithm, k.public_key, k.created, k.sign_from,"
    " k.confirmed, k.retired, k.withdraw_at, k.withdrawn"
)


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    algorithm: str
    public_key: str
    created: int
    sign_from: int
    confirmed: int | None = None
    retired: int | None = None
    withdraw_at: int | None = None
    withdrawn: int | None = None

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def record(self) -> tuple[str, str, int, str]:
        """The TXT record, in the directory's canonical form (split in 255-byte strings)."""
        text = public_record(self.algorithm, self.public_key)
        strings = " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))
        return canonical(self.name, "TXT", KEY_TTL, strings)

    def ready(self, now: float) -> bool:
        """May sign: seen in DNS, past `sign_from`, not withdrawn."""
        return self.confirmed is not None and now >= self.sign_from and self.withdrawn is None


def signing_keys(keys: Sequence[DkimKey], now: float) -> list[DkimKey]:
    """The keys that sign now: the newest ready key of each algorithm, in ALGORITHMS order."""
    chosen: dict[str, DkimKey] = {}
    for key in keys:
        if key.ready(now):
            best = chosen.get(key.algorithm)
            if best is None or (key.sign_from, key.created) > (best.sign_from, best.created):
                chosen[key.algorithm] = key
    return [chosen[a] for a in ALGORITHMS if a in chosen]


def state(key: DkimKey, keys: Sequence[DkimKey], now: float) -> str:
    """What `mail dkim list` says about `key` among its domain's `keys`."""
    if key.withdrawn is not None:
        return "withdrawn"
    if key in signing_keys(keys, now):
        return "signing"
    if key.retired is not None or key.ready(now):
        return "retired"
    if key.confirmed is None:
        return "published, not yet seen in DNS"
    return "published, waiting for caches"


def key_path(key_dir: Path, domain: str, selector: str) -> Path:
    return key_dir / domain / f"{selector}.pem"


def write_key(path: Path, pem: bytes) -> None:
    """Writes a private key readable by its owner only (folders 0700, file 0600), durably."""
    for folder in (path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by umask; this is not
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _key(row: Row) -> DkimKey:
    return DkimKey(*row)


def keys(directory: Directory, domain: str | None = None) -> list[DkimKey]:
    """Every key (withdrawn ones too) of `domain`, or of every domain, oldest first."""
    sql = f"SELECT {_COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id"
    args: tuple[str, ...] = ()
    if domain is not None:
        sql, args = sql + " WHERE d.name = ?", (directory.domain(domain).name,)
    return [_key(r) for r in directory._all(sql + " ORDER BY d.name, k.created, k.id", args)]


def live_keys(directory: Directory, domain: str) -> list[DkimKey]:
    """The keys of `domain` that are not withdrawn (what the signer chooses from)."""
    rows = directory._all(
        f"SELECT {_COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id"
        " WHERE d.name = ? AND k.withdrawn IS NULL ORDER BY k.created, k.id",
        (domain,),
    )
    return [_key(r) for r in rows]


def _new_selectors(taken: set[str], now: float) -> dict[str, str]:
    """Dated selectors, e.g. 20260103-ed25519 and 20260103-rsa (then 20260103b-...)."""
    day = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d")
    for tag in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        names = {a: f"{day}{tag}-{SELECTOR_SUFFIX[a]}" for a in ALGORITHMS}
        if not taken & set(names.values()):
            return names
    raise Conflict(f"too many DKIM keys made on {day}; try again tomorrow")


def _make_pair(key_dir: Path, domain: str, taken: set[str], now: float) -> dict[str, KeyPair]:
    """New key pairs by selector, their private keys already on disk."""
    pairs = {}
    for algorithm, selector in _new_selectors(taken, now).items():
        pair = generate(algorithm)
        write_key(key_path(key_dir, domain, selector), pair.private_pem)
        pairs[selector] = pair
    return pairs


def _publish(
    directory: Directory, domain: str, pairs: dict[str, KeyPair], now: int, sign_from: int
) -> list[DkimKey]:
    d = directory.domain(domain)
    made = [
        DkimKey(d.name, selector, pair.algorithm, pair.public, now, sign_from)
        for selector, pair in pairs.items()
    ]
    with directory._write() as c:
        for key in made:
            c.execute(
                "INSERT INTO dkim_keys (domain_id, selector, algorithm, public_key, created,"
                " sign_from) VALUES (?, ?, ?, ?, ?, ?)",
                (d.id, key.selector, key.algorithm, key.public_key, key.created, key.sign_from),
            )
        directory._apply_records(c, d.id, (), [key.record() for key in made])
    return made


def ensure_keys(
    directory: Directory, key_dir: Path, domain: str, now: int | None = None
) -> list[DkimKey]:
    """The first key pair of a mail domain (`mail enable`), unless it has live keys already
    (then their records are put back if missing); returns the keys made. Its records are
    published at once; it signs once seen in DNS."""
    d = directory.domain(domain)
    name = d.name
    live = live_keys(directory, name)
    if live:  # their records again, in case one was deleted by hand (a no-op otherwise)
        with directory._write() as c:
            directory._apply_records(c, d.id, (), [k.record() for k in live])
        return []
    now = int(time.time()) if now is None else now
    taken = {k.selector for k in keys(directory, name)}
    return _publish(directory, name, _make_pair(key_dir, name, taken, now), now, now)


def rotate(
    directory: Directory, key_dir: Path, domain: str, now: int | None = None
) -> list[DkimKey]:
    """A new key pair for `domain`, published now and signing only once its records' TTL (or
    the zone's negative-caching TTL, whichever is longer) has passed; the current keys keep
    signing until then and are retired by the server when the new ones take over."""
    d = directory.domain(domain)
    now = int(time.time()) if now is None else now
    current = live_keys(directory, d.name)
    signing = signing_keys(current, now)
    waiting = [k for k in current if k.retired is None and k not in signing and not k.ready(now)]
    if waiting:
        raise Conflict(
            f"a rotation of {d.name} is under way: {', '.join(k.selector for k in waiting)}"
            " not signing yet (see `swissbox mail dkim list`)"
        )
    taken = {k.selector for k in keys(directory, d.name)}
    sign_from = now + max(KEY_TTL, d.soa_minimum)
    pairs = _make_pair(key_dir, d.name, taken, now)
    return _publish(directory, d.name, pairs, now, sign_from)


def confirm(directory: Directory, domain: str, selector: str, now: int) -> bool:
    """Marks a key as seen in DNS; False if it already was (or is gone)."""
    with directory._write() as c:
        return (
            c.execute(
                "UPDATE dkim_keys SET confirmed = ? WHERE selector = ? AND confirmed IS NULL"
                " AND domain_id = (SELECT id FROM domains WHERE name = ?)",
                (now, selector, domain),
            ).rowcount
            > 0
        )


def retire_and_withdraw(
    directory: Directory, key_dir: Path, now: int, keep_seconds: int
) -> list[tuple[DkimKey, str]]:
    """The housekeeping the server does: retires keys a newer ready key has replaced (their
    records stay `keep_seconds`), withdraws records past `withdraw_at` and removes those
    keys' files. Returns (key, "retired"|"withdrawn") for what it did."""
    done: list[tuple[DkimKey, str]] = []
    by_domain: dict[str, list[DkimKey]] = {}
    for key in keys(directory):
        if key.withdrawn is None:
            by_domain.setdefault(key.domain, []).append(key)
    for domain, live in by_domain.items():
        signing = signing_keys(live, now)
        newest = {k.algorithm: k for k in signing}
        for key in live:
            best = newest.get(key.algorithm)
            replaced = (
                best is not None
                and key is not best
                and (key.sign_from, key.created) <= (best.sign_from, best.created)
            )
            if key.retired is None and replaced:
                with directory._write() as c:
                    c.execute(
                        "UPDATE dkim_keys SET retired = ?, withdraw_at = ? WHERE selector = ?"
                        " AND retired IS NULL AND domain_id = (SELECT id FROM domains WHERE name = ?)",
                        (now, now + keep_seconds, key.selector, domain),
                    )
                done.append((key, "retired"))
            elif key.withdraw_at is not None and key.withdraw_at <= now:
                d = directory.domain(domain)
                with directory._write() as c:
                    changed = c.execute(
                        "UPDATE dkim_keys SET withdrawn = ? WHERE selector = ? AND domain_id = ?"
                        " AND withdrawn IS NULL",
                        (now, key.selector, d.id),
                    ).rowcount
                    directory._apply_records(c, d.id, [(key.name, "TXT", key.record()[3])], ())
                if changed:
                    key_path(key_dir, domain, key.selector).unlink(missing_ok=True)
                    done.append((key, "withdrawn"))
    return done
