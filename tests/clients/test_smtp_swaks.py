"""swaks (Debian) against swissbox: STARTTLS, AUTH PLAIN/LOGIN, PIPELINING, implicit TLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.unit.smtp.harness import ACCOUNT_PASSWORD, MAILBOX_PASSWORD, TITI, TOTO, Harness, running

pytestmark = pytest.mark.tools


async def swaks(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        require_tool("swaks"),
        "--server",
        "127.0.0.1",
        "--timeout",
        "10",
        "--helo",
        "swaks.test",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode("utf-8", "replace")


def run(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    require_tool("swaks")

    async def main() -> None:
        async with running(tmp_path) as h:
            await body(h)

    asyncio.run(main())


def test_swaks_mx_pipelining_and_starttls(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        code, out = await swaks(
            "--port", str(h.mx), "--from", "a@example.org", "--to", TOTO,
            "--pipeline", "--tls", "--tls-verify", "--tls-ca-path", str(h.ca),
            "--tls-sni", "localhost", "--header", "Subject: swaks mx",
        )  # fmt: skip
        assert code == 0, out
        assert "PIPELINING" in out and "STARTTLS" in out and "TLS started" in out
        [got] = h.inbox(TOTO)
        assert b"Subject: swaks mx" in got and b"with ESMTPS (TLS" in got
        code, out = await swaks(
            "--port", str(h.mx), "--from", "a@example.org", "--to", "x@gmail.com", "--pipeline",
        )  # fmt: skip
        assert code != 0 and "554 5.7.1" in out

    run(tmp_path, body)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_submission_auth(tmp_path: Path, mechanism: str) -> None:
    async def body(h: Harness) -> None:
        common = [
            "--port", str(h.submission), "--from", TOTO, "--to", TITI, "--tls",
            "--auth", mechanism, "--auth-user", TOTO, "--pipeline",
        ]  # fmt: skip
        code, out = await swaks(*common, "--auth-password", MAILBOX_PASSWORD)
        assert code == 0, out
        assert "235 2.7.0" in out
        code, out = await swaks(*common, "--auth-password", ACCOUNT_PASSWORD)
        assert code != 0 and "535 5.7.8" in out
        assert len(h.inbox(TITI)) == 1

    run(tmp_path, body)


def test_swaks_implicit_tls(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        code, out = await swaks(
            "--port", str(h.submissions), "--tlsc", "--from", TOTO, "--to", TITI,
            "--auth", "PLAIN", "--auth-user", TOTO, "--auth-password", MAILBOX_PASSWORD,
        )  # fmt: skip
        assert code == 0, out
        assert len(h.inbox(TITI)) == 1

    run(tmp_path, body)


def test_swaks_submission_refuses_auth_before_tls(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        code, out = await swaks(
            "--port", str(h.submission), "--from", TOTO, "--to", TITI,
            "--auth", "PLAIN", "--auth-user", TOTO, "--auth-password", MAILBOX_PASSWORD,
        )  # fmt: skip
        assert code != 0
        # no "235 Authentication successful" reply (a bare "235" also matched port numbers)
        assert not any(line.lstrip("<~- ").startswith("235") for line in out.splitlines()), out

    run(tmp_path, body)


def test_swaks_send_as_a_granted_address_and_header_from_checked(tmp_path: Path) -> None:
    """Issue 11: after a grant, toto's own login may send as titi@ (envelope and header);
    a header From: the session may not use is refused (550 5.7.1) even with a good envelope."""

    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)
        common = [
            "--port", str(h.submissions), "--tlsc", "--to", TOTO,
            "--auth", "PLAIN", "--auth-user", TOTO, "--auth-password", MAILBOX_PASSWORD,
        ]  # fmt: skip
        code, out = await swaks(*common, "--from", TITI)
        assert code == 0, out
        code, out = await swaks(*common, "--from", TOTO, "--header", "From: Boss <ceo@bank.test>")
        assert code != 0 and "550 5.7.1 Header From: <ceo@bank.test>" in out, out
        assert len(h.inbox(TOTO)) == 1

    run(tmp_path, body)
