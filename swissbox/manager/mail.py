"""`/orgs/{org_id}/mailboxes` (with the accounts that may use each) and `/aliases`, on the
organization's own mail domains only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from swissbox.auth import WeakPassword, hashed_new_secret
from swissbox.directory import ACCESS, DirectoryError, NotFound
from swissbox.directory.mailboxrules import add_mailbox, delete_mailbox, set_quota
from swissbox.mailstore import MailStore, release_store, shared_store
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ADDRESS, LOGIN, ORG_ID, Endpoint
from swissbox.manager.schema import Arr, Bool, Doc, Int, Obj, Param, Str
from swissbox.manager.scope import mail_domain_of, mailbox_of, member_login
from swissbox.manager.views import OK, PASSWORD, listing

USER = Obj({"login": Str(max_length=320), "access": Str(enum=ACCESS)}, required=("login", "access"))
MAILBOX = Obj(
    {
        "address": Str(max_length=320),
        "quota_bytes": Int(nullable=True),
        "users": Arr(USER, max_items=100_000),
    },
    required=("address", "users"),
    open=True,
)
MAILBOX_IN = Obj(
    {
        "address": Str(min_length=3, max_length=320),
        "password": PASSWORD,
        "quota_bytes": Int(minimum=1, maximum=2**62, nullable=True),
    },
    required=("address", "password"),
)
MAILBOX_CHANGE = Obj({"quota_bytes": MAILBOX_IN.properties["quota_bytes"]})
ERASE = Str(enum=("true", "false"), description="true: erase its mail now, not after the days")
MAILBOX_DELETED = Obj(
    {
        "ok": Bool(),
        "erase_after": Int(nullable=True, description="when its mail is erased (null: it was)"),
        "aliases": Arr(Str(max_length=320), max_items=100_000),
        "catch_alls": Arr(Str(max_length=253), max_items=100_000),
    },
    required=("ok", "erase_after", "aliases", "catch_alls"),
)
GRANT = Obj({"access": Str(enum=ACCESS)}, required=("access",))
TARGET = Str(min_length=1, max_length=320)
ALIAS = Obj(
    {
        "address": Str(max_length=320),
        "targets": Arr(Str(max_length=320), max_items=100_000),
        "send_as": Bool(),
    },
    required=("address", "targets", "send_as"),
    open=True,
)
ALIAS_LEFT = Obj(
    {**ALIAS.properties, "removed": Bool(description="the alias went with its last target")},
    required=("address", "targets", "removed"),
    open=True,
)
ALIAS_IN = Obj(
    {
        "address": Str(min_length=3, max_length=320),
        "targets": Arr(TARGET, min_items=1, max_items=100),
        "send_as": Bool(),
    },
    required=("address", "targets"),
)


def _org_mail_domains(call: Call) -> list[str]:
    assert call.org is not None
    d = call.directory
    return [x.name for x in d.domains(call.org.name) if d.is_mail_domain(x.name)]


def _mailbox_json(call: Call, boxes: list[Any]) -> list[dict[str, Any]]:
    users = call.directory.mailbox_users(boxes)
    return [
        {
            "address": m.address,
            "quota_bytes": m.quota_bytes,
            "users": [{"login": u.login, "access": u.access} for u in users[m.id]],
        }
        for m in boxes
    ]


def list_mailboxes(call: Call) -> tuple[int, Any]:
    boxes = [m for name in _org_mail_domains(call) for m in call.directory.mailboxes(name)]
    return 200, _mailbox_json(call, boxes)


@contextlib.contextmanager
def mail_store(call: Call) -> Iterator[MailStore]:
    """The process-wide mail store the IMAP and SMTP services share, held for the block."""
    root = call.manager.mail_dir
    store = shared_store(root, call.manager.settings.store.url)
    try:
        yield store
    finally:
        release_store(root)


def create_mailbox(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    body = call.body
    mail_domain_of(call.directory, call.org.name, body["address"])
    with mail_store(call) as store:
        mailbox = add_mailbox(
            call.directory,
            body["address"],
            body["password"],
            call.manager.hash_params,
            body.get("quota_bytes"),
            store,
        )
    call.audit("mailbox.add", mailbox.address, {"quota_bytes": mailbox.quota_bytes})
    return 201, _mailbox_json(call, [mailbox])[0]


def remove_mailbox(call: Call) -> tuple[int, Any]:
    """As `swissbox mailbox delete`: the address stops, its mail moves out of reach (on the
    server's shared mail store, so its open IMAP sessions end at their next command)."""
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    erase = call.query.get("erase") == "true"
    days = call.manager.settings.imap.expunged_retention_days
    with mail_store(call) as store:
        done = delete_mailbox(call.directory, store, mailbox.address, days, erase)
    details = {"erase": erase, "aliases": list(done.aliases), "catch_alls": list(done.catch_alls)}
    call.audit("mailbox.remove", mailbox.address, details)
    return 200, {
        "ok": True,
        "erase_after": done.erase_after,
        "aliases": list(done.aliases),
        "catch_alls": list(done.catch_alls),
    }


def change_mailbox(call: Call) -> tuple[int, Any]:
    """A new quota (null: no limit), as `swissbox mailbox quota`."""
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    if "quota_bytes" in call.body:
        mailbox = set_quota(call.directory, mailbox.address, call.body["quota_bytes"])
        call.audit("mailbox.quota", mailbox.address, {"quota_bytes": mailbox.quota_bytes})
    return 200, _mailbox_json(call, [mailbox])[0]


def set_password(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    mailbox = mailbox_of(d, call.org.name, call.path["address"])
    try:
        new_hash = hashed_new_secret("mailbox", call.body["password"], call.manager.hash_params)
    except WeakPassword as exc:
        raise DirectoryError(str(exc)) from None
    d.set_secret_hash("mailbox", mailbox.address, new_hash)
    call.audit("mailbox.password", mailbox.address)
    return 200, {"ok": True}


def grant(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    mailbox = mailbox_of(d, call.org.name, call.path["address"])
    login = member_login(d, call.org.name, call.path["login"])
    before = d.grant(mailbox.address, login, call.body["access"])
    call.audit("mailbox.grant", mailbox.address, {"login": login, "access": call.body["access"]})
    return 200 if before else 201, _mailbox_json(call, [mailbox])[0]


def revoke(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    mailbox = mailbox_of(d, call.org.name, call.path["address"])
    login = member_login(d, call.org.name, call.path["login"])
    d.revoke(mailbox.address, login)
    call.audit("mailbox.revoke", mailbox.address, {"login": login})
    return 200, _mailbox_json(call, [mailbox])[0]


def list_aliases(call: Call) -> tuple[int, Any]:
    d = call.directory
    return 200, [
        {"address": a.address, "targets": list(a.targets), "send_as": a.send_as}
        for name in _org_mail_domains(call)
        for a in d.aliases(name)
    ]


def add_alias(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, body = call.directory, call.body
    mail_domain_of(d, call.org.name, body["address"])
    with d.transaction():
        alias = d.add_alias(body["address"], body["targets"], body.get("send_as"))
    call.audit("alias.add", alias.address, {"targets": body["targets"]})
    return 201, {"address": alias.address, "targets": list(alias.targets), "send_as": alias.send_as}


def remove_alias_target(call: Call) -> tuple[int, Any]:
    """One target off an alias (as `swissbox alias del ALIAS TARGET`); the alias goes with
    its last target."""
    assert call.org is not None
    d = call.directory
    address, target = call.path["address"], call.path["target"]
    mail_domain_of(d, call.org.name, address)
    with d.transaction():
        left = d.remove_alias(address, [target])
    call.audit("alias.remove-target", address, {"target": target, "alias_gone": left is None})
    if left is None:
        return 200, {"address": address, "targets": [], "removed": True}
    return 200, {
        "address": left.address,
        "targets": list(left.targets),
        "send_as": left.send_as,
        "removed": False,
    }


def remove_alias(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    address = call.path["address"]
    mail_domain_of(d, call.org.name, address)
    if not any(a.address.lower() == address.lower() for a in d.aliases(address.rsplit("@", 1)[1])):
        raise NotFound(f"no alias {address!r}")
    with d.transaction():
        d.remove_alias(address)
    call.audit("alias.remove", address)
    return 200, {"ok": True}


M, A = "/orgs/{org_id}/mailboxes", "/orgs/{org_id}/aliases"
TARGET_PARAM = Param("target", Str(min_length=3, max_length=320), description="alias target")
ENDPOINTS = [
    Endpoint(
        "GET",
        M,
        list_mailboxes,
        Doc("Mailboxes and who may use them", answers={200: listing(MAILBOX)}),
        permission="mail:read",
        params=[ORG_ID],
        tag="mail",
    ),
    Endpoint(
        "POST",
        M,
        create_mailbox,
        Doc("Create a mailbox with its own password", body=MAILBOX_IN, answers={201: MAILBOX}),
        permission="mail:write",
        params=[ORG_ID],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        M + "/{address}",
        remove_mailbox,
        Doc(
            "Delete a mailbox: its mail is moved out of reach at once and erased after"
            " `[imap] expunged_retention_days` (`erase=true`: now); an address created again"
            " starts empty. Alias targets and catch-alls naming it are removed",
            answers={200: MAILBOX_DELETED},
            query=[Param("erase", ERASE, "query", False)],
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "PATCH",
        M + "/{address}",
        change_mailbox,
        Doc(
            "Change a mailbox's quota (null: no limit), as `swissbox mailbox quota`",
            body=MAILBOX_CHANGE,
            answers={200: MAILBOX},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        M + "/{address}/password",
        set_password,
        Doc(
            "Set a mailbox's password (mailbox realm rule)",
            body=Obj({"password": PASSWORD}, required=("password",)),
            answers={200: OK},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        M + "/{address}/users/{login}",
        grant,
        Doc(
            "Let a member use this address (own, full or read)",
            body=GRANT,
            answers={200: MAILBOX, 201: MAILBOX},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS, LOGIN],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        M + "/{address}/users/{login}",
        revoke,
        Doc("End a member's use of this address", answers={200: MAILBOX}),
        permission="mail:write",
        params=[ORG_ID, ADDRESS, LOGIN],
        tag="mail",
    ),
    Endpoint(
        "GET",
        A,
        list_aliases,
        Doc("Aliases of the organization's mail domains", answers={200: listing(ALIAS)}),
        permission="mail:read",
        params=[ORG_ID],
        tag="mail",
    ),
    Endpoint(
        "POST",
        A,
        add_alias,
        Doc("Create an alias, or add targets to one", body=ALIAS_IN, answers={201: ALIAS}),
        permission="mail:write",
        params=[ORG_ID],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        A + "/{address}",
        remove_alias,
        Doc("Remove an alias", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        A + "/{address}/targets/{target}",
        remove_alias_target,
        Doc(
            "Remove one target of an alias (the alias goes with its last one)",
            answers={200: ALIAS_LEFT},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS, TARGET_PARAM],
        tag="mail",
    ),
]
