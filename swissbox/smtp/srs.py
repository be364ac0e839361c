"""Sender Rewriting Scheme: the envelope sender of a forwarded message, and its way back.

A forward keeps SPF passing at the next hop by sending from one of our domains:
`SRS0=HHHHHH=TT=orig.domain=user@forwarder` (HMAC of timestamp, domain and user; TT the day
in two base32 digits), or, for a sender that is already another forwarder's SRS0 address,
`SRS1=HHHHHH=first.forwarder==HHHH=TT=orig.domain=user@forwarder`. Bounces to these addresses
are accepted only with a valid HMAC and an unexpired timestamp, so they cannot be used to
relay. The format and hash are Mail::SRS's (Guarded), so other SRS tools read ours.

Keys are lines of `<data>/srs.key`: the first signs, every one verifies (rotation: put a new
line first, drop the old one after the maximum age).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

KEY_FILE = "srs.key"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DAY = 86400
TICK_SLOTS = 32 * 32  # two base32 digits: timestamps wrap after 1024 days
HASH_LENGTH = 6  # base64 characters: 36 bits (Mail::SRS's default is 4)
MIN_HASH_LENGTH = 4
SEPARATORS = "=+-"  # what may follow the SRS0/SRS1 tag (we write "=")


class SrsError(ValueError):
    """Not an SRS address of ours: bad form, hash or timestamp (the message says which)."""


def is_srs(local: str) -> bool:
    """Whether a local part is shaped like SRS (SRS0= / SRS1=, any case)."""
    return len(local) > 5 and local[:4].upper() in ("SRS0", "SRS1") and local[4] in SEPARATORS


class SrsCodec:
    """Forward (rewrite a sender) and reverse (read a bounce address) with our keys."""

    def __init__(
        self,
        keys: Sequence[bytes],
        max_age_days: int = 21,
        hash_length: int = HASH_LENGTH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("SRS needs at least one key")
        self.keys = list(keys)
        self.max_age_days = max_age_days
        self.hash_length = hash_length
        self.clock = clock

    # -- building -----------------------------------------------------------------------

    def _hash(self, key: bytes, *parts: str) -> str:
        mac = hmac.new(key, b"".join(p.lower().encode() for p in parts), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode().rstrip("=")

    def _sign(self, *parts: str) -> str:
        return self._hash(self.keys[0], *parts)[: self.hash_length]

    def timestamp(self) -> str:
        day = int(self.clock() // DAY)
        return BASE32[(day >> 5) & 31] + BASE32[day & 31]

    def forward(self, sender: str, forwarder: str) -> str:
        """The envelope sender for forwarding mail from `sender` (local@domain) through our
        domain `forwarder`."""
        user, at, host = sender.rpartition("@")
        if not at or not user or not host:
            raise SrsError(f"{sender!r} is not an address")
        if user[:4].upper() == "SRS1" and user[4:5] in SEPARATORS:
            # already wrapped by two forwarders: keep the first hop, sign it ourselves
            _hash, first_host, first_user = _fields(user[5:], 3, "SRS1")
            local = f"SRS1={self._sign(first_host, first_user)}={first_host}={first_user}"
        elif user[:4].upper() == "SRS0" and user[4:5] in SEPARATORS:
            rest = user[4:]  # the separator stays: SRS1=HASH=host==HHHH=TT=...
            local = f"SRS1={self._sign(host, rest)}={host}={rest}"
        else:
            stamp = self.timestamp()
            local = f"SRS0={self._sign(stamp, host, user)}={stamp}={host}={user}"
        return f"{local}@{forwarder}"

    # -- reading ------------------------------------------------------------------------

    def _verify(self, given: str, *parts: str) -> bool:
        if len(given) < MIN_HASH_LENGTH:
            return False
        wanted = [self._hash(key, *parts)[: len(given)] for key in self.keys]
        if any(hmac.compare_digest(given, w) for w in wanted):
            return True
        # a relay may have changed the local part's case (Mail::SRS accepts this too)
        return any(hmac.compare_digest(given.lower(), w.lower()) for w in wanted)

    def _fresh(self, stamp: str) -> bool:
        if len(stamp) != 2 or any(c not in BASE32 for c in stamp.upper()):
            return False
        then = BASE32.index(stamp[0].upper()) * 32 + BASE32.index(stamp[1].upper())
        today = int(self.clock() // DAY) % TICK_SLOTS
        return (today - then) % TICK_SLOTS <= self.max_age_days

    def reverse(self, local: str) -> str:
        """Where a bounce to the SRS local part `local` goes: the original sender (SRS0) or
        the previous forwarder's SRS0 address (SRS1). Raises SrsError when the hash does not
        verify with any of our keys or the address has expired."""
        tag, rest = local[:4].upper(), local[5:]
        if not is_srs(local):
            raise SrsError("not an SRS address")
        if tag == "SRS1":
            given, host, user = _fields(rest, 3, "SRS1")
            if not self._verify(given, host, user):
                raise SrsError("SRS1 address with a bad hash")
            return f"SRS0{user}@{host}"
        given, stamp, host, user = _fields(rest, 4, "SRS0")
        if not self._verify(given, stamp, host, user):
            raise SrsError("SRS0 address with a bad hash")
        if not self._fresh(stamp):
            raise SrsError("SRS0 address expired")
        return f"{user}@{host}"


def _fields(text: str, count: int, tag: str) -> list[str]:
    parts = text.split("=", count - 1)
    if len(parts) != count or not all(parts):
        raise SrsError(f"malformed {tag} address")
    return parts


def load_keys(data_dir: Path) -> list[bytes]:
    """The keys of `<data>/srs.key`, made (one random key, mode 0600) when missing. Two
    processes starting at once agree: the file is created exclusively, then read."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        tmp = path.with_name(f"{KEY_FILE}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(32) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    keys = [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise ValueError(f"{path} holds no key")
    return keys
