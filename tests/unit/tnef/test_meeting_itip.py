"""Meeting requests as iTIP (RFC 5546): organizer and attendees from SMTP addresses, the
Outlook time zone as a VTIMEZONE with TZID times, and the series' deletions and overrides.
icalendar + recurring_ical_events (what CalDAV clients use) are the oracle."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events

from swissbox.tnef import decode
from swissbox.tnef.calendar import to_icalendar
from swissbox.tnef.timezones import zone_from_definition, zone_from_struct

from . import writer as w

APPT = w.PSETID_APPOINTMENT


def minutes(value: datetime) -> int:
    return int((value - datetime(1601, 1, 1)) / timedelta(minutes=1))


def system_time(month: int, weekday: int, week: int, hour: int) -> bytes:
    return struct.pack("<8H", 0, month, weekday, week, hour, 0, 0, 0)


BERLIN_RULE = struct.pack("<3i", -60, 0, -60) + system_time(10, 0, 5, 3) + system_time(3, 0, 5, 2)


def zone_definition(name: str = "W. Europe Standard Time") -> bytes:
    key = name.encode("utf-16-le")
    rule = struct.pack("<BBHHH", 2, 1, 0x3E, 0x0002, 2026) + b"\0" * 14 + BERLIN_RULE
    header = struct.pack("<HH", 0, len(name)) + key + struct.pack("<H", 1)
    return struct.pack("<BBH", 2, 1, len(header)) + header + rule


def zone_struct() -> bytes:
    rule = BERLIN_RULE
    return rule[:12] + b"\0\0" + rule[12:28] + b"\0\0" + rule[28:44]


def weekly_mondays(first: datetime, count: int, deleted: datetime, moved: datetime) -> bytes:
    """A weekly-on-Monday AppointmentRecurrencePattern with one deletion and one occurrence
    moved from its Monday to ``moved`` (times are local, as in the blob)."""
    original = moved.replace(hour=first.hour) - timedelta(days=1)
    head = struct.pack("<5HIII", 0x3004, 0x3004, 0x200B, 1, 0, 0, 1, 0) + struct.pack("<I", 2)
    head += struct.pack("<III", 0x2022, count, 1)
    head += struct.pack("<III", 2, minutes(deleted), minutes(original.replace(hour=0)))
    head += struct.pack("<II", 1, minutes(moved.replace(hour=0)))
    head += struct.pack(
        "<II", minutes(first.replace(hour=0)), minutes(first + timedelta(weeks=count))
    )
    subject = b"Moved"
    end = moved + timedelta(hours=1)
    exception = struct.pack("<IIIH", minutes(moved), minutes(end), minutes(original), 0x0001)
    exception += struct.pack("<HH", len(subject) + 1, len(subject)) + subject
    tail = struct.pack("<IIIIH", 0x3006, 0x3009, 9 * 60, 10 * 60, 1) + exception
    return head + tail + struct.pack("<II", 0, 0)


def meeting(message_class: str = "IPM.Schedule.Meeting.Request", **extra: bytes) -> bytes:
    first = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin (CET)
    props = [
        w.unicode(0x0C1A, "Olivia Organizer"),
        w.unicode(
            0x0C1F, "/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=olivia"
        ),
        w.unicode(0x5D01, "olivia@example.org"),
        w.unicode(0x0C1E, "EX"),
        w.systime(0x8001, first, named=(APPT, 0x820D)),
        w.systime(0x8002, first + timedelta(hours=1), named=(APPT, 0x820E)),
        w.long(0x8003, 2, named=(APPT, 0x8201)),
        w.binary(0x8004, zone_definition(), named=(APPT, 0x8260)),
        w.binary(0x8005, zone_definition(), named=(APPT, 0x825E)),
        w.binary(
            0x8006,
            weekly_mondays(
                datetime(2026, 3, 16, 9), 6, datetime(2026, 4, 6), datetime(2026, 4, 14, 11)
            ),
            named=(APPT, 0x8216),
        ),
        w.systime(0x0039, datetime(2026, 3, 10, 12, tzinfo=UTC)),
    ]
    return w.message(
        message_class=message_class,
        subject="Weekly sync",
        msg_props=props,
        recipients=[
            [
                w.unicode(0x3001, "Ann"),
                w.unicode(0x3003, "/o=ExchangeLabs/cn=ann"),
                w.unicode(0x39FE, "ann@example.org"),
                w.long(0x0C15, 1),
            ],
            [
                w.unicode(0x3001, "Bob"),
                w.unicode(0x3003, "bob@example.net"),
                w.unicode(0x3002, "SMTP"),
                w.long(0x0C15, 2),
            ],
            [
                w.unicode(0x3001, "Legacy only"),
                w.unicode(0x3003, "/o=ExchangeLabs/cn=x"),
                w.long(0x0C15, 1),
            ],
        ],
    )


def test_zone_definition_and_struct() -> None:
    for zone in (zone_from_definition(zone_definition(), 2026), zone_from_struct(zone_struct())):
        assert zone is not None
        assert zone.local(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 59)
        assert zone.local(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 3, 0)
        assert zone.local(datetime(2026, 10, 25, 0, 59, tzinfo=UTC)) == datetime(
            2026, 10, 25, 2, 59
        )
        assert zone.local(datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) == datetime(2026, 10, 25, 2, 0)
    assert zone_from_definition(b"\x02\x01junk") is None
    assert zone_from_struct(b"\0" * 10) is None


def ical(data: bytes) -> tuple[str, icalendar.Calendar]:
    method, text = to_icalendar(decode(data)) or ("", b"")
    return method, icalendar.Calendar.from_ical(text)


def test_request_has_organizer_attendees_and_no_legacy_dn() -> None:
    method, calendar = ical(meeting())
    assert method == "REQUEST" and str(calendar["METHOD"]) == "REQUEST"
    [master] = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
    assert str(master["ORGANIZER"]) == "mailto:olivia@example.org"
    attendees = {str(a): a.params for a in master["ATTENDEE"]}
    assert set(attendees) == {"mailto:ann@example.org", "mailto:bob@example.net"}
    assert attendees["mailto:ann@example.org"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["mailto:bob@example.net"]["ROLE"] == "OPT-PARTICIPANT"
    assert attendees["mailto:ann@example.org"]["RSVP"] == "TRUE"
    assert int(master["SEQUENCE"]) == 2
    assert "/o=" not in calendar.to_ical().decode().lower()


def test_weekly_series_keeps_local_time_across_dst() -> None:
    _, calendar = ical(meeting())
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "W. Europe Standard Time"
    events = recurring_ical_events.of(calendar).between(datetime(2026, 3, 1), datetime(2026, 6, 1))
    starts = sorted(e["DTSTART"].dt for e in events)
    local = [s.strftime("%m-%d %H:%M") for s in starts]
    # 6 Mondays from 16 March; 6 April deleted; 13 April moved to Tuesday 14 April 11:00
    assert local == ["03-16 09:00", "03-23 09:00", "03-30 09:00", "04-14 11:00", "04-20 09:00"]
    utc = [s.astimezone(UTC).strftime("%m-%d %H:%M") for s in starts]
    assert utc[:3] == ["03-16 08:00", "03-23 08:00", "03-30 07:00"]  # DST from 29 March
    moved = next(e for e in events if e["DTSTART"].dt.day == 14)
    assert str(moved["SUMMARY"]) == "Moved"
    assert str(moved["ORGANIZER"]) == "mailto:olivia@example.org"


def test_cancel_and_reply_methods() -> None:
    assert ical(meeting("IPM.Schedule.Meeting.Canceled"))[0] == "CANCEL"
    method, calendar = ical(meeting("IPM.Schedule.Meeting.Resp.Pos"))
    assert method == "REPLY"
    [master] = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
    assert master["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"


def test_rewrite_takes_attendees_from_the_mail_when_tnef_has_none() -> None:
    """Outlook often sends a meeting request without attRecipTable: the To/Cc of the mail
    around winmail.dat are the attendees, its From the organizer when TNEF has no sender, its
    Date the DTSTAMP when TNEF has no date."""
    import email
    import email.policy

    from swissbox.tnef import rewrite

    first = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    tnef = w.message(
        message_class="IPM.Schedule.Meeting.Request",
        subject="Sync",
        msg_props=[
            w.systime(0x8001, first, named=(APPT, 0x820D)),
            w.systime(0x8002, first + timedelta(hours=1), named=(APPT, 0x820E)),
        ],
    )
    mail = email.message.EmailMessage()
    mail["From"] = "Olivia <olivia@example.org>"
    mail["To"] = "Ann <ann@example.org>, carl@example.org"
    mail["Cc"] = "Bob <bob@example.net>"
    mail["Subject"] = "Sync"
    mail["Date"] = "Tue, 10 Mar 2026 13:00:00 +0100"
    mail.set_content("invite")
    mail.add_attachment(tnef, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    out, report = rewrite(mail.as_bytes(policy=email.policy.SMTP))
    assert report.changed
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    [part] = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:olivia@example.org"
    assert event["DTSTAMP"].dt == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # from the Date
    roles = {str(a): a.params["ROLE"] for a in event["ATTENDEE"]}
    assert roles == {
        "mailto:ann@example.org": "REQ-PARTICIPANT",
        "mailto:carl@example.org": "REQ-PARTICIPANT",
        "mailto:bob@example.net": "OPT-PARTICIPANT",
    }
