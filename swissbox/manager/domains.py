"""`/orgs/{org_id}/domains` and their DNS records, with the CLI's validation
(`swissbox.dns.recordedit`: master-file syntax, CNAME and apex rules)."""

from __future__ import annotations

from typing import Any

from swissbox.directory import DirectoryError
from swissbox.directory.mailservice import enable_mail
from swissbox.dns.recordedit import add_record, delete_records
from swissbox.dns.records import RecordError
from swissbox.manager.api import Call
from swissbox.manager.endpoint import DOMAIN, ORG_ID, Endpoint
from swissbox.manager.schema import Bool, Doc, Int, Obj, Str
from swissbox.manager.scope import domain_of
from swissbox.manager.views import OK, listing
from swissbox.runtime import ZONE_CHANGED

DOMAIN_OUT = Obj(
    {"name": Str(max_length=253), "serial": Int(), "mail": Bool()},
    required=("name", "serial"),
    open=True,
)
DOMAIN_IN = Obj({"name": Str(min_length=1, max_length=253)}, required=("name",))
RECORD = Obj(
    {
        "name": Str(max_length=300),
        "type": Str(max_length=20),
        "ttl": Int(),
        "rdata": Str(max_length=70000),
    },
    required=("name", "type", "ttl", "rdata"),
    open=True,
)
RECORD_IN = Obj(
    {
        "name": Str(min_length=1, max_length=300, description="relative, @, *.x or absolute."),
        "type": Str(min_length=1, max_length=20),
        "value": Str(min_length=1, max_length=8000, description="master-file syntax"),
        "ttl": Int(minimum=0, maximum=2**31 - 1),
    },
    required=("name", "type", "value"),
)
RECORD_DEL = Obj(
    {
        "name": Str(min_length=1, max_length=300),
        "type": Str(min_length=1, max_length=20),
        "value": Str(min_length=1, max_length=8000),
    },
    required=("name", "type"),
)
MAIL_IN = Obj(
    {"max_addresses": Int(minimum=0, maximum=2**31, nullable=True)},
    description="An Email Service: MX, SPF, DMARC, SRV, autoconfig, DKIM keys, MTA-STS.",
)
MAIL_OUT = Obj(
    {
        "domain": Str(max_length=253),
        "max_addresses": Int(nullable=True),
        "used": Int(),
        "records": Int(description="DNS records published now"),
    },
    required=("domain", "used"),
    open=True,
)
ADDED = Obj({"record": RECORD, "changed": Bool(), "serial": Int()}, required=("record", "changed"))
DELETED = Obj({"deleted": Int(), "serial": Int()}, required=("deleted",))


def _changed(call: Call) -> None:
    if call.manager.emit_on_loop is not None:
        call.manager.emit_on_loop(ZONE_CHANGED)


def list_domains(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    return 200, [
        {"name": x.name, "serial": x.serial, "mail": d.is_mail_domain(x.name)}
        for x in d.domains(call.org.name)
    ]


def add_domain(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d = call.directory
    domain = d.add_domain(call.body["name"], call.org.name, call.manager.hostname)
    call.audit("domain.add", domain.name)
    _changed(call)
    return 201, {"name": domain.name, "serial": domain.serial, "mail": False}


def remove_domain(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    call.directory.remove_domain(domain.name)
    call.audit("domain.remove", domain.name)
    _changed(call)
    return 200, {"ok": True}


def enable_mail_service(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    m = call.manager
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    service, records, made = enable_mail(
        call.directory, m.dkim_dir, m.settings, domain.name, call.body.get("max_addresses")
    )
    call.audit("mail.enable", domain.name, {"max_addresses": service.max_addresses})
    _changed(call)
    return 200, {
        "domain": service.domain,
        "max_addresses": service.max_addresses,
        "used": service.used,
        "records": len(records) + len(made),
    }


def list_records(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    domain = domain_of(call.directory, call.org.name, call.path["domain"])
    return 200, [
        {"name": r.name, "type": r.type, "ttl": r.ttl, "rdata": r.rdata}
        for r in call.directory.records(domain.name)
    ]


def add(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, body = call.directory, call.body
    domain = domain_of(d, call.org.name, call.path["domain"])
    try:
        rec, changed = add_record(
            d, domain.name, body["name"], body["type"], body["value"], body.get("ttl")
        )
    except RecordError as exc:
        raise DirectoryError(str(exc)) from None
    record = {"name": rec[0], "type": rec[1], "ttl": rec[2], "rdata": rec[3]}
    if changed:
        call.audit("dns.add", domain.name, record)
        _changed(call)
    serial = d.domain(domain.name).serial
    return 201 if changed else 200, {"record": record, "changed": changed, "serial": serial}


def delete(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, body = call.directory, call.body
    domain = domain_of(d, call.org.name, call.path["domain"])
    try:
        count = delete_records(d, domain.name, body["name"], body["type"], body.get("value"))
    except RecordError as exc:
        raise DirectoryError(str(exc)) from None
    call.audit("dns.delete", domain.name, dict(body))
    _changed(call)
    return 200, {"deleted": count, "serial": d.domain(domain.name).serial}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs/{org_id}/domains",
        list_domains,
        Doc("Hosted domains (DNS zones)", answers={200: listing(DOMAIN_OUT)}),
        permission="domains:read",
        params=[ORG_ID],
        tag="domains",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/domains",
        add_domain,
        Doc("Host a domain: a zone with SOA and NS", body=DOMAIN_IN, answers={201: DOMAIN_OUT}),
        permission="domains:write",
        params=[ORG_ID],
        tag="domains",
    ),
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/domains/{domain}",
        remove_domain,
        Doc("Stop hosting a domain (refused while it has mailboxes)", answers={200: OK}),
        permission="domains:write",
        params=[ORG_ID, DOMAIN],
        tag="domains",
    ),
    Endpoint(
        "PUT",
        "/orgs/{org_id}/domains/{domain}/mail",
        enable_mail_service,
        Doc(
            "Enable (or change the address limit of) the domain's Email Service",
            body=MAIL_IN,
            answers={200: MAIL_OUT},
        ),
        permission="mail:write",
        params=[ORG_ID, DOMAIN],
        tag="mail",
    ),
    Endpoint(
        "GET",
        "/orgs/{org_id}/domains/{domain}/records",
        list_records,
        Doc("The zone's records (the SOA lives in the domain)", answers={200: listing(RECORD)}),
        permission="domains:read",
        params=[ORG_ID, DOMAIN],
        tag="dns",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/domains/{domain}/records",
        add,
        Doc(
            "Add a record to its RRset (as `swissbox dns add`); 200 when it was already there",
            body=RECORD_IN,
            answers={200: ADDED, 201: ADDED},
        ),
        permission="domains:write",
        params=[ORG_ID, DOMAIN],
        tag="dns",
    ),
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/domains/{domain}/records",
        delete,
        Doc(
            "Delete NAME TYPE records, or the one with VALUE (as `swissbox dns del`)",
            body=RECORD_DEL,
            answers={200: DELETED},
        ),
        permission="domains:write",
        params=[ORG_ID, DOMAIN],
        tag="dns",
    ),
]
