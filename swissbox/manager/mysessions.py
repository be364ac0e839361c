"""`/me/sessions`: the caller's own browser sessions (when each began, was last used and
ends, and from which address and browser it began), ending one, or every one but this. A
session is named by a public id derived from its directory key, never by the key or the
cookie. Ending needs a session (an API token cannot log its maker out)."""

from __future__ import annotations

import hashlib
from typing import Any

from swissbox.manager.api import Call
from swissbox.manager.auth import SESSION_IDLE
from swissbox.manager.endpoint import ApiError, Endpoint, refuse
from swissbox.manager.schema import Bool, Doc, Int, Obj, Param, Str
from swissbox.manager.views import listing

NEEDS_SESSION = "sessions are ended from a session, not with an API token"
SESSION_ID = Param(
    "session_id", Str(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$"), description="session"
)
SESSION = Obj(
    {
        "id": Str(max_length=64),
        "created": Int(),
        "last_seen": Int(),
        "expires": Int(),
        "current": Bool(description="the session this request came with"),
        "client": Str(max_length=64, description="the address it was started from"),
        "agent": Str(max_length=300, description="the browser's User-Agent then"),
    },
    required=("id", "created", "last_seen", "expires", "current", "client", "agent"),
    open=True,
)
ENDED = Obj({"ended": Int()}, required=("ended",))


def public_id(key: str) -> str:
    """A session's name in URLs and pages: it cannot be turned back into its key."""
    return hashlib.sha256(b"swissbox-session-id:" + key.encode()).hexdigest()[:32]


def _current(call: Call) -> str:
    principal = call.principal
    return principal.session_digest if principal is not None else ""


def list_sessions(call: Call) -> tuple[int, Any]:
    current = _current(call)
    return 200, [
        {
            "id": public_id(key),
            "created": s.created,
            "last_seen": s.last_seen,
            "expires": s.expires,
            "current": key == current,
            "client": s.client,
            "agent": s.agent,
        }
        for key, s in call.directory.account_sessions(call.login, SESSION_IDLE)
    ]


def _session_only(call: Call) -> None:
    if call.principal is None or call.principal.session is None:
        raise refuse(NEEDS_SESSION)


def end_session(call: Call) -> tuple[int, Any]:
    _session_only(call)
    wanted = call.path["session_id"]
    for key, _ in call.directory.account_sessions(call.login, SESSION_IDLE):
        if public_id(key) == wanted:
            call.directory.end_session(key)
            call.audit("session.end", call.login, {"session": wanted})
            return 200, {"ended": 1}
    raise ApiError(404, "no live session of yours with this id")


def end_other_sessions(call: Call) -> tuple[int, Any]:
    _session_only(call)
    ended = call.directory.end_other_sessions(call.login, _current(call))
    call.audit("session.end-others", call.login, {"sessions_ended": ended})
    return 200, {"ended": ended}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/me/sessions",
        list_sessions,
        Doc("Your live sessions, most recently used first", answers={200: listing(SESSION)}),
        tag="session",
    ),
    Endpoint(
        "DELETE",
        "/me/sessions/{session_id}",
        end_session,
        Doc("End one of your sessions (its next request must log in)", answers={200: ENDED}),
        params=[SESSION_ID],
        tag="session",
    ),
    Endpoint(
        "POST",
        "/me/sessions/end-others",
        end_other_sessions,
        Doc("End every session of yours but this one", answers={200: ENDED}),
        tag="session",
    ),
]
