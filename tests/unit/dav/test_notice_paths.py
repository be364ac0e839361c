"""The role-change notice follows `[store] blob_path`: into the mail store and the outbound
queue under Config.mail_dir / queue_dir (where every front end and the running server look),
not the data folder's own mail/ and queue/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swissbox.conf.loader import load
from swissbox.dav.notify import send_notice
from swissbox.mailstore import INBOX, MailStore

RAW = b"From: postmaster@example.test\r\nSubject: your role\r\n\r\nbody\r\n"


class NoQuota:
    def mailbox(self, address: str) -> Any:
        return None


def test_notices_land_under_the_blob_path(tmp_path: Path) -> None:
    data, blobs = tmp_path / "data", tmp_path / "blobs"
    data.mkdir()
    (data / "swissbox.toml").write_text(f'[store]\nblob_path = "{blobs}"\n')
    config = load(str(data))
    assert config.mail_dir == blobs / "mail"

    where = send_notice(config, NoQuota(), "toto@example.test", True, RAW)  # type: ignore[arg-type]
    assert where == "delivered to the mailbox toto@example.test"
    store = MailStore(blobs / "mail")
    try:
        assert len(store.mailbox("toto@example.test").messages(INBOX)) == 1
    finally:
        store.close()

    where = send_notice(config, NoQuota(), "far@away.example", False, RAW)  # type: ignore[arg-type]
    assert where.startswith("queued for far@away.example")
    assert any((blobs / "queue").rglob("*"))
    assert not (data / "mail").exists() and not (data / "queue").exists()
