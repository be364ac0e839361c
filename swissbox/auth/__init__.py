"""The three realms, password hashing, rate limiting, SASL PLAIN/LOGIN decoding."""

from swissbox.auth.hashing import HashParams, hash_secret, needs_rehash, verify_secret
from swissbox.auth.policy import (
    WeakPassword,
    check_ddns_password,
    check_password,
    hashed_new_secret,
)
from swissbox.auth.pool import Busy, VerifyPool
from swissbox.auth.ratelimit import RateLimiter
from swissbox.auth.realms import FAILURE_MESSAGE, REALMS, Authenticator, AuthResult, VerifiedCache
from swissbox.auth.sasl import (
    LoginExchange,
    SaslCredentials,
    SaslError,
    decode_base64,
    decode_plain,
    decode_plain_b64,
)

__all__ = [
    "FAILURE_MESSAGE",
    "REALMS",
    "AuthResult",
    "Busy",
    "Authenticator",
    "HashParams",
    "LoginExchange",
    "RateLimiter",
    "SaslCredentials",
    "SaslError",
    "VerifiedCache",
    "VerifyPool",
    "WeakPassword",
    "check_ddns_password",
    "check_password",
    "decode_base64",
    "decode_plain",
    "decode_plain_b64",
    "hash_secret",
    "hashed_new_secret",
    "needs_rehash",
    "verify_secret",
]
