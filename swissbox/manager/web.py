"""`/manager/`: the Manager's web pages. Every read and change goes through `ApiResource.dispatch`,
the very path `/api/v1` takes (session cookie, CSRF, organization scope, permission, the same
handlers and core rules); a form's hidden `csrf_token` field stands in for the API's
`X-CSRF-Token` header and is checked by the same code. Refusals are shown in words."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from swissbox.directory.mailrecords import MailPorts
from swissbox.http import send_answer
from swissbox.manager import csrf
from swissbox.manager import webpages as pages
from swissbox.manager.api import ApiResource
from swissbox.manager.auth import is_https
from swissbox.manager.endpoint import ApiError
from swissbox.manager.web_access import AccessPages
from swissbox.manager.web_ddns import DdnsPages
from swissbox.manager.web_mail import MailPages
from swissbox.manager.web_teams import TeamPages
from swissbox.manager.webflow import Answer, Redirect, Section, flash, leave_flash, take_flash
from swissbox.manager.webflow import words as _words
from swissbox.manager.webstyle import CSS

log = logging.getLogger("swissbox.manager.web")
PREFIX = b"/manager"
CSRF_FIELD = b"csrf_token"


class WebResource(Resource):
    isLeaf = True

    def __init__(self, api: ApiResource) -> None:
        super().__init__()
        self.api = api
        s = api.manager.settings
        self.devices = {"host": api.manager.hostname, **vars(MailPorts.from_settings(s))}
        self.devices["dav"] = f"https://{api.manager.hostname}:{s.http.tls_port}/dav/"
        self._running: set[asyncio.Future[None]] = set()
        # groups of pages in their own modules (their routes join the table below)
        self.sections: list[Section] = [MailPages(self), DdnsPages(self), TeamPages(self)]
        self.sections.append(AccessPages(self))

    def render(self, request: Request) -> Any:
        task = asyncio.ensure_future(self._answer(request))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return NOT_DONE_YET

    async def _answer(self, request: Request) -> None:
        headers: dict[bytes, bytes] = {}
        try:
            status, body, headers = await self._serve(request)
        except Redirect as r:
            status, body, headers = 303, b"", {b"location": r.to.encode(), **r.headers}
            if r.notice:
                leave_flash(request, r.notice, self.secure(request))
        except ApiError as exc:
            if exc.status == 401:  # no session or it ended: the way back is the login page
                status, body = 401, pages.login_page(_words(exc))
            else:
                status, body = exc.status, pages.error_page(exc.status, _words(exc))
        except Exception:
            log.exception("manager web: %s %s failed", request.method, request.path[:200])
            status, body = (
                500,
                pages.error_page(500, "Something went wrong on the server (logged)."),
            )
        request.setResponseCode(status)
        for name, value in headers.items():
            request.setHeader(name, value)
        if not any(k == b"content-type" for k in headers):
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(
            b"content-security-policy",
            b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
            b" frame-ancestors 'none'; base-uri 'none'",
        )
        request.setHeader(b"referrer-policy", b"same-origin")
        request.setHeader(b"content-length", str(len(body)).encode())
        send_answer(request, b"" if request.method == b"HEAD" else body)

    def secure(self, request: Request) -> bool:
        return is_https(request, self.api.manager.trusted)

    # -- calling the API's own path -------------------------------------------------------

    async def call(self, request: Request, method: str, rest: str, body: Any = None) -> Any:
        status, answer, headers = await self.api.dispatch(request, method, rest, lambda e: body)
        if b"set-cookie" in headers:
            request.setHeader(b"set-cookie", headers[b"set-cookie"])
        return answer

    async def who(self, request: Request) -> tuple[str, str]:
        """(login, CSRF token) of the session, or a redirect to the login page."""
        try:
            s = await self.call(request, "GET", "/session")
        except ApiError as exc:
            if exc.status == 401:
                raise Redirect(pages.url("login")) from None
            raise
        return s["login"], s["csrf_token"]

    # -- routing --------------------------------------------------------------------------

    async def _serve(self, request: Request) -> Answer:
        raw = request.path.split(b"?", 1)[0][len(PREFIX) :]
        if raw == b"":
            raise Redirect(pages.url())
        parts = [unquote(p) for p in raw.decode("utf-8", "replace").strip("/").split("/") if p]
        method = request.method.decode("ascii", "replace").upper()
        args: dict[bytes, list[bytes]] = request.args or {}
        if method == "HEAD":
            method = "GET"
        if method == "POST":
            form = {
                k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace").strip()
                for k, v in args.items()
                if v
            }
            # the form's field is checked exactly as the API's header: the same code reads it
            request.requestHeaders.removeHeader(csrf.HEADER)
            token = args.get(CSRF_FIELD)
            if token:
                request.requestHeaders.setRawHeaders(csrf.HEADER, [token[0]])
            form.pop("csrf_token", None)
        else:
            form = {
                k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
                for k, v in args.items()
                if v
            }
            take_flash(request, self.secure(request))
        route = self._route(method, parts)
        if route is None:
            raise ApiError(404, "there is no such page")
        handler, values = route
        return await handler(request, form, *values)

    def _route(
        self, method: str, p: list[str]
    ) -> tuple[Callable[..., Awaitable[Answer]], list[Any]] | None:
        n = len(p)
        table: list[tuple[str, list[str], Callable[..., Awaitable[Answer]]]] = [
            ("GET", [], self.home),
            ("GET", ["manager.css"], self.css),
            ("GET", ["login"], self.login_form),
            ("POST", ["login"], self.login),
            ("POST", ["login", "code"], self.login_code),
            ("POST", ["logout"], self.logout),
            ("GET", ["me"], self.me),
            ("POST", ["me", "details"], self.me_details),
            ("POST", ["me", "password"], self.me_password),
            ("POST", ["me", "app-passwords"], self.app_create),
            ("POST", ["me", "2fa"], self.two_factor_start),
            ("POST", ["me", "2fa", "confirm"], self.two_factor_confirm),
            ("POST", ["me", "2fa", "disable"], self.two_factor_off),
            ("POST", ["me", "app-passwords", "*", "revoke"], self.app_revoke),
            ("GET", ["orgs", "#"], self.org),
            ("POST", ["orgs", "#", "members"], self.member_add),
            ("POST", ["orgs", "#", "members", "*", "role"], self.member_role),
            ("GET", ["orgs", "#", "members", "*", "remove"], self.remove_choose),
            ("GET", ["orgs", "#", "members", "*", "remove", "confirm"], self.remove_confirm),
            ("POST", ["orgs", "#", "members", "*", "remove"], self.remove),
            ("GET", ["orgs", "#", "domains", "*"], self.domain),
            ("POST", ["orgs", "#", "domains", "*", "records"], self.record_add),
            ("GET", ["orgs", "#", "domains", "*", "records", "delete"], self.record_delete_form),
            ("POST", ["orgs", "#", "domains", "*", "records", "delete"], self.record_delete),
        ]
        table += [route for section in self.sections for route in section.routes()]
        for m, shape, handler in table:
            if m != method or len(shape) != n:
                continue
            args: list[Any] = []
            for want, got in zip(shape, p, strict=True):
                if want == "#":
                    if not got.isascii() or not got.isdigit() or len(got) > 15:
                        break
                    args.append(int(got))
                elif want == "*":
                    args.append(got)
                elif want != got:
                    break
            else:
                return handler, args
        return None

    # -- pages ----------------------------------------------------------------------------

    async def css(self, request: Request, form: dict[str, str]) -> Answer:
        return 200, CSS, {b"content-type": b"text/css; charset=utf-8"}

    async def login_form(self, request: Request, form: dict[str, str]) -> Answer:
        return 200, pages.login_page(), {}

    async def login(self, request: Request, form: dict[str, str]) -> Answer:
        login, password = form.get("login", ""), form.get("password", "")
        if not login or not password:
            return 400, pages.login_page("Enter your login and your password.", login), {}
        try:
            status, answer, headers = await self.api.dispatch(
                request, "POST", "/session", lambda e: {"login": login, "password": password}
            )
        except ApiError as exc:
            return exc.status, pages.login_page(_words(exc), login), {}
        if status == 202:
            return 200, pages.code_page(answer["pending"]), {}
        raise Redirect(pages.url(), headers)

    async def login_code(self, request: Request, form: dict[str, str]) -> Answer:
        pending = form.get("pending", "")
        body: dict[str, str] = {"pending": pending}
        if form.get("recovery_code"):
            body["recovery_code"] = form["recovery_code"]
        else:
            body["code"] = form.get("code", "")
        try:
            _, _, headers = await self.api.dispatch(request, "POST", "/session/2fa", lambda e: body)
        except ApiError as exc:
            if exc.status == 401 and "expired" in exc.error.lower():
                return 401, pages.login_page(_words(exc)), {}
            return exc.status, pages.code_page(pending, _words(exc)), {}
        raise Redirect(pages.url(), headers)

    async def logout(self, request: Request, form: dict[str, str]) -> Answer:
        await self.call(request, "DELETE", "/session")
        return 200, pages.login_page(notice="You are logged out."), {}

    async def home(self, request: Request, form: dict[str, str], notice: str = "") -> Answer:
        login, token = await self.who(request)
        me = await self.call(request, "GET", "/me")
        return 200, pages.home_page(me, token, notice or flash(request)), {}

    # -- an organization and its members --------------------------------------------------

    async def _org_view(
        self, request: Request, oid: int, status: int = 200, notice: str = "", error: str = ""
    ) -> Answer:
        login, token = await self.who(request)
        org = await self.call(request, "GET", f"/orgs/{oid}")
        members: list[dict[str, Any]] = []
        if "members:read" in org.get("permissions", []):
            members = await self.call(request, "GET", f"/orgs/{oid}/members")
        domains = None
        if "domains:read" in org.get("permissions", []):
            domains = await self.call(request, "GET", f"/orgs/{oid}/domains")
        notice = notice or flash(request)
        page = pages.org_page(login, token, org, members, domains, notice, error)
        return status, page, {}

    async def org(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        return await self._org_view(request, oid)

    async def _change(
        self, request: Request, oid: int, method: str, rest: str, body: Any, done: str
    ) -> Answer:
        """Makes a change through the API and shows the organization page with what happened."""
        try:
            await self.call(request, method, rest, body)
        except ApiError as exc:
            if exc.status in (401,) or exc.reason in (csrf.MISSING, csrf.WRONG):
                raise
            return await self._org_view(request, oid, exc.status, error=_words(exc))
        raise Redirect(pages.url("orgs", oid), notice=done)

    async def member_add(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        body = {k: form[k] for k in ("login", "role", "password", "name") if form.get(k)}
        for needed in ("login", "role", "password"):
            if needed not in body:
                return await self._org_view(request, oid, 400, error=f"Enter the {needed}.")
        done = f"{body['login']} was added as {pages.ROLE_NAMES.get(body['role'], body['role'])}."
        return await self._change(request, oid, "POST", f"/orgs/{oid}/members", body, done)

    async def member_role(
        self, request: Request, form: dict[str, str], oid: int, login: str
    ) -> Answer:
        role = form.get("role", "")
        done = (
            f"{login} is now {pages.ROLE_NAMES.get(role, role)}; they are mailed a summary"
            " of what the new role may do."
        )
        rest = f"/orgs/{oid}/members/{login}"
        return await self._change(request, oid, "PATCH", rest, {"role": role}, done)

    async def _admin_org(self, request: Request, oid: int) -> tuple[str, str, dict[str, Any]]:
        login, token = await self.who(request)
        org = await self.call(request, "GET", f"/orgs/{oid}")
        if "members:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not remove members")
        return login, token, org

    async def remove_choose(
        self, request: Request, form: dict[str, str], oid: int, member: str
    ) -> Answer:
        login, token, org = await self._admin_org(request, oid)
        members = await self.call(request, "GET", f"/orgs/{oid}/members")
        others = [m["login"] for m in members if m["login"] != member]
        if len(others) == len(members):
            raise ApiError(404, f"{member} is not a member of {org['name']}")
        return 200, pages.remove_choice_page(login, token, org, member, others), {}

    async def remove_confirm(
        self, request: Request, form: dict[str, str], oid: int, member: str
    ) -> Answer:
        login, token, org = await self._admin_org(request, oid)
        to = form.get("transfer_to") if form.get("fate") == "transfer" else None
        return 200, pages.remove_confirm_page(login, token, org, member, to), {}

    async def remove(self, request: Request, form: dict[str, str], oid: int, member: str) -> Answer:
        body: dict[str, Any] = {"confirm": form.get("confirm", "")}
        if form.get("transfer_to"):
            body["transfer_to"] = form["transfer_to"]
            fate = f"their calendars and address books went to {form['transfer_to']}"
        else:
            body["delete_data"] = True
            fate = "their calendars and address books were deleted"
        try:
            answer = await self.call(request, "DELETE", f"/orgs/{oid}/members/{member}", body)
        except ApiError as exc:
            if exc.status == 401 or exc.reason in (csrf.MISSING, csrf.WRONG):
                raise
            login, token = await self.who(request)
            org = await self.call(request, "GET", f"/orgs/{oid}")
            to = form.get("transfer_to") or None
            page = pages.remove_confirm_page(login, token, org, member, to, _words(exc))
            return exc.status, page, {}
        gone = " Their account was deleted." if answer.get("account_deleted") else ""
        raise Redirect(pages.url("orgs", oid), notice=f"{member} was removed; {fate}.{gone}")

    # -- DNS records ----------------------------------------------------------------------

    async def _domain_view(
        self,
        request: Request,
        oid: int,
        domain: str,
        status: int = 200,
        notice: str = "",
        error: str = "",
        typed: dict[str, str] | None = None,
    ) -> Answer:
        login, token = await self.who(request)
        org = await self.call(request, "GET", f"/orgs/{oid}")
        records = await self.call(request, "GET", f"/orgs/{oid}/domains/{domain}/records")
        writable = "domains:write" in org.get("permissions", [])
        notice = notice or flash(request)
        page = pages.domain_page(login, token, org, domain, records, writable, notice, error, typed)
        return status, page, {}

    async def domain(self, request: Request, form: dict[str, str], oid: int, domain: str) -> Answer:
        return await self._domain_view(request, oid, domain)

    async def record_add(
        self, request: Request, form: dict[str, str], oid: int, domain: str
    ) -> Answer:
        body: dict[str, Any] = {k: form.get(k, "") for k in ("name", "type", "value")}
        ttl = form.get("ttl", "")
        if ttl:
            if not ttl.isascii() or not ttl.isdigit() or len(ttl) > 10:
                return await self._domain_view(
                    request, oid, domain, 400, error="The TTL is a number of seconds.", typed=form
                )
            body["ttl"] = int(ttl)
        missing = [k for k in ("name", "type", "value") if not body[k]]
        if missing:
            error = f"Enter the record's {', '.join(missing)}."
            return await self._domain_view(request, oid, domain, 400, error=error, typed=form)
        try:
            answer = await self.call(request, "POST", f"/orgs/{oid}/domains/{domain}/records", body)
        except ApiError as exc:
            if exc.status == 401 or exc.reason in (csrf.MISSING, csrf.WRONG):
                raise
            return await self._domain_view(
                request, oid, domain, exc.status, error=_words(exc), typed=form
            )
        r = answer["record"]
        said = "was added" if answer.get("changed") else "was already there"
        notice = f"The {r['type']} record {r['name']} {said}."
        raise Redirect(pages.url("orgs", oid, "domains", domain), notice=notice)

    async def record_delete_form(
        self, request: Request, form: dict[str, str], oid: int, domain: str
    ) -> Answer:
        login, token = await self.who(request)
        org = await self.call(request, "GET", f"/orgs/{oid}")
        if "domains:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not change DNS records")
        name, rtype, value = form.get("name", ""), form.get("type", ""), form.get("value", "")
        page = pages.record_delete_page(login, token, org, domain, name, rtype, value)
        return 200, page, {}

    async def record_delete(
        self, request: Request, form: dict[str, str], oid: int, domain: str
    ) -> Answer:
        body = {k: form.get(k, "") for k in ("name", "type", "value")}
        try:
            answer = await self.call(
                request, "DELETE", f"/orgs/{oid}/domains/{domain}/records", body
            )
        except ApiError as exc:
            if exc.status == 401 or exc.reason in (csrf.MISSING, csrf.WRONG):
                raise
            return await self._domain_view(request, oid, domain, exc.status, error=_words(exc))
        n = answer.get("deleted", 0)
        notice = (
            f"The {body['type']} record {body['name']} was deleted."
            if n
            else "No such record: nothing was deleted."
        )
        raise Redirect(pages.url("orgs", oid, "domains", domain), notice=notice)

    # -- the person's own page ------------------------------------------------------------

    async def me(
        self,
        request: Request,
        form: dict[str, str],
        status: int = 200,
        notice: str = "",
        error: str = "",
        new_password: dict[str, Any] | None = None,
        enrolment: dict[str, Any] | None = None,
        recovery_codes: list[str] | None = None,
    ) -> Answer:
        login, token = await self.who(request)
        me = await self.call(request, "GET", "/me")
        apps = await self.call(request, "GET", "/me/app-passwords")
        state = await self.call(request, "GET", "/me/2fa")
        notice = notice or flash(request)
        page = pages.me_page(
            me, token, apps, self.devices, notice, error, new_password,
            state, enrolment, recovery_codes,
        )  # fmt: skip
        return status, page, {}

    async def _me_change(
        self, request: Request, method: str, rest: str, body: Any, done: str
    ) -> Answer:
        try:
            answer = await self.call(request, method, rest, body)
        except ApiError as exc:
            if exc.status == 401 or exc.reason in (csrf.MISSING, csrf.WRONG):
                raise
            return await self.me(request, {}, exc.status, error=_words(exc))
        if isinstance(answer, dict) and "password" in answer:
            return await self.me(request, {}, notice=done, new_password=answer)
        if isinstance(answer, dict) and "qr_svg" in answer:
            return await self.me(request, {}, notice=done, enrolment=answer)
        if isinstance(answer, dict) and "recovery_codes" in answer:
            codes = answer["recovery_codes"]
            return await self.me(request, {}, notice=done, recovery_codes=codes)
        raise Redirect(pages.url("me"), notice=done)

    async def two_factor_start(self, request: Request, form: dict[str, str]) -> Answer:
        done = "Scan the code, then enter the code your app shows to finish."
        return await self._me_change(request, "POST", "/me/2fa", None, done)

    async def two_factor_confirm(self, request: Request, form: dict[str, str]) -> Answer:
        done = (
            "Two-factor authentication is on: logins now ask for a code after the password;"
            " your other sessions were logged out."
        )
        body = {"code": form.get("code", "")}
        return await self._me_change(request, "POST", "/me/2fa/confirm", body, done)

    async def two_factor_off(self, request: Request, form: dict[str, str]) -> Answer:
        body = {k: form[k] for k in ("code", "recovery_code") if form.get(k)}
        done = "Two-factor authentication is off."
        return await self._me_change(request, "POST", "/me/2fa/disable", body, done)

    async def me_details(self, request: Request, form: dict[str, str]) -> Answer:
        body = {"name": form.get("name", ""), "phone": form.get("phone", "")}
        return await self._me_change(request, "PATCH", "/me", body, "Your details were saved.")

    async def me_password(self, request: Request, form: dict[str, str]) -> Answer:
        body = {"current": form.get("current", ""), "new": form.get("new", "")}
        if not body["current"] or not body["new"]:
            return await self.me(
                request, {}, 400, error="Enter your current and your new password."
            )
        done = "Your password was changed; your other sessions were logged out."
        return await self._me_change(request, "POST", "/me/password", body, done)

    async def app_create(self, request: Request, form: dict[str, str]) -> Answer:
        scope, _, address = form.get("scope", "").partition(":")
        body: dict[str, Any] = {"name": form.get("name", ""), "scope": scope}
        if address:
            body["address"] = address
        if not body["name"]:
            return await self.me(request, {}, 400, error="Name the device the password is for.")
        done = f"App password for {body['name']} created."
        return await self._me_change(request, "POST", "/me/app-passwords", body, done)

    async def app_revoke(self, request: Request, form: dict[str, str], app_id: str) -> Answer:
        rest = f"/me/app-passwords/{app_id}"
        return await self._me_change(
            request, "DELETE", rest, None, "The app password was revoked: it opens nothing now."
        )
