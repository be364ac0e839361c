"""Outlook time zones ([MS-OXOCAL] 2.2.1.39 TimeZoneStruct, 2.2.1.41 TimeZoneDefinition) ->
a VTIMEZONE (RFC 5545 3.6.5) and local times, so a series keeps its wall-clock time across DST.

``zone_from(struct_blob or definition_blob)`` returns a ``Zone`` or None when the bytes are not
one; ``zone.local(utc)`` gives the naive local time, ``zone.vtimezone()`` the component lines.
"""

from __future__ import annotations

import calendar
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
RULE_EFFECTIVE = 0x0002  # TZRULE_FLAG_EFFECTIVE_TZREG
RULE_SIZE = 66


@dataclass(frozen=True)
class Transition:
    """A yearly onset: month, weekday (0 = Sunday), week (1-4, 5 = last), local hour/minute."""

    month: int
    weekday: int
    week: int
    hour: int
    minute: int

    def onset(self, year: int) -> datetime:
        """The naive local date and time of the onset in ``year``."""
        first = (calendar.weekday(year, self.month, 1) + 1) % 7  # 0 = Sunday
        day = 1 + (self.weekday - first) % 7 + 7 * (self.week - 1)
        last = calendar.monthrange(year, self.month)[1]
        while day > last:
            day -= 7
        return datetime(year, self.month, day, self.hour, self.minute)

    def rrule(self) -> str:
        week = -1 if self.week == 5 else self.week
        return f"FREQ=YEARLY;BYMONTH={self.month};BYDAY={week}{_DAYS[self.weekday]}"


@dataclass(frozen=True)
class Zone:
    """Standard and daylight offsets from UTC (minutes) and the onsets of each."""

    name: str
    standard: int
    daylight: int
    to_standard: Transition | None
    to_daylight: Transition | None

    def offset(self, utc: datetime) -> timedelta:
        """The offset from UTC in effect at the instant ``utc``."""
        if self.to_standard is None or self.to_daylight is None:
            return timedelta(minutes=self.standard)
        clock = utc.astimezone(UTC).replace(tzinfo=None) + timedelta(minutes=self.standard)
        begin = self.to_daylight.onset(clock.year)  # on the standard clock
        end = self.to_standard.onset(clock.year) - timedelta(minutes=self.daylight - self.standard)
        dst = begin <= clock < end if begin < end else not end <= clock < begin
        return timedelta(minutes=self.daylight if dst else self.standard)

    def local(self, utc: datetime) -> datetime:
        """The naive wall-clock time in this zone at the instant ``utc``."""
        return utc.astimezone(UTC).replace(tzinfo=None) + self.offset(utc)

    def vtimezone(self, tzid: str) -> list[str]:
        lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
        if self.to_standard is None or self.to_daylight is None:
            lines += _observance("STANDARD", "19700101T000000", None, self.standard, self.standard)
        else:
            for kind, onset, before, after in (
                ("STANDARD", self.to_standard, self.daylight, self.standard),
                ("DAYLIGHT", self.to_daylight, self.standard, self.daylight),
            ):
                start = f"{onset.onset(1970):%Y%m%dT%H%M%S}"
                lines += _observance(kind, start, onset.rrule(), before, after)
        lines.append("END:VTIMEZONE")
        return lines


def _observance(kind: str, start: str, rule: str | None, before: int, after: int) -> list[str]:
    lines = [f"BEGIN:{kind}", f"DTSTART:{start}"]
    if rule:
        lines.append(f"RRULE:{rule}")
    lines += [f"TZOFFSETFROM:{_offset(before)}", f"TZOFFSETTO:{_offset(after)}", f"END:{kind}"]
    return lines


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}"


def _transition(system_time: bytes) -> Transition | None:
    _year, month, weekday, week, hour, minute = struct.unpack_from("<6H", system_time, 0)
    if month == 0:
        return None
    if not (1 <= month <= 12 and 0 <= weekday <= 6 and 1 <= week <= 5 and hour < 24):
        raise ValueError("not a SYSTEMTIME transition")
    return Transition(month, weekday, week, hour, minute if minute < 60 else 0)


def _zone(name: str, rule: bytes) -> Zone | None:
    """From lBias, lStandardBias, lDaylightBias, then the two SYSTEMTIMEs (standard first)."""
    bias, standard_bias, daylight_bias = struct.unpack_from("<3i", rule, 0)
    to_standard = _transition(rule[12:28])
    to_daylight = _transition(rule[28:44])
    standard, daylight = -(bias + standard_bias), -(bias + daylight_bias)
    if not (-16 * 60 <= standard <= 16 * 60 and -16 * 60 <= daylight <= 16 * 60):
        return None
    if to_standard is None or to_daylight is None or standard == daylight:
        to_standard = to_daylight = None
    return Zone(name, standard, daylight, to_standard, to_daylight)


def zone_from_struct(blob: bytes, name: str | None = None) -> Zone | None:
    """PidLidTimeZoneStruct: biases, then wStandardYear + SYSTEMTIME, wDaylightYear + SYSTEMTIME."""
    try:
        if len(blob) < 48:
            return None
        rule = blob[:12] + blob[14:30] + blob[32:48]
        return _zone(name or "Custom Time Zone", rule)
    except (struct.error, ValueError):
        return None


def zone_from_definition(blob: bytes, year: int | None = None) -> Zone | None:
    """A TimeZoneDefinition: the key name, then rules; the one in effect for ``year``."""
    try:
        major = blob[0]
        if major != 2:
            return None
        chars = struct.unpack_from("<H", blob, 6)[0]
        name = blob[8 : 8 + 2 * chars].decode("utf-16-le", "replace")
        pos = 8 + 2 * chars
        count = struct.unpack_from("<H", blob, pos)[0]
        pos += 2
        rules: list[tuple[int, int, bytes]] = []
        for _ in range(min(count, 1024)):
            raw = blob[pos : pos + RULE_SIZE]
            if len(raw) < RULE_SIZE:
                break
            flags, rule_year = struct.unpack_from("<HH", raw, 4)
            # after flags, year and 14 reserved bytes: biases and SYSTEMTIMEs as in the struct
            rules.append((flags, rule_year, raw[22:66]))
            pos += RULE_SIZE
        if not rules:
            return None
        chosen = rules[0]
        for rule in rules:
            if year is not None and rule[1] <= year:
                chosen = rule
        if year is None:
            chosen = next((r for r in rules if r[0] & RULE_EFFECTIVE), rules[-1])
        return _zone(name.strip("\0") or "Custom Time Zone", chosen[2])
    except (struct.error, ValueError):
        return None
