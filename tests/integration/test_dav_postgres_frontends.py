"""CalDAV on two `swissbox serve` front ends over one PostgreSQL (`[store] url`): an event
saved with the `caldav` library through A is read back through B with the same etag; a
sync-collection on B sees exactly what changed through A; fifty clients at once on both
front ends, right and wrong input mixed, lose no update and see one set of etags."""

from __future__ import annotations

import random
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import caldav
import pytest

from swissbox.store import open_database
from tests.clients.test_dav_caldav import event
from tests.integration.test_dav_service import NS, PASSWORDS, DavHttp, build_stack, home, propfind
from tests.support.stack import Stack

LOGIN = "bob@example.test"
CALENDAR = f"{home(LOGIN)}calendar/"
BUSY = "carol@example.test"  # the fifty clients' member (first contact is theirs)
BUSY_CALENDAR = f"{home(BUSY)}calendar/"


@pytest.fixture(scope="module")
def frontends(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any
) -> Iterator[tuple[Stack, Stack, str]]:
    tmp_path = tmp_path_factory.mktemp("davfrontends")
    url = postgres.new_database()
    a = build_stack(tmp_path / "a", store={"url": url})
    b = Stack(tmp_path / "b", store={"url": url})
    b.init()
    with a, b:
        a.start()
        b.start()
        yield a, b, url
        assert a.stop() == 0 and b.stop() == 0
    assert not (a.data / "dav" / "collection-root").exists()  # nothing went to files
    assert not (b.data / "dav" / "collection-root").exists()


def client(stack: Stack, login: str = LOGIN) -> caldav.DAVClient:
    url = f"http://127.0.0.1:{stack.ports['http']}/dav/"
    return caldav.DAVClient(url, username=login, password=PASSWORDS[login])


def etags(http: DavHttp, login: str = LOGIN, path: str = CALENDAR) -> dict[str, str]:
    """{href: etag} of the members of `path`, by PROPFIND depth 1."""
    status, _, data = http.request(
        "PROPFIND", path, login, body=propfind("<D:getetag/>"), headers={"Depth": "1"}
    )
    assert status == 207, data
    out = {}
    for resp in ET.fromstring(data).findall("D:response", NS):
        href = resp.findtext("D:href", namespaces=NS) or ""
        etag = resp.findtext("D:propstat/D:prop/D:getetag", namespaces=NS)
        if etag and href != path:
            out[href] = etag
    return out


def test_event_saved_on_a_is_read_and_synced_on_b(frontends: tuple[Stack, Stack, str]) -> None:
    a, b, url = frontends
    with client(a) as ca, client(b) as cb:
        cal_a = ca.principal().calendars()[0]
        cal_a.save_event(event("first", "20260310T090000Z", "Planning"))
        cal_b = cb.principal().calendars()[0]
        assert [c.get_display_name() for c in cb.principal().calendars()] == ["Calendar"]
        got = cal_b.event_by_uid("first")
        assert str(got.icalendar_component["summary"]) == "Planning"
        assert etags(DavHttp(a.ports["http"])) == etags(DavHttp(b.ports["http"]))

        synced = cal_b.get_objects_by_sync_token(load_objects=True, disable_fallback=True)
        assert [str(o.icalendar_component["uid"]) for o in synced] == ["first"]
        token = synced.sync_token
        cal_a.save_event(event("second", "20260311T090000Z", "Review"))
        cal_a.event_by_uid("first").delete()
        updated, deleted = synced.sync()
        assert [str(o.icalendar_component["uid"]) for o in updated] == ["second"]
        assert len(deleted) == 1 and str(deleted[0].url).endswith("first.ics")
        assert synced.sync_token != token
        assert synced.sync() == ([], [])  # nothing since: nothing again

    with open_database(url, name="dav") as db:  # the rows are where B read them from
        rows = db.all("SELECT i.href FROM dav_items i JOIN dav_collections c"
                      " ON c.id = i.collection_id WHERE c.path = ?", (f"{LOGIN}/calendar",))  # fmt: skip
        assert [r[0] for r in rows] == ["second.ics"]


