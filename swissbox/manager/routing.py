"""Where mail goes besides mailboxes: a mailbox's forward, a mail domain's catch-all and
domain aliases (`swissbox mailbox forward`, `swissbox mail catch-all`, `swissbox domain
alias`), on the organization's own domains."""

from __future__ import annotations

from typing import Any

from swissbox.directory.domainalias import set_domain_alias
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ADDRESS, DOMAIN, ORG_ID, Endpoint
from swissbox.manager.schema import Arr, Bool, Doc, Int, Obj, Str
from swissbox.manager.scope import domain_of, mailbox_of
from swissbox.manager.views import OK, listing
from swissbox.runtime import ZONE_CHANGED

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
ROUTE = Obj(
    {
        "address": Str(max_length=320),
        "kind": Str(enum=("alias", "forward", "catch-all", "domain-alias")),
        "targets": Arr(Str(max_length=320), max_items=100_000),
        "send_as": Bool(),
        "keep": Bool(),
    },
    required=("address", "kind", "targets"),
    open=True,
)
DOMAIN_ALIAS = Obj(
    {
        "domain": Str(max_length=253),
        "target": Str(max_length=253),
        "records": Int(description="mail DNS records and DKIM keys published now"),
    },
    required=("domain", "target"),
    open=True,
)
DOMAIN_ALIAS_IN = Obj(
    {"target": Str(min_length=1, max_length=253, description="a mail domain of this organization")},
    required=("target",),
)


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


def list_routing(call: Call) -> tuple[int, Any]:
    """Every address that is not a plain mailbox, as `swissbox alias list` shows them."""
    assert call.org is not None
    d = call.directory
    rows: list[dict[str, Any]] = []
    for domain in (x.name for x in d.domains(call.org.name)):
        if not d.is_mail_domain(domain):
            continue
        for a in d.aliases(domain):
            rows.append(
                {"address": a.address, "kind": "alias", "targets": list(a.targets),
                 "send_as": a.send_as}
            )  # fmt: skip
        for f in d.forwards(domain):
            rows.append(
                {"address": f.address, "kind": "forward", "targets": [f.target], "keep": f.keep}
            )
        for name, target in d.catch_alls(domain).items():
            rows.append({"address": f"@{name}", "kind": "catch-all", "targets": [target]})
        for alias, target in d.domain_aliases(domain).items():
            if alias == domain:
                rows.append(
                    {"address": f"@{alias}", "kind": "domain-alias", "targets": [f"@{target}"]}
                )
    return 200, rows


def list_domain_aliases(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    ours = {x.name for x in d.domains(call.org.name)}
    return 200, [
        {"domain": alias, "target": target}
        for alias, target in d.domain_aliases().items()
        if alias in ours
    ]


def put_domain_alias(call: Call) -> tuple[int, Any]:
    """Every address of `{domain}` reaches the same one of `target` (both this
    organization's); the alias domain gets its Email Service and mail records if needed."""
    assert call.org is not None
    d, m = call.directory, call.manager
    domain = domain_of(d, call.org.name, call.path["domain"])
    target = domain_of(d, call.org.name, call.body["target"])
    _, published = set_domain_alias(d, m.dkim_dir, m.settings, domain.name, target.name)
    call.audit("domain.alias", domain.name, {"target": target.name})
    if published and m.emit_on_loop is not None:
        m.emit_on_loop(ZONE_CHANGED)
    return 200, {"domain": domain.name, "target": target.name, "records": published}


def end_domain_alias(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, m = call.directory, call.manager
    domain = domain_of(d, call.org.name, call.path["domain"])
    set_domain_alias(d, m.dkim_dir, m.settings, domain.name, None)
    call.audit("domain.alias.off", domain.name)
    return 200, {"ok": True}


F = "/orgs/{org_id}/mailboxes/{address}/forward"
C = "/orgs/{org_id}/domains/{domain}/catch-all"
DA = "/orgs/{org_id}/domains/{domain}/alias"
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
    Endpoint(
        "GET",
        "/orgs/{org_id}/domain-aliases",
        list_domain_aliases,
        Doc(
            "Domain aliases of the organization (alias domain -> target domain)",
            answers={200: listing(DOMAIN_ALIAS)},
        ),
        permission="mail:read",
        params=[ORG_ID],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        DA,
        put_domain_alias,
        Doc(
            "Make the domain an alias of another mail domain of the organization"
            " (every address of it reaches the same one there)",
            body=DOMAIN_ALIAS_IN,
            answers={200: DOMAIN_ALIAS},
        ),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        DA,
        end_domain_alias,
        Doc("The domain is no longer an alias", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "GET",
        "/orgs/{org_id}/routing",
        list_routing,
        Doc(
            "Aliases, forwards, catch-alls and domain aliases of the organization's mail"
            " domains (as `swissbox alias list`)",
            answers={200: listing(ROUTE)},
        ),
        permission="mail:read",
        params=[ORG_ID],
        tag="mail",
    ),
]
