"""Recurring appointments: PidLidAppointmentRecur ([MS-OXOCAL] 2.2.1.44.1) -> an RRULE.

``rrule(blob)`` returns the RRULE value (e.g. ``FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE``) or None
when the pattern is absent, malformed, or not expressible (Hijri calendars).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

FREQ_DAILY, FREQ_WEEKLY, FREQ_MONTHLY, FREQ_YEARLY = 0x200A, 0x200B, 0x200C, 0x200D
PATTERN_DAY, PATTERN_WEEK, PATTERN_MONTH, PATTERN_MONTH_END, PATTERN_MONTH_NTH = 0, 1, 2, 3, 4
END_AFTER_DATE, END_AFTER_N = 0x2021, 0x2022
_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_EPOCH = datetime(1601, 1, 1)


def _days(mask: int) -> str:
    return ",".join(day for bit, day in enumerate(_DAYS) if mask & (1 << bit))


def rrule(blob: bytes, start: datetime | None = None) -> str | None:
    """The RRULE for a RecurrencePattern blob; ``start`` gives the month of yearly rules."""
    try:
        return _rrule(blob, start)
    except (struct.error, ValueError, OverflowError, IndexError):
        return None


def _rrule(blob: bytes, start: datetime | None) -> str | None:
    reader, writer, frequency, pattern, calendar = struct.unpack_from("<5H", blob, 0)
    if reader != 0x3004 or calendar not in (0, 1):  # Gregorian only
        return None
    _first, period, _sliding = struct.unpack_from("<III", blob, 10)
    pos = 22
    specific: tuple[int, ...] = ()
    if pattern in (PATTERN_WEEK, PATTERN_MONTH, PATTERN_MONTH_END):
        specific = struct.unpack_from("<I", blob, pos)
        pos += 4
    elif pattern == PATTERN_MONTH_NTH:
        specific = struct.unpack_from("<II", blob, pos)
        pos += 8
    elif pattern != PATTERN_DAY:
        return None
    end_type, count, first_dow = struct.unpack_from("<III", blob, pos)
    pos += 12
    deleted = struct.unpack_from("<I", blob, pos)[0]
    pos += 4 + 4 * deleted
    modified = struct.unpack_from("<I", blob, pos)[0]
    pos += 4 + 4 * modified
    _start_date, end_date = struct.unpack_from("<II", blob, pos)
    parts: list[str] = []
    if pattern == PATTERN_DAY:
        if period < 1440 or period % 1440:
            return None
        parts += ["FREQ=DAILY", f"INTERVAL={period // 1440}"]
    elif pattern == PATTERN_WEEK:
        weekly = _days(specific[0])
        if not weekly or period < 1:
            return None
        parts += ["FREQ=WEEKLY", f"INTERVAL={period}", f"BYDAY={weekly}"]
    else:
        yearly = frequency == FREQ_YEARLY
        if period < 1 or (yearly and period % 12):
            return None
        parts += ["FREQ=YEARLY" if yearly else "FREQ=MONTHLY"]
        parts.append(f"INTERVAL={period // 12 if yearly else period}")
        if pattern == PATTERN_MONTH:
            day = specific[0]
            if not 1 <= day <= 31:
                return None
            parts.append(f"BYMONTHDAY={day}")
        elif pattern == PATTERN_MONTH_END:
            parts.append("BYMONTHDAY=-1")
        else:
            mask, nth = specific
            if not _days(mask) or not 1 <= nth <= 5:
                return None
            parts += [f"BYDAY={_days(mask)}", f"BYSETPOS={-1 if nth == 5 else nth}"]
        if yearly and start is not None:
            parts.append(f"BYMONTH={start.month}")
    if end_type == END_AFTER_N and count > 0:
        parts.append(f"COUNT={count}")
    elif end_type == END_AFTER_DATE:
        until = _EPOCH + timedelta(minutes=end_date)
        parts.append(f"UNTIL={until:%Y%m%d}T235959Z")
    if 0 <= first_dow <= 6 and pattern == PATTERN_WEEK:
        parts.append(f"WKST={_DAYS[first_dow]}")
    del writer
    return ";".join(parts)


# ExceptionInfo override flags ([MS-OXOCAL] 2.2.1.44.2) and the size of each optional field.
ARO_SUBJECT, ARO_LOCATION = 0x0001, 0x0010
_ARO_FIXED = {0x0002: 4, 0x0004: 4, 0x0008: 4, 0x0020: 4, 0x0040: 4, 0x0080: 4, 0x0100: 4}
MAX_EXCEPTIONS = 5000


@dataclass(frozen=True)
class Override:
    """One changed occurrence: its original start, new start and end (naive local times)."""

    original: datetime
    start: datetime
    end: datetime
    subject: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class SeriesExceptions:
    """Occurrences deleted (original local start times) and changed, of a recurring series."""

    deleted: list[datetime]
    overrides: list[Override]


def series_exceptions(blob: bytes) -> SeriesExceptions | None:
    """The deletions and overrides of an AppointmentRecurrencePattern, or None if malformed."""
    try:
        return _series_exceptions(blob)
    except (struct.error, ValueError, OverflowError, IndexError):
        return None


def _minutes(value: int) -> datetime:
    return _EPOCH + timedelta(minutes=value)


def _series_exceptions(blob: bytes) -> SeriesExceptions | None:
    reader, _writer, _frequency, pattern = struct.unpack_from("<4H", blob, 0)
    if reader != 0x3004:
        return None
    pos = 22 + {PATTERN_WEEK: 4, PATTERN_MONTH: 4, PATTERN_MONTH_END: 4, PATTERN_MONTH_NTH: 8}.get(
        pattern, 0
    )
    pos += 12
    deleted_count = struct.unpack_from("<I", blob, pos)[0]
    if deleted_count > MAX_EXCEPTIONS:
        return None
    deleted_days = struct.unpack_from(f"<{deleted_count}I", blob, pos + 4)
    pos += 4 + 4 * deleted_count
    modified_count = struct.unpack_from("<I", blob, pos)[0]
    if modified_count > MAX_EXCEPTIONS:
        return None
    pos += 4 + 4 * modified_count + 8
    _reader2, _writer2, start_offset, _end_offset = struct.unpack_from("<4I", blob, pos)
    pos += 16
    count = struct.unpack_from("<H", blob, pos)[0]
    pos += 2
    overrides: list[Override] = []
    for _ in range(count):
        start, end, original, flags = struct.unpack_from("<IIIH", blob, pos)
        pos += 14
        subject = location = None
        for bit in (0x0001, 0x0002, 0x0004, 0x0008, 0x0010, 0x0020, 0x0040, 0x0080, 0x0100):
            if not flags & bit:
                continue
            if bit in (ARO_SUBJECT, ARO_LOCATION):
                _size, length = struct.unpack_from("<HH", blob, pos)
                text = blob[pos + 4 : pos + 4 + length].decode("cp1252", "replace")
                pos += 4 + length
                subject, location = (text, location) if bit == ARO_SUBJECT else (subject, text)
            else:
                pos += _ARO_FIXED[bit]
        overrides.append(
            Override(_minutes(original), _minutes(start), _minutes(end), subject, location)
        )
    changed = {o.original.date() for o in overrides}
    offset = timedelta(minutes=start_offset)
    deleted = [_minutes(d) + offset for d in deleted_days if _minutes(d).date() not in changed]
    return SeriesExceptions(deleted=deleted, overrides=overrides)
