"""Normalising names: domains to lower-case IDNA (A-labels), addresses to local@domain.

Local parts are kept as given (matching is case-insensitive in the store); domains are
case-insensitive and stored in their ASCII form without a trailing dot.
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


class InvalidName(ValueError):
    """A name that cannot be normalised; the message says why."""


def normalize_domain(name: str, *, allow_wildcard: bool = False) -> str:
    """'Exämple.TEST.' -> 'xn--exmple-cua.test'; raises InvalidName for bad syntax."""
    raw = name.strip()
    if raw.endswith("."):
        raw = raw[:-1]
    if not raw:
        raise InvalidName(f"{name!r}: empty domain name")
    labels = raw.split(".")
    out = []
    for i, label in enumerate(labels):
        if allow_wildcard and i == 0 and label == "*":
            out.append("*")
            continue
        if not label:
            raise InvalidName(f"{name!r}: empty label")
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = label.encode("idna").decode("ascii").lower()
            except UnicodeError as exc:
                raise InvalidName(f"{name!r}: label {label!r} is not valid IDNA ({exc})") from None
        body = ascii_label[1:] if ascii_label.startswith("_") else ascii_label
        if not _LABEL.match(body):
            raise InvalidName(
                f"{name!r}: label {label!r} must be 1-63 letters, digits or hyphens, "
                "not starting or ending with a hyphen"
            )
        out.append(ascii_label)
    result = ".".join(out)
    if len(result) > 253:
        raise InvalidName(f"{name!r}: longer than 253 characters")
    return result


def split_address(address: str) -> tuple[str, str]:
    """'Toto@Abc.XYZ' -> ('Toto', 'abc.xyz'); raises InvalidName when not an address."""
    address = address.strip()
    local, sep, domain = address.rpartition("@")
    if not sep or not local:
        raise InvalidName(f"{address!r}: not an email address (local@domain)")
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidName(f"{address!r}: local part {local!r} has characters not allowed here")
    return local, normalize_domain(domain)


def normalize_address(address: str) -> str:
    local, domain = split_address(address)
    return f"{local}@{domain}"


def normalize_login(login: str) -> str:
    """Account login identifiers: address-shaped, compared case-insensitively, stored lower-case."""
    local, domain = split_address(login)
    return f"{local.lower()}@{domain}"
