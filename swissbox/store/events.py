"""Events between front ends: "this changed, look again" messages over PostgreSQL LISTEN/NOTIFY.

A publisher calls `publish(channel, payload)` after its transaction committed; every other bus
subscribed to that channel (another front end, or another bus in this process) runs its
callbacks with the payload. The publishing bus never hears its own events: its process already
acted locally (`shared_bus` gives every bus of a process the same mark). A change written
through the storage seam may instead send its event inside the writing transaction
(`notify_on_commit`): PostgreSQL sends it at the commit and never on rollback, from any writer,
the CLI too. Delivery is at most once and only while connected: a front end that was cut off
may have missed events, so a subscriber keeps a cheap fallback check (`Database.generation()`)
or drops its caches when told (`on_reconnect`).

`LocalBus` is the single-node bus (SQLite): a publish reaches nobody else. `PostgresBus` has two
threads with a connection each: the listener (LISTEN, reconnects with backoff and listens again)
and the sender (NOTIFY in publish order, so a caller on the event loop never waits for the
database).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swissbox.store.base import Database, StoreError, Tx
from swissbox.store.open import is_postgres_url

log = logging.getLogger("swissbox.store")

MAX_PAYLOAD = 7000  # bytes of UTF-8; NOTIFY refuses payloads of 8000 bytes and more
CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,54}")  # lower case: LISTEN folds unquoted names
POLL_SECONDS = 1.0  # the listener looks at its stop flag and new channels at least this often
RECONNECT_FIRST, RECONNECT_MAX = 0.05, 2.0  # seconds between reconnection attempts
SUBSCRIBE_WAIT = 5.0  # seconds subscribe() waits for its LISTEN to be in place

CHANNEL_DNS = "swissbox_dns"  # a hosted zone changed (payload: its name)

# Marks the events of this process: every bus from `shared_bus` and every `notify_on_commit`
# carries it, so the process that made a change never hears about it again.
PROCESS_ORIGIN = uuid.uuid4().hex[:16]
ANY_ORIGIN = "-"  # an event every bus delivers, the publishing process's too

Callback = Callable[[str], None]


def check_event(channel: str, payload: str) -> None:
    """ValueError for a channel name or payload that NOTIFY could not carry."""
    if not CHANNEL.fullmatch(channel):
        raise ValueError(f"bad event channel name {channel!r}: lower case letters, digits, _")
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD:
        raise ValueError(f"event payload of {size} bytes is over the {MAX_PAYLOAD}-byte limit")


def notify_on_commit(
    db: Database, tx: Tx, channel: str, payload: str, *, to_this_process: bool = False
) -> None:
    """An event that PostgreSQL sends when `tx` commits (and never if it rolls back), for
    changes written through the storage seam: every writer, the CLI too, tells the front
    ends without a bus of its own. Nothing on SQLite (one node). PostgreSQL sends identical
    events of one transaction once. `to_this_process`: this process's buses hear it too (for
    a subscriber that must see every change, whichever of its neighbours wrote it)."""
    check_event(channel, payload)
    if db.dialect == "postgresql":
        origin = ANY_ORIGIN if to_this_process else PROCESS_ORIGIN
        tx.execute("SELECT pg_notify(?, ?)", (channel, f"{origin} {payload}"))


class EventBus(ABC):
    """Publish/subscribe between the front ends sharing one store."""

    @abstractmethod
    def publish(self, channel: str, payload: str) -> None:
        """Sends after the caller's commit; payload at most 7,000 bytes (NOTIFY's limit is 8,000).
        Never delivered back to this process (it already acted locally)."""

    @abstractmethod
    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        """callback(payload) runs on the bus's own thread (hop to your loop yourself);
        returns the unsubscribe function."""

    def on_reconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        """callback() on the bus's thread each time it listens again after a lost connection:
        events sent meanwhile are lost, so drop what they would have dropped. Returns the
        function that stops it. (Never called on a single node.)"""
        return lambda: None

    @abstractmethod
    def close(self) -> None: ...


class _Subscribers:
    """Callbacks per channel, thread-safe; a failing callback is logged, never fatal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, list[Callback]] = {}

    def add(self, channel: str, callback: Callback) -> Callable[[], None]:
        with self._lock:
            self._by_channel.setdefault(channel, []).append(callback)

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._by_channel.get(channel, [])
                if callback in callbacks:
                    callbacks.remove(callback)

        return unsubscribe

    def channels(self) -> set[str]:
        with self._lock:
            return set(self._by_channel)

    def deliver(self, channel: str, payload: str) -> None:
        with self._lock:
            callbacks = list(self._by_channel.get(channel, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception("event subscriber on %s failed", channel)


class LocalBus(EventBus):
    """One node (SQLite): every service of this process already acted on its own change, and
    nothing else shares the store, so a publish reaches nobody."""

    def __init__(self) -> None:
        self._subscribers = _Subscribers()

    def publish(self, channel: str, payload: str) -> None:
        check_event(channel, payload)

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        check_event(channel, "")
        return self._subscribers.add(channel, callback)

    def close(self) -> None:
        pass


class PostgresBus(EventBus):
    """LISTEN/NOTIFY on a PostgreSQL database: one listening connection on its own thread
    (reconnects and listens again), one sending connection on another."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self.url = url
        # marks our own events, which the listener drops (a bus of its own unless given)
        self.origin = origin or uuid.uuid4().hex[:16]
        self._wake_channel = f"swissbox_bus_{self.origin}"
        self._subscribers = _Subscribers()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listening: set[str] = set()  # channels LISTENed on the current connection
        self._pending: dict[str, threading.Event] = {}  # channels waiting for their LISTEN
        self._outbox: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self.reconnects = 0  # listener connections made after the first (for tests)
        self._reconnect_hooks: list[Callable[[], None]] = []
        self._listen_conn: Any = self._connect()  # a wrong URL fails here, not later
        self._listen_conn.execute(f"LISTEN {self._wake_channel}")
        self._send_conn: Any = None
        self._listener = threading.Thread(target=self._listen_loop, name="bus-listen", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="bus-send", daemon=True)
        self._listener.start()
        self._sender.start()

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from None

    # -- the caller's side

    def publish(self, channel: str, payload: str) -> None:
        check_event(channel, payload)
        self._outbox.put((channel, f"{self.origin} {payload}"))

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        check_event(channel, "")
        unsubscribe = self._subscribers.add(channel, callback)
        with self._lock:
            if channel in self._listening:
                return unsubscribe
            ready = self._pending.setdefault(channel, threading.Event())
        self._outbox.put((self._wake_channel, ""))  # the listener LISTENs between two waits
        if threading.current_thread() is self._listener:
            return unsubscribe  # from a callback: the listener cannot wait for itself
        if not ready.wait(SUBSCRIBE_WAIT):
            log.warning("event channel %s: not listening yet (database unreachable?)", channel)
        return unsubscribe

    def on_reconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._reconnect_hooks.append(callback)

        def stop() -> None:
            with self._lock:
                if callback in self._reconnect_hooks:
                    self._reconnect_hooks.remove(callback)

        return stop

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._outbox.put((self._wake_channel, ""))  # ends the listener's wait at once
        self._outbox.put(None)
        self._sender.join(timeout=10)
        self._listener.join(timeout=POLL_SECONDS + 5)
        for conn in (self._listen_conn, self._send_conn):
            if conn is not None:
                conn.close()

    # -- the listener thread

    def _listen_loop(self) -> None:
        import psycopg

        delay = RECONNECT_FIRST
        while not self._stop.is_set():
            try:
                if self._listen_conn is None:
                    self._listen_conn = self._connect()
                    self._listen_conn.execute(f"LISTEN {self._wake_channel}")
                    self._listen_new_channels()
                    self.reconnects += 1
                    log.info("event bus listening again")
                    self._reconnected()
                self._listen_new_channels()
                delay = RECONNECT_FIRST
                for note in self._listen_conn.notifies(timeout=POLL_SECONDS):
                    if note.channel == self._wake_channel:
                        break  # a new channel to LISTEN, or close()
                    self._dispatch(note.channel, note.payload)
            except (psycopg.Error, StoreError) as exc:
                if self._stop.is_set():
                    break
                log.warning("event bus connection lost (%s); reconnecting", exc)
                self._drop_listen_conn()
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    def _listen_new_channels(self) -> None:
        with self._lock:
            wanted = (self._subscribers.channels() | set(self._pending)) - self._listening
        for channel in sorted(wanted):
            self._listen_conn.execute(f"LISTEN {channel}")  # checked by CHANNEL: a plain name
        with self._lock:
            self._listening |= wanted
            for channel in wanted:
                event = self._pending.pop(channel, None)
                if event is not None:
                    event.set()

    def _drop_listen_conn(self) -> None:
        with self._lock:
            self._listening.clear()
        _close_quietly(self._listen_conn)
        self._listen_conn = None

    def _reconnected(self) -> None:
        with self._lock:
            hooks = list(self._reconnect_hooks)
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("event bus reconnection hook failed")

    def _dispatch(self, channel: str, message: str) -> None:
        origin, _, payload = message.partition(" ")
        if origin == self.origin:
            return
        self._subscribers.deliver(channel, payload)

    # -- the sender thread

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            self._send(*item)

    def _send(self, channel: str, message: str) -> None:
        import psycopg

        for attempt in (1, 2):  # a connection killed since the last send: once more, fresh
            try:
                if self._send_conn is None:
                    self._send_conn = self._connect()
                self._send_conn.execute("SELECT pg_notify(%s, %s)", (channel, message))
                return
            except (psycopg.Error, StoreError) as exc:
                _close_quietly(self._send_conn)
                self._send_conn = None
                if attempt == 2 or self._stop.is_set():
                    log.warning("event on %s not sent: %s", channel, exc)
                    return


def _close_quietly(conn: Any) -> None:
    """A broken connection may fail to close; it is gone either way."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def open_bus(location: str | Path, origin: str | None = None) -> EventBus:
    """LocalBus (in-process: publish reaches nobody else; SQLite means one node) or
    PostgresBus (one LISTEN connection on its own thread, reconnects; NOTIFY on its own
    sending connection)."""
    if is_postgres_url(location):
        return PostgresBus(str(location), origin)
    return LocalBus()


_shared: dict[str, tuple[EventBus, int]] = {}
_shared_lock = threading.Lock()


def shared_bus(location: str | Path) -> EventBus:
    """The process-wide bus for a store location; pair every call with `release_bus`."""
    key = str(location)
    with _shared_lock:
        entry = _shared.get(key)
        bus, refs = entry if entry else (open_bus(location, PROCESS_ORIGIN), 0)
        _shared[key] = (bus, refs + 1)
        return bus


def release_bus(location: str | Path) -> None:
    key = str(location)
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            return
        bus, refs = entry
        if refs <= 1:
            del _shared[key]
            bus.close()
        else:
            _shared[key] = (bus, refs - 1)
