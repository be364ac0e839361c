"""The Manager's HTML, pure: data in, escaped markup out (no I/O). One layout, small forms
with visible labels, notices in words (`role=status`, errors `role=alert`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

ROLES = ("legal", "admin", "collaborator", "external")
ROLE_NAMES = {
    "legal": "legal representative",
    "admin": "administrator",
    "collaborator": "collaborator",
    "external": "external member",
}
BASE = "/manager"
# an organization's pages beyond its members: (permission needed, path part, link text)
ORG_SECTIONS: list[tuple[str, str, str]] = [
    ("mail:read", "mail", "Email Service: addresses, their users, aliases, restore"),
    ("ddns:read", "ddns", "Dynamic DNS hosts"),
    ("members:read", "teams", "Teams and the directory"),
    ("tokens:read", "tokens", "API tokens"),
    ("domains:read", "tsig", "TSIG keys (DNS updates with nsupdate)"),
    ("audit:read", "audit", "Audit log"),
]


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def url(*parts: Any, **query: Any) -> str:
    path = BASE + "/" + "/".join(quote(str(p), safe="@") for p in parts)
    return path + ("?" + urlencode(query) if query else "")


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{e(token)}">'


def form(action: str, inner: str, csrf: str | None, button: str, danger: bool = False) -> str:
    token = csrf_field(csrf) if csrf is not None else ""
    cls = ' class="danger"' if danger else ""
    return (
        f'<form method="post" action="{e(action)}">{token}{inner}'
        f'<button type="submit"{cls}>{e(button)}</button></form>'
    )


def field(
    name: str, label: str, kind: str = "text", value: str = "", ident: str = "", **attrs: Any
) -> str:
    extra = "".join(
        f" {k.replace('_', '-')}" if v is True else f' {k.replace("_", "-")}="{e(v)}"'
        for k, v in attrs.items()
        if v is not False and v is not None
    )
    ident = ident or f"f-{name}"
    return (
        f'<p><label for="{ident}">{e(label)}</label>'
        f'<input id="{ident}" name="{e(name)}" type="{kind}" value="{e(value)}"{extra}></p>'
    )


def select(
    name: str, label: str, options: Iterable[tuple[str, str]], chosen: str = "", ident: str = ""
) -> str:
    ident = ident or f"f-{name}"
    opts = "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(t)}</option>'
        for v, t in options
    )
    return f'<p><label for="{ident}">{e(label)}</label><select id="{ident}" name="{e(name)}">{opts}</select></p>'


def table(caption: str, heads: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; cells are markup already escaped by the caller."""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def layout(
    title: str,
    body: str,
    login: str | None = None,
    csrf: str | None = None,
    notice: str = "",
    error: str = "",
) -> bytes:
    nav = ""
    if login is not None and csrf is not None:
        logout = form(url("logout"), "", csrf, "Log out")
        nav = (
            f'<nav aria-label="Main"><a href="{url()}">Organizations</a> '
            f'<a href="{url("me")}">My account ({e(login)})</a> '
            f'<a href="{url("me", "sessions")}">Sessions</a> '
            f'<a href="{url("me", "devices")}">Devices</a> {logout}</nav>'
        )
    said = ""
    if notice:
        said += f'<p class="notice" role="status">{e(notice)}</p>'
    if error:
        said += f'<p class="error" role="alert">{e(error)}</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} — swissbox Manager</title>
