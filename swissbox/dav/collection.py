"""The organization directory address book as a Radicale collection: read-only, built by the
server, one per (member, organization); only its display colour can be changed (per member).

Writes raise `ValueError("[Errno 1] ...")`, which Radicale answers with 403 Forbidden.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import overload

from radicale import item as radicale_item
from radicale import storage
from radicale.item import filter as radicale_filter

from swissbox.dav.book import DirectoryBook, Entry, InvalidToken, View

DIRECTORY_PREFIX = "directory-"
# Properties a member may change on a directory address book (kept per member).
COLOUR_PROPS = ("ICAL:calendar-color", "{http://inf-it.com/ns/ab/}addressbook-color")
READ_ONLY = "[Errno 1] the organization directory is read-only (it is built by the server)"


def directory_name(org_id: int) -> str:
    return f"{DIRECTORY_PREFIX}{org_id}"


def parse_directory_name(name: str) -> int | None:
    """The organization id of a directory collection name, or None."""
    if not name.startswith(DIRECTORY_PREFIX):
        return None
    digits = name[len(DIRECTORY_PREFIX) :]
    return int(digits) if digits.isdigit() and not digits.startswith("0") else None


def _http_date(timestamp: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(timestamp))


class DirectoryCollection(storage.BaseCollection):
    """`/<login>/directory-<org id>/`: the view of the organization its owner may see."""

    def __init__(self, book: DirectoryBook, owner: str, org_id: int, view: str) -> None:
        self._book = book
        self._owner = owner
        self._org_id = org_id
        self._view = view
        self._path = f"{owner}/{directory_name(org_id)}"

    @property
    def path(self) -> str:
        return self._path

    @property
    def owner(self) -> str:
        return self._owner

    def _state(self) -> tuple[View, str]:
        state = self._book.org(self._org_id)
        if state is None:
            raise ValueError("[Errno 2] the organization no longer exists")
        return state.views[self._view], state.name

    # -- metadata -----------------------------------------------------------------------------

    def _fixed_meta(self) -> dict[str, str]:
        _, name = self._state()
        return {
            "tag": "VADDRESSBOOK",
            "D:displayname": f"Directory of {name}",
            "CR:addressbook-description": (
                f"Members and teams of {name}, kept by the server (read-only)"
            ),
        }

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        meta = self._fixed_meta()
        meta.update(self._book.colours(self._owner, self._org_id))
        return meta if key is None else meta.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        """Radicale passes the whole new property set: only the colours may differ."""
        fixed = self._fixed_meta()
        others = {k: v for k, v in props.items() if k not in COLOUR_PROPS}
        if others != fixed:
            raise ValueError(READ_ONLY)
        self._book.set_colours(self._owner, self._org_id, {k: props.get(k) for k in COLOUR_PROPS})

    @property
    def last_modified(self) -> str:
        view, _ = self._state()
        return _http_date(view.last_modified or time.time())

    @property
    def etag(self) -> str:
        view, _ = self._state()
        token = self._book.token(self._org_id, self._view, view.seq)
        colours = sorted(self._book.colours(self._owner, self._org_id).items())
        digest = hashlib.sha256(f"{token}{colours}".encode()).hexdigest()
        return f'"{digest}"'

    # -- items --------------------------------------------------------------------------------

    def _item(self, href: str, entry: Entry) -> radicale_item.Item:
        return radicale_item.Item(
            collection_path=self._path,
            collection=self,
            href=href,
            last_modified=_http_date(entry.rev),
            text=entry.text,
            etag=entry.etag,
            uid=entry.uid,
            name="VCARD",
            component_name="",
            time_range=(radicale_filter.TIMESTAMP_MIN, radicale_filter.TIMESTAMP_MAX),
        )

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        try:
            return self._book.changes(self._org_id, self._view, old_token)
        except InvalidToken as exc:
            raise ValueError(str(exc)) from None

    def get_multi(self, hrefs: Iterable[str]) -> Iterable[tuple[str, radicale_item.Item | None]]:
        view, _ = self._state()
        for href in hrefs:
            entry = view.cards.get(href)
            yield href, (self._item(href, entry) if entry is not None else None)

    def get_all(self) -> Iterator[radicale_item.Item]:
        view, _ = self._state()
        for href, entry in list(view.cards.items()):
            yield self._item(href, entry)

    def has_uid(self, uid: str) -> bool:
        view, _ = self._state()
        return f"{uid}.vcf" in view.cards

    def upload(
        self, href: str, item: radicale_item.Item
    ) -> tuple[radicale_item.Item, radicale_item.Item | None]:
        raise ValueError(READ_ONLY)

    def delete(self, href: str | None = None) -> None:
        raise ValueError(READ_ONLY)
