"""Checks of the settings against this machine, for `swissbox check-config` (not for every
load: a command run elsewhere, or while `serve` holds the ports, must still read them)."""

from __future__ import annotations

import errno
import ipaddress
import socket

from swissbox.conf.schema import Settings


def machine_problems(settings: Settings) -> list[str]:
    """'key: what is wrong' for each listen address this machine cannot bind."""
    problems = []
    for i, addr in enumerate(settings.server.listen):
        family = socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((addr, 0))  # any free port: only the address is in question
            except OSError as exc:
                why = exc.strerror or str(exc)
                if exc.errno == errno.EADDRNOTAVAIL:
                    why = f"not an address of this machine ({why})"
                problems.append(f"server.listen[{i}]: cannot listen on {addr!r}: {why}")
    return problems
