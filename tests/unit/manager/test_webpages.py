"""The Manager's HTML (pure): names from the directory are escaped, every form of a session
carries its CSRF field, admin controls only with the permission, labels name each field."""

from __future__ import annotations

import re

from swissbox.manager import webpages as pages

ORG = {"id": 7, "name": "acme", "role": "admin", "permissions": ["members:write", "domains:read"]}
NASTY = '<script>alert("x")</script>'
MEMBERS = [
    {"login": "ada@acme.test", "name": NASTY, "role": "admin"},
    {"login": "bo&b@acme.test", "name": "Bob", "role": "collaborator"},
]


def forms(html: str) -> list[str]:
    return re.findall(r'<form method="post".*?</form>', html, re.S)


def test_directory_values_are_escaped() -> None:
    html = pages.org_page("ada@acme.test", "tok", ORG, MEMBERS, []).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "bo&amp;b@acme.test" in html


def test_every_post_form_of_a_session_carries_the_csrf_field() -> None:
    html = pages.org_page("ada@acme.test", "tok-123", ORG, MEMBERS, []).decode()
    found = forms(html)
    assert len(found) == 4  # logout, two role changes, add member
    assert all('name="csrf_token" value="tok-123"' in f for f in found)


def test_admin_controls_only_with_the_permission() -> None:
    collaborator = {**ORG, "role": "collaborator", "permissions": ["members:read"]}
    html = pages.org_page("bo&b@acme.test", "tok", collaborator, MEMBERS, None).decode()
    assert "Add member" not in html and "Change role" not in html and "Remove" not in html
    assert forms(html) == [forms(html)[0]]  # only logout


def test_each_input_has_a_label_and_ids_are_unique() -> None:
    me = {"login": "ada@acme.test", "orgs": [], "addresses": [{"address": "ada@acme.test"}]}
    devices = {"host": "mx", "imap": 143, "imaps": 993, "submission": 587, "submissions": 465}
    devices["dav"] = "https://mx/dav/"
    for html in (
        pages.org_page("ada@acme.test", "t", ORG, MEMBERS, []).decode(),
        pages.me_page(me, "t", [], devices, two_factor={"enabled": True}).decode(),
        pages.domain_page("ada@acme.test", "t", ORG, "acme.test", [], True).decode(),
        pages.login_page().decode(),
    ):
        ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
        assert len(ids) == len(set(ids)), ids
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        assert set(ids) <= labelled


def test_urls_quote_path_parts() -> None:
    assert (
        pages.url("orgs", 7, "members", "a b/c@x.test")
        == "/manager/orgs/7/members/a%20b%2Fc@x.test"
    )
