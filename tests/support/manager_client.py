"""An admin API client as scripts and browsers are: http.client with a Bearer token, or one
cookie session with its CSRF token (tests of swissbox.manager)."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

from tests.support.stack import Stack

PASSWORD = "correct-horse-1"


class Answer:
    def __init__(self, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.raw[:300]!r}>"


class Client:
    """One HTTP client: a Bearer token, or a cookie jar of one session with its CSRF token."""

    def __init__(self, stack: Stack, token: str | None = None, https: bool = False) -> None:
        self.stack, self.token, self.https = stack, token, https
        self.cookie: str | None = None
        self.csrf: str | None = None
        self.forwarded_for: str | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        if self.https:
            ctx = ssl.create_default_context(cafile=str(self.stack.ca_file))
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.stack.ports["https"], timeout=30, context=ctx
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.stack.ports["http"], timeout=30)
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        if self.cookie:
            h.setdefault("Cookie", self.cookie)
        if self.csrf and method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        if self.forwarded_for:
            h["X-Forwarded-For"] = self.forwarded_for
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, "/api/v1" + path, data, h)
            r = conn.getresponse()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def login(self, login: str, password: str = PASSWORD) -> Answer:
        answer = self.request("POST", "/session", {"login": login, "password": password})
        if answer.status == 200:
            self.cookie = answer.headers["set-cookie"].split(";", 1)[0]
            self.csrf = answer.json["csrf_token"]
        return answer
