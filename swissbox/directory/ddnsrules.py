"""Adding a dynamic DNS host (and its DDNS user when new) with the provider's password rule
and an optional first address: one place for `swissbox ddns add` and the admin API."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from swissbox.auth import HashParams, WeakPassword, hashed_new_secret
from swissbox.directory.model import DdnsHost, DirectoryError
from swissbox.directory.store import Directory


def parse_ip(text: str, option: str = "--ip") -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise DirectoryError(f"{option} {text!r} is not an IP address") from None


def add_ddns_host(
    d: Directory,
    hostname: str,
    user: str,
    params: HashParams,
    ttl: int,
    password: str | Callable[[], str] | None = None,
    owner: str | None = None,
    ip: str | None = None,
    options: tuple[str, str] = ("--password-stdin", "--owner"),
    ask: Callable[[], str] | None = None,
) -> tuple[DdnsHost, bool, str | None]:
    """Checks every input, then writes user, host and first address in one transaction.
    Returns (host, whether the user was created, the A/AAAA record type written or None).
    An existing user takes no password or owner; a new one needs a password that passes
    the ddns realm's rule (letters and digits, upper, lower, a digit); without one given,
    `ask` is asked for it."""
    address = parse_ip(ip) if ip else None
    rtype = "A" if address is not None and address.version == 4 else "AAAA"
    password_hash = None
    if d.ddns_user_exists(user):
        if password is not None or owner:
            raise DirectoryError(
                f"DDNS user {user!r} exists; leave out {' and '.join(options)} to add a host to it"
            )
    else:
        source = password if password is not None else ask
        if source is None:
            raise DirectoryError(f"DDNS user {user!r} is new: give {options[0]}")
        try:
            secret = source() if callable(source) else source
            password_hash = hashed_new_secret("ddns", secret, params)
        except WeakPassword as exc:
            raise DirectoryError(str(exc)) from None
    with d.transaction():
        if password_hash is not None:
            d.add_ddns_user(user, password_hash, owner=owner)
        host = d.add_ddns_host(hostname, user)
        if address is not None:
            d.change_records(
                host.zone,
                delete=[(host.hostname, rtype, None)],
                add=[(host.hostname, rtype, ttl, str(address))],
            )
    return host, password_hash is not None, rtype if address is not None else None
