"""The IMAP protocol: Twisted's `IMAP4Server` with its input path and the commands it lacks or
gets wrong replaced (LIBRARY-NOTES, "Twisted IMAP4Server").

Kept from Twisted: the protocol base (transport, TLS upgrade, timeouts), the portal login to
an `IAccount`. Replaced: input assembly (sans-I/O
`parser.Assembler`: bounded literals, LITERAL+, no buffering of refused APPEND data,
pipelined input discarded at STARTTLS), dispatch (one table of handlers by state and name),
argument parsing (`parser.tokenize`), and the
commands whose Twisted versions are slow or wrong (FETCH is batched from the index, SEARCH
runs on index data, STORE/EXPUNGE notify other sessions). Added: UIDPLUS, MOVE, SPECIAL-USE,
ENABLE, CONDSTORE, UNSELECT, CHILDREN, LITERAL+, ID, QUOTA, ACL (RFC 4314) and the shared
namespace of several users of one address (shared.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swissbox.imap.base import SessionBase
from swissbox.imap.compress import CompressCommands
from swissbox.imap.fetch import FetchCommands
from swissbox.imap.login import LoginCommands
from swissbox.imap.mailboxes import MailboxCommands
from swissbox.imap.notifycmd import NotifyCommands
from swissbox.imap.selected import SelectedCommands
from swissbox.imap.shared import SharedCommands
from swissbox.imap.sortthread import SortCommands


class ImapSession(
    LoginCommands,
    MailboxCommands,
    SortCommands,
    SelectedCommands,
    NotifyCommands,
    FetchCommands,
    CompressCommands,
    SharedCommands,
    SessionBase,
):
    """One client connection: the session core plus the command mixins (one module per state
    group). `service` provides settings, store, portal, hub and TLS options."""


def outside_shared(handler: Callable[..., Any]) -> Callable[..., Any]:
    """CREATE/DELETE/RENAME refused for names in the shared namespace (shared.py)."""

    def guarded(session: ImapSession, tag: bytes, args: list[Any]) -> Any:
        session.guard_folder_change(args[:2])
        return handler(session, tag, args)

    return guarded


# The dispatch table: command name, handler, states in which it is valid. Twisted's own
# `<state>_<COMMAND>` handlers (UID included) are never reached: its input path is replaced.
COMMANDS: list[tuple[str, Callable[..., Any], tuple[str, ...]]] = [
    ("CAPABILITY", ImapSession.cmd_capability, ("unauth", "auth", "select")),
    ("NOOP", ImapSession.cmd_noop, ("unauth", "auth", "select")),
    ("LOGOUT", ImapSession.cmd_logout, ("unauth", "auth", "select")),
    ("ID", ImapSession.cmd_id, ("unauth", "auth", "select")),
    ("STARTTLS", ImapSession.cmd_starttls, ("unauth",)),
    ("LOGIN", ImapSession.cmd_login, ("unauth",)),
    ("AUTHENTICATE", ImapSession.cmd_authenticate, ("unauth",)),
    ("ENABLE", ImapSession.cmd_enable, ("auth", "select")),
    ("NAMESPACE", ImapSession.cmd_namespace, ("auth", "select")),
    ("SELECT", ImapSession.cmd_select, ("auth", "select")),
    ("EXAMINE", ImapSession.cmd_examine, ("auth", "select")),
    ("CREATE", outside_shared(ImapSession.cmd_create), ("auth", "select")),
    ("DELETE", outside_shared(ImapSession.cmd_delete), ("auth", "select")),
    ("RENAME", outside_shared(ImapSession.cmd_rename), ("auth", "select")),
    ("SUBSCRIBE", ImapSession.cmd_subscribe, ("auth", "select")),
    ("UNSUBSCRIBE", ImapSession.cmd_unsubscribe, ("auth", "select")),
    ("LIST", ImapSession.cmd_list, ("auth", "select")),
    ("LSUB", ImapSession.cmd_lsub, ("auth", "select")),
    ("STATUS", ImapSession.cmd_status, ("auth", "select")),
    ("APPEND", ImapSession.cmd_append, ("auth", "select")),
    ("IDLE", ImapSession.cmd_idle, ("auth", "select")),
    ("NOTIFY", ImapSession.cmd_notify, ("auth", "select")),
    ("COMPRESS", ImapSession.cmd_compress, ("auth", "select")),
    ("GETQUOTAROOT", ImapSession.cmd_getquotaroot, ("auth", "select")),
    ("GETQUOTA", ImapSession.cmd_getquota, ("auth", "select")),
    ("SETQUOTA", ImapSession.cmd_setquota, ("auth", "select")),
    ("CHECK", ImapSession.cmd_check, ("select",)),
    ("CLOSE", ImapSession.cmd_close, ("select",)),
    ("UNSELECT", ImapSession.cmd_unselect, ("select",)),
    ("EXPUNGE", ImapSession.cmd_expunge, ("select",)),
    ("FETCH", ImapSession.cmd_fetch, ("select",)),
    ("STORE", ImapSession.cmd_store, ("select",)),
    ("COPY", ImapSession.cmd_copy, ("select",)),
    ("MOVE", ImapSession.cmd_move, ("select",)),
    ("SEARCH", ImapSession.cmd_search, ("select",)),
    ("CANCELUPDATE", ImapSession.cmd_cancelupdate, ("select",)),
    ("SORT", ImapSession.cmd_sort, ("select",)),
    ("THREAD", ImapSession.cmd_thread, ("select",)),
    ("MYRIGHTS", ImapSession.cmd_myrights, ("auth", "select")),
    ("GETACL", ImapSession.cmd_getacl, ("auth", "select")),
    ("LISTRIGHTS", ImapSession.cmd_listrights, ("auth", "select")),
    ("SETACL", ImapSession.cmd_setacl, ("auth", "select")),
    ("DELETEACL", ImapSession.cmd_setacl, ("auth", "select")),
]
ImapSession.handlers = {
    (state, name.encode()): fn for name, fn, states in COMMANDS for state in states
}
