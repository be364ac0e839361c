"""The dynamic DNS pages of `/manager/`: an organization's DDNS hosts, adding one with its
user and password (the provider's password rule shown here, enforced by the same core
function as `swissbox ddns add`), and a DDNS user's new password; all through the API."""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

from swissbox.auth.policy import rule as password_rule
from swissbox.manager.endpoint import ApiError
from swissbox.manager.webflow import Answer, Route, Section, flash, segment, words
from swissbox.manager.webpages import e, field, form, layout, select, table, url

# -- HTML (pure) ------------------------------------------------------------------------------


def rule_note(ident: str) -> str:
    return f'<p id="{ident}" class="hint">Password rule of the provider: {e(password_rule("ddns"))}.</p>'


def ddns_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    hosts: list[dict[str, Any]],
    members: list[dict[str, Any]],
    update_url: str,
    notice: str = "",
    error: str = "",
    typed: dict[str, str] | None = None,
) -> bytes:
    oid, t = org["id"], typed or {}
    writable = "ddns:write" in org.get("permissions", [])
    body = f'<p><a href="{url("orgs", oid)}">Back to {e(org["name"])}</a></p>'
    body += (
        "<p>A router or NAS keeps its host name pointing at its current address by calling"
        f" <code>{e(update_url)}?hostname=HOST&amp;myip=ADDRESS</code> with the DDNS user"
        " name and password (HTTP Basic authentication, as dyndns2 clients do).</p>"
    )
    rows = []
    for h in hosts:
        cells = [e(h["hostname"]), e(h["zone"]), e(h["user"])]
        cells.append("offline" if h.get("offline") else "online")
        if writable:
            link = url("orgs", oid, "ddns", h["hostname"], "delete")
            cells.append(f'<a href="{link}">Remove {e(h["hostname"])}…</a>')
        rows.append(cells)
    heads = ["Host", "Zone", "DDNS user", "State"] + (["Remove"] if writable else [])
    body += table("Dynamic DNS hosts", heads, rows) if rows else "<p>No dynamic DNS hosts yet.</p>"
    if not writable:
        return layout("Dynamic DNS", body, login, csrf, notice, error)
    inner = field(
        "hostname", "Host name (inside a domain of the organization)", value=t.get("hostname", ""),
        ident="f-ddns-host", required=True, autocomplete="off",
    )  # fmt: skip
    inner += field(
        "user", "DDNS user name", value=t.get("user", ""), ident="f-ddns-user", required=True,
        autocomplete="off",
    )  # fmt: skip
    inner += field(
        "password", "Password of a new DDNS user (empty: the user exists)", "password",
        ident="f-ddns-password", autocomplete="new-password", aria_describedby="rule-ddns",
    )  # fmt: skip
    inner += rule_note("rule-ddns")
    owners = [("", "nobody")] + [(m["login"], m["login"]) for m in members]
    inner += select(
        "owner", "Member who owns a new user", owners, t.get("owner", ""), "f-ddns-owner"
    )
    inner += field(
        "ip", "First address (optional, IPv4 or IPv6)", value=t.get("ip", ""), ident="f-ddns-ip",
        autocomplete="off",
    )  # fmt: skip
    body += "<h2>Add a host</h2>" + form(url("orgs", oid, "ddns"), inner, csrf, "Add host")
    users = sorted({h["user"] for h in hosts})
    if users:
        inner = select("user", "DDNS user", [(u, u) for u in users], ident="f-pw-user")
        inner += field(
            "password", "New password", "password", ident="f-pw-new", required=True,
            autocomplete="new-password", aria_describedby="rule-ddns-2",
        )  # fmt: skip
        inner += rule_note("rule-ddns-2")
        body += "<h2>Change a DDNS user's password</h2>" + form(
            url("orgs", oid, "ddns", "password"), inner, csrf, "Set password"
        )
    return layout("Dynamic DNS", body, login, csrf, notice, error)


