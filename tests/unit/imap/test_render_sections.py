"""Pure pieces: response syntax, BODY[section] extraction, SEARCH evaluation, LIST patterns."""

from __future__ import annotations

from swissbox.imap import render, sections
from swissbox.imap.account import list_matches
from swissbox.imap.fetchspec import parse_section
from swissbox.imap.parser import tokenize
from swissbox.imap.search import Candidate, matches, parse_search
from swissbox.mailstore import summarize

RAW = (
    b"From: A <a@x.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
    b"--B\r\nContent-Type: text/plain\r\n\r\none\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Type: multipart/alternative; boundary=C\r\n\r\n"
    b"--C\r\nContent-Type: text/plain\r\n\r\ninner plain\r\n--C\r\n"
    b"Content-Type: text/html\r\n\r\n<p>x</p>\r\n--C--\r\n"
    b"--B--\r\n"
)


def test_strings_and_literals() -> None:
    assert render.nstring(None) == b"NIL"
    assert render.string('a "b" \\') == b'"a \\"b\\" \\\\"'
    assert render.string("grüße") == b"{7}\r\ngr\xc3\xbc\xc3\x9fe"
    assert render.string("a\r\nb") == b"{4}\r\na\r\nb"


def test_envelope_and_bodystructure_from_index_data() -> None:
    s = summarize(RAW)
    env = render.envelope(s.envelope)
    assert env.startswith(b"(NIL ") and b'(("A" NIL "a" "x.org"))' in env
    bs = render.bodystructure(s.bodystructure)
    assert bs.startswith(b'(("TEXT" "PLAIN"') and b'"MESSAGE" "RFC822"' in bs
    assert b'"MIXED" ("BOUNDARY" "B")' in bs
    assert b'"MIXED"' in render.bodystructure(s.bodystructure, extended=False)
    assert render.internaldate(0) == b'"01-Jan-1970 00:00:00 +0000"'
    assert render.parse_internaldate(" 1-Jan-1970 01:00:00 +0100") == 0


def test_sections() -> None:
    def get(spec: str) -> bytes:
        return sections.extract(RAW, parse_section(spec))

    assert get("1") == b"one"
    assert get("1.MIME") == b"Content-Type: text/plain\r\n\r\n"
    assert get("2.HEADER").startswith(b"Subject: inner")
    assert get("2.1") == b"inner plain"
    assert get("2.2") == b"<p>x</p>"
    assert get("2.1.1") == b""
    assert get("3") == b""
    assert get("HEADER.FIELDS (subject)").startswith(b"Subject: =?utf-8?q?")
    assert b"Subject" not in get("HEADER.FIELDS.NOT (Subject)")
    assert get("TEXT").startswith(b"--B")
    single = b"Subject: s\r\n\r\nbody\r\n"
    assert sections.extract(single, parse_section("1")) == b"body\r\n"
    assert sections.partial(b"0123456789", (2, 3)) == b"234"
    assert sections.partial(b"0123", (9, None)) == b""


def candidate(**kw: object) -> Candidate:
    base: dict[str, object] = dict(
        seq=1,
        uid=10,
        flags=frozenset({"\\Seen"}),
        internaldate=0,
        size=100,
        modseq=5,
        load_headers=lambda: RAW[: RAW.index(b"\r\n\r\n") + 4],
        load_body=lambda: RAW,
    )
    base.update(kw)
    return Candidate(**base)  # type: ignore[arg-type]


def search(text: bytes, c: Candidate) -> bool:
    return matches(parse_search(tokenize([text])), c, 1, 10)


def test_search_evaluation() -> None:
    c = candidate()
    assert search(b"SEEN UID 10 LARGER 50", c)
    assert not search(b"UNSEEN", c)
    assert search(b"SUBJECT gr\xc3\xbc\xc3\x9fe", c)  # encoded words are decoded
    assert search(b'FROM "a@x.org"', c) and not search(b"TO a@x.org", c)
    assert search(b"HEADER Content-Type multipart", c)
    assert search(b"BODY inner", c) and search(b"TEXT subject", c)
    assert search(b"OR DELETED NOT SMALLER 10", c)
    assert search(b"BEFORE 2-Jan-1970 ON 1-Jan-1970 SINCE 1-Jan-1970", c)
    assert search(b"MODSEQ 5", c) and not search(b"MODSEQ 6", c)
    assert search(b"1:* (ALL)", c)


def test_list_patterns() -> None:
    assert list_matches("", "*", "Archive/2024")
    assert not list_matches("", "%", "Archive/2024")
    assert list_matches("Archive/", "%", "Archive/2024")
    assert list_matches("", "inbox", "INBOX")
    assert not list_matches("", "Arch", "Archive")


def test_sequence_sets_resolve_without_iterating_star() -> None:
    from array import array

    from swissbox.imap.mailbox import FolderMailbox

    box = FolderMailbox.__new__(FolderMailbox)
    box.uids = array("I", [3, 5, 9, 12])
    box._shared = False
    assert box.resolve([(1, None)], uid=False) == [3, 5, 9, 12]
    assert box.resolve([(2, 3)], uid=False) == [5, 9]
    assert box.resolve([(4, 4294967295)], uid=True) == [5, 9, 12]
    assert box.resolve([(100, None)], uid=True) == [12]  # n:* includes the last message
    assert box.resolve([(6, 8)], uid=True) == []
    assert box.resolve([(5, 5), (1, 3)], uid=True) == [3, 5]
    assert box.seq_of(9) == 3 and box.seq_of(4) is None
    box.remove_seq(1)
    box.add_uids([20])
    assert list(box.uids) == [5, 9, 12, 20]
