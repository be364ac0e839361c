"""schemathesis over the whole OpenAPI document of /api/v1 against the running server, as an
administrator's API token: a fixed small number of generated requests per operation; no
answer is a 5xx and every answer matches the document (status, content type, body schema)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from swissbox.manager.permissions import PERMISSIONS
from tests.support.stack import Stack

# What the document promises about each answer. (Not ignored_auth: it drops one of the two
# alternative security schemes and, finding the other still there, reports an accepted
# request; missing and bad credentials are tested in test_manager_api.py.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = 6  # per operation: the whole run stays within a few tens of seconds
PASSWORD = "correct-horse-1"


def _post(port: int, path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1" + path,
            json.dumps(body),
            {"Content-Type": "application/json", **headers},
        )
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read() or b"null")
    finally:
        conn.close()


@pytest.fixture
def admin(tmp_path: Path):
    with Stack(tmp_path) as s:
        s.provision(org="acme", domain="acme.test", accounts={"alice@acme.test": PASSWORD})
        s.cli("org", "member", "set-role", "alice@acme.test", "legal", check=True)
        s.start()
        port = s.ports["http"]
        status, headers, session = _post(
            port, "/session", {"login": "alice@acme.test", "password": PASSWORD}, {}
        )
        assert status == 200
        cookie = headers["Set-Cookie"].split(";", 1)[0]

        def new_token() -> str:
            status, _, made = _post(
                port, "/orgs/1/tokens", {"name": "schemathesis", "permissions": list(PERMISSIONS)},
                {"Cookie": cookie, "X-CSRF-Token": session["csrf_token"]},
            )  # fmt: skip
            assert status == 201, made
            return str(made["token"])

        yield s, new_token


def test_every_operation_answers_as_documented(admin) -> None:
    stack, new_token = admin
    base = f"http://127.0.0.1:{stack.ports['http']}/api/v1"
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        # a fresh token per operation: a generated DELETE may revoke the one before
        check_operation(operation, base, {"Authorization": f"Bearer {new_token()}"})
    assert "ready" in stack.log() and "Traceback" not in stack.log()


def check_operation(operation: schemathesis.APIOperation, base: str, headers: dict) -> None:
    """EXAMPLES generated requests, each sent with `requests` and checked against the document.
    (Sent by hand: schemathesis's own sender counts pooled connections in a way the
    urllib3-future package installed beside urllib3 here does not support.)"""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = requests.request(**case.as_transport_kwargs(base, headers), timeout=30)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        case.validate_response(response, checks=CHECKS)

    check()
