"""The access pages' HTML and helpers (pure): values escaped, every form with its CSRF field,
a label for each field, controls only with the permission; the new-token cookie opens only
for the session it was made for; device settings come from the published records."""

from __future__ import annotations

import re

import pytest

from swissbox.autoconfig.documents import MailServer
from swissbox.directory.mailrecords import MailPorts, mail_records
from swissbox.manager import web_access as w
from swissbox.manager import webflow

NASTY = '<script>alert("x")</script>'
ORG = {"id": 7, "name": "acme", "role": "admin", "permissions": ["org:read", "tokens:read"]}
ADMIN = {**ORG, "permissions": ["org:read", "tokens:read", "tokens:write", "audit:read"]}
TOKENS = [
    {"id": 1, "name": NASTY, "login": "a@acme.test", "permissions": ["org:read"],
     "created": 1, "last_used": None, "revoked": None},
    {"id": 2, "name": "old", "login": "a@acme.test", "permissions": ["org:read"],
     "created": 1, "last_used": 5, "revoked": 9},
]  # fmt: skip


def forms(html: str) -> list[str]:
    return re.findall(r'<form method="post".*?</form>', html, re.S)


def labelled(html: str) -> None:
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), ids
    assert set(ids) <= set(re.findall(r'<label for="([^"]+)"', html))


def test_tokens_page_escapes_and_offers_only_what_the_role_may() -> None:
    html = w.tokens_page("a@acme.test", "tok-1", ADMIN, TOKENS).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert all('name="csrf_token" value="tok-1"' in f for f in forms(html))
    # logout, one revoke (the revoked token has none), the new-token form
    assert len(forms(html)) == 3
    assert 'name="perm-audit:read"' in html and 'name="perm-members:write"' not in html
    labelled(html)
    reader = w.tokens_page("a@acme.test", "t", ORG, TOKENS).decode()
    assert "Make token" not in reader and "Revoke" not in reader


def test_the_new_token_is_shown_escaped() -> None:
    new = {"id": 3, "name": NASTY, "token": "sbx_<b>"}
    html = w.tokens_page("a@acme.test", "t", ADMIN, TOKENS, new=new).decode()
    assert 'id="api-token">sbx_&lt;b&gt;<' in html and "shown only this once" in html


def test_audit_page_links_older_entries_only_when_there_are_more() -> None:
    entries = [
        {"id": 9, "time": 0, "actor": NASTY, "via": "session", "action": "x", "detail": {"k": 1}}
    ]
    html = w.audit_page("a", "t", ADMIN, entries, more=True).decode()
    assert "&lt;script&gt;" in html and "before=9" in html and "k=1" in html
    assert "Older entries" not in w.audit_page("a", "t", ADMIN, entries, more=False).decode()


def test_sessions_page_ends_others_not_this_browser() -> None:
    sessions = [
        {"id": "aa", "created": 1, "last_seen": 2, "expires": 3, "current": True},
        {"id": "bb", "created": 1, "last_seen": 2, "expires": 3, "current": False},
    ]
    html = w.sessions_page("a", "t", sessions[::-1]).decode()
    assert "/manager/me/sessions/bb/end" in html and "/manager/me/sessions/aa/end" not in html
    assert html.index("Session 1 (this browser)") < html.index("End session 2")
    assert "End all other sessions" in html
    alone = w.sessions_page("a", "t", sessions[:1]).decode()
    assert "End all other sessions" not in alone


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
        ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
         "Chrome on Android"),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0",
         "Edge on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1",
         "Safari on iPhone"),
        ("curl/8.5.0", "curl"),
        ("", "unknown browser"),
    ],
)  # fmt: skip
def test_sessions_page_names_each_browser_and_address(agent: str, shown: str) -> None:
    session = {"id": "aa", "created": 1, "last_seen": 2, "expires": 3, "current": True}
    html = w.sessions_page("a", "t", [{**session, "agent": agent, "client": "192.0.2.7"}])
    assert f"{shown}</span>, 192.0.2.7" in html.decode()


def test_the_new_secret_cookie_opens_for_its_session_and_kind_only() -> None:
    shown = {"id": 4, "name": "ci", "token": "sbx_secret"}
    cookie = w.secret_cookie(b"session-a", "token", shown, secure=True)
    assert b"HttpOnly" in cookie and b"SameSite=Strict" in cookie and b"Secure" in cookie
    assert b"Path=/manager" in cookie and b"Max-Age=120" in cookie
    value = cookie.split(b";", 1)[0].split(b"=", 1)[1]
    assert w.read_secret(b"session-a", value, "token") == shown
    assert w.read_secret(b"session-a", value, "tsig") is None  # not for another page
    assert w.read_secret(b"session-b", value, "token") is None
    assert w.read_secret(None, value, "token") is None
    data, _, sig = value.partition(b".")
    assert w.read_secret(b"session-a", data[:-2] + b"AA." + sig, "token") is None
    assert w.read_secret(b"session-a", b"garbage", "token") is None
    # the flash cookie is signed with the same session, for another purpose: it opens neither way
    flash = webflow.flash_cookie(b"session-a", '{"kind": "token"}', True) or b""
    assert w.read_secret(b"session-a", flash.split(b";", 1)[0].split(b"=", 1)[1], "token") is None
    assert webflow.read_flash(b"session-a", value) == ""


def test_tsig_page_shows_a_new_secret_escaped_and_controls_with_the_permission() -> None:
    writer = {**ORG, "permissions": ["domains:read", "domains:write"]}
    keys = [{"name": NASTY, "zone": "acme.test", "algorithm": "hmac-sha256", "names": None}]
    new = {"name": "k.", "algorithm": "hmac-sha256", "secret": "c2VjcmV0<"}
    html = w.tsig_page("a", "tok", writer, keys, ["acme.test"], new=new).decode()
    assert "&lt;script&gt;" in html and 'id="tsig-secret">c2VjcmV0&lt;<' in html
    assert "nsupdate -y hmac-sha256:k.:c2VjcmV0&lt;" in html and "any name" in html
    assert all('name="csrf_token" value="tok"' in f for f in forms(html))
    labelled(html)
    reader = w.tsig_page("a", "t", {**ORG, "permissions": ["domains:read"]}, keys, []).decode()
    assert "Make key" not in reader and "Delete" not in reader


def test_device_settings_come_from_the_published_records() -> None:
    ports = MailPorts(submission=10587, submissions=10465, imap=10143, imaps=10993, https=10443)
    server = MailServer("mx.example.test", ports)
    records = mail_records("acme.test", "mx.example.test", ports)
    got = w.device_settings("a@acme.test", server, records)
    assert got["host"] == "mx.example.test" and got["imaps"] == 10993
    assert got["dav"] == "https://mx.example.test:10443/dav/"
    html = w.devices_page("a", "t", [{"address": "a@acme.test"}], [got]).decode()
    assert "port 10993 (TLS) or 10143 (STARTTLS)" in html
    assert "/mail/config-v1.1.xml?emailaddress=a%40acme.test" in html
