"""The MX's check workers (`checkworker.CheckWorkers`, [smtp] inbound_verify_processes): a
worker process answers exactly what the checks on the server's loop answer (pass, fail,
temperror from a DNS server that stays silent), asking a DNS server on loopback itself; a
killed, hung or never-started worker does not stop mail being checked; a worker does not
outlive its server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord

from swissbox.mailauth import checkworker
from swissbox.mailauth import dkim as sbdkim
from swissbox.mailauth.checkworker import CheckWorkers
from swissbox.mailauth.resolver import DnsResolver
from swissbox.mailauth.verdict import authenticate
from tests.support.loopdns import udp_dns
from tests.support.polling import eventually

MX = "mx.example.test"
TIMEOUT = 0.5  # DNS timeout: the silent domain's lookups end in temperror after this
MESSAGE = (
    b"From: Alice <alice@sender.test>\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: hello\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    b"Message-ID: <1@sender.test>\r\n"
    b"\r\n"
    b"hello world\r\n"
)


@contextmanager
def dns_server(records: dict[str, list[str]]) -> Iterator[tuple[str, int]]:
    """TXT records on a loopback UDP server; names under silent.test are never answered,
    other unknown names are NXDOMAIN."""

    def answer(query: DNSRecord) -> DNSRecord | None:
        name = str(query.q.qname).rstrip(".").lower()
        if name.endswith("silent.test"):
            return None
        reply = query.reply()
        found = records.get(name) if query.q.qtype == QTYPE.TXT else None
        if found is None and name not in records:
            reply.header.rcode = RCODE.NXDOMAIN
        for text in found or []:
            chunks = [text[i : i + 255] for i in range(0, len(text), 255)]
            reply.add_answer(RR(query.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        return reply

    with udp_dns(answer) as address:
        yield address


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[list[bytes], tuple[str, int]]]:
    """Messages (signed, tampered, from a silent domain) and the DNS that knows sender.test."""
    pairs = {a: sbdkim.generate(a) for a in sbdkim.ALGORITHMS}
    keys = [
        sbdkim.load_key("sender.test", f"s-{a}", a, pairs[a].private_pem) for a in sbdkim.ALGORITHMS
    ]
    records = {
        f"s-{a}._domainkey.sender.test": [sbdkim.public_record(a, pairs[a].public)]
        for a in sbdkim.ALGORITHMS
    }
    records["sender.test"] = ["v=spf1 ip4:127.0.0.1 -all"]
    records["_dmarc.sender.test"] = ["v=DMARC1; p=reject"]
    signed = sbdkim.sign(MESSAGE, keys) + MESSAGE
    tampered = signed.replace(b"hello world", b"hello World")
    silent = MESSAGE.replace(b"sender.test", b"silent.test")
    with dns_server(records) as server:
        yield [signed, tampered, silent], server


def workers(server: tuple[str, int], deadline: float = 120.0) -> CheckWorkers:
    loop_resolver = DnsResolver([server], TIMEOUT)
    return CheckWorkers(1, [server], TIMEOUT, MX, loop_resolver, deadline)


async def test_a_worker_answers_as_the_loop_does(world) -> None:  # type: ignore[no-untyped-def]
    messages, server = world
    here = DnsResolver([server], TIMEOUT)
    pool = workers(server)
    try:
        for message, ip, sender in [
            (messages[0], "127.0.0.1", "alice@sender.test"),  # SPF, DKIM and DMARC pass
            (messages[1], "192.0.2.9", "alice@sender.test"),  # all fail: DMARC reject
            (messages[2], "127.0.0.1", "alice@silent.test"),  # DNS silent: temperror
        ]:
            expected = await authenticate(message, here, ip, "mta.sender.test", sender, MX)
            got = await pool.authenticate(message, ip, "mta.sender.test", sender)
            assert got == expected
        assert pool.fallbacks == 0
        assert [d.result for d in expected.dkim] == []
        assert (expected.spf.result, expected.dmarc.result) == ("temperror", "temperror")
    finally:
        pool.close()


async def test_a_killed_worker_is_replaced_and_its_message_checked_here(  # type: ignore[no-untyped-def]
    world, monkeypatch
) -> None:
    messages, server = world
    pool = workers(server)
    try:
        first = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        assert first.dmarc.result == "pass"
        worker = pool.slots[0]
        assert worker is not None
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        again = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        assert again == first and pool.fallbacks == 1  # on the loop: restarts are spaced
        monkeypatch.setattr(checkworker, "RESTART_INTERVAL", 0.0)
        third = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        assert third == first and pool.fallbacks == 1
        replaced = pool.slots[0]
        assert replaced is not None and replaced.process.pid != worker.process.pid
    finally:
        pool.close()


async def test_a_hung_worker_is_killed_and_its_message_deferred_not_checked_here(world) -> None:  # type: ignore[no-untyped-def]
    """The message a worker hung on may be what hung it: it is not checked on the server's
    loop (which it could hang too) but deferred; the next message is checked as usual."""
    messages, server = world
    pool = workers(server, deadline=1.0)
    try:
        first = await pool.authenticate(messages[1], "192.0.2.9", "h", "alice@sender.test")
        worker = pool.slots[0]
        assert worker is not None
        os.kill(worker.process.pid, signal.SIGSTOP)  # alive, answering nothing
        with pytest.raises(checkworker.CheckUnavailable):
            await pool.authenticate(messages[1], "192.0.2.9", "h", "alice@sender.test")
        assert worker.process.poll() is not None and pool.fallbacks == 0  # killed and reaped
        got = await pool.authenticate(messages[1], "192.0.2.9", "h", "alice@sender.test")
        assert got == first and got.dmarc.result == "fail"
    finally:
        pool.close()


async def test_a_worker_dying_mid_check_defers_that_message(world) -> None:  # type: ignore[no-untyped-def]
    messages, server = world
    pool = workers(server)
    try:
        first = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        worker = pool.slots[0]
        assert worker is not None
        os.kill(worker.process.pid, signal.SIGSTOP)  # holds the next message in flight
        pending = asyncio.ensure_future(
            pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        )
        await asyncio.sleep(0.2)
        os.kill(worker.process.pid, signal.SIGKILL)
        with pytest.raises(checkworker.CheckUnavailable):
            await asyncio.wait_for(pending, 10)
        again = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
        assert again == first  # on the loop: restarts are spaced
    finally:
        pool.close()


async def test_no_worker_can_start_checks_here(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    messages, server = world
    pool = workers(server)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no processes left")

    monkeypatch.setattr(checkworker.subprocess, "Popen", refuse)
    got = await pool.authenticate(messages[0], "127.0.0.1", "h", "alice@sender.test")
    assert got.dmarc.result == "pass" and pool.fallbacks == 1


def test_a_worker_exits_when_its_server_is_killed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A SIGKILLed server leaves no check worker behind (its end of the socket closes)."""
    script = tmp_path / "server.py"
    script.write_text(
        "import asyncio, time\n"
        "from swissbox.mailauth.checkworker import CheckWorkers\n"
        "from swissbox.mailauth.resolver import DnsResolver\n"
        "async def main():\n"
        "    pool = CheckWorkers(1, [('127.0.0.1', 9)], 0.1, 'mx', DnsResolver())\n"
        "    worker = await pool._worker()\n"
        "    print(worker.process.pid, flush=True)\n"
        "    time.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    server = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert server.stdout is not None
    worker = int(server.stdout.readline())
    os.kill(server.pid, signal.SIGKILL)
    server.wait()

    def gone() -> bool:
        try:
            with open(f"/proc/{worker}/status") as status:
                return "zombie" in status.read().lower()
        except FileNotFoundError:
            return True

    eventually(gone, timeout=10, what="the worker exits")


async def test_answers_to_messages_checked_at_once_reach_their_senders(world) -> None:  # type: ignore[no-untyped-def]
    """Thirty messages at once through one worker, passing, failing and waiting on a silent
    DNS server mixed (so the worker answers out of order): each gets the loop's answer."""
    messages, server = world
    here = DnsResolver([server], TIMEOUT)
    kinds = [
        (messages[0], "127.0.0.1", "alice@sender.test"),
        (messages[1], "192.0.2.9", "alice@sender.test"),
        (messages[2], "127.0.0.1", "alice@silent.test"),
    ]
    expected = [await authenticate(m, here, ip, "h", s, MX) for m, ip, s in kinds]
    assert len({(v.spf.result, v.dmarc.result) for v in expected}) == 3
    pool = workers(server)
    try:
        assert await pool.authenticate(*kinds[0][:2], "h", kinds[0][2]) == expected[0]  # started
        got = await asyncio.gather(
            *(pool.authenticate(*kinds[i % 3][:2], "h", kinds[i % 3][2]) for i in range(30))
        )
        assert got == [expected[i % 3] for i in range(30)]
        assert pool.fallbacks == 0
    finally:
        pool.close()
