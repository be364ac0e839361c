"""The outbound queue: one durable file per message, envelope first."""

from __future__ import annotations

import os
from pathlib import Path

from swissbox.mailstore.queue import OutboundQueue


def test_enqueue_and_list(tmp_path: Path) -> None:
    q = OutboundQueue(tmp_path / "queue")
    a = q.enqueue("toto@abc.xyz", ["bob@remote.example"], b"Subject: a\r\n\r\nx\r\n")
    b = q.enqueue("toto@abc.xyz", ["c@d.example", "e@f.example"], b"\x00binary\xff")
    assert a != b
    items = {m.id: m for m in q.list()}
    assert items[a].recipients == ["bob@remote.example"] and items[a].data.endswith(b"x\r\n")
    assert items[b].data == b"\x00binary\xff" and len(items[b].recipients) == 2
    assert os.listdir(tmp_path / "queue" / "tmp") == []
    assert (tmp_path / "queue" / f"{a}.msg").stat().st_mode & 0o777 == 0o600
