"""DKIM verification (RFC 6376) of every signature of a message, with dkimpy, keys fetched
through a `Resolver` passed in.

Results per signature, as RFC 8601 names them: pass, fail (the signature does not match),
neutral (not a signature we can read), policy (valid, but `l=` leaves part of the body
unsigned: the unsigned rest could be anything, so it does not count for DMARC), temperror
(the key could not be fetched now), permerror (no key, unusable key, RSA key under 1024 bits
or `rsa-sha1`, both refused by RFC 8301; expired or malformed signature).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace

import dkim
import dkim.util
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.util import InvalidTagValueList

from swissbox.mailauth import canon  # noqa: F401  (installs the fast canonicalization)
from swissbox.mailauth.memo import LONGEST
from swissbox.mailauth.resolver import DnsTempError, Resolver

MAX_SIGNATURES = 10  # more than this on one message are not looked at (each costs a lookup)
MIN_RSA_BITS = 1024  # RFC 8301 3.2
OFFLOAD_BYTES = 256 * 1024

# Speed-ups of dkimpy for the MX (bench/mailauth_bench.py: 1.14 -> 0.8 ms CPU per 10 KB
# message with two signatures; 0.61 with the memos below), each giving dkimpy's answer:
# - RSA verification by OpenSSL instead of dkimpy's pure-Python modular arithmetic (as
#   mailauth.dkim does for signing); same answer, PKCS#1 v1.5 is deterministic.
# - The relaxed canonical body and headers computed once per message, not once per signature,
#   and without dkimpy's regular expressions (swissbox.mailauth.canon).
# - A tag list parsed once, not again by dkimpy (each signature's was parsed twice and each
#   key record's four times per message), and a key record's key parsed once per record
#   text, not at every message: both pure functions of the bytes, kept in bounded memos.
_rsa_public: dict[tuple[int, int], rsa.RSAPublicKey] = {}
_PURE_RSA_VERIFY = dkim.RSASSA_PKCS1_v1_5_verify


def _openssl_rsa_verify(digest: object, signature: bytes, public_key: dict[str, int]) -> bool:
    if getattr(digest, "name", "").lower() != "sha256":
        return bool(_PURE_RSA_VERIFY(digest, signature, public_key))
    ident = (public_key["modulus"], public_key["publicExponent"])
    key = _rsa_public.get(ident)
    if key is None:
        key = rsa.RSAPublicNumbers(ident[1], ident[0]).public_key()
        if len(_rsa_public) > 1000:
            _rsa_public.clear()
        _rsa_public[ident] = key
    try:
        key.verify(
            signature,
            digest.digest(),  # type: ignore[attr-defined]
            padding.PKCS1v15(),
            utils.Prehashed(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


dkim.RSASSA_PKCS1_v1_5_verify = _openssl_rsa_verify  # what DKIM.verify_sig_process calls

MEMO_ENTRIES = 512
_PARSE_TAGS = dkim.util.parse_tag_value
_EVALUATE_PK = dkim.evaluate_pk
_tags_parsed: dict[bytes, dict[bytes, bytes]] = {}
_keys_evaluated: dict[tuple[object, bytes], tuple[object, ...]] = {}


def parse_tag_value(value: bytes) -> dict[bytes, bytes]:
    """dkimpy's `parse_tag_value`, remembered per value (a fresh dict each time: callers may
    change theirs); invalid lists raise as there, every time."""
    found = _tags_parsed.get(value)
    if found is None:
        found = _PARSE_TAGS(value)
        if len(value) > LONGEST:
            return found
        if len(_tags_parsed) >= MEMO_ENTRIES:
            _tags_parsed.clear()
        _tags_parsed[value] = found
    return dict(found)


def _evaluate_pk(name: object, record: bytes) -> tuple[object, ...]:
    """dkimpy's `evaluate_pk` (the key of a key record), remembered per record."""
    key = (name, record)
    found = _keys_evaluated.get(key)
    if found is None:
        found = tuple(_EVALUATE_PK(name, record))
        if len(record) > LONGEST:
            return found
        if len(_keys_evaluated) >= MEMO_ENTRIES:
            _keys_evaluated.clear()
        _keys_evaluated[key] = found
    return found


dkim.parse_tag_value = parse_tag_value  # what DKIM.verify and evaluate_pk call
dkim.evaluate_pk = _evaluate_pk  # what load_pk_from_dns calls


@dataclass(frozen=True)
class DkimResult:
    result: str
    domain: str  # d=, lower case ("" when unreadable)
    selector: str = ""
    algorithm: str = ""
    b: str = ""  # the first 8 characters of b= (RFC 6008 header.b)
    detail: str = ""


def _head(message: bytes) -> bytes:
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[:end]


def _text(value: bytes | None) -> str:
    return (value or b"").decode("ascii", "replace")


