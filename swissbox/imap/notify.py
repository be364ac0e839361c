"""Tells the IMAP sessions of one mailbox about each other's changes and about new mail.

One `Hub` per service. Sessions `join(session, address, folder)` on SELECT and `leave` on
close; the hub subscribes to the mail store's arrivals once per mailbox with sessions, and
relays flag changes and expunges made by one session to the others on the same folder.
Sessions receive calls `notice_new(uids)`, `notice_flags(uids)`, `notice_expunged(uids)` and
decide themselves when to send the untagged responses (RFC 3501 7.4.1, RFC 2177).
Everything runs on the event loop thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from swissbox.mailstore import MailStore


class Listener(Protocol):
    def notice_new(self, uids: list[int]) -> None: ...

    def notice_flags(self, uids: list[int]) -> None: ...

    def notice_expunged(self, uids: list[int]) -> None: ...


def _key(address: str) -> str:
    return address.lower()


class Hub:
    def __init__(self, store: MailStore) -> None:
        self.store = store
        self._folders: dict[str, dict[str, set[Any]]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._where: dict[int, tuple[str, str]] = {}

    def join(self, session: Listener, address: str, folder: str) -> None:
        self.leave(session)
        key = _key(address)
        self._folders.setdefault(key, {}).setdefault(folder, set()).add(session)
        self._where[id(session)] = (key, folder)
        if key not in self._unsubscribe:
            self._unsubscribe[key] = self.store.subscribe(address, self._arrived)

    def leave(self, session: Listener) -> None:
        where = self._where.pop(id(session), None)
        if where is None:
            return
        key, folder = where
        folders = self._folders.get(key, {})
        folders.get(folder, set()).discard(session)
        if not folders.get(folder):
            folders.pop(folder, None)
        if not folders:
            self._folders.pop(key, None)
            unsubscribe = self._unsubscribe.pop(key, None)
            if unsubscribe is not None:
                unsubscribe()

    def sessions(self, address: str, folder: str) -> list[Any]:
        return list(self._folders.get(_key(address), {}).get(folder, ()))

    def _arrived(self, address: str, folder: str, uids: list[int]) -> None:
        for s in self.sessions(address, folder):
            s.notice_new(uids)

    def flags_changed(self, origin: Any, address: str, folder: str, uids: list[int]) -> None:
        if uids:
            for s in self.sessions(address, folder):
                if s is not origin:
                    s.notice_flags(uids)

    def expunged(self, origin: Any, address: str, folder: str, uids: list[int]) -> None:
        if uids:
            for s in self.sessions(address, folder):
                if s is not origin:
                    s.notice_expunged(uids)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
        self._folders.clear()
        self._where.clear()
