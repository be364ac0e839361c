"""clamd's INSTREAM replies."""

from __future__ import annotations

import pytest

from swissbox.filter.base import ScanError
from swissbox.filter.clamd import parse_reply


def test_clean_and_found() -> None:
    assert parse_reply(b"stream: OK\0") is None
    assert parse_reply(b"stream: Eicar-Test-Signature FOUND\0") == "Eicar-Test-Signature"
    assert parse_reply(b"stream: Swissbox.Test.Sample.UNOFFICIAL FOUND\0") == (
        "Swissbox.Test.Sample.UNOFFICIAL"
    )


@pytest.mark.parametrize(
    "reply",
    [
        b"INSTREAM size limit exceeded. ERROR\0",
        b"stream:  FOUND\0",
        b"garbage",
        b"stream: \x01 FOUND",
    ],
)
def test_errors_and_garbage(reply: bytes) -> None:
    with pytest.raises(ScanError):
        parse_reply(reply)
