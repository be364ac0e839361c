"""`/orgs/{org_id}/mailboxes/{address}/sieve` (the mailbox's active Sieve script, as
`swissbox mailbox sieve`) and `/orgs/{org_id}/domains/{domain}/sieve-before` (the script run
before every mailbox's own, as `swissbox mail sieve-before`). Both store through the
directory's sieve-script functions, which compile the script first: one that does not compile
is a 400 carrying the compiler's line-numbered message."""

from __future__ import annotations

from typing import Any

from swissbox.manager.api import Call
from swissbox.manager.endpoint import ADDRESS, DOMAIN, ORG_ID, Endpoint
from swissbox.manager.schema import Arr, Bool, Doc, Obj, Str
from swissbox.manager.scope import domain_of, mailbox_of
from swissbox.manager.views import OK

MAX_SCRIPT = 64 * 1000  # characters; the request body is capped at 64 KiB anyway
DEFAULT_NAME = "main"
SCRIPT_NAME = Str(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")
SCRIPT = Str(max_length=MAX_SCRIPT, description="a Sieve script (RFC 5228)")
MAILBOX_SIEVE = Obj(
    {
        "address": Str(max_length=320),
        "active": Str(max_length=128, description="the running script's name, if one runs"),
        "script": SCRIPT,
        "scripts": Arr(Obj({"name": Str(max_length=128), "active": Bool()}), max_items=10_000),
    },
    required=("address", "scripts"),
    open=True,
)
MAILBOX_SIEVE_IN = Obj(
    {"script": SCRIPT, "name": SCRIPT_NAME},
    required=("script",),
    description=f"stored under `name` (default {DEFAULT_NAME!r}) and made the active script",
)
DOMAIN_SIEVE = Obj(
    {"domain": Str(max_length=253), "script": Str(max_length=MAX_SCRIPT)},
    required=("domain",),
    open=True,
)
DOMAIN_SIEVE_IN = Obj({"script": SCRIPT}, required=("script",))


def _mailbox_sieve(call: Call, address: str) -> dict[str, Any]:
    d = call.directory
    scripts = d.sieve_scripts(address)
    out: dict[str, Any] = {
        "address": address,
        "scripts": [{"name": s.name, "active": s.active} for s in scripts],
    }
    active = next((s.name for s in scripts if s.active), None)
    if active is not None:
        out["active"] = active
        out["script"] = d.sieve_script(address, active)
    return out


def read_mailbox_sieve(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    return 200, _mailbox_sieve(call, mailbox.address)


def put_mailbox_sieve(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    name = call.body.get("name", DEFAULT_NAME)
    call.directory.put_sieve_script(mailbox.address, name, call.body["script"], activate=True)
    call.audit("mailbox.sieve", mailbox.address, {"name": name})
    return 200, _mailbox_sieve(call, mailbox.address)


def stop_mailbox_sieve(call: Call) -> tuple[int, Any]:
    """No script runs any more (as `swissbox mailbox sieve ADDRESS off`); stored scripts stay."""
    assert call.org is not None
    mailbox = mailbox_of(call.directory, call.org.name, call.path["address"])
    call.directory.activate_sieve_script(mailbox.address, None)
    call.audit("mailbox.sieve.off", mailbox.address)
    return 200, {"ok": True}


def _mail_domain(call: Call) -> str:
    assert call.org is not None
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    return domain.name


def read_domain_sieve(call: Call) -> tuple[int, Any]:
    name = _mail_domain(call)
    # the directory reads it by an address of the domain (what delivery has in hand)
    script = call.directory.domain_sieve_before(f"postmaster@{name}")
    return 200, {"domain": name, **({"script": script} if script is not None else {})}


def put_domain_sieve(call: Call) -> tuple[int, Any]:
    name = _mail_domain(call)
    call.directory.set_domain_sieve_before(name, call.body["script"])
    call.audit("mail.sieve-before", name)
    return 200, {"domain": name, "script": call.body["script"]}


def stop_domain_sieve(call: Call) -> tuple[int, Any]:
    name = _mail_domain(call)
    call.directory.set_domain_sieve_before(name, None)
    call.audit("mail.sieve-before.off", name)
    return 200, {"ok": True}


S = "/orgs/{org_id}/mailboxes/{address}/sieve"
B = "/orgs/{org_id}/domains/{domain}/sieve-before"
ENDPOINTS = [
    Endpoint(
        "GET",
        S,
        read_mailbox_sieve,
        Doc("The mailbox's Sieve scripts and the one that runs", answers={200: MAILBOX_SIEVE}),
        permission="mail:read",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        S,
        put_mailbox_sieve,
        Doc(
            "Store a Sieve script and make it the one that runs at delivery"
            " (a script that does not compile: 400 with the compiler's message)",
            body=MAILBOX_SIEVE_IN,
            answers={200: MAILBOX_SIEVE},
        ),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        S,
        stop_mailbox_sieve,
        Doc("No Sieve script runs for this mailbox (the scripts stay stored)", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, ADDRESS],
        tag="mail",
    ),
    Endpoint(
        "GET",
        B,
        read_domain_sieve,
        Doc("The Sieve script run before every mailbox's own", answers={200: DOMAIN_SIEVE}),
        permission="mail:read",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "PUT",
        B,
        put_domain_sieve,
        Doc(
            "Set the mail domain's Sieve script run before each mailbox's own"
            " (a script that does not compile: 400 with the compiler's message)",
            body=DOMAIN_SIEVE_IN,
            answers={200: DOMAIN_SIEVE},
        ),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "DELETE",
        B,
        stop_domain_sieve,
        Doc("No Sieve script runs before the mailboxes' own", answers={200: OK}),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
]
