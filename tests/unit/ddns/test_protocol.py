"""dyndns2 planning, pure: answers per hostname and the record changes they imply."""

from __future__ import annotations

import pytest

from swissbox.ddns import protocol as p
from swissbox.ddns.abuse import AbuseGuard

OWNED = {"home.example.test", "example.test"}


def run(
    args: dict[str, str],
    current: dict | None = None,
    client: str | None = "198.51.100.9",
    **policy: bool,
):
    return p.plan(p.parse_request(args), OWNED, current or {}, client, p.Policy(**policy))


def lines(outcomes: list[p.HostOutcome]) -> list[str]:
    return [o.line for o in outcomes]


def test_good_then_nochg() -> None:
    first = run({"hostname": "home.example.test", "myip": "192.0.2.1"})
    assert lines(first) == ["good 192.0.2.1"]
    assert first[0].set_records == {"A": "192.0.2.1"}
    again = run(
        {"hostname": "home.example.test", "myip": "192.0.2.1"},
        {"home.example.test": {"A": {"192.0.2.1"}}},
    )
    assert lines(again) == ["nochg 192.0.2.1"] and again[0].set_records == {}


def test_pair_and_myipv6_and_client_address() -> None:
    both = run({"hostname": "home.example.test", "myip": "192.0.2.1,2001:db8::1"})
    assert both[0].set_records == {"A": "192.0.2.1", "AAAA": "2001:db8::1"}
    v6 = run({"hostname": "home.example.test", "myipv6": "2001:DB8::2"})
    assert lines(v6) == ["good 2001:db8::2"] and v6[0].set_records == {"AAAA": "2001:db8::2"}
    implicit = run({"hostname": "home.example.test"})
    assert lines(implicit) == ["good 198.51.100.9"]
    mapped = run({"hostname": "home.example.test", "myip": "::ffff:192.0.2.7"})
    assert mapped[0].set_records == {"A": "192.0.2.7"}


def test_one_line_per_hostname_in_order() -> None:
    out = run(
        {
            "hostname": "HOME.example.test.,other.example.test,bad_name,example.test",
            "myip": "192.0.2.1",
        }
    )
    assert lines(out) == ["good 192.0.2.1", "nohost", "notfqdn", "good 192.0.2.1"]


@pytest.mark.parametrize(
    "hostname", ["", "localhost", "a..b", "-x.example.test", "x" * 64 + ".test", "é.test"]
)
def test_notfqdn(hostname: str) -> None:
    assert lines(run({"hostname": hostname, "myip": "192.0.2.1"})) == ["notfqdn"]


def test_numhost() -> None:
    hosts = ",".join(f"h{i}.example.test" for i in range(25))
    out = run({"hostname": hosts, "myip": "192.0.2.1"})
    assert set(lines(out)) == {"numhost"}


@pytest.mark.parametrize("myip", ["999.1.1.1", "1.2.3", "banana", "<ipaddr>", " , "])
def test_malformed_myip_is_ignored_for_the_callers_address(myip: str) -> None:
    """Dyn's spec: a myip that is not properly formed is ignored, the server's best guess used
    (never dnserr, which says our DNS failed and makes clients retry)."""
    out = run({"hostname": "home.example.test", "myip": myip})
    assert lines(out) == ["good 198.51.100.9"] and out[0].set_records == {"A": "198.51.100.9"}


def test_malformed_parts_are_dropped_well_formed_ones_kept() -> None:
    out = run({"hostname": "home.example.test", "myip": "192.0.2.1,<ip6addr>"})
    assert lines(out) == ["good 192.0.2.1"] and out[0].set_records == {"A": "192.0.2.1"}
    out = run({"hostname": "home.example.test", "myip": "banana", "myipv6": "2001:db8::7"})
    assert out[0].set_records == {"AAAA": "2001:db8::7"}
    assert lines(run({"hostname": "home.example.test", "myip": "banana"}, client=None)) == [
        "!donator"
    ]


@pytest.mark.parametrize(
    ("myip", "code"),
    [
        ("192.0.2.1,192.0.2.2", "numhost"),  # a round robin, which Dyn refuses so
        ("2001:db8::1,2001:db8::2", "numhost"),
        ("0.0.0.0", "!donator"),
        ("::", "!donator"),
        ("224.0.0.1", "!donator"),
        ("ff02::1", "!donator"),
    ],
)
def test_refused_addresses_change_nothing(myip: str, code: str) -> None:
    out = run({"hostname": "home.example.test,example.test", "myip": myip})
    assert lines(out) == [code, code] and all(o.set_records == {} for o in out)
    assert "dnserr" not in lines(out)


def test_private_addresses_follow_policy() -> None:
    assert lines(run({"hostname": "home.example.test", "myip": "192.168.1.10"})) == [
        "good 192.168.1.10"
    ]
    for myip in ("10.0.0.1", "fe80::1", "127.0.0.1"):
        out = run({"hostname": "home.example.test", "myip": myip}, allow_private=False)
        assert lines(out) == ["!donator"] and out[0].set_records == {}
    # the caller's own address, used when myip is absent, follows the same policy
    assert lines(
        run({"hostname": "home.example.test"}, client="10.1.1.1", allow_private=False)
    ) == ["!donator"]


def test_offline_removes_addresses() -> None:
    current = {"home.example.test": {"A": {"192.0.2.1"}, "AAAA": {"2001:db8::1"}}}
    out = run({"hostname": "home.example.test", "offline": "yes"}, current)
    assert out[0].code == "good" and out[0].set_records == {"A": None, "AAAA": None}
    assert lines(run({"hostname": "home.example.test", "offline": "YES"})) == ["nochg"]


def test_abuse_guard() -> None:
    now = [0.0]
    guard = AbuseGuard(
        max_updates=3, window=60, max_nochg=2, nochg_window=600, clock=lambda: now[0]
    )
    for _ in range(3):
        assert not guard.blocked("h")
        guard.record("h", changed=True)
    assert guard.blocked("h")
    now[0] += 61
    assert not guard.blocked("h")
    guard.record("n", changed=False)
    guard.record("n", changed=False)
    assert guard.blocked("n")
    now[0] += 601
    assert not guard.blocked("n")
