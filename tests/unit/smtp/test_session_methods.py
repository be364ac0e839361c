"""The per-class shortcuts session.py gives aiosmtpd's per-connection set-up (its `dir()` and
`inspect` calls): a session finds the same commands, hooks and AUTH mechanisms as
aiosmtpd's own look-up on the instance finds."""

from __future__ import annotations

import asyncio
import inspect

from swissbox.smtp.inbound import MxHandler
from swissbox.smtp.session import ConnectionTracker, Limits, SwissSMTP
from swissbox.smtp.submission import SubmissionHandler


def test_commands_hooks_and_mechanisms_are_those_of_the_instances() -> None:
    async def main() -> None:
        for handler in (MxHandler(None), SubmissionHandler(None, None, False, None)):  # type: ignore[arg-type]
            for allow_auth in (False, True):
                p = SwissSMTP(
                    handler,
                    limits=Limits(),
                    tracker=ConnectionTracker(1),
                    allow_auth=allow_auth,
                    hostname="x",
                    loop=asyncio.get_running_loop(),
                )
                commands = {n[5:] for n in dir(p) if n.startswith("smtp_")}
                assert set(p._smtp_methods) == commands and "DATA" in commands
                assert all(m.__self__ is p for m in p._smtp_methods.values())
                hooks = {n[7:] for n in dir(handler) if n.startswith("handle_")}
                assert set(p._handle_hooks) == hooks and "DATA" in hooks
                mechanisms = {
                    n[5:]
                    for obj in (p, handler)
                    for n, _ in inspect.getmembers(obj)
                    if n.startswith("auth_")
                }
                assert set(p._auth_methods) == {m.replace("__", "-") for m in mechanisms}

    asyncio.run(main())
