"""MAPI properties in TNEF: every PT_ type, multi-valued, named, code pages, bounds."""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime

import pytest

from swissbox.tnef import TnefError, decode
from swissbox.tnef.errors import Budget, Limits
from swissbox.tnef.props import parse_props

from . import writer as w

WHEN = datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC)
GUID = uuid.UUID("12345678-1234-5678-9abc-def012345678")


def _one(item: bytes) -> object:
    parsed = parse_props(w.props(item), 0, Budget(Limits()))
    assert len(parsed) == 1
    return parsed[0].value


@pytest.mark.parametrize(
    ("ptype", "encoded", "expected"),
    [
        (0x0002, struct.pack("<hH", -5, 0), -5),
        (0x0003, struct.pack("<i", -70000), -70000),
        (0x0004, struct.pack("<f", 1.5), 1.5),
        (0x0005, struct.pack("<d", 2.25), 2.25),
        (0x0006, struct.pack("<q", 123456), 123456),
        (0x0007, struct.pack("<d", 2.5), datetime(1900, 1, 1, 12, tzinfo=UTC)),
        (0x000A, struct.pack("<I", 0x80004005), 0x80004005),
        (0x000B, struct.pack("<HH", 1, 0), True),
        (0x0014, struct.pack("<q", -(2**40)), -(2**40)),
        (0x0040, struct.pack("<Q", w.filetime(WHEN)), WHEN),
        (0x0048, GUID.bytes_le, GUID),
        (0x0001, b"\0\0\0\0", None),
        (0x0102, w.var([b"\x00\x01\x02"]), b"\x00\x01\x02"),
        (0x001F, w.var(["Grüße €".encode("utf-16-le") + b"\0\0"]), "Grüße €"),
        (0x000D, w.var([b"\x01" * 20]), b"\x01" * 20),
        (0x00FB, w.var([b"svr"]), b"svr"),
    ],
)
def test_single_values(ptype: int, encoded: bytes, expected: object) -> None:
    assert _one(w.prop(ptype, 0x6001, encoded)) == expected


@pytest.mark.parametrize(
    ("ptype", "encoded", "expected"),
    [
        (0x1002, w.u32(2) + struct.pack("<hHhH", 1, 0, -2, 0), [1, -2]),
        (0x1003, w.u32(3) + struct.pack("<3i", 1, 2, 3), [1, 2, 3]),
        (0x1005, w.u32(1) + struct.pack("<d", 0.5), [0.5]),
        (0x1014, w.u32(2) + struct.pack("<2q", 7, 8), [7, 8]),
        (0x1040, w.u32(1) + struct.pack("<Q", w.filetime(WHEN)), [WHEN]),
        (0x1048, w.u32(2) + GUID.bytes_le * 2, [GUID, GUID]),
        (0x1102, w.var([b"a", b"bcdef"]), [b"a", b"bcdef"]),
        (0x101F, w.var(["x".encode("utf-16-le"), "yz".encode("utf-16-le") + b"\0\0"]), ["x", "yz"]),
        (0x1003, w.u32(0), []),
    ],
)
def test_multi_values(ptype: int, encoded: bytes, expected: object) -> None:
    assert _one(w.prop(ptype, 0x6002, encoded)) == expected


def test_string8_uses_message_codepage() -> None:
    data = w.message(codepage=1251, msg_props=[w.string8(0x0037, "Привет", "cp1251")])
    assert decode(data).subject == "Привет"


def test_pr_message_codepage_wins_over_oem() -> None:
    data = w.message(
        codepage=1252,
        msg_props=[w.long(0x3FFD, 1253), w.string8(0x0037, "Καλημέρα", "cp1253")],
    )
    assert decode(data).subject == "Καλημέρα"


def test_multivalued_string8() -> None:
    item = w.prop(0x101E, 0x6003, w.var([b"caf\xe9\0", b"na\xefve\0"]))
    data = w.message(msg_props=[item])
    [prop] = [p for p in decode(data).props if p.id == 0x6003]
    assert prop.multi and prop.value == ["café", "naïve"]
    assert prop.type_name == "PT_MV_STRING8"


def test_named_properties_by_id_and_name() -> None:
    data = w.message(
        msg_props=[
            w.long(0x8001, 42, named=(GUID, 0x8233)),
            w.unicode(0x8002, "blue", named=(w.PS_PUBLIC_STRINGS, "Keywords")),
            w.string8(0x8003, "x", named=(GUID, "odd-length")),
        ]
    )
    message = decode(data)
    named = {str(p.named): p.value for p in message.props if p.named}
    assert named[f"{{{GUID}}}:0x8233"] == 42
    assert named[f"{{{w.PS_PUBLIC_STRINGS}}}:'Keywords'"] == "blue"
    assert message.propmap.named(GUID, "odd-length") == "x"


def test_unknown_type_is_an_error_with_offset() -> None:
    with pytest.raises(TnefError, match=r"unknown property type 0x0099.*offset \d+"):
        parse_props(w.props(w.prop(0x0099, 0x6000, b"1234")), 100, Budget(Limits()))


def test_absurd_counts() -> None:
    with pytest.raises(TnefError, match="absurd property count"):
        parse_props(w.u32(1000) + b"\0" * 16, 0, Budget(Limits()))
    with pytest.raises(TnefError, match="absurd value count"):
        parse_props(w.props(w.prop(0x1003, 0x6000, w.u32(10**9))), 0, Budget(Limits()))
    with pytest.raises(TnefError, match="needed"):
        parse_props(w.props(w.prop(0x0102, 0x6000, w.u32(1) + w.u32(10**9))), 0, Budget(Limits()))


def test_property_limit() -> None:
    items = [w.long(0x6000 + i, i) for i in range(20)]
    with pytest.raises(TnefError, match="more than 10 properties"):
        parse_props(w.props(*items), 0, Budget(Limits(max_properties=10)))


def test_lenient_keeps_what_came_before() -> None:
    items = w.props(w.long(0x6000, 1), w.prop(0x0099, 0x6001, b"????"))
    budget = Budget(Limits())
    parsed = parse_props(items, 0, budget, lenient=True)
    assert [p.value for p in parsed] == [1]
    assert budget.warnings
