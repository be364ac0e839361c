"""mailstore.removal on both index backends: a retired mailbox is out of reach at once (a store
that had it open, as a server beside the CLI, opens the address anew and empty), held until its
days are over, or erased at once."""

from __future__ import annotations

from pathlib import Path

from swissbox.mailstore import MailStore, removal

ADDRESS = "dora@example.test"
MESSAGE = b"From: a@b.example\r\nSubject: private\r\n\r\nold mail\r\n"


def deliver(store: MailStore, address: str = ADDRESS) -> None:
    d = store.begin()
    d.add_recipient(address)
    d.write(MESSAGE)
    d.commit_sync()


def count(store: MailStore, address: str = ADDRESS) -> int:
    box = store.mailbox(address)
    return sum(len(box.select(f.name).messages) for f in box.folders())


def test_a_retired_mailbox_opens_anew_and_empty_in_a_store_that_had_it_open(
    tmp_path: Path,
) -> None:
    server, cli = MailStore(tmp_path), MailStore(tmp_path)
    try:
        deliver(server)
        old = server.mailbox(ADDRESS)
        assert count(server) == 1 and old.still_here()
        retired = removal.retire(cli, ADDRESS, now=1_000_000)
        assert not old.still_here()
        assert retired.held is not None and retired.held.name == "dora@example.test-1000000"
        # the server, with the retired mailbox still in its cache, finds nothing more to hold
        assert removal.retire(server, ADDRESS, now=1_000_001).held is None
        assert count(server) == 0 and count(cli) == 0  # the address starts empty
        deliver(server)
        assert count(server) == 1 and server.mailbox(ADDRESS).usage() > 0
        assert [n["address"] for _, n in removal.held(tmp_path)] == [ADDRESS]
        assert ADDRESS in server.existing_addresses()  # the held folder is not a mailbox
        assert len(server.existing_addresses()) == 1
    finally:
        server.close()
        cli.close()


def test_held_mail_is_erased_once_its_days_are_over(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    try:
        deliver(store)
        retired = removal.retire(store, ADDRESS, now=1_000_000)
        assert retired.held is not None and (retired.held / "cur").is_dir()
        url = store.index_url
        assert removal.purge(tmp_path, url, days=2, now=1_000_000 + 2 * 86400 - 1) == 0
        assert retired.held.exists()
        assert removal.purge(tmp_path, url, days=2, now=1_000_000 + 2 * 86400) == 1
        assert not retired.held.exists() and removal.held(tmp_path) == []
    finally:
        store.close()


def test_erase_at_once_leaves_nothing(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    try:
        deliver(store)
        retired = removal.retire(store, ADDRESS, erase=True)
        assert retired.held is None and retired.schema is None
        assert removal.held(tmp_path) == []
        assert count(store) == 0
        again = removal.retire(store, "nobody@example.test")  # never had mail: nothing held
        assert again.held is None and removal.held(tmp_path) == []
    finally:
        store.close()
