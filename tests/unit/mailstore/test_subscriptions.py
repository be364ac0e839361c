"""Subscriptions that outlive their folder: nothing is written until one is kept, a kept name
is listed once, and forgetting it reports whether it was there; the table survives a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from swissbox.mailstore import MailStore, subscriptions
from swissbox.mailstore.paths import INDEX_NAME

ADDR = "info@abc.xyz"


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_kept_forgotten_and_reopened(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    box = store.mailbox(ADDR)
    assert subscriptions.kept(box) == []
    assert subscriptions.forget(box, "Old") is False
    assert "kept_subscriptions" not in tables(box.path / INDEX_NAME)  # reading wrote nothing
    subscriptions.keep(box, "Old/b")
    subscriptions.keep(box, "Old/a")
    subscriptions.keep(box, "Old/a")
    assert subscriptions.kept(box) == ["Old/a", "Old/b"]
    assert subscriptions.forget(box, "Old/a") is True
    assert subscriptions.forget(box, "Old/a") is False
    store.close()
    store = MailStore(tmp_path / "mail")
    assert subscriptions.kept(store.mailbox(ADDR)) == ["Old/b"]
    store.close()
