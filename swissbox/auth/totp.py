"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) and recovery codes for the
account realm's second factor. Pure: the caller passes the clock and keeps the state.

Written here rather than taken from `pyotp`: HOTP/TOTP is twenty lines of `hmac`, and the
replay rule (a code's time step must be newer than the last one accepted) needs the matched
step back, which `pyotp.TOTP.verify` does not return. RFC 6238's test vectors hold it honest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import urllib.parse

STEP = 30  # seconds per time step (RFC 6238's default, what every authenticator app uses)
DIGITS = 6
WINDOW = 1  # steps accepted either side of now: a phone's clock a little off still works
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    """A random shared secret in base32 without padding (what otpauth:// URIs carry)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret_b32: str) -> bytes:
    text = secret_b32.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3: HMAC, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(now: float) -> int:
    return int(now) // STEP


def code_at(secret_b32: str, now: float) -> str:
    """The code an authenticator app shows at `now` (Unix seconds)."""
    return hotp(_key(secret_b32), step_of(now))


def match_step(secret_b32: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step `code` belongs to (within WINDOW of now), or None: wrong, malformed, or
    a step not newer than `last_step` (a replayed code, or an older one after a newer)."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    key = _key(secret_b32)
    current = step_of(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(hotp(key, step), code):
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def otpauth_uri(secret_b32: str, account: str, issuer: str) -> str:
    """The Key URI authenticator apps scan: otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=..."""
    label = urllib.parse.quote(f"{issuer}:{account}", safe="@:")
    query = urllib.parse.urlencode(
        {"secret": secret_b32, "issuer": issuer, "digits": DIGITS, "period": STEP}
    )
    return f"otpauth://totp/{label}?{query}"


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Single-use codes shown once: ten characters (~49 bits) as xxxxx-xxxxx."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_recovery_code(code: str) -> str:
    """The form that is hashed: lower case, no separators or spaces."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_digest(code: str) -> str:
    """SHA-256 of the normalized code: ~49 random bits behind the login rate limiter are out
    of reach of guessing, so a slow hash buys nothing and the digest can be the lookup key."""
    return hashlib.sha256(normalize_recovery_code(code).encode("ascii", "replace")).hexdigest()
