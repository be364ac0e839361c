"""MAPI property lists as TNEF encodes them ([MS-OXTNEF] 2.1.3.4, types from [MS-OXCDATA]).

``parse_props`` reads a property list (attMsgProps, attAttachment, one attRecipTable row) into
``Property`` objects; 8-bit strings stay raw until ``decode_strings`` applies the code page.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .codepages import decode_8bit, decode_utf16
from .errors import Budget, TnefError

PT_UNSPECIFIED = 0x0000
PT_NULL = 0x0001
PT_SHORT = 0x0002
PT_LONG = 0x0003
PT_FLOAT = 0x0004
PT_DOUBLE = 0x0005
PT_CURRENCY = 0x0006
PT_APPTIME = 0x0007
PT_ERROR = 0x000A
PT_BOOLEAN = 0x000B
PT_OBJECT = 0x000D
PT_I8 = 0x0014
PT_STRING8 = 0x001E
PT_UNICODE = 0x001F
PT_SYSTIME = 0x0040
PT_CLSID = 0x0048
PT_SVREID = 0x00FB
PT_SRESTRICT = 0x00FD
PT_ACTIONS = 0x00FE
PT_BINARY = 0x0102
MV_FLAG = 0x1000

TYPE_NAMES = {
    PT_UNSPECIFIED: "PT_UNSPECIFIED",
    PT_NULL: "PT_NULL",
    PT_SHORT: "PT_SHORT",
    PT_LONG: "PT_LONG",
    PT_FLOAT: "PT_FLOAT",
    PT_DOUBLE: "PT_DOUBLE",
    PT_CURRENCY: "PT_CURRENCY",
    PT_APPTIME: "PT_APPTIME",
    PT_ERROR: "PT_ERROR",
    PT_BOOLEAN: "PT_BOOLEAN",
    PT_OBJECT: "PT_OBJECT",
    PT_I8: "PT_I8",
    PT_STRING8: "PT_STRING8",
    PT_UNICODE: "PT_UNICODE",
    PT_SYSTIME: "PT_SYSTIME",
    PT_CLSID: "PT_CLSID",
    PT_SVREID: "PT_SVREID",
    PT_SRESTRICT: "PT_SRESTRICT",
    PT_ACTIONS: "PT_ACTIONS",
    PT_BINARY: "PT_BINARY",
}

# Fixed-size types: (bytes used, struct format or None). Every value occupies a multiple of 4.
_FIXED: dict[int, tuple[int, str | None]] = {
    PT_NULL: (4, None),
    PT_UNSPECIFIED: (4, None),
    PT_SHORT: (2, "<h"),
    PT_LONG: (4, "<i"),
    PT_FLOAT: (4, "<f"),
    PT_DOUBLE: (8, "<d"),
    PT_CURRENCY: (8, "<q"),
    PT_APPTIME: (8, "<d"),
    PT_ERROR: (4, "<I"),
    PT_BOOLEAN: (2, "<H"),
    PT_I8: (8, "<q"),
    PT_SYSTIME: (8, "<Q"),
    PT_CLSID: (16, None),
}
_VARIABLE = frozenset(
    {PT_OBJECT, PT_STRING8, PT_UNICODE, PT_BINARY, PT_SVREID, PT_SRESTRICT, PT_ACTIONS}
)

# Property ids used by the decoder ([MS-OXPROPS]).
PR_MESSAGE_CLASS = 0x001A
PR_SUBJECT = 0x0037
PR_CLIENT_SUBMIT_TIME = 0x0039
PR_SENT_REPRESENTING_NAME = 0x0042
PR_SENT_REPRESENTING_EMAIL = 0x0065
PR_SENT_REPRESENTING_ADDRTYPE = 0x0064
PR_CONVERSATION_TOPIC = 0x0070
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL = 0x0C1F
PR_SENDER_ADDRTYPE = 0x0C1E
PR_SENDER_SMTP_ADDRESS = 0x5D01
PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D02
PR_RECIPIENT_TYPE = 0x0C15
PR_MESSAGE_DELIVERY_TIME = 0x0E06
PR_IMPORTANCE = 0x0017
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_BODY_HTML = 0x1013
PR_INTERNET_MESSAGE_ID = 0x1035
PR_DISPLAY_NAME = 0x3001
PR_ADDRTYPE = 0x3002
PR_EMAIL_ADDRESS = 0x3003
PR_CREATION_TIME = 0x3007
PR_ATTACH_CREATION_TIME_ALIAS = PR_CREATION_TIME
PR_LAST_MODIFICATION_TIME = 0x3008
PR_SMTP_ADDRESS = 0x39FE
PR_ATTACH_SIZE = 0x0E20
PR_ATTACH_DATA = 0x3701
PR_ATTACH_EXTENSION = 0x3703
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_PATHNAME = 0x3708
PR_ATTACH_LONG_PATHNAME = 0x370D
PR_ATTACH_MIME_TAG = 0x370E
PR_ATTACH_CONTENT_ID = 0x3712
PR_ATTACH_CONTENT_LOCATION = 0x3713
PR_ATTACH_FLAGS = 0x3714
PR_ATTACHMENT_HIDDEN = 0x7FFE
PR_INTERNET_CPID = 0x3FDE
PR_MESSAGE_CODEPAGE = 0x3FFD

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_OLE_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class NamedId:
    """A named property's identity: property set GUID plus a numeric id or a string name."""

    guid: uuid.UUID
    lid: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        key = f"0x{self.lid:04X}" if self.lid is not None else repr(self.name)
        return f"{{{self.guid}}}:{key}"


