"""Sending limits counted in the directory database: a sliding hour, both limits, and two
front ends (two connections to one database) counting together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from swissbox.directory import Directory
from swissbox.filter.sendlimits import SendLimits


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "d.db")
    server: Any = request.getfixturevalue("postgres")
    return str(server.new_database())


def test_messages_and_recipients_over_a_sliding_hour(location: str) -> None:
    with Directory(location) as d:
        t = 1_000_000.0
        assert all(d.count_submission("A@x.test", 1, 3, 0, t + i).admitted for i in range(3))
        refused = d.count_submission("a@x.test", 1, 3, 0, t + 10)
        assert not refused.admitted and refused.messages == 3
        assert d.count_submission("b@x.test", 1, 3, 0, t).admitted  # per mailbox
        assert d.count_submission("a@x.test", 1, 3, 0, t + 3600).admitted  # an hour later
        assert d.count_submission("c@x.test", 5, 0, 6, t).admitted
        assert not d.count_submission("c@x.test", 2, 0, 6, t).admitted
        assert d.count_submission("c@x.test", 1, 0, 6, t).admitted


def test_two_front_ends_share_the_count_under_fifty_submissions_at_once(location: str) -> None:
    with Directory(location) as one, Directory(location) as two:
        assert one.count_submission("a@x.test", 1, 2, 0, 0.0).admitted
        assert two.count_submission("a@x.test", 1, 2, 0, 1.0).admitted
        assert not one.count_submission("a@x.test", 1, 2, 0, 2.0).admitted

        def submit(i: int) -> bool:
            front = one if i % 2 else two
            return front.count_submission("b@x.test", 1 + i % 3, 20, 0, 10.0 + i).admitted

        with ThreadPoolExecutor(50) as pool:
            admitted = list(pool.map(submit, range(50)))
        assert sum(admitted) == 20  # exactly the limit, whichever front end counted


async def test_one_warning_per_mailbox_per_hour(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    with Directory(tmp_path / "d.db") as d:
        limits = SendLimits(d, 1, 0, clock=lambda: now[0])
        assert await limits.admit("a@x.test", 1) is None
        for _ in range(3):
            reply = await limits.admit("a@x.test", 1, "192.0.2.9")
            assert reply is not None and reply.startswith("451 4.7.1")
        assert caplog.text.count("reached its sending limit") == 1
        assert "192.0.2.9" in caplog.text
