"""IMAP response syntax from index data: strings, ENVELOPE, BODYSTRUCTURE, dates; pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from swissbox.imap.parser import encode_mutf7

_QUOTABLE = bytes(range(0x20, 0x7F))
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def nstring(value: str | bytes | None) -> bytes:
    """NIL, a quoted string, or a literal for 8-bit / CR / LF / long text."""
    if value is None:
        return b"NIL"
    return string(value)


def string(value: str | bytes) -> bytes:
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    if len(raw) < 1024 and not raw.translate(None, _QUOTABLE):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d}\r\n" % len(raw) + raw


def astring(value: str) -> bytes:
    """A mailbox name for LIST/STATUS: quoted (always safe)."""
    return string(value)


def list_line(word: bytes, attrs: Iterable[str], name: str, extra: bytes = b"") -> bytes:
    """`LIST (attrs) "/" name[extra]` (or LSUB): the name in modified UTF-7, quoted."""
    shown = astring(encode_mutf7(name))
    return word + b" (" + " ".join(attrs).encode() + b') "/" ' + shown + extra


def oldname(old: str) -> bytes:
    """The extended data of a LIST line for a renamed folder: ` ("OLDNAME" (old))`."""
    return b' ("OLDNAME" (' + astring(encode_mutf7(old)) + b"))"


def flags(values: Iterable[str]) -> bytes:
    return b"(" + " ".join(sorted(values)).encode("utf-8", "replace") + b")"


def internaldate(ts: int) -> bytes:
    t = dt.datetime.fromtimestamp(ts, dt.UTC)
    return b'"%02d-%s-%04d %02d:%02d:%02d +0000"' % (
        t.day,
        _MONTHS[t.month - 1].encode(),
        t.year,
        t.hour,
        t.minute,
        t.second,
    )


_IDATES: dict[int, bytes] = {}


def internaldate_item(ts: int) -> bytes:
    """`INTERNALDATE "..."`, memoised (a folder's dates are rendered again at every FETCH)."""
    item = _IDATES.get(ts)
    if item is None:
        if len(_IDATES) > 200_000:
            _IDATES.clear()
        item = _IDATES[ts] = b"INTERNALDATE " + internaldate(ts)
    return item


def parse_internaldate(text: str) -> float:
    """APPEND's date-time `"dd-Mon-yyyy hh:mm:ss +zzzz"` -> epoch seconds; ValueError."""
    text = text.strip()
    day, rest = text.split("-", 1)
    parsed = dt.datetime.strptime(f"{int(day):02d}-{rest}", "%d-%b-%Y %H:%M:%S %z")
    return parsed.timestamp()


def _addresses(value: list[list[str | None]] | None) -> bytes:
    if not value:
        return b"NIL"
    return (
        b"(" + b"".join(b"(" + b" ".join(nstring(f) for f in addr) + b")" for addr in value) + b")"
    )


def envelope(env: list[Any] | None) -> bytes:
    if not env:
        env = [None] * 10
    parts = []
    for i, value in enumerate(env):
        if 2 <= i <= 7:
            parts.append(_addresses(value))
        else:
            parts.append(nstring(value))
    return b"(" + b" ".join(parts) + b")"


def _params(params: dict[str, str] | None) -> bytes:
    if not params:
        return b"NIL"
    return b"(" + b" ".join(string(k.upper()) + b" " + string(v) for k, v in params.items()) + b")"


def _disposition(disp: list[Any] | None) -> bytes:
    if not disp:
        return b"NIL"
    return b"(" + string(disp[0].upper()) + b" " + _params(disp[1]) + b")"


def _language(value: str | None) -> bytes:
    return nstring(value)


def bodystructure(node: dict[str, Any], extended: bool = True) -> bytes:
    """BODYSTRUCTURE (extended) or BODY (basic) from the index's dict tree."""
    if "parts" in node and node.get("type") == "message" and node["parts"]:
        # shape indexed before message/rfc822 was summarised as such: no size or envelope
        node = dict(node, body=node["parts"][0], envelope=None, size=0, lines=0)
        node.pop("parts")
    if "parts" in node:
        parts = node["parts"] or [
            {"type": "text", "subtype": "plain", "params": {}, "size": 0, "lines": 0}
        ]
        out = b"".join(bodystructure(p, extended) for p in parts)
        out += b" " + string(node.get("subtype", "mixed").upper())
        if extended:
            out += b" " + _params(node.get("params"))
            out += b" " + _disposition(node.get("disposition"))
            out += b" " + _language(node.get("language"))
            out += b" " + nstring(node.get("location"))
        return b"(" + out + b")"
    mtype = (node.get("type") or "text").upper()
    fields = [
        string(mtype),
        string((node.get("subtype") or "plain").upper()),
        _params(node.get("params")),
        nstring(node.get("id")),
        nstring(node.get("description")),
        string((node.get("encoding") or "7bit").upper()),
        b"%d" % int(node.get("size") or 0),
    ]
    if mtype == "MESSAGE" and (node.get("subtype") or "").upper() == "RFC822" and "body" in node:
        fields.append(envelope(node.get("envelope")))
        fields.append(bodystructure(node["body"], extended))
        fields.append(b"%d" % int(node.get("lines") or 0))
    elif mtype == "TEXT":
        fields.append(b"%d" % int(node.get("lines") or 0))
    if extended:
        fields.append(nstring(node.get("md5")))
        fields.append(_disposition(node.get("disposition")))
        fields.append(_language(node.get("language")))
        fields.append(nstring(node.get("location")))
    return b"(" + b" ".join(fields) + b")"
