"""Authentication-Results (RFC 8601): the one field we add, and the removal of any incoming
field that claims our authserv-id (a forged verdict must not reach the reader or a filter)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from swissbox.mailauth.arcverify import ArcResult
from swissbox.mailauth.dkimverify import DkimResult
from swissbox.mailauth.dmarc import DmarcResult
from swissbox.mailauth.fields import drop_fields, header_end
from swissbox.mailauth.spf import SpfResult

_COMMENT = re.compile(r"\([^()]*\)")


def _comment(text: str) -> str:
    text = text.replace("(", "[").replace(")", "]")
    text = " ".join(re.sub(r"[\\\x00-\x1f]", " ", text).split())
    return f" ({text[:200]})" if text else ""


def _value(text: str) -> str:
    """A property value: as it is when it is a token or address, else quoted."""
    if re.fullmatch(r"[A-Za-z0-9._@+=/-]+", text):
        return text
    return '"' + re.sub(r'["\\\r\n]', "", text)[:200] + '"'


def header(
    authserv_id: str,
    spf: SpfResult,
    dkim: Sequence[DkimResult],
    dmarc: DmarcResult,
    helo: str,
    arc: ArcResult | None = None,
) -> bytes:
    """The Authentication-Results field (CRLF, folded one method per line)."""
    parts = []
    prop = f"smtp.{spf.scope}"
    spf_value = spf.domain
    parts.append(f"spf={spf.result}{_comment(spf.detail)} {prop}={_value(spf_value)}")
    if not dkim:
        parts.append("dkim=none")
    for d in dkim:
        props = f" header.d={_value(d.domain)}" if d.domain else ""
        if d.selector:
            props += f" header.s={_value(d.selector)}"
        if d.algorithm:
            props += f" header.a={_value(d.algorithm)}"
        if d.b:
            props += f" header.b={_value(d.b)}"
        parts.append(f"dkim={d.result}{_comment(d.detail)}{props}")
    note = f"p={dmarc.policy} dis={dmarc.disposition.upper()}"
    if dmarc.detail:
        note += f"; {dmarc.detail}"
    from_prop = f" header.from={_value(dmarc.from_domain)}" if dmarc.from_domain else ""
    parts.append(f"dmarc={dmarc.result}{_comment(note)}{from_prop}")
    if arc is not None and arc.result != "none":
        why = f"i={arc.instances}" + (f"; {arc.detail}" if arc.detail else "")
        parts.append(f"arc={arc.result}{_comment(why)}")
    return (
        f"Authentication-Results: {authserv_id};\r\n\t" + ";\r\n\t".join(parts) + "\r\n"
    ).encode("utf-8", "replace")


def _authserv_id(value: bytes) -> str:
    text = _COMMENT.sub(" ", value.decode("utf-8", "replace"))
    return text.split(";", 1)[0].strip().split()[0].lower() if text.strip() else ""


def strip_claiming(message: bytes, authserv_id: str) -> bytes:
    """The message without the Authentication-Results fields whose authserv-id is ours
    (case-insensitive; comments ignored), the rest byte for byte as it was."""
    if b"uthentication-results" not in message[: header_end(message)].lower():
        return message
    ours = authserv_id.lower()

    def claims_ours(name: bytes, field: bytes) -> bool:
        return name == b"authentication-results" and _authserv_id(field.split(b":", 1)[1]) == ours

    return drop_fields(message, claims_ours)
