"""A meeting request from winmail.dat, imported into a CalDAV calendar of the running stack
through the `caldav` library (as a client accepting the invitation does): the series keeps its
local time across the DST change and shows its organizer and attendees (issue 19.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import caldav
import pytest

from swissbox.tnef import decode
from swissbox.tnef.calendar import to_icalendar
from tests.integration.test_dav_service import PASSWORDS, running_stack
from tests.support.stack import Stack
from tests.unit.tnef.test_meeting_itip import meeting


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("tnef-caldav")) as s:
        yield s


def test_meeting_request_imported_over_caldav(stack: Stack) -> None:
    method, ical = to_icalendar(decode(meeting())) or ("", b"")
    assert method == "REQUEST"
    # A stored calendar object carries no METHOD (RFC 4791 4.1): the client drops it on import.
    stored = ical.decode("utf-8").replace("METHOD:REQUEST\r\n", "")
    login = "bob@example.test"
    url = f"http://localhost:{stack.ports['http']}/.well-known/caldav"
    with caldav.DAVClient(url, username=login, password=PASSWORDS[login]) as client:
        calendar = client.principal().calendars()[0]
        calendar.save_event(stored)
        found = calendar.search(
            start=datetime(2026, 3, 1, tzinfo=UTC),
            end=datetime(2026, 6, 1, tzinfo=UTC),
            event=True,
            expand=True,
        )
        starts = sorted(e.icalendar_component["DTSTART"].dt for e in found)
        assert [s.astimezone(UTC).strftime("%m-%d %H:%M") for s in starts] == [
            "03-16 08:00",
            "03-23 08:00",
            "03-30 07:00",  # after the change to summer time: still 09:00 in Berlin
            "04-14 09:00",  # the occurrence moved to Tuesday 11:00
            "04-20 07:00",
        ]
        [series] = [e for e in calendar.events() if "Weekly sync" in e.data]
        component = series.icalendar_component
        assert str(component["DTSTART"].params["TZID"]) == "W. Europe Standard Time"
        assert str(component["ORGANIZER"]) == "mailto:olivia@example.org"
        attendees = sorted(str(a) for a in component["ATTENDEE"])
        assert attendees == ["mailto:ann@example.org", "mailto:bob@example.net"]
        series.delete()
