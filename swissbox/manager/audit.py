"""The audit log: every change made through the API, with who, how, from where, on which
organization. Details never carry a secret: fields named like one are dropped here, so a
handler that passes its whole request body cannot leak a password into the log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_WORDS = ("password", "secret", "token", "confirm")


def clean(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """`detail` without any field whose name mentions a secret (at any depth)."""
    out: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if any(word in key.lower() for word in SECRET_WORDS):
            continue
        out[key] = clean(value) if isinstance(value, Mapping) else value
    return out
