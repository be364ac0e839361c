"""Two-factor login and app passwords against the running server with real clients: the
admin API's 2FA flow over http.client (wrong code, replay, recovery code), imaplib and
smtplib with an app password, the caldav library with a DAV app password once 2FA is on
(and the account password refused there), each realm crossing refused, and fifty IMAP
logins at once mixing app passwords, mailbox passwords and wrong ones."""

from __future__ import annotations

import base64
import concurrent.futures
import imaplib
import json
import smtplib
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import caldav
import pytest
from caldav.lib.error import AuthorizationError

from swissbox.auth import totp
from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

BOB, CAROL, DAN, ERIN = "bob@acme.test", "carol@acme.test", "dan@acme.test", "erin@acme.test"
MAILBOX_PW = {login: login.split("@")[0] + "-mailbox-pw-1" for login in (BOB, CAROL, DAN, ERIN)}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    tmp: Path = tmp_path_factory.mktemp("twofactor")
    limits = {
        "failure_delay_base": 0.01,
        "failure_delay_max": 0.05,
        "max_failures_per_address": 1000,  # the concurrent test's wrong ones come from loopback
    }
    with Stack(tmp, auth=limits) as s:
        s.init()
        s.cli("org", "add", "acme", check=True)
        s.cli("domain", "add", "acme.test", "--org", "acme", check=True)
        s.cli("mail", "enable", "acme.test", check=True)
        for login in MAILBOX_PW:
            s.cli(
                "account", "add", login, "--org", "acme", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n", check=True,
            )  # fmt: skip
            s.cli("mailbox", "add", login, "--password-stdin", stdin=MAILBOX_PW[login] + "\n")
        s.start()
        yield s


def session(stack: Stack, login: str) -> Client:
    client = Client(stack)
    assert client.login(login).status == 200
    return client


def app_password(client: Client, scope: str, address: str | None = None) -> str:
    body = {"name": f"{scope} device", "scope": scope}
    if address is not None:
        body["address"] = address
    answer = client.request("POST", "/me/app-passwords", body)
    assert answer.status == 201, answer
    return str(answer.json["password"])


def imap_ok(stack: Stack, user: str, password: str) -> bool:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    with imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=20) as m:
        try:
            m.login(user, password)
        except imaplib.IMAP4.error:
            return False
        m.logout()
        return True


def imap_plain_ok(stack: Stack, user: str, password: str) -> bool:
    """IMAP AUTHENTICATE PLAIN (the SASL path, beside LOGIN)."""
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    with imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=20) as m:
        try:
            m.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
        except imaplib.IMAP4.error:
            return False
        m.logout()
        return True


def sieve_ok(stack: Stack, user: str, password: str) -> bool:
    """ManageSieve: STARTTLS, then AUTHENTICATE "PLAIN" with an initial response."""
    with socket.create_connection(("127.0.0.1", stack.ports["managesieve"]), timeout=10) as raw:
        reader = raw.makefile("rb")
        until_done(reader)
        raw.sendall(b"STARTTLS\r\n")
        assert until_done(reader).startswith(b"OK")
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        with ctx.wrap_socket(raw, server_hostname=stack.hostname) as tls:
            reader = tls.makefile("rb")
            until_done(reader)
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            tls.sendall(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
            return until_done(reader).startswith(b"OK")


def until_done(reader: Any) -> bytes:
    """Reads ManageSieve lines up to the final OK/NO/BYE; returns that line."""
    while True:
        line = reader.readline()
        if not line or line.startswith((b"OK", b"NO", b"BYE")):
            return bytes(line)


def smtp_ok(stack: Stack, user: str, password: str) -> bool:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=20) as c:
        c.starttls(context=context)
        try:
            c.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


def dav_ok(stack: Stack, user: str, password: str) -> bool:
    url = f"http://localhost:{stack.ports['http']}/.well-known/caldav"
    with caldav.DAVClient(url, username=user, password=password) as client:
        try:
            client.principal().calendars()
        except AuthorizationError:
            return False
        return True


def api_ok(stack: Stack, user: str, password: str) -> bool:
    return Client(stack).login(user, password).status in (200, 202)


