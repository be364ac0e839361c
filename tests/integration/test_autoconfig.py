"""Mail client autoconfig over HTTP: Thunderbird and Outlook documents for hosted mail domains."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from tests.support.stack import Stack


def fetch(
    stack: Stack, path: str, data: bytes | None = None, host: str | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{stack.ports['http']}{path}", data=data)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_thunderbird_and_outlook(stack: Stack) -> None:
    stack.provision(mailboxes={"toto@example.test": "mailbox-pw-1"})
    stack.start()
    try:
        status, body = fetch(stack, "/mail/config-v1.1.xml?emailaddress=toto%40example.test")
        assert status == 200
        root = ET.fromstring(body)
        incoming = root.findall("./emailProvider/incomingServer")
        assert [(s.findtext("port"), s.findtext("socketType")) for s in incoming] == [
            (str(stack.ports["imaps"]), "SSL"),
            (str(stack.ports["imap"]), "STARTTLS"),
        ]
        assert {s.findtext("hostname") for s in incoming} == {"mx.example.test"}
        outgoing = root.findall("./emailProvider/outgoingServer")
        assert [s.findtext("port") for s in outgoing] == [
            str(stack.ports["submissions"]),
            str(stack.ports["submission"]),
        ]
        status, _ = fetch(
            stack, "/.well-known/autoconfig/mail/config-v1.1.xml", host="autoconfig.example.test"
        )
        assert status == 200
        assert fetch(stack, "/mail/config-v1.1.xml?emailaddress=a%40elsewhere.test")[0] == 404

        request = (
            b'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
            b'exchange/autodiscover/outlook/requestschema/2006"><Request>'
            b"<EMailAddress>toto@example.test</EMailAddress><AcceptableResponseSchema>"
            b"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
            b"</AcceptableResponseSchema></Request></Autodiscover>"
        )
        status, body = fetch(stack, "/autodiscover/autodiscover.xml", data=request)
        assert status == 200 and b"<LoginName>toto@example.test</LoginName>" in body
        assert f"<Port>{stack.ports['imaps']}</Port>".encode() in body
        bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><EMailAddress>&a;@example.test</EMailAddress>'
        assert fetch(stack, "/autodiscover/autodiscover.xml", data=bomb)[0] == 400
    finally:
        assert stack.stop() == 0
