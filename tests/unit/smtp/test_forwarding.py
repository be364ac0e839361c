"""The end of DATA for routed recipients (smtp.forwarding): header fields read as the wire
has them, SRS senders, Delivered-To, loops; bytes and decisions in, a plan out."""

from __future__ import annotations

from swissbox.directory import Mailbox
from swissbox.smtp.forwarding import delivered_to, header_fields, hop_count, plan, srs_sender
from swissbox.smtp.policy import Recipient, Verdict
from swissbox.smtp.routing import Routing
from swissbox.smtp.srs import SrsCodec

ANN = Mailbox(1, "ann@example.test", "ann", "example.test", None)
BOB = Mailbox(2, "bob@example.test", "bob", "example.test", 100)
ROUTING = Routing("mx.example.test", srs=SrsCodec([b"k"]))
MESSAGE = (
    b"Received: from a by b; Mon, 2 Jan 2023 10:00:00 +0000\r\n"
    b"Delivered-To: Someone@Else.test\r\n"
    b"Received: from c\r\n by d; Mon, 2 Jan 2023 09:00:00 +0000\r\n"
    b"Subject: hi\r\n\r\n"
    b"Received: in the body does not count\r\n"
    b"Delivered-To: info@example.test\r\n"
)


def hosted(domain: str) -> bool:
    return domain in ("example.test", "example.org")


def test_header_fields_unfold_and_stop_at_the_body() -> None:
    assert hop_count(MESSAGE) == 2
    assert header_fields(MESSAGE, (b"received",))[1] == (
        b"received",
        b"from c by d; Mon, 2 Jan 2023 09:00:00 +0000",
    )
    assert delivered_to(MESSAGE) == {"someone@else.test"}
    assert delivered_to(b"Delivered-To:\r\n  <A@B.test>\r\n\r\n") == {"a@b.test"}
    assert hop_count(b"no header at all") == 0
    assert hop_count(b"RECEIVED : x\r\nreceived:y\r\n\r\n") == 2


def test_srs_sender_rules() -> None:
    assert srs_sender("", "info@example.test", ROUTING, hosted) == ""
    assert srs_sender("ann@example.org", "info@example.test", ROUTING, hosted) == "ann@example.org"
    rewritten = srs_sender("x@world.test", "info@example.test", ROUTING, hosted)
    assert rewritten.startswith("SRS0=") and rewritten.endswith("=world.test=x@example.test")
    no_srs = Routing("mx.example.test")
    assert srs_sender("x@world.test", "info@example.test", no_srs, hosted) == "x@world.test"


def alias(address: str, *boxes: Mailbox, forward: tuple[str, ...] = ()) -> Recipient:
    return Recipient(
        Verdict.ALIAS,
        address,
        domain="example.test",
        mailboxes=boxes,
        forward=tuple((f, address) for f in forward),
        via=(address.lower(),) if forward else (),
    )


def test_plan_delivers_each_mailbox_once_and_groups_forwards() -> None:
    rcpts = [
        Recipient(Verdict.LOCAL, "ann+x@example.test", ANN, "example.test"),
        alias("team@example.test", ANN, BOB, forward=("out@world.test", "two@world.test")),
        alias("sales@example.test", BOB, forward=("OUT@world.test",)),
        Recipient(Verdict.BOUNCE, "SRS0=...", forward=(("orig@world.test", ""),)),
    ]
    p = plan(rcpts, b"Subject: x\r\n\r\nbody\r\n", "x@world.test", ROUTING, hosted)
    assert [b.address for b in p.local] == ["ann@example.test", "bob@example.test"]
    assert p.remote == ["orig@world.test"]  # a bounce goes home with the sender as is
    assert len(p.forwards) == 1
    sender, to, data = p.forwards[0]
    assert sender.startswith("SRS0=") and sender.endswith("@example.test")
    assert to == ["out@world.test", "two@world.test"]  # each external address once
    assert data.startswith(b"Delivered-To: team@example.test\r\nSubject: x\r\n")
    assert p.looped == []


def test_plan_refuses_looping_recipients_only() -> None:
    rcpts = [
        alias("info@example.test", ANN, forward=("out@world.test",)),
        Recipient(Verdict.LOCAL, "bob@example.test", BOB, "example.test"),
        alias("someone@else.test", forward=("x@world.test",)),  # was here: Delivered-To
    ]
    p = plan(rcpts, MESSAGE, "", ROUTING, hosted)
    assert p.looped == ["someone@else.test"]
    assert [b.address for b in p.local] == ["ann@example.test", "bob@example.test"]
    assert [(s, to) for s, to, _ in p.forwards] == [("", ["out@world.test"])]
    # a Delivered-To in the body is not a loop
    assert "info@example.test" not in delivered_to(MESSAGE)


def test_plan_forwards_nothing_bound_for_junk_and_seals_what_it_forwards() -> None:
    rcpts = [alias("team@example.test", ANN, forward=("out@world.test",))]
    body = b"Subject: x\r\n\r\nbody\r\n"
    p = plan(rcpts, body, "x@world.test", ROUTING, hosted, junk=True)
    assert [b.address for b in p.local] == ["ann@example.test"] and p.forwards == []
    sealed: list[str] = []

    def seal(data: bytes, domain: str) -> bytes:
        sealed.append(domain)
        return b"ARC-Seal: i=1\r\n" + data

    p = plan(rcpts, body, "x@world.test", ROUTING, hosted, seal)
    assert sealed == ["example.test"]
    assert p.forwards[0][2].startswith(b"ARC-Seal: i=1\r\nDelivered-To: team@example.test\r\n")
