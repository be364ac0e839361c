"""CATENATE (RFC 4469): an APPENDed message made of TEXT literals and URLs of messages (or
parts of them) already on the server.

Pure: `parse_parts` (the `(TEXT literal URL "url" ...)` list) and `parse_url` (RFC 5092
IMAP URLs of one message: `/INBOX;UIDVALIDITY=7/;UID=3/;SECTION=1.MIME/;PARTIAL=0.100`,
the same after `imap://user@host`, or `;UID=3...` relative to the selected mailbox).
`url_data` reads what a URL names from a folder of the mail store. Which mailboxes a URL
may name (only the logged-in user's own) is the session's decision (mailboxes.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from swissbox.imap import sections
from swissbox.imap.fetchspec import Section, parse_section
from swissbox.imap.parser import Atom, Literal, ParseError, Str, Token, decode_mutf7
from swissbox.mailstore import query
from swissbox.mailstore.index import FolderInfo
from swissbox.mailstore.paths import folder_dir
from swissbox.mailstore.store import MailboxStore

MAX_URL = 2048


class BadUrl(ValueError):
    """A CATENATE URL that names nothing this session may read: `NO [BADURL url]`."""


@dataclass(frozen=True)
class Catenate:
    """One CATENATE message: ("TEXT", literal) and ("URL", url) parts in order."""

    parts: list[tuple[str, Str]]


@dataclass(frozen=True)
class ImapUrl:
    """One message (or a part of it) on this server, as an IMAP URL names it."""

    mailbox: str | None  # None: the selected mailbox (a relative URL)
    uid: int
    uidvalidity: int | None = None
    section: Section | None = None
    partial: tuple[int, int | None] | None = None
    user: str | None = None  # imap://user@host/...
    host: str | None = None


def parse_parts(token: Token) -> Catenate:
    """`(TEXT {n}... URL "..." ...)` -> Catenate; ParseError (BAD) when malformed."""
    if not isinstance(token, list) or not token:
        raise ParseError("CATENATE needs a list of TEXT and URL parts")
    parts: list[tuple[str, Str]] = []
    items = iter(token)
    for item in items:
        kind = bytes(item).upper() if isinstance(item, Atom) else b""
        value = next(items, None)
        if kind == b"TEXT" and isinstance(value, Literal):
            parts.append(("TEXT", value))
        elif kind == b"URL" and isinstance(value, Str) and not isinstance(value, list):
            parts.append(("URL", value))
        else:
            raise ParseError("CATENATE parts are TEXT literal or URL string")
    return Catenate(parts)


_SERVER = re.compile(r"^imap://(?:([^@/]*)@)?([^/:]*)(?::\d{1,5})?(/.*)$", re.IGNORECASE)
_UID = re.compile(r";UID=([1-9]\d{0,9})", re.IGNORECASE)
_UIDVALIDITY = re.compile(r";UIDVALIDITY=([1-9]\d{0,9})$", re.IGNORECASE)
_SECTION = re.compile(r"^/;SECTION=([^/;]*)", re.IGNORECASE)
_PARTIAL = re.compile(r"^/;PARTIAL=(\d{1,10})(?:\.([1-9]\d{0,9}))?", re.IGNORECASE)


def _unescape(text: str) -> str:
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise BadUrl("not UTF-8") from None


def parse_url(url: str) -> ImapUrl:
    """An IMAP URL of one message; BadUrl for anything else (URLAUTH included)."""
    if len(url) > MAX_URL or any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise BadUrl("malformed URL")
    user = host = None
    path = url
    m = _SERVER.match(url)
    if m is not None:
        user_info, host, path = m.group(1), m.group(2), m.group(3)
        if user_info is not None:
            user = _unescape(user_info.split(";", 1)[0])
        host = _unescape(host).lower()
    elif url[:6].lower() == "imap:/":
        raise BadUrl("malformed server part")
    uid_at = _UID.search(path)
    if uid_at is None:
        raise BadUrl("a URL of one message needs ;UID=")
    head, rest = path[: uid_at.start()], path[uid_at.end() :]
    mailbox: str | None = None
    uidvalidity = None
    if head:
        if not head.startswith("/") or not head.endswith("/") or len(head) < 3:
            raise BadUrl("malformed mailbox part")
        ref = head[1:-1]
        v = _UIDVALIDITY.search(ref)
        if v is not None:
            uidvalidity, ref = int(v.group(1)), ref[: v.start()]
        if ";" in ref:  # not a URL character of a mailbox name (RFC 5092 bchar)
            raise BadUrl("malformed mailbox part")
        mailbox = _unescape(ref)
        if "&" in mailbox:
            try:
                mailbox = decode_mutf7(mailbox)
            except ParseError:
                raise BadUrl("bad mailbox name") from None
    elif m is not None:
        raise BadUrl("an absolute URL names its mailbox")
    section = None
    s = _SECTION.match(rest)
    if s is not None:
        try:
            section = parse_section(_unescape(s.group(1)))
        except ParseError:
            raise BadUrl("bad section") from None
        rest = rest[s.end() :]
    partial = None
    p = _PARTIAL.match(rest)
    if p is not None:
        partial = (int(p.group(1)), int(p.group(2)) if p.group(2) else None)
        rest = rest[p.end() :]
    if rest:
        raise BadUrl("unsupported URL part (URLAUTH is not offered)")
    return ImapUrl(mailbox, int(uid_at.group(1)), uidvalidity, section, partial, user, host)


def url_data(box: MailboxStore, info: FolderInfo, url: ImapUrl) -> bytes:
    """The bytes `url` names in the folder `info` of `box`; BadUrl when the UIDVALIDITY
    differs or there is no such message."""
    if url.uidvalidity is not None and url.uidvalidity != info.uidvalidity:
        raise BadUrl("UIDVALIDITY does not match")
    found = query.rows(box, info.id, ["uid", "subdir", "filename"], [url.uid])
    if not found:
        raise BadUrl("no such message")
    path = os.path.join(folder_dir(box.path, info.name), found[0][1], found[0][2])
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise BadUrl("no such message") from None
    data = sections.extract(raw, url.section) if url.section is not None else raw
    return sections.partial(data, url.partial)
