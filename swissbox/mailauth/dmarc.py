"""DMARC (RFC 7489) over SPF and DKIM results and a `Resolver` passed in.

The policy record is looked up at `_dmarc.<From domain>`, then at the organisational domain's
(the Public Suffix List's registrable domain, from `publicsuffixlist`). Unknown tags are
ignored, invalid `adkim`/`aspf`/`pct`/`sp` fall back to their defaults, a record without a
valid `p` counts as `p=none` when it has `rua` and as no record otherwise (6.6.3); two
records mean no DMARC (6.6.3). `pct` sampling uses the `sample` number passed in (0-100).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from swissbox.mailauth.dkimverify import DkimResult
from swissbox.mailauth.memo import short_memo
from swissbox.mailauth.resolver import DnsTempError, Resolver
from swissbox.mailauth.spf import SpfResult

_PSL = PublicSuffixList()
POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class DmarcRecord:
    p: str
    sp: str
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100


@dataclass(frozen=True)
class DmarcResult:
    result: str  # pass, fail, none, temperror, permerror
    from_domain: str
    policy: str = "none"  # the published policy that applies (p, or sp for a subdomain)
    disposition: str = "none"  # what to do after pct sampling: none, quarantine, reject
    detail: str = ""


@short_memo(4096)
def organizational_domain(domain: str) -> str:
    """The registrable domain (RFC 7489 3.2); the name itself when it is a public suffix
    (remembered: the list is fixed while the server runs)."""
    domain = domain.lower().rstrip(".")
    return _PSL.privatesuffix(domain) or domain


def parse_record(text: str) -> DmarcRecord | None:
    """A DMARC record's policy, or None when `text` is not a usable record."""
    tags: dict[str, str] = {}
    for i, part in enumerate(text.split(";")):
        name, eq, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if i == 0:
            if name != "v" or value != "DMARC1":
                return None
            continue
        if eq and name and name not in tags:
            tags[name] = value
    p = tags.get("p", "").lower()
    if p not in POLICIES:
        if "rua" not in tags:
            return None
        p = "none"
    sp = tags.get("sp", "").lower()
    if sp not in POLICIES:
        sp = p
    pct_text = tags.get("pct", "100")
    pct = int(pct_text) if pct_text.isdigit() and int(pct_text) <= 100 else 100
    adkim = tags.get("adkim", "r").lower()
    aspf = tags.get("aspf", "r").lower()
    return DmarcRecord(
        p, sp, adkim if adkim in ("r", "s") else "r", aspf if aspf in ("r", "s") else "r", pct
    )


async def _lookup(resolver: Resolver, domain: str) -> tuple[DmarcRecord | None, str]:
    texts = [
        t for t in await resolver.lookup(f"_dmarc.{domain}", "TXT") if t.startswith("v=DMARC1")
    ]
    if len(texts) != 1:
        return None, ("several DMARC records" if texts else "")
    return parse_record(texts[0]), ""


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    identifier = identifier.lower().rstrip(".")
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


async def evaluate(
    resolver: Resolver,
    from_domain: str | None,
    spf: SpfResult,
    dkim: Sequence[DkimResult],
    sample: int | None = None,
) -> DmarcResult:
    """The DMARC result and disposition for a message whose RFC5322.From domain is
    `from_domain` (None: no single From domain could be read -> permerror)."""
    if not from_domain:
        return DmarcResult("permerror", "", detail="no single From: domain")
    from_domain = from_domain.lower().rstrip(".")
    org = organizational_domain(from_domain)
    try:
        record, why = await _lookup(resolver, from_domain)
        subdomain = False
        if record is None and not why and org != from_domain:
            record, why = await _lookup(resolver, org)
            subdomain = True
    except DnsTempError as exc:
        return DmarcResult("temperror", from_domain, detail=f"DNS: {exc}")
    if record is None:
        return DmarcResult("none", from_domain, detail=why)
    policy = record.sp if subdomain else record.p
    if spf.result == "pass" and aligned(spf.domain, from_domain, record.aspf):
        return DmarcResult("pass", from_domain, policy)
    if any(d.result == "pass" and aligned(d.domain, from_domain, record.adkim) for d in dkim):
        return DmarcResult("pass", from_domain, policy)
    transient = spf.result == "temperror" or any(d.result == "temperror" for d in dkim)
    if transient and policy != "none":  # under p=none the answer would change nothing
        return DmarcResult("temperror", from_domain, policy, detail="SPF or DKIM DNS failure")
    disposition = policy
    if record.pct < 100:
        roll = random.randrange(100) if sample is None else sample
        if roll >= record.pct:  # not sampled: one step gentler (RFC 7489 6.6.4)
            disposition = {"reject": "quarantine", "quarantine": "none"}.get(policy, policy)
    return DmarcResult("fail", from_domain, policy, disposition)
