"""The dnspython-backed resolver on loopback: a DNS server that never answers is a
DnsTempError after the configured time, which the checks turn into temperror."""

from __future__ import annotations

import socket

from swissbox.mailauth.resolver import DnsResolver, DnsTempError
from swissbox.mailauth.spf import check_host


async def test_silent_server_is_a_temperror() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # reads nothing, answers nothing
        port = silent.getsockname()[1]
        resolver = DnsResolver([("127.0.0.1", port)], timeout=0.3)
        try:
            await resolver.lookup("sender.test", "TXT")
        except DnsTempError as exc:
            assert "sender.test" in str(exc)
        else:
            raise AssertionError("no DnsTempError")
        got = await check_host(resolver, "192.0.2.1", "a@sender.test", "h.sender.test")
        assert got.result == "temperror"


async def test_answers_are_kept_for_their_ttl_and_asked_again_after() -> None:
    """A DNS server on loopback that counts the questions it is asked: the second lookup of
    a name within its TTL is answered without asking; after the TTL the server is asked again."""
    from dnslib import QTYPE, RR, TXT, DNSRecord

    from tests.support.loopdns import udp_dns

    asked: list[str] = []

    def answer(query: DNSRecord) -> DNSRecord:
        asked.append(str(query.q.qname))
        reply = query.reply()
        reply.add_answer(RR(query.q.qname, QTYPE.TXT, rdata=TXT("v=spf1 -all"), ttl=60))
        return reply

    now = [1000.0]
    with udp_dns(answer) as address:
        resolver = DnsResolver([address], clock=lambda: now[0])
        resolver._resolver.cache = None  # only our own keeping is under test here
        assert await resolver.lookup("sender.test", "TXT") == ["v=spf1 -all"]
        assert await resolver.lookup("Sender.Test.", "TXT") == ["v=spf1 -all"]
        assert asked == ["sender.test."]
        now[0] += 61
        assert await resolver.lookup("sender.test", "TXT") == ["v=spf1 -all"]
        assert asked == ["sender.test.", "sender.test."]
