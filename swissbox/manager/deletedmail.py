"""`/orgs/{org_id}/mailboxes/{address}/deleted`, `.../restore` and `.../usage`: the mail an
IMAP EXPUNGE (or folder delete) removed is kept `[imap] expunged_retention_days`; it can be
listed and brought back into the `Restored` folder by the very function `swissbox mailbox
restore` calls (`mailstore.retention.restore`), on the server's own mail store (IMAP sessions
see the new messages)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from swissbox.mailstore import MailboxStore, retention
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ADDRESS, ORG_ID, Endpoint
from swissbox.manager.mail import mail_store
from swissbox.manager.schema import Doc, Int, Obj, Param, Str
from swissbox.manager.scope import mailbox_of
from swissbox.manager.views import listing

HEADER_BYTES = 32 * 1024  # enough for any header a person reads in a list
LIST_DEFAULT, LIST_MAX = 200, 1000  # messages one listing reads the headers of
DELETED = Obj(
    {
        "id": Int(),
        "folder": Str(max_length=1000, description="the folder it was removed from"),
        "expunged": Int(description="when it was removed (Unix time)"),
        "subject": Str(max_length=2000),
        "from": Str(max_length=2000),
    },
    required=("id", "folder", "expunged"),
    open=True,
)
SINCE = Int(minimum=0, maximum=2**40, description="only mail removed at or after (Unix time)")
RESTORE_IN = Obj({"since": SINCE})
RESTORED = Obj({"restored": Int(), "folder": Str(max_length=100)}, required=("restored", "folder"))
USAGE = Obj(
    {
        "address": Str(max_length=320),
        "used_bytes": Int(),
        "quota_bytes": Int(nullable=True),
    },
    required=("address", "used_bytes", "quota_bytes"),
)


@contextlib.contextmanager
def _mailbox(call: Call, address: str) -> Iterator[MailboxStore]:
    """The mailbox on the process-wide mail store the IMAP and SMTP services share."""
    with mail_store(call) as store:
        yield store.mailbox(address)


def _headers(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        msg = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        for name in ("subject", "from"):
            value = msg.get(name)
            if value is not None:
                out[name] = str(value)[:2000]
    except Exception:  # a malformed header in old mail: list it without
        pass
    return out


def list_deleted(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    with _mailbox(call, mailbox.address) as box:
        rows = retention.pending(box, call.query.get("since"))  # oldest first
        rows = rows[-call.query.get("limit", LIST_DEFAULT) :]
        area = box.path / retention.AREA
        out = []
        for rid, folder, key, expunged in rows:
            try:
                with (area / key).open("rb") as f:
                    head = f.read(HEADER_BYTES).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            except FileNotFoundError:
                continue
            out.append({"id": rid, "folder": folder, "expunged": int(expunged), **_headers(head)})
    out.reverse()  # newest first
    return 200, out


def restore(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    since = (call.body or {}).get("since")
    with _mailbox(call, mailbox.address) as box:
        count = retention.restore(box, since)  # one at a time per mailbox, across processes
    call.audit("mailbox.restore", mailbox.address, {"restored": count, "since": since})
    return 200, {"restored": count, "folder": retention.RESTORED}


def usage(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    with _mailbox(call, mailbox.address) as box:
        used = box.usage()
    return 200, {
        "address": mailbox.address,
        "used_bytes": used,
        "quota_bytes": mailbox.quota_bytes,
    }


M = "/orgs/{org_id}/mailboxes/{address}"
ENDPOINTS = [
    Endpoint(
        "GET",
        M + "/deleted",
        list_deleted,
        Doc(
            "Removed mail still kept, newest first (`limit`, default"
            f" {LIST_DEFAULT}): what POST .../restore brings back",
            answers={200: listing(DELETED)},
            query=[
                Param("since", SINCE, "query", False),
                Param(
                    "limit",
                    Int(minimum=1, maximum=LIST_MAX),
                    "query",
                    False,
                    f"the newest this many (default {LIST_DEFAULT})",
                ),
            ],
        ),
        permission="mail:read",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "POST",
        M + "/restore",
        restore,
        Doc(
            "Bring removed mail back into the folder Restored (each message once; none that"
            " is still in a folder), as `swissbox mailbox restore`",
            body=RESTORE_IN,
            answers={200: RESTORED},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "GET",
        M + "/usage",
        usage,
        Doc("Bytes the mailbox holds (every folder) and its quota", answers={200: USAGE}),
        permission="mail:read",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
]