@dataclass(slots=True)
class Property:
    """One MAPI property. ``value`` is decoded (a list when multi-valued); ``raw`` keeps bytes."""

    id: int
    type: int
    multi: bool
    value: Any
    raw: Any = None
    named: NamedId | None = None

    @property
    def type_name(self) -> str:
        base = TYPE_NAMES.get(self.type, f"0x{self.type:04X}")
        return f"PT_MV_{base[3:]}" if self.multi else base

    @property
    def tag(self) -> int:
        return (self.id << 16) | self.type | (MV_FLAG if self.multi else 0)


def filetime(value: int) -> datetime | None:
    """A FILETIME (100 ns since 1601) as an aware UTC datetime, None when out of range."""
    if value <= 0:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def _apptime(value: float) -> datetime | None:
    try:
        return _OLE_EPOCH + timedelta(days=value)
    except (OverflowError, ValueError):
        return None


def _guid(raw: bytes) -> uuid.UUID:
    return uuid.UUID(bytes_le=bytes(raw))


class _Reader:
    """Bounds-checked little-endian reader over a property list payload."""

    __slots__ = ("data", "pos", "base")

    def __init__(self, data: bytes, base: int) -> None:
        self.data = data
        self.pos = 0
        self.base = base

    def need(self, count: int, what: str) -> None:
        if count < 0 or self.pos + count > len(self.data):
            raise TnefError(
                f"{what}: {count} bytes needed, {len(self.data) - self.pos} left",
                self.base + self.pos,
            )

    def u32(self, what: str) -> int:
        self.need(4, what)
        (value,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        return int(value)

    def take(self, count: int, what: str) -> bytes:
        self.need(count, what)
        start = self.pos
        self.pos += count
        return self.data[start : start + count]

    def take_padded(self, count: int, what: str) -> bytes:
        value = self.take(count, what)
        pad = -count & 3
        # The final value's padding is sometimes missing; tolerate that at the very end.
        self.pos = min(self.pos + pad, len(self.data))
        return value

    @property
    def offset(self) -> int:
        return self.base + self.pos


def _fixed(reader: _Reader, ptype: int) -> Any:
    size, fmt = _FIXED[ptype]
    raw = reader.take_padded(size, "property value")
    if ptype == PT_CLSID:
        return _guid(raw)
    if fmt is None:
        return None
    (value,) = struct.unpack(fmt, raw)
    if ptype == PT_BOOLEAN:
        return bool(value)
    if ptype == PT_SYSTIME:
        return filetime(value)
    if ptype == PT_APPTIME:
        return _apptime(value)
    return value


def _variable(reader: _Reader, ptype: int) -> tuple[Any, bytes]:
    length = reader.u32("value length")
    raw = reader.take_padded(length, "property value")
    if ptype == PT_UNICODE:
        return decode_utf16(raw), raw
    return raw, raw


def parse_props(data: bytes, base: int, budget: Budget, *, lenient: bool = False) -> list[Property]:
    """Parse a MAPI property list; ``base`` is the payload's offset in the outer stream."""
    reader = _Reader(data, base)
    count = reader.u32("property count")
    limits = budget.limits
    # Each property takes at least 8 bytes, so a count beyond that is a lie.
    if count > limits.max_properties:
        raise TnefError(f"more than {limits.max_properties} properties", base)
    if count > (len(data) - 4) // 8 + 1:
        message = f"absurd property count {count} for {len(data)} bytes"
        if not lenient:
            raise TnefError(message, base)
        budget.warnings.append(f"{message} at offset {base}")
    props: list[Property] = []
    try:
        for _ in range(count):
            budget.properties += 1
            if budget.properties > limits.max_properties:
                raise TnefError(f"more than {limits.max_properties} properties", reader.offset)
            props.append(_one(reader, budget))
    except TnefError as exc:
        if not lenient:
            raise
        budget.warnings.append(f"property list truncated: {exc}")
    return props


def _one(reader: _Reader, budget: Budget) -> Property:
    start = reader.offset
    tag = reader.u32("property tag")
    ptype, pid = tag & 0xFFFF, tag >> 16
    named: NamedId | None = None
    if pid >= 0x8000:
        guid = _guid(reader.take(16, "named property GUID"))
        kind = reader.u32("named property kind")
        if kind == 0:
            named = NamedId(guid, lid=reader.u32("named property id"))
        elif kind == 1:
            length = reader.u32("named property name length")
            name = decode_utf16(reader.take_padded(length, "named property name"))
            named = NamedId(guid, name=name)
        else:
            raise TnefError(f"bad named property kind {kind}", reader.offset - 4)
    multi = bool(ptype & MV_FLAG)
    base_type = ptype & ~MV_FLAG
    if base_type not in _FIXED and base_type not in _VARIABLE:
        raise TnefError(f"unknown property type 0x{ptype:04X} in tag 0x{tag:08X}", start)
    if base_type in _VARIABLE:
        values = reader.u32("value count")
        if values > budget.limits.max_values or values * 4 > len(reader.data) - reader.pos:
            raise TnefError(f"absurd value count {values} for tag 0x{tag:08X}", reader.offset)
        if not multi and values == 0:
            # Single-valued variable types carry a count that must be 1; tolerate 0 as empty.
            return Property(pid, base_type, False, b"" if base_type != PT_UNICODE else "", b"")
        items = [_variable(reader, base_type) for _ in range(values)]
        if multi:
            return Property(
                pid, base_type, True, [v for v, _ in items], [r for _, r in items], named
            )
        value, raw = items[0]
        return Property(pid, base_type, False, value, raw, named)
    if multi:
        values = reader.u32("value count")
        size = max(4, (_FIXED[base_type][0] + 3) & ~3)
        if values > budget.limits.max_values or values * size > len(reader.data) - reader.pos:
            raise TnefError(f"absurd value count {values} for tag 0x{tag:08X}", reader.offset)
        return Property(
            pid, base_type, True, [_fixed(reader, base_type) for _ in range(values)], None, named
        )
    return Property(pid, base_type, False, _fixed(reader, base_type), None, named)


def decode_strings(props: list[Property], codepage: int | None) -> None:
    """Turn PT_STRING8 values (kept as bytes) into text with the message code page."""
    for prop in props:
        if prop.type == PT_STRING8:
            if prop.multi:
                prop.value = [decode_8bit(raw, codepage) for raw in prop.raw]
            else:
                prop.value = decode_8bit(prop.raw, codepage)


class PropMap:
    """Lookup over a property list by id (unnamed) or by (GUID, lid/name) (named)."""

    def __init__(self, props: list[Property]) -> None:
        self.props = props
        self.by_id: dict[int, Property] = {}
        self.by_name: dict[tuple[uuid.UUID, int | str], Property] = {}
        for prop in props:
            if prop.named is None:
                self.by_id.setdefault(prop.id, prop)
            else:
                key = prop.named.lid if prop.named.lid is not None else prop.named.name or ""
                self.by_name.setdefault((prop.named.guid, key), prop)

    def get(self, pid: int) -> Any:
        prop = self.by_id.get(pid)
        return None if prop is None else prop.value

    def text(self, pid: int) -> str | None:
        value = self.get(pid)
        if isinstance(value, str):
            return value or None
        return None

    def named(self, guid: uuid.UUID, key: int | str) -> Any:
        prop = self.by_name.get((guid, key))
        return None if prop is None else prop.value


def parse_rows(
    data: bytes, base: int, budget: Budget, *, lenient: bool = False
) -> list[list[Property]]:
    """Parse attRecipTable: a row count, then one property list per row."""
    reader = _Reader(data, base)
    rows = reader.u32("row count")
    if rows > (len(data) - 4) // 4:
        message = f"absurd recipient row count {rows} for {len(data)} bytes"
        if not lenient:
            raise TnefError(message, base)
        budget.warnings.append(f"{message} at offset {base}")
    result: list[list[Property]] = []
    try:
        for _ in range(rows):
            count = reader.u32("property count")
            if count > (len(data) - reader.pos) // 8 + 1:
                raise TnefError(f"absurd property count {count}", reader.offset - 4)
            row: list[Property] = []
            for _ in range(count):
                budget.properties += 1
                if budget.properties > budget.limits.max_properties:
                    raise TnefError(
                        f"more than {budget.limits.max_properties} properties", reader.offset
                    )
                row.append(_one(reader, budget))
            result.append(row)
    except TnefError as exc:
        if not lenient:
            raise
        budget.warnings.append(f"recipient table truncated: {exc}")
    return result
