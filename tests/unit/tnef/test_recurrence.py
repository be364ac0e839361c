"""Recurrence patterns ([MS-OXOCAL] 2.2.1.44.1) become RRULEs."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.tnef import decode
from swissbox.tnef.calendar import to_icalendar
from swissbox.tnef.recurrence import rrule

from . import writer as w


def _minutes(day: datetime) -> int:
    return int((day - datetime(1601, 1, 1)) / timedelta(minutes=1))


def pattern(
    frequency: int,
    kind: int,
    period: int,
    specific: bytes = b"",
    *,
    end_type: int = 0x2023,
    count: int = 10,
    first_dow: int = 1,
    end: datetime = datetime(2024, 12, 31),
    deleted: int = 0,
) -> bytes:
    head = struct.pack("<5HIII", 0x3004, 0x3004, frequency, kind, 0, 0, period, 0)
    tail = struct.pack("<III", end_type, count, first_dow)
    tail += struct.pack("<I", deleted) + b"\0\0\0\0" * deleted + struct.pack("<I", 0)
    tail += struct.pack("<II", _minutes(datetime(2024, 1, 1)), _minutes(end))
    return head + specific + tail


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (pattern(0x200A, 0, 1440 * 2), "FREQ=DAILY;INTERVAL=2"),
        (
            pattern(0x200B, 1, 1, struct.pack("<I", 0b0111110), end_type=0x2022, count=5),
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;COUNT=5;WKST=MO",
        ),
        (
            pattern(0x200C, 2, 3, struct.pack("<I", 15), end_type=0x2021, deleted=2),
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15;UNTIL=20241231T235959Z",
        ),
        (pattern(0x200C, 3, 1, struct.pack("<I", 31)), "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=-1"),
        (
            pattern(0x200C, 4, 1, struct.pack("<II", 0b0000100, 5)),
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=TU;BYSETPOS=-1",
        ),
        (
            pattern(0x200D, 4, 12, struct.pack("<II", 0b0010000, 2)),
            "FREQ=YEARLY;INTERVAL=1;BYDAY=TH;BYSETPOS=2;BYMONTH=3",
        ),
    ],
)
def test_patterns(blob: bytes, expected: str) -> None:
    assert rrule(blob, datetime(2024, 3, 4, tzinfo=UTC)) == expected


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x04\x30" * 3, pattern(0x200A, 0, 1440)[:30], pattern(0x200C, 0x0A, 1, b"\0" * 4)],
)
def test_bad_or_unsupported_patterns(blob: bytes) -> None:
    assert rrule(blob) is None


def test_recurring_meeting_has_rrule() -> None:
    appt = w.PSETID_APPOINTMENT
    start = datetime(2024, 3, 4, 9, tzinfo=UTC)
    blob = pattern(0x200B, 1, 2, struct.pack("<I", 0b0000010), end_type=0x2022, count=4)
    data = w.message(
        message_class="IPM.Schedule.Meeting.Request",
        subject="Weekly",
        msg_props=[
            w.systime(0x8001, start, named=(appt, 0x820D)),
            w.systime(0x8002, start + timedelta(hours=1), named=(appt, 0x820E)),
            w.binary(0x8003, blob, named=(appt, 0x8216)),
        ],
    )
    result = to_icalendar(decode(data), now=start)
    assert result is not None
    assert b"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=4;WKST=MO\r\n" in result[1]


@settings(max_examples=200, deadline=1000)
@given(st.binary(max_size=120))
def test_random_patterns_never_raise(data: bytes) -> None:
    result = rrule(b"\x04\x30\x04\x30" + data)
    assert result is None or result.startswith("FREQ=")
