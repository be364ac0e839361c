"""Storage plugin: the members' own collections in Radicale's file storage (under
`<data>/dav/`, `Storage`) or in PostgreSQL (`PostgresStorage`, see `pgstorage.py`), plus one
read-only directory address book per organization in which the principal is an internal
member (see `collection.py`), composed on top of either by `WithDirectory`.

The directory collections are listed after the principal at depth 1 only when the members'
storage actually yielded the principal (Radicale creates principals on first login by
checking for exactly that); their names are reserved: creating or moving onto them fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager as ContextManager
from typing import Any, ClassVar

from radicale import item as radicale_item
from radicale import pathutils, types
from radicale.storage import BaseCollection, BaseStorage, multifilesystem

from swissbox.dav.book import DirectoryBook
from swissbox.dav.collection import READ_ONLY, DirectoryCollection, parse_directory_name
from swissbox.dav.pgstorage import PgStorage
from swissbox.directory.visibility import view_for_role


class WithDirectory(BaseStorage):
    """The directory collections over the members' own storage (the next class in the MRO).
    Bind a `DirectoryBook` with `bound(book)` before handing the class to Radicale."""

    book: ClassVar[DirectoryBook]

    @classmethod
    def bound(cls, book: DirectoryBook) -> type[WithDirectory]:
        return type("SwissboxStorage", (cls,), {"book": book})

    def directory_collection(self, owner: str, org_id: int) -> DirectoryCollection | None:
        """The directory of `org_id` as `owner` sees it, or None (not an internal member)."""
        state = self.book.org(org_id)
        if state is None:
            return None
        view = view_for_role(state.roles.get(owner, "external"))
        return None if view is None else DirectoryCollection(self.book, owner, org_id, view)

    def directory_collections(self, owner: str) -> list[DirectoryCollection]:
        out = []
        for org_id, _name, role in self.book.directory.member_orgs(owner):
            if view_for_role(role) is not None:
                coll = self.directory_collection(owner, org_id)
                if coll is not None:
                    out.append(coll)
        return out

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Callable[[str, str | None], ContextManager[None]] | None = None,
        user_groups: set[str] = set(),  # noqa: B006 (Radicale's signature)
    ) -> Iterator[types.CollectionOrItem]:
        sane = pathutils.strip_path(path)
        parts = sane.split("/") if sane else []
        if len(parts) in (2, 3) and parse_directory_name(parts[1]) is not None:
            org_id = parse_directory_name(parts[1])
            assert org_id is not None
            coll = self.directory_collection(parts[0], org_id)
            if coll is None:
                return
            if len(parts) == 2:
                yield coll
                if depth != "0":
                    yield from coll.get_all()
            else:
                for _href, item in coll.get_multi([parts[2]]):
                    if item is not None:
                        yield item
            return
        principal_seen = False
        for found in super().discover(path, depth, child_context_manager, user_groups):
            if len(parts) == 1 and isinstance(found, BaseCollection) and found.path == sane:
                principal_seen = True
            yield found
        if principal_seen and depth != "0":
            yield from self.directory_collections(parts[0])

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> Any:
        parts = pathutils.strip_path(href).split("/")
        if len(parts) >= 2 and parse_directory_name(parts[1]) is not None:
            raise ValueError(READ_ONLY)
        return super().create_collection(href, items, props)

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        if isinstance(to_collection, DirectoryCollection) or isinstance(
            item.collection, DirectoryCollection
        ):
            raise ValueError(READ_ONLY)
        super().move(item, to_collection, to_href)


class Storage(WithDirectory, multifilesystem.Storage):
    """Members' collections in files (the default)."""


class PostgresStorage(WithDirectory, PgStorage):
    """Members' collections in PostgreSQL (`[store] url`); `postgres_storage(book, pool)`
    binds both."""


def postgres_storage(book: DirectoryBook, pool: Any) -> type[PostgresStorage]:
    """`PostgresStorage` bound to the directory book and the connection pool."""
    return type("SwissboxStorage", (PostgresStorage,), {"book": book, "pool": pool})
