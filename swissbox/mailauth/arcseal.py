"""ARC sealing (RFC 8617) of mail we forward: one ARC set (ARC-Authentication-Results,
ARC-Message-Signature, ARC-Seal) made by dkimpy over the message as our MX checked it, so the
next hop can trust our SPF/DKIM/DMARC results although forwarding breaks SPF (and DMARC on it).

ARC signs with rsa-sha256 only (RFC 8617 section 4.1.3: no Ed25519), with the forwarding
domain's RSA DKIM key. The chain validation status (cv=) is what our own
Authentication-Results say (`arc=none|pass|fail`): dkimpy reads it from there.
"""

from __future__ import annotations

import dkim

from swissbox.mailauth.dkim import SigningError, SigningKey, header_fields, signed_header_list

ARC_FIELDS = (b"arc-seal", b"arc-message-signature", b"arc-authentication-results")


def seal(message: bytes, key: SigningKey, authserv_id: str) -> bytes:
    """The ARC set's header lines (CRLF) to put on top of `message`; b"" when there is nothing
    to vouch for (no Authentication-Results of `authserv_id` in it, or a chain that ended).
    SigningError when the message cannot be sealed (unreadable header, a non-RSA key)."""
    if key.algorithm != "rsa":
        raise SigningError(f"ARC needs an RSA key, not {key.algorithm}")
    names = [n for n in header_fields(message) if n not in ARC_FIELDS]
    include = [n for n in signed_header_list(names) if n != b"authentication-results"]
    try:
        lines = dkim.arc_sign(
            message,
            key.selector.encode("ascii"),
            key.domain.encode("ascii"),
            key.secret,
            authserv_id.encode("ascii"),
            include_headers=include,
        )
    except dkim.DKIMException as exc:
        raise SigningError(f"ARC seal for {key.domain} failed: {exc}") from None
    # dkimpy returns the set as ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results:
    # the order RFC 8617 section 4.1 shows on top of the message
    return b"".join(lines)
