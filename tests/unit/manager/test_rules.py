"""Pure rules of the Manager: permissions by role and token, CSRF, audit cleaning, secrets,
the declarative schemas and the OpenAPI document made from them."""

from __future__ import annotations

import ipaddress

import pytest

from swissbox.manager import audit, csrf, tokens
from swissbox.manager.auth import is_https
from swissbox.manager.permissions import (
    PERMISSIONS,
    decide,
    effective,
    grantable,
    may_assign_role,
    role_permissions,
)
from swissbox.manager.schema import Arr, Int, Invalid, Obj, Str
from swissbox.manager.service import endpoints


@pytest.mark.parametrize("role", ["legal", "admin"])
def test_legal_and_admin_manage_everything(role: str) -> None:
    assert role_permissions(role) == frozenset(PERMISSIONS)


def test_collaborator_reads_the_directory_and_nothing_else() -> None:
    assert role_permissions("collaborator") == {"org:read", "members:read"}
    refused = decide("collaborator", None, "members:write")
    assert not refused.allowed and "collaborator" in refused.reason


def test_external_reads_only_the_organization() -> None:
    assert role_permissions("external") == {"org:read"}
    assert not decide("external", None, "members:read").allowed


def test_non_member_is_refused_with_a_reason() -> None:
    decision = decide(None, None, "org:read")
    assert not decision.allowed and "not a member" in decision.reason


def test_token_acts_with_what_both_token_and_role_allow() -> None:
    assert effective("admin", ["mail:read", "dns:nothing"]) == {"mail:read"}
    # a maker demoted to collaborator: the token keeps only what the role still has
    assert effective("collaborator", ["mail:read", "members:read"]) == {"members:read"}
    refused = decide("admin", ["mail:read"], "mail:write")
    assert not refused.allowed and "token" in refused.reason


def test_a_token_grants_no_more_than_its_makers_role() -> None:
    assert grantable("admin", ["audit:read"]).allowed
    assert not grantable("collaborator", ["members:write"]).allowed


def test_only_a_legal_representative_touches_another_legal_representative() -> None:
    assert may_assign_role("admin", "collaborator", "admin").allowed
    assert not may_assign_role("admin", "collaborator", "legal").allowed
    assert not may_assign_role("admin", "legal", None).allowed
    assert may_assign_role("legal", "legal", "admin").allowed
    assert not may_assign_role("collaborator", None, "external").allowed


def test_csrf_needed_on_state_changes_only() -> None:
    assert csrf.check(b"GET", "t0ken", None) is None
    assert csrf.check(b"POST", "t0ken", None) == csrf.MISSING
    assert csrf.check(b"DELETE", "t0ken", b"other") == csrf.WRONG
    assert csrf.check(b"PATCH", "t0ken", b"\xff") == csrf.WRONG
    assert csrf.check(b"PUT", "t0ken", b"t0ken") is None


def test_cross_site_origin_is_refused_on_state_changes() -> None:
    host = b"mail.example.test:10443"
    assert csrf.cross_site(b"POST", b"https://mail.example.test:10443", host) is None
    assert csrf.cross_site(b"POST", None, host) is None  # scripts send none
    assert csrf.cross_site(b"GET", b"https://evil.test", host) is None
    for origin in (b"https://evil.test", b"null", b"https://mail.example.test", b"\xff"):
        assert csrf.cross_site(b"DELETE", origin, host) == csrf.CROSS_SITE, origin


class _Request:
    def __init__(self, secure: bool, peer: str, proto: bytes | None) -> None:
        self.secure, self.peer, self.proto = secure, peer, proto

    def isSecure(self) -> bool:  # noqa: N802 (Twisted API)
        return self.secure

    def getClientAddress(self) -> object:  # noqa: N802
        return type("Address", (), {"host": self.peer})()

    def getHeader(self, name: bytes) -> bytes | None:  # noqa: N802
        return self.proto if name == b"x-forwarded-proto" else None


def test_cookie_is_secure_on_https_or_behind_a_trusted_tls_proxy() -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    assert is_https(_Request(True, "192.0.2.1", None), trusted)
    assert is_https(_Request(False, "10.1.2.3", b"https"), trusted)
    assert not is_https(_Request(False, "192.0.2.1", b"https"), trusted)  # not our proxy
    assert not is_https(_Request(False, "10.1.2.3", None), trusted)


def test_audit_details_never_keep_a_secret() -> None:
    detail = {"login": "a@b.c", "password": "x", "new": {"secret": "y", "role": "admin"}}
    assert audit.clean(detail) == {"login": "a@b.c", "new": {"role": "admin"}}


def test_secrets_are_random_and_stored_as_sha256() -> None:
    first, second = tokens.new_api_token(), tokens.new_api_token()
    assert first != second and tokens.looks_like_api_token(first)
    assert len(tokens.digest(first)) == 64 and tokens.digest(first) != first
    assert not tokens.looks_like_api_token("sbx_short")


def test_schema_validates_and_renders() -> None:
    body = Obj({"name": Str(min_length=1, max_length=5), "n": Int(minimum=1)}, required=("name",))
    assert body.validate({"name": "ab", "n": 2}) == {"name": "ab", "n": 2}
    for bad, says in (
        ({}, "required"),
        ({"name": ""}, "1-5"),
        ({"name": "a", "n": 0}, "at least 1"),
        ({"name": "a", "n": True}, "integer"),
        ({"name": "a", "x": 1}, "unknown field"),
        ([], "object"),
    ):
        with pytest.raises(Invalid, match=says):
            body.validate(bad)
    assert body.json()["additionalProperties"] is False
    with pytest.raises(Invalid, match="differ"):
        Arr(Str(), unique=True).validate(["a", "a"])


def test_openapi_document_lists_every_endpoint_with_its_request_schema() -> None:
    found = endpoints()
    spec_endpoint = next(e for e in found if e.path == "/openapi.json")
    _, spec = spec_endpoint.handler(None)
    assert spec["openapi"] == "3.1.0"
    for e in found:
        operation = spec["paths"][e.path][e.method.lower()]
        if e.doc.body is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == e.doc.body.json()
        assert "403" in operation["responses"] and "401" in operation["responses"]
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(found)
