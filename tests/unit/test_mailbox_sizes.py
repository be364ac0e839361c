"""`swissbox mailbox quota ADDRESS SIZE|none`: sizes as people write them, and as shown."""

from __future__ import annotations

import pytest

from swissbox.directory import DirectoryError
from swissbox.directory.mailboxrules import parse_size, quota_words


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("500M", 500 * 1024**2),
        ("500mb", 500 * 1024**2),
        ("2G", 2 * 1024**3),
        ("1GiB", 1024**3),
        ("10k", 10240),
        ("none", None),
        ("OFF", None),
    ],
)
def test_sizes(text: str, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "0", "0M", "-1", "1.5G", "1e3", "5X", "lots", "１２", "9" * 20]
)
def test_refused_sizes_say_the_rule(text: str) -> None:
    with pytest.raises(DirectoryError, match="size"):
        parse_size(text)


def test_quota_words() -> None:
    assert quota_words(None) == "no limit"
    assert quota_words(2 * 1024**3) == "2G (2147483648 bytes)"
    assert quota_words(1000) == "1000 bytes"
