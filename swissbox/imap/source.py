"""The other server in `swissbox mailbox import-imap`: its URL, the connection (imaplib), and
the parsing of its LIST and FETCH answers (pure functions over the bytes imaplib returns).

URLs: `imaps://user@host[:993]` (implicit TLS), `imap://user@host[:143]` (STARTTLS; plain
IMAP only to a loopback address that offers no STARTTLS). The user part may be
percent-encoded (`user%40example.org@host`); a password in the URL is refused.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import re
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from swissbox.mailstore.importer import decode_mutf7
from swissbox.mailstore.meta import summarize

DEFAULT_PORTS = {"imaps": 993, "imap": 143}
TIMEOUT = 60.0  # seconds without an answer before the source counts as gone
SPECIAL_USE_FLAGS = ("\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive")


class SourceError(Exception):
    """The source server refused or broke off; the message says what and where."""


@dataclass(frozen=True)
class SourceUrl:
    scheme: str
    user: str
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}"


def parse_url(text: str) -> SourceUrl:
    """ValueError with a sentence when `text` is not an imap(s)://user@host[:port] URL."""
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"{text!r}: give imaps://user@host[:port] or imap://user@host[:port]")
    if parts.password is not None:
        raise ValueError("a password in the URL would be seen by every process on the machine")
    if not parts.username or not parts.hostname:
        raise ValueError(f"{text!r}: the URL needs a user and a host (imaps://user@host)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{text!r}: no path or query after the host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"{text!r}: bad port") from None
    return SourceUrl(parts.scheme, unquote(parts.username), parts.hostname, port)


def connect(url: SourceUrl, password: str, cafile: str | None = None) -> imaplib.IMAP4:
    """A logged-in connection; SourceError when TLS or the login fails."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        if url.scheme == "imaps":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                url.host, url.port, ssl_context=context, timeout=TIMEOUT
            )
        else:
            conn = imaplib.IMAP4(url.host, url.port, timeout=TIMEOUT)
            if "STARTTLS" in conn.capabilities:
                conn.starttls(context)
            elif not url.loopback:
                conn.shutdown()
                raise SourceError(f"{url}: no STARTTLS offered; use imaps:// instead")
        if "AUTH=PLAIN" in conn.capabilities:  # UTF-8 user names and passwords pass
            plain = f"\0{url.user}\0{password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: plain)
        else:
            conn.login(url.user, password)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise SourceError(f"{url}: {_reason(exc)}") from None
    except UnicodeEncodeError:
        raise SourceError(
            f"{url}: offers only LOGIN, which takes ASCII user names and passwords"
        ) from None
    return conn


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):  # TLS and socket errors: their errno alone says nothing
        return str(exc) or type(exc).__name__
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text) or type(exc).__name__


def check(answer: tuple[str, Any], what: str) -> list[Any]:
    """The data of an OK answer; SourceError with the server's text otherwise."""
    typ, data = answer
    if typ != "OK":
        raise SourceError(f"{what}: {_reason(Exception(*(data or [typ])))}")
    return list(data)


# -- LIST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFolder:
    raw: str  # the name as the server spells it (modified UTF-7), to SELECT it
    name: str  # decoded, hierarchy separated by "/"
    flags: frozenset[str]

    @property
    def selectable(self) -> bool:
        return not ({"\\noselect", "\\nonexistent"} & {f.lower() for f in self.flags})

    @property
    def special_use(self) -> str | None:
        for flag in SPECIAL_USE_FLAGS:
            if flag.lower() in {f.lower() for f in self.flags}:
                return flag
        return None


_LIST = re.compile(rb'\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") ?(.*)$', re.S)


def _unquote(value: bytes) -> bytes:
    if value.startswith(b'"') and value.endswith(b'"') and len(value) >= 2:
        return re.sub(rb"\\(.)", rb"\1", value[1:-1])
    return value


_NAMESPACE = re.compile(rb'^\(\("((?:[^"\\]|\\.)*)" (?:"(?:[^"\\]|\\.)*"|NIL)')


def parse_namespace(data: Iterable[object]) -> str:
    """The personal namespace's prefix of a NAMESPACE answer (RFC 2342): "" for most
    servers, "INBOX." where every folder lives under INBOX (Courier, older Cyrus)."""
    for item in data:
        if isinstance(item, bytes) and (m := _NAMESPACE.match(item)):
            return _unquote(b'"' + m.group(1) + b'"').decode("utf-8", "replace")
    return ""


def parse_list(data: Iterable[object], prefix: str = "") -> list[SourceFolder]:
    """The folders of a LIST answer (as imaplib returns it: lines, or (line, literal) pairs
    when a name came as a literal); the personal namespace `prefix` is taken off the names
    ("INBOX.Sent" is "Sent")."""
    out = []
    for item in data:
        if isinstance(item, tuple):
            line, name = item[0], item[1]
        elif isinstance(item, bytes):
            line, name = item, None
        else:
            continue
        m = _LIST.match(line)
        if m is None:
            continue
        flags = frozenset(m.group(1).decode("ascii", "replace").split())
        delimiter = _unquote(m.group(2)).decode("ascii", "replace") if m.group(2) != b"NIL" else ""
        if name is None:
            name = _unquote(m.group(3).strip())
        raw = name.decode("utf-8", "replace")
        inside = raw[len(prefix) :] if prefix and raw.upper().startswith(prefix.upper()) else raw
        decoded = decode_mutf7(inside or raw)
        if delimiter and delimiter != "/":
            decoded = "/".join(p.replace("/", "_") for p in decoded.split(delimiter))
        out.append(SourceFolder(raw, decoded, flags))
    return out


def quote(name: str) -> str:
    """A folder name as an IMAP quoted string (for SELECT)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- FETCH ----------------------------------------------------------------------------------


@dataclass
class Fetched:
    uid: int = 0
    flags: frozenset[str] = frozenset()
    internaldate: float = 0.0
    size: int = 0
    message_id: str | None = None
    body: bytes | None = None
    key: str = ""  # the importer's identity of the message (migrate.message_key)


_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_LITERAL_ITEM = re.compile(rb"(BODY\[[^\]]*\]|RFC822)(?:<\d+>)? \{\d+\}$")
_START = re.compile(rb"^\d+ \(")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DATE_PARTS = re.compile(r"\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")


def parse_internaldate(text: str) -> float:
    """`"17-Jul-1996 02:44:25 -0700"` -> POSIX seconds; ValueError when malformed."""
    m = _DATE_PARTS.match(text)
    if m is None or m.group(2).title() not in _MONTHS:
        raise ValueError(f"INTERNALDATE {text!r}")
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    offset = dt.timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
    when = dt.datetime(
        int(year), _MONTHS[mon.title()], int(day), int(hh), int(mm), int(ss),
        tzinfo=dt.timezone(offset),
    )  # fmt: skip
    return when.timestamp()


def _messages(data: Iterable[object]) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    """One (text, {item name: literal}) per message of an imaplib FETCH answer."""
    text = b""
    literals: dict[bytes, bytes] = {}
    started = False
    for item in data:
        if isinstance(item, tuple):
            head, literal = item[0], item[1]
        elif isinstance(item, bytes):
            head, literal = item, None
        else:
            continue
        if _START.match(head):
            if started:
                yield text, literals
            text, literals, started = b"", {}, True
        text += head
        if literal is not None:
            m = _LITERAL_ITEM.search(head)
            if m is not None:
                literals[m.group(1).upper()] = literal
    if started:
        yield text, literals


def parse_fetch(data: Iterable[object]) -> list[Fetched]:
    """UID, FLAGS (without \\Recent), INTERNALDATE, RFC822.SIZE, the Message-ID of a
    BODY[HEADER.FIELDS (MESSAGE-ID)] literal and the BODY[] literal, of each message."""
    out = []
    for text, literals in _messages(data):
        f = Fetched()
        if m := _UID.search(text):
            f.uid = int(m.group(1))
        if m := _FLAGS.search(text):
            words = m.group(1).decode("utf-8", "replace").split()
            f.flags = frozenset(w for w in words if w.lower() != "\\recent")
        if m := _DATE.search(text):
            f.internaldate = parse_internaldate(m.group(1).decode("ascii", "replace"))
        if m := _SIZE.search(text):
            f.size = int(m.group(1))
        for name, literal in literals.items():
            if name.startswith(b"BODY[HEADER.FIELDS"):
                f.message_id = message_id(literal)
            elif name in (b"BODY[]", b"RFC822"):
                f.body = literal
        if f.uid:
            out.append(f)
    return out


def message_id(header_block: bytes) -> str | None:
    """The Message-ID as the mail store's envelope holds it (so both sides compare equal)."""
    return summarize(header_block).envelope[9]
