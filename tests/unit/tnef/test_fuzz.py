"""Fuzzing (bounded): whatever the input, only TnefError escapes, and quickly."""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swissbox.tnef import Limits, TnefError, decode
from swissbox.tnef.lzfu import decompress
from swissbox.tnef.mime import rewrite
from swissbox.tnef.rtf import deencapsulate_html, rtf_to_text

from . import writer as w

SIGNATURE = b"\x78\x9f\x3e\x22"
LIMITS = Limits(max_total_output=32 * 1024 * 1024, max_rtf_size=4 * 1024 * 1024)
TIME_BOUND = 2.0  # seconds per input, generous for a slow CI machine
FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def _seed_stream() -> bytes:
    inner = w.message(subject="inner", attachments=[w.file_attachment("i.txt", b"inner")])
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + inner]))
    return w.message(
        subject="seed",
        msg_props=[
            w.unicode(0x1000, "body"),
            w.binary(0x1009, w.rtf_compressed(b"{\\rtf1\\ansi\\fromhtml1 {\\*\\htmltag1 <p>}x}")),
            w.prop(0x101F, 0x6000, w.var([b"a\0b\0", b"c\0"])),
            w.long(0x8001, 1, named=(w.PSETID_APPOINTMENT, 0x8205)),
        ],
        recipients=[[w.unicode(0x3001, "R"), w.string8(0x3003, "r@example.org")]],
        attachments=[
            w.file_attachment("a.txt", b"aaaa", long_name="long a.txt"),
            [w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5), obj))],
        ],
    )


SEED = _seed_stream()


def _check(data: bytes) -> None:
    start = time.perf_counter()
    for lenient in (False, True):
        with contextlib.suppress(TnefError):
            decode(data, limits=LIMITS, lenient=lenient)
    assert time.perf_counter() - start < TIME_BOUND


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _check(data)
    _check(SIGNATURE + data)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, len(SEED)),
)
def test_mutated_stream(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SEED)
    for position, value in flips:
        data[position] = value
    _check(bytes(data))
    _check(bytes(data[:cut]))


@FUZZ
@given(st.binary(max_size=300))
def test_lzfu_and_rtf(data: bytes) -> None:
    with contextlib.suppress(TnefError):
        decompress(data, max_size=1 << 20)
    rtf_to_text(data)
    deencapsulate_html(b"{\\rtf1\\fromhtml1 " + data)


@settings(max_examples=40, deadline=2000)
@given(st.binary(max_size=200))
def test_rewrite_never_raises(data: bytes) -> None:
    message = (
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: application/ms-tnef\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + SIGNATURE
        + data
        + b"\r\n--b--\r\n"
    )
    out, report = rewrite(message)
    if not report.changed:
        assert out == message


def test_corpus_mutations(corpus_dir: Path) -> None:
    """A fixed-seed mutation loop over every corpus sample (bounded: 60 variants each)."""
    rng = random.Random(20240229)
    samples = sorted(p for p in (corpus_dir / "tnef").rglob("*") if p.suffix in (".tnef", ".dat"))
    assert samples
    for path in samples:
        original = path.read_bytes()
        for _ in range(60):
            data = bytearray(original)
            kind = rng.randrange(4)
            if kind == 0:  # flip a few bytes, biased towards headers and lengths
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
            elif kind == 1:
                data = data[: rng.randrange(len(data) + 1)]
            elif kind == 2:  # an absurd 32-bit length or count somewhere
                at = rng.randrange(max(1, min(len(data) - 4, 8192)))
                data[at : at + 4] = rng.choice(
                    [b"\xff\xff\xff\x7f", b"\xff\xff\xff\xff", b"\0\0\0\x10"]
                )
            else:  # splice a chunk of the file into itself
                a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
                at = rng.randrange(len(data) + 1)
                data[at:at] = data[a : min(b, a + 2048)]
            _check(bytes(data))
