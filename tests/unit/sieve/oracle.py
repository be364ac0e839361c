"""Dovecot Pigeonhole's ``sieve-test`` as an oracle, and both sides reduced to one outcome form.

An outcome is a frozenset of tuples: ``("store", folder, flags)``, ``("redirect", address)``,
``("vacation", days)``, ``("reject", reason)``, ``("discard",)``, ``("compile-error",)``,
``("failed",)`` (a runtime error; the message is then kept in INBOX).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from swissbox import sieve

from .corpus import INCLUDED

Outcome = frozenset[tuple[object, ...]]
SIEVE_TEST = shutil.which("sieve-test")
NOW_INDEPENDENT_ZONE = "UTC"


def _flags(flags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(f.lower() for f in flags))


def _printable(text: str) -> str:
    """sieve-test shows a control character (CR, LF) in a reason as '?'."""
    return "".join("?" if ord(c) < 32 else c for c in text)


def ours(script: str, message: bytes, mail_from: str, rcpt_to: str) -> Outcome:
    """What swissbox.sieve decides."""
    try:
        compiled = sieve.compile_script(script)
    except sieve.SieveParseError:
        return frozenset({("compile-error",)})
    try:
        env = sieve.Environment(load_script=lambda location, name: INCLUDED.get((location, name)))
        result = sieve.run(compiled, message, sieve.Envelope(mail_from, rcpt_to), env)
    except sieve.SieveRuntimeError:
        return frozenset({("failed",), ("store", "INBOX", ())})
    outcome: set[tuple[object, ...]] = set()
    for action in result.actions:
        if isinstance(action, sieve.Keep):
            outcome.add(("store", "INBOX", _flags(action.flags)))
        elif isinstance(action, sieve.FileInto):
            outcome.add(("store", _printable(action.mailbox), _flags(action.flags)))
        elif isinstance(action, sieve.Redirect):
            outcome.add(("redirect", action.address))
        elif isinstance(action, sieve.Vacation):
            outcome.add(("vacation", action.days))
        elif isinstance(action, sieve.Reject):
            outcome.add(("reject", _printable(action.reason)))
        elif isinstance(action, sieve.Discard):
            outcome.add(("discard",))
    if result.implicit_keep:
        outcome.add(("store", "INBOX", _flags(result.implicit_keep_flags)))
    return frozenset(outcome)


def pigeonhole(workdir: Path, script: str, message: bytes, mail_from: str, rcpt_to: str) -> Outcome:
    """What Pigeonhole's sieve-test decides (run as nobody when we are root).

    ``workdir`` must be reachable by nobody: make it with ``tempfile.mkdtemp()`` in /tmp.
    """
    assert SIEVE_TEST is not None
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o777)
    for (location, name), text in INCLUDED.items():
        (workdir / location).mkdir(exist_ok=True)
        (workdir / location).chmod(0o777)
        (workdir / location / f"{name}.sieve").write_text(text, encoding="utf-8")
    (workdir / "dovecot.conf").write_text(
        f"mail_location = maildir:{workdir}/maildir\npostmaster_address = postmaster@example.com\n"
        f"plugin {{\n  sieve = file:{workdir}/personal\n  sieve_global = {workdir}/global\n}}\n"
    )
    (workdir / "script.sieve").write_text(script, encoding="utf-8")
    if not mail_from:  # sieve-test refuses "-f <>"; it reads a null sender from Return-Path
        kept = [ln for ln in message.split(b"\r\n") if not ln.lower().startswith(b"return-path:")]
        message = b"Return-Path: <>\r\n" + b"\r\n".join(kept)
    (workdir / "message.eml").write_bytes(message)
    command = [SIEVE_TEST, "-c", str(workdir / "dovecot.conf"), "-r", rcpt_to]
    command += ["-f", mail_from] if mail_from else []
    command += [str(workdir / "script.sieve"), str(workdir / "message.eml")]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "TZ": NOW_INDEPENDENT_ZONE}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30, check=False)
    return parse_output(done.stdout, done.stderr)


def oracle_dir() -> Path:
    """A scratch directory that sieve-test running as nobody can use."""
    path = Path(tempfile.mkdtemp(prefix="sieve-oracle-"))
    path.chmod(0o755)
    return path


def parse_output(stdout: str, stderr: str) -> Outcome:
    if "failed to compile" in stderr:
        return frozenset({("compile-error",)})
    outcome: set[tuple[object, ...]] = set()
    current: list[object] | None = None
    items: list[list[object]] = []
    for line in stdout.splitlines():
        text = line.strip()
        if text.startswith("* "):
            current = [text[2:]]
            items.append(current)
        elif current is not None and text.startswith(("+ ", "=> ")):
            current.append(text)
    for item in items:
        head = str(item[0])
        details = [str(d) for d in item[1:]]
        if head.startswith("store message in folder: "):
            flags: list[str] = []
            for detail in details:
                if detail.startswith("+ add IMAP flags: "):
                    flags += detail.split(": ", 1)[1].split()
            folder = head.split(": ", 1)[1]
            folder = "INBOX" if folder.upper() == "INBOX" else folder  # INBOX is case-insensitive
            outcome.add(("store", folder, _flags(flags)))
        elif head.startswith("redirect message to: "):
            outcome.add(("redirect", head.split(": ", 1)[1].strip("<>")))
        elif head.startswith("send vacation message"):
            seconds = next(
                (int(d.split(":", 1)[1]) for d in details if d.startswith("=> seconds")), 0
            )
            outcome.add(("vacation", seconds // 86400))
        elif head.startswith("reject message with reason: "):
            outcome.add(("reject", head.split(": ", 1)[1]))
        elif head == "discard":
            outcome.add(("discard",))
        elif head.startswith("keep"):
            outcome.add(("store", "INBOX", ()))
        else:
            outcome.add(("unknown", head))
    if "final result: failed" in stderr:
        outcome = {("failed",), ("store", "INBOX", ())}
    return frozenset(outcome)
