"""Where mail goes besides mailboxes: a mailbox's forward and a mail domain's catch-all
(`swissbox mailbox forward`, `swissbox mail catch-all`), on the organization's own domains."""

from __future__ import annotations

from typing import Any

from swissbox.manager.api import Call
from swissbox.manager.endpoint import ADDRESS, DOMAIN, ORG_ID, Endpoint
from swissbox.manager.schema import Bool, Doc, Obj, Str
from swissbox.manager.scope import domain_of, mailbox_of
from swissbox.manager.views import OK

TARGET = Str(min_length=3, max_length=320, description="a hosted or external address")
FORWARD = Obj(
    {"address": Str(max_length=320), "target": Str(max_length=320), "keep": Bool()},
    required=("address", "target", "keep"),
    open=True,
)
FORWARD_IN = Obj(
    {"target": TARGET, "keep": Bool(description="a copy stays in the mailbox too")},
    required=("target",),
)
CATCH_ALL = Obj(
    {"domain": Str(max_length=253), "target": Str(max_length=320)},
    required=("domain", "target"),
    open=True,
)
CATCH_ALL_IN = Obj({"target": TARGET}, required=("target",))


def set_forward(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    body = call.body
    with call.directory.transaction():
        forward = call.directory.set_forward(
            mailbox.address, body["target"], bool(body.get("keep"))
        )
    assert forward is not None
    call.audit("mailbox.forward", mailbox.address, dict(body))
    return 200, {"address": forward.address, "target": forward.target, "keep": forward.keep}


def end_forward(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    with call.directory.transaction():
        call.directory.set_forward(mailbox.address, None)
    call.audit("mailbox.forward.off", mailbox.address)
    return 200, {"ok": True}


def set_catch_all(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    with call.directory.transaction():
        call.directory.set_catch_all(domain.name, call.body["target"])
    call.audit("mail.catch-all", domain.name, dict(call.body))
    return 200, {
        "domain": domain.name,
        "target": call.directory.catch_alls(domain.name)[domain.name],
    }


def end_catch_all(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    with call.directory.transaction():
        call.directory.set_catch_all(domain.name, None)
    call.audit("mail.catch-all.off", domain.name)
    return 200, {"ok": True}


F = "/orgs/{org_id}/mailboxes/{address}/forward"
C = "/orgs/{org_id}/domains/{domain}/catch-all"
ENDPOINTS = [
    Endpoint(
        "PUT",
        F,
        set_forward,
        Doc("Forward a mailbox's mail", body=FORWARD_IN, answers={200: FORWARD}),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        F,
        end_forward,
        Doc("Stop forwarding", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        C,
        set_catch_all,
        Doc(
            "Where unknown addresses of the domain go", body=CATCH_ALL_IN, answers={200: CATCH_ALL}
        ),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        C,
        end_catch_all,
        Doc("No catch-all", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
]