<link rel="stylesheet" href="{url("manager.css")}"></head>
<body><header><p class="brand"><a href="{url()}">swissbox Manager</a></p>{nav}</header>
<main><h1>{e(title)}</h1>{said}{body}</main></body></html>
""".encode()


def login_page(error: str = "", login: str = "", notice: str = "") -> bytes:
    inner = field(
        "login",
        "Login (your address)",
        "email",
        login,
        required=True,
        autocomplete="username",
        autofocus=True,
    )
    inner += field(
        "password", "Password", "password", required=True, autocomplete="current-password"
    )
    return layout("Log in", form(url("login"), inner, None, "Log in"), notice=notice, error=error)


def code_page(pending: str, error: str = "") -> bytes:
    inner = f'<input type="hidden" name="pending" value="{e(pending)}">'
    inner += field(
        "code", "6-digit code from your authenticator app", "text",
        inputmode="numeric", autocomplete="one-time-code", pattern="[0-9]{6}", autofocus=True,
    )  # fmt: skip
    inner += "<p>Lost your phone? Enter a recovery code instead:</p>"
    inner += field("recovery_code", "Recovery code", "text", autocomplete="off")
    body = "<p>Your password was right. Two-factor authentication is on for this account.</p>"
    return layout(
        "Second step", body + form(url("login", "code"), inner, None, "Continue"), error=error
    )


def home_page(me: dict[str, Any], csrf: str, notice: str = "") -> bytes:
    orgs = me.get("orgs", [])
    if not orgs:
        body = "<p>You are not a member of any organization.</p>"
    else:
        rows = [
            (
                f'<a href="{url("orgs", o["id"])}">{e(o["name"])}</a>',
                e(ROLE_NAMES.get(o.get("role", ""), o.get("role", ""))),
            )
            for o in orgs
        ]
        body = table("Your organizations", ("Organization", "Your role"), rows)
    return layout("Your organizations", body, me["login"], csrf, notice=notice)


def org_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    members: list[dict[str, Any]],
    domains: list[dict[str, Any]] | None,
    notice: str = "",
    error: str = "",
) -> bytes:
    oid = org["id"]
    admin = "members:write" in org.get("permissions", [])
    rows = []
    for n, m in enumerate(members):
        cells = [e(m["login"]), e(m.get("name", ""))]
        if admin:
            options = [(r, ROLE_NAMES[r]) for r in ROLES]
            change = form(
                url("orgs", oid, "members", m["login"], "role"),
                select("role", f"Role of {m['login']}", options, m["role"], f"role-{n}"),
                csrf,
                "Change role",
            )
            remove = f'<a href="{url("orgs", oid, "members", m["login"], "remove")}">Remove {e(m["login"])}…</a>'
            cells += [change, remove]
        else:
            cells.append(e(ROLE_NAMES.get(m["role"], m["role"])))
        rows.append(cells)
    heads = ("Login", "Name", "Role", "Remove") if admin else ("Login", "Name", "Role")
    body = f"<p>Your role here: {e(ROLE_NAMES.get(org.get('role', ''), ''))}.</p>"
    body += org_sections(org)
    body += table("Members", heads, rows)
    if admin:
        inner = field("login", "Login (address) of the new member", "email", required=True)
        inner += field("name", "Name")
        inner += select("role", "Role", [(r, ROLE_NAMES[r]) for r in ROLES], "collaborator")
        inner += field(
            "password", "First password", "password", required=True, autocomplete="new-password"
        )
        body += "<h2>Add a member</h2>" + form(
            url("orgs", oid, "members"), inner, csrf, "Add member"
        )
    if domains is not None:
        items = "".join(
            f'<li><a href="{url("orgs", oid, "domains", d["name"])}">{e(d["name"])}</a></li>'
            for d in domains
        )
        body += f"<h2>Domains</h2><ul>{items or '<li>No domains yet.</li>'}</ul>"
    return layout(org["name"], body, login, csrf, notice=notice, error=error)


def org_sections(org: dict[str, Any]) -> str:
    """Links to the organization's other pages the caller's permissions open."""
    allowed = org.get("permissions", [])
    items = "".join(
        f'<li><a href="{url("orgs", org["id"], part)}">{e(text)}</a></li>'
        for permission, part, text in ORG_SECTIONS
        if permission in allowed
    )
    return f'<nav aria-label="Pages of {e(org["name"])}"><ul>{items}</ul></nav>' if items else ""


def remove_choice_page(
    login: str, csrf: str, org: dict[str, Any], member: str, others: list[str]
) -> bytes:
    """Step 2 of 3: what happens to the member's calendars and address books."""
    oid = org["id"]
    options = "".join(f'<option value="{e(o)}">{e(o)}</option>' for o in others)
    handover = ""
    if others:
        handover = (
            '<p><input type="radio" id="fate-transfer" name="fate" value="transfer" checked>'
            '<label for="fate-transfer">Hand them over to another member</label></p>'
            f'<p><label for="f-transfer_to">Member who receives them</label>'
            f'<select id="f-transfer_to" name="transfer_to">{options}</select></p>'
        )
    delete = (
        f'<p><input type="radio" id="fate-delete" name="fate" value="delete"{"" if others else " checked"}>'
        '<label for="fate-delete">Delete them</label></p>'
    )
    inner = f"<fieldset><legend>Calendars and address books of {e(member)}</legend>{handover}{delete}</fieldset>"
    body = f"<p>Step 2 of 3: you chose to remove <strong>{e(member)}</strong>.</p>"
    body += (
        f'<form method="get" action="{e(url("orgs", oid, "members", member, "remove", "confirm"))}">'
        f'{inner}<button type="submit">Next</button></form>'
        f'<p><a href="{url("orgs", oid)}">Cancel</a></p>'
    )
    return layout(f"Remove {member}", body, login, csrf)


