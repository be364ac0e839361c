"""Recurring appointments: PidLidAppointmentRecur ([MS-OXOCAL] 2.2.1.44.1) -> an RRULE.

``rrule(blob)`` returns the RRULE value (e.g. ``FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE``) or None
when the pattern is absent, malformed, or not expressible (Hijri calendars).
"""

from __future__ import annotations

import struct
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
