"""`/me/2fa` (TOTP enrolment, confirmation, recovery codes, disable), the login's second step
(`/session/2fa`) and `/me/app-passwords`. Everything here needs a session: an API token can
neither change a person's second factor nor mint a password for their devices.

Login with 2FA on: `POST /session` with the right password answers 202 with a `pending`
token (5 minutes, no cookie, no session); `POST /session/2fa` with it and a code (or a
recovery code) starts the session. A wrong code is a failed login of the account in the
shared rate limiter; a code of a time step already used is refused (replay).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import segno

from swissbox.auth import FAILURE_MESSAGE, totp
from swissbox.auth.apppasswords import SCOPES, hash_app_password, new_app_password
from swissbox.directory.twofactor import AppPassword
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
from swissbox.manager.endpoint import ApiError, Endpoint, Param, refuse
from swissbox.manager.schema import Arr, Bool, Doc, Int, Obj, Str
from swissbox.manager.session import SESSION
from swissbox.manager.tokens import digest
from swissbox.manager.views import OK, errors, listing

ISSUER = "swissbox"
NEEDS_SESSION = "two-factor settings and app passwords are changed in a session, not with a token"
WRONG_CODE = "the code is not right (or was used already)"
EXPIRED = "the login has expired: log in again"

CODE = Str(min_length=1, max_length=20, description="a 6-digit code from the authenticator app")
RECOVERY = Str(min_length=1, max_length=40, description="one of the recovery codes")
SECOND_STEP = Obj(
    {"pending": Str(min_length=1, max_length=100), "code": CODE, "recovery_code": RECOVERY},
    required=("pending",),
)
STATUS = Obj(
    {"enabled": Bool(), "enrolling": Bool(), "recovery_codes_left": Int()},
    required=("enabled", "enrolling", "recovery_codes_left"),
)
ENROLMENT = Obj(
    {
        "secret": Str(max_length=100),
        "otpauth_uri": Str(max_length=2000),
        "qr_svg": Str(max_length=200_000, description="the URI as a QR code (SVG)"),
    },
    required=("secret", "otpauth_uri", "qr_svg"),
)
CONFIRM = Obj({"code": CODE}, required=("code",))
RECOVERY_CODES = Obj(
    {"recovery_codes": Arr(Str(max_length=20), max_items=totp.RECOVERY_CODES)},
    required=("recovery_codes",),
)
DISABLE = Obj({"code": CODE, "recovery_code": RECOVERY})
APP_PASSWORD = Obj(
    {
        "id": Int(),
        "name": Str(max_length=200),
        "scope": Str(enum=tuple(SCOPES)),
        "address": Str(max_length=320),
        "created": Int(),
        "last_used": Int(),
    },
    required=("id", "name", "scope", "created"),
    open=True,
)
NEW_APP_PASSWORD = Obj(
    {**APP_PASSWORD.properties, "password": Str(max_length=100)},
    required=("id", "name", "scope", "created", "password"),
    open=True,
)
APP_PASSWORD_IN = Obj(
    {
        "name": Str(min_length=1, max_length=200, description="the device, e.g. 'phone mail'"),
        "scope": Str(enum=tuple(SCOPES), description="imap-smtp (one address) or dav"),
        "address": Str(min_length=3, max_length=320, description="for imap-smtp: the address"),
    },
    required=("name", "scope"),
)
APP_ID = Param("app_id", Int(minimum=1, maximum=2**53), description="app password id")


def _session_only(call: Call) -> None:
    if call.principal is None or call.principal.session is None:
        raise refuse(NEEDS_SESSION)


# -- the login's second step (the first: `session.login`) ----------------------------------


def _second_factor_ok(call: Call, login: str, body: dict[str, Any]) -> str | None:
    """ "totp" or "recovery" when the body's code is good (and now spent), else None."""
    d = call.directory
    if "code" in body:
        state = d.totp_state(login)
        if state is None or state.confirmed is None:
            return None
        step = totp.match_step(state.secret, body["code"], time.time(), state.last_step)
        return "totp" if step is not None and d.accept_totp_step(login, step) else None
    if "recovery_code" in body:
        used = d.use_recovery_code(login, totp.recovery_digest(body["recovery_code"]))
        return "recovery" if used else None
    return None


