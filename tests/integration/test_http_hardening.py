"""The shared HTTP site under abuse, on the running stack: credentials over plain HTTP are
refused before any password check (DAV 403, DDNS `badagent`) unless the peer is in
`[http] plain_auth_networks` (loopback by default) or, for DDNS only, `[ddns]
allow_plain_http` is set; deeply nested XML is refused before Radicale parses it; clients that
hang up before their answer leave no traceback and the server keeps serving."""

from __future__ import annotations

import base64
import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from swissbox.tls import client_context
from tests.support.stack import Stack

LOGIN, PASSWORD = "alice@example.test", "alice-account-pw-1"
DDNS_USER, DDNS_PW = "router1", "Router1Pass"
HOST = "home.example.test"
PROPFIND = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>'


def provisioned(tmp: Path, **overrides: Any) -> Stack:
    """A stack with one account (DAV) and one DDNS user owning HOST, written in-process."""
    stack = Stack(tmp, **overrides)
    stack.init()
    cheap = HashParams(8, 1, 1)
    with Directory(load(data=str(stack.data)).db_path) as d:
        d.add_org("acme")
        d.add_account(LOGIN, hash_secret(PASSWORD, cheap), "acme", "admin", "Alice", "")
        d.add_domain("example.test", "acme", stack.hostname)
        d.add_ddns_user(DDNS_USER, hash_secret(DDNS_PW, cheap))
        d.add_ddns_host(HOST, DDNS_USER)
    return stack


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """No network may send credentials over plain HTTP (so loopback looks like the Internet)."""
    stack = provisioned(
        tmp_path_factory.mktemp("refusing"),
        http={"plain_auth_networks": []},
        auth={
            "failure_delay_base": 0.2,
            "failure_delay_max": 0.4,
            "max_failures_per_identifier": 1000,
            "max_failures_per_address": 1000,
        },
    )
    with stack:
        stack.start()
        yield stack
        stack.stop()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(
    stack: Stack,
    method: str,
    path: str,
    *,
    tls: bool = False,
    auth: tuple[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, str], str]:
    conn: http.client.HTTPConnection
    if tls:
        conn = http.client.HTTPSConnection(
            "localhost", stack.ports["https"], context=client_context(stack.ca_file), timeout=30
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=30)
    headers = {"User-Agent": "swissbox-test/1.0", "Depth": "0"}
    if auth:
        headers["Authorization"] = basic(*auth)
    if body is not None:
        headers["Content-Type"] = "application/xml; charset=utf-8"
    try:
        conn.request(method, path, body=body.encode() if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def dav_home() -> str:
    return f"/dav/{LOGIN}/"


def update(stack: Stack, ip: str, *, tls: bool = False, password: str = DDNS_PW) -> str:
    path = f"/nic/update?hostname={HOST}&myip={ip}"
    return call(stack, "GET", path, tls=tls, auth=(DDNS_USER, password))[2]


# -- credentials over plain HTTP ----------------------------------------------------------------


def test_dav_refuses_plain_http_before_any_password_check(refusing: Stack) -> None:
    for auth in [(LOGIN, PASSWORD), *[(LOGIN, f"wrong-{i}") for i in range(8)], None]:
        status, headers, text = call(refusing, "PROPFIND", dav_home(), auth=auth, body=PROPFIND)
        assert status == 403, (auth, status, text)
        assert "HTTPS" in text and "www-authenticate" not in headers
    # the wrong passwords above were never checked: nothing is locked or delayed
    status, _, text = call(
        refusing, "PROPFIND", dav_home(), tls=True, auth=(LOGIN, PASSWORD), body=PROPFIND
    )
    assert status == 207, text
    assert "DAV auth" not in refusing.log()


def test_ddns_refuses_plain_http_unless_allowed(refusing: Stack) -> None:
    for i in range(8):
        assert update(refusing, "192.0.2.50", password=f"Wrong{i}Pass") == "badagent\n"
    assert update(refusing, "192.0.2.50") == "badagent\n"
    status, headers, text = call(refusing, "GET", f"/nic/update?hostname={HOST}")
    assert (status, text) == (200, "badagent\n") and "www-authenticate" not in headers
    assert update(refusing, "192.0.2.51", tls=True) == "good 192.0.2.51\n"
    # what needs no credentials is still served over plain HTTP
    assert call(refusing, "GET", "/checkip")[0] == 200


def test_ddns_plain_http_when_allowed_dav_still_refused(tmp_path: Path) -> None:
    with provisioned(
        tmp_path, http={"plain_auth_networks": []}, ddns={"allow_plain_http": True}
    ) as stack:
        stack.start()
        assert update(stack, "192.0.2.60") == "good 192.0.2.60\n"
        assert call(stack, "PROPFIND", dav_home(), auth=(LOGIN, PASSWORD), body=PROPFIND)[0] == 403
        stack.stop()


def test_loopback_may_use_plain_http_by_default(tmp_path: Path) -> None:
    with provisioned(tmp_path) as stack:
        stack.start()
        assert update(stack, "192.0.2.70") == "good 192.0.2.70\n"
        status, _, text = call(stack, "PROPFIND", dav_home(), auth=(LOGIN, PASSWORD), body=PROPFIND)
        assert status == 207, text
        stack.stop()


# -- bodies and clients that misbehave ----------------------------------------------------------


def test_deeply_nested_xml_is_refused_before_parsing(refusing: Stack) -> None:
    deep = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
        + "<D:x>" * 20000
        + "</D:x>" * 20000
        + "</D:prop></D:propfind>"
    )
    for method in ("PROPFIND", "REPORT", "PROPPATCH"):
        status, _, text = call(
            refusing, method, dav_home(), tls=True, auth=(LOGIN, PASSWORD), body=deep
        )
        assert status == 400 and "nested" in text, (method, status, text[:200])
    status, _, _ = call(
        refusing, "PROPFIND", dav_home(), tls=True, auth=(LOGIN, PASSWORD), body=PROPFIND
    )
    assert status == 207
    assert "RecursionError" not in refusing.log()


def hang_up_after(stack: Stack, request: bytes) -> None:
    """Sends one request over TLS and closes the connection without reading the answer."""
    context = client_context(stack.ca_file)
    with (
        socket.create_connection(("127.0.0.1", stack.ports["https"])) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(request)


def test_clients_that_hang_up_leave_no_traceback(refusing: Stack) -> None:
    """Wrong passwords are answered after a delay that grows with each failure: requests whose
    client left are finished (or not) before the last one, which is waited for, is answered."""
    for i in range(6):
        hang_up_after(
            refusing,
            (
                f"GET /nic/update?hostname={HOST}&myip=192.0.2.9 HTTP/1.1\r\nHost: localhost\r\n"
                f"User-Agent: t/1\r\nAuthorization: {basic(DDNS_USER, f'Gone{i}Pass')}\r\n\r\n"
            ).encode(),
        )
        hang_up_after(
            refusing,
            (
                f"PROPFIND {dav_home()} HTTP/1.1\r\nHost: localhost\r\nDepth: 0\r\n"
                f"Authorization: {basic(LOGIN, f'gone-{i}')}\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
        )
    assert update(refusing, "192.0.2.9", tls=True, password="Wrong9Pass") == "badauth\n"
    status, _, _ = call(
        refusing, "PROPFIND", dav_home(), tls=True, auth=(LOGIN, "wrong-last"), body=PROPFIND
    )
    assert status == 401
    log = refusing.log()
    assert "Traceback" not in log and "connection was lost" not in log, log[-3000:]
    assert update(refusing, "192.0.2.10", tls=True) == "good 192.0.2.10\n"
