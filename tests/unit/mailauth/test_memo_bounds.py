"""The mail-authentication memos (From: domain, organizational domain, DKIM tag lists and key
records, SPF addresses) are keyed by text a sender or its DNS chooses: they keep a bounded
amount of memory however long that text is, and still answer as the functions they stand for."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import dkim

from swissbox.mailauth import dkim as sbdkim
from swissbox.mailauth import dkimverify, dmarc, spf

LONG = 64 * 1024  # one value's length: an SMTP message may carry far longer header fields
VALUES = 16  # distinct long values: 1 MB in all
KEPT_AT_MOST = 256 * 1024  # bytes a memo may still hold after them


def retained(call: Callable[[str], object]) -> int:
    """Bytes still allocated after `call` on VALUES distinct long texts."""
    texts = ["x" * LONG + str(i) for i in range(VALUES)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for text in texts:
            call(text)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_a_long_from_field_is_not_kept() -> None:
    message = "From: Alice <alice@{}.test>\r\n\r\nbody\r\n"
    assert sbdkim.from_domain(message.format("a" * 300).encode()) == "a" * 300 + ".test"
    assert retained(lambda t: sbdkim.from_domain(message.format(t).encode())) < KEPT_AT_MOST


def test_a_long_domain_is_not_kept() -> None:
    assert dmarc.organizational_domain("Mail.Example.CO.UK.") == "example.co.uk"
    assert retained(lambda t: dmarc.organizational_domain(t + ".example.test")) < KEPT_AT_MOST


def test_a_long_dkim_tag_list_is_not_kept() -> None:
    value = b"v=1; a=rsa-sha256; z=" + b"a" * 5000
    assert dkimverify.parse_tag_value(value) == dkim.util.parse_tag_value(value)
    assert retained(lambda t: dkimverify.parse_tag_value(b"v=1; z=" + t.encode())) < KEPT_AT_MOST


def test_a_long_key_record_is_not_kept() -> None:
    public = sbdkim.generate("rsa").public
    record = sbdkim.public_record("rsa", public).encode()

    def evaluate(text: str) -> object:
        return dkim.evaluate_pk(b"s._domainkey.example.test", record + b"; n=" + text.encode())

    assert retained(evaluate) < KEPT_AT_MOST


def test_a_long_spf_address_is_not_kept() -> None:
    assert spf._address("192.0.2.1") is not None
    assert retained(lambda t: spf._address(t + "1")) < KEPT_AT_MOST
