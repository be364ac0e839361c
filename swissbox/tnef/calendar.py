"""Calendar items ([MS-OXOCAL], [MS-OXOTASK]) -> iCalendar (RFC 5545 / iTIP RFC 5546).

``to_icalendar(message)`` returns ``(method, bytes)`` for meeting requests, replies,
cancellations, appointments and tasks, or None for anything else.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .model import Attachment, Message
from .props import PR_CREATION_TIME, PR_IMPORTANCE, PR_LAST_MODIFICATION_TIME, Props
from .recurrence import Override, rrule, series_exceptions
from .timezones import Zone, zone_from_definition, zone_from_struct

PSETID_APPOINTMENT = uuid.UUID("00062002-0000-0000-c000-000000000046")
PSETID_TASK = uuid.UUID("00062003-0000-0000-c000-000000000046")
PSETID_COMMON = uuid.UUID("00062008-0000-0000-c000-000000000046")
PSETID_MEETING = uuid.UUID("6ed8da90-450b-101b-98da-00aa003f1305")

LID_BUSY_STATUS = 0x8205
LID_LOCATION = 0x8208
LID_APPOINTMENT_SEQUENCE = 0x8201
LID_START_WHOLE = 0x820D
LID_END_WHOLE = 0x820E
LID_SUB_TYPE = 0x8215  # all-day event
LID_RECURRENCE = 0x8216  # PidLidAppointmentRecur
LID_COMMON_START = 0x8516
LID_COMMON_END = 0x8517
LID_TIME_ZONE_STRUCT = 0x8233
LID_TIME_ZONE_DESCRIPTION = 0x8234
LID_ZONE_DEFINITION_START = 0x825E  # PidLidAppointmentTimeZoneDefinitionStartDisplay
LID_ZONE_DEFINITION_RECURRENCE = 0x8260  # ...TimeZoneDefinitionRecurrencePattern
PR_RECIPIENT_FLAGS = 0x5FFD
RECIPIENT_ORGANIZER = 0x0002
LID_WHERE = 0x0002
LID_GLOBAL_OBJECT_ID = 0x0003
LID_CLEAN_GLOBAL_OBJECT_ID = 0x0023
LID_TASK_STATUS = 0x8101
LID_PERCENT_COMPLETE = 0x8102
LID_TASK_START = 0x8104
LID_TASK_DUE = 0x8105
LID_TASK_DATE_COMPLETED = 0x810F
LID_TASK_COMPLETE = 0x811C
LID_TASK_GLOBAL_ID = 0x8519  # in PSETID_COMMON: the same for a task and its requests

_VCAL_UID = b"vCal-Uid\x01\x00\x00\x00"
_BUSY = {0: "FREE", 1: "TENTATIVE", 2: "BUSY", 3: "OOF", 4: "WORKINGELSEWHERE"}
_PARTSTAT = {"pos": "ACCEPTED", "neg": "DECLINED", "tent": "TENTATIVE"}
_ROLE = {1: "REQ-PARTICIPANT", 2: "OPT-PARTICIPANT", 3: "NON-PARTICIPANT"}
_TASK_STATUS = {
    0: "NEEDS-ACTION",
    1: "IN-PROCESS",
    2: "COMPLETED",
    3: "NEEDS-ACTION",
    4: "CANCELLED",
}


def method_for(message_class: str | None) -> str | None:
    """The iTIP method for a message class, or None when it is not a calendar item."""
    cls = _canonical_class(message_class)
    if cls.startswith("ipm.schedule.meeting.request"):
        return "REQUEST"
    if cls.startswith("ipm.schedule.meeting.canceled") or cls.startswith(
        "ipm.schedule.meeting.cancelled"
    ):
        return "CANCEL"
    if cls.startswith("ipm.schedule.meeting.resp"):
        return "REPLY"
    if cls.startswith(("ipm.taskrequest.accept", "ipm.taskrequest.decline")):
        return "REPLY"
    if cls.startswith("ipm.taskrequest"):
        return "REQUEST"
    if cls.startswith(("ipm.appointment", "ipm.task")):
        return "PUBLISH"
    return None


_OLD_CLASSES = {
    # Schedule+ era names, still written to attMessageClass by Exchange.
    "ipm.microsoft schedule.mtgreq": "ipm.schedule.meeting.request",
    "ipm.microsoft schedule.mtgresp": "ipm.schedule.meeting.resp.pos",
    "ipm.microsoft schedule.mtgrespp": "ipm.schedule.meeting.resp.pos",
    "ipm.microsoft schedule.mtgrespn": "ipm.schedule.meeting.resp.neg",
    "ipm.microsoft schedule.mtgrespa": "ipm.schedule.meeting.resp.tent",
    "ipm.microsoft schedule.mtgcncl": "ipm.schedule.meeting.canceled",
}


def _canonical_class(message_class: str | None) -> str:
    cls = (message_class or "").strip().lower()
    return _OLD_CLASSES.get(cls, cls)


def uid_from_goid(goid: bytes) -> str:
    """The iCalendar UID for a PidLidGlobalObjectId ([MS-OXOCAL] 2.2.1.27)."""
    if len(goid) >= 40:
        size = int.from_bytes(goid[36:40], "little")
        data = goid[40 : 40 + size]
        if data.startswith(_VCAL_UID):
            uid = data[len(_VCAL_UID) :].split(b"\0", 1)[0]
            if uid:
                return uid.decode("utf-8", errors="replace")
        goid = goid[:16] + b"\0\0\0\0" + goid[20:]  # the clean id: instance date zeroed
    return goid.hex().upper()


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
        .translate(_NO_CONTROLS)
    )


_NO_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
# DTSTAMP when the message carries no date at all: fixed, so the same input gives the same output.
NO_DATE = datetime(1980, 1, 1, tzinfo=UTC)


def _param(text: str) -> str:
    text = _CONTROLS.sub(" ", text.replace('"', "'")).strip()
    return f'"{text}"' if any(c in text for c in ":;,") else text


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 sequence."""
    raw = line.encode("utf-8", "replace")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8", "replace"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value:%Y}".zfill(4) + value.strftime("%m%dT%H%M%SZ")


