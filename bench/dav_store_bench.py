"""Members' calendars on files against PostgreSQL (`[store] url`), and on two front ends.

Three set-ups, each a fresh data folder: `files` (Radicale's file storage, the default),
`postgresql` (one `swissbox serve` over a throwaway PostgreSQL) and `postgresql x2` (two
`serve` over the same database, clients spread over both). For each, with one member and
its calendar:

- PUT: `--events` new events written by `--clients` clients at once;
- PROPFIND depth 1 of the calendar (every href and etag), `--rounds` times;
- REPORT calendar-query for one month (the time-range prefilter), `--rounds` times;
- sync-collection with the previous token after one change, `--rounds` times;
- GET of single events, `--events` times.

Prints wall time per request and the CPU of the `serve` processes (and of PostgreSQL's)
per request, so that the scaling can be read off on a machine with few cores.

    python bench/dav_store_bench.py [--events 1000] [--clients 8] [--rounds 20]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.test_dav_service import PASSWORDS, build_stack  # noqa: E402
from tests.support.postgres import PostgresServer, _as_server_user, pg_bin  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

LOGIN = "bob@example.test"
AUTH = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORDS[LOGIN]}".encode()).decode()
CAL = "/dav/bob%40example.test/calendar/"
TICKS = os.sysconf("SC_CLK_TCK")


def event(n: int, summary: str = "Bench") -> str:
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:ev-{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:2026{month:02d}{day:02d}T090000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary} {n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def request(port: int, method: str, path: str, body: str = "", depth: str = "1") -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": AUTH, "Depth": depth}
    if body:
        headers["Content-Type"] = "text/calendar" if method == "PUT" else "application/xml"
    conn.request(method, path, body=body.encode() or None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status >= 300 and resp.status != 207:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return data


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


class DurablePostgres(PostgresServer):
    """The test server, but with fsync on (the files side fsyncs every write too)."""

    def start(self) -> None:
        super().start()
        self.stop()
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=on"
        subprocess.run(
            _as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                             "-l", str(self.folder / "server.log"), "-w", "start"]),
            check=True, capture_output=True,
        )  # fmt: skip


def postgres_pids(data: Path) -> list[int]:
    """The postmaster and its children (backends, writer, ...)."""
    master = int((data / "postmaster.pid").read_text().split()[0])
    out = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == master:
                out.append(int(entry.name))
    return out


PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
)
QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/>'
    "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
)


def sync_body(token: str) -> str:
    return (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
        f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def token_of(data: bytes) -> str:
    found = re.search(rb"sync-token>([^<]+)</", data)
    assert found, data[:300]
    return found.group(1).decode()


def timed(
    name: str, count: int, run: Callable[[int], object], clients: int, cpu: Callable[[], float]
) -> None:
    work = iter(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                n = next(work, None)
            if n is None:
                return
            run(n)

    before_cpu, start = cpu(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    used = cpu() - before_cpu
    print(
        f"  {name:<22} {count:>6} req  {wall * 1000 / count:7.2f} ms/req  "
        f"{count / wall:7.1f} req/s  CPU {used * 1000 / count:6.2f} ms/req",
        flush=True,
    )


def bench(stacks: list[Stack], cpu: Callable[[], float], args: argparse.Namespace) -> None:
    ports = [s.ports["http"] for s in stacks]

    def port(n: int) -> int:
        return ports[n % len(ports)]

    request(ports[0], "PROPFIND", CAL, PROPFIND, "0")  # first login: principal and calendar
    timed("PUT (new event)", args.events,
          lambda n: request(port(n), "PUT", f"{CAL}ev-{n}.ics", event(n)), args.clients, cpu)  # fmt: skip
    timed("PROPFIND depth 1", args.rounds,
          lambda n: request(port(n), "PROPFIND", CAL, PROPFIND), args.clients, cpu)  # fmt: skip
    timed("REPORT one month", args.rounds,
          lambda n: request(port(n), "REPORT", CAL, QUERY), args.clients, cpu)  # fmt: skip
    token = token_of(request(ports[0], "REPORT", CAL, sync_body("")))

    def one_change_then_sync(n: int) -> None:
        request(port(n), "PUT", f"{CAL}ev-{n}.ics", event(n, "Changed"))
        request(port(n + 1), "REPORT", CAL, sync_body(token))

    timed("PUT + sync-collection", args.rounds, one_change_then_sync, 1, cpu)
    timed("GET one event", args.events,
          lambda n: request(port(n), "GET", f"{CAL}ev-{n}.ics"), args.clients, cpu)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if pg_bin() is None:
        sys.exit("PostgreSQL (initdb) is not installed: make test-tools")
    tmp = Path(tempfile.mkdtemp(prefix="dav-store-bench-"))
    print(f"{args.events} events, {args.clients} clients, {args.rounds} rounds")

    print("files")
    with build_stack(tmp / "files") as stack:
        stack.start()
        assert stack.proc is not None
        bench([stack], lambda: cpu_of([stack.proc.pid]) if stack.proc else 0.0, args)
        stack.stop()

    pg_folder = Path(tempfile.mkdtemp(prefix="swissbox-pg-"))
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(pg_folder, owner.pw_uid, owner.pw_gid)
    server = DurablePostgres(pg_folder, pg_bin() or Path())
    server.start()
    try:
        for fronts in (1, 2):
            url = server.new_database()
            print(f"postgresql x{fronts}")
            a = build_stack(tmp / f"pg{fronts}-a", store={"url": url})
            stacks = [a]
            if fronts == 2:
                b = Stack(tmp / "pg2-b", store={"url": url})
                b.init()
                stacks.append(b)
            for s in stacks:
                s.__enter__()
                s.start()
            try:

                def cpu(stacks: list[Stack] = stacks) -> float:
                    serve = cpu_of([s.proc.pid for s in stacks if s.proc])
                    return serve + cpu_of(postgres_pids(server.data))

                bench(stacks, cpu, args)
            finally:
                for s in stacks:
                    s.stop()
                    s.__exit__(None, None, None)
    finally:
        server.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
