"""`/session` (log in and out with a cookie, read the CSRF token) and `/me`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from swissbox.auth import FAILURE_MESSAGE, WeakPassword, hashed_new_secret
from swissbox.http import credentials_allowed
from swissbox.manager.api import Call
from swissbox.manager.auth import (
    PLAIN_HTTP,
    REALM,
    Principal,
    cookie_header,
    origin_problem,
    session_cookie,
    start_session,
    user_agent,
)
from swissbox.manager.endpoint import ApiError, Endpoint, refuse
from swissbox.manager.permissions import effective
from swissbox.manager.schema import Arr, Doc, Int, Obj, Str
from swissbox.manager.tokens import digest, new_secret
from swissbox.manager.views import LOGIN, OK, PASSWORD, PERMISSION_LIST, ROLE, errors

SESSION = Obj(
    {"login": Str(max_length=320), "csrf_token": Str(max_length=100), "expires": Int()},
    required=("login", "csrf_token", "expires"),
)
LOGIN_BODY = Obj({"login": LOGIN, "password": PASSWORD}, required=("login", "password"))
PENDING = Obj(
    {"pending": Str(max_length=100), "second_factor": Str(enum=("totp",)), "expires": Int()},
    required=("pending", "second_factor", "expires"),
    description="2FA is on: send the pending token and a code to POST /session/2fa",
)
PENDING_LIFETIME = 300  # seconds between the password and the code
ME = Obj(
    {
        "login": Str(max_length=320),
        "name": Str(max_length=2000),
        "phone": Str(max_length=2000),
        "via": Str(max_length=40),
        "orgs": Arr(
            Obj(
                {
                    "id": Int(),
                    "name": Str(max_length=200),
                    "role": ROLE,
                    "permissions": PERMISSION_LIST,
                },
                open=True,
            ),
            max_items=10_000,
        ),
        "addresses": Arr(
            Obj({"address": Str(max_length=320), "access": Str(max_length=10)}, open=True),
            max_items=100_000,
        ),
    },
    required=("login", "orgs", "addresses"),
    open=True,
)


async def login(call: Call, request: Any) -> tuple[int, Any]:
    m = call.manager
    if not credentials_allowed(request, m.plain_networks):
        raise refuse(PLAIN_HTTP)
    cross = origin_problem(request)  # login CSRF: logging a victim into another account
    if cross is not None:
        raise refuse(cross)
    body = call.body
    result = await m.authenticator.authenticate_async(
        REALM, body["login"], body["password"], call.client
    )
    if result.busy:
        raise ApiError(503, "too many logins at once: try again shortly")
    if not result.ok or not result.identifier:
        raise ApiError(401, FAILURE_MESSAGE)
    loop = asyncio.get_running_loop()
    if await loop.run_in_executor(None, m.directory.two_factor_on, result.identifier):
        return await loop.run_in_executor(None, begin_second_step, call, result.identifier)
    sid, csrf_token, expires = await loop.run_in_executor(
        None,
        start_session,
        m.directory,
        result.identifier,
        session_cookie(request),
        call.client,
        user_agent(request),
    )
    call.cookies.append(cookie_header(sid, call.secure))
    call.principal = Principal(result.identifier)
    await loop.run_in_executor(None, call.audit, "session.login", result.identifier)
    return 200, {"login": result.identifier, "csrf_token": csrf_token, "expires": expires}


def begin_second_step(call: Call, login: str) -> tuple[int, Any]:
    """After the right password of an account with 2FA on: a pending login (no session, no
    cookie) that `POST /session/2fa` (`twofactor.second_step`) completes. Blocking."""
    pending = new_secret()
    call.directory.create_pending_login(digest(pending), login, PENDING_LIFETIME)
    expires = int(time.time()) + PENDING_LIFETIME
    return 202, {"pending": pending, "second_factor": "totp", "expires": expires}


def _session(call: Call) -> Any:
    principal = call.principal
    if principal is None or principal.session is None:
        raise ApiError(401, "this call needs a session cookie (POST /api/v1/session)")
    return principal.session


def read_session(call: Call) -> tuple[int, Any]:
    s = _session(call)
    return 200, {"login": s.login, "csrf_token": s.csrf, "expires": s.expires}


async def logout(call: Call, request: Any) -> tuple[int, Any]:
    _session(call)
    sid = session_cookie(request)
    loop = asyncio.get_running_loop()
    if sid:
        await loop.run_in_executor(None, call.directory.end_session, digest(sid))
    call.cookies.append(cookie_header("", call.secure, max_age=0))
    await loop.run_in_executor(None, call.audit, "session.logout", call.login)
    return 204, None


ME_CHANGE = Obj({"name": Str(max_length=200), "phone": Str(max_length=100)})
PASSWORD_CHANGE = Obj({"current": PASSWORD, "new": PASSWORD}, required=("current", "new"))


def change_me(call: Call) -> tuple[int, Any]:
    body = call.body
    call.directory.update_account(
        call.login, display_name=body.get("name"), phone=body.get("phone")
    )
    call.audit("account.update", call.login, dict(body))
    return me(call)


async def change_password(call: Call, request: Any) -> tuple[int, Any]:
    """The account's own password: the current one is checked like a login (same limits),
    the new one must pass the account realm's rule; every other session of it ends."""
    principal = call.principal
    assert principal is not None
    if principal.session is None:
        raise refuse("an account's password is changed in a session, not with an API token")
    m, body = call.manager, call.body
    result = await m.authenticator.authenticate_async(
        REALM, call.login, body["current"], call.client
    )
    if result.busy:
        raise ApiError(503, "too many logins at once: try again shortly")
    if not result.ok:
        raise refuse("the current password is not right")
    try:
        new_hash = hashed_new_secret(REALM, body["new"], m.hash_params)
    except WeakPassword as exc:
        raise ApiError(400, str(exc)) from None
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, m.directory.set_secret_hash, REALM, call.login, new_hash)
    sid = session_cookie(request) or ""
    ended = await loop.run_in_executor(
        None, m.directory.end_other_sessions, call.login, digest(sid)
    )
    await loop.run_in_executor(
        None, call.audit, "account.password", call.login, {"sessions_ended": ended}
    )
    return 200, {"ok": True}