async def second_step(call: Call, request: Any) -> tuple[int, Any]:
    m, body = call.manager, call.body
    if not credentials_allowed(request, m.plain_networks):
        raise refuse(PLAIN_HTTP)
    cross = origin_problem(request)
    if cross is not None:
        raise refuse(cross)
    if ("code" in body) == ("recovery_code" in body):
        raise ApiError(400, "body: give either code or recovery_code")
    loop = asyncio.get_running_loop()
    pending = digest(body["pending"])
    login = await loop.run_in_executor(None, m.directory.pending_login, pending)
    if login is None:
        raise ApiError(401, EXPIRED)
    limiter = m.authenticator.limiter
    if limiter.locked(REALM, login, call.client):
        await asyncio.sleep(limiter.delay_max)
        raise ApiError(401, FAILURE_MESSAGE)
    how = await loop.run_in_executor(None, _second_factor_ok, call, login, body)
    if how is None:
        secret = body.get("code") or body.get("recovery_code") or ""
        delay = limiter.failure(REALM, login, call.client, secret)
        await asyncio.sleep(delay)
        raise ApiError(401, WRONG_CODE)
    limiter.success(REALM, login, call.client)
    await loop.run_in_executor(None, m.directory.end_pending_login, pending)
    sid, csrf_token, expires = await loop.run_in_executor(
        None,
        start_session,
        m.directory,
        login,
        session_cookie(request),
        call.client,
        user_agent(request),
    )
    call.cookies.append(cookie_header(sid, call.secure))
    call.principal = Principal(login)
    await loop.run_in_executor(None, call.audit, "session.login", login, {"second_factor": how})
    return 200, {"login": login, "csrf_token": csrf_token, "expires": expires}


# -- /me/2fa -------------------------------------------------------------------------------


def status(call: Call) -> tuple[int, Any]:
    d = call.directory
    state = d.totp_state(call.login)
    return 200, {
        "enabled": state is not None and state.confirmed is not None,
        "enrolling": state is not None and state.confirmed is None,
        "recovery_codes_left": d.recovery_codes_left(call.login),
    }


def enrol(call: Call) -> tuple[int, Any]:
    """A new secret to scan; 2FA is on only once a first code confirms it."""
    _session_only(call)
    secret = totp.new_secret()
    try:
        call.directory.begin_totp(call.login, secret)
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    uri = totp.otpauth_uri(secret, call.login, ISSUER)
    call.audit("2fa.enrol", call.login)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return 200, {"secret": secret, "otpauth_uri": uri, "qr_svg": svg}


def confirm(call: Call) -> tuple[int, Any]:
    """The first code turns 2FA on and yields ten recovery codes, shown only this once; the
    account's other sessions end (its API tokens stay: they are revoked one by one)."""
    _session_only(call)
    d = call.directory
    state = d.totp_state(call.login)
    if state is None or state.confirmed is not None:
        raise ApiError(409, "nothing to confirm: start with POST /me/2fa")
    step = totp.match_step(state.secret, call.body["code"], time.time(), state.last_step)
    codes = totp.new_recovery_codes()
    if step is None or not d.confirm_totp(
        call.login, step, [totp.recovery_digest(c) for c in codes]
    ):
        raise refuse(WRONG_CODE)
    # a session opened with the password alone (a thief's too) must not outlive this
    assert call.principal is not None
    ended = d.end_other_sessions(call.login, call.principal.session_digest)
    call.audit("2fa.on", call.login, {"sessions_ended": ended})
    return 200, {"recovery_codes": codes}


def disable(call: Call) -> tuple[int, Any]:
    """Off, with a current code or a recovery code (a stolen session alone cannot)."""
    _session_only(call)
    if ("code" in call.body) == ("recovery_code" in call.body):
        raise ApiError(400, "body: give either code or recovery_code")
    if not call.directory.two_factor_on(call.login):
        raise ApiError(409, "two-factor authentication is not on")
    limiter = call.manager.authenticator.limiter
    if limiter.locked(REALM, call.login, call.client):
        raise refuse(WRONG_CODE)
    how = _second_factor_ok(call, call.login, call.body)
    if how is None:
        secret = call.body.get("code") or call.body.get("recovery_code") or ""
        limiter.failure(REALM, call.login, call.client, secret)
        raise refuse(WRONG_CODE)
    call.directory.disable_totp(call.login)
    call.audit("2fa.off", call.login, {"with": how})
    return 200, {"ok": True}


