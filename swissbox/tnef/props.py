"""MAPI property lists as TNEF encodes them ([MS-OXTNEF] 2.1.3.4, types from [MS-OXCDATA]).

``parse_props`` reads a property list (attMsgProps, attAttachment, one attRecipTable row) into
``Property`` objects; 8-bit strings stay raw until ``decode_strings`` applies the code page.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
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

# A property list: bytes, or a view into the TNEF stream (values are copied out as bytes).
Buffer = bytes | memoryview

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


_TAG = struct.Struct("<HH").unpack_from
_KIND = struct.Struct("<II").unpack_from
_GUIDS: dict[bytes, uuid.UUID] = {}  # property set GUIDs repeat: parse each once
_NAMED: dict[bytes, NamedId] = {}  # likewise whole (GUID, MNID_ID, id) names
_U32 = struct.Struct("<I").unpack_from


def _scalar(fmt: str) -> Callable[[Buffer, int], Any]:
    unpack = struct.Struct(fmt).unpack_from
    return lambda data, pos: unpack(data, pos)[0]


def _systime(data: Buffer, pos: int) -> datetime | None:
    return filetime(int.from_bytes(data[pos : pos + 8], "little"))


def _apptime_at(data: Buffer, pos: int) -> datetime | None:
    return _apptime(struct.unpack_from("<d", data, pos)[0])


def _bool_at(data: Buffer, pos: int) -> bool:
    return bool(data[pos] | data[pos + 1])


def _guid_at(data: Buffer, pos: int) -> uuid.UUID:
    return uuid.UUID(bytes_le=bytes(data[pos : pos + 16]))


def _none_at(data: Buffer, pos: int) -> None:
    return None


# Fixed-size types: (bytes used, converter). Every value occupies a multiple of 4 bytes.
_CONVERT: dict[int, tuple[int, Callable[[Buffer, int], Any]]] = {
    PT_NULL: (4, _none_at),
    PT_UNSPECIFIED: (4, _none_at),
    PT_SHORT: (2, _scalar("<h")),
    PT_LONG: (4, _scalar("<i")),
    PT_FLOAT: (4, _scalar("<f")),
    PT_DOUBLE: (8, _scalar("<d")),
    PT_CURRENCY: (8, _scalar("<q")),
    PT_APPTIME: (8, _apptime_at),
    PT_ERROR: (4, _scalar("<I")),
    PT_BOOLEAN: (2, _bool_at),
    PT_I8: (8, _scalar("<q")),
    PT_SYSTIME: (8, _systime),
    PT_CLSID: (16, _guid_at),
}


def _short(data: Buffer, base: int, pos: int, need: int, what: str) -> TnefError:
    return TnefError(f"{what}: {need} bytes needed, {max(0, len(data) - pos)} left", base + pos)


# Stride (bytes including padding) of each fixed-size type.
_STRIDE = {ptype: (width + 3) & ~3 for ptype, (width, _convert) in _CONVERT.items()}
_WIDTH = {ptype: width for ptype, (width, _convert) in _CONVERT.items()}
_SINGLE = dict(_STRIDE)  # single-valued fixed types (no MV flag) -> stride

# A walked property: (payload, id, type with MV flag, name, offset of its value in payload).
Entry = tuple[Buffer, int, int, "NamedId | None", int]


def _name_at(data: Buffer, pos: int, base: int) -> tuple[NamedId, int]:
    """A named property's name at ``pos`` (24 bytes are known to be there)."""
    raw_guid = bytes(data[pos : pos + 16])
    guid = _GUIDS.get(raw_guid)
    if guid is None:
        guid = uuid.UUID(bytes_le=raw_guid)
        if len(_GUIDS) < 4096:
            _GUIDS[raw_guid] = guid
    kind, key = _KIND(data, pos + 16)
    if kind == 0:
        named = NamedId(guid, lid=key)
        if len(_NAMED) < 16384:
            _NAMED[bytes(data[pos : pos + 24])] = named
        return named, pos + 24
    if kind != 1:
        raise TnefError(f"bad named property kind {kind}", base + pos + 16)
    pos += 24
    if key > len(data) - pos:
        raise _short(data, base, pos, key, "named property name")
    return NamedId(guid, name=decode_utf16(bytes(data[pos : pos + key]))), pos + key + (-key & 3)


