"""Fifty first logins at once over every protocol that checks a password, at the production
Argon2 cost (64 MiB, t=3, p=4), right and wrong secrets mixed: each is answered correctly, the
server stays up, and SIGTERM in the middle of such a burst still stops it within 5 s.

Before the auth pool moved to the Argon2 reference implementation, two of these at once never
returned and every later uncached login in every realm failed.
"""

from __future__ import annotations

import base64
import http.client
import imaplib
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.stack import Stack

MAILBOXES = {f"user{i}@example.test": f"mailbox-pw-{i}" for i in range(3)}
ACCOUNTS = {f"member{i}@example.test": f"account-pw-{i}" for i in range(2)}
DDNS = {f"router{i}": (f"nas{i}.example.test", f"DdnsPass{i}x") for i in range(2)}
BOUND = 90.0  # seconds for the whole burst: 50 Argon2 runs on 2 workers plus failure delays


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    s = Stack(
        tmp_path_factory.mktemp("logins"),
        auth={
            "argon2_memory_kib": 65536,
            "argon2_iterations": 3,
            "argon2_lanes": 4,
            "login_cache_seconds": 0,  # every login is a first login
            "max_failures_per_address": 10000,  # all clients share 127.0.0.1
            "max_failures_per_identifier": 1000,
            "lockout_distributed_addresses": 10000,
            "failure_delay_base": 0.05,
            "failure_delay_max": 0.2,
        },
    )
    s.provision(mailboxes=MAILBOXES, accounts=ACCOUNTS)
    for user, (host, password) in DDNS.items():
        s.cli(
            "ddns",
            "add",
            host,
            "--user",
            user,
            "--password-stdin",
            stdin=password + "\n",
            check=True,
        )
    return s


def tls_context(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def imap_login(stack: Stack, user: str, password: str) -> bool:
    with imaplib.IMAP4_SSL(
        "127.0.0.1", stack.ports["imaps"], ssl_context=tls_context(stack), timeout=BOUND
    ) as c:
        try:
            c.login(user, password)
        except imaplib.IMAP4.error as exc:
            assert b"AUTHENTICATIONFAILED" in str(exc).encode(), exc
            return False
        return True


def imap_authenticate(stack: Stack, user: str, password: str) -> bool:
    with imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=BOUND) as c:
        c.starttls(tls_context(stack))
        try:
            c.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
        except imaplib.IMAP4.error as exc:
            assert "AUTHENTICATIONFAILED" in str(exc), exc
            return False
        return True


def smtp_auth(stack: Stack, user: str, password: str) -> bool:
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=BOUND) as c:
        c.starttls(context=tls_context(stack))
        try:
            c.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            assert exc.smtp_code == 535, exc
            return False
        return True


def dav_basic(stack: Stack, user: str, password: str) -> bool:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", stack.ports["https"], context=tls_context(stack), timeout=BOUND
    )
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    body = b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>'
    conn.request("PROPFIND", "/dav/", body, {"Authorization": f"Basic {token}", "Depth": "0"})
    status = conn.getresponse().status
    conn.close()
    assert status in (207, 401), status
    return status == 207


def nic_update(stack: Stack, user: str, password: str, host: str) -> bool:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", stack.ports["https"], context=tls_context(stack), timeout=BOUND
    )
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request(
        "GET",
        f"/nic/update?hostname={host}&myip=192.0.2.{len(password)}",
        headers={"Authorization": f"Basic {token}", "User-Agent": "swissbox-test/1.0"},
    )
    answer = conn.getresponse().read().decode().strip()
    conn.close()
    assert answer.split()[0] in ("good", "nochg", "badauth"), answer
    return answer.split()[0] != "badauth"


def attempts(stack: Stack) -> list[tuple[str, Callable[[], bool], bool]]:
    """50 logins: each protocol, each identity, right and wrong secrets (about one in three)."""
    out: list[tuple[str, Callable[[], bool], bool]] = []
    for i in range(50):
        right = i % 3 != 0
        kind = i % 5
        if kind in (0, 1, 2):
            user, password = list(MAILBOXES.items())[i % len(MAILBOXES)]
            secret = password if right else password + "-wrong"
            check = (imap_login, imap_authenticate, smtp_auth)[kind]
            out.append(
                (
                    f"{check.__name__} {user}",
                    lambda c=check, u=user, s=secret: c(stack, u, s),
                    right,
                )
            )
        elif kind == 3:
            user, password = list(ACCOUNTS.items())[i % len(ACCOUNTS)]
            secret = password if right else password + "-wrong"
            out.append((f"dav {user}", lambda u=user, s=secret: dav_basic(stack, u, s), right))
        else:
            user, (host, password) = list(DDNS.items())[i % len(DDNS)]
            secret = password if right else password + "X"
            out.append(
                (f"ddns {user}", lambda u=user, s=secret, h=host: nic_update(stack, u, s, h), right)
            )
    return out


def run_all(jobs: list[tuple[str, Callable[[], bool], bool]]) -> list[object]:
    start = threading.Barrier(len(jobs))

    def one(job: tuple[str, Callable[[], bool], bool]) -> object:
        start.wait()
        try:
            return job[1]()
        except Exception as exc:  # reported per client below
            return exc

    with ThreadPoolExecutor(len(jobs)) as clients:
        return list(clients.map(one, jobs))


def test_fifty_first_logins_at_once_over_every_protocol(stack: Stack) -> None:
    stack.start()
    try:
        jobs = attempts(stack)
        t0 = time.monotonic()
        results = run_all(jobs)
        elapsed = time.monotonic() - t0
        wrong = [
            (name, want, got)
            for (name, _, want), got in zip(jobs, results, strict=True)
            if got is not want
        ]
        assert not wrong, f"{len(wrong)} of 50 answered wrongly: {wrong[:5]}"
        assert elapsed < BOUND
        # the server still logs people in afterwards, in every realm
        user, password = next(iter(MAILBOXES.items()))
        assert imap_login(stack, user, password)
        login, account_pw = next(iter(ACCOUNTS.items()))
        assert dav_basic(stack, login, account_pw)
        log = stack.log()
        assert "MemoryError" not in log and "Traceback" not in log
    finally:
        assert stack.stop() == 0


def test_sigterm_during_a_login_burst_stops_within_5_s(stack: Stack) -> None:
    stack.start()
    jobs = attempts(stack)
    burst = threading.Thread(target=run_all, args=(jobs,), daemon=True)
    burst.start()
    time.sleep(1.0)  # the burst is queued on the verification pool
    assert stack.proc is not None
    t0 = time.monotonic()
    status = stack.stop(timeout=10)
    assert time.monotonic() - t0 < 5
    assert status == 0
    burst.join(BOUND)
