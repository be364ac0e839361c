"""The `caldav` library against the running stack: discovery from the well-known URL,
creating, querying by time range, and deleting events; over HTTPS with the local CA. Once
with the members' collections in files, once in PostgreSQL (`[store] url`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import caldav
import pytest

from tests.integration.test_dav_service import PASSWORDS, running_stack
from tests.support.stack import Stack


def event(uid: str, start: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//swissbox test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture(scope="module", params=["files", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    overrides = {}
    if request.param == "postgresql":
        overrides["store"] = {"url": request.getfixturevalue("postgres").new_database()}
    with running_stack(tmp_path_factory.mktemp("caldav"), **overrides) as s:
        yield s


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_caldav_events_lifecycle(stack: Stack, scheme: str) -> None:
    login = "bob@example.test"
    port = stack.ports[scheme]
    url = f"{scheme}://localhost:{port}/.well-known/caldav"
    kwargs = {"ssl_verify_cert": str(stack.ca_file)} if scheme == "https" else {}
    with caldav.DAVClient(url, username=login, password=PASSWORDS[login], **kwargs) as client:
        principal = client.principal()
        calendars = principal.calendars()
        assert [c.get_display_name() for c in calendars] == ["Calendar"]
        cal = calendars[0]
        uids = [f"{scheme}-{i}" for i in range(3)]
        for uid, start in zip(
            uids, ["20260310T090000Z", "20260315T090000Z", "20260420T090000Z"], strict=True
        ):
            cal.save_event(event(uid, start, f"Meeting {uid}"))
        march = cal.search(
            start=datetime(2026, 3, 1, tzinfo=UTC),
            end=datetime(2026, 4, 1, tzinfo=UTC),
            event=True,
            expand=False,
        )
        found = sorted(str(e.icalendar_component["uid"]) for e in march)
        assert found == uids[:2]
        cal.event_by_uid(uids[0]).delete()
        left = sorted(str(e.icalendar_component["uid"]) for e in cal.events())
        assert left == uids[1:]
        for uid in uids[1:]:
            cal.event_by_uid(uid).delete()
        assert cal.events() == []


def test_caldav_new_calendar_and_other_members(stack: Stack) -> None:
    alice, bob = "alice@example.test", "bob@example.test"
    url = f"http://127.0.0.1:{stack.ports['http']}/dav/"
    with caldav.DAVClient(url, username=alice, password=PASSWORDS[alice]) as client:
        principal = client.principal()
        made = principal.make_calendar(name="Projects", cal_id="projects")
        made.save_event(event("p-1", "20260501T080000Z", "Kick-off"))
        assert {c.get_display_name() for c in principal.calendars()} == {"Calendar", "Projects"}
        other = client.calendar(url=f"{url}bob%40example.test/calendar/")
        with pytest.raises(caldav.lib.error.DAVError):
            other.events()
    with caldav.DAVClient(url, username=bob, password=PASSWORDS[bob]) as client:
        mine = {c.get_display_name() for c in client.principal().calendars()}
        assert mine == {"Calendar"}
