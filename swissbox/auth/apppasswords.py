"""App passwords: one random password per device and protocol, shown once, kept as an
Argon2 hash at a lower cost than people's passwords.

The cost can be lower because the secret is random: 20 characters from a 31-letter alphabet
are ~99 bits, beyond any dictionary or brute force, so the slow hash no longer protects a
weak secret; it only has to stay a one-way hash. A low cost keeps a login that tries a
mailbox's several app passwords cheap (a few milliseconds each instead of ~130 ms).
"""

from __future__ import annotations

import secrets

from swissbox.auth.hashing import HashParams, hash_secret

APP_HASH = HashParams(memory_kib=8192, iterations=1, lanes=1)
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
GROUPS, GROUP_LEN = 5, 4
SCOPES = {  # API/CLI scope -> (realm, needs an address)
    "imap-smtp": ("mailbox", True),
    "dav": ("account", False),
}


def new_app_password() -> str:
    """xxxx-xxxx-xxxx-xxxx-xxxx (easy to type on a phone)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(raw[i : i + GROUP_LEN] for i in range(0, len(raw), GROUP_LEN))


def hash_app_password(password: str) -> str:
    return hash_secret(password, APP_HASH)
