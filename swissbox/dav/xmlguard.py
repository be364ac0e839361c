"""Refuses XML request bodies nested too deep, before Radicale parses them.

Radicale's parser and its walks over the tree recurse per level: a body nested some thousand
levels deep ends in a RecursionError and a 500. `XmlDepthGuard` wraps the WSGI application and
answers 400 instead; it runs in the DAV worker threads, so its scan (linear in the body, bounded
by `[http] max_body`) never holds the event loop.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

# DAV bodies nest a few levels (a calendar-query filter about 8); Python's recursion limit is 1000.
MAX_XML_DEPTH = 100
XML_TOO_DEEP = "XML nested deeper than {limit} levels is not accepted"
XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR"})

# Tags that do not nest: declarations, comments, CDATA openers and empty-element tags.
_NOT_NESTING = re.compile(rb"<[?!][^>]*>|<[^>]*/>")
_TAG_START = re.compile(rb"<(/?)")
_STEP = {b"": 1, b"/": -1}


def xml_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the elements of `body` nest more than `limit` deep, from its tags alone (no
    parsing). A `>` inside an attribute value or comment can only raise the count."""
    if body.count(b"<") <= limit:
        return False
    tags = _TAG_START.findall(_NOT_NESTING.sub(b"", body))
    return max(accumulate(map(_STEP.__getitem__, tags)), default=0) > limit


StartResponse = Callable[..., Any]


class XmlDepthGuard:
    """WSGI middleware: 400 for an XML method whose body nests deeper than `limit`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int = MAX_XML_DEPTH) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in XML_METHODS:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)  # as Radicale reads it
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            if xml_deeper_than(body, self.limit):
                start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
                return [XML_TOO_DEEP.format(limit=self.limit).encode() + b"\n"]
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)
