"""The whole stack as its users meet it: `swissbox init` + `swissbox serve` in a subprocess,
on free loopback ports, with cheap Argon2 parameters so tests stay fast.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from swissbox.conf.template import toml_value

PORT_KEYS = {
    "smtp_mx": ("smtp", "mx_port"),
    "submission": ("smtp", "submission_port"),
    "submissions": ("smtp", "submissions_port"),
    "imap": ("imap", "port"),
    "imaps": ("imap", "tls_port"),
    "managesieve": ("managesieve", "port"),
    "dns": ("dns", "port"),
    "http": ("http", "port"),
    "https": ("http", "tls_port"),
    "metrics": ("metrics", "port"),
}
CHEAP_ARGON2 = {"argon2_memory_kib": 8, "argon2_iterations": 1, "argon2_lanes": 1}


XDIST_PORTS = (10_000, 2_000)  # first port, ports per pytest-xdist worker (below 32768)


def _worker_ports() -> range | None:
    """Under pytest-xdist, this worker's own block of ports, below the kernel's ephemeral
    range: a port picked here and released until its server binds it can then be neither
    another worker's pick nor a port the kernel hands to someone's bind(0) or connect()."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return None
    first, size = XDIST_PORTS
    start = first + int(worker[2:]) * size
    return range(start, start + size) if start + size <= 32_768 else None


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on `host` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
    block = _worker_ports()
    for _ in range(200):
        port = random.choice(block) if block is not None else 0
        try:
            with socket.socket(family, kind) as s:
                s.bind((host, port))
                port = int(s.getsockname()[1])
                with socket.socket(family, other) as t:
                    t.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def distinct_port(taken: set[int]) -> int:
    """A free port not already in `taken` (added to it): free_port alone may hand out the same
    port twice in a row, since each is released before the next is picked."""
    for _ in range(50):
        port = free_port()
        if port not in taken:
            taken.add(port)
            return port
    raise RuntimeError("no distinct free port")


class Stack:
    """A data folder with its own config; `start()` runs `swissbox serve` on it."""

    def __init__(self, tmp_path: Path, hostname: str = "mx.example.test", **overrides: Any) -> None:
        self.data = tmp_path / "data"
        self.hostname = hostname
        taken: set[int] = set()
        self.ports = {name: distinct_port(taken) for name in PORT_KEYS}
        self.settings: dict[str, dict[str, Any]] = {"auth": dict(CHEAP_ARGON2)}
        for name, (section, key) in PORT_KEYS.items():
            self.settings.setdefault(section, {})[key] = self.ports[name]
        # Outbound mail stays on loopback: MX lookups at our own DNS, delivery to a closed port
        # (tests that want a remote server set outbound_port to theirs).
        self.settings["smtp"]["outbound_resolvers"] = [f"127.0.0.1:{self.ports['dns']}"]
        self.settings["smtp"]["outbound_port"] = distinct_port(taken)
        # Inbound SPF/DKIM/DMARC would ask DNS about every test sender's domain: off unless a
        # test turns it on with its own resolver (tests/integration/test_smtp_mailauth.py).
        self.settings["smtp"]["inbound_auth"] = False
        for section, values in overrides.items():
            self.settings.setdefault(section, {}).update(values)
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = tmp_path / "serve.log"
        self._initialized = False

    @property
    def ca_file(self) -> Path:
        return self.data / "tls" / "ca.pem"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("SWISSBOX_DATA", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def write_config(self) -> None:
        lines = ["[server]", f'hostname = "{self.hostname}"']
        for key, value in self.settings.get("server", {}).items():
            lines.append(f"{key} = {toml_value(value)}")
        for section, values in self.settings.items():
            if section == "server":
                continue
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "swissbox.toml").write_text("\n".join(lines) + "\n")

    def init(self) -> None:
        if not self._initialized:
            self.write_config()
            self.cli("init", check=True)
            self._initialized = True

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = False, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs `swissbox ARGS --data DATA` and returns the finished process."""
        result = subprocess.run(
            [sys.executable, "-m", "swissbox.cli", *args, "--data", str(self.data)],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"swissbox {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def provision(
        self,
        org: str = "acme",
        domain: str = "example.test",
        mailboxes: dict[str, str] | None = None,
        accounts: dict[str, str] | None = None,
    ) -> None:
        """An organization with a hosted mail domain, mailboxes and accounts (address: password)."""
        self.init()
        self.cli("org", "add", org, check=True)
        for login, password in (accounts or {}).items():
            self.cli(
                "account",
                "add",
                login,
                "--org",
                org,
                "--password-stdin",
                stdin=password + "\n",
                check=True,
            )
        self.cli("domain", "add", domain, "--org", org, check=True)
        self.cli("mail", "enable", domain, check=True)
        self.add_mailboxes(mailboxes or {})

    def add_mailboxes(self, mailboxes: dict[str, str]) -> None:
        """Mailboxes (address: password) of a provisioned domain; the running server sees
        them at once."""
        for address, password in mailboxes.items():
            self.cli(
                "mailbox", "add", address, "--password-stdin", stdin=password + "\n", check=True
            )

    def start(self, timeout: float = 20.0) -> str:
        """Starts `swissbox serve`; returns its log once it says 'ready'."""
        self.init()
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "swissbox.cli", "serve", "--data", str(self.data)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            if re.search(r"\bready\b", text):
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"swissbox serve exited {self.proc.returncode}:\n{text}")
            time.sleep(0.05)
        self.kill()
        raise AssertionError(
            f"swissbox serve not ready after {timeout}s:\n{self.log_path.read_text()}"
        )

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.kill()