def _date(value: datetime) -> str:
    # All-day items are stored as local midnights in UTC; noon shifts them onto the right day.
    value = value.astimezone(UTC)
    if value.year < 9999:
        value += timedelta(hours=12)
    return f"{value:%Y}".zfill(4) + value.strftime("%m%d")


def _when(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _percent(value: Any) -> int | None:
    """PidLidPercentComplete (0.0-1.0) as 0-100; NaN and infinities are no value."""
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    return round(max(0.0, min(1.0, value)) * 100)


def _address(name: str | None, email: str | None) -> str | None:
    email = "".join((email or "").split())  # no whitespace or line breaks in a URI
    email = _CONTROLS.sub("", email)
    if not email or "@" not in email or email.startswith("/"):
        return None  # an Exchange legacy DN (/o=ExchangeLabs/...) is no address
    cn = f";CN={_param(name)}" if name else ""
    return f"{cn}:mailto:{email}"


def to_icalendar(message: Message, now: datetime | None = None) -> tuple[str, bytes] | None:
    """An iCalendar object for a calendar item, or None when the message is not one."""
    method = method_for(message.message_class)
    if method is None:
        return None
    props = message.mapi
    stamp = now or message.date_sent or message.date_received or message.date_modified
    for pid in (PR_LAST_MODIFICATION_TIME, PR_CREATION_TIME):
        stamp = stamp or _when(props.get(pid))
    stamp = stamp or NO_DATE
    lines = ["BEGIN:VCALENDAR", "PRODID:-//swissbox//TNEF decoder//EN", "VERSION:2.0"]
    lines.append(f"METHOD:{method}")
    cls = _canonical_class(message.message_class)
    if cls.startswith("ipm.task"):
        lines += _vtodo(message, method, cls, stamp)
    else:
        lines += _vevent(message, props, method, cls, stamp)
    lines.append("END:VCALENDAR")
    text = "".join(_fold(line) + "\r\n" for line in lines)
    return method, text.encode("utf-8", "replace")


def _uid(props: Props, message: Message) -> str:
    for lid in (LID_CLEAN_GLOBAL_OBJECT_ID, LID_GLOBAL_OBJECT_ID):
        goid = props.named(PSETID_MEETING, lid)
        if isinstance(goid, bytes) and goid:
            return uid_from_goid(goid)
    seed = f"{message.message_id}|{message.subject}|{message.date_sent}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed)).upper()


def zone_of(props: Props, start: datetime | None, recurring: bool) -> Zone | None:
    """The item's time zone: the definition for its kind, else PidLidTimeZoneStruct."""
    year = start.year if start is not None else None
    order = (LID_ZONE_DEFINITION_RECURRENCE, LID_ZONE_DEFINITION_START)
    for lid in order if recurring else order[::-1]:
        blob = props.named(PSETID_APPOINTMENT, lid)
        if isinstance(blob, bytes) and blob:
            zone = zone_from_definition(blob, year)
            if zone is not None:
                return zone
    blob = props.named(PSETID_APPOINTMENT, LID_TIME_ZONE_STRUCT)
    if isinstance(blob, bytes):
        name = props.named(PSETID_APPOINTMENT, LID_TIME_ZONE_DESCRIPTION)
        return zone_from_struct(blob, name if isinstance(name, str) else None)
    return None


class _Times:
    """Renders DTSTART/DTEND/EXDATE/RECURRENCE-ID: dates, local times with TZID, or UTC."""

    def __init__(self, zone: Zone | None, all_day: bool) -> None:
        self.zone, self.all_day = zone, all_day
        self.tzid = _CONTROLS.sub(" ", zone.name).replace('"', "'").strip() if zone else ""

    def instant(self, name: str, value: datetime) -> str:
        if self.all_day:
            return f"{name};VALUE=DATE:{_date(value)}"
        if self.zone is not None:
            return f"{name};TZID={_param(self.tzid)}:{self.zone.local(value):%Y%m%dT%H%M%S}"
        return f"{name}:{_utc(value)}"

    def local(self, name: str, value: datetime, start: datetime | None) -> str:
        """A naive local time from the recurrence blob."""
        if self.all_day:
            return f"{name};VALUE=DATE:{value:%Y%m%d}"
        if self.zone is not None:
            return f"{name};TZID={_param(self.tzid)}:{value:%Y%m%dT%H%M%S}"
        # No zone known: the series' own UTC time of day on that date is the best guess.
        if start is not None:
            value = datetime.combine(value.date(), start.astimezone(UTC).time(), UTC)
        return f"{name}:{_utc(value.replace(tzinfo=UTC))}"


def _vevent(message: Message, props: Props, method: str, cls: str, stamp: datetime) -> list[str]:
    uid = _uid(props, message)
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{_utc(stamp)}"]
    start = _when(props.named(PSETID_APPOINTMENT, LID_START_WHOLE)) or _when(
        props.named(PSETID_COMMON, LID_COMMON_START)
    )
    end = _when(props.named(PSETID_APPOINTMENT, LID_END_WHOLE)) or _when(
        props.named(PSETID_COMMON, LID_COMMON_END)
    )
    start = start or _attribute_date(message, 0x0006)
    end = end or _attribute_date(message, 0x0007)
    all_day = bool(props.named(PSETID_APPOINTMENT, LID_SUB_TYPE))
    recurrence = props.named(PSETID_APPOINTMENT, LID_RECURRENCE)
    recurring = isinstance(recurrence, bytes) and bool(recurrence)
    zone = None if all_day else zone_of(props, start, recurring)
    times = _Times(zone, all_day)
    if start is not None:
        lines.append(times.instant("DTSTART", start))
    if end is not None:
        lines.append(times.instant("DTEND", end))
    overrides: list[Override] = []
    if isinstance(recurrence, bytes) and recurrence:
        rule = rrule(recurrence, zone.local(start) if zone and start else start)
        if rule:
            lines.append(f"RRULE:{rule}")
            exceptions = series_exceptions(recurrence)
            if exceptions is not None:
                lines += [times.local("EXDATE", d, start) for d in exceptions.deleted]
                overrides = exceptions.overrides
    if message.subject:
        lines.append(f"SUMMARY:{_escape(message.subject)}")
    location = props.named(PSETID_APPOINTMENT, LID_LOCATION) or props.named(
        PSETID_MEETING, LID_WHERE
    )
    if isinstance(location, str) and location:
        lines.append(f"LOCATION:{_escape(location)}")
    if message.body_text and message.body_text.strip():
        lines.append(f"DESCRIPTION:{_escape(message.body_text.strip())}")
    sequence = props.named(PSETID_APPOINTMENT, LID_APPOINTMENT_SEQUENCE)
    if isinstance(sequence, int):
        lines.append(f"SEQUENCE:{sequence}")
    sender = _address(message.sender_name, message.sender_email)
    if method == "REPLY":
        organizer = next((r for r in message.recipients if r.email and r.type == 1), None)
        if organizer is not None:
            lines.append(f"ORGANIZER{_address(organizer.name, organizer.email)}")
        answer = cls.rsplit(".", 1)[-1]
        partstat = _PARTSTAT.get(answer, "NEEDS-ACTION")
        if sender:
            lines.append(f"ATTENDEE;PARTSTAT={partstat}{sender}")
    else:
        if sender:
            lines.append(f"ORGANIZER{sender}")
        for recipient in message.recipients:
            address = _address(recipient.name, recipient.email)
            flags = recipient.mapi.get(PR_RECIPIENT_FLAGS)
            if address is None or (isinstance(flags, int) and flags & RECIPIENT_ORGANIZER):
                continue
            role = _ROLE.get(recipient.type, "REQ-PARTICIPANT")
            cutype = ";CUTYPE=RESOURCE" if recipient.type == 3 else ""
            rsvp = ";RSVP=TRUE" if method == "REQUEST" else ""
            lines.append(f"ATTENDEE;ROLE={role}{cutype};PARTSTAT=NEEDS-ACTION{rsvp}{address}")
    if method == "CANCEL":
        lines.append("STATUS:CANCELLED")
    elif method == "REQUEST":
        lines.append("STATUS:CONFIRMED")
    busy = props.named(PSETID_APPOINTMENT, LID_BUSY_STATUS)
    if isinstance(busy, int) and busy in _BUSY:
        lines.append("TRANSP:TRANSPARENT" if busy == 0 else "TRANSP:OPAQUE")
        lines.append(f"X-MICROSOFT-CDO-BUSYSTATUS:{_BUSY[busy]}")
    if message.priority in (1, 3):
        lines.append(f"PRIORITY:{1 if message.priority == 1 else 9}")
    lines.append("END:VEVENT")
    for override in overrides:
        lines += _override(lines, override, times, start)
    if zone is not None:
        lines = zone.vtimezone(times.tzid) + lines
    return lines


_KEPT_IN_OVERRIDES = ("SUMMARY", "LOCATION", "ORGANIZER", "ATTENDEE", "SEQUENCE", "STATUS")


def _override(
    master: list[str], override: Override, times: _Times, start: datetime | None
) -> list[str]:
    """A VEVENT for one changed occurrence (RECURRENCE-ID), with the master's people and text."""
    lines = ["BEGIN:VEVENT", master[1], master[2]]
    lines.append(times.local("RECURRENCE-ID", override.original, start))
    lines.append(times.local("DTSTART", override.start, start))
    lines.append(times.local("DTEND", override.end, start))
    for line in master:
        name = line.split(":", 1)[0].split(";", 1)[0]
        if name == "SUMMARY" and override.subject is not None:
            line = f"SUMMARY:{_escape(override.subject)}"
        elif name == "LOCATION" and override.location is not None:
            line = f"LOCATION:{_escape(override.location)}"
        if name in _KEPT_IN_OVERRIDES:
            lines.append(line)
    lines.append("END:VEVENT")
    return lines


def request_task(message: Message) -> Attachment | None:
    """The embedded IPM.Task a task request (or its answer) carries, if any ([MS-OXOTASK] 2.2.3)."""
    if not _canonical_class(message.message_class).startswith("ipm.taskrequest"):
        return None
    for attachment in message.attachments:
        inner = attachment.embedded
        if inner is not None and _canonical_class(inner.message_class).startswith("ipm.task"):
            return attachment
    return None


def _task_uid(task: Message, request: Message) -> str:
    global_id = task.mapi.named(PSETID_COMMON, LID_TASK_GLOBAL_ID)
    if not isinstance(global_id, bytes) or not global_id:
        global_id = request.mapi.named(PSETID_COMMON, LID_TASK_GLOBAL_ID)
    if isinstance(global_id, bytes) and global_id:
        return global_id.hex().upper()
    return _uid(task.mapi, task)


def _vtodo(message: Message, method: str, cls: str, stamp: datetime) -> list[str]:
    """One VTODO for a task or a task request: the fields come from the task itself (embedded
    in a request), the UID from PidLidTaskGlobalId, which the task and its requests share."""
    embedded = request_task(message)
    task = embedded.embedded if embedded is not None and embedded.embedded else message
    props = task.mapi
    lines = ["BEGIN:VTODO", f"UID:{_task_uid(task, message)}", f"DTSTAMP:{_utc(stamp)}"]
    subject = task.subject or message.subject
    if subject:
        lines.append(f"SUMMARY:{_escape(subject)}")
    start = _when(props.named(PSETID_TASK, LID_TASK_START))
    due = _when(props.named(PSETID_TASK, LID_TASK_DUE))
    if start is not None:
        lines.append(f"DTSTART;VALUE=DATE:{_date(start)}")
    if due is not None:
        lines.append(f"DUE;VALUE=DATE:{_date(due)}")
    status = props.named(PSETID_TASK, LID_TASK_STATUS)
    if isinstance(status, int) and status in _TASK_STATUS:
        lines.append(f"STATUS:{_TASK_STATUS[status]}")
    percent = _percent(props.named(PSETID_TASK, LID_PERCENT_COMPLETE))
    if percent is not None:
        lines.append(f"PERCENT-COMPLETE:{percent}")
    completed = _when(props.named(PSETID_TASK, LID_TASK_DATE_COMPLETED))
    if completed is not None:
        lines.append(f"COMPLETED:{_utc(completed)}")
    body = task.body_text if task.body_text and task.body_text.strip() else message.body_text
    if body and body.strip():
        lines.append(f"DESCRIPTION:{_escape(body.strip())}")
    importance = props.get(PR_IMPORTANCE)
    if isinstance(importance, int) and importance in (0, 2):
        lines.append(f"PRIORITY:{9 if importance == 0 else 1}")
    sender = _address(message.sender_name, message.sender_email)
    if method == "REPLY":
        # The assignee answers the task's owner, who is the request's recipient.
        owner = next((r for r in message.recipients if r.email and r.type == 1), None)
        if owner is not None:
            lines.append(f"ORGANIZER{_address(owner.name, owner.email)}")
        partstat = "ACCEPTED" if cls.startswith("ipm.taskrequest.accept") else "DECLINED"
        if sender:
            lines.append(f"ATTENDEE;PARTSTAT={partstat}{sender}")
    else:
        if sender:
            lines.append(f"ORGANIZER{sender}")
        if method == "REQUEST":
            for recipient in message.recipients:
                address = _address(recipient.name, recipient.email)
                if address is not None:
                    lines.append(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE{address}")
    lines.append("END:VTODO")
    return lines


def _attribute_date(message: Message, attr_id: int) -> datetime | None:
    """attDateStart / attDateEnd, which meeting messages also carry as TNEF attributes."""
    for attr in message.attributes:
        if attr.id == attr_id and attr.level == 1 and len(attr.data) >= 12:
            year, month, day, hour, minute, second = (
                int.from_bytes(attr.data[i : i + 2], "little") for i in range(0, 12, 2)
            )
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                return None
    return None
