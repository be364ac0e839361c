"""WSGI middleware: directory address books announce themselves as read-only.

Radicale derives `current-user-privilege-set` from the rights letters, and the directory needs
"w" (its colour may be changed with PROPPATCH), so it would claim `write-content`. Clients
such as DAVx5 and Thunderbird read that privilege set to decide whether a book is editable:
for directory collections this middleware removes `all`, `write` and `write-content` from
PROPFIND answers on a home (Depth 0/1) or on the directory itself at Depth 0, leaving `read`
and `write-properties`. Other requests pass through untouched.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from radicale import pathutils

from swissbox.dav.collection import parse_directory_name

DAV = "{DAV:}"
DROPPED = {f"{DAV}all", f"{DAV}write", f"{DAV}write-content"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _is_directory_href(href: str) -> bool:
    parts = [p for p in unquote(href).split("/") if p]
    return len(parts) >= 2 and parse_directory_name(parts[-1]) is not None


def read_only_privileges(body: bytes) -> bytes:
    """The multistatus `body` with write privileges dropped from directory collections."""
    root = ET.fromstring(body)
    changed = False
    for response in root.iter(f"{DAV}response"):
        href = response.findtext(f"{DAV}href") or ""
        if not _is_directory_href(href):
            continue
        for privset in response.iter(f"{DAV}current-user-privilege-set"):
            for privilege in list(privset):
                if len(privilege) and privilege[0].tag in DROPPED:
                    privset.remove(privilege)
                    changed = True
    if not changed:
        return body
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class ReadOnlyPrivileges:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    @staticmethod
    def _relevant(environ: dict[str, Any]) -> bool:
        if environ.get("REQUEST_METHOD") != "PROPFIND":
            return False
        parts = [
            p for p in pathutils.sanitize_path(environ.get("PATH_INFO") or "/").split("/") if p
        ]
        if len(parts) == 1:
            return True
        return (
            len(parts) == 2
            and parse_directory_name(parts[1]) is not None
            and environ.get("HTTP_DEPTH", "0") == "0"
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self._relevant(environ):
            return self.app(environ, start_response)
        environ = dict(environ)
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # an uncompressed answer to edit
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        body = b"".join(chunks)
        status: str = captured["status"]
        if status.startswith("207"):
            with contextlib.suppress(ET.ParseError):
                body = read_only_privileges(body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]