def test_each_app_password_opens_its_scope_only(stack: Stack) -> None:
    bob = session(stack, BOB)
    imap = app_password(bob, "imap-smtp", BOB)
    dav = app_password(bob, "dav")
    assert imap_ok(stack, BOB, imap) and smtp_ok(stack, BOB, imap)
    assert imap_plain_ok(stack, BOB, imap) and sieve_ok(stack, BOB, imap)
    assert not sieve_ok(stack, CAROL, imap) and not smtp_ok(stack, CAROL, imap)
    assert imap_ok(stack, BOB, MAILBOX_PW[BOB])  # the mailbox password still works
    assert not imap_ok(stack, CAROL, imap)  # another address
    assert not dav_ok(stack, BOB, imap)  # DAV
    assert not api_ok(stack, BOB, imap)  # the admin API
    assert dav_ok(stack, BOB, dav)
    assert not imap_ok(stack, BOB, dav) and not smtp_ok(stack, BOB, dav)
    assert not sieve_ok(stack, BOB, dav)
    assert not api_ok(stack, BOB, dav)
    listed = {a["scope"]: a for a in bob.request("GET", "/me/app-passwords").json}
    assert listed["imap-smtp"]["address"] == BOB and "last_used" in listed["imap-smtp"]
    assert all("password" not in a for a in listed.values())
    # an address bob neither owns nor uses is refused; carol cannot revoke bob's
    refused = bob.request("POST", "/me/app-passwords", {"name": "x", "scope": "imap-smtp",
                                                         "address": CAROL})  # fmt: skip
    assert refused.status == 403
    carol = session(stack, CAROL)
    path = f"/me/app-passwords/{listed['imap-smtp']['id']}"
    assert carol.request("DELETE", path).status == 404
    assert bob.request("DELETE", path).status == 200
    assert not imap_ok(stack, BOB, imap)


def test_two_factor_login_replay_recovery_and_dav(stack: Stack) -> None:
    dan = session(stack, DAN)
    dav = app_password(dan, "dav")
    assert dav_ok(stack, DAN, PASSWORD)  # before 2FA the account password opens DAV
    token = Client(stack)
    token.cookie, token.csrf = dan.cookie, dan.csrf
    enrolment = dan.request("POST", "/me/2fa")
    assert enrolment.status == 200 and enrolment.json["qr_svg"].lstrip().startswith("<svg")
    assert enrolment.json["otpauth_uri"].startswith("otpauth://totp/swissbox:dan@acme.test?")
    secret, now = enrolment.json["secret"], time.time()
    assert dan.request("POST", "/me/2fa/confirm", {"code": "000000"}).status in (403,)
    confirmed = dan.request("POST", "/me/2fa/confirm", {"code": totp.code_at(secret, now)})
    assert confirmed.status == 200, confirmed
    recovery = confirmed.json["recovery_codes"]
    assert len(recovery) == 10
    assert dan.request("GET", "/me/2fa").json == {
        "enabled": True, "enrolling": False, "recovery_codes_left": 10,
    }  # fmt: skip

    # the password alone gives a pending login: no cookie, no session
    client = Client(stack)
    first = client.request("POST", "/session", {"login": DAN, "password": PASSWORD})
    assert first.status == 202 and "set-cookie" not in first.headers
    pending = first.json["pending"]
    assert (
        client.request("GET", "/me", headers={"Cookie": f"swissbox_session={pending}"}).status
        == 401
    )
    wrong = client.request("POST", "/session/2fa", {"pending": pending, "code": "123456"})
    assert wrong.status == 401
    code = totp.code_at(secret, now + totp.STEP)  # the next step: the confirming one is spent
    good = client.request("POST", "/session/2fa", {"pending": pending, "code": code})
    assert good.status == 200 and "swissbox_session=" in good.headers["set-cookie"]
    again = Client(stack).request("POST", "/session", {"login": DAN, "password": PASSWORD})
    replay = Client(stack).request(
        "POST", "/session/2fa", {"pending": again.json["pending"], "code": code}
    )
    assert replay.status == 401  # the same code twice
    by_recovery = Client(stack).request(
        "POST", "/session/2fa", {"pending": again.json["pending"], "recovery_code": recovery[0]}
    )
    assert by_recovery.status == 200
    third = Client(stack).request("POST", "/session", {"login": DAN, "password": PASSWORD})
    spent = Client(stack).request(
        "POST", "/session/2fa", {"pending": third.json["pending"], "recovery_code": recovery[0]}
    )
    assert spent.status == 401
    ended = Client(stack).request("POST", "/session/2fa", {"pending": pending, "code": code})
    assert ended.status == 401  # a used pending login is gone

    # DAV: only app passwords now
    assert not dav_ok(stack, DAN, PASSWORD)
    assert dav_ok(stack, DAN, dav)

    # off only with a code or a recovery code
    assert dan.request("POST", "/me/2fa/disable", {"code": "000000"}).status == 403
    off = dan.request("POST", "/me/2fa/disable", {"recovery_code": recovery[1]})
    assert off.status == 200
    assert dav_ok(stack, DAN, PASSWORD)
    assert Client(stack).login(DAN).status == 200