def remove_confirm_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    member: str,
    transfer_to: str | None,
    error: str = "",
) -> bytes:
    """Step 3 of 3: say what will happen; the login typed again confirms."""
    oid = org["id"]
    fate = (
        f"Their calendars and address books go to <strong>{e(transfer_to)}</strong>."
        if transfer_to
        else "Their calendars and address books are <strong>deleted</strong>."
    )
    body = (
        f"<p>Step 3 of 3: <strong>{e(member)}</strong> leaves {e(org['name'])}. {fate} "
        "Their account is deleted if they belong to no other organization. This cannot be undone.</p>"
    )
    hidden = (
        f'<input type="hidden" name="transfer_to" value="{e(transfer_to)}">'
        if transfer_to
        else '<input type="hidden" name="delete_data" value="yes">'
    )
    inner = hidden + field(
        "confirm", f"Type {member} to confirm", "text", required=True, autocomplete="off"
    )
    body += form(
        url("orgs", oid, "members", member, "remove"), inner, csrf, f"Remove {member}", danger=True
    )
    body += f'<p><a href="{url("orgs", oid)}">Cancel</a></p>'
    return layout(f"Remove {member}", body, login, csrf, error=error)


def domain_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    domain: str,
    records: list[dict[str, Any]],
    writable: bool,
    notice: str = "",
    error: str = "",
    typed: dict[str, str] | None = None,
) -> bytes:
    oid = org["id"]
    rows = []
    for r in records:
        cells = [e(r["name"]), e(r["type"]), e(r["ttl"]), f"<code>{e(r['rdata'])}</code>"]
        if writable:
            link = url(
                "orgs",
                oid,
                "domains",
                domain,
                "records",
                "delete",
                name=r["name"].rstrip(".") + ".",
                type=r["type"],
                value=r["rdata"],
            )
            cells.append(
                f'<a href="{e(link)}">Delete…<span class="sr"> {e(r["name"])} {e(r["type"])}</span></a>'
            )
        rows.append(cells)
    heads = ["Name", "Type", "TTL", "Value"] + (["Delete"] if writable else [])
    body = f'<p><a href="{url("orgs", oid)}">Back to {e(org["name"])}</a></p>'
    body += table(f"DNS records of {domain}", heads, rows)
    if writable:
        t = typed or {}
        inner = field(
            "name",
            "Name (@ for the domain itself, or relative like www)",
            value=t.get("name", ""),
            required=True,
        )
        inner += field(
            "type", "Type (A, AAAA, CNAME, MX, TXT, SRV, …)", value=t.get("type", ""), required=True
        )
        inner += field("value", "Value (zone-file syntax)", value=t.get("value", ""), required=True)
        inner += field(
            "ttl", "TTL in seconds (empty: the default)", "number", t.get("ttl", ""), min=0
        )
        body += "<h2>Add a record</h2>" + form(
            url("orgs", oid, "domains", domain, "records"), inner, csrf, "Add record"
        )
    return layout(f"DNS of {domain}", body, login, csrf, notice=notice, error=error)


def record_delete_page(
    login: str, csrf: str, org: dict[str, Any], domain: str, name: str, rtype: str, value: str
) -> bytes:
    oid = org["id"]
    body = (
        f"<p>Delete the {e(rtype)} record <strong>{e(name)}</strong> with value "
        f"<code>{e(value)}</code> from {e(domain)}? It leaves the zone at once.</p>"
    )
    inner = (
        f'<input type="hidden" name="name" value="{e(name)}">'
        f'<input type="hidden" name="type" value="{e(rtype)}">'
        f'<input type="hidden" name="value" value="{e(value)}">'
    )
    body += form(
        url("orgs", oid, "domains", domain, "records", "delete"),
        inner,
        csrf,
        "Delete record",
        danger=True,
    )
    body += f'<p><a href="{url("orgs", oid, "domains", domain)}">Cancel</a></p>'
    return layout(f"Delete a record of {domain}", body, login, csrf)


