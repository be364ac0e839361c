"""An endpoint of the API as data: method, path, permission, schemas, handler. The router
dispatches on these and `openapi` documents them, so the document is the code."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from swissbox.manager.schema import Doc, Int, Invalid, Param, Schema, Str


class ApiError(Exception):
    """An answer other than success: status, what went wrong, and (for 403) why."""

    def __init__(self, status: int, error: str, reason: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.reason = status, error, reason

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.reason:
            out["reason"] = self.reason
        return out


def refuse(reason: str) -> ApiError:
    """The 403 of a refused request (the caller is known but may not do this)."""
    return ApiError(403, "forbidden", reason)


ORG_ID = Param("org_id", Int(minimum=1, maximum=2**53), description="organization id")
LOGIN = Param("login", Str(min_length=1, max_length=320), description="account login")
DOMAIN = Param("domain", Str(min_length=1, max_length=253), description="hosted domain")
ADDRESS = Param("address", Str(min_length=3, max_length=320), description="email address")


@dataclass(frozen=True)
class Endpoint:
    """`handler(call)` returns (status, JSON body or None) and runs on a worker thread;
    `permission` is checked in the organization named by `{org_id}` (None with `{org_id}`:
    any member; without it, any authenticated caller). `public` needs no credentials.
    `asynchronous` handlers are coroutines run on the event loop instead."""

    method: str
    path: str
    handler: Callable[..., Any]
    doc: Doc
    permission: str | None = None
    params: Sequence[Param] = ()
    tag: str = ""
    public: bool = False
    asynchronous: bool = False
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        named = {p.name for p in self.params}
        assert named == set(self.pattern.groupindex), self.path

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("/", "_").replace("-", "_")
        return f"{self.method.lower()}_{words or 'root'}"

    def path_values(self, match: re.Match[str]) -> dict[str, Any]:
        """The path parameters, URL-decoded and validated (an Invalid names the bad one)."""
        out: dict[str, Any] = {}
        for param in self.params:
            raw = unquote(match.group(param.name))
            value: Any = raw
            schema: Schema = param.schema
            if isinstance(schema, Int):
                if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
                    raise Invalid(f"{param.name}: an integer is expected")
                value = int(raw)
            out[param.name] = schema.validate(value, param.name)
        return out


class Router:
    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.endpoints = list(endpoints)
        keys = [(e.method, e.path) for e in self.endpoints]
        assert len(keys) == len(set(keys)), "an endpoint is defined twice"

    def match(self, method: str, path: str) -> tuple[Endpoint, re.Match[str]] | None | str:
        """(endpoint, match); "method" when the path exists with other methods; None."""
        other = False
        for endpoint in self.endpoints:
            found = endpoint.pattern.match(path)
            if found is None:
                continue
            if endpoint.method == method or (method == "HEAD" and endpoint.method == "GET"):
                return endpoint, found
            other = True
        return "method" if other else None

    def allowed(self, path: str) -> list[str]:
        return sorted({e.method for e in self.endpoints if e.pattern.match(path)})


def query_values(doc: Doc, args: Mapping[bytes, list[bytes]]) -> dict[str, Any]:
    """The documented query parameters (others are ignored), validated."""
    out: dict[str, Any] = {}
    for param in doc.query:
        values = args.get(param.name.encode())
        if not values:
            if param.required:
                raise Invalid(f"{param.name}: required")
            continue
        raw = values[0].decode("utf-8", "replace")
        value: Any = raw
        if isinstance(param.schema, Int):
            if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
                raise Invalid(f"{param.name}: an integer is expected")
            value = int(raw)
        out[param.name] = param.schema.validate(value, param.name)
    return out
