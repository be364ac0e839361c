"""The import-imap source side: URLs, LIST and FETCH answers as imaplib returns them."""

from __future__ import annotations

import pytest

from swissbox.imap.migrate import message_key, seqset, target_names, without
from swissbox.imap.source import (
    parse_fetch,
    parse_internaldate,
    parse_list,
    parse_namespace,
    parse_url,
)


def test_urls() -> None:
    u = parse_url("imaps://user%40example.org@mail.example.org")
    assert (u.scheme, u.user, u.host, u.port, u.loopback) == (
        "imaps", "user@example.org", "mail.example.org", 993, False,
    )  # fmt: skip
    assert parse_url("imap://bob@127.0.0.1:2143").loopback
    assert parse_url("imap://bob@[::1]:2143").loopback
    for bad in ("pop3://a@b", "imaps://host", "imaps://a:pw@host", "imaps://a@h/INBOX", "x"):
        with pytest.raises(ValueError):
            parse_url(bad)


def test_list_answers() -> None:
    data = [
        b'(\\HasNoChildren \\Sent) "." "Sent Messages"',
        b'(\\Noselect \\HasChildren) "." Work',
        b'(\\HasNoChildren) "." Work.Entw&APw-rfe',
        (b'(\\HasNoChildren) "/" {9}', b'a/b "c"d'),
        b"() NIL INBOX",
        b'(\\HasNoChildren \\Trash) "/" "[Gmail]/Bin"',
    ]
    folders = parse_list(data)
    assert [f.name for f in folders] == [
        "Sent Messages", "Work", "Work/Entwürfe", 'a/b "c"d', "INBOX", "[Gmail]/Bin",
    ]  # fmt: skip
    assert folders[2].raw == "Work.Entw&APw-rfe"
    assert not folders[1].selectable and folders[0].special_use == "\\Sent"
    names = [name for _f, name in target_names(folders)]
    assert names == ["INBOX", "Sent", "Trash", "Work/Entwürfe", 'a/b "c"d']
    kept = without(folders, ["Work", "[Gmail]/Bin/"])
    assert [f.name for f in kept] == ["Sent Messages", 'a/b "c"d', "INBOX"]


def test_fetch_answers() -> None:
    data = [
        (
            b'1 (UID 7 FLAGS (\\Seen \\Recent $Label1) INTERNALDATE " 2-Jan-1980 10:00:00 +1345"'
            b" RFC822.SIZE 37 BODY[HEADER.FIELDS (MESSAGE-ID)] {27}",
            b"Message-ID:\r\n <a@b.test>\r\n\r\n",
        ),
        b")",
        (b"2 (UID 9 BODY[] {5}", b"hi\r\n\r"),
        b' FLAGS () INTERNALDATE "31-Dec-2037 23:59:59 -1200" RFC822.SIZE 5)',
    ]
    a, b = parse_fetch(data)
    assert (a.uid, a.flags, a.size, a.message_id) == (7, {"\\Seen", "$Label1"}, 37, "<a@b.test>")
    assert a.internaldate == parse_internaldate("01-Jan-1980 20:15:00 +0000") == 315605700
    assert (b.uid, b.flags, b.body, b.message_id) == (9, frozenset(), b"hi\r\n\r", None)
    assert b.internaldate == 2145916800 + 11 * 3600 + 59 * 60 + 59  # 2038-01-01 11:59:59Z
    with pytest.raises(ValueError):
        parse_internaldate("32-Foo-2020 00:00:00 +0000")


def test_keys_and_sets() -> None:
    assert seqset([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert message_key(None, 1.9, 5) == "imap:|1|5"


def test_namespace_prefix_and_well_known_names() -> None:
    assert parse_namespace([b'(("INBOX." ".")) NIL (("#shared." "."))']) == "INBOX."
    assert parse_namespace([b'(("" "/")) NIL NIL']) == ""
    assert parse_namespace([None]) == ""
    data = [
        b'(\\HasChildren) "." INBOX',
        b'(\\HasNoChildren) "." INBOX.Sent',
        b'(\\HasNoChildren) "." "INBOX.Deleted Items"',
        b'(\\HasNoChildren) "." INBOX.Projects.2024',
        b'(\\HasNoChildren) "." INBOX.Spam',
    ]
    folders = parse_list(data, "INBOX.")
    assert [f.name for f in folders] == ["INBOX", "Sent", "Deleted Items", "Projects/2024", "Spam"]
    assert folders[2].raw == "INBOX.Deleted Items"  # what SELECT needs
    names = [name for _f, name in target_names(folders)]
    assert names == ["INBOX", "Junk", "Projects/2024", "Sent", "Trash"]
    # a use the source marks on a folder is not taken from another folder's name
    marked = parse_list([b'(\\Trash) "/" Bin', b'() "/" Trash'])
    assert [name for _f, name in target_names(marked)] == ["Trash", "Trash"]
