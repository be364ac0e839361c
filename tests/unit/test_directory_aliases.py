"""Aliases, forwards, catch-alls and domain aliases in the directory, and where RCPT routing
takes each address over them (smtp.routing); on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from swissbox.directory import Conflict, Directory, DirectoryError, NotFound
from swissbox.smtp.policy import Verdict
from swissbox.smtp.routing import Routing, route_recipient
from swissbox.smtp.srs import DAY, SrsCodec

H = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
HOST = "mx.example.test"
KEY = [b"test-key"]


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_org("other")
    for name, org in (
        ("example.test", "acme"),
        ("example.org", "acme"),
        ("beta.test", "acme"),
        ("else.test", "other"),
    ):
        directory.add_domain(name, org, "ns1.example.test")
        directory.enable_email(name)
    directory.add_account("lena@example.test", H, "acme", "legal")
    for box in ("lena", "ann", "bob", "cat"):
        directory.add_mailbox(f"{box}@example.test", H)
    return directory


def route(d: Directory, address: str, **kw: object):  # type: ignore[no-untyped-def]
    routing = Routing(HOST, srs=SrsCodec(KEY), **kw)  # type: ignore[arg-type]
    return route_recipient(d, address, routing)


def boxes(r) -> list[str]:  # type: ignore[no-untyped-def]
    found = list(r.mailboxes) or ([r.mailbox] if r.mailbox is not None else [])
    return sorted(b.address for b in found)


def test_alias_with_three_targets_reaches_each_mailbox_once(d: Directory) -> None:
    d.add_alias("team@example.test", ["ann@example.test", "bob@example.test"])
    d.add_alias("sales@example.test", ["team@example.test", "cat@example.test", "Ann@example.test"])
    r = route(d, "Sales@Example.TEST")
    assert r.verdict is Verdict.ALIAS
    assert boxes(r) == ["ann@example.test", "bob@example.test", "cat@example.test"]
    assert r.forward == () and r.via == ()


def test_alias_with_external_targets_forwards_them(d: Directory) -> None:
    d.add_alias("info@example.test", ["ann@example.test", "Out@World.test"])
    r = route(d, "info@example.test")
    assert r.verdict is Verdict.ALIAS and boxes(r) == ["ann@example.test"]
    assert r.forward == (("Out@world.test", "info@example.test"),)
    assert r.via == ("info@example.test",)


def test_alias_to_nowhere_is_an_unknown_user(d: Directory) -> None:
    d.add_alias("gone@example.test", ["ann@example.test"])
    d.remove_mailbox("ann@example.test")
    assert route(d, "gone@example.test").verdict is Verdict.UNKNOWN
    # a cycle that reaches no mailbox leads nowhere too, and ends
    d.add_alias("ping@example.test", ["bob@example.test"])
    d.add_alias("pong@example.test", ["ping@example.test"])
    d.add_alias("ping@example.test", ["pong@example.test"])
    d.remove_alias("ping@example.test", ["bob@example.test"])
    assert route(d, "ping@example.test").verdict is Verdict.UNKNOWN
    d.add_alias("pong@example.test", ["cat@example.test"])
    r = route(d, "ping@example.test")
    assert r.verdict is Verdict.ALIAS and boxes(r) == ["cat@example.test"]


def test_plus_addressing_reaches_the_base_mailbox_or_alias(d: Directory) -> None:
    r = route(d, "ann+news@example.test")
    assert r.verdict is Verdict.LOCAL and boxes(r) == ["ann@example.test"]
    assert r.address == "ann+news@example.test"  # the tag is kept for filters
    d.add_alias("team@example.test", ["bob@example.test", "cat@example.test"])
    assert boxes(route(d, "team+x@example.test")) == ["bob@example.test", "cat@example.test"]
    assert route(d, "nobody+x@example.test").verdict is Verdict.UNKNOWN
    # another separator, or none at all
    assert boxes(route(d, "ann-news@example.test", separators="-+")) == ["ann@example.test"]
    assert route(d, "ann+news@example.test", separators="").verdict is Verdict.UNKNOWN
    # an exact name wins over the tag rule
    d.add_mailbox("ann+news@example.test", H)
    assert boxes(route(d, "ann+news@example.test")) == ["ann+news@example.test"]


def test_catch_all_is_off_by_default_and_catches_only_unknown_names(d: Directory) -> None:
    assert route(d, "whatever@example.test").verdict is Verdict.UNKNOWN
    assert d.set_catch_all("example.test", "cat@example.test") is None
    r = route(d, "whatever@example.test")
    assert r.verdict is Verdict.ALIAS and boxes(r) == ["cat@example.test"]
    assert boxes(route(d, "ann@example.test")) == ["ann@example.test"]
    assert boxes(route(d, "ann+tag@example.test")) == ["ann@example.test"]
    assert d.set_catch_all("example.test", None) == "cat@example.test"
    assert route(d, "whatever@example.test").verdict is Verdict.UNKNOWN


def test_catch_all_to_an_external_address_forwards(d: Directory) -> None:
    d.set_catch_all("example.test", "all@world.test")
    r = route(d, "x@example.test")
    assert r.forward == (("all@world.test", "x@example.test"),)
    assert "x@example.test" in r.via


def test_domain_alias_reaches_the_same_local_part(d: Directory) -> None:
    d.set_domain_alias("example.org", "example.test")
    assert boxes(route(d, "ann@example.org")) == ["ann@example.test"]
    assert boxes(route(d, "ann+x@EXAMPLE.org")) == ["ann@example.test"]
    assert route(d, "nobody@example.org").verdict is Verdict.UNKNOWN
    d.add_alias("team@example.test", ["bob@example.test"])
    assert boxes(route(d, "team@example.org")) == ["bob@example.test"]
    d.set_catch_all("example.test", "cat@example.test")
    assert boxes(route(d, "nobody@example.org")) == ["cat@example.test"]
    # its postmaster is the organization's administrators unless an alias says otherwise
    r = route(d, "postmaster@example.org")
    assert r.verdict is Verdict.ROLE and boxes(r) == ["lena@example.test"]
    assert d.set_domain_alias("example.org", None) == "example.test"
    assert route(d, "ann@example.org").verdict is Verdict.UNKNOWN


def test_explicit_alias_wins_over_the_role_rule(d: Directory) -> None:
    r = route(d, "abuse@example.test")
    assert r.verdict is Verdict.ROLE and boxes(r) == ["lena@example.test"]
    d.add_alias("abuse@example.test", ["bob@example.test"])
    r = route(d, "abuse@example.test")
    assert r.verdict is Verdict.ALIAS and boxes(r) == ["bob@example.test"]
    # an alias may name the role address as target: the administrators then
    d.add_alias("reports@example.test", ["postmaster@example.test"])
    assert boxes(route(d, "reports@example.test")) == ["lena@example.test"]


def test_forward_with_and_without_keep(d: Directory) -> None:
    d.set_forward("bob@example.test", "bob@home.test")
    r = route(d, "bob@example.test")
    assert r.verdict is Verdict.ALIAS and boxes(r) == []
    assert r.forward == (("bob@home.test", "bob@example.test"),)
    d.set_forward("bob@example.test", "bob@home.test", keep=True)
    r = route(d, "bob+x@example.test")
    assert boxes(r) == ["bob@example.test"] and r.forward
    d.set_forward("bob@example.test", "cat@example.test")  # to another mailbox here
    r = route(d, "bob@example.test")
    assert boxes(r) == ["cat@example.test"] and not r.forward
    d.set_forward("bob@example.test", None)
    assert route(d, "bob@example.test").verdict is Verdict.LOCAL


def test_srs_bounces_valid_unexpired_only(d: Directory) -> None:
    codec = SrsCodec(KEY)
    srs = codec.forward("someone@world.test", "example.test")
    r = route(d, srs)
    assert r.verdict is Verdict.BOUNCE and r.forward == (("someone@world.test", ""),)
    # SRS1 (we were the second forwarder) unwraps to the first forwarder's SRS0
    first = SrsCodec([b"their-key"]).forward("someone@world.test", "first.test")
    wrapped = codec.forward(first, "example.test")
    assert wrapped.startswith("SRS1=")
    r = route(d, wrapped)
    assert r.verdict is Verdict.BOUNCE and r.forward == ((first, ""),)
    # the original sender hosted here: into their mailbox
    r = route(d, codec.forward("ann@example.test", "example.test"))
    assert r.verdict is Verdict.BOUNCE and boxes(r) == ["ann@example.test"]
    local, _, domain = srs.partition("@")
    forged = local[:5] + ("A" if local[5] != "A" else "B") + local[6:] + "@" + domain
    assert route(d, forged).verdict is Verdict.BAD_SRS
    old = SrsCodec(KEY, clock=lambda: time.time() - 30 * DAY).forward("x@world.test", "a.test")
    assert route(d, old.partition("@")[0] + "@example.test").verdict is Verdict.BAD_SRS
    assert route(d, "SRS0=garbage@example.test").verdict is Verdict.BAD_SRS
    # SRS-shaped addresses of other domains are not ours to judge: relay refused as usual
    assert route(d, srs.partition("@")[0] + "@world.test").verdict is Verdict.REMOTE


def test_relay_attempts_and_unknown_domains_are_not_routed(d: Directory) -> None:
    d.set_catch_all("example.test", "all@world.test")
    assert route(d, "a%world.test@example.test").verdict is Verdict.UNKNOWN
    assert route(d, "someone@world.test").verdict is Verdict.REMOTE
    assert route(d, "@x:a@example.test").verdict is Verdict.UNKNOWN
    assert route(d, "a@[127.0.0.1]").verdict is Verdict.INVALID


def test_alias_rules(d: Directory) -> None:
    with pytest.raises(Conflict, match="is a mailbox"):
        d.add_alias("ann@example.test", ["bob@example.test"])
    with pytest.raises(NotFound, match="no mailbox or alias"):
        d.add_alias("x@example.test", ["nobody@example.test"])
    assert d.alias("x@example.test") is None  # refused whole
    with pytest.raises(NotFound, match="no Email Service"):
        d.add_domain("nomail.test", "acme", "ns1.example.test")
        d.add_alias("x@nomail.test", ["ann@example.test"])
    with pytest.raises(DirectoryError, match="its own target"):
        d.add_alias("x@example.test", ["bob@example.test", "X@example.test"])
    a = d.add_alias("x@example.test", ["bob@example.test"], send_as=False)
    assert a.targets == ("bob@example.test",) and not a.send_as
    a = d.add_alias("X@example.test", ["cat@example.test"])  # more targets, send_as kept
    assert a.targets == ("bob@example.test", "cat@example.test") and not a.send_as
    with pytest.raises(Conflict, match="is an alias"):
        d.add_mailbox("x@example.test", H)
    assert d.remove_alias("x@example.test", ["bob@example.test"]) is not None
    with pytest.raises(NotFound):
        d.remove_alias("x@example.test", ["bob@example.test"])
    assert d.remove_alias("x@example.test", ["cat@example.test"]) is None  # last target
    assert d.alias("x@example.test") is None
    with pytest.raises(NotFound):
        d.remove_alias("x@example.test")


def test_domain_alias_rules(d: Directory) -> None:
    with pytest.raises(Conflict, match="different organizations"):
        d.set_domain_alias("else.test", "example.test")
    with pytest.raises(Conflict, match="mailboxes of its own"):
        d.set_domain_alias("example.test", "example.org")
    d.set_domain_alias("example.org", "example.test")
    with pytest.raises(Conflict, match="is a domain alias of example.test"):
        d.set_domain_alias("beta.test", "example.org")
    with pytest.raises(Conflict, match="do not chain"):
        d.set_domain_alias("example.test", "beta.test")
    with pytest.raises(Conflict, match="domain alias"):
        d.add_mailbox("x@example.org", H)
    with pytest.raises(Conflict, match="domain alias"):
        d.add_alias("x@example.org", ["ann@example.test"])
    with pytest.raises(Conflict, match="domain alias"):
        d.set_catch_all("example.org", "ann@example.test")
    assert d.domain_aliases() == {"example.org": "example.test"}
    assert d.domain_aliases("example.test") == {"example.org": "example.test"}
    d.remove_domain("example.org")  # goes with its alias row
    assert d.domain_aliases() == {}


def test_alias_senders(d: Directory) -> None:
    d.add_alias("info@example.test", ["ann@example.test", "bob@example.test"])
    d.add_alias("quiet@example.test", ["ann@example.test"], send_as=False)
    d.set_domain_alias("example.org", "example.test")
    assert d.alias_senders(["ann@example.test"]) == [
        "info@example.test",
        "ann@example.org",
        "info@example.org",
    ]
    assert d.alias_senders(["cat@example.test"]) == ["cat@example.org"]
    assert d.alias_senders([]) == []


def test_listing_and_transactions(d: Directory) -> None:
    d.add_alias("info@example.test", ["ann@example.test"])
    d.set_forward("bob@example.test", "bob@home.test", keep=True)
    d.set_catch_all("example.test", "cat@example.test")
    assert [a.address for a in d.aliases("example.test")] == ["info@example.test"]
    assert d.aliases("beta.test") == []
    assert [(f.address, f.target, f.keep) for f in d.forwards()] == [
        ("bob@example.test", "bob@home.test", True)
    ]
    assert d.catch_alls() == {"example.test": "cat@example.test"}
    with pytest.raises(NotFound), d.transaction():
        d.add_alias("two@example.test", ["ann@example.test"])
        d.set_forward("nobody@example.test", "x@world.test")
    assert d.alias("two@example.test") is None  # all or nothing