COUNTER = f"{BUSY_CALENDAR}counter.ics"


def counter_event(value: int) -> str:
    return event("counter", "20260101T080000Z", f"count {value}")


def bump_counter(http: DavHttp) -> int:
    """Read-modify-write of the counter with If-Match until it sticks; the 412s it met."""
    refused = 0
    while True:
        status, headers, body = http.request("GET", COUNTER, BUSY)
        assert status == 200, (status, body)
        value = int(body.decode().split("SUMMARY:count ")[1].split("\r\n")[0])
        status, _, reply = http.request(
            "PUT", COUNTER, BUSY, body=counter_event(value + 1),
            headers={"Content-Type": "text/calendar", "If-Match": headers["etag"]},
        )  # fmt: skip
        if status in (201, 204):
            return refused
        assert status == 412, (status, reply)
        refused += 1


def test_fifty_clients_on_both_front_ends(frontends: tuple[Stack, Stack, str]) -> None:
    a, b, _ = frontends
    https = [DavHttp(a.ports["http"]), DavHttp(b.ports["http"])]
    statuses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    met, start = threading.Barrier(50), threading.Barrier(50)
    bumpers = 20

    def work(n: int) -> None:
        http = https[n % 2]
        try:
            # First contact of all fifty at once, on both front ends: the principal and its
            # calendar and address book are made once.
            got = http.request("PROPFIND", home(BUSY), BUSY, body=propfind("<D:getetag/>"),
                               headers={"Depth": "1"})  # fmt: skip
            with lock:
                statuses.append(got[0])
                if got[0] != 207:
                    failures.append(f"client {n} first contact: {got[0]} {got[2][:200]!r}")
            met.wait(timeout=60)
            if n == 0:
                seeded = http.request("PUT", COUNTER, BUSY, body=counter_event(0),
                                      headers={"Content-Type": "text/calendar"})  # fmt: skip
                assert seeded[0] == 201, seeded
            start.wait(timeout=60)
            if n < bumpers:
                bump_counter(http)
                return
            if n % 5 == 0:  # malformed iCalendar: 400, nothing stored
                got = http.request("PUT", f"{BUSY_CALENDAR}bad-{n}.ics", BUSY, body="BEGIN:VCALENDAR\r\nnope",
                                   headers={"Content-Type": "text/calendar"})  # fmt: skip
                want = {400}
            elif n % 5 == 1:  # a stale If-Match: 412, nothing stored
                got = http.request("PUT", f"{BUSY_CALENDAR}own-{n}.ics", BUSY,
                                   body=event(f"own-{n}", "20260201T080000Z", "x"),
                                   headers={"Content-Type": "text/calendar", "If-Match": '"stale"'})  # fmt: skip
                want = {412}
            else:
                got = http.request("PUT", f"{BUSY_CALENDAR}own-{n}.ics", BUSY,
                                   body=event(f"own-{n}", "20260201T080000Z", f"event {n}"),
                                   headers={"Content-Type": "text/calendar"})  # fmt: skip
                want = {201}
            with lock:
                statuses.append(got[0])
                if got[0] not in want:
                    failures.append(f"client {n}: {got[0]} {got[2][:200]!r}")
        except Exception as exc:  # noqa: BLE001 (reported below)
            with lock:
                failures.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert all(s < 500 for s in statuses)

    status, _, body = https[1].request("GET", COUNTER, BUSY)
    assert status == 200 and f"SUMMARY:count {bumpers}\r\n" in body.decode()  # no lost update
    assert set(etags(https[0], BUSY, home(BUSY))) == {BUSY_CALENDAR, f"{home(BUSY)}contacts/",
                                                     f"{home(BUSY)}directory-1/"}  # fmt: skip
    seen_a, seen_b = etags(https[0], BUSY, BUSY_CALENDAR), etags(https[1], BUSY, BUSY_CALENDAR)
    assert seen_a == seen_b
    stored = {n for n in range(bumpers, 50) if n % 5 not in (0, 1)}
    assert set(seen_a) == {COUNTER} | {f"{BUSY_CALENDAR}own-{n}.ics" for n in stored}
    for href in random.sample(sorted(seen_a), 5):  # an etag is the one its GET answers
        status, headers, _ = https[0].request("GET", href, BUSY)
        assert status == 200 and headers["etag"] == seen_b[href]


