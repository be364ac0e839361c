"""`/api/v1` on the shared twisted.web site: routing, authentication, organization scope,
permission, validation, then the handler on a worker thread, and a JSON answer.

Order of checks: the route exists (404/405) -> credentials (401; over plain HTTP only from
`[http] plain_auth_networks`) -> CSRF for cookie sessions (403) -> the organization of
`{org_id}` is one the caller belongs to, and for a token its own (else 404, the same answer
as for an organization that does not exist: no probing) -> permission (403 with the reason)
-> body and parameters valid (400) -> handler. Directory refusals map to 404 (NotFound),
409 (Conflict) and 400 (other DirectoryError); anything else is logged and answers 500
without details.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from swissbox.auth import Authenticator, HashParams
from swissbox.directory import Conflict, Directory, DirectoryError, NotFound, Org
from swissbox.http import Networks, client_address, credentials_allowed, send_answer
from swissbox.manager import audit
from swissbox.manager.auth import (
    BAD_TOKEN,
    PLAIN_HTTP,
    Principal,
    bearer,
    identify_session,
    identify_token,
    is_https,
)
from swissbox.manager.endpoint import ApiError, Endpoint, Router, query_values, refuse
from swissbox.manager.permissions import decide
from swissbox.manager.schema import Invalid

log = logging.getLogger("swissbox.manager")
PREFIX = b"/api/v1"
MAX_BODY = 64 * 1024
NO_ORG = "no such organization"


@dataclass
class Manager:
    """What handlers reach: the core objects and settings (built by the service)."""

    directory: Directory
    authenticator: Authenticator
    hash_params: HashParams
    hostname: str
    dkim_dir: Any  # Config.dkim_dir: where `mail enable` writes the keys
    settings: Any
    trusted: Networks = ()
    plain_networks: Networks = ()
    mail_dir: Any = None  # the mail store's root (Config.mail_dir)
    emit: Any = None  # Context.emit, called on the worker thread (member events)
    emit_on_loop: Any = None  # Context.emit run on the event loop (zone changes: DNS state)


@dataclass
class Call:
    """One request as a handler sees it (already authenticated, scoped and validated)."""

    manager: Manager
    principal: Principal | None
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    client: str
    org: Org | None = None
    role: str | None = None
    secure: bool = False
    cookies: list[bytes] = field(default_factory=list)

    @property
    def directory(self) -> Directory:
        return self.manager.directory

    @property
    def login(self) -> str:
        assert self.principal is not None
        return self.principal.login

    def audit(self, action: str, target: str = "", detail: dict[str, Any] | None = None) -> None:
        """Writes the change to the audit log (secrets dropped, see `audit.clean`)."""
        self.directory.audit(
            self.org.id if self.org else None,
            self.principal.login if self.principal else "",
            self.principal.via if self.principal else "",
            self.client,
            action,
            target,
            audit.clean(detail),
        )


class ApiResource(Resource):
    isLeaf = True

    def __init__(self, manager: Manager, endpoints: Sequence[Endpoint], workers: int = 8) -> None:
        super().__init__()
        self.manager = manager
        self.router = Router(endpoints)
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, "swissbox-manager")
        self._running: set[asyncio.Future[None]] = set()  # the loop keeps only weak references

    def render(self, request: Request) -> Any:
        task = asyncio.ensure_future(self._answer(request))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return NOT_DONE_YET

    async def _answer(self, request: Request) -> None:
        try:
            status, body, headers = await self._serve(request)
        except ApiError as exc:
            status, body, headers = exc.status, exc.body(), {}
        except Exception:
            log.exception("manager: %s %s failed", request.method, request.path[:200])
            status, body, headers = 500, {"error": "internal error (logged)"}, {}
        _write(request, status, body, headers)

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _serve(self, request: Request) -> tuple[int, Any, dict[bytes, bytes]]:
        path = request.path.split(b"?", 1)[0]
        rest = path[len(PREFIX) :].decode("utf-8", "replace") or "/"
        method = request.method.decode("ascii", "replace").upper()
        return await self.dispatch(request, method, rest, lambda e: _read_body(request, e))

    async def dispatch(
        self, request: Request, method: str, rest: str, body_of: Callable[[Endpoint], Any]
    ) -> tuple[int, Any, dict[bytes, bytes]]:
        """One API call with every check of `/api/v1` (the web pages call this too, with
        the form's values as `body_of(endpoint)`); raises ApiError for a refusal."""
        found = self.router.match(method, rest)
        if found is None:
            raise ApiError(404, "no such endpoint")
        if found == "method":
            allowed = ", ".join(self.router.allowed(rest)).encode()
            return 405, {"error": "method not allowed"}, {b"allow": allowed}
        assert not isinstance(found, str)
        endpoint, match = found
        m = self.manager
        client = client_address(request, m.trusted) or ""
        try:
            values = endpoint.path_values(match)
            query = query_values(endpoint.doc, request.args or {})
        except Invalid as exc:
            raise ApiError(400, str(exc)) from None
        call = Call(m, None, values, query, None, client, secure=is_https(request, m.trusted))
        if not endpoint.public:
            call.principal = await self._identify(request, client)
        body = body_of(endpoint)
        if "org_id" in values:
            await self._blocking(self._scope, call, endpoint, values["org_id"])
        elif endpoint.permission is not None:
            raise refuse(f"{endpoint.permission} applies inside an organization")
        if endpoint.doc.body is not None:
            try:
                call.body = endpoint.doc.body.validate(body)
            except Invalid as exc:
                raise ApiError(400, str(exc)) from None
        try:
            if endpoint.asynchronous:
                status, answer = await endpoint.handler(call, request)
            else:
                status, answer = await self._blocking(endpoint.handler, call)
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        except Conflict as exc:
            raise ApiError(409, str(exc)) from None
        except DirectoryError as exc:
            raise ApiError(400, str(exc)) from None
        headers = {b"set-cookie": call.cookies[-1]} if call.cookies else {}
        return status, answer, headers

    async def _identify(self, request: Request, client: str) -> Principal:
        token = bearer(request)
        has_credentials = token is not None or request.getCookie(b"swissbox_session")
        if has_credentials and not credentials_allowed(request, self.manager.plain_networks):
            raise refuse(PLAIN_HTTP)
        if token is not None:
            principal, delay = await self._blocking(
                identify_token, self.manager.directory, self.manager.authenticator, token, client
            )
            if principal is None:
                if delay:
                    await asyncio.sleep(delay)
                raise ApiError(401, BAD_TOKEN)
            return principal
        principal = await self._blocking(identify_session, self.manager.directory, request)
        assert isinstance(principal, Principal)
        return principal

    def _scope(self, call: Call, endpoint: Endpoint, org_id: int) -> None:
        """Sets call.org and call.role, or refuses (blocking: reads the directory)."""
        principal = call.principal
        assert principal is not None
        token = principal.token
        if token is not None and token.org_id != org_id:
            raise ApiError(404, NO_ORG)
        role = {oid: r for oid, _, r in call.directory.member_orgs(principal.login)}.get(org_id)
        if role is None:
            raise ApiError(404, NO_ORG)
        call.org, call.role = call.directory.org_by_id(org_id), role
        if endpoint.permission is not None:
            decision = decide(role, token.permissions if token else None, endpoint.permission)
            if not decision.allowed:
                raise refuse(decision.reason)


def _read_body(request: Request, endpoint: Endpoint) -> Any:
    if endpoint.doc.body is None:
        return None
    raw = request.content.read(MAX_BODY + 1) if request.content else b""
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the request body is larger than {MAX_BODY} bytes")
    kind = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    if kind != b"application/json":
        raise ApiError(415, "send the request body as application/json")
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None


def _write(request: Request, status: int, body: Any, headers: dict[bytes, bytes]) -> None:
    request.setResponseCode(status)
    for name, value in headers.items():
        request.setHeader(name, value)
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"x-content-type-options", b"nosniff")
    if status == 401:
        request.setHeader(b"www-authenticate", b'Bearer realm="swissbox"')
    data = b""
    if body is not None and status != 204:
        request.setHeader(b"content-type", b"application/json")
        data = json.dumps(body, separators=(",", ":")).encode()
    request.setHeader(b"content-length", str(len(data)).encode())
    if request.method == b"HEAD":
        data = b""
    send_answer(request, data)
