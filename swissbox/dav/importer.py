"""`swissbox dav import`: .vcf and .ics files into an account's address book or calendar,
through Radicale's own storage (the same files, cache and sync history a PUT writes).

A .vcf may hold many cards, an .ics many events, to-dos and journal entries: they are split
into one resource per UID, as CalDAV requires (a recurring event and its overridden
occurrences share a UID and stay together, with the time zones they use). A component
without a UID gets one derived from its content, so importing the same file again finds it.
Idempotent by UID: a UID already in the collection is replaced only when its content
differs. The storage lock (`<data>/dav/.Radicale.lock`) is held while writing, so this is
safe while the server runs.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import radicale.config
import radicale.item as radicale_item
import radicale.storage
import vobject
from radicale import pathutils

from swissbox.dav.app import MAX_RESOURCE, PREDEFINED
from swissbox.dav.collection import parse_directory_name
from swissbox.dav.data import _ensure_principal
from swissbox.dav.pgdata import ensure_principal
from swissbox.dav.pgstorage import OneConnection, PgStorage, migrate
from swissbox.store import is_postgres_url

CALENDAR, BOOK = "VCALENDAR", "VADDRESSBOOK"
DEFAULT_COLLECTION = {CALENDAR: "calendar", BOOK: "contacts"}
EXTENSION = {CALENDAR: ".ics", BOOK: ".vcf"}
KIND = {CALENDAR: "a calendar", BOOK: "an address book"}
PRODID = "-//swissbox//dav import//EN"
CALENDAR_PARTS = ("vevent", "vtodo", "vjournal")


class ImportRefused(ValueError):
    """The file or the target collection does not fit; the message says why."""


@dataclass
class ImportResult:
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def _content_uid(component: Any) -> str:
    """A UID from the component's lines (not from `serialize()`: vobject adds a random UID to
    an event that has none when serializing it)."""
    digest = hashlib.sha256()

    def feed(c: Any) -> None:
        digest.update(c.name.encode("utf-8"))
        for line in c.lines():
            params = sorted((k, tuple(v)) for k, v in line.params.items())
            digest.update(repr((line.name, params, str(line.value))).encode("utf-8"))
        for child in c.components():
            feed(child)

    feed(component)
    return f"swissbox-import-{digest.hexdigest()[:32]}"


def _uid(component: Any) -> str:
    """The component's UID, set from its content when it has none."""
    uid = radicale_item.get_uid(component)
    if not uid:
        uid = _content_uid(component)
        if hasattr(component, "uid"):
            component.uid.value = uid
        else:
            component.add("UID").value = uid
    return str(uid)


def split(text: str) -> tuple[str, list[Any]]:
    """(VCALENDAR or VADDRESSBOOK, one vobject object per UID) of a file's text."""
    try:
        components = radicale_item.read_components(text)
    except Exception as exc:  # vobject raises many types for bad input
        raise ImportRefused(f"not iCalendar or vCard: {exc}") from None
    names = {c.name for c in components}
    if names == {"VCARD"}:
        cards: dict[str, Any] = {}
        for card in components:
            cards[_uid(card)] = card  # the last card of a UID wins, as a PUT would
        return BOOK, list(cards.values())
    if names != {"VCALENDAR"}:
        raise ImportRefused(f"expected VCALENDAR or VCARD objects, found {sorted(names)}")
    parts: list[tuple[str, Any, dict[str, Any]]] = []
    for cal in components:
        zones = {str(z.tzid.value): z for z in getattr(cal, "vtimezone_list", [])}
        for kind in CALENDAR_PARTS:
            for component in getattr(cal, f"{kind}_list", []):
                parts.append((_uid(component), component, zones))
    if not parts:
        raise ImportRefused("no event, to-do or journal entry in it")
    out = []
    for _uid_value, group in itertools.groupby(sorted(parts, key=lambda p: p[0]), lambda p: p[0]):
        cal = vobject.iCalendar()
        cal.add("PRODID").value = PRODID
        used: dict[str, Any] = {}
        members = list(group)
        for _u, component, zones in members:
            text = component.serialize()
            used.update({tzid: z for tzid, z in zones.items() if f"TZID={tzid}" in text})
        for zone in used.values():
            cal.add(zone)
        for _u, component, _z in members:
            cal.add(component)
        out.append(cal)
    return CALENDAR, out


