"""A small test-side TNEF writer: build streams attribute by attribute, property by property."""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime

import compressed_rtf

SIGNATURE = 0x223E9F78
MSG, ATT = 1, 2

# (type << 16 | id) for the attributes the tests use.
TNEF_VERSION = 0x00089006
OEM_CODEPAGE = 0x00069007
MESSAGE_CLASS = 0x00078008
SUBJECT = 0x00018004
BODY = 0x0002800C
DATE_SENT = 0x00038005
DATE_START = 0x00030006
DATE_END = 0x00030007
FROM = 0x00008000
MSG_PROPS = 0x00069003
RECIP_TABLE = 0x00069004
REND_DATA = 0x00069002
ATTACH_TITLE = 0x00018010
ATTACH_DATA = 0x0006800F
ATTACH_MODIFY = 0x00038013
ATTACHMENT = 0x00069005

IID_IMESSAGE = uuid.UUID("00020307-0000-0000-c000-000000000046")
PSETID_APPOINTMENT = uuid.UUID("00062002-0000-0000-c000-000000000046")
PSETID_MEETING = uuid.UUID("6ed8da90-450b-101b-98da-00aa003f1305")
PSETID_TASK = uuid.UUID("00062003-0000-0000-c000-000000000046")
PS_PUBLIC_STRINGS = uuid.UUID("00020329-0000-0000-c000-000000000046")


def attribute(level: int, attr_id: int, data: bytes, *, checksum: int | None = None) -> bytes:
    """One attribute with its length and (correct unless given) checksum."""
    if checksum is None:
        checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def stream(*attributes: bytes, key: int = 0x1234) -> bytes:
    return struct.pack("<IH", SIGNATURE, key) + b"".join(attributes)


def date(value: datetime) -> bytes:
    return struct.pack(
        "<7H", value.year, value.month, value.day, value.hour, value.minute, value.second, 0
    )


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) & 3)


def tag(ptype: int, pid: int, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    out = struct.pack("<HH", ptype, pid)
    if named is not None:
        guid, key = named
        out += guid.bytes_le
        if isinstance(key, int):
            out += u32(0) + u32(key)
        else:
            name = key.encode("utf-16-le") + b"\0\0"
            out += u32(1) + u32(len(name)) + pad(name)
    return out


def var(values: list[bytes]) -> bytes:
    """Variable-length values (count, then length + padded bytes each)."""
    return u32(len(values)) + b"".join(u32(len(v)) + pad(v) for v in values)


def prop(
    ptype: int, pid: int, value: bytes, named: tuple[uuid.UUID, int | str] | None = None
) -> bytes:
    """A property whose value bytes are given already encoded (see the helpers below)."""
    return tag(ptype, pid, named) + value


def props(*items: bytes) -> bytes:
    return u32(len(items)) + b"".join(items)


def long(pid: int, value: int, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    return prop(0x0003, pid, struct.pack("<i", value), named)


def boolean(pid: int, value: bool, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    return prop(0x000B, pid, struct.pack("<HH", int(value), 0), named)


def string8(
    pid: int, text: str, codec: str = "cp1252", named: tuple[uuid.UUID, int | str] | None = None
) -> bytes:
    return prop(0x001E, pid, var([text.encode(codec) + b"\0"]), named)


def unicode(pid: int, text: str, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    return prop(0x001F, pid, var([text.encode("utf-16-le") + b"\0\0"]), named)


def binary(pid: int, data: bytes, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    return prop(0x0102, pid, var([data]), named)


def filetime(value: datetime) -> int:
    delta = value - datetime(1601, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def systime(pid: int, value: datetime, named: tuple[uuid.UUID, int | str] | None = None) -> bytes:
    return prop(0x0040, pid, struct.pack("<Q", filetime(value)), named)


def rtf_compressed(rtf: bytes) -> bytes:
    return bytes(compressed_rtf.compress(rtf))


def message(
    *extra: bytes,
    message_class: str = "IPM.Note",
    subject: str | None = None,
    codepage: int = 1252,
    msg_props: list[bytes] | None = None,
    attachments: list[list[bytes]] | None = None,
    recipients: list[list[bytes]] | None = None,
) -> bytes:
    """A whole TNEF stream with the usual leading attributes."""
    parts = [
        attribute(MSG, TNEF_VERSION, u32(0x00010000)),
        attribute(MSG, OEM_CODEPAGE, u32(codepage) + u32(0)),
        attribute(MSG, MESSAGE_CLASS, message_class.encode() + b"\0"),
    ]
    if subject is not None:
        parts.append(attribute(MSG, SUBJECT, subject.encode("cp1252") + b"\0"))
    parts.extend(extra)
    if recipients:
        rows = u32(len(recipients)) + b"".join(props(*row) for row in recipients)
        parts.append(attribute(MSG, RECIP_TABLE, rows))
    if msg_props:
        parts.append(attribute(MSG, MSG_PROPS, props(*msg_props)))
    for attachment in attachments or []:
        parts.append(attribute(ATT, REND_DATA, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 1)))
        parts.extend(attachment)
    return stream(*parts)


def file_attachment(
    name: str, data: bytes, *, long_name: str | None = None, mapi: list[bytes] | None = None
) -> list[bytes]:
    """Attributes of a by-value attachment: title, data, and optional MAPI properties."""
    out = [
        attribute(ATT, ATTACH_TITLE, name.encode("cp1252", "replace") + b"\0"),
        attribute(ATT, ATTACH_DATA, data),
    ]
    mapi = list(mapi or [])
    if long_name is not None:
        mapi.append(unicode(0x3707, long_name))
    if mapi:
        out.append(attribute(ATT, ATTACHMENT, props(*mapi)))
    return out
