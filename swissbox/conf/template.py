"""The `swissbox.toml` that `init` writes: every key with its default, commented out."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from swissbox.conf.schema import Settings


def toml_value(value: Any) -> str:
    """A Python scalar or list of strings/numbers as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)  # strings and lists of strings: JSON syntax is valid TOML here


def render_config(overrides: dict[str, dict[str, Any]] | None = None) -> str:
    """A config file: `overrides` are written as live keys, all other defaults as comments."""
    overrides = overrides or {}
    out = [
        "# swissbox configuration. Uncomment a key to change it; unknown keys are errors.",
        "# `swissbox check-config` validates this file.",
        "",
    ]
    defaults = Settings()
    for section in dataclasses.fields(Settings):
        out.append(f"[{section.name}]")
        values = getattr(defaults, section.name)
        for f in dataclasses.fields(values):
            live = overrides.get(section.name, {})
            if f.name in live:
                out.append(f"{f.name} = {toml_value(live[f.name])}")
            else:
                out.append(f"# {f.name} = {toml_value(getattr(values, f.name))}")
        out.append("")
    return "\n".join(out)
