"""What every admin verb shares: the environment it runs in and how it reports.

A protocol package contributes verbs with `add_commands(sub, common, groups)` in its
`command.py`: it adds parsers to `sub` (new top-level groups) or to `groups["org"]` etc.
(the verb lists of the core's groups), with `parents=[common]` for --data/--config/--json,
and sets `func=handler`, where `handler(args, env) -> int`. Handlers raise CommandError (or a
DirectoryError) with a message a person understands; cli.main prints it and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from swissbox.auth import HashParams
from swissbox.conf import Config
from swissbox.directory import Directory


class CommandError(Exception):
    """A refused command; printed as `swissbox: error: <message>`."""


@dataclass
class CliEnv:
    config: Config
    json: bool = False
    _directory: Directory | None = field(default=None, repr=False)

    @property
    def directory(self) -> Directory:
        """The database; `swissbox init` must have made the data folder first."""
        if self._directory is None:
            if not self.config.initialized:
                raise CommandError(
                    f"no swissbox data in {self.config.data_dir}: run `swissbox init` first "
                    "(or give --data DIR / SWISSBOX_DATA)"
                )
            self._directory = Directory(self.config.directory_location)
        return self._directory

    @property
    def hash_params(self) -> HashParams:
        return HashParams.from_settings(self.config.settings.auth)

    def close(self) -> None:
        if self._directory is not None:
            self._directory.close()

    def emit(self, rows: Any, text: str) -> None:
        """Prints JSON of `rows` under --json, else the human text."""
        if self.json:
            print(json.dumps(rows, indent=2, default=str))
        elif text:
            print(text)


def read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    """The new secret: first line of stdin with --password-stdin, else asked twice on a tty."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise CommandError("give the password on standard input with --password-stdin")
    first = getpass.getpass(prompt)
    if first != getpass.getpass("Again: "):
        raise CommandError("the two passwords differ")
    return first
