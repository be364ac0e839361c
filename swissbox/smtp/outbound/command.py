"""`swissbox queue list|flush|delete`: the outbound queue as every front end sees it (the
state store shared through `[store] url`, or this node's `queue.db`), while `serve` runs.

Files queued but not adopted yet (a notice the CLI queued, a front end that died before its
runner saw the file) are adopted first, so that the list is complete.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.mailstore.queue import OutboundQueue, adopt_files
from swissbox.mailstore.queuestate import PENDING, QueueState, state_location

DELETE_LEASE = 60.0  # seconds: a delete that dies half-way leaves the message to the runners


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _open(env: CliEnv) -> tuple[OutboundQueue, QueueState]:
    if not env.config.initialized:
        raise CommandError(f"no swissbox data in {env.config.data_dir}: run `swissbox init` first")
    queue = OutboundQueue(env.config.queue_dir)
    state = QueueState.open(state_location(env.config))
    adopt_files(queue, state)
    return queue, state


def cmd_queue_list(args: argparse.Namespace, env: CliEnv) -> int:
    _, state = _open(env)
    try:
        entries = state.entries()
    finally:
        state.close()
    now = time.time()
    rows, lines = [], []
    for e in entries:
        held = e.claimed_by if e.claimed_by and e.claimed_until > now else None
        rows.append(
            {
                "id": e.id,
                "sender": e.sender,
                "created": e.created,
                "attempts": e.attempts,
                "next_attempt": e.next_attempt,
                "delivering": held,
                "recipients": {
                    r: {"status": s.status, "reply": s.reply, "remote": s.remote}
                    for r, s in e.recipients.items()
                },
            }
        )
        when = f"delivering on {held}" if held else f"next try {_when(e.next_attempt)}"
        lines.append(
            f"{e.id}  from <{e.sender}>  queued {_when(e.created)}  {e.attempts} attempts, {when}"
        )
        for rcpt, s in e.recipients.items():
            reply = f"  {s.reply}" if s.reply else ""
            lines.append(f"    {s.status:<8} <{rcpt}>{reply}")
    pending = sum(1 for e in entries for s in e.recipients.values() if s.status == PENDING)
    lines.append(f"{len(entries)} messages, {pending} recipients pending")
    env.emit(rows, "\n".join(lines))
    return 0


def cmd_queue_flush(args: argparse.Namespace, env: CliEnv) -> int:
    _, state = _open(env)
    try:
        known = state.ids()
        unknown = [qid for qid in args.ids if qid not in known]
        if unknown:
            raise CommandError(f"not in the queue: {', '.join(unknown)}")
        count = state.reschedule(time.time(), args.ids or None)
    finally:
        state.close()
    env.emit(
        {"rescheduled": count},
        f"{count} messages due now; the running server tries them at its next queue pass",
    )
    return 0


def cmd_queue_delete(args: argparse.Namespace, env: CliEnv) -> int:
    queue, state = _open(env)
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    try:
        for qid in args.ids:
            if qid not in state.ids():
                raise CommandError(f"not in the queue: {qid}")
            if not state.hold(owner, qid, time.time(), DELETE_LEASE):
                raise CommandError(f"{qid} is being delivered right now; try again in a moment")
            queue.remove(qid)  # the file first: what is left is a row without a file
            state.finish(owner, qid)
    finally:
        state.close()
    env.emit({"deleted": args.ids}, f"deleted {len(args.ids)} messages (no bounce sent)")
    return 0


def add_commands(sub: Any, common: Any, groups: dict[str, Any] | None = None) -> None:
    group = sub.add_parser("queue", help="the outbound queue (mail waiting for other domains)")
    verbs = group.add_subparsers(dest="queue_verb", metavar="VERB", required=True)
    p = verbs.add_parser(
        "list", parents=[common], help="queued messages, their recipients and last replies"
    )
    p.set_defaults(func=cmd_queue_list)
    p = verbs.add_parser("flush", parents=[common], help="try queued messages now")
    p.add_argument("ids", nargs="*", metavar="ID", help="only these (default: all)")
    p.set_defaults(func=cmd_queue_flush)
    p = verbs.add_parser(
        "delete", parents=[common], help="remove queued messages without delivering them"
    )
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_queue_delete)
