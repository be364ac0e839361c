"""The OpenAPI 3.1 document of `/api/v1`, generated from the endpoints' own schema objects
(the ones requests are validated with), served at `/api/v1/openapi.json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swissbox import __version__
from swissbox.manager.endpoint import Endpoint
from swissbox.manager.schema import ERROR
from swissbox.manager.views import STANDARD_ERRORS

REASONS = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Invalid request (the message names the field)",
    401: "Not authenticated",
    403: "Refused (CSRF, permission, plain HTTP); `reason` says why",
    404: "No such thing in this organization (also: another organization's ids)",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "The body must be application/json",
    503: "Too many logins at once: try again",
}


def document(endpoints: Sequence[Endpoint], server_url: str = "/api/v1") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        operation: dict[str, Any] = {
            "operationId": e.operation_id,
            "summary": e.doc.summary,
            "tags": [e.tag] if e.tag else [],
            "responses": {},
        }
        params = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "schema": p.schema.json(),
                **({"description": p.description} if p.description else {}),
            }
            for p in [*e.params, *e.doc.query]
        ]
        if params:
            operation["parameters"] = params
        if e.doc.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": e.doc.body.json()}},
            }
        if e.public:
            operation["security"] = []
        if e.permission:
            operation["description"] = f"Needs the permission `{e.permission}`."
        answers = {**{s: ERROR for s in STANDARD_ERRORS}, **e.doc.answers}
        for status, schema in sorted(answers.items()):
            entry: dict[str, Any] = {"description": REASONS.get(status, "")}
            if status != 204:
                entry["content"] = {"application/json": {"schema": schema.json()}}
            operation["responses"][str(status)] = entry
        paths.setdefault(e.path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "swissbox admin API",
            "version": __version__,
            "description": "Organizations, members, domains, DNS, mail, DDNS, TSIG keys, API"
            " tokens and the audit log. Cookie sessions send the CSRF token in X-CSRF-Token on"
            " every state-changing request; scripts use Bearer API tokens.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "swissbox_session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