def me_page(
    me: dict[str, Any],
    csrf: str,
    apps: list[dict[str, Any]],
    devices: dict[str, Any],
    notice: str = "",
    error: str = "",
    new_password: dict[str, Any] | None = None,
    two_factor: dict[str, Any] | None = None,
    enrolment: dict[str, Any] | None = None,
    recovery_codes: list[str] | None = None,
) -> bytes:
    login = me["login"]
    body = ""
    if new_password is not None:
        body += (
            '<section class="once" aria-labelledby="new-app"><h2 id="new-app">Your new app password</h2>'
            f"<p>For <strong>{e(new_password['name'])}</strong>: "
            f'<code id="app-password">{e(new_password["password"])}</code></p>'
            "<p>Enter it in the device now: it is shown only this once.</p></section>"
        )
    details = field("name", "Name", value=me.get("name") or "", autocomplete="name")
    details += field("phone", "Phone", "tel", me.get("phone") or "", autocomplete="tel")
    body += f"<h2>Details</h2><p>Login: <strong>{e(login)}</strong></p>"
    body += form(url("me", "details"), details, csrf, "Save details")
    pw = field(
        "current", "Current password", "password", required=True, autocomplete="current-password"
    )
    pw += field("new", "New password", "password", required=True, autocomplete="new-password")
    body += "<h2>Password</h2>" + form(url("me", "password"), pw, csrf, "Change password")
    rows = [
        (
            e(a["name"]),
            e("CalDAV/CardDAV" if a["scope"] == "dav" else f"IMAP/SMTP for {a.get('address', '')}"),
            form(
                url("me", "app-passwords", a["id"], "revoke"),
                "",
                csrf,
                f"Revoke {a['name']}",
                danger=True,
            ),
        )
        for a in apps
    ]
    body += "<h2>App passwords</h2>"
    body += (
        table("Your app passwords", ("Device", "Opens", "Revoke"), rows)
        if rows
        else "<p>No app passwords yet.</p>"
    )
    scopes = [("dav", "CalDAV/CardDAV (calendars, contacts)")]
    scopes += [
        (f"imap-smtp:{a['address']}", f"IMAP/SMTP for {a['address']}")
        for a in me.get("addresses", [])
    ]
    inner = field("name", "Device name (e.g. phone)", ident="f-device", required=True)
    inner += select("scope", "What it opens", scopes)
    body += form(url("me", "app-passwords"), inner, csrf, "Create app password")
    body += two_factor_section(csrf, two_factor or {}, enrolment, recovery_codes)
    body += devices_section(devices, me.get("addresses", []))
    return layout("My account", body, login, csrf, notice=notice, error=error)


def two_factor_section(
    csrf: str,
    state: dict[str, Any],
    enrolment: dict[str, Any] | None,
    recovery_codes: list[str] | None,
) -> str:
    body = '<h2 id="two-factor">Two-factor authentication</h2>'
    if recovery_codes:
        items = "".join(f"<li><code>{e(c)}</code></li>" for c in recovery_codes)
        body += (
            '<section class="once" aria-labelledby="recovery"><h3 id="recovery">Recovery codes</h3>'
            "<p>Each opens your account once if you lose your phone. Keep them somewhere safe:"
            f' they are shown only this once.</p><ul id="recovery-codes">{items}</ul></section>'
        )
    if enrolment is not None:
        # qr_svg is made by the server (segno) from the otpauth URI, not from input
        body += (
            "<p>Scan this code with your authenticator app, or type the key by hand.</p>"
            f'<figure role="img" aria-label="QR code of your two-factor key">{enrolment["qr_svg"]}</figure>'
            f'<p>Key: <code id="totp-secret">{e(enrolment["secret"])}</code></p>'
        )
        inner = field(
            "code", "6-digit code the app shows now", ident="f-confirm-code",
            inputmode="numeric", autocomplete="one-time-code", required=True,
        )  # fmt: skip
        return body + form(url("me", "2fa", "confirm"), inner, csrf, "Turn on")
    if state.get("enabled"):
        left = state.get("recovery_codes_left", 0)
        body += f"<p>On. {e(left)} recovery codes left.</p>"
        inner = field("code", "Current 6-digit code", ident="f-off-code", inputmode="numeric")
        inner += field("recovery_code", "or a recovery code", ident="f-off-recovery")
        return body + form(url("me", "2fa", "disable"), inner, csrf, "Turn off", danger=True)
    body += "<p>Off: your password alone opens your account.</p>"
    return body + form(url("me", "2fa"), "", csrf, "Set up two-factor authentication")


def devices_section(d: dict[str, Any], addresses: list[dict[str, Any]]) -> str:
    host = e(d["host"])
    rows = [
        ("IMAP (incoming mail)", f"{host}, port {d['imaps']} (TLS) or {d['imap']} (STARTTLS)"),
        (
            "SMTP (outgoing mail)",
            f"{host}, port {d['submissions']} (TLS) or {d['submission']} (STARTTLS)",
        ),
        ("CalDAV / CardDAV", f"<code>{e(d['dav'])}</code>"),
        ("User name", "your address (mail) or your login (calendars, contacts)"),
    ]
    body = "<h2>Device settings</h2>" + table(
        "Servers for your devices", ("Service", "Setting"), rows
    )
    links = "".join(
        f'<li><a href="{e("/mail/config-v1.1.xml?" + urlencode({"emailaddress": a["address"]}))}">'
        f"Automatic configuration for {e(a['address'])}</a></li>"
        for a in addresses
    )
    if links:
        body += f"<p>Mail programs such as Thunderbird set themselves up from:</p><ul>{links}</ul>"
    return body


def error_page(
    status: int, message: str, login: str | None = None, csrf: str | None = None
) -> bytes:
    back = f'<p><a href="{url()}">Back to the start</a></p>'
    return layout("Not done" if status != 404 else "Not found", back, login, csrf, error=message)
