"""What the end of DATA does with a DMARC verdict under each [smtp] setting, and the
forwarding hook reading our own Authentication-Results (records from a dict resolver)."""

from __future__ import annotations

import pytest

from swissbox.smtp import replies
from swissbox.smtp.authcheck import InboundAuth
from swissbox.smtp.forwarding import forward_allowed
from tests.unit.mailauth.fakedns import TIMEOUT, FakeResolver

MX = "mx.example.test"
RECORDS = {
    ("spoof.test", "TXT"): ["v=spf1 -all"],
    ("_dmarc.spoof.test", "TXT"): ["v=DMARC1; p=reject"],
    ("quar.test", "TXT"): ["v=spf1 -all"],
    ("_dmarc.quar.test", "TXT"): ["v=DMARC1; p=quarantine"],
    ("good.test", "TXT"): ["v=spf1 ip4:192.0.2.1 -all"],
    ("_dmarc.good.test", "TXT"): ["v=DMARC1; p=reject"],
    ("slow.test", "TXT"): ["v=spf1 -all"],
    ("_dmarc.slow.test", "TXT"): TIMEOUT,
}


def mail(domain: str) -> bytes:
    return (
        f"Authentication-Results: {MX}; dmarc=pass\r\nFrom: <a@{domain}>\r\nSubject: x\r\n\r\nbody\r\n"
    ).encode()


async def decide(domain: str, reject: str = "reject", temperror: str = "defer"):  # type: ignore[no-untyped-def]
    auth = InboundAuth(FakeResolver(RECORDS), MX, reject, temperror)
    return await auth.check(mail(domain), "192.0.2.1", "mta.test", f"a@{domain}")


@pytest.mark.parametrize(
    "domain, reject, temperror, reply, folder",
    [
        ("good.test", "reject", "defer", None, "INBOX"),
        (
            "spoof.test",
            "reject",
            "defer",
            replies.DMARC_REJECT.format(domain="spoof.test"),
            "INBOX",
        ),
        ("spoof.test", "quarantine", "defer", None, "Junk"),
        ("spoof.test", "mark", "defer", None, "INBOX"),
        ("quar.test", "reject", "defer", None, "Junk"),
        (
            "slow.test",
            "reject",
            "defer",
            replies.DMARC_TEMPERROR.format(domain="slow.test"),
            "INBOX",
        ),
        ("slow.test", "reject", "mark", None, "INBOX"),
    ],
)
async def test_actions(
    domain: str, reject: str, temperror: str, reply: str | None, folder: str
) -> None:
    got = await decide(domain, reject, temperror)
    assert (got.reply, got.folder) == (reply, folder)
    head = got.data.split(b"\r\n\r\n")[0]
    assert head.count(b"Authentication-Results:") == 1  # ours; the forged one removed
    assert head.startswith(f"Authentication-Results: {MX};".encode())


async def test_marked_dmarc_reject_is_never_forwarded() -> None:
    kept = await decide("spoof.test", "mark")
    assert not forward_allowed(kept.data, MX)
    assert forward_allowed((await decide("good.test")).data, MX)
    assert forward_allowed((await decide("quar.test")).data, MX)
    # another server's verdict is not ours to trust
    other = b"Authentication-Results: mx.other.test; dmarc=fail (p=reject dis=REJECT)\r\n\r\nx\r\n"
    assert forward_allowed(other, MX)
    assert not forward_allowed(other, "mx.other.test")


async def test_a_message_whose_check_worker_died_or_hung_is_deferred() -> None:
    from swissbox.mailauth.checkworker import CheckUnavailable

    class Gone:
        async def authenticate(self, *args: object) -> None:
            raise CheckUnavailable("the check worker hung")

    auth = InboundAuth(FakeResolver(RECORDS), MX)
    auth._workers = Gone()  # type: ignore[assignment]
    decision = await auth.check(mail("good.test"), "192.0.2.1", "mta.test", "a@good.test")
    assert decision.reply == replies.CHECK_UNAVAILABLE and decision.reply.startswith("451 4.7.0")
