"""Mail index changes between front ends, over the store's event bus (`store/events.py`).

One message per change: `{"a": address, "f": folder, "k": kind, "u": "1:5,9"}` (UIDs as IMAP
ranges, so a delivery batch or a large expunge fits; a change whose UIDs do not fit in one
message is sent as several). Nothing is sent on SQLite (one node).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from swissbox.store.events import release_bus, shared_bus

CHANNEL = "swissbox_mail"


def listen(
    url: str, callback: Callable[[str], None], on_reconnect: Callable[[], None]
) -> tuple[Any, Callable[[], None]]:
    """(the process-wide bus of `url`, the function that stops listening and releases it).
    `on_reconnect()` runs each time the bus listens again: events may have been lost."""
    bus = shared_bus(url)
    unsubscribe = bus.subscribe(CHANNEL, callback)
    unhook = bus.on_reconnect(on_reconnect)

    def stop() -> None:
        unhook()
        unsubscribe()
        release_bus(url)

    return bus, stop


def ranges(uids: Iterable[int]) -> list[str]:
    """Sorted UIDs as `a:b` / `a` runs."""
    out: list[str] = []
    start = prev = -1
    for uid in sorted(set(uids)):
        if uid == prev + 1:
            prev = uid
            continue
        if start >= 0:
            out.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    if start >= 0:
        out.append(f"{start}:{prev}" if prev != start else str(start))
    return out


def payloads(
    address: str, folder: str, kind: str, uids: Iterable[int], limit: int
) -> Iterator[str]:
    """The bus messages for one change, each at most `limit` bytes."""
    head = {"a": address, "f": folder, "k": kind}
    base = len(json.dumps({**head, "u": ""}).encode("utf-8"))
    runs = ranges(uids)
    if not runs:
        yield json.dumps({**head, "u": ""})
        return
    chunk: list[str] = []
    size = base
    for run in runs:
        if chunk and size + len(run) + 1 > limit:
            yield json.dumps({**head, "u": ",".join(chunk)})
            chunk, size = [], base
        chunk.append(run)
        size += len(run) + 1
    yield json.dumps({**head, "u": ",".join(chunk)})


def list_payload(address: str, kind: str, name: str, old: str | None) -> str:
    """A folder-list change (IMAP NOTIFY's MailboxName/SubscriptionChange): `kind` is
    created, deleted, renamed (from `old`), subscribed or unsubscribed."""
    return json.dumps({"a": address, "f": name, "k": "listed", "u": "", "e": kind, "o": old})


def list_event(payload: str) -> tuple[str, str | None]:
    """(kind, old name) of a folder-list change message."""
    data = json.loads(payload)
    old = data.get("o")
    return str(data["e"]), (str(old) if old is not None else None)


def parse(payload: str) -> tuple[str, str, str, list[int]]:
    """(address, folder, kind, uids) of a bus message; ValueError when malformed."""
    try:
        data = json.loads(payload)
        uids: list[int] = []
        for run in filter(None, str(data["u"]).split(",")):
            low, _, high = run.partition(":")
            first, last = int(low), int(high or low)
            if last < first or last - first > 1_000_000:
                raise ValueError(run)
            uids.extend(range(first, last + 1))
        return str(data["a"]), str(data["f"]), str(data["k"]), uids
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None
