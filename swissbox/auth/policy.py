"""Password rules per realm, checked when a secret is set (never when it is tried)."""

from __future__ import annotations

from swissbox.auth.hashing import HashParams, hash_secret

MAX_SECRET = 1024


# each realm's rule in words, for the forms that set one (check_password enforces it)
RULES = {
    "ddns": (
        "at least 8 characters, only letters and digits (A-Z, a-z, 0-9), with an upper-case"
        " letter, a lower-case letter and a digit"
    ),
}
DEFAULT_RULE = "at least 8 characters, on one line"


def rule(realm: str) -> str:
    """The password rule of `realm` as a person reads it."""
    return RULES.get(realm, DEFAULT_RULE)


class WeakPassword(ValueError):
    """The new secret breaks its realm's rule; the message says which."""


def check_password(realm: str, secret: str) -> None:
    if not secret:
        raise WeakPassword("the password is empty")
    if len(secret) > MAX_SECRET:
        raise WeakPassword(f"the password is longer than {MAX_SECRET} characters")
    if "\n" in secret or "\r" in secret or "\0" in secret:
        raise WeakPassword("the password contains a line break or NUL")
    if realm == "ddns":
        check_ddns_password(secret)
    elif len(secret) < 8:
        raise WeakPassword("the password needs at least 8 characters")


def check_ddns_password(secret: str) -> None:
    """Provider rule: letters and digits only, an upper-case, a lower-case letter and a digit."""
    if len(secret) < 8:
        raise WeakPassword("a DDNS password needs at least 8 characters")
    if not (secret.isascii() and secret.isalnum()):
        raise WeakPassword("a DDNS password may hold only letters and digits (A-Z, a-z, 0-9)")
    if not any(c.isupper() for c in secret):
        raise WeakPassword("a DDNS password needs an upper-case letter")
    if not any(c.islower() for c in secret):
        raise WeakPassword("a DDNS password needs a lower-case letter")
    if not any(c.isdigit() for c in secret):
        raise WeakPassword("a DDNS password needs a digit")


def hashed_new_secret(realm: str, secret: str, params: HashParams) -> str:
    """The stored form of a new secret of `realm`: WeakPassword unless it passes the realm's
    rule. Every place that sets a password (CLI, admin API) goes through here."""
    check_password(realm, secret)
    return hash_secret(secret, params)
