"""Pure helpers of the DAV HTTP layer and the rights plugin."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from swissbox.dav.collection import directory_name, parse_directory_name
from swissbox.dav.privileges import read_only_privileges
from swissbox.dav.resource import dav_path, directory_parts, has_dtd
from swissbox.dav.rights import Rights


def test_directory_names() -> None:
    assert parse_directory_name(directory_name(12)) == 12
    for name in ("directory-", "directory-x", "directory-01", "contacts", "directory-1a"):
        assert parse_directory_name(name) is None


def test_paths_are_sanitized_like_radicale_does() -> None:
    assert dav_path([b"a@x.test", b"..", b"b@x.test", b""]) == "/b@x.test/"
    assert directory_parts("/a@x.test/directory-1/") == ["a@x.test", "directory-1"]
    assert directory_parts("/a@x.test/directory-1/c.vcf") == ["a@x.test", "directory-1", "c.vcf"]
    assert directory_parts(dav_path([b"a@x.test", b"x", b"..", b"directory-1"])) is not None
    assert directory_parts("/a@x.test/contacts/") is None


def test_dtd_detection() -> None:
    assert has_dtd(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>')
    assert has_dtd(b"<!doctype x><x/>")
    assert not has_dtd(b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"/>')


def test_rights_owner_only() -> None:
    rights = Rights.__new__(Rights)
    assert rights.authorization("", set(), "/a@x.test/") == ""
    assert rights.authorization("a@x.test", set(), "/") == "R"
    assert rights.authorization("a@x.test", set(), "/a@x.test/") == "RW"
    assert rights.authorization("a@x.test", set(), "/a@x.test/calendar/") == "rw"
    assert rights.authorization("a@x.test", set(), "/a@x.test/calendar/x.ics") == ""
    assert rights.authorization("a@x.test", set(), "/b@x.test/") == ""
    assert rights.authorization("a@x.test", set(), "/b@x.test/calendar/") == ""


def test_directory_privileges_are_read_only() -> None:
    def response(href: str) -> str:
        privileges = "".join(
            f"<D:privilege><D:{p}/></D:privilege>"
            for p in ("read", "all", "write", "write-properties", "write-content")
        )
        return (
            f"<D:response><D:href>{href}</D:href><D:propstat><D:prop>"
            f"<D:current-user-privilege-set>{privileges}</D:current-user-privilege-set>"
            "</D:prop></D:propstat></D:response>"
        )

    body = (
        '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">'
        + response("/dav/a%40x.test/directory-3/")
        + response("/dav/a%40x.test/contacts/")
        + "</D:multistatus>"
    ).encode()
    out = ET.fromstring(read_only_privileges(body))
    sets = [
        sorted(p[0].tag.split("}")[1] for p in s)
        for s in out.iter("{DAV:}current-user-privilege-set")
    ]
    assert sets == [
        ["read", "write-properties"],
        ["all", "read", "write", "write-content", "write-properties"],
    ]
    plain = b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"></D:multistatus>'
    assert read_only_privileges(plain) == plain


def test_client_address_trusts_forwarded_for_only_from_proxies() -> None:
    import ipaddress
    from types import SimpleNamespace

    from swissbox.dav.resource import client_address

    def request(peer: str, forwarded: bytes | None) -> Any:
        return SimpleNamespace(
            getClientAddress=lambda: SimpleNamespace(host=peer),
            getHeader=lambda name: forwarded if name == b"x-forwarded-for" else None,
        )

    proxies = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_address(request("10.0.0.1", b"203.0.113.9"), proxies) == "203.0.113.9"
    assert client_address(request("10.0.0.1", b"203.0.113.9, 10.0.0.2"), proxies) == "203.0.113.9"
    assert client_address(request("198.51.100.7", b"203.0.113.9"), proxies) == "198.51.100.7"
    assert client_address(request("10.0.0.1", b"junk"), proxies) == "10.0.0.1"
    assert client_address(request("10.0.0.1", None), []) == "10.0.0.1"
