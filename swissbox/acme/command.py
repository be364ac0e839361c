"""`swissbox cert renew [--force]`: asks the running server, through the data folder, to renew
now (an order needs its HTTP listener for HTTP-01), and prints what came of it."""

from __future__ import annotations

import argparse
import time
from typing import Any

from swissbox.acme.files import AcmeFiles
from swissbox.cliutil import CliEnv, CommandError

PICKUP_SECONDS = 15.0  # the server looks for a request every second
POLL_SECONDS = 0.2


def cmd_cert_renew(args: argparse.Namespace, env: CliEnv) -> int:
    if not env.config.settings.acme.enabled:
        raise CommandError("[acme] enabled is false: certificates come from [tls]")
    files = AcmeFiles(env.config.data_dir)
    asked = time.time()
    files.request_renewal(args.force)
    deadline = asked + args.timeout
    while time.time() < deadline:
        state = files.state()
        if state.answered >= asked:
            ok = not state.answer.startswith(("failed", "no names"))
            env.emit({"ok": ok, "answer": state.answer}, f"acme: {state.answer}")
            return 0 if ok else 1
        if files.request.exists() and time.time() > asked + PICKUP_SECONDS:
            files.request.unlink(missing_ok=True)
            raise CommandError(
                f"no running `swissbox serve` on {env.config.data_dir} took the request"
                " (certificates are renewed by the server)"
            )
        time.sleep(POLL_SECONDS)
    raise CommandError(
        f"no answer within {args.timeout:.0f} s; `swissbox status` shows the outcome"
    )


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    cert = sub.add_parser("cert", help="ACME certificates: renew now")
    verbs = cert.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = verbs.add_parser(
        "renew",
        parents=[common],
        help="have the running server renew its ACME certificate now, if due (or --force)",
        description="Asks the running `swissbox serve` (through the data folder) to renew the"
        " ACME certificate now: if it is due or lacks a name, or always with --force; a renewal"
        " that was backing off after a failure is tried at once. Prints the outcome.",
    )
    p.add_argument("--force", action="store_true", help="renew even when not due")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the outcome")
    p.set_defaults(func=cmd_cert_renew)