async def verify_all(message: bytes, resolver: Resolver) -> list[DkimResult]:
    """One result per DKIM-Signature field, top first (at most MAX_SIGNATURES). Keys are
    fetched first; the hashing and signature checks then run in a worker thread for messages
    over OFFLOAD_BYTES (relaxed canonicalization of a large body takes long enough to stall
    other sessions), else here. (The MX runs this in its check workers: checkworker.py.)"""
    head = _head(message)
    if b"dkim-signature" not in head.lower():  # unsigned: no parse (~0.2 ms/10 KB)
        return []
    big = len(message) > OFFLOAD_BYTES  # parsed whole in the thread (~1 s for 30 MB)
    try:
        checker = None if big else dkim.DKIM(message, minkey=MIN_RSA_BITS)
        headers = (
            checker.headers if checker is not None else dkim.rfc822_parse(head + b"\r\n\r\n")[0]
        )
    except dkim.DKIMException as exc:
        return [DkimResult("permerror", "", detail=f"message not readable: {exc}")]
    fields = [v for k, v in headers if k.lower() == b"dkim-signature"][:MAX_SIGNATURES]
    prepared = [await _prepare(value, resolver) for value in fields]
    if all(isinstance(item, DkimResult) for item in prepared):
        return prepared  # type: ignore[return-value]  # decided without hashing
    if checker is None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _parse_and_finish, message, prepared)
    return _finish_all(checker, prepared)


_Prepared = DkimResult | tuple[DkimResult, dict[bytes, bytes], bytes]  # final, or (id, tags, key)


async def _prepare(value: bytes, resolver: Resolver) -> _Prepared:
    """The signature's final result when it is decided without hashing, else what hashing
    needs: its identity, its tags and its key record."""
    try:
        tags = parse_tag_value(value)
    except InvalidTagValueList as exc:
        return DkimResult("neutral", "", detail=f"signature not readable: {exc}")
    domain = _text(tags.get(b"d")).lower().rstrip(".")
    selector = _text(tags.get(b"s"))
    algorithm = _text(tags.get(b"a")).lower()
    b = re.sub(r"\s+", "", _text(tags.get(b"b")))[:8]
    ident = DkimResult("", domain, selector, algorithm, b)
    try:
        dkim.validate_signature_fields(tags)
    except dkim.DKIMException as exc:
        return replace(ident, result="permerror", detail=str(exc))
    if algorithm == "rsa-sha1":
        return replace(ident, result="permerror", detail="rsa-sha1 is not accepted (RFC 8301)")
    name = f"{selector}._domainkey.{domain}"
    try:
        records = await resolver.lookup(name, "TXT")
    except DnsTempError as exc:
        return replace(ident, result="temperror", detail=f"key lookup: {exc}")
    if not records:
        return replace(ident, result="permerror", detail=f"no key at {name}")
    record = records[0].encode("utf-8", "replace")
    try:
        _, keysize, ktag, _ = dkim.evaluate_pk(name.encode(), record)
    except (dkim.DKIMException, ValueError, TypeError, IndexError) as exc:
        return replace(ident, result="permerror", detail=f"key not usable: {exc}")
    if ktag == b"rsa" and keysize < MIN_RSA_BITS:
        detail = f"RSA key of {keysize} bits (RFC 8301 asks for 1024+)"
        return replace(ident, result="permerror", detail=detail)
    return ident, tags, record


def _parse_and_finish(message: bytes, prepared: list[_Prepared]) -> list[DkimResult]:
    """`_finish_all` for a message whose head alone was parsed (it parses as its head did)."""
    return _finish_all(dkim.DKIM(message, minkey=MIN_RSA_BITS), prepared)


def _finish_all(checker: dkim.DKIM, prepared: list[_Prepared]) -> list[DkimResult]:
    out = []
    for idx, item in enumerate(prepared):
        out.append(item if isinstance(item, DkimResult) else _finish(checker, idx, *item))
    return out


def _finish(
    checker: dkim.DKIM, idx: int, ident: DkimResult, tags: dict[bytes, bytes], record: bytes
) -> DkimResult:
    try:
        good = checker.verify(idx, dnsfunc=lambda _name, timeout=5: record)
    except dkim.DKIMException as exc:
        name = "permerror" if "key" in str(exc).lower() else "fail"
        return replace(ident, result=name, detail=str(exc))
    except Exception as exc:  # dkimpy on hostile input: a failed signature, never a crash
        return replace(ident, result="fail", detail=f"{exc.__class__.__name__}: {exc}")
    if not good:
        return replace(ident, result="fail", detail="signature did not verify")
    if b"l" in tags:
        try:
            policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
            body_len = len(policy.canonicalize_body(checker.body))
        except InvalidCanonicalizationPolicyError:
            body_len = 0
        if int(tags[b"l"]) < body_len:
            return replace(ident, result="policy", detail="l= leaves part of the body unsigned")
    return replace(ident, result="pass")
