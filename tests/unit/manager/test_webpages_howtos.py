"""The HTML of the Email Service, DDNS and teams pages (pure): names from the directory are
escaped, every form carries the CSRF field, each field has its label and ids are unique,
changes are offered only with the permission; and the flash notice a change leaves for the
next page opens only for the session it was made for."""

from __future__ import annotations

import re

import pytest

from swissbox.auth.policy import check_ddns_password, rule
from swissbox.manager import web_ddns, web_mail, web_teams, webflow
from swissbox.manager.endpoint import ApiError

NASTY = '<script>alert("x")</script>'
ADMIN = {"id": 7, "name": "acme", "role": "admin"}
ADMIN["permissions"] = ["members:read", "members:write", "mail:read", "mail:write", "ddns:read"]
ADMIN["permissions"] += ["ddns:write"]
READER = {"id": 7, "name": "acme", "role": "collaborator", "permissions": ["members:read"]}
MEMBERS = [
    {"login": "ada@acme.test", "name": NASTY, "role": "admin", "private": False},
    {"login": "bo&b@acme.test", "name": "Bob", "role": "collaborator", "private": True},
]
BOX = {
    "address": "info@acme.test",
    "quota_bytes": 50 * 1024 * 1024,
    "users": [{"login": "bo&b@acme.test", "access": "full"}],
}
ALIASES = [{"address": "sales@acme.test", "targets": [NASTY], "send_as": True}]
HOSTS = [{"hostname": "nas.acme.test", "zone": "acme.test", "user": NASTY, "offline": False}]
TEAMS = [{"name": NASTY, "members": ["ada@acme.test"]}]
KEPT = [{"id": 1, "folder": "INBOX", "expunged": 1700000000, "subject": NASTY, "from": "a@b"}]


def pages(org: dict[str, object]) -> list[str]:
    args = ("ada@acme.test", "tok-123", org)
    return [
        web_mail.mail_page(*args, ["acme.test"], [BOX], ALIASES, {"acme.test": NASTY}, {}).decode(),
        web_mail.mailbox_page(*args, BOX, MEMBERS, {"target": NASTY, "keep": True}).decode(),
        web_mail.delete_page(*args, "info@acme.test").decode(),
        web_mail.restore_page(*args, "info@acme.test", KEPT, 30).decode(),
        web_ddns.ddns_page(*args, HOSTS, MEMBERS, "https://mx/nic/update").decode(),
        web_teams.teams_page(*args, TEAMS, MEMBERS).decode(),
        web_teams.team_delete_page(*args, NASTY).decode(),
        web_ddns.remove_page(*args, HOSTS[0], True).decode(),
    ]


def forms(html: str) -> list[str]:
    return re.findall(r'<form method="post".*?</form>', html, re.S)


def test_directory_values_are_escaped() -> None:
    for html in pages(ADMIN):
        assert "<script>" not in html
    assert "bo&amp;b@acme.test" in pages(ADMIN)[1]


def test_every_post_form_carries_the_csrf_field() -> None:
    for html in pages(ADMIN):
        found = forms(html)
        assert found and all('name="csrf_token" value="tok-123"' in f for f in found)


def test_each_field_has_a_label_and_ids_are_unique() -> None:
    for html in pages(ADMIN):
        ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
        assert len(ids) == len(set(ids)), ids
        assert set(ids) <= set(re.findall(r'<label for="([^"]+)"', html))
        described = re.findall(r'aria-describedby="([^"]+)"', html)
        assert all(f'id="{d}"' in html for d in described)


def test_the_password_rules_are_shown_from_the_policy() -> None:
    mail, box, *_ = pages(ADMIN)
    ddns = pages(ADMIN)[4]
    assert rule("mailbox") in mail and rule("mailbox") in box
    assert rule("ddns") in ddns
    check_ddns_password("NasPass123")  # the rule's words and its check agree on an example


def test_no_changes_offered_without_the_permission() -> None:
    reader = {**READER, "permissions": ["members:read", "mail:read", "ddns:read"]}
    for html in pages(reader)[:2] + [pages(reader)[4], pages(reader)[5]]:
        assert forms(html) == forms(html)[:1]  # the logout form only
        assert "Delete" not in html and "Mark private" not in html


def test_a_team_name_stays_one_path_segment() -> None:
    html = web_teams.teams_page("a@x", "t", ADMIN, [{"name": "a/b #1", "members": []}], []).decode()
    assert "/manager/orgs/7/teams/a%2Fb%20%231/delete" in html
    assert webflow.segment("a/b #1") == "a%2Fb%20%231"


def test_a_flash_notice_opens_only_for_its_session() -> None:
    cookie = webflow.flash_cookie(b"session-one", "info@acme.test was created.", True)
    assert cookie is not None and b"HttpOnly" in cookie and b"Secure" in cookie
    value = cookie.split(b";")[0].split(b"=", 1)[1]
    assert webflow.read_flash(b"session-one", value) == "info@acme.test was created."
    assert webflow.read_flash(b"session-two", value) == ""
    data, _, signature = value.partition(b".")
    forged = b"U29tZXRoaW5nIGVsc2U." + signature  # another text under the same signature
    assert webflow.read_flash(b"session-one", forged) == ""
    assert webflow.read_flash(b"session-one", b"not base64 !!!.x") == ""
    assert webflow.read_flash(None, value) == ""
    assert webflow.flash_cookie(None, "x", True) is None
    assert b"Secure" not in (webflow.flash_cookie(b"s", "x", False) or b"")


def test_the_quota_form_shows_the_quota_and_the_delete_page_says_what_happens_to_mail() -> None:
    args = ("ada@acme.test", "tok-123", ADMIN)
    box = web_mail.mailbox_page(*args, BOX, MEMBERS, None).decode()
    assert 'name="quota_mb" type="number" value="50"' in box
    assert 'action="/manager/orgs/7/mailboxes/info@acme.test/quota"' in box
    gone = web_mail.delete_page(*args, "info@acme.test", days=30).decode()
    assert "erased after 30 days" in gone and "starts empty" in gone
    assert 'name="erase" value="true"' in gone
    last = web_ddns.remove_page(*args, HOSTS[0], True).decode()
    assert "the user and its password go too" in last
    assert "go too" not in web_ddns.remove_page(*args, HOSTS[0], False).decode()


def test_the_quota_typed_in_mb_is_read_in_one_place() -> None:
    assert web_mail.quota_bytes("") is None
    assert web_mail.quota_bytes("500") == 500 * 1024 * 1024
    for typed in ("0", "-1", "1.5", "١٢", "5M", "1" * 13):
        with pytest.raises(ApiError) as refused:
            web_mail.quota_bytes(typed)
        assert refused.value.status == 400 and "Quota in MB" in refused.value.error
