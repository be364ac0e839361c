"""Our header fields replace forged ones; which transfers teach what."""

from __future__ import annotations

from swissbox.filter.headers import add_fields, strip_ours
from swissbox.filter.learning import lesson


def test_forged_spam_fields_are_removed_with_their_continuations() -> None:
    message = (
        b"X-Spam-Status: No,\r\n score=-100\r\nSubject: hi\r\nX-Spam: No\r\n"
        b"X-Filter-Unchecked: nothing\r\nX-Spammy-Name: kept\r\n\r\nX-Spam: body stays\r\n"
    )
    assert strip_ours(message) == (
        b"Subject: hi\r\nX-Spammy-Name: kept\r\n\r\nX-Spam: body stays\r\n"
    )
    out = add_fields(message, ["X-Spam-Status: Yes, score=9", "X-Spam: Yes"])
    assert out.startswith(b"X-Spam-Status: Yes, score=9\r\nX-Spam: Yes\r\nSubject: hi\r\n")
    # nothing to add (clamd alone, a clean verdict): forged marks still go
    assert add_fields(message, []) == strip_ours(message)
    clean = b"Subject: hi\r\n\r\nbody\r\n"
    assert strip_ours(clean) is clean and add_fields(clean, []) is clean


def test_field_values_stay_on_one_line() -> None:
    assert add_fields(b"\r\nbody", ["X-Spam-Symbols: A\r\nBcc: x@y"]) == (
        b"X-Spam-Symbols: A  Bcc: x@y\r\n\r\nbody"
    )


def test_lessons() -> None:
    assert lesson("INBOX", "Junk") == "spam"
    assert lesson("Archive/2024", "Junk") == "spam"
    assert lesson("Junk", "INBOX") == "ham"
    assert lesson("Junk", "Trash") is None  # throwing spam away says nothing
    assert lesson("Junk", "Junk") is None
    assert lesson("INBOX", "Archive") is None
