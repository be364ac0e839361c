"""Fixtures shared by integration test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

IMAP_MESSAGE_LIMIT = 50_000  # [smtp] max_message_size of `imap_stack` (APPEND obeys it too)


@pytest.fixture(scope="session")
def imap_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack for the IMAP extension tests (plaintext IMAP allowed on loopback, a
    message limit of IMAP_MESSAGE_LIMIT bytes): each module adds its own mailboxes with
    `add_mailboxes`, so their folders, events and counts never meet, and the server starts
    once instead of once per module (several seconds each)."""
    s = Stack(
        tmp_path_factory.mktemp("imapstack"),
        imap={"allow_plaintext_loopback": True},
        smtp={"max_message_size": IMAP_MESSAGE_LIMIT},
    )
    s.provision()
    s.start()
    yield s
    s.stop()