def _walk(data: Buffer, pos: int, count: int, base: int, budget: Budget, out: list[Entry]) -> int:
    """Check and index ``count`` properties from ``pos`` (values are converted later)."""
    size = len(data)
    limits = budget.limits
    max_properties = limits.max_properties
    if budget.properties + count > max_properties:
        raise TnefError(f"more than {max_properties} properties", base + pos)
    budget.properties += count
    max_values = limits.max_values
    append = out.append
    single = _SINGLE
    tag_at = _TAG
    pair_at = _KIND
    for _ in range(count):
        if pos + 4 > size:
            raise _short(data, base, pos, 4, "property tag")
        ptype, pid = tag_at(data, pos)
        start = pos
        pos += 4
        named: NamedId | None = None
        if pid >= 0x8000:
            if pos + 24 > size:
                raise _short(data, base, pos, 24, "named property")
            named = _NAMED.get(bytes(data[pos : pos + 24]))
            if named is not None:  # seen before: the same GUID, MNID_ID and id
                pos += 24
            else:
                named, pos = _name_at(data, pos, base)
        # Fast paths: a single fixed-size value (most properties)...
        stride = single.get(ptype)
        if stride is not None:
            if pos + stride > size and pos + _WIDTH[ptype] > size:
                raise _short(data, base, pos, _WIDTH[ptype], "property value")
            append((data, pid, ptype, named, pos))
            pos += stride  # the last value's padding may be missing: checked on next read
            continue
        # ... or one variable-size value (a count of 1, then its length) that fits.
        if ptype in _VARIABLE and pos + 8 <= size:
            values, length = pair_at(data, pos)
            if values == 1 <= max_values and length <= size - pos - 8:
                append((data, pid, ptype, named, pos))
                pos += 8 + length + (-length & 3)
                continue
        base_type = ptype & ~MV_FLAG
        stride = _STRIDE.get(base_type)
        if stride is not None:  # multi-valued (single fixed-size values are handled above)
            if pos + 4 > size:
                raise _short(data, base, pos, 4, "value count")
            (values,) = _U32(data, pos)
            if values > max_values or values * stride > size - pos - 4:
                raise TnefError(
                    f"absurd value count {values} for tag 0x{pid:04X}{ptype:04X}",
                    base + pos,
                )
            append((data, pid, ptype, named, pos))
            pos += 4 + values * stride
            continue
        if base_type not in _VARIABLE:
            raise TnefError(
                f"unknown property type 0x{ptype:04X} in tag 0x{pid:04X}{ptype:04X}", base + start
            )
        if pos + 4 > size:
            raise _short(data, base, pos, 4, "value count")
        (values,) = _U32(data, pos)
        if values > max_values or values * 4 > size - pos - 4:
            raise TnefError(
                f"absurd value count {values} for tag 0x{pid:04X}{ptype:04X}", base + pos
            )
        value_pos = pos
        pos += 4
        for _ in range(values):
            if pos + 4 > size:
                raise _short(data, base, pos, 4, "value length")
            (length,) = _U32(data, pos)
            pos += 4
            if length > size - pos:
                raise _short(data, base, pos, length, "property value")
            pos += length + (-length & 3)
        append((data, pid, ptype, named, value_pos))
    return pos


def _convert_entry(entry: Entry, codepage: int | None) -> tuple[Any, Any]:
    """The (value, raw) of a walked property; bounds were checked by ``_walk``."""
    data, _pid, ptype, _named, pos = entry
    fixed = _CONVERT.get(ptype)
    if fixed is not None:  # single-valued, fixed size (the MV flag is not set)
        return fixed[1](data, pos), None
    if ptype in _VARIABLE:  # single-valued, variable size: a count (1, normally) then values
        values, length = _KIND(data, pos)
        if values == 1:
            raw = bytes(data[pos + 8 : pos + 8 + length])
            return _text(raw, ptype, codepage), raw
    base_type = ptype & ~MV_FLAG
    multi = bool(ptype & MV_FLAG)
    fixed = _CONVERT.get(base_type)
    if fixed is not None:  # multi-valued, fixed size
        convert = fixed[1]
        (values,) = _U32(data, pos)
        stride = _STRIDE[base_type]
        return [convert(data, pos + 4 + i * stride) for i in range(values)], None
    (values,) = _U32(data, pos)
    pos += 4
    raws: list[bytes] = []
    for _ in range(values):
        (length,) = _U32(data, pos)
        raws.append(bytes(data[pos + 4 : pos + 4 + length]))
        pos += 4 + length + (-length & 3)
    texts = [_text(raw, base_type, codepage) for raw in raws]
    if multi:
        return texts, raws
    if not raws:
        # A single value must have a count of 1; tolerate 0 as empty.
        return ("" if base_type in (PT_UNICODE, PT_STRING8) else b""), b""
    return texts[0], raws[0]


def _text(raw: bytes, ptype: int, codepage: int | None) -> Any:
    """A variable-size value: strings decoded, binary data and objects as they are."""
    if ptype == PT_UNICODE:
        return decode_utf16(raw)
    if ptype == PT_STRING8:
        return decode_8bit(raw, codepage)
    return raw


