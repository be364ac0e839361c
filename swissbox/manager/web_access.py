"""The access pages of `/manager/`: an organization's API tokens (made with chosen
permissions and shown once, listed, revoked), its TSIG keys for nsupdate (the secret shown
once, deleted) and its audit log (newest first, paged); a
person's sessions (end one, or every other) and devices (IMAP, SMTP, CalDAV and CardDAV
settings of each address, with its autoconfig link). Every read and change goes through the
API (`/orgs/{id}/tokens`, `/orgs/{id}/tsig`, `/orgs/{id}/audit`, `/me/sessions`); every
change redirects with a notice (POST-redirect-GET: a reload repeats nothing). A new token or
key rides to the page that shows it once in a cookie of its own (`NEW_SECRET`: signed with
the session cookie, HttpOnly, SameSite=Strict, Secure on HTTPS, Path=/manager, two minutes,
cleared by that page): no more exposed than the session cookie beside it, which could make
one anyway; never in a URL."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from twisted.web.server import Request

from swissbox.autoconfig.documents import MailServer
from swissbox.directory.mailrecords import configured_mail_records
from swissbox.manager.auth import COOKIE as SESSION_COOKIE
from swissbox.manager.endpoint import ApiError
from swissbox.manager.permissions import PERMISSIONS
from swissbox.manager.webflow import (
    Answer,
    Redirect,
    Route,
    Section,
    cleared_cookie,
    flash,
    open_sealed,
    passes_through,
    sealed_cookie,
    segment,
    words,
)
from swissbox.manager.webpages import e, field, form, layout, select, table, url

AUDIT_PAGE = 50  # entries per page of the audit log
NEW_SECRET = b"swissbox_new_secret"
PERMISSION_WORDS = {
    "org:read": "see the organization",
    "members:read": "see members and teams",
    "members:write": "add, change and remove members and teams",
    "domains:read": "see domains, DNS records and TSIG keys",
    "domains:write": "change domains, DNS records and TSIG keys",
    "mail:read": "see addresses, aliases and removed mail",
    "mail:write": "change addresses, aliases, filters; restore mail",
    "ddns:read": "see dynamic DNS hosts",
    "ddns:write": "change dynamic DNS hosts and passwords",
    "tokens:read": "see API tokens",
    "tokens:write": "make and revoke API tokens",
    "audit:read": "read the audit log",
}


def when(stamp: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp)) if stamp else "never"


def back_to(org: dict[str, Any]) -> str:
    return f'<p><a href="{url("orgs", org["id"])}">Back to {e(org["name"])}</a></p>'


# -- HTML (pure) ------------------------------------------------------------------------------


def tokens_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    tokens: list[dict[str, Any]],
    notice: str = "",
    error: str = "",
    new: dict[str, Any] | None = None,
) -> bytes:
    oid, allowed = org["id"], org.get("permissions", [])
    writable = "tokens:write" in allowed
    body = back_to(org)
    if new is not None:
        body += (
            '<section class="once" aria-labelledby="new-token"><h2 id="new-token">Your new API'
            f" token</h2><p>For <strong>{e(new['name'])}</strong>: "
            f'<code id="api-token">{e(new["token"])}</code></p>'
            "<p>Copy it into the script now: it is shown only this once. Scripts send it as"
            " <code>Authorization: Bearer …</code> to <code>/api/v1</code>.</p></section>"
        )
    rows = []
    for t in tokens:
        state = f"revoked {when(t['revoked'])}" if t.get("revoked") else "live"
        cells = [
            e(t["name"]),
            e(t["login"]),
            e(", ".join(t["permissions"])),
            e(when(t["created"])),
            e(when(t.get("last_used"))),
            e(state),
        ]
        if writable:
            cells.append(
                ""
                if t.get("revoked")
                else form(
                    url("orgs", oid, "tokens", t["id"], "revoke"),
                    "",
                    csrf,
                    f"Revoke {t['name']}",
                    danger=True,
                )
            )
        rows.append(cells)
    heads = ["Name", "Made by", "Permissions", "Made", "Last used", "State"]
    heads += ["Revoke"] if writable else []
    body += table("API tokens", heads, rows) if rows else "<p>No API tokens yet.</p>"
    if writable:
        boxes = "".join(
            f'<p><input type="checkbox" id="perm-{n}" name="perm-{e(p)}" value="on"'
            f"{' checked' if p == 'org:read' else ''}>"
            f'<label for="perm-{n}">{e(p)}: {e(PERMISSION_WORDS.get(p, p))}</label></p>'
            for n, p in enumerate(p for p in PERMISSIONS if p in allowed)
        )
        inner = field("name", "Name (what the script is for)", ident="f-token-name", required=True)
        inner += f"<fieldset><legend>What it may do (acting as you)</legend>{boxes}</fieldset>"
        body += "<h2>Make an API token</h2>" + form(
            url("orgs", oid, "tokens"), inner, csrf, "Make token"
        )
    return layout(f"API tokens of {org['name']}", body, login, csrf, notice=notice, error=error)


def tsig_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    keys: list[dict[str, Any]],
    zones: list[str],
    notice: str = "",
    error: str = "",
    new: dict[str, Any] | None = None,
) -> bytes:
    oid = org["id"]
    writable = "domains:write" in org.get("permissions", [])
    body = back_to(org)
    body += (
        "<p>A TSIG key lets a script or router change DNS records of one zone with RFC 2136"
        " UPDATE (<code>nsupdate -y ALGORITHM:NAME:SECRET</code>), optionally only names"
        " matching a pattern.</p>"
    )
    if new is not None:
        y = f"{new['algorithm']}:{new['name']}:{new['secret']}"
        body += (
            '<section class="once" aria-labelledby="new-key"><h2 id="new-key">Your new TSIG'
            f" key</h2><p>Key <strong>{e(new['name'])}</strong> ({e(new['algorithm'])}),"
            f' secret: <code id="tsig-secret">{e(new["secret"])}</code></p>'
            f"<p>For nsupdate: <code>nsupdate -y {e(y)}</code></p>"
            "<p>Copy it now: it is shown only this once.</p></section>"
        )
    rows = []
    for k in keys:
        cells = [e(k["name"]), e(k["zone"]), e(k.get("names") or "any name"), e(k["algorithm"])]
        if writable:
            cells.append(
                form(url("orgs", oid, "tsig", k["name"], "delete"), "", csrf,
                     f"Delete {k['name']}", danger=True)
            )  # fmt: skip
        rows.append(cells)
    heads = ["Key", "Zone", "Names it may change", "Algorithm"] + (["Delete"] if writable else [])
    body += table("TSIG keys", heads, rows) if rows else "<p>No TSIG keys yet.</p>"
    if writable and zones:
        inner = field("name", "Key name (e.g. router.example.org)", ident="f-key-name",
                      required=True)  # fmt: skip
        inner += select("zone", "Zone it may change", [(z, z) for z in zones], ident="f-key-zone")
        inner += field("names", "Only these names (empty: any; e.g. *.dyn.example.org)",
                       ident="f-key-names")  # fmt: skip
        body += "<h2>Make a TSIG key</h2>" + form(url("orgs", oid, "tsig"), inner, csrf, "Make key")
    return layout(f"TSIG keys of {org['name']}", body, login, csrf, notice=notice, error=error)


def audit_page(
    login: str, csrf: str, org: dict[str, Any], entries: list[dict[str, Any]], more: bool
) -> bytes:
    rows = [
        (
            e(when(x["time"])),
            e(x["actor"]),
            e(x["via"]),
            e(x.get("client", "")),
            e(x["action"]),
            e(x.get("target", "")),
            "<code>"
            + e(", ".join(f"{k}={v}" for k, v in sorted((x.get("detail") or {}).items())))
            + "</code>",
        )
        for x in entries
    ]
    body = back_to(org)
    heads = ("When", "Who", "How", "From", "What", "On", "Details")
    body += table("Audit log, newest first", heads, rows) if rows else "<p>No entries.</p>"
    if more and entries:
        older = url("orgs", org["id"], "audit", before=entries[-1]["id"])
        body += f'<p><a href="{e(older)}" rel="next">Older entries</a></p>'
    return layout(f"Audit log of {org['name']}", body, login, csrf)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))  # fmt: skip


def browser_name(agent: str) -> str:
    """'Firefox on Linux' from a User-Agent (the first known names in it; the order matters:
    Edge and Opera also say Chrome, Chrome also says Safari, Android also says Linux)."""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (agent[:40] if agent else "unknown browser")


def sessions_page(
    login: str, csrf: str, sessions: list[dict[str, Any]], notice: str = "", error: str = ""
) -> bytes:
    rows = []
    ordered = sorted(sessions, key=lambda s: not s["current"])  # this browser's first
    for n, s in enumerate(ordered, start=1):
        end = (
            "this browser"
            if s["current"]
            else form(url("me", "sessions", s["id"], "end"), "", csrf, f"End session {n}",
                      danger=True)
        )  # fmt: skip
        rows.append(
            (
                f"Session {n}" + (" (this browser)" if s["current"] else ""),
                f'<span title="{e(s.get("agent", ""))}">{e(browser_name(s.get("agent", "")))}'
                f"</span>, {e(s.get('client') or 'address unknown')}",
                e(when(s["created"])),
                e(when(s["last_seen"])),
                e(when(s["expires"])),
                end,
            )
        )
    body = (
        "<p>Each browser you logged in with has a session. End one you do not recognise,"
        " or every one but this browser's (API tokens and app passwords stay: revoke those"
        " on their own pages).</p>"
    )
    heads = ("Session", "Browser, address", "Logged in", "Last used", "Ends", "End")
    body += table("Your sessions (this browser's first)", heads, rows)
    if any(not s["current"] for s in sessions):
        body += form(
            url("me", "sessions", "end-others"), "", csrf, "End all other sessions", danger=True
        )
    return layout("Your sessions", body, login, csrf, notice=notice, error=error)


def devices_page(
    login: str, csrf: str, addresses: list[dict[str, Any]], servers: list[dict[str, Any]]
) -> bytes:
    body = (
        "<p>Settings for mail programs and phones. Mail: your address is the user name; use"
        " the address's own password or an app password made on "
        f'<a href="{url("me")}">your account page</a>. Calendars and contacts: your login'
        " is the user name.</p>"
    )
    if not servers:
        body += "<p>You have no mail address here yet.</p>"
    for n, s in enumerate(servers):
        rows = [
            ("IMAP (incoming mail)", f"{e(s['host'])}, port {s['imaps']} (TLS)"
             f" or {s['imap']} (STARTTLS)"),
            ("SMTP (outgoing mail)", f"{e(s['host'])}, port {s['submissions']} (TLS)"
             f" or {s['submission']} (STARTTLS)"),
            ("User name", e(s["address"])),
            ("CalDAV / CardDAV", f"<code>{e(s['dav'])}</code>" if s.get("dav") else "—"),
        ]  # fmt: skip
        link = "/mail/config-v1.1.xml?" + urlencode({"emailaddress": s["address"]})
        body += f'<h2 id="device-{n}">{e(s["address"])}</h2>'
        body += table(f"Settings for {s['address']}", ("Service", "Setting"), rows)
        body += (
            f'<p><a href="{e(link)}">Automatic configuration for {e(s["address"])}</a>'
            " (Thunderbird and others find it themselves from the address).</p>"
        )
    return layout("Your devices", body, login, csrf)


# -- a new secret's way to the page that shows it ------------------------------------------------


def secret_cookie(session: bytes, kind: str, shown: dict[str, Any], secure: bool) -> bytes:
    """The Set-Cookie value carrying a new secret of `kind` ("token", "tsig") and what the
    page shows with it to the next page."""
    data = json.dumps({**shown, "kind": kind}).encode()
    return sealed_cookie(NEW_SECRET, b"new-secret", session, data, secure)


def read_secret(session: bytes | None, raw: bytes | None, kind: str) -> dict[str, Any] | None:
    """What a cookie this session's server made for a secret of `kind` carries, else None."""
    data = open_sealed(b"new-secret", session, raw)
    if data is None:
        return None
    try:
        found = json.loads(data)
    except ValueError:
        return None
    if not isinstance(found, dict) or found.pop("kind", None) != kind:
        return None
    return found