def remove_page(
    login: str, csrf: str, org: dict[str, Any], host: dict[str, Any], last: bool, error: str = ""
) -> bytes:
    """The confirmation step of removing a DDNS host."""
    oid, name = org["id"], host["hostname"]
    body = (
        f"<p>Remove the dynamic DNS host <strong>{e(name)}</strong>? Its address records"
        f" (A, AAAA) are deleted at once, so {e(name)} no longer resolves, and updates for it"
        " from routers are refused.</p>"
    )
    if last:
        body += (
            f"<p>It is the last host of the DDNS user <strong>{e(host['user'])}</strong>: the"
            " user and its password go too.</p>"
        )
    body += form(url("orgs", oid, "ddns", name, "delete"), "", csrf, f"Remove {name}", True)
    body += f'<p><a href="{url("orgs", oid, "ddns")}">Cancel</a></p>'
    return layout(f"Remove {name}", body, login, csrf, error=error)


# -- the pages ----------------------------------------------------------------------------------


class DdnsPages(Section):
    def routes(self) -> list[Route]:
        return [
            ("GET", ["orgs", "#", "ddns"], self.hosts),
            ("POST", ["orgs", "#", "ddns"], self.add),
            ("POST", ["orgs", "#", "ddns", "password"], self.password),
            ("GET", ["orgs", "#", "ddns", "*", "delete"], self.remove_form),
            ("POST", ["orgs", "#", "ddns", "*", "delete"], self.remove),
        ]

    def update_url(self) -> str:
        m = self.web.api.manager
        return f"https://{m.hostname}:{m.settings.http.tls_port}/nic/update"

    async def hosts(
        self,
        request: Request,
        form: dict[str, str],
        oid: int,
        status: int = 200,
        error: str = "",
        typed: dict[str, str] | None = None,
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        hosts = await self.web.call(request, "GET", f"/orgs/{oid}/ddns")
        members: list[dict[str, Any]] = []
        if "members:read" in org.get("permissions", []):
            members = await self.web.call(request, "GET", f"/orgs/{oid}/members")
        page = ddns_page(
            login, token, org, hosts, members, self.update_url(), flash(request), error, typed
        )
        return status, page, {}

    async def add(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        body = {k: form[k] for k in ("hostname", "user", "password", "owner", "ip") if form.get(k)}
        typed = {k: v for k, v in body.items() if k != "password"}

        async def refused(exc: ApiError) -> Answer:
            return await self.hosts(request, {}, oid, exc.status, words(exc), typed)

        if not body.get("hostname") or not body.get("user"):
            return await refused(ApiError(400, "enter the host name and the DDNS user name"))

        def done(answer: dict[str, Any]) -> str:
            new = " (a new user, with its password)" if "password" in body else ""
            return f"{answer['hostname']} may now be updated by {answer['user']}{new}."

        return await self.change(
            request, "POST", f"/orgs/{oid}/ddns", body, url("orgs", oid, "ddns"), done, refused
        )

    async def password(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        user = form.get("user", "")

        async def refused(exc: ApiError) -> Answer:
            return await self.hosts(request, {}, oid, exc.status, words(exc))

        rest = f"/orgs/{oid}/ddns/users/{segment(user)}/password"
        return await self.change(
            request, "PUT", rest, {"password": form.get("password", "")},
            url("orgs", oid, "ddns"),
            f"{user} has a new password: give it to the router or NAS that updates its hosts.",
            refused,
        )  # fmt: skip

    async def remove_form(
        self, request: Request, form: dict[str, str], oid: int, hostname: str
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        if "ddns:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not remove DDNS hosts")
        hosts = await self.web.call(request, "GET", f"/orgs/{oid}/ddns")
        found = [h for h in hosts if h["hostname"] == hostname.strip().rstrip(".").lower()]
        if not found:
            raise ApiError(404, f"no DDNS host {hostname} in {org['name']}")
        last = sum(h["user"] == found[0]["user"] for h in hosts) == 1
        return 200, remove_page(login, token, org, found[0], last), {}

    async def remove(
        self, request: Request, form: dict[str, str], oid: int, hostname: str
    ) -> Answer:
        async def refused(exc: ApiError) -> Answer:
            return await self.hosts(request, {}, oid, exc.status, words(exc))

        def done(answer: dict[str, Any]) -> str:
            gone = (
                f"; the DDNS user {answer['user']} went with it" if answer["user_removed"] else ""
            )
            return f"{hostname} was removed: its address records are gone{gone}."

        rest = f"/orgs/{oid}/ddns/{segment(hostname)}"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "ddns"), done, refused
        )
