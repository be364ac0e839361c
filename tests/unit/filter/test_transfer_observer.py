"""The mail store tells its transfer observers about every COPY and MOVE between folders
(what Junk learning hangs on); a failing observer never fails the transfer."""

from __future__ import annotations

from pathlib import Path

from swissbox.mailstore import MailStore

ADDRESS = "bob@example.test"


def test_copy_and_move_are_observed(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    try:
        box = store.mailbox(ADDRESS)
        uids = [box.append("INBOX", f"Subject: {i}\r\n\r\nbody\r\n".encode()).uid for i in range(3)]
        seen: list[tuple[str, str, str, list[int]]] = []

        def broken(*args: object) -> None:
            raise RuntimeError("observer bug")

        stop_broken = store.observe_transfers(broken)
        stop = store.observe_transfers(lambda *args: seen.append(args))  # type: ignore[arg-type]
        moved = box.move("INBOX", uids[:2], "Junk")
        copied = box.copy("Junk", list(moved.values())[:1], "Archive")
        assert seen == [
            (ADDRESS, "INBOX", "Junk", sorted(moved.values())),
            (ADDRESS, "Junk", "Archive", sorted(copied.values())),
        ]
        assert [m.uid for m in box.messages("INBOX")] == uids[2:]  # the move happened
        stop()
        stop_broken()
        box.move("INBOX", uids[2:], "Junk")
        assert len(seen) == 2
    finally:
        store.close()
