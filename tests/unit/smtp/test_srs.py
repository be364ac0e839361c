"""SRS: addresses in and out, forgeries and expiry refused, keys in the data folder; Mail::SRS
(Debian libmail-srs-perl, the reference implementation) as the oracle of the format."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from swissbox.smtp.srs import DAY, KEY_FILE, SrsCodec, SrsError, is_srs, load_keys
from tests.conftest import IN_CI

NOW = 1_760_000_000.0


def codec(key: bytes = b"secret", when: float = NOW, **kw: object) -> SrsCodec:
    return SrsCodec([key], clock=lambda: when, **kw)  # type: ignore[arg-type]


def test_forward_and_reverse() -> None:
    c = codec()
    srs0 = c.forward("User@Orig.test", "fwd.test")
    local, _, domain = srs0.partition("@")
    assert domain == "fwd.test" and local.startswith("SRS0=") and local.endswith("=Orig.test=User")
    assert c.reverse(local) == "User@Orig.test"
    srs1 = c.forward(srs0, "second.test")
    assert srs1.startswith("SRS1=") and "=fwd.test==" in srs1
    assert c.reverse(srs1.partition("@")[0]) == srs0
    # a third forwarder keeps the first hop and signs it anew: bounces go to the first
    third = codec(b"other")
    again = third.forward(srs1, "third.test")
    assert again.startswith("SRS1=") and again.endswith("@third.test")
    assert third.reverse(again.partition("@")[0]) == srs0


@pytest.mark.parametrize(
    "local",
    ["SRS0=abc", "SRS0==TT=d=u", "SRS1=x=y", "SRS0", "srs0", "SRSX=a=b=c=d", "user"],
)
def test_malformed_addresses_raise(local: str) -> None:
    with pytest.raises(SrsError):
        codec().reverse(local)


def test_forged_hash_wrong_key_and_expiry() -> None:
    local = codec().forward("u@orig.test", "fwd.test").partition("@")[0]
    tag, hash_, rest = local.split("=", 2)
    flipped = hash_[:-1] + ("A" if hash_[-1] != "A" else "B")
    with pytest.raises(SrsError, match="bad hash"):
        codec().reverse(f"{tag}={flipped}={rest}")
    with pytest.raises(SrsError, match="bad hash"):
        codec(b"another").reverse(local)
    with pytest.raises(SrsError, match="bad hash"):  # too short to mean anything
        codec().reverse(f"{tag}={hash_[:3]}={rest}")
    # a relay that smashed the case still gets through (Mail::SRS does the same)
    assert codec().reverse(local.lower().replace("srs0", "SRS0", 1)) == "u@orig.test"
    # 21 days by default; the day count wraps after 1024 days without reviving old ones
    assert codec(when=NOW + 21 * DAY).reverse(local) == "u@orig.test"
    with pytest.raises(SrsError, match="expired"):
        codec(when=NOW + 22 * DAY).reverse(local)
    with pytest.raises(SrsError, match="expired"):
        codec(when=NOW - DAY).reverse(local)  # from the future
    assert codec(when=NOW + 60 * DAY, max_age_days=90).reverse(local) == "u@orig.test"


def test_an_old_key_still_verifies_after_rotation() -> None:
    old = codec(b"old").forward("u@orig.test", "fwd.test").partition("@")[0]
    rotated = SrsCodec([b"new", b"old"], clock=lambda: NOW)
    assert rotated.reverse(old) == "u@orig.test"
    assert rotated.forward("u@orig.test", "f.test") == codec(b"new").forward(
        "u@orig.test", "f.test"
    )


def test_is_srs() -> None:
    assert is_srs("SRS0=a=b=c=d") and is_srs("srs1+x") and is_srs("SRS0-abc")
    assert not is_srs("SRS0") and not is_srs("srs2=a") and not is_srs("user")


def test_key_file_is_made_once_private_and_shared(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: load_keys(tmp_path), range(16)))
    assert all(keys == found[0] for keys in found) and len(found[0]) == 1
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left
    path.write_text("new-key\n" + path.read_text())
    assert load_keys(tmp_path)[0] == b"new-key" and len(load_keys(tmp_path)) == 2


def _perl(script: str, *args: str) -> str:
    return subprocess.run(
        ["perl", "-MMail::SRS", "-e", script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


@pytest.fixture(scope="module")
def mail_srs() -> None:
    perl = shutil.which("perl")
    ok = perl is not None and subprocess.run([perl, "-MMail::SRS", "-e", "1"]).returncode == 0
    if not ok:
        if IN_CI:
            pytest.fail("Mail::SRS missing (make test-tools: libmail-srs-perl)")
        pytest.skip("Mail::SRS not installed (make test-tools: libmail-srs-perl)")


ORACLE = """
my ($secret, $sender, $fwd1, $fwd2) = @ARGV;
my $srs = Mail::SRS->new(Secret => $secret, MaxAge => 21, HashLength => 6);
my $a = $srs->forward($sender, $fwd1);
my $b = $srs->forward($a, $fwd2);
print "$a\\n$b\\n";
"""
REVERSE = """
my ($secret, $address) = @ARGV;
my $srs = Mail::SRS->new(Secret => $secret, MaxAge => 21, HashLength => 6);
print $srs->reverse($address), "\\n";
"""


@pytest.mark.parametrize(
    "sender",
    ["user@orig.test", "First.Last@Example.ORG", "a+tag@x.test", "x=y@z.test", "o'neil@q.test"],
)
def test_same_addresses_as_mail_srs(mail_srs: None, sender: str) -> None:
    """Built at the same moment with the same secret, Mail::SRS and we write the same SRS0
    and SRS1 addresses, and each reads the other's."""
    secret = "k3y-" + os.urandom(4).hex()
    ours = SrsCodec([secret.encode()])
    for _ in range(3):  # a day boundary may pass between the two; try again then
        before = ours.timestamp()
        theirs = _perl(ORACLE, secret, sender, "fwd.test", "second.test").split()
        mine = [ours.forward(sender, "fwd.test")]
        mine.append(ours.forward(mine[0], "second.test"))
        if ours.timestamp() == before:
            break
    assert mine == theirs
    assert ours.reverse(theirs[1].partition("@")[0]) == theirs[0]
    assert _perl(REVERSE, secret, mine[1]).strip() == mine[0]
    assert _perl(REVERSE, secret, mine[0]).strip() == sender
