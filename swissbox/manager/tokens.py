"""Random secrets of the Manager: session ids, CSRF tokens, API tokens, and their digests.

Each secret has 256 random bits, so a single fast SHA-256 is the right stored form: nobody
can search 2^256 candidates, and a slow hash (Argon2, as for passwords a person chose) would
only make every API call cost ~100 ms. The digest is also the lookup key, so no comparison
of secrets ever happens in Python (no timing to measure).
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "sbx_"  # lets secret scanners and people recognise a swissbox API token
SECRET_BYTES = 32


def new_secret() -> str:
    """A session id or CSRF token: 256 random bits, URL-safe base64."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    """The stored form of a session id or API token."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_api_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX) and 20 <= len(text) <= 200
