"""Meeting requests, replies, cancellations and tasks become iCalendar ([MS-OXOCAL])."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from swissbox.tnef import decode
from swissbox.tnef.calendar import method_for, to_icalendar, uid_from_goid

from . import writer as w

START = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
END = datetime(2024, 3, 4, 10, 45, tzinfo=UTC)
GOID_HEAD = bytes.fromhex("040000008200E00074C5B7101A82E008")


def _goid(data: bytes, instance: bytes = b"\0\0\0\0") -> bytes:
    return GOID_HEAD + instance + b"\x01" * 8 + b"\0" * 8 + struct.pack("<I", len(data)) + data


def _meeting(message_class: str, extra: list[bytes] | None = None, **kwargs: object) -> bytes:
    appt = w.PSETID_APPOINTMENT
    props = [
        w.systime(0x8001, START, named=(appt, 0x820D)),
        w.systime(0x8002, END, named=(appt, 0x820E)),
        w.string8(0x8003, "Room 1; Floor 2", named=(appt, 0x8208)),
        w.long(0x8004, 2, named=(appt, 0x8205)),
        w.long(0x8005, 3, named=(appt, 0x8201)),
        w.binary(
            0x8006,
            _goid(b"\xaa\xbb", instance=b"\x07\xe8\x03\x04"),
            named=(w.PSETID_MEETING, 0x0003),
        ),
        w.string8(0x0042, "Olga Organiser"),
        w.string8(0x5D02, "olga@example.org"),
        w.unicode(0x1000, "Agenda:\nitem, one"),
        *(extra or []),
    ]
    recipients = [
        [
            w.unicode(0x3001, "Ann Attendee"),
            w.string8(0x39FE, "ann@example.org"),
            w.long(0x0C15, 1),
        ],
        [
            w.unicode(0x3001, "Otto Optional"),
            w.string8(0x3003, "otto@example.org"),
            w.long(0x0C15, 2),
        ],
        [w.unicode(0x3001, "Beamer"), w.string8(0x3003, "beamer@example.org"), w.long(0x0C15, 3)],
    ]
    return w.message(
        message_class=message_class,
        subject="Planning",
        msg_props=props,
        recipients=recipients,
        **kwargs,  # type: ignore[arg-type]
    )


def _ical(data: bytes) -> tuple[str, str]:
    result = to_icalendar(decode(data), now=datetime(2024, 1, 1, tzinfo=UTC))
    assert result is not None
    method, ical = result
    return method, ical.decode("utf-8").replace("\r\n ", "")


def test_method_for_classes() -> None:
    assert method_for("IPM.Schedule.Meeting.Request") == "REQUEST"
    assert method_for("IPM.Schedule.Meeting.Canceled") == "CANCEL"
    assert method_for("IPM.Schedule.Meeting.Resp.Pos") == "REPLY"
    assert method_for("IPM.Appointment") == "PUBLISH"
    assert method_for("IPM.Task") == "PUBLISH"
    assert method_for("IPM.Note") is None


def test_meeting_request() -> None:
    method, ical = _ical(_meeting("IPM.Schedule.Meeting.Request"))
    assert method == "REQUEST"
    lines = ical.split("\r\n")
    assert "METHOD:REQUEST" in lines
    assert "BEGIN:VEVENT" in lines
    assert "DTSTART:20240304T093000Z" in lines
    assert "DTEND:20240304T104500Z" in lines
    assert "SUMMARY:Planning" in lines
    assert "LOCATION:Room 1\\; Floor 2" in lines
    assert "DESCRIPTION:Agenda:\\nitem\\, one" in lines
    assert "ORGANIZER;CN=Olga Organiser:mailto:olga@example.org" in lines
    assert any(
        line.startswith("ATTENDEE;ROLE=REQ-PARTICIPANT") and line.endswith("mailto:ann@example.org")
        for line in lines
    )
    assert any(
        line.startswith("ATTENDEE;ROLE=OPT-PARTICIPANT") and "otto@example.org" in line
        for line in lines
    )
    assert any("CUTYPE=RESOURCE" in line and "beamer@example.org" in line for line in lines)
    assert "SEQUENCE:3" in lines
    assert "X-MICROSOFT-CDO-BUSYSTATUS:BUSY" in lines
    # The UID is the global object id with the instance date cleared, in hex.
    expected_uid = _goid(b"\xaa\xbb").hex().upper()
    assert f"UID:{expected_uid}" in lines
    assert ical.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_vcal_uid_inside_goid() -> None:
    goid = _goid(b"vCal-Uid\x01\x00\x00\x00my-uid@example\x00")
    assert uid_from_goid(goid) == "my-uid@example"


def test_reply_and_cancel() -> None:
    method, ical = _ical(_meeting("IPM.Schedule.Meeting.Resp.Tent"))
    assert method == "REPLY"
    assert "ATTENDEE;PARTSTAT=TENTATIVE;CN=Olga Organiser:mailto:olga@example.org" in ical
    assert "ORGANIZER;CN=Ann Attendee:mailto:ann@example.org" in ical
    method, ical = _ical(_meeting("IPM.Schedule.Meeting.Canceled"))
    assert method == "CANCEL" and "STATUS:CANCELLED" in ical


def test_all_day_event_uses_dates() -> None:
    local_midnight = datetime(2024, 5, 19, 22, 0, tzinfo=UTC)  # 20 May, 00:00 at UTC+2
    appt = w.PSETID_APPOINTMENT
    data = w.message(
        message_class="IPM.Appointment",
        msg_props=[
            w.systime(0x8001, local_midnight, named=(appt, 0x820D)),
            w.systime(0x8002, local_midnight.replace(day=20), named=(appt, 0x820E)),
            w.boolean(0x8003, True, named=(appt, 0x8215)),
        ],
    )
    _method, ical = _ical(data)
    assert "DTSTART;VALUE=DATE:20240520" in ical
    assert "DTEND;VALUE=DATE:20240521" in ical


def test_task_becomes_vtodo() -> None:
    task = w.PSETID_TASK
    data = w.message(
        message_class="IPM.Task",
        subject="Write report",
        msg_props=[
            w.systime(0x8001, datetime(2024, 6, 1, tzinfo=UTC), named=(task, 0x8105)),
            w.long(0x8002, 1, named=(task, 0x8101)),
            w.prop(0x0005, 0x8003, struct.pack("<d", 0.25), named=(task, 0x8102)),
            w.long(0x0017, 2),
        ],
    )
    method, ical = _ical(data)
    assert method == "PUBLISH"
    for line in (
        "BEGIN:VTODO",
        "SUMMARY:Write report",
        "DUE;VALUE=DATE:20240601",
        "STATUS:IN-PROCESS",
        "PERCENT-COMPLETE:25",
        "PRIORITY:1",
        "END:VTODO",
    ):
        assert line in ical


def test_long_lines_are_folded() -> None:
    data = _meeting("IPM.Schedule.Meeting.Request", extra=[w.unicode(0x0037, "é" * 100)])
    ical = to_icalendar(decode(data), now=START)
    assert ical is not None
    assert all(len(line) <= 75 for line in ical[1].split(b"\r\n"))


def test_not_a_calendar_item() -> None:
    assert to_icalendar(decode(w.message(subject="x"))) is None


def test_schedule_plus_class_names() -> None:
    assert method_for("IPM.Microsoft Schedule.MtgReq") == "REQUEST"
    assert method_for("IPM.Microsoft Schedule.MtgCncl") == "CANCEL"
    method, ical = _ical(_meeting("IPM.Microsoft Schedule.MtgRespN"))
    assert method == "REPLY" and "PARTSTAT=DECLINED" in ical