def test_import_list_and_hand_over_in_postgresql(
    frontends: tuple[Stack, Stack, str], tmp_path: Path
) -> None:
    """The CLI's DAV verbs work on the PostgreSQL collections: `dav import` through A's data
    folder is served by B, `account collections` counts it, and removing the member with
    `--transfer-to` hands the calendars over, as B then serves them."""
    a, b, _ = frontends
    dave = "dave@example.test"
    ics = tmp_path / "dave.ics"
    ics.write_text(event("dentist", "20260312T140000Z", "Dentist"))
    done = a.cli("dav", "import", dave, str(ics))
    assert done.returncode == 0 and "1 new" in done.stdout, done.stderr
    with client(b, dave) as cb:
        found = cb.principal().calendars()[0].event_by_uid("dentist")
        assert str(found.icalendar_component["summary"]) == "Dentist"
    listed = b.cli("account", "collections", dave, check=True).stdout
    assert "calendar\tcalendar\t1\tCalendar" in listed and "contacts\taddress book\t0" in listed
    a.cli("org", "member", "remove", dave, "--transfer-to", LOGIN, "--confirm", dave, check=True)
    http = DavHttp(b.ports["http"])
    status, _, body = http.request("GET", f"{home(LOGIN)}calendar-from-dave/dentist.ics", LOGIN)
    assert status == 200 and b"SUMMARY:Dentist" in body
    mine = etags(http, LOGIN, home(LOGIN))
    assert (
        f"{home(LOGIN)}calendar-from-dave/" in mine and f"{home(LOGIN)}contacts-from-dave/" in mine
    )


def test_b_keeps_serving_when_a_is_killed_mid_burst(frontends: tuple[Stack, Stack, str]) -> None:
    """SIGKILL of A while ten clients write one member's calendar through A and B: a lock A
    held dies with its connections, B goes on, and every acknowledged PUT is there."""
    a, b, _ = frontends
    member = "adam@example.test"
    cal = f"{home(member)}calendar/"
    https = {"a": DavHttp(a.ports["http"]), "b": DavHttp(b.ports["http"])}
    acked: dict[str, str] = {}
    unanswered: set[str] = set()
    after_kill: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    done = threading.Event()

    def writer(t: int) -> None:
        n = 0
        while not done.is_set():
            n += 1
            href = f"{cal}kill-{t}-{n}.ics"
            side = "b" if killed.is_set() or n % 2 else "a"
            try:
                status, headers, body = https[side].request(
                    "PUT", href, member, body=event(f"kill-{t}-{n}", "20260301T080000Z", "k"),
                    headers={"Content-Type": "text/calendar"},
                )  # fmt: skip
            except OSError:  # A died under this request: not acknowledged (maybe stored)
                with lock:
                    unanswered.add(href)
                continue
            with lock:
                if status == 201:
                    acked[href] = headers["etag"]
                    if killed.is_set() and side == "b":
                        after_kill.append(href)
                else:
                    failures.append(f"{side} {href}: {status} {body[:200]!r}")

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40:
        assert time.monotonic() < deadline and not failures, failures
        time.sleep(0.02)
    a.kill()
    killed.set()
    while len(after_kill) < 40:
        assert time.monotonic() < deadline and not failures, (len(after_kill), failures)
        time.sleep(0.02)
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    stored = etags(https["b"], member, cal)
    assert {h: stored.get(h) for h in acked} == acked  # every acknowledged PUT, as answered
    assert set(stored) - set(acked) <= unanswered