def walk_props(data: Buffer, base: int, budget: Budget, *, lenient: bool = False) -> list[Entry]:
    """Walk a MAPI property list (count, then properties); ``base`` is its stream offset."""
    if len(data) < 4:
        raise _short(data, base, 0, 4, "property count")
    (count,) = _U32(data, 0)
    if count > budget.limits.max_properties:
        raise TnefError(f"more than {budget.limits.max_properties} properties", base)
    if count > (len(data) - 4) // 8 + 1:
        message = f"absurd property count {count} for {len(data)} bytes"
        if not lenient:
            raise TnefError(message, base)
        budget.warnings.append(f"{message} at offset {base}")
    entries: list[Entry] = []
    if not lenient:
        _walk(data, 4, count, base, budget, entries)
        return entries
    pos = 4
    for _ in range(count):  # lenient: keep every property read before the first error
        try:
            pos = _walk(data, pos, 1, base, budget, entries)
        except TnefError as exc:
            budget.warnings.append(f"property list truncated: {exc}")
            break
    return entries


def parse_props(
    data: Buffer, base: int, budget: Budget, *, lenient: bool = False
) -> list[Property]:
    """Parse a MAPI property list into Property objects (8-bit strings as Windows-1252)."""
    return Props(walk_props(data, base, budget, lenient=lenient)).props


class Props:
    """A walked property list: lookups by id or (GUID, lid/name), values converted on use.

    PT_STRING8 values are decoded with ``codepage`` (the message code page).
    """

    __slots__ = ("entries", "codepage", "_by_id", "_by_name", "_props")

    def __init__(self, entries: list[Entry] | None = None, codepage: int | None = None) -> None:
        self.entries: list[Entry] = entries if entries is not None else []
        self.codepage = codepage
        self._by_id: dict[int, Entry] | None = None
        self._by_name: dict[tuple[uuid.UUID, int | str], Entry] | None = None
        self._props: list[Property] | None = None

    def extend(self, entries: list[Entry]) -> None:
        self.entries.extend(entries)
        self._by_id = None
        self._by_name = None
        self._props = None

    def __len__(self) -> int:
        return len(self.entries)

    def _index(self) -> dict[int, Entry]:
        # Reversed, so that the first of duplicate ids wins.
        by_id = {entry[1]: entry for entry in reversed(self.entries) if entry[3] is None}
        self._by_id = by_id
        self._by_name = None
        return by_id

    def entry(self, pid: int) -> Entry | None:
        by_id = self._by_id
        if by_id is None:
            by_id = self._index()
        return by_id.get(pid)

    def prop(self, pid: int) -> Property | None:
        entry = self.entry(pid)
        return None if entry is None else self._property(entry)

    def get(self, pid: int) -> Any:
        by_id = self._by_id
        if by_id is None:
            by_id = self._index()
        entry = by_id.get(pid)
        return None if entry is None else _convert_entry(entry, self.codepage)[0]

    def raw(self, pid: int) -> Any:
        entry = self.entry(pid)
        return None if entry is None else _convert_entry(entry, self.codepage)[1]

    def text(self, pid: int) -> str | None:
        value = self.get(pid)
        if isinstance(value, str):
            return value or None
        return None

    def named(self, guid: uuid.UUID, key: int | str) -> Any:
        by_name = self._by_name
        if by_name is None:
            by_name = {}
            for item in reversed(self.entries):
                named = item[3]
                if named is not None:
                    name = named.lid if named.lid is not None else named.name or ""
                    by_name[(named.guid, name)] = item
            self._by_name = by_name
        found = by_name.get((guid, key))
        return None if found is None else _convert_entry(found, self.codepage)[0]

    def _property(self, entry: Entry) -> Property:
        value, raw = _convert_entry(entry, self.codepage)
        ptype = entry[2]
        return Property(entry[1], ptype & ~MV_FLAG, bool(ptype & MV_FLAG), value, raw, entry[3])

    @property
    def props(self) -> list[Property]:
        """Every property, converted (once)."""
        if self._props is None:
            self._props = [self._property(entry) for entry in self.entries]
        return self._props


def walk_rows(
    data: Buffer, base: int, budget: Budget, *, lenient: bool = False
) -> list[list[Entry]]:
    """Walk attRecipTable: a row count, then one property list per row."""
    if len(data) < 4:
        raise _short(data, base, 0, 4, "row count")
    (rows,) = _U32(data, 0)
    if rows > (len(data) - 4) // 4:
        message = f"absurd recipient row count {rows} for {len(data)} bytes"
        if not lenient:
            raise TnefError(message, base)
        budget.warnings.append(f"{message} at offset {base}")
    result: list[list[Entry]] = []
    pos = 4
    try:
        for _ in range(rows):
            if pos + 4 > len(data):
                raise _short(data, base, pos, 4, "property count")
            (count,) = _U32(data, pos)
            if count > (len(data) - pos) // 8 + 1:
                raise TnefError(f"absurd property count {count}", base + pos)
            row: list[Entry] = []
            pos = _walk(data, pos + 4, count, base, budget, row)
            result.append(row)
    except TnefError as exc:
        if not lenient:
            raise
        budget.warnings.append(f"recipient table truncated: {exc}")
    return result
