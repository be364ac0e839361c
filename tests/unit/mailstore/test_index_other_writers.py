"""A mailbox index written by another process on the same machine (the CLI beside the
server: import, restore) on SQLite: the server's cached folder list and counters follow.
(PostgreSQL front ends learn of each other's changes on the event bus.)"""

from __future__ import annotations

from pathlib import Path

from swissbox.mailstore import INBOX, MailStore

INDEX_BACKENDS = ["sqlite"]
ADDR = "toto@abc.xyz"


def test_a_folder_made_by_another_process_is_seen_without_reopening(tmp_path: Path) -> None:
    """`swissbox mailbox restore` or `import` beside the running server (SQLite): the server's
    folder list and counters were cached until its own next write."""
    server, cli = MailStore(tmp_path / "mail"), MailStore(tmp_path / "mail")
    try:
        seen = server.mailbox(ADDR)
        assert "Restored" not in seen.index.folders()
        cli.mailbox(ADDR).create_folder("Restored")
        cli.mailbox(ADDR).append(INBOX, b"Subject: from the cli\r\n\r\nbody\r\n")
        assert "Restored" in seen.index.folders()
        assert seen.folder(INBOX).uidnext == 2
    finally:
        server.close()
        cli.close()
