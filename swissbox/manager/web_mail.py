"""The Email Service pages of `/manager/`: an organization's addresses (create with the
mailbox realm's password rule, new password, delete after a confirmation), the members who
may use each (several at once: one address for a team), forward, aliases, catch-all, and
restoring deleted mail into a folder. Every read and change goes through the API's dispatch
(same checks, handlers and core rules; restore is `mailstore.retention.restore`, as
`swissbox mailbox restore`; the catch-alls and forwards shown are the API's routing list)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from twisted.web.server import Request

from swissbox.auth.policy import rule as password_rule
from swissbox.directory.mailboxrules import QUOTA_RULE
from swissbox.manager.endpoint import ApiError
from swissbox.manager.webflow import (
    Answer,
    Redirect,
    Route,
    Section,
    flash,
    passes_through,
    segment,
    words,
)
from swissbox.manager.webpages import e, field, form, layout, select, table, url

MB = 1024 * 1024
ACCESS_NAMES = {
    "own": "own (it is their address: they log in with it)",
    "full": "full (read, send and manage)",
    "read": "read only",
}
RESTORED_FOLDER = "Restored"  # where mailstore.retention.restore puts them


# -- HTML (pure) ------------------------------------------------------------------------------


def quota_bytes(text: str) -> int | None:
    """The quota typed in MB in bytes (empty: no limit); a 400 unless a positive whole number."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise ApiError(400, f"Quota in MB: {QUOTA_RULE}")
    return int(text) * MB


def quota_text(quota: int | None) -> str:
    if not quota:
        return "no limit"
    return f"{quota / MB:g} MB" if quota % MB == 0 else f"{quota} bytes"


def size_text(n: int) -> str:
    for unit, size in (("GB", 1024 * MB), ("MB", MB), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def rule_note(ident: str, realm: str) -> str:
    return f'<p id="{ident}" class="hint">Password rule: {e(password_rule(realm))}.</p>'


def checkbox(name: str, label: str, value: str, ident: str, checked: bool = False) -> str:
    on = " checked" if checked else ""
    return (
        f'<p><input type="checkbox" id="{e(ident)}" name="{e(name)}" value="{e(value)}"{on}>'
        f'<label for="{e(ident)}">{e(label)}</label></p>'
    )


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{e(name)}" value="{e(value)}">'


def mail_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    domains: list[str],
    boxes: list[dict[str, Any]],
    aliases: list[dict[str, Any]],
    catch_alls: dict[str, str],
    forwards: dict[str, dict[str, Any]],
    notice: str = "",
    error: str = "",
    typed: dict[str, str] | None = None,
) -> bytes:
    oid, t = org["id"], typed or {}
    writable = "mail:write" in org.get("permissions", [])
    body = f'<p><a href="{url("orgs", oid)}">Back to {e(org["name"])}</a></p>'
    if not domains:
        body += "<p>No domain of this organization has an Email Service yet.</p>"
        return layout("Email Service", body, login, csrf, notice, error)
    body += f"<p>Mail domains: {e(', '.join(domains))}.</p>"
    rows = []
    for b in boxes:
        users = ", ".join(f"{u['login']} ({u['access']})" for u in b["users"]) or "nobody yet"
        fwd = forwards.get(b["address"])
        rows.append(
            (
                f'<a href="{url("orgs", oid, "mailboxes", b["address"])}">{e(b["address"])}</a>',
                e(users),
                e(quota_text(b.get("quota_bytes"))),
                e(f"to {fwd['target']}" + (" (a copy stays)" if fwd["keep"] else ""))
                if fwd
                else "no",
            )
        )
    body += table("Addresses", ("Address", "Users", "Quota", "Forwarded"), rows)
    if writable:
        inner = field(
            "address", "New address", "email", t.get("address", ""), ident="f-new-address",
            required=True, autocomplete="off",
        )  # fmt: skip
        inner += field(
            "password", "Its password", "password", ident="f-new-password", required=True,
            autocomplete="new-password", aria_describedby="rule-mailbox",
        )  # fmt: skip
        inner += rule_note("rule-mailbox", "mailbox")
        inner += field(
            "quota_mb", "Quota in MB (empty: no limit)", "number", t.get("quota_mb", ""),
            min=1, inputmode="numeric",
        )  # fmt: skip
        body += "<h2>Create an address</h2>" + form(
            url("orgs", oid, "mail", "mailboxes"), inner, csrf, "Create address"
        )
    body += "<h2>Aliases</h2>"
    arows = []
    for a in aliases:
        cells = [e(a["address"]), e(", ".join(a["targets"])), "yes" if a["send_as"] else "no"]
        if writable:
            cells.append(
                form(
                    url("orgs", oid, "mail", "aliases", "remove"),
                    hidden("address", a["address"]),
                    csrf,
                    f"Remove alias {a['address']}",
                    danger=True,
                )
            )
        arows.append(cells)
    heads = ["Alias", "Delivers to", "Users may send as it"] + (["Remove"] if writable else [])
    body += table("Aliases", heads, arows) if arows else "<p>No aliases yet.</p>"
    if writable:
        inner = field("address", "Alias address", "email", ident="f-alias-address", required=True)
        inner += field(
            "targets", "Delivers to (addresses, separated by commas)", ident="f-alias-targets",
            required=True,
        )  # fmt: skip
        inner += checkbox(
            "send_as", "Users of the targets may send as the alias", "yes", "f-send-as", True
        )
        body += form(url("orgs", oid, "mail", "aliases"), inner, csrf, "Add alias")
    body += "<h2>Catch-all</h2><p>Where mail to an unknown address of a domain goes.</p>"
    crows = []
    for n, d in enumerate(domains):
        target = catch_alls.get(d)
        cells = [e(d), e(target) if target else "none: unknown addresses are refused"]
        if writable:
            inner = hidden("domain", d) + field(
                "target", f"Catch-all of {d}", "email", target or "", ident=f"f-catch-{n}",
                required=True,
            )  # fmt: skip
            change = form(
                url("orgs", oid, "mail", "catch-all"), inner, csrf, f"Set catch-all of {d}"
            )
            if target:
                change += form(
                    url("orgs", oid, "mail", "catch-all", "remove"),
                    hidden("domain", d),
                    csrf,
                    f"No catch-all for {d}",
                    danger=True,
                )
            cells.append(change)
        crows.append(cells)
    heads = ["Domain", "Catch-all"] + (["Change"] if writable else [])
    body += table("Catch-all addresses", heads, crows)
    return layout("Email Service", body, login, csrf, notice, error)