# -- /me/app-passwords ---------------------------------------------------------------------


def _scope_of(app: AppPassword) -> str:
    return "dav" if app.realm == "account" else "imap-smtp"


def _app_json(app: AppPassword) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": app.id,
        "name": app.name,
        "scope": _scope_of(app),
        "created": app.created,
    }
    if app.mailbox is not None:
        out["address"] = app.mailbox
    if app.last_used is not None:
        out["last_used"] = app.last_used
    return out


def list_app_passwords(call: Call) -> tuple[int, Any]:
    return 200, [_app_json(a) for a in call.directory.app_passwords(call.login)]


def create_app_password(call: Call) -> tuple[int, Any]:
    """A new random password for one device: DAV, or IMAP/SMTP of one of your addresses."""
    _session_only(call)
    body = call.body
    realm, needs_address = SCOPES[body["scope"]]
    if needs_address != ("address" in body):
        raise ApiError(400, "body: address is needed for imap-smtp and refused for dav")
    password = new_app_password()
    try:
        app = call.directory.add_app_password(
            call.login, realm, body.get("address"), body["name"], hash_app_password(password)
        )
    except ValueError as exc:
        raise refuse(str(exc)) from None
    call.audit("app_password.add", str(app.id), {"name": app.name, "scope": body["scope"]})
    return 201, {**_app_json(app), "password": password}


def revoke_app_password(call: Call) -> tuple[int, Any]:
    _session_only(call)
    if not call.directory.revoke_app_password(call.login, call.path["app_id"]):
        raise ApiError(404, "no app password of yours with this id")
    call.audit("app_password.revoke", str(call.path["app_id"]))
    return 200, {"ok": True}


ENDPOINTS = [
    Endpoint(
        "POST",
        "/session/2fa",
        second_step,
        Doc(
            "Second step of a login with 2FA on: the pending token and a code or recovery code",
            body=SECOND_STEP,
            answers={200: SESSION, **errors(400, 401, 403, 415, 503)},
        ),
        tag="session",
        public=True,
        asynchronous=True,
    ),
    Endpoint(
        "GET",
        "/me/2fa",
        status,
        Doc("Whether your two-factor authentication is on", answers={200: STATUS}),
        tag="2fa",
    ),
    Endpoint(
        "POST",
        "/me/2fa",
        enrol,
        Doc(
            "Start TOTP enrolment: a secret, its otpauth:// URI and QR code (session only)",
            answers={200: ENROLMENT},
        ),
        tag="2fa",
    ),
    Endpoint(
        "POST",
        "/me/2fa/confirm",
        confirm,
        Doc(
            "Confirm with a first code: 2FA is on (your other sessions end); ten recovery"
            " codes, shown only this once",
            body=CONFIRM,
            answers={200: RECOVERY_CODES},
        ),
        tag="2fa",
    ),
    Endpoint(
        "POST",
        "/me/2fa/disable",
        disable,
        Doc(
            "Turn 2FA off with a current code or a recovery code (session only)",
            body=DISABLE,
            answers={200: OK},
        ),
        tag="2fa",
    ),
    Endpoint(
        "GET",
        "/me/app-passwords",
        list_app_passwords,
        Doc(
            "Your app passwords: name, scope, created, last used (never the password)",
            answers={200: listing(APP_PASSWORD)},
        ),
        tag="2fa",
    ),
    Endpoint(
        "POST",
        "/me/app-passwords",
        create_app_password,
        Doc(
            "A new app password for one device (imap-smtp for one address, or dav);"
            " shown only this once",
            body=APP_PASSWORD_IN,
            answers={201: NEW_APP_PASSWORD},
        ),
        tag="2fa",
    ),
    Endpoint(
        "DELETE",
        "/me/app-passwords/{app_id}",
        revoke_app_password,
        Doc("Revoke an app password (at once)", answers={200: OK}),
        params=[APP_ID],
        tag="2fa",
    ),
]
