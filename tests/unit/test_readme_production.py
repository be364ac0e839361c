"""Every `swissbox ...` command line in the README's "Running in production" section parses
with the real command-line parser, and every config key its TOML examples set exists: the
section is meant to be typed as it stands."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from swissbox.cli import build_parser
from swissbox.conf import ConfigError, settings_from_dict

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text("utf-8")
    start = text.index("## Running in production\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks() -> list[str]:
    return re.findall(r"```\n(.*?)```", section(), re.S)


def command_lines() -> list[list[str]]:
    """The swissbox invocations of the code blocks (after a crontab's time fields and
    `sudo -u swissbox`, each side of `&&`) and of the inline code spans."""
    parts = []
    for block in blocks():
        for line in block.splitlines():
            line = re.sub(r"^\d+ \d+ \* \* \* ", "", line.split(" # ")[0])
            parts += re.split(r"\s&&\s", line)
    prose = re.sub(r"```\n.*?```", "", section(), flags=re.S)
    spans = re.findall(r"`(swissbox [^`]+)`", prose.replace("\n", " "))
    # a command, not a verb's mere name nor a synopsis (`swissbox cert renew [--force]`)
    parts += [s for s in spans if len(s.split()) >= 4 and not re.search(r"[\[|]", s)]
    out = []
    for part in parts:
        words = shlex.split(part)
        while words[:3] == ["sudo", "-u", "swissbox"]:
            words = words[3:]
        if words[:1] == ["swissbox"]:
            out.append(words[1:])
    return out


def test_commands_parse() -> None:
    lines = command_lines()
    assert len(lines) >= 25
    parser = build_parser()
    for argv in lines:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"README: swissbox {' '.join(argv)} does not parse")


def test_config_examples_are_valid() -> None:
    examples = [b for b in blocks() if b.lstrip().startswith("[") and "=" in b]
    assert len(examples) >= 3
    for block in examples:
        if block.startswith("[Unit]"):
            continue
        try:
            settings_from_dict(tomllib.loads(block), "README")
        except ConfigError as exc:
            pytest.fail(f"README config example: {exc}")