@contextmanager
def _storage(place: Path | str) -> Iterator[tuple[Any, int]]:
    """Radicale's file storage over the folder `place` (or ours on the PostgreSQL URL
    `place`), and its limit on recurrence occurrences."""
    cfg = radicale.config.load()
    if not is_postgres_url(place):
        cfg.update(
            {"storage": {"type": "multifilesystem", "filesystem_folder": str(place)}},
            "swissbox",
            privileged=True,
        )
        yield radicale.storage.load(cfg), int(cfg.get("server", "max_vevent_rrule_occurrence"))
        return
    migrate(str(place))
    pool = OneConnection(str(place))
    try:
        storage = PgStorage.over(pool)(cfg)
        yield storage, int(cfg.get("server", "max_vevent_rrule_occurrence"))
    finally:
        pool.close()


def _ensure_principal_in(place: Path | str, storage: Any, login: str) -> None:
    if not is_postgres_url(place):
        _ensure_principal(Path(place), login)
        return
    with storage.connection() as conn:
        ensure_principal(conn, login, time.time())


def _href(uid: str, tag: str, taken: set[str]) -> str:
    base = uid if pathutils.is_safe_filesystem_path_component(uid) and len(uid) <= 128 else ""
    base = base or hashlib.sha256(uid.encode("utf-8")).hexdigest()[:40]
    href, n = base + EXTENSION[tag], 1
    while href in taken:
        n += 1
        href = f"{base}-{n}{EXTENSION[tag]}"
    return href


def import_objects(
    place: Path | str,
    login: str,
    tag: str,
    objects: Iterable[Any],
    collection: str | None = None,
) -> ImportResult:
    """Writes the objects (from `split`) into `<login>/<collection>/` (the account's default
    calendar or address book when None; a missing named collection is made), in the
    `<data>/dav` folder or the PostgreSQL URL `place` (`data.dav_place`)."""
    name = collection or DEFAULT_COLLECTION[tag]
    if not pathutils.is_safe_filesystem_path_component(name) or parse_directory_name(name):
        raise ImportRefused(f"{name!r}: not a name for a collection of yours")
    with _storage(place) as (storage, max_occurrences):
        return _import(place, storage, max_occurrences, login, name, tag, objects, collection)


def _import(
    place: Path | str,
    storage: Any,
    max_occurrences: int,
    login: str,
    name: str,
    tag: str,
    objects: Iterable[Any],
    collection: str | None,
) -> ImportResult:
    path = f"/{login}/{name}/"
    result = ImportResult(f"{login}/{name}")
    with storage.acquire_lock("w"):
        _ensure_principal_in(place, storage, login)
        found = list(storage.discover(path))
        coll = found[0] if found else None
        if coll is None:
            if collection is None:  # a default collection the account deleted: made again
                props = dict(PREDEFINED[name])
            else:
                props = {"tag": tag, "D:displayname": name}
                if tag == CALENDAR:
                    props["C:supported-calendar-component-set"] = "VEVENT,VTODO,VJOURNAL"
            storage.create_collection(path, props=props)
            coll = next(iter(storage.discover(path)))
        if coll.tag != tag:
            raise ImportRefused(f"{result.collection} is not {KIND[tag]}")
        existing = {item.uid: item for item in coll.get_all()}
        taken = {item.href for item in existing.values()}
        for obj in objects:
            radicale_item.check_and_sanitize_items(
                [obj], max_vevent_rrule_occurrence=max_occurrences, tag=tag
            )
            item = radicale_item.Item(collection_path=pathutils.strip_path(path), vobject_item=obj)
            item.prepare()
            if len(item.serialize().encode("utf-8")) > MAX_RESOURCE:
                raise ImportRefused(f"{item.uid}: larger than {MAX_RESOURCE} bytes")
            old = existing.get(item.uid)
            if old is not None and old.serialize() == item.serialize():
                result.unchanged += 1
                continue
            if old is not None:
                href = old.href
                result.updated += 1
            else:
                href = _href(item.uid, tag, taken)
                taken.add(href)
                result.added += 1
            coll.upload(href, item)
    return result
