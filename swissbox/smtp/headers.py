"""Trace and origin headers (sans-I/O): Received:, and Message-ID/Date for submissions."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import secrets
import time

from swissbox.mailstore.queue import queue_id

_BLANK = re.compile(rb"\r\n\r\n")


def received_header(
    *,
    helo: str,
    client_ip: str,
    hostname: str,
    protocol: str,
    tls: tuple[str, str] | None,
    qid: str,
    recipient: str | None,
    now: float | None = None,
) -> bytes:
    """RFC 5321 4.4 trace line: `Received: from HELO ([IP]) by HOST (swissbox) with PROTO
    (TLS version:cipher) id ID for <RCPT>; DATE` folded, CRLF-terminated."""
    helo = _clean(helo)[:255] or "unknown"
    ip = f"IPv6:{client_ip}" if ":" in client_ip else client_ip
    lines = [f"Received: from {helo} ([{ip}])", f"\tby {hostname} (swissbox) with {protocol}"]
    if tls:
        lines[-1] += f" ({_clean(tls[0])}:{_clean(tls[1])})"
    tail = f"\tid {qid}"
    if recipient:
        tail += f"\r\n\tfor <{_clean(recipient)}>"
    lines.append(tail + f"; {rfc5322_date(now)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "replace")


def return_path(sender: str) -> bytes:
    """RFC 5321 4.4: the line final delivery puts on top of the message, naming the envelope
    sender (`<>` for the null sender)."""
    return f"Return-Path: <{_clean(sender)}>\r\n".encode("utf-8", "replace")


def rfc5322_date(now: float | None = None) -> str:
    """'Wed, 25 Nov 2026 06:32:55 +0000'."""
    when = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    return email.utils.format_datetime(when)


def _clean(text: str) -> str:
    return "".join(c if c.isprintable() and c not in "()<>;" else "?" for c in text)


def protocol_name(esmtp: bool, tls: bool, authenticated: bool) -> str:
    """RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA."""
    if not esmtp:
        return "SMTP"
    return "ESMTP" + ("S" if tls else "") + ("A" if authenticated else "")


def header_names(data: bytes) -> set[bytes]:
    """Lower-cased names of the header fields in the message's header block."""
    m = _BLANK.search(data)
    head = data[: m.start()] if m else data
    names = set()
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") or b":" not in line:
            continue
        names.add(line.split(b":", 1)[0].strip().lower())
    return names


def add_missing_origin(data: bytes, hostname: str, now: float | None = None) -> bytes:
    """Prepends Message-ID and Date when the message has none (RFC 6409 8.2, 8.3)."""
    names = header_names(data)
    extra = b""
    if b"message-id" not in names:
        extra += (
            f"Message-ID: <{queue_id().lower()}.{secrets.token_hex(6)}@{hostname}>\r\n".encode()
        )
    if b"date" not in names:
        extra += f"Date: {rfc5322_date(now)}\r\n".encode()
    return extra + data