def me(call: Call) -> tuple[int, Any]:
    d, principal = call.directory, call.principal
    assert principal is not None
    account = d.account(principal.login)
    token = principal.token
    orgs = [
        {
            "id": oid,
            "name": name,
            "role": role,
            "permissions": sorted(effective(role, token.permissions if token else None)),
        }
        for oid, name, role in d.member_orgs(account.login)
        if token is None or token.org_id == oid
    ]
    addresses = [
        {"address": a, "access": access}
        for a, access in sorted(d.account_mailboxes(account.login).items())
    ]
    return 200, {
        "login": account.login,
        "name": account.display_name,
        "phone": account.phone,
        "via": principal.via,
        "orgs": orgs,
        "addresses": addresses,
    }


ENDPOINTS = [
    Endpoint(
        "POST",
        "/session",
        login,
        Doc(
            "Log in (account realm): sets the session cookie, returns the CSRF token",
            body=LOGIN_BODY,
            answers={200: SESSION, 202: PENDING, **errors(400, 401, 403, 415, 503)},
        ),
        tag="session",
        public=True,
        asynchronous=True,
    ),
    Endpoint(
        "GET",
        "/session",
        read_session,
        Doc("The current session and its CSRF token", answers={200: SESSION}),
        tag="session",
    ),
    Endpoint(
        "DELETE",
        "/session",
        logout,
        Doc("Log out: the session ends, the cookie is cleared", answers={204: OK}),
        tag="session",
        asynchronous=True,
    ),
    Endpoint(
        "PATCH",
        "/me",
        change_me,
        Doc(
            "Change your own name or phone (the directory shows them)",
            body=ME_CHANGE,
            answers={200: ME},
        ),
        tag="session",
    ),
    Endpoint(
        "POST",
        "/me/password",
        change_password,
        Doc(
            "Change your own password (in a session; your other sessions end)",
            body=PASSWORD_CHANGE,
            answers={200: OK},
        ),
        tag="session",
        asynchronous=True,
    ),
    Endpoint(
        "GET",
        "/me",
        me,
        Doc(
            "The caller's account, organizations (role, permissions) and addresses",
            answers={200: ME},
        ),
        tag="session",
    ),
]
