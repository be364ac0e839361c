"""Argon2id password hashes in PHC string form (`cryptography`), verified in constant time."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

_PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


@dataclass(frozen=True)
class HashParams:
    """Cost of new hashes. Defaults: 64 MiB, 3 passes, 4 lanes (~190 ms on 2 cores)."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    @classmethod
    def from_settings(cls, auth: Any) -> HashParams:
        """From the `[auth]` settings section."""
        return cls(auth.argon2_memory_kib, auth.argon2_iterations, auth.argon2_lanes)


def hash_secret(secret: str, params: HashParams = HashParams()) -> str:
    """A new PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash) for `secret`."""
    kdf = Argon2id(
        salt=os.urandom(16),
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive_phc_encoded(secret.encode("utf-8"))


def verify_secret(secret: str, phc: str) -> bool:
    """True when `secret` matches; False for a wrong secret or a malformed hash."""
    try:
        Argon2id.verify_phc_encoded(secret.encode("utf-8"), phc)
    except (InvalidKey, ValueError):
        return False
    return True


def needs_rehash(phc: str, params: HashParams) -> bool:
    """True when the stored hash was made with other parameters than the configured ones."""
    match = _PHC.match(phc)
    if not match:
        return True
    return tuple(map(int, match.groups())) != (params.memory_kib, params.iterations, params.lanes)
