"""A task request (IPM.TaskRequest) is one task: one VTODO, one UID, all the task's fields."""

from __future__ import annotations

import email
import email.policy
import struct
import uuid
from datetime import UTC, datetime

import vobject

from swissbox.tnef import decode, rewrite
from swissbox.tnef.calendar import to_icalendar

from . import writer as w

PSETID_COMMON = uuid.UUID("00062008-0000-0000-c000-000000000046")
GLOBAL_ID = bytes(range(16))


def task_request(message_class: str = "IPM.TaskRequest") -> bytes:
    task = w.PSETID_TASK
    inner = w.message(
        message_class="IPM.Task",
        subject="Write the report",
        msg_props=[
            w.unicode(0x1000, "All chapters, please."),
            w.systime(0x8001, datetime(2026, 6, 1, 22, tzinfo=UTC), named=(task, 0x8105)),
            w.systime(0x8002, datetime(2026, 5, 20, 22, tzinfo=UTC), named=(task, 0x8104)),
            w.long(0x8003, 1, named=(task, 0x8101)),
            w.prop(0x0005, 0x8004, struct.pack("<d", 0.4), named=(task, 0x8102)),
            w.binary(0x8005, GLOBAL_ID, named=(PSETID_COMMON, 0x8519)),
            w.long(0x0017, 2),
        ],
    )
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + inner]))
    return w.message(
        message_class=message_class,
        subject="Task Request: Write the report",
        msg_props=[
            w.unicode(0x0C1A, "Boss"),
            w.unicode(0x5D01, "boss@example.org"),
            w.unicode(0x1000, "Please take this on."),
            w.binary(0x8005, GLOBAL_ID, named=(PSETID_COMMON, 0x8519)),
        ],
        recipients=[[w.unicode(0x3001, "Worker"), w.unicode(0x39FE, "worker@example.org")]],
        attachments=[
            [
                w.attribute(w.ATT, w.ATTACH_TITLE, b"Write the report\0"),
                w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5), obj)),
            ]
        ],
    )


def test_task_request_is_one_whole_vtodo() -> None:
    method, ical = to_icalendar(decode(task_request())) or ("", b"")
    assert method == "REQUEST"
    calendar = vobject.readOne(ical.decode("utf-8"))
    [todo] = calendar.contents["vtodo"]
    assert todo.uid.value == GLOBAL_ID.hex().upper()
    assert todo.summary.value == "Write the report"
    assert todo.description.value == "All chapters, please."
    assert str(todo.due.value) == "2026-06-02"
    assert todo.status.value == "IN-PROCESS"
    assert todo.contents["percent-complete"][0].value == "40"
    assert todo.priority.value == "1"
    assert todo.organizer.value == "mailto:boss@example.org"
    assert todo.attendee.value == "mailto:worker@example.org"


def test_rewrite_gives_one_calendar_part_and_no_second_task() -> None:
    mail = email.message.EmailMessage()
    mail["Subject"] = "Task Request"
    mail.set_content("Please take this on.")
    mail.add_attachment(
        task_request(), maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    out, report = rewrite(mail.as_bytes(policy=email.policy.SMTP))
    assert report.changed
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    types = [p.get_content_type() for p in parsed.walk()]
    assert types.count("text/calendar") == 1 and "message/rfc822" not in types
    assert out.count(b"BEGIN:VTODO") <= 1  # the part may be base64/QP: check decoded too
    [part] = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    assert part.get_content().count("BEGIN:VTODO") == 1


def test_task_request_answers_are_replies() -> None:
    method, ical = to_icalendar(decode(task_request("IPM.TaskRequest.Accept"))) or ("", b"")
    assert method == "REPLY"
    todo = vobject.readOne(ical.decode("utf-8")).vtodo
    assert todo.attendee.params["PARTSTAT"] == ["ACCEPTED"]
    assert todo.uid.value == GLOBAL_ID.hex().upper()
