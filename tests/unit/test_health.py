"""Readiness pieces on real sockets and a real database (this process's own), and the log
line formats."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from swissbox.conf.loader import settings_from_dict
from swissbox.directory import Directory
from swissbox.health import (
    Listener,
    Readiness,
    bound_sockets,
    directory_problem,
    expected_listeners,
    listener_problems,
)
from swissbox.logformat import JsonFormatter, LogfmtFormatter

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_a_listener_is_bound_while_open_and_missing_once_stopped() -> None:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp_port, udp_port = tcp.getsockname()[1], udp.getsockname()[1]
    want = [
        Listener("x.port", "tcp", "127.0.0.1", tcp_port),
        Listener("x.port", "udp", "127.0.0.1", udp_port),
    ]
    try:
        assert listener_problems(want, bound_sockets() or set()) == []
        tcp.close()  # the service stopped
        assert listener_problems(want, bound_sockets() or set()) == [
            f"x.port 127.0.0.1:{tcp_port}/tcp"
        ]
    finally:
        tcp.close()
        udp.close()


@linux_only
def test_a_port_held_by_someone_else_does_not_count() -> None:
    """A TCP socket that is bound but not listening (or a connection) is not a listener."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    try:
        port = s.getsockname()[1]
        assert ("tcp", "127.0.0.1", port) not in (bound_sockets() or set())
    finally:
        s.close()


@linux_only
def test_ipv6_listener() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    s = socket.socket(socket.AF_INET6)
    try:
        s.bind(("::1", 0))
    except OSError:
        s.close()
        pytest.skip("no ::1 here")
    s.listen()
    try:
        want = [Listener("x.port", "tcp", "::1", s.getsockname()[1])]
        assert listener_problems(want, bound_sockets() or set()) == []
    finally:
        s.close()


def test_expected_listeners_follow_the_settings() -> None:
    s = settings_from_dict(
        {
            "server": {"listen": ["127.0.0.1", "::1"]},
            "imap": {"enabled": False},
            "metrics": {"listen": ["127.0.0.1"]},
        }
    )
    found = {str(x) for x in expected_listeners(s)}
    assert "smtp.mx_port [::1]:10025/tcp" in found
    assert "dns.port 127.0.0.1:10053/udp" in found
    assert "metrics.port 127.0.0.1:19090/tcp" in found
    assert "metrics.port [::1]:19090/tcp" not in found
    assert not any(x.startswith("imap.") for x in found)


def test_the_directory_must_take_a_write(tmp_path: Path) -> None:
    path = tmp_path / "directory.db"
    Directory(path).close()
    assert directory_problem(path) is None
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        problem = directory_problem(path)
        assert problem is not None and "locked" in problem
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert directory_problem(path) is None
    assert "no such database" in (directory_problem(tmp_path / "gone.db") or "")
    assert not (tmp_path / "gone.db").exists()  # the probe never creates one


def test_readiness_report_names_each_failing_check(tmp_path: Path) -> None:
    Directory(tmp_path / "d.db").close()
    s = settings_from_dict({"smtp": {"enabled": False}, "dns": {"enabled": False}})
    s.imap.enabled = s.http.enabled = s.metrics.enabled = False
    readiness = Readiness(s, tmp_path / "d.db")
    readiness.add("queue runner", lambda: "not running")
    readiness.add("broken", lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    report = readiness.report()
    assert report["ready"] is False
    assert report["failing"] == {
        "queue runner": "not running",
        "broken": "check failed: division by zero",
    }


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("swissbox.smtp", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_logfmt_one_line_with_stable_fields() -> None:
    line = LogfmtFormatter().format(
        _record('smtp %s: from <%s> "quoted"\nnext', "Q1", "a@b", qid="Q1", stored="a@b/INBOX/7/1")
    )
    assert "\n" not in line
    keys = [part.split("=", 1)[0] for part in line.split(" ") if "=" in part]
    assert keys[:4] == ["time", "level", "logger", "msg"]
    assert " qid=Q1 stored=a@b/INBOX/7/1" in line
    assert 'msg="smtp Q1: from <a@b> \\"quoted\\"\\nnext"' in line


def test_json_lines_carry_the_traceback_on_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    event = json.loads(line)
    assert event["msg"] == "failed" and "ValueError: boom" in event["exc"]
    assert list(event)[:4] == ["time", "level", "logger", "msg"]


def test_the_directory_probe_on_both_backends(store_location: str) -> None:
    Directory(store_location).close()
    assert directory_problem(store_location) is None
    if store_location.startswith("postgresql://"):
        gone = store_location.rsplit("/", 1)[0] + "/no_such_database"
        assert "PostgreSQL" in (directory_problem(gone) or "")
