"""Argon2id password hashes in PHC string form, verified in constant time.

Uses the Argon2 reference implementation (`argon2-cffi`), not `cryptography`'s Argon2id:
cryptography 50 on OpenSSL 4.0 runs each derivation's lanes on OpenSSL's process-wide thread
pool (it raises `OSSL_set_max_threads` for the default library context), and two derivations with
`lanes > 1` at once wait on each other's pool threads forever (later ones fail with "Not enough
memory to derive key"). The reference implementation starts and joins its own threads per call.
Both produce and read the same PHC strings, so stored hashes carry over unchanged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from argon2 import low_level
from argon2.exceptions import VerificationError

_PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
SALT_BYTES = 16
HASH_BYTES = 32


@dataclass(frozen=True)
class HashParams:
    """Cost of new hashes. Defaults (RFC 9106's second recommendation): 64 MiB, 3 passes,
    4 lanes (~130 ms on 2 cores)."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    @classmethod
    def from_settings(cls, auth: Any) -> HashParams:
        """From the `[auth]` settings section."""
        return cls(auth.argon2_memory_kib, auth.argon2_iterations, auth.argon2_lanes)


def hash_secret(secret: str, params: HashParams = HashParams()) -> str:
    """A new PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash) for `secret`."""
    encoded = low_level.hash_secret(
        secret.encode("utf-8"),
        os.urandom(SALT_BYTES),
        time_cost=params.iterations,
        memory_cost=params.memory_kib,
        parallelism=params.lanes,
        hash_len=HASH_BYTES,
        type=low_level.Type.ID,
    )
    return encoded.decode("ascii")


def verify_secret(secret: str, phc: str) -> bool:
    """True when `secret` matches; False for a wrong secret or a malformed hash."""
    if not _PHC.match(phc):
        return False
    try:
        return low_level.verify_secret(
            phc.encode("ascii"), secret.encode("utf-8", "surrogatepass"), low_level.Type.ID
        )
    except (VerificationError, ValueError, UnicodeEncodeError):
        return False


def needs_rehash(phc: str, params: HashParams) -> bool:
    """True when the stored hash was made with other parameters than the configured ones."""
    match = _PHC.match(phc)
    if not match:
        return True
    return tuple(map(int, match.groups())) != (params.memory_kib, params.iterations, params.lanes)
