"""SPF (RFC 7208) `check_host()` over a `Resolver` passed in.

Written here rather than taken from pyspf (last release 2020): pyspf does its own blocking DNS
through module-level functions, so it can neither use the async resolver the MX shares nor be
pointed at test servers without patching globals. What RFC 7208 asks is covered and tested:
at most 10 terms that cause DNS lookups (include, a, mx, ptr, exists, redirect; 4.6.4), at most
2 void lookups (4.6.4), at most 10 MX and 10 PTR names per term, macros (7) in domain-specs and
in the `exp=` explanation (6.2), include/redirect results as in 5.2/6.1 (so include loops end
in permerror when the lookup limit is reached).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from swissbox.mailauth.memo import short_memo
from swissbox.mailauth.resolver import DnsTempError, Resolver

PASS, FAIL, SOFTFAIL, NEUTRAL, NONE, TEMPERROR, PERMERROR = (
    "pass",
    "fail",
    "softfail",
    "neutral",
    "none",
    "temperror",
    "permerror",
)
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_NAMES = 10  # MX and PTR names looked at per term
_QUALIFIERS = {"+": PASS, "-": FAIL, "~": SOFTFAIL, "?": NEUTRAL}
_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_MACRO = re.compile(r"%(?:\{([slodiphcrtvSLODIPHCRTV])(\d*)(r?)([.\-+,/_=]*)\}|(.)|$)", re.I)
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class SpfPermError(Exception):
    pass


class SpfTempError(Exception):
    pass


@dataclass(frozen=True)
class SpfResult:
    result: str
    domain: str  # the domain checked (MAIL FROM's, or HELO's for the null sender)
    detail: str = ""  # why, for the Authentication-Results comment
    explanation: str = ""  # exp= text on fail
    scope: str = "mailfrom"  # the identity checked: "mailfrom", or "helo" for the null sender


@dataclass
class _Context:
    resolver: Resolver
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str  # local@domain
    helo: str
    receiver: str
    lookups: int = 0
    voids: int = 0
    stack: list[str] = field(default_factory=list)

    def count_lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise SpfPermError(f"more than {MAX_LOOKUPS} DNS lookups")

    async def query(self, name: str, rdtype: str, void_counts: bool = True) -> list[str]:
        try:
            answer = await self.resolver.lookup(name, rdtype)
        except DnsTempError as exc:
            raise SpfTempError(str(exc)) from None
        if not answer and void_counts:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise SpfPermError(f"more than {MAX_VOID_LOOKUPS} void lookups")
        return answer


def valid_domain(name: str) -> bool:
    """A name check_host() can evaluate (4.3): labels of 1-63 characters, at least two."""
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(x) for x in labels)


async def check_host(
    resolver: Resolver,
    ip: str,
    mail_from: str,
    helo: str,
    receiver: str = "",
) -> SpfResult:
    """The SPF result for a client `ip` sending `mail_from` (empty: the null sender, whose
    identity is postmaster@HELO, 2.4) after `HELO helo`."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    local, _, domain = mail_from.rpartition("@")
    scope = "mailfrom"
    if not mail_from or not domain:
        local, domain, scope = "postmaster", helo, "helo"
    domain = domain.rstrip(".").lower()
    sender = f"{local or 'postmaster'}@{domain}"
    if not valid_domain(domain):
        return SpfResult(NONE, domain, "not a domain name", scope=scope)
    ctx = _Context(resolver, address, sender, helo, receiver or "unknown")
    try:
        result, explanation = await _check(ctx, domain)
    except SpfTempError as exc:
        return SpfResult(TEMPERROR, domain, f"DNS: {exc}", scope=scope)
    except SpfPermError as exc:
        return SpfResult(PERMERROR, domain, str(exc), scope=scope)
    return SpfResult(result, domain, "", explanation, scope)


async def _record(ctx: _Context, domain: str) -> str | None:
    records = [
        t
        for t in await ctx.query(domain, "TXT", void_counts=False)
        if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")
    ]
    if len(records) > 1:
        raise SpfPermError(f"{domain} has {len(records)} SPF records")
    return records[0] if records else None


def _cidr(spec: str, dual: bool) -> tuple[str, int | None, int | None]:
    """Splits `domain/cidr4//cidr6` (dual) or `addr/cidr` into its parts."""
    v4: int | None = None
    v6: int | None = None
    if dual and "//" in spec:
        spec, _, six = spec.rpartition("//")
        if not six.isdigit() or int(six) > 128 or (len(six) > 1 and six[0] == "0"):
            raise SpfPermError(f"bad ip6-cidr-length {six!r}")
        v6 = int(six)
    if "/" in spec:
        spec, _, four = spec.rpartition("/")
        if not four.isdigit() or int(four) > 32 or (len(four) > 1 and four[0] == "0"):
            raise SpfPermError(f"bad cidr-length {four!r}")
        v4 = int(four)
    return spec, v4, v6


