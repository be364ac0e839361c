"""drop_fields: whole fields (continuation lines included) go, the rest stays byte for byte."""

from __future__ import annotations

from swissbox.mailauth.fields import drop_fields


def test_whole_fields_go_and_the_rest_stays() -> None:
    message = (
        b" stray continuation\r\nX-Gone: a\r\n\tb\r\nKept : c\r\n d\r\nX-GONE:\r\n\r\n"
        b"X-Gone: body stays\r\n"
    )
    seen: list[tuple[bytes, bytes]] = []

    def gone(name: bytes, field: bytes) -> bool:
        seen.append((name, field))
        return name == b"x-gone"

    assert drop_fields(message, gone) == (
        b" stray continuation\r\nKept : c\r\n d\r\n\r\nX-Gone: body stays\r\n"
    )
    assert seen == [
        (b"x-gone", b"X-Gone: a\r\n\tb\r\n"),
        (b"kept", b"Kept : c\r\n d\r\n"),
        (b"x-gone", b"X-GONE:\r\n"),
    ]


def test_a_header_without_a_body_and_nothing_to_drop() -> None:
    assert drop_fields(b"A: 1\r\nB: 2", lambda name, _f: name == b"b") == b"A: 1\r\n"
    message = b"A: 1\r\n\r\nbody"
    assert drop_fields(message, lambda _n, _f: False) is message
