"""A shared index (PostgreSQL): a front end whose event bus was cut off may have missed other
front ends' changes, so when it listens again its cached folder counters go."""

from __future__ import annotations

from pathlib import Path

import psycopg

from swissbox.mailstore import INBOX, MailStore
from tests.support.polling import eventually

INDEX_BACKENDS = ["postgresql"]
ADDR = "toto@abc.xyz"
MESSAGE = b"From: a@example.org\r\nTo: toto@abc.xyz\r\nSubject: hi\r\n\r\nbody\r\n"


def test_counters_cached_before_a_bus_reconnection_are_read_again(
    tmp_path: Path, index_backend: str
) -> None:
    a, b = MailStore(tmp_path / "mail"), MailStore(tmp_path / "mail")
    try:
        before = a.mailbox(ADDR).folder(INBOX).uidnext  # cached by a
        # b shares a's process, so a never hears b's event: an event lost while cut off
        delivery = b.begin()
        delivery.add_recipient(ADDR)
        delivery.write(MESSAGE)
        delivery.commit_sync()
        assert a.mailbox(ADDR).folder(INBOX).uidnext == before  # the setup: a's copy is stale
        with psycopg.connect(index_backend, autocommit=True) as conn:
            pid = a.bus._listen_conn.info.backend_pid
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        eventually(lambda: a.bus.reconnects >= 1, 10, "the bus never reconnected")
        eventually(
            lambda: a.mailbox(ADDR).folder(INBOX).uidnext == before + 1,
            5,
            "the counters cached before the cut were served after it",
        )
    finally:
        a.close()
        b.close()
