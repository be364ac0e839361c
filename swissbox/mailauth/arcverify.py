"""ARC (RFC 8617) chain validation with dkimpy, keys fetched through a `Resolver` passed in.

The result is the chain validation status of the message as it arrived: none (no ARC sets),
pass, or fail; temperror when a key could not be fetched now. It is reported, not acted on:
DMARC policy does not change on it (a local override would need a list of trusted sealers).
"""

from __future__ import annotations

from dataclasses import dataclass

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from swissbox.mailauth.resolver import DnsTempError, Resolver

MAX_ARC_FIELDS = 100  # RFC 8617 5.1.1.5: at most 50 sets of two signed fields


@dataclass(frozen=True)
class ArcResult:
    result: str  # none, pass, fail, temperror
    instances: int = 0
    detail: str = ""


async def verify_chain(message: bytes, resolver: Resolver) -> ArcResult:
    end = message.find(b"\r\n\r\n")
    if b"arc-seal" not in (message if end < 0 else message[:end]).lower():
        return ArcResult("none")  # no parse for the common case
    try:
        parsed = dkim.DKIM(message)
    except dkim.DKIMException as exc:
        return ArcResult("fail", 0, f"message not readable: {exc}")
    fields = [v for k, v in parsed.headers if k.lower() in (b"arc-seal", b"arc-message-signature")]
    if not fields:
        return ArcResult("none")
    if len(fields) > MAX_ARC_FIELDS:
        return ArcResult("fail", 0, "more than 50 ARC sets")
    names: set[str] = set()
    for value in fields:
        try:
            tags = parse_tag_value(value)
        except InvalidTagValueList:
            return ArcResult("fail", 0, "ARC field not readable")
        domain = tags.get(b"d", b"").decode("ascii", "replace").lower().rstrip(".")
        selector = tags.get(b"s", b"").decode("ascii", "replace").lower()
        if domain and selector:
            names.add(f"{selector}._domainkey.{domain}")
    keys: dict[str, bytes] = {}
    for name in sorted(names):
        try:
            found = await resolver.lookup(name, "TXT")
        except DnsTempError as exc:
            return ArcResult("temperror", 0, f"key lookup: {exc}")
        if found:
            keys[name] = found[0].encode("utf-8", "replace")

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return keys.get(name.decode("ascii", "replace").lower().rstrip("."))

    try:
        cv, results, comment = dkim.arc_verify(message, dnsfunc=dnsfunc)
    except Exception as exc:  # dkimpy on hostile input: a failed chain, never a crash
        return ArcResult("fail", 0, f"{exc.__class__.__name__}: {exc}")
    status = cv.decode("ascii", "replace").lower() if isinstance(cv, bytes) else str(cv)
    return ArcResult(status, len(results), "" if status == "pass" else str(comment))
