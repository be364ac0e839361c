"""Pure helpers of the DAV HTTP layer and the rights plugin."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

from swissbox.dav.collection import directory_name, parse_directory_name
from swissbox.dav.privileges import read_only_privileges
from swissbox.dav.resource import dav_path, directory_parts, has_dtd
from swissbox.dav.rights import Rights
from swissbox.dav.xmlguard import XmlDepthGuard, xml_deeper_than


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


def test_xml_depth_is_measured_without_parsing() -> None:
    def nested(depth: int, leaf: bytes = b"") -> bytes:
        return b"<a>" * depth + leaf + b"</a>" * depth

    assert not xml_deeper_than(nested(100), 100)
    assert xml_deeper_than(nested(101), 100)
    assert xml_deeper_than(nested(100, b"<b x='1'>t</b>"), 100)
    # self-closing tags, the declaration and comments do not nest; siblings do not add up
    flat = b'<?xml version="1.0"?><!-- c --><r>' + b"<e/><e a='1' />" * 500 + b"</r>"
    assert not xml_deeper_than(flat, 3)
    assert not xml_deeper_than(nested(3, b"<![CDATA[x]]><!-- y -->"), 3)
    # an unclosed bomb is caught while scanning, before the end of the body
    assert xml_deeper_than(b"<D:propfind xmlns:D='DAV:'>" + b"<D:x>" * 200_000, 100)
    propfind = (
        b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/>'
        b"<C:calendar-home-set/></D:prop></D:propfind>"
    )
    assert not xml_deeper_than(propfind, 2) and xml_deeper_than(propfind, 1)


def test_depth_guard_answers_before_the_application_reads() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("207 Multi-Status", [])
        return [b"ok"]

    def call(method: str, body: bytes) -> tuple[str, bytes]:
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": method,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        out = b"".join(XmlDepthGuard(app, limit=5)(environ, lambda s, h: status.append(s)))
        return status[0], out

    deep = b"<a>" * 6 + b"</a>" * 6
    assert call("PROPFIND", deep) == (
        "400 Bad Request",
        b"XML nested deeper than 5 levels is not accepted\n",
    )
    assert seen == []
    assert call("REPORT", b"<a><b/></a>") == ("207 Multi-Status", b"ok") and seen == [
        b"<a><b/></a>"
    ]
    assert call("PUT", deep)[0] == "207 Multi-Status"  # not an XML method: a vCard may hold "<"


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
