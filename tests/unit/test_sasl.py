"""SASL PLAIN (RFC 4616) and LOGIN decoders on valid and malformed input."""

from __future__ import annotations

import base64

import pytest

from swissbox.auth import LoginExchange, SaslError, decode_base64, decode_plain, decode_plain_b64


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def test_plain_without_authzid() -> None:
    creds = decode_plain_b64(b64(b"\0toto@abc.xyz\0s3cret pw"))
    assert (creds.authzid, creds.authcid, creds.secret) == ("", "toto@abc.xyz", "s3cret pw")


def test_plain_with_matching_authzid_and_utf8() -> None:
    creds = decode_plain("jé@x.test\0jé@x.test\0päss".encode())
    assert creds.authcid == "jé@x.test" and creds.secret == "päss"


def test_plain_with_another_authzid_only_when_the_caller_allows_it() -> None:
    """RFC 4616: `info@ NUL bob@ NUL pw` = authenticate as bob@, act as info@."""
    raw = b"info@x.test\0bob@x.test\0pw"
    with pytest.raises(SaslError, match="authorization identity"):
        decode_plain(raw)
    creds = decode_plain_b64(b64(raw), allow_authzid=True)
    assert (creds.authzid, creds.authcid, creds.secret) == ("info@x.test", "bob@x.test", "pw")
    same = decode_plain(b"BOB@x.test\0bob@x.test\0pw", allow_authzid=True)
    assert same.authzid == ""  # the same identity: no proxying
    with pytest.raises(SaslError, match="too long"):
        decode_plain(b"i" * 256 + b"\0bob@x.test\0pw", allow_authzid=True)


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"toto\0pw", "two NUL"),
        (b"\0\0pw", "empty authentication identity"),
        (b"\0toto\0", "empty password"),
        (b"a\0b\0c\0d", "two NUL"),
        (b"admin\0toto\0pw", "authorization identity"),
        (b"\0to\xfft\0pw", "not UTF-8"),
    ],
)
def test_plain_malformed(raw: bytes, why: str) -> None:
    with pytest.raises(SaslError, match=why):
        decode_plain(raw)


@pytest.mark.parametrize("data", [b"!!!", b"abc", b"AAA=A", "é"])
def test_bad_base64(data: bytes | str) -> None:
    with pytest.raises(SaslError, match="base64"):
        decode_base64(data)


def test_equals_means_empty() -> None:
    assert decode_base64(b"=") == b""


def test_login_exchange() -> None:
    ex = LoginExchange()
    assert base64.b64decode(LoginExchange.USERNAME_PROMPT) == b"Username:"
    assert ex.feed(b64(b"toto@abc.xyz")) is None
    creds = ex.feed(b64(b"pw"))
    assert creds is not None and (creds.authcid, creds.secret) == ("toto@abc.xyz", "pw")


def test_login_exchange_rejects_empty_and_garbage() -> None:
    with pytest.raises(SaslError):
        LoginExchange().feed(b"=")
    with pytest.raises(SaslError):
        LoginExchange().feed(b"***")
