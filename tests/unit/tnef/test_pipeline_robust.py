"""The whole pipeline (decode -> bodies -> calendar -> MIME -> bytes) on hostile values:
only TnefError escapes, output is 7-bit clean and the same for the same input."""

from __future__ import annotations

import math
import random
import struct
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swissbox.tnef import TnefError, decode, message_to_mime, rewrite
from swissbox.tnef.calendar import to_icalendar

from . import writer as w
from .test_contacts import dist_list
from .test_meeting_itip import meeting
from .test_task_request import task_request

PIPELINE = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
CLASSES = ("IPM.Note", "IPM.Task", "IPM.Schedule.Meeting.Request", "IPM.Schedule.Meeting.Resp.Pos")


def double(pid: int, value: float, named: tuple | None = None) -> bytes:
    return w.prop(0x0005, pid, struct.pack("<d", value), named)


def pipeline(data: bytes, *, lenient: bool = False) -> bytes | None:
    """Everything a caller does with a decoded message; None when decode refuses the input."""
    try:
        message = decode(data, lenient=lenient)
    except TnefError:
        return None
    _ = message.body_text, message.body_html, message.body_rtf
    calendar = to_icalendar(message)
    if calendar is not None:
        calendar[1].decode("utf-8")
    out = message_to_mime(message).as_bytes()
    assert out.isascii()
    assert b"\r\n" in out
    return out


def sample(
    *,
    message_class: str = "IPM.Note",
    name: str = "Sender",
    address: str = "sender@example.org",
    recipient: str = "Rcpt",
    recipient_address: str = "rcpt@example.org",
    message_id: str = "<id@example.org>",
    subject: str = "subject",
    percent: float = 0.5,
    attachment_name: str = "a.txt",
    content_id: str = "cid1",
) -> bytes:
    return w.message(
        message_class=message_class,
        subject=None,
        msg_props=[
            w.unicode(0x0037, subject),
            w.unicode(0x0C1A, name),
            w.unicode(0x5D01, address),
            w.unicode(0x1035, message_id),
            w.unicode(0x1000, "body"),
            w.systime(0x0039, datetime(2026, 3, 20, 9, 0, tzinfo=UTC)),
            double(0x8001, percent, named=(w.PSETID_TASK, 0x8102)),
            w.systime(
                0x8002, datetime(2026, 3, 30, 9, tzinfo=UTC), named=(w.PSETID_APPOINTMENT, 0x820D)
            ),
        ],
        recipients=[[w.unicode(0x3001, recipient), w.unicode(0x39FE, recipient_address)]],
        attachments=[
            w.file_attachment(attachment_name, b"x", mapi=[w.unicode(0x3712, content_id)])
        ],
    )


def test_percent_complete_inf_and_nan_are_dropped() -> None:
    for value in (math.inf, -math.inf, math.nan):
        message = decode(sample(message_class="IPM.Task", percent=value))
        method, ical = to_icalendar(message) or ("", b"")
        assert method == "PUBLISH"
        assert b"PERCENT-COMPLETE" not in ical
    ical = (to_icalendar(decode(sample(message_class="IPM.Task", percent=0.25))) or ("", b""))[1]
    assert b"PERCENT-COMPLETE:25\r\n" in ical


def test_non_ascii_sender_and_recipient_addresses() -> None:
    data = sample(name="Jörg", address="jörg@exämple.org", recipient_address="rcpt@exämple.org")
    out = pipeline(data)
    assert out is not None
    assert b"rcpt@xn--exmple-cua.org" in out  # IDNA domain: still an address
    assert b"j=C3=B6rg@ex=C3=A4mple.org" in out or b"=?utf-8?" in out  # kept, in the name


def test_cr_lf_in_display_names_do_not_inject_headers() -> None:
    data = sample(name="Evil\r\nBcc: victim@example.org", recipient="R\nX-Injected: 1")
    out = pipeline(data)
    assert out is not None
    assert b"\r\nBcc:" not in out and b"\r\nX-Injected" not in out
    for cls in CLASSES:
        pipeline(sample(message_class=cls, name="A\r\nB", address="a\r\n@b.org"))


def test_non_ascii_or_broken_message_id_is_left_out() -> None:
    for value in ("<ä@b.org>", "<a@b.org>\r\nX: y", "<a\x00@b>", "<x@@d@example.org>"):
        out = pipeline(sample(message_id=value))
        assert out is not None and b"Message-ID" not in out
    assert b"Message-ID: <id@example.org>" in (pipeline(sample()) or b"")


def test_control_characters_in_names_and_content_ids() -> None:
    out = pipeline(
        sample(attachment_name="a\r\nb\x00.txt", content_id="c\r\nX: y", subject="s\x00\r\nt")
    )
    assert out is not None and b"\r\nX: y" not in out


def test_output_is_deterministic() -> None:
    data = sample(message_class="IPM.Schedule.Meeting.Request")
    first = pipeline(data)
    assert first is not None and first == pipeline(data)
    assert b"DTSTAMP:20260320T090000Z" in first.replace(b"=\r\n", b"") or b"DTSTAMP" in first
    ical = (to_icalendar(decode(data)) or ("", b""))[1]
    assert b"DTSTAMP:20260320T090000Z\r\n" in ical
    mail = (
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").encodebytes(data).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    once, report = rewrite(mail)
    assert report.changed and once == rewrite(mail)[0]


def test_no_date_gives_a_fixed_dtstamp() -> None:
    data = w.message(message_class="IPM.Task", subject="t")
    assert to_icalendar(decode(data)) == to_icalendar(decode(data))


TEXT = st.text(
    alphabet=st.sampled_from(list("aZ@.<>\"'\\;:,()[] \r\n\t\x00\x7fäö€\u2028\ud7ff😀")),
    max_size=24,
)


@PIPELINE
@given(
    st.sampled_from(CLASSES),
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    TEXT,
)
def test_hostile_values(
    cls: str,
    name: str,
    address: str,
    recipient: str,
    recipient_address: str,
    message_id: str,
    subject: str,
    percent: float,
    attachment_name: str,
    content_id: str,
) -> None:
    pipeline(
        sample(
            message_class=cls,
            name=name,
            address=address,
            recipient=recipient,
            recipient_address=recipient_address,
            message_id=message_id,
            subject=subject,
            percent=percent,
            attachment_name=attachment_name or "x",
            content_id=content_id,
        )
    )


def test_mutation_fuzz_of_the_whole_pipeline() -> None:
    """A fixed-seed byte mutation loop (bounded: 1,500 variants over seven seeds)."""
    rng = random.Random(19)
    seeds = [sample(message_class=cls) for cls in CLASSES]
    seeds += [meeting(), dist_list(5), task_request()]  # time zones, recurrence, vCards, tasks
    for _ in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.choice(
                (0x00, 0x0A, 0x0D, 0xE4, 0xFF, 0x7F, 0x40, 0x3C, rng.randrange(256))
            )
        pipeline(bytes(data), lenient=True)


def test_corpus_through_the_whole_pipeline(corpus_dir: Path) -> None:
    rng = random.Random(6)
    samples = sorted(p for p in (corpus_dir / "tnef").rglob("*") if p.suffix in (".tnef", ".dat"))
    assert samples
    for path in samples:
        original = path.read_bytes()
        assert pipeline(original, lenient=True) is not None
        for _ in range(20):
            data = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            pipeline(bytes(data), lenient=True)
