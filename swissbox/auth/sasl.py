"""Pure SASL PLAIN (RFC 4616) and LOGIN decoders shared by SMTP and IMAP."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


class SaslError(ValueError):
    """Malformed SASL data; the protocol answers with its 'bad syntax' / 501 reply."""


@dataclass(frozen=True)
class SaslCredentials:
    authcid: str
    secret: str
    authzid: str = ""  # act as this identity instead of the authcid ("": as the authcid)


def decode_base64(data: bytes | str) -> bytes:
    """Strict base64 (no stray characters); '=' alone means an empty response."""
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    data = data.strip()
    if data == b"=":
        return b""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("invalid base64") from None


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError(f"{what} is not UTF-8") from None


def decode_plain(message: bytes, allow_authzid: bool = False) -> SaslCredentials:
    """Decoded PLAIN message `[authzid] NUL authcid NUL passwd` -> credentials.

    `authzid` is "" when absent or equal to the authcid (letter case aside). Another authzid
    (act as that identity, RFC 4616 2) is returned only with `allow_authzid`: the caller then
    decides whether the authcid may act as it; without, it is refused here.
    """
    parts = message.split(b"\0")
    if len(parts) != 3:
        raise SaslError("PLAIN needs exactly two NUL separators")
    authzid, authcid, secret = (
        _text(p, n) for p, n in zip(parts, ("authzid", "authcid", "password"), strict=True)
    )
    if not authcid:
        raise SaslError("empty authentication identity")
    if not secret:
        raise SaslError("empty password")
    if len(authcid) > 255 or len(secret) > 1024 or len(authzid) > 255:
        raise SaslError("credentials too long")
    if authzid.casefold() == authcid.casefold():
        authzid = ""
    if authzid and not allow_authzid:
        raise SaslError("authorization identity must equal the authentication identity")
    return SaslCredentials(authcid, secret, authzid)


def decode_plain_b64(data: bytes | str, allow_authzid: bool = False) -> SaslCredentials:
    return decode_plain(decode_base64(data), allow_authzid)


class LoginExchange:
    """SASL LOGIN: feed the two base64 answers (user name, then password) in order."""

    USERNAME_PROMPT = base64.b64encode(b"Username:")
    PASSWORD_PROMPT = base64.b64encode(b"Password:")

    def __init__(self) -> None:
        self.username: str | None = None

    def feed(self, data: bytes | str) -> SaslCredentials | None:
        """None after the user name; the credentials after the password."""
        value = _text(decode_base64(data), "response")
        if self.username is None:
            if not value or len(value) > 255:
                raise SaslError("empty or overlong user name")
            self.username = value
            return None
        if not value or len(value) > 1024:
            raise SaslError("empty or overlong password")
        return SaslCredentials(self.username, value)