def test_fifty_imap_logins_at_once(stack: Stack) -> None:
    carol = session(stack, CAROL)
    app = app_password(carol, "imap-smtp", CAROL)
    cases = [
        (CAROL, app, True),
        (CAROL, MAILBOX_PW[CAROL], True),
        (CAROL, "wrong-password", False),
        (BOB, app, False),  # carol's app password, bob's address
    ] * 13
    cases = cases[:50]
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda c: imap_ok(stack, c[0], c[1]), cases))
    assert results == [expected for _, _, expected in cases]
    assert imap_ok(stack, CAROL, app)  # still served


def test_operator_verbs_show_and_disable_2fa_and_revoke_app_passwords(stack: Stack) -> None:
    bob = session(stack, BOB)
    secret = bob.request("POST", "/me/2fa").json["secret"]
    assert stack.cli("account", "2fa", BOB, "status", check=True).stdout.startswith(
        f"{BOB}: enrolling"
    )
    code = totp.code_at(secret, time.time())
    assert bob.request("POST", "/me/2fa/confirm", {"code": code}).status == 200
    status = json.loads(stack.cli("account", "2fa", BOB, "status", "--json", check=True).stdout)
    assert status == {"login": BOB, "enabled": True, "enrolling": False,
                      "recovery_codes_left": 10}  # fmt: skip
    assert Client(stack).login(BOB).status == 202
    assert "off" in stack.cli("account", "2fa", BOB, "disable", check=True).stdout
    assert Client(stack).login(BOB).status == 200  # a lost phone: the operator's way back

    imap = app_password(bob, "imap-smtp", BOB)
    listed = json.loads(stack.cli("account", "app-passwords", BOB, "--json", check=True).stdout)
    mine = [a for a in listed if a["scope"] == "imap-smtp"]
    assert mine and mine[-1]["address"] == BOB
    assert imap_ok(stack, BOB, imap)
    stack.cli("account", "app-password-revoke", BOB, str(mine[-1]["id"]), check=True)
    assert not imap_ok(stack, BOB, imap)
    missing = stack.cli("account", "app-password-revoke", BOB, "999999")
    assert missing.returncode != 0 and "no app password" in missing.stderr
    assert stack.cli("account", "2fa", "nobody@acme.test", "status").returncode != 0


def test_wrong_codes_lock_the_login_like_wrong_passwords(stack: Stack) -> None:
    erin = session(stack, ERIN)
    secret = erin.request("POST", "/me/2fa").json["secret"]
    now = time.time()
    assert (
        erin.request("POST", "/me/2fa/confirm", {"code": totp.code_at(secret, now)}).status == 200
    )
    pending = Client(stack).request("POST", "/session", {"login": ERIN, "password": PASSWORD})
    token = pending.json["pending"]
    good = totp.code_at(secret, now + totp.STEP)
    wrong = [f"{n:06d}" for n in range(100_000, 100_010) if f"{n:06d}" != good][:5]
    for code in wrong:  # max_failures_per_identifier (5) different wrong codes
        answer = Client(stack).request("POST", "/session/2fa", {"pending": token, "code": code})
        assert answer.status == 401
    locked = Client(stack).request("POST", "/session/2fa", {"pending": token, "code": good})
    assert locked.status == 401  # the right code, but the login is locked out now
