"""Routing settings as pure functions: the sub-address rule, where a bounce really goes, and
the configuration check of the separator. (Routing over a real directory, on both storage
backends: tests/unit/test_directory_aliases.py.)"""

from __future__ import annotations

import pytest

from swissbox.conf import ConfigError
from swissbox.conf.loader import settings_from_dict
from swissbox.smtp.routing import Routing
from swissbox.smtp.srs import SrsCodec

OURS = SrsCodec([b"ours"])


@pytest.mark.parametrize(
    ("separators", "local", "base"),
    [
        ("+", "ann+news", "ann"),
        ("+", "ann+a+b", "ann"),
        ("+", "+news", None),  # no base before the tag
        ("+", "ann", None),
        ("+-", "ann-x+y", "ann"),  # the first separator of any kind splits
        ("", "ann+news", None),
    ],
)
def test_base_local(separators: str, local: str, base: str | None) -> None:
    assert Routing("mx.test", separators).base_local(local) == base


def test_return_path_unwraps_our_srs_only() -> None:
    routing = Routing("mx.test", srs=OURS)
    srs0 = OURS.forward("orig@world.test", "here.test")
    srs1 = OURS.forward(SrsCodec([b"theirs"]).forward("orig@world.test", "first.test"), "here.test")
    assert routing.return_path(srs0) == "orig@world.test"
    assert routing.return_path(srs1).startswith("SRS0=") and srs1.endswith("@here.test")
    assert routing.return_path(srs1).endswith("@first.test")  # theirs: not ours to read
    assert routing.return_path(OURS.forward(srs0, "here.test")) == "orig@world.test"
    theirs = SrsCodec([b"theirs"]).forward("orig@world.test", "here.test")
    assert routing.return_path(theirs) == theirs
    assert routing.return_path("ann@example.test") == "ann@example.test"
    assert Routing("mx.test").return_path(srs0) == srs0


@pytest.mark.parametrize("value", ["@", "+@", " ", "%", "a"])
def test_a_separator_that_would_route_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="smtp.subaddress_separator"):
        settings_from_dict({"smtp": {"subaddress_separator": value}})


def test_separators_that_are_fine() -> None:
    assert settings_from_dict({"smtp": {"subaddress_separator": "+-"}}).smtp.max_hops == 100
    assert settings_from_dict({"smtp": {"subaddress_separator": ""}}).smtp.srs_max_age_days == 21
