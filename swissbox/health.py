"""Liveness and readiness: `/healthz/live` and `/healthz/ready` on the HTTP site.

Ready means: every enabled listener is bound by this process (read from the kernel's socket
tables, /proc/net, so a listener that closed or never opened shows), the directory database
takes a write lock, and each check the composition root added (the outbound queue runner)
passes. Answers are small JSON documents: 200 `{"ready": true, ...}`, or 503 with
`"failing": {check: reason}`. `swissbox status` prints the same.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.web.resource import Resource

from swissbox import __version__
from swissbox.conf import Settings
from swissbox.runtime import fmt_addr

Check = Callable[[], str | None]  # None when fine, else what is wrong
PROBE_TIMEOUT = 2.0  # seconds a readiness probe waits for the database's write lock
_TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    key: str  # the setting that names the port, e.g. "smtp.mx_port"
    proto: str  # "tcp" | "udp"
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.key} {fmt_addr(self.address, self.port)}/{self.proto}"


def expected_listeners(s: Settings) -> list[Listener]:
    """Every listener the enabled services open, from the settings."""
    plan: list[tuple[bool, str, str, int]] = [
        (s.smtp.enabled, "smtp.mx_port", "tcp", s.smtp.mx_port),
        (s.smtp.enabled, "smtp.submission_port", "tcp", s.smtp.submission_port),
        (s.smtp.enabled, "smtp.submissions_port", "tcp", s.smtp.submissions_port),
        (s.imap.enabled, "imap.port", "tcp", s.imap.port),
        (s.imap.enabled, "imap.tls_port", "tcp", s.imap.tls_port),
        (s.dns.enabled, "dns.port", "udp", s.dns.port),
        (s.dns.enabled, "dns.port", "tcp", s.dns.port),
        (s.http.enabled, "http.port", "tcp", s.http.port),
        (s.http.enabled, "http.tls_port", "tcp", s.http.tls_port),
    ]
    out = [
        Listener(key, proto, address, port)
        for enabled, key, proto, port in plan
        if enabled
        for address in s.server.listen
    ]
    if s.metrics.enabled:
        out += [Listener("metrics.port", "tcp", a, s.metrics.port) for a in s.metrics.listen]
    return out


def _proc_address(text: str) -> tuple[str, int]:
    """'0100007F:2742' (an address as /proc/net prints it: 32-bit words in host order,
    little-endian here) -> ('127.0.0.1', 10050)."""
    hex_ip, hex_port = text.split(":")
    raw = bytes.fromhex(hex_ip)
    ip = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(ip)), int(hex_port, 16)


def bound_sockets(proc: Path = Path("/proc")) -> set[tuple[str, str, int]] | None:
    """(proto, address, port) of this process's listening TCP and bound UDP sockets; None
    where the kernel does not show its socket tables (not Linux)."""
    try:
        fds = os.listdir(proc / "self" / "fd")
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        try:
            link = os.readlink(proc / "self" / "fd" / fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found: set[tuple[str, str, int]] = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = (proc / "self" / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        proto = table[:3]
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[9] not in inodes:
                continue
            if proto == "tcp" and cols[3] != _TCP_LISTEN:
                continue
            address, port = _proc_address(cols[1])
            found.add((proto, address, port))
    return found


def listener_problems(expected: list[Listener], bound: set[tuple[str, str, int]]) -> list[str]:
    """The expected listeners that this process does not hold."""
    missing = []
    for want in expected:
        try:
            address = str(ipaddress.ip_address(want.address))
        except ValueError:
            address = want.address
        if (want.proto, address, want.port) not in bound:
            missing.append(str(want))
    return missing


def directory_problem(location: Path | str) -> str | None:
    """Whether the directory database takes a write (lock taken, then rolled back)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return _postgres_problem(text)
    if not Path(text).is_file():
        return f"{text}: no such database"
    try:
        conn = sqlite3.connect(
            f"file:{Path(text).as_posix()}?mode=rw", uri=True, timeout=PROBE_TIMEOUT
        )
    except sqlite3.Error as exc:
        return f"{text}: {exc}"
    try:
        conn.isolation_level = None
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return f"{text}: {exc}"
    finally:
        conn.close()
    return None


def _postgres_problem(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=int(PROBE_TIMEOUT) + 1) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row and row[0]:
                return "PostgreSQL is a read-only standby"
    except psycopg.Error as exc:
        return f"PostgreSQL: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
    return None


class Readiness:
    """The readiness checks; `report()` blocks (run it in a thread)."""

    def __init__(self, settings: Settings, directory: Path | str) -> None:
        self.expected = expected_listeners(settings)
        self.directory = directory
        self.checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def report(self) -> dict[str, Any]:
        failing: dict[str, str] = {}
        bound = bound_sockets()
        if bound is not None:
            for listener in listener_problems(self.expected, bound):
                failing[f"listener {listener}"] = "not bound"
        problem = directory_problem(self.directory)
        if problem:
            failing["directory"] = problem
        for name, check in self.checks.items():
            try:
                problem = check()
            except Exception as exc:  # a broken check says so rather than hiding the rest
                problem = f"check failed: {exc}"
            if problem:
                failing[name] = problem
        checked = ["listeners" if bound is not None else "listeners (not checkable here)"]
        result: dict[str, Any] = {"ready": not failing, "checked": [*checked, "directory"]}
        result["checked"] += list(self.checks)
        if failing:
            result["failing"] = failing
        return result


def _json(request: Any, code: int, body: dict[str, Any]) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(body).encode() + b"\n"


class LivePage(Resource):
    """`/healthz/live`: the process answers (its event loop turns)."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def render_GET(self, request: Any) -> bytes:  # noqa: N802 (Twisted API)
        uptime = round(time.monotonic() - self.started, 1)
        return _json(request, 200, {"live": True, "version": __version__, "uptime": uptime})


class ReadyPage(Resource):
    """`/healthz/ready`: 200 when every check passes, else 503 naming what is not ready."""

    isLeaf = True

    def __init__(self, readiness: Readiness) -> None:
        super().__init__()
        self.readiness = readiness

    def render_GET(self, request: Any) -> Any:  # noqa: N802
        from twisted.internet import threads
        from twisted.web.server import NOT_DONE_YET

        from swissbox.http import send_answer

        def answer(report: Any) -> None:
            if not isinstance(report, dict):  # a Failure: report it as not ready
                report = {"ready": False, "failing": {"readiness": str(report.value)}}
            send_answer(request, _json(request, 200 if report["ready"] else 503, report))

        threads.deferToThread(self.readiness.report).addBoth(answer)
        return NOT_DONE_YET


class HealthApp:
    """The two pages as an HTTP application of the shared site (runtime.HttpApp)."""

    name = "health"

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness

    def http_resources(self) -> dict[str, Any]:
        return {"healthz/live": LivePage(), "healthz/ready": ReadyPage(self.readiness)}

    async def start(self) -> list[str]:
        return []

    async def stop(self) -> None:
        pass