def mailbox_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    box: dict[str, Any],
    members: list[dict[str, Any]],
    forward: dict[str, Any] | None,
    notice: str = "",
    error: str = "",
    used_bytes: int | None = None,
) -> bytes:
    oid, address = org["id"], box["address"]
    writable = "mail:write" in org.get("permissions", [])
    here = ("orgs", oid, "mailboxes", address)
    body = f'<p><a href="{url("orgs", oid, "mail")}">Back to the Email Service</a></p>'
    used = f"{size_text(used_bytes)} used; q" if used_bytes is not None else "Q"
    body += f"<p>{e(used)}uota: {e(quota_text(box.get('quota_bytes')))}.</p>"
    if writable:
        quota = box.get("quota_bytes")
        shown = str(quota // MB) if quota and quota % MB == 0 else ""
        inner = field(
            "quota_mb", "Quota in MB (empty: no limit)", "number", shown, ident="f-box-quota",
            min=1, inputmode="numeric", aria_describedby="quota-note",
        )  # fmt: skip
        inner += (
            '<p id="quota-note" class="hint">Mail arriving over the quota is refused; mail'
            " already held stays.</p>"
        )
        body += form(url(*here, "quota"), inner, csrf, "Set quota")
    rows = []
    for u in box["users"]:
        cells = [e(u["login"]), e(ACCESS_NAMES.get(u["access"], u["access"]))]
        if writable:
            cells.append(
                form(
                    url(*here, "users", u["login"], "revoke"),
                    "",
                    csrf,
                    f"Revoke {u['login']}",
                    True,
                )
            )
        rows.append(cells)
    heads = ["Member", "Access"] + (["Revoke"] if writable else [])
    body += table(f"Users of {address}", heads, rows) if rows else "<p>Nobody uses it yet.</p>"
    if writable:
        using = {u["login"] for u in box["users"]}
        boxes = "".join(
            checkbox("login", m["login"] + (f" ({m['name']})" if m.get("name") else ""),
                     m["login"], f"grant-{n}")
            for n, m in enumerate(members)
            if m["login"] not in using
        )  # fmt: skip
        if boxes:
            inner = f"<fieldset><legend>Members who may use {e(address)}</legend>{boxes}</fieldset>"
            inner += select("access", "Access", list(ACCESS_NAMES.items()), "full", "f-access")
            body += "<h2>Give members this address</h2>" + form(
                url(*here, "users"), inner, csrf, "Grant access"
            )
        inner = field(
            "password", "New password", "password", ident="f-box-password", required=True,
            autocomplete="new-password", aria_describedby="rule-mailbox",
        )  # fmt: skip
        inner += rule_note("rule-mailbox", "mailbox")
        body += "<h2>Password</h2>" + form(url(*here, "password"), inner, csrf, "Set password")
    body += "<h2>Forward</h2>"
    if forward:
        kept = " A copy stays in the mailbox." if forward["keep"] else ""
        body += (
            f"<p>Mail to {e(address)} goes on to <strong>{e(forward['target'])}</strong>.{kept}</p>"
        )
    else:
        body += "<p>Not forwarded.</p>"
    if writable:
        inner = field("target", "Forward to", "email", ident="f-forward", required=True)
        inner += checkbox("keep", "Keep a copy in this mailbox", "yes", "f-keep")
        body += form(url(*here, "forward"), inner, csrf, "Forward")
        if forward:
            body += form(url(*here, "forward", "stop"), "", csrf, "Stop forwarding", danger=True)
        body += (
            f'<h2>More</h2><ul><li><a href="{url(*here, "restore")}">Restore deleted mail…</a></li>'
            f'<li><a href="{url(*here, "delete")}">Delete {e(address)}…</a></li></ul>'
        )
    return layout(address, body, login, csrf, notice, error)


def delete_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    address: str,
    error: str = "",
    days: int | None = None,
) -> bytes:
    """The confirmation step; `days`: how long the messages are held ([imap]
    expunged_retention_days)."""
    held = f"{days} days" if days is not None else "the retention period"
    oid = org["id"]
    body = (
        f"<p>Delete the address <strong>{e(address)}</strong>? At once, mail to it is no longer"
        " accepted (the domain's catch-all takes it, if there is one), its password and app"
        " passwords stop working, its open sessions end, every member's use of it ends, its"
        " forward goes and aliases or a catch-all naming it no longer deliver to it; these"
        " cannot be brought back.</p>"
        f"<p>Its messages are moved out of reach at once and erased after {e(held)}"
        " (or now, if you tick the box below). If the address is created again, it starts"
        " empty.</p>"
    )
    inner = field(
        "confirm", f"Type {address} to confirm", "text", ident="f-confirm", required=True,
        autocomplete="off",
    )  # fmt: skip
    # the API reads `erase` as its query parameter (the form's fields are the request's args)
    inner += checkbox("erase", "Erase its messages now (they cannot come back)", "true", "f-erase")
    body += form(
        url("orgs", oid, "mailboxes", address, "delete"), inner, csrf, f"Delete {address}", True
    )
    body += f'<p><a href="{url("orgs", oid, "mailboxes", address)}">Cancel</a></p>'
    return layout(f"Delete {address}", body, login, csrf, error=error)


