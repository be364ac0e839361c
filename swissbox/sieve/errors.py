"""Sieve errors and the bounds a script runs within."""

from __future__ import annotations

from dataclasses import dataclass


class SieveError(Exception):
    """Any Sieve failure: the caller delivers to INBOX and logs ``str(error)``."""


class SieveParseError(SieveError):
    """The script is not valid Sieve (syntax, unknown command, missing ``require``)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class SieveRuntimeError(SieveError):
    """The script failed while running (a bound was hit or actions conflict)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one script and one run (Pigeonhole's defaults where it has one)."""

    max_script_bytes: int = 1 << 20
    max_steps: int = 100_000
    max_redirects: int = 4
    max_actions: int = 32
    max_nesting: int = 32
    max_variable_bytes: int = 4000
    max_variables: int = 128
    max_include_depth: int = 10
    max_includes: int = 32
