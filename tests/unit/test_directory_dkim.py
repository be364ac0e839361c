"""DKIM keys in the directory (both backends): made at `mail enable`, rotated, retired and
withdrawn on their dates; never chosen to sign before they are seen in DNS and past sign_from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from swissbox.conf.schema import ServerSettings, Settings
from swissbox.directory import Conflict, Directory
from swissbox.directory import dkim as dk
from swissbox.directory.mailservice import enable_mail

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
KEEP = 7 * 86400


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    return directory


def settings() -> Settings:
    return Settings(server=ServerSettings(hostname="mx.example.test"))


def txt(d: Directory, name: str) -> list[str]:
    return [r.rdata for r in d.records("example.test", name) if r.type == "TXT"]


def confirm_all(d: Directory, now: int) -> None:
    for key in dk.keys(d, "example.test"):
        dk.confirm(d, key.domain, key.selector, now)


def test_mail_enable_makes_a_key_pair_once(d: Directory, tmp_path: Path) -> None:
    service, records, made = enable_mail(d, tmp_path, settings(), "example.test")
    assert service.domain == "example.test"
    assert sorted(k.algorithm for k in made) == ["ed25519", "rsa"]
    for key in made:
        path = dk.key_path(tmp_path, "example.test", key.selector)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert b"PRIVATE KEY" in path.read_bytes()
        [value] = txt(d, key.name)
        assert value.startswith('"v=DKIM1; k=' + key.algorithm)
        assert key.public_key[:40] in value
    assert made[0].selector.endswith("-ed25519") and made[0].selector[:8].isdigit()
    # the MTA-STS and TLS-RPT records come with it
    assert txt(d, "_mta-sts.example.test")[0].startswith('"v=STSv1; id=')
    assert txt(d, "_smtp._tls.example.test") == ['"v=TLSRPTv1; rua=mailto:postmaster@example.test"']
    assert [r.rdata for r in d.records("example.test", "mta-sts.example.test")] == [
        "mx.example.test."
    ]
    # again: nothing new, and a key record deleted by hand comes back
    d.change_records("example.test", delete=[(made[1].name, "TXT", None)])
    serial = d.domain("example.test").serial
    _, _, again = enable_mail(d, tmp_path, settings(), "example.test")
    assert again == [] and len(dk.keys(d, "example.test")) == 2
    assert txt(d, made[1].name) and d.domain("example.test").serial > serial
    serial = d.domain("example.test").serial
    enable_mail(d, tmp_path, settings(), "example.test")
    assert d.domain("example.test").serial == serial  # nothing changed: no serial bump


def test_a_changed_mta_sts_mode_replaces_the_record(d: Directory, tmp_path: Path) -> None:
    enable_mail(d, tmp_path, settings(), "example.test")
    before = txt(d, "_mta-sts.example.test")
    s = settings()
    s.smtp.mta_sts_mode = "enforce"
    enable_mail(d, tmp_path, s, "example.test")
    after = txt(d, "_mta-sts.example.test")
    assert len(after) == 1 and after != before


def test_changed_ports_replace_the_srv_records(d: Directory, tmp_path: Path) -> None:
    enable_mail(d, tmp_path, settings(), "example.test")
    d.change_records("example.test", add=[("_imap._tcp.example.test", "SRV", 60, "5 1 143 other.")])
    s = settings()
    s.imap.port = 143
    enable_mail(d, tmp_path, s, "example.test")
    srv = [r.rdata for r in d.records("example.test", "_imap._tcp.example.test")]
    assert srv == ["0 1 143 mx.example.test."]  # the old port and the hand-made one are gone
    assert len(d.records("example.test", "_imaps._tcp.example.test")) == 1


def test_keys_sign_only_once_seen_in_dns(d: Directory, tmp_path: Path) -> None:
    made = dk.ensure_keys(d, tmp_path, "example.test", now=T0)
    assert dk.signing_keys(dk.live_keys(d, "example.test"), T0 + 10) == []
    confirm_all(d, T0 + 5)
    signing = dk.signing_keys(dk.live_keys(d, "example.test"), T0 + 10)
    assert [k.selector for k in signing] == [k.selector for k in made]
    assert [k.algorithm for k in signing] == ["ed25519", "rsa"]


def test_rotation(d: Directory, tmp_path: Path) -> None:
    old = dk.ensure_keys(d, tmp_path, "example.test", now=T0)
    confirm_all(d, T0)
    t1 = T0 + 86400
    new = dk.rotate(d, tmp_path, "example.test", now=t1)
    assert {k.selector for k in new}.isdisjoint(k.selector for k in old)
    assert all(k.sign_from == t1 + dk.KEY_TTL for k in new)
    for key in new:  # published at once
        assert txt(d, key.name)
    with pytest.raises(Conflict, match="under way"):
        dk.rotate(d, tmp_path, "example.test", now=t1 + 10)

    def signing(now: int) -> set[str]:
        return {k.selector for k in dk.signing_keys(dk.live_keys(d, "example.test"), now)}

    confirm_all(d, t1 + 60)
    # seen in DNS, but a resolver may still hold the old answer: the old keys sign on
    assert signing(t1 + dk.KEY_TTL - 1) == {k.selector for k in old}
    assert dk.retire_and_withdraw(d, tmp_path, t1 + dk.KEY_TTL - 1, KEEP) == []
    t2 = t1 + dk.KEY_TTL
    assert signing(t2) == {k.selector for k in new}
    done = dk.retire_and_withdraw(d, tmp_path, t2, KEEP)
    assert sorted((k.selector, what) for k, what in done) == sorted(
        (k.selector, "retired") for k in old
    )
    for key in old:  # the record stays while mail signed with it may be in queues
        assert txt(d, key.name)
    every = dk.live_keys(d, "example.test")
    assert {dk.state(k, every, t2) for k in every if k.selector in {o.selector for o in old}} == {
        "retired"
    }
    assert dk.retire_and_withdraw(d, tmp_path, t2 + KEEP - 1, KEEP) == []
    done = dk.retire_and_withdraw(d, tmp_path, t2 + KEEP, KEEP)
    assert sorted(what for _, what in done) == ["withdrawn", "withdrawn"]
    for key in old:
        assert txt(d, key.name) == []
        assert not dk.key_path(tmp_path, "example.test", key.selector).exists()
    assert {k.selector for k in dk.live_keys(d, "example.test")} == {k.selector for k in new}
    # a second rotation on the same day gets other selectors
    more = dk.rotate(d, tmp_path, "example.test", now=t2 + KEEP)
    assert {k.selector for k in more}.isdisjoint({k.selector for k in new})


def test_a_rotation_whose_records_never_show_keeps_the_old_keys(
    d: Directory, tmp_path: Path
) -> None:
    old = dk.ensure_keys(d, tmp_path, "example.test", now=T0)
    confirm_all(d, T0)
    dk.rotate(d, tmp_path, "example.test", now=T0 + 100)
    later = T0 + 30 * 86400
    assert dk.retire_and_withdraw(d, tmp_path, later, KEEP) == []
    signing = dk.signing_keys(dk.live_keys(d, "example.test"), later)
    assert {k.selector for k in signing} == {k.selector for k in old}
