"""`swissbox migrate` for the mail indexes: every mailbox's SQLite file into its PostgreSQL
schema and back, rows and checksums equal on both sides, idempotent, and the store opened on
the copy serves the same folders, UIDs, flags, per-user \\Seen, expunge records and kept
subscriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swissbox.mailstore import INBOX, MailStore, retention, seen, subscriptions
from swissbox.mailstore import folders as folder_ops
from swissbox.mailstore.indexcopy import copy_mail_indexes
from swissbox.mailstore.paths import INDEX_NAME, mailbox_dir

INDEX_BACKENDS = ["sqlite"]  # the test sets up both ends itself
ADDRESSES = ["toto@abc.xyz", "vera@abc.xyz"]


def fill(store: MailStore) -> None:
    for n, address in enumerate(ADDRESSES):
        box = store.mailbox(address)
        for i in range(5 + n):
            box.append(INBOX, f"Subject: {address} {i}\r\n\r\nbody {i}\r\n".encode())
        box.set_flags(INBOX, [1, 2], ["\\Flagged", "$Work"], "add")
        box.set_flags(INBOX, [3], ["\\Deleted"], "add")
        retention.expunge(box, INBOX)
        info = box.folder(INBOX)
        seen.set_seen(box, info.id, "bob@abc.xyz", [1, 4], True)
        box.create_folder("Projects/2024")
        box.copy(INBOX, [1, 2], "Projects/2024")
        subscriptions.keep(box, "Gone")
        box.create_folder("Old")
        folder_ops.delete_folder(box, "Old")


def view(store: MailStore) -> list[Any]:
    out: list[Any] = []
    for address in ADDRESSES:
        box = store.mailbox(address)
        for info in box.folders():
            rows = [(m.uid, m.flags, m.modseq, m.key) for m in box.messages(info.name)]
            out.append((address, info, rows, box.index.vanished_since(info.id, 0)))
        inbox = box.folder(INBOX).id
        out.append((seen.seen_uids(box, inbox, "bob@abc.xyz"), subscriptions.kept(box)))
        out.append(len(retention.pending(box)))
    return out


def test_indexes_move_to_postgresql_and_back(tmp_path: Path, postgres: Any) -> None:
    mail = tmp_path / "mail"
    store = MailStore(mail)
    fill(store)
    expected = view(store)
    store.close()
    url = postgres.new_database()

    before, after = copy_mail_indexes(mail, ADDRESSES, None, url)
    assert before == after and sum(t.rows for t in after) > 20
    again = copy_mail_indexes(mail, ADDRESSES, None, url)
    assert again == (before, after)  # idempotent

    for address in ADDRESSES:  # the PostgreSQL store must not read the files
        (mailbox_dir(mail, address) / INDEX_NAME).unlink()
    on_pg = MailStore(mail, url)
    assert view(on_pg) == expected
    box = on_pg.mailbox(ADDRESSES[0])
    retention.keep(box, INBOX, box.messages(INBOX)[:1])  # identity ids continue past the copy
    on_pg.close()

    back, copied = copy_mail_indexes(mail, ADDRESSES, url, None)
    assert back == copied
    on_files, on_pg = MailStore(mail), MailStore(mail, url)
    assert view(on_files) == view(on_pg)
    on_files.close()
    on_pg.close()
