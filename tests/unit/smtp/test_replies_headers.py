"""Reply codes and trace headers."""

from __future__ import annotations

import re

from swissbox.smtp import replies
from swissbox.smtp.headers import add_missing_origin, header_names, protocol_name, received_header

ENHANCED = re.compile(r"^[245]\d\d [245]\.\d+\.\d+ ")


def test_every_constant_has_an_enhanced_code() -> None:
    for name, value in vars(replies).items():
        if name.isupper() and isinstance(value, str) and value[:1].isdigit():
            assert ENHANCED.match(value), (name, value)


def test_enhance_builtin_and_generic() -> None:
    assert replies.enhance("250 OK") == replies.OK
    assert replies.enhance("552 Error: Too much mail data") == replies.MESSAGE_TOO_BIG
    assert replies.enhance('500 Error: command "X" not recognized').startswith("500 5.5.2 ")
    assert replies.enhance("502 5.5.1 x") == "502 5.5.1 x"
    assert replies.enhance("354 End data with <CR><LF>.<CR><LF>").startswith("354 End")
    assert replies.enhance("334 VXNlcm5hbWU6") == "334 VXNlcm5hbWU6"
    assert replies.enhance("250-SIZE 10") == "250-SIZE 10"


def test_is_error() -> None:
    assert replies.is_error("550 5.1.1 x") and replies.is_error("452 4.5.3 x")
    assert not replies.is_error("250 2.0.0 OK") and not replies.is_error("421 4.7.0 bye")


def test_received_header() -> None:
    h = received_header(
        helo="client.example",
        client_ip="192.0.2.1",
        hostname="mx.abc.xyz",
        protocol="ESMTPS",
        tls=("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
        qid="ABC",
        recipient="toto@abc.xyz",
        now=0,
    )
    text = h.decode()
    assert text.startswith("Received: from client.example ([192.0.2.1])\r\n\tby mx.abc.xyz")
    assert "with ESMTPS (TLSv1.3:TLS_AES_256_GCM_SHA384)" in text
    assert "for <toto@abc.xyz>; Thu, 01 Jan 1970 00:00:00 +0000\r\n" in text
    assert text.endswith("\r\n") and "\n\n" not in text
    v6 = received_header(
        helo="x(y)\r\nInjected: 1",
        client_ip="::1",
        hostname="h",
        protocol="SMTP",
        tls=None,
        qid="Q",
        recipient=None,
    ).decode()
    assert "[IPv6:::1]" in v6 and "Injected: 1\r\n" not in v6 and "(y)" not in v6


def test_protocol_names() -> None:
    assert protocol_name(False, False, False) == "SMTP"
    assert protocol_name(True, True, True) == "ESMTPSA"
    assert protocol_name(True, False, False) == "ESMTP"


def test_message_id_and_date_added_only_when_missing() -> None:
    bare = b"Subject: x\r\n\r\nbody\r\n"
    out = add_missing_origin(bare, "mx.abc.xyz")
    assert header_names(out) == {b"subject", b"message-id", b"date"}
    assert out.endswith(bare)
    full = b"Date: Mon, 2 Jan 2023 10:00:00 +0000\r\nmessage-id: <a@b>\r\n\r\nMessage-ID: body\r\n"
    assert add_missing_origin(full, "mx.abc.xyz") == full