def _in_network(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, addr: str, v4: int | None, v6: int | None
) -> bool:
    other = _address(addr)
    if other is None or other.version != ip.version:
        return False
    bits = (32 if v4 is None else v4) if ip.version == 4 else (128 if v6 is None else v6)
    return ip in _network(other, bits)


@short_memo(1024)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`text` as an IP address, None when it is not one (remembered, as `_network`)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _network(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, bits: int
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The network of `bits` around `address` (records name the same few networks at every
    message; parsing one is ~30 us)."""
    return ipaddress.ip_network(f"{address}/{bits}", strict=False)


async def _check(ctx: _Context, domain: str) -> tuple[str, str]:
    record = await _record(ctx, domain)
    if record is None:
        return NONE, ""
    terms = record.split()[1:]
    redirect: str | None = None
    exp: str | None = None
    directives: list[tuple[str, str, str]] = []  # (qualifier result, mechanism, argument)
    for term in terms:
        name, eq, value = term.partition("=")
        if eq and re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", name):
            lname = name.lower()
            if lname == "redirect":
                if redirect is not None:
                    raise SpfPermError("two redirect= modifiers")
                redirect = value
            elif lname == "exp":
                if exp is not None:
                    raise SpfPermError("two exp= modifiers")
                exp = value
            _expand_check(value)  # a modifier's macro-string must be well formed
            continue
        qualifier = PASS
        if term[:1] in _QUALIFIERS:
            qualifier, term = _QUALIFIERS[term[0]], term[1:]
        match = re.match(r"^([A-Za-z0-9]+)([:/].*)?$", term)
        if not match or match.group(1).lower() not in _MECHANISMS:
            raise SpfPermError(f"unknown mechanism {term!r}")
        directives.append((qualifier, match.group(1).lower(), match.group(2) or ""))
    for qualifier, mechanism, argument in directives:
        if await _matches(ctx, domain, mechanism, argument):
            explanation = ""
            if qualifier == FAIL and exp:
                explanation = await _explain(ctx, domain, exp)
            return qualifier, explanation
    if redirect is not None:
        ctx.count_lookup()
        target = _expand(ctx, redirect, domain)
        if not valid_domain(target):
            raise SpfPermError(f"redirect to {target!r}")
        result, explanation = await _check(ctx, target)
        if result == NONE:
            raise SpfPermError(f"redirect to {target} which has no SPF record")
        return result, explanation
    return NEUTRAL, ""


async def _matches(ctx: _Context, domain: str, mechanism: str, argument: str) -> bool:
    if mechanism == "all":
        if argument:
            raise SpfPermError("all takes no argument")
        return True
    if mechanism in ("ip4", "ip6"):
        if not argument.startswith(":"):
            raise SpfPermError(f"{mechanism} needs an address")
        addr, v4, v6 = _cidr(argument[1:], dual=False)
        net = _address(addr)
        if net is None or net.version != (4 if mechanism == "ip4" else 6):
            raise SpfPermError(f"bad {mechanism} address {addr!r}")
        if mechanism == "ip6":
            v4, v6 = None, v4
            if v6 is not None and v6 > 128:
                raise SpfPermError("bad ip6 cidr")
        return _in_network(ctx.ip, addr, v4, v6)
    # everything else looks up DNS
    ctx.count_lookup()
    spec = argument[1:] if argument.startswith(":") else ""
    if argument and not argument.startswith((":", "/")):
        raise SpfPermError(f"bad {mechanism} argument")
    if mechanism in ("a", "mx"):
        rest = argument if argument.startswith("/") else ""
        if spec:
            spec, v4, v6 = _cidr(spec, dual=True)
        else:
            _, v4, v6 = _cidr(rest, dual=True)
        target = _expand(ctx, spec, domain) if spec else domain
        if not valid_domain(target):
            return False
        hosts = [target]
        if mechanism == "mx":
            hosts = await ctx.query(target, "MX")
            if len(hosts) > MAX_NAMES:
                raise SpfPermError(f"{target} has more than {MAX_NAMES} MX records")
        rdtype = "A" if ctx.ip.version == 4 else "AAAA"
        for host in hosts:
            if not host or host == ".":
                continue
            for addr in await ctx.query(host, rdtype):
                if _in_network(ctx.ip, addr, v4, v6):
                    return True
        return False
    if mechanism == "include":
        if not spec:
            raise SpfPermError("include needs a domain")
        target = _expand(ctx, spec, domain)
        if not valid_domain(target):
            raise SpfPermError(f"include of {target!r}")
        result, _ = await _check(ctx, target)
        if result == NONE:
            raise SpfPermError(f"include of {target} which has no SPF record")
        return result == PASS
    if mechanism == "exists":
        if not spec:
            raise SpfPermError("exists needs a domain")
        target = _expand(ctx, spec, domain)
        return valid_domain(target) and bool(await ctx.query(target, "A"))
    # ptr (discouraged, 5.5): validated names of the client address under the target domain
    target = (_expand(ctx, spec, domain) if spec else domain).lower()
    return await _validated_ptr(ctx, target) is not None


async def _validated_ptr(ctx: _Context, under: str) -> str | None:
    """The first PTR name of the client (at most 10) that resolves back to it and is `under`
    or below it; None when there is none (the p macro then says "unknown")."""
    names = await ctx.query(ctx.ip.reverse_pointer, "PTR")
    rdtype = "A" if ctx.ip.version == 4 else "AAAA"
    for name in names[:MAX_NAMES]:
        lname = name.lower()
        if under and not (lname == under or lname.endswith("." + under)):
            continue
        try:
            addrs = await ctx.resolver.lookup(name, rdtype)
        except DnsTempError:
            continue
        if any(_in_network(ctx.ip, a, None, None) for a in addrs):
            return name
    return None


async def _explain(ctx: _Context, domain: str, exp: str) -> str:
    """The exp= text (6.2); any problem means no explanation, never a different result."""
    try:
        target = _expand(ctx, exp, domain)
        if not valid_domain(target):
            return ""
        texts = await ctx.resolver.lookup(target, "TXT")
        if len(texts) != 1:
            return ""
        return _expand(ctx, texts[0], domain, explanation=True)
    except (DnsTempError, SpfPermError, SpfTempError):
        return ""


def _expand_check(value: str) -> None:
    for match in _MACRO.finditer(value):
        if match.group(5) is not None and match.group(5) not in "%_-":
            raise SpfPermError(f"bad macro in {value!r}")
        if match.group(0) == "%":
            raise SpfPermError(f"bad macro in {value!r}")


def _expand(ctx: _Context, spec: str, domain: str, explanation: bool = False) -> str:
    """Macro expansion (RFC 7208 7); c, r, t only in explanations. Domain-specs longer
    than 253 characters lose labels from the left (7.3)."""
    out: list[str] = []
    pos = 0
    for match in _MACRO.finditer(spec):
        out.append(spec[pos : match.start()])
        pos = match.end()
        letter, digits, reverse, delimiters, escape = match.groups()
        if letter is None:
            if escape == "%":
                out.append("%")
            elif escape == "_":
                out.append(" ")
            elif escape == "-":
                out.append("%20")
            else:
                raise SpfPermError(f"bad macro in {spec!r}")
            continue
        value = _macro_value(ctx, letter.lower(), domain, explanation)
        parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
        if reverse:
            parts.reverse()
        if digits:
            count = int(digits)
            if count == 0:
                raise SpfPermError("macro with 0 labels")
            parts = parts[-count:]
        value = ".".join(parts)
        if letter.isupper():
            value = urllib.parse.quote(value, safe="")
        out.append(value)
    out.append(spec[pos:])
    text = "".join(out)
    if not explanation:
        while len(text) > 253 and "." in text:
            text = text.split(".", 1)[1]
    return text


def _macro_value(ctx: _Context, letter: str, domain: str, explanation: bool) -> str:
    if letter in "crt" and not explanation:
        raise SpfPermError(f"macro %{{{letter}}} outside an explanation")
    local, _, sender_domain = ctx.sender.rpartition("@")
    ip = ctx.ip
    if letter == "s":
        return ctx.sender
    if letter == "l":
        return local
    if letter == "o":
        return sender_domain
    if letter == "d":
        return domain
    if letter == "i":
        if ip.version == 4:
            return str(ip)
        return ".".join(ip.exploded.replace(":", ""))
    if letter == "p":
        return "unknown"  # RFC 7208 5.5/7.3: SHOULD NOT be used; no extra lookups for it
    if letter == "v":
        return "in-addr" if ip.version == 4 else "ip6"
    if letter == "h":
        return ctx.helo
    if letter == "c":
        return str(ip)
    if letter == "r":
        return ctx.receiver
    return str(int(time.time()))  # t
