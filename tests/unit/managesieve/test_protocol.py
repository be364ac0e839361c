"""ManageSieve wire format (RFC 5804 section 4): bytes in -> commands out, responses out."""

from __future__ import annotations

from swissbox.managesieve.protocol import Command, CommandParser, ProtocolError, quoted, response


def feed(*chunks: bytes, **kw: int) -> list[Command | ProtocolError]:
    parser = CommandParser(**kw)
    out: list[Command | ProtocolError] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out


def test_atoms_strings_numbers() -> None:
    assert feed(b'havespace "my \\"script\\"" 1234\r\n') == [
        Command("HAVESPACE", ['my "script"', 1234])
    ]
    assert feed(b"LISTSCRIPTS\r\nlogout\r\n") == [Command("LISTSCRIPTS", []), Command("LOGOUT", [])]


def test_literals_both_kinds_and_split_anywhere() -> None:
    data = b'PUTSCRIPT "s" {12+}\r\nkeep;\r\nstop;\r\nRENAMESCRIPT {1}\r\na {1+}\r\nb\r\n'
    expected = [Command("PUTSCRIPT", ["s", "keep;\r\nstop;"]), Command("RENAMESCRIPT", ["a", "b"])]
    assert feed(data) == expected
    assert feed(*[data[i : i + 1] for i in range(len(data))]) == expected


def test_empty_literal() -> None:
    assert feed(b"CHECKSCRIPT {0+}\r\n\r\n") == [Command("CHECKSCRIPT", [""])]


def test_bad_input_is_an_error_and_parsing_resumes() -> None:
    out = feed(b'"no command"\r\nPUTSCRIPT foo bar\r\nNOOP\r\n')
    assert isinstance(out[0], ProtocolError) and isinstance(out[1], ProtocolError)
    assert out[2] == Command("NOOP", [])


def test_oversized_literal_and_line_are_refused() -> None:
    out = feed(b'PUTSCRIPT "s" {99999+}\r\n', b"x" * 10 + b"\r\nNOOP\r\n", max_literal=100)
    assert isinstance(out[0], ProtocolError) and "too large" in out[0].message
    out = feed(b"x" * 200, b"\r\nNOOP\r\n", max_line=100)
    assert isinstance(out[0], ProtocolError) and out[-1] == Command("NOOP", [])


def test_responses() -> None:
    assert response("OK") == b"OK\r\n"
    assert response("NO", "gone", "NONEXISTENT") == b'NO (NONEXISTENT) "gone"\r\n'
    assert quoted('a"b') == b'{3}\r\na"b'
    assert quoted("plain") == b'"plain"'