def clear_secret(secure: bool) -> bytes:
    return cleared_cookie(NEW_SECRET, secure)


# -- the settings each address's devices use ---------------------------------------------------


def device_settings(address: str, server: MailServer, records: list[tuple]) -> dict[str, Any]:
    """What a device needs for `address`: the host and ports autoconfig hands out, and the
    CalDAV/CardDAV URL the domain's published SRV and TXT records announce."""
    out: dict[str, Any] = {"address": address, "host": server.hostname, **vars(server.ports)}
    srv = next((r for r in records if r[0].startswith("_caldavs._tcp.") and r[1] == "SRV"), None)
    path = next(
        (r[3].strip('"').removeprefix("path=") for r in records
         if r[0].startswith("_caldavs._tcp.") and r[1] == "TXT"),
        "/",
    )  # fmt: skip
    if srv is not None:
        _prio, _weight, port, target = srv[3].split()
        out["dav"] = f"https://{target.rstrip('.')}:{port}{path}"
    return out


# -- the pages ------------------------------------------------------------------------------


class AccessPages(Section):
    def routes(self) -> list[Route]:
        return [
            ("GET", ["orgs", "#", "tokens"], self.tokens),
            ("POST", ["orgs", "#", "tokens"], self.token_create),
            ("POST", ["orgs", "#", "tokens", "#", "revoke"], self.token_revoke),
            ("GET", ["orgs", "#", "tsig"], self.keys),
            ("POST", ["orgs", "#", "tsig"], self.key_create),
            ("POST", ["orgs", "#", "tsig", "*", "delete"], self.key_delete),
            ("GET", ["orgs", "#", "audit"], self.audit),
            ("GET", ["me", "sessions"], self.sessions),
            ("POST", ["me", "sessions", "end-others"], self.end_others),
            ("POST", ["me", "sessions", "*", "end"], self.end_one),
            ("GET", ["me", "devices"], self.devices),
        ]

    def take_secret(self, request: Request, kind: str) -> dict[str, Any] | None:
        """The new secret this page shows once (its cookie is cleared either way)."""
        raw = request.getCookie(NEW_SECRET)
        if raw is None:
            return None
        request.cookies.append(clear_secret(self.web.secure(request)))
        return read_secret(request.getCookie(SESSION_COOKIE), raw, kind)

    def leave_secret(self, request: Request, kind: str, shown: dict[str, Any]) -> None:
        session = request.getCookie(SESSION_COOKIE) or b""
        request.cookies.append(secret_cookie(session, kind, shown, self.web.secure(request)))

    async def tokens(
        self, request: Request, form: dict[str, str], oid: int, status: int = 200, error: str = ""
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        tokens = await self.web.call(request, "GET", f"/orgs/{oid}/tokens")
        new = self.take_secret(request, "token")
        live = {t["id"] for t in tokens if not t.get("revoked")}
        if new is not None and new.get("id") not in live:
            new = None
        page = tokens_page(login, token, org, tokens, flash(request), error, new)
        return status, page, {}

    async def token_create(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        chosen = [p for p in PERMISSIONS if form.get(f"perm-{p}")]
        body = {"name": form.get("name", ""), "permissions": chosen}
        if not body["name"] or not chosen:
            error = "Name the token and choose at least one thing it may do."
            return await self.tokens(request, {}, oid, 400, error)
        try:
            made = await self.web.call(request, "POST", f"/orgs/{oid}/tokens", body)
        except ApiError as exc:
            if passes_through(exc):
                raise
            return await self.tokens(request, {}, oid, exc.status, words(exc))
        self.leave_secret(request, "token", {k: made[k] for k in ("id", "name", "token")})
        notice = f"The API token {made['name']} was made: copy it now, it is shown only once."
        raise Redirect(url("orgs", oid, "tokens"), notice=notice)

    async def token_revoke(
        self, request: Request, form: dict[str, str], oid: int, token_id: int
    ) -> Answer:
        async def refused(exc: ApiError) -> Answer:
            return await self.tokens(request, {}, oid, exc.status, words(exc))

        def done(answer: dict[str, Any]) -> str:
            return f"The API token {answer['name']} was revoked: it opens nothing now."

        rest = f"/orgs/{oid}/tokens/{token_id}"
        back = url("orgs", oid, "tokens")
        return await self.change(request, "DELETE", rest, None, back, done, refused)

    async def keys(
        self, request: Request, form: dict[str, str], oid: int, status: int = 200, error: str = ""
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        keys = await self.web.call(request, "GET", f"/orgs/{oid}/tsig")
        zones = [d["name"] for d in await self.web.call(request, "GET", f"/orgs/{oid}/domains")]
        new = self.take_secret(request, "tsig")
        if new is not None and new.get("name") not in {k["name"] for k in keys}:
            new = None
        page = tsig_page(login, token, org, keys, zones, flash(request), error, new)
        return status, page, {}

    async def key_create(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        body = {k: form[k] for k in ("name", "zone", "names") if form.get(k)}
        if not body.get("name") or not body.get("zone"):
            return await self.keys(request, {}, oid, 400, "Name the key and choose its zone.")
        try:
            made = await self.web.call(request, "POST", f"/orgs/{oid}/tsig", body)
        except ApiError as exc:
            if passes_through(exc):
                raise
            return await self.keys(request, {}, oid, exc.status, words(exc))
        self.leave_secret(request, "tsig", {k: made[k] for k in ("name", "algorithm", "secret")})
        notice = f"The TSIG key {made['name']} was made: copy its secret now, it is shown once."
        raise Redirect(url("orgs", oid, "tsig"), notice=notice)

    async def key_delete(
        self, request: Request, form: dict[str, str], oid: int, name: str
    ) -> Answer:
        async def refused(exc: ApiError) -> Answer:
            return await self.keys(request, {}, oid, exc.status, words(exc))

        done = f"The TSIG key {name} was deleted: updates signed with it are refused now."
        rest = f"/orgs/{oid}/tsig/{segment(name)}"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "tsig"), done, refused
        )

    async def audit(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        login, token, org = await self.org(request, oid)
        before = form.get("before", "")
        if before and (not before.isascii() or not before.isdigit() or len(before) > 15):
            raise ApiError(400, "before: an entry number is expected")
        # the API reads its query parameters from the request: only these two reach it
        args: dict[bytes, list[bytes]] = {b"limit": [str(AUDIT_PAGE + 1).encode()]}
        if before:
            args[b"before"] = [before.encode()]
        setattr(request, "args", args)  # noqa: B010 (typed as None in twisted)
        entries = await self.web.call(request, "GET", f"/orgs/{oid}/audit")
        more = len(entries) > AUDIT_PAGE
        return 200, audit_page(login, token, org, entries[:AUDIT_PAGE], more), {}

    async def sessions(
        self, request: Request, form: dict[str, str], status: int = 200, error: str = ""
    ) -> Answer:
        login, token = await self.web.who(request)
        found = await self.web.call(request, "GET", "/me/sessions")
        return status, sessions_page(login, token, found, flash(request), error), {}

    async def end_one(self, request: Request, form: dict[str, str], session_id: str) -> Answer:
        async def refused(exc: ApiError) -> Answer:
            return await self.sessions(request, {}, exc.status, words(exc))

        listed = await self.web.call(request, "GET", "/me/sessions")
        if any(s["current"] and s["id"] == session_id for s in listed):
            await self.web.call(request, "DELETE", f"/me/sessions/{segment(session_id)}")
            raise Redirect(url("login"))
        rest = f"/me/sessions/{segment(session_id)}"
        done = "That session was ended: its browser must log in again."
        return await self.change(
            request, "DELETE", rest, None, url("me", "sessions"), done, refused
        )

    async def end_others(self, request: Request, form: dict[str, str]) -> Answer:
        async def refused(exc: ApiError) -> Answer:
            return await self.sessions(request, {}, exc.status, words(exc))

        def done(answer: dict[str, Any]) -> str:
            n = answer["ended"]
            return f"{n} other session{'' if n == 1 else 's'} ended; this browser stays logged in."

        back = url("me", "sessions")
        return await self.change(
            request, "POST", "/me/sessions/end-others", None, back, done, refused
        )

    async def devices(self, request: Request, form: dict[str, str]) -> Answer:
        login, token = await self.web.who(request)
        me = await self.web.call(request, "GET", "/me")
        s = self.web.api.manager.settings
        server = MailServer.from_settings(s)  # what autoconfig serves
        servers = [
            device_settings(
                a["address"], server, configured_mail_records(a["address"].rsplit("@", 1)[1], s)
            )
            for a in me.get("addresses", [])
        ]
        return 200, devices_page(login, token, me.get("addresses", []), servers), {}
