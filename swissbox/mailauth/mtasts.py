"""MTA-STS (RFC 8461) policies and TLS-RPT (RFC 8460) records: writing ours, reading others'.

`policy_text` is what `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` serves; `policy_id`
derives the `_mta-sts` record's id from it, so the id changes exactly when the policy does.
`parse_record` and `parse_policy` read a recipient domain's TXT record and policy file, and
`Policy.allows(mx)` says whether an MX host name is one the policy lists.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

MODES = ("enforce", "testing", "none")
MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 3.3: senders may refuse larger policies
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 3.2: at most one year
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_MX_PATTERN = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
)


class PolicyError(ValueError):
    """A TXT record or policy file that is not valid MTA-STS."""


@dataclass(frozen=True)
class Policy:
    mode: str
    mx: tuple[str, ...]  # host names or "*.domain" patterns, lower case, no final dot
    max_age: int

    def allows(self, host: str) -> bool:
        """RFC 8461 4.1: an exact name, or `*.x` matching one more leftmost label."""
        host = host.rstrip(".").lower()
        for pattern in self.mx:
            if pattern.startswith("*."):
                head, _, rest = host.partition(".")
                if head and rest == pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False


def policy_text(mode: str, mx: Sequence[str], max_age: int) -> str:
    """Our policy file (CRLF lines, as the RFC's examples)."""
    if mode not in MODES:
        raise ValueError(f"MTA-STS mode must be one of {', '.join(MODES)}")
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {h.rstrip('.')}" for h in mx)]
    lines.append(f"max_age: {max_age}")
    return "\r\n".join(lines) + "\r\n"


def policy_id(text: str) -> str:
    """An id (RFC 8461 3.1: 1-32 alphanumerics) that changes whenever the policy does."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def record_text(policy_id: str) -> str:
    """The `_mta-sts.DOMAIN` TXT value."""
    return f"v=STSv1; id={policy_id}"


def tlsrpt_text(rua: str) -> str:
    """The `_smtp._tls.DOMAIN` TXT value (RFC 8460 3): where reports go (mailto: or https:)."""
    return f"v=TLSRPTv1; rua={rua}"


def _fields(text: str, sep: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(sep):
        if not item.strip():
            continue
        key, eq, value = item.partition("=" if sep == ";" else ":")
        if not eq:
            raise PolicyError(f"no separator in {item.strip()[:40]!r}")
        out.append((key.strip(), value.strip()))
    return out


def parse_record(texts: Sequence[str]) -> str | None:
    """The policy id of a domain's `_mta-sts` TXT strings (each record's strings joined);
    None when no record starts with v=STSv1; PolicyError when there are several, or the one
    there is malformed (RFC 8461 3.1: then the domain has no usable policy)."""
    records = [t for t in texts if t.startswith("v=STSv1")]
    if not records:
        return None
    if len(records) > 1:
        raise PolicyError("more than one v=STSv1 record")
    fields = _fields(records[0], ";")
    if fields[0] != ("v", "STSv1"):
        raise PolicyError("the record must start with v=STSv1")
    ids = [value for key, value in fields if key == "id"]
    if len(ids) != 1 or not _ID.match(ids[0]):
        raise PolicyError("the record needs one id of 1-32 letters and digits")
    return ids[0]


def parse_policy(body: bytes) -> Policy:
    """A fetched policy file (RFC 8461 3.2); unknown keys are ignored, as the RFC says."""
    if len(body) > MAX_POLICY_BYTES:
        raise PolicyError("policy larger than 64 KiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("policy is not UTF-8") from None
    version = mode = max_age = None
    mx: list[str] = []
    for raw in re.split(r"\r?\n", text):
        if not raw.strip():
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            raise PolicyError(f"policy line without ':': {raw[:40]!r}")
        key, value = key.strip(), value.strip()
        if key == "version":
            version = value
        elif key == "mode":
            mode = value
        elif key == "max_age":
            max_age = value
        elif key == "mx":
            pattern = value.rstrip(".").lower()
            if not _MX_PATTERN.match(pattern):
                raise PolicyError(f"bad mx pattern {value[:80]!r}")
            mx.append(pattern)
    if version != "STSv1":
        raise PolicyError("policy version must be STSv1")
    if mode not in MODES:
        raise PolicyError(f"policy mode must be one of {', '.join(MODES)}")
    if max_age is None or not max_age.isdigit() or len(max_age) > 20:
        raise PolicyError("policy max_age must be a number of seconds")
    if mode != "none" and not mx:
        raise PolicyError("policy lists no mx")
    return Policy(mode, tuple(mx), min(int(max_age), MAX_AGE_LIMIT))