def restore_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    address: str,
    kept: list[dict[str, Any]],
    days: int,
    notice: str = "",
) -> bytes:
    """Messages deleted (expunged) from `address` that can still come back."""
    oid = org["id"]
    action = url("orgs", oid, "mailboxes", address, "restore")
    body = f'<p><a href="{url("orgs", oid, "mailboxes", address)}">Back to {e(address)}</a></p>'
    body += (
        f"<p>Deleted mail is kept for {e(days)} days. Restored messages come back into the"
        f" folder <strong>{RESTORED_FOLDER}</strong> of {e(address)}, with their flags and dates;"
        " a message that still exists in a folder does not come back twice.</p>"
    )
    if not kept:
        return layout(f"Restore mail of {address}", body + "<p>No deleted mail to restore.</p>",
                      login, csrf, notice)  # fmt: skip
    rows = []
    for n, k in enumerate(kept):  # newest first
        when = dt.datetime.fromtimestamp(k["expunged"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        button = f"Restore this one and those deleted after it ({n + 1} of {len(kept)})"
        rows.append(
            (
                e(when),
                e(k["folder"]),
                e(k.get("from", "")),
                e(k.get("subject", "")),
                form(action, hidden("since", str(k["expunged"])), csrf, button),
            )
        )
    body += table(
        "Deleted messages", ("Deleted (UTC)", "Folder", "From", "Subject", "Restore"), rows
    )
    body += form(action, "", csrf, f"Restore all {len(kept)} messages")
    return layout(f"Restore mail of {address}", body, login, csrf, notice)


# -- the pages ----------------------------------------------------------------------------------


class MailPages(Section):
    def routes(self) -> list[Route]:
        return [
            ("GET", ["orgs", "#", "mail"], self.overview),
            ("POST", ["orgs", "#", "mail", "mailboxes"], self.create),
            ("POST", ["orgs", "#", "mail", "aliases"], self.alias_add),
            ("POST", ["orgs", "#", "mail", "aliases", "remove"], self.alias_remove),
            ("POST", ["orgs", "#", "mail", "catch-all"], self.catch_all),
            ("POST", ["orgs", "#", "mail", "catch-all", "remove"], self.catch_all_off),
            ("GET", ["orgs", "#", "mailboxes", "*"], self.mailbox),
            ("POST", ["orgs", "#", "mailboxes", "*", "password"], self.password),
            ("POST", ["orgs", "#", "mailboxes", "*", "quota"], self.quota),
            ("POST", ["orgs", "#", "mailboxes", "*", "users"], self.grant),
            ("POST", ["orgs", "#", "mailboxes", "*", "users", "*", "revoke"], self.revoke),
            ("POST", ["orgs", "#", "mailboxes", "*", "forward"], self.forward),
            ("POST", ["orgs", "#", "mailboxes", "*", "forward", "stop"], self.forward_off),
            ("GET", ["orgs", "#", "mailboxes", "*", "delete"], self.delete_form),
            ("POST", ["orgs", "#", "mailboxes", "*", "delete"], self.delete),
            ("GET", ["orgs", "#", "mailboxes", "*", "restore"], self.restore_list),
            ("POST", ["orgs", "#", "mailboxes", "*", "restore"], self.restore),
        ]

    # -- the overview -------------------------------------------------------------------------

    async def overview(
        self,
        request: Request,
        form: dict[str, str],
        oid: int,
        status: int = 200,
        error: str = "",
        typed: dict[str, str] | None = None,
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        domains = [
            d["name"]
            for d in await self.web.call(request, "GET", f"/orgs/{oid}/domains")
            if d.get("mail")
        ]
        boxes = await self.web.call(request, "GET", f"/orgs/{oid}/mailboxes")
        aliases = await self.web.call(request, "GET", f"/orgs/{oid}/aliases")
        catch_alls, forwards = await self._routing(request, oid)
        page = mail_page(
            login, token, org, domains, boxes, aliases, catch_alls, forwards,
            flash(request), error, typed,
        )  # fmt: skip
        return status, page, {}

    async def _routing(
        self, request: Request, oid: int
    ) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        """({domain: catch-all target}, {address: forward}) as the API's routing list has them."""
        catch: dict[str, str] = {}
        forwards: dict[str, dict[str, Any]] = {}
        for r in await self.web.call(request, "GET", f"/orgs/{oid}/routing"):
            if r["kind"] == "catch-all":
                catch[r["address"].removeprefix("@")] = r["targets"][0]
            elif r["kind"] == "forward":
                forwards[r["address"]] = {"target": r["targets"][0], "keep": r.get("keep", False)}
        return catch, forwards

    def _refused(self, request: Request, oid: int, typed: dict[str, str] | None = None) -> Any:
        async def show(exc: ApiError) -> Answer:
            return await self.overview(request, {}, oid, exc.status, words(exc), typed)

        return show

    async def create(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        body: dict[str, Any] = {
            "address": form.get("address", ""),
            "password": form.get("password", ""),
        }
        typed = {"address": body["address"], "quota_mb": form.get("quota_mb", "")}
        refused = self._refused(request, oid, typed)
        if not body["address"] or not body["password"]:
            return await refused(ApiError(400, "enter the address and its password"))
        try:
            quota = quota_bytes(form.get("quota_mb", ""))
        except ApiError as exc:
            return await refused(exc)
        if quota is not None:
            body["quota_bytes"] = quota
        back = url("orgs", oid, "mailboxes", body["address"].strip().lower())
        done = f"{body['address']} was created with its password. Give members its use below."
        return await self.change(
            request, "POST", f"/orgs/{oid}/mailboxes", body, back, done, refused
        )

    async def alias_add(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        targets = [t.strip() for t in form.get("targets", "").replace(";", ",").split(",")]
        body: dict[str, Any] = {
            "address": form.get("address", ""),
            "targets": [t for t in targets if t],
        }
        body["send_as"] = form.get("send_as") == "yes"  # what the box shows, never a default
        done = f"The alias {body['address']} now delivers to {', '.join(body['targets'])}."
        return await self.change(
            request, "POST", f"/orgs/{oid}/aliases", body, url("orgs", oid, "mail"), done,
            self._refused(request, oid),
        )  # fmt: skip

    async def alias_remove(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        address = form.get("address", "")
        rest = f"/orgs/{oid}/aliases/{segment(address)}"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "mail"),
            f"The alias {address} was removed.", self._refused(request, oid),
        )  # fmt: skip

    async def catch_all(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        domain, target = form.get("domain", ""), form.get("target", "")
        rest = f"/orgs/{oid}/domains/{segment(domain)}/catch-all"
        return await self.change(
            request, "PUT", rest, {"target": target}, url("orgs", oid, "mail"),
            f"Mail to unknown addresses of {domain} now goes to {target}.",
            self._refused(request, oid),
        )  # fmt: skip

    async def catch_all_off(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        domain = form.get("domain", "")
        rest = f"/orgs/{oid}/domains/{segment(domain)}/catch-all"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "mail"),
            f"{domain} has no catch-all: mail to unknown addresses is refused.",
            self._refused(request, oid),
        )  # fmt: skip

    # -- one address ----------------------------------------------------------------------------

    async def _box(
        self, request: Request, oid: int, address: str
    ) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        login, token, org = await self.org(request, oid)
        boxes = await self.web.call(request, "GET", f"/orgs/{oid}/mailboxes")
        found = [b for b in boxes if b["address"].lower() == address.lower()]
        if not found:
            raise ApiError(404, f"no address {address} in {org['name']}")
        return login, token, org, found[0]

    async def mailbox(
        self,
        request: Request,
        form: dict[str, str],
        oid: int,
        address: str,
        status: int = 200,
        error: str = "",
    ) -> Answer:
        login, token, org, box = await self._box(request, oid, address)
        members: list[dict[str, Any]] = []
        if "members:read" in org.get("permissions", []):
            members = await self.web.call(request, "GET", f"/orgs/{oid}/members")
        _, forwards = await self._routing(request, oid)
        usage = await self.web.call(
            request, "GET", f"/orgs/{oid}/mailboxes/{segment(box['address'])}/usage"
        )
        page = mailbox_page(
            login, token, org, box, members, forwards.get(box["address"]), flash(request), error,
            usage["used_bytes"],
        )  # fmt: skip
        return status, page, {}

    def _box_refused(self, request: Request, oid: int, address: str) -> Any:
        async def show(exc: ApiError) -> Answer:
            return await self.mailbox(request, {}, oid, address, exc.status, words(exc))

        return show

    async def password(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        rest = f"/orgs/{oid}/mailboxes/{segment(address)}/password"
        return await self.change(
            request, "PUT", rest, {"password": form.get("password", "")},
            url("orgs", oid, "mailboxes", address),
            f"{address} has a new password: devices using the old one must be given it.",
            self._box_refused(request, oid, address),
        )  # fmt: skip

    async def grant(self, request: Request, form: dict[str, str], oid: int, address: str) -> Answer:
        args: dict[bytes, list[bytes]] = request.args or {}
        logins = [v.decode("utf-8", "replace").strip() for v in args.get(b"login", [])]
        logins = [x for x in dict.fromkeys(logins) if x][:200]
        access = form.get("access", "")
        refused = self._box_refused(request, oid, address)
        if not logins:
            return await refused(ApiError(400, "choose at least one member"))
        done: list[str] = []
        for who in logins:
            rest = f"/orgs/{oid}/mailboxes/{segment(address)}/users/{segment(who)}"
            try:
                await self.web.call(request, "PUT", rest, {"access": access})
            except ApiError as exc:
                if passes_through(exc):
                    raise
                said = f" ({', '.join(done)} did get it)" if done else ""
                return await refused(
                    ApiError(exc.status, f"not granted to {who}: {exc.error}{said}")
                )
            done.append(who)
        what = ACCESS_NAMES.get(access, access).split(" (")[0]
        notice = f"{', '.join(done)} may now use {address} ({what})."
        raise Redirect(url("orgs", oid, "mailboxes", address), notice=notice)

    async def revoke(
        self, request: Request, form: dict[str, str], oid: int, address: str, who: str
    ) -> Answer:
        rest = f"/orgs/{oid}/mailboxes/{segment(address)}/users/{segment(who)}"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "mailboxes", address),
            f"{who} no longer uses {address}.", self._box_refused(request, oid, address),
        )  # fmt: skip

    async def forward(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        body = {"target": form.get("target", ""), "keep": form.get("keep") == "yes"}
        rest = f"/orgs/{oid}/mailboxes/{segment(address)}/forward"
        kept = ", a copy stays here" if body["keep"] else ""
        return await self.change(
            request, "PUT", rest, body, url("orgs", oid, "mailboxes", address),
            f"Mail to {address} now goes on to {body['target']}{kept}.",
            self._box_refused(request, oid, address),
        )  # fmt: skip

    async def forward_off(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        rest = f"/orgs/{oid}/mailboxes/{segment(address)}/forward"
        return await self.change(
            request, "DELETE", rest, None, url("orgs", oid, "mailboxes", address),
            f"Mail to {address} is no longer forwarded.", self._box_refused(request, oid, address),
        )  # fmt: skip

    async def delete_form(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        login, token, org, box = await self._box(request, oid, address)
        if "mail:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not delete addresses")
        return 200, delete_page(login, token, org, box["address"], days=self._days()), {}

    def _days(self) -> int:
        return int(self.web.api.manager.settings.imap.expunged_retention_days)

    async def delete(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        async def again(exc: ApiError) -> Answer:
            login, token, org, box = await self._box(request, oid, address)
            page = delete_page(login, token, org, box["address"], words(exc), self._days())
            return exc.status, page, {}

        if form.get("confirm", "").lower() != address.lower():
            return await again(ApiError(400, f"type {address} to confirm; nothing was deleted"))

        def done(answer: dict[str, Any]) -> str:
            after = answer.get("erase_after")
            if after is None:
                kept = "its messages were erased"
            else:
                day = dt.datetime.fromtimestamp(after, dt.UTC).strftime("%Y-%m-%d")
                kept = f"its messages are out of reach and erased on {day}"
            also = [f"alias {a} no longer delivers to it" for a in answer.get("aliases", [])]
            also += [f"{d} has no catch-all now" for d in answer.get("catch_alls", [])]
            return f"{address} was deleted; " + "; ".join([kept, *also]) + "."

        return await self.change(
            request, "DELETE", f"/orgs/{oid}/mailboxes/{segment(address)}", None,
            url("orgs", oid, "mail"), done, again,
        )  # fmt: skip

    async def quota(self, request: Request, form: dict[str, str], oid: int, address: str) -> Answer:
        refused = self._box_refused(request, oid, address)
        try:
            quota = quota_bytes(form.get("quota_mb", ""))
        except ApiError as exc:
            return await refused(exc)
        rest = f"/orgs/{oid}/mailboxes/{segment(address)}"
        return await self.change(
            request, "PATCH", rest, {"quota_bytes": quota}, url("orgs", oid, "mailboxes", address),
            f"The quota of {address} is now {quota_text(quota)}.", refused,
        )  # fmt: skip

    # -- restore deleted mail -------------------------------------------------------------------

    async def restore_list(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        login, token, org, box = await self._box(request, oid, address)
        if "mail:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not restore mail")
        rest = f"/orgs/{oid}/mailboxes/{segment(box['address'])}/deleted"
        kept = await self.web.call(request, "GET", rest)
        days = self.web.api.manager.settings.imap.expunged_retention_days
        page = restore_page(login, token, org, box["address"], kept, days, flash(request))
        return 200, page, {}

    async def restore(
        self, request: Request, form: dict[str, str], oid: int, address: str
    ) -> Answer:
        body: dict[str, Any] = {}
        since = form.get("since", "")
        if since:
            if not since.isascii() or not since.isdigit() or len(since) > 12:
                raise ApiError(400, "the time to restore from is not a number")
            body["since"] = int(since)
        back = url("orgs", oid, "mailboxes", address, "restore")

        def done(answer: dict[str, Any]) -> str:
            if not answer["restored"]:
                return "Nothing was restored: those messages are in a folder already."
            return (
                f"{answer['restored']} messages were restored into the folder"
                f" {answer['folder']} of {address}."
            )

        async def refused(exc: ApiError) -> Answer:
            raise exc

        rest = f"/orgs/{oid}/mailboxes/{segment(address)}/restore"
        return await self.change(request, "POST", rest, body, back, done, refused)
