"""DKIM (RFC 6376) keys and signing with dkimpy: Ed25519 (RFC 8463) and RSA-2048 side by side.

Keys are kept as PKCS#8 PEM; `public_record` is the `selector._domainkey` TXT value. `sign`
returns the DKIM-Signature header lines for a message, one per key, relaxed/relaxed over the
headers that matter (SIGNED_HEADERS, each as often as it occurs) with From: listed once more
than it occurs, so that no From: can be added without breaking the signature.
"""

from __future__ import annotations

import base64
import email.utils
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header

import dkim
import dkim.crypto
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from swissbox.mailauth import canon  # noqa: F401  (installs the fast canonicalization)
from swissbox.mailauth.memo import short_memo

ALGORITHMS = ("ed25519", "rsa")
RSA_BITS = 2048
SIGNED_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
)
OVERSIGNED = ("from",)
_DKIM_NAMES = {"ed25519": b"ed25519-sha256", "rsa": b"rsa-sha256"}
_HEADER_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:", re.MULTILINE)


_rsa_keys: dict[int, rsa.RSAPrivateKey] = {}


def _openssl_rsa_sign(digest: object, private_key: dict[str, int]) -> bytes:
    """dkimpy's RSASSA-PKCS1-v1_5 signature made by OpenSSL: dkimpy computes it in pure
    Python (an RSA-2048 message costs 6.4 ms here that way, 0.8 ms this way; bench/dkim_bench.py),
    holding the GIL. PKCS#1 v1.5 is deterministic: the bytes are the same (a unit test holds
    them equal)."""
    key = _rsa_keys.get(private_key["modulus"])
    if key is None:
        public = rsa.RSAPublicNumbers(private_key["publicExponent"], private_key["modulus"])
        key = rsa.RSAPrivateNumbers(
            private_key["prime1"],
            private_key["prime2"],
            private_key["privateExponent"],
            private_key["exponent1"],
            private_key["exponent2"],
            private_key["coefficient"],
            public,
        ).private_key(unsafe_skip_rsa_key_validation=True)  # our own key, checked when made
        if len(_rsa_keys) > 1000:
            _rsa_keys.clear()
        _rsa_keys[private_key["modulus"]] = key
    if getattr(digest, "name", "").lower() != "sha256":
        return _PURE_RSA_SIGN(digest, private_key)  # rsa-sha1: never made by us, kept as is
    return key.sign(
        digest.digest(),  # type: ignore[attr-defined]
        padding.PKCS1v15(),
        utils.Prehashed(hashes.SHA256()),
    )


_PURE_RSA_SIGN = dkim.crypto.RSASSA_PKCS1_v1_5_sign
dkim.RSASSA_PKCS1_v1_5_sign = _openssl_rsa_sign  # what DKIM.gen_header calls


class SigningError(Exception):
    """The message cannot be signed (its header is not RFC 5322) or a key is unusable."""


@dataclass(frozen=True)
class KeyPair:
    algorithm: str  # "ed25519" | "rsa"
    private_pem: bytes  # PKCS#8, unencrypted: the file kept in the data folder
    public: str  # the p= value: base64 of the raw Ed25519 key / RSA SubjectPublicKeyInfo


@dataclass(frozen=True)
class SigningKey:
    """A private key ready to sign (`load_key`): `secret` in the form dkimpy takes."""

    domain: str
    selector: str
    algorithm: str
    secret: bytes


def generate(algorithm: str) -> KeyPair:
    """A new key pair: Ed25519, or RSA-2048 with e=65537."""
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    elif algorithm == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        raw = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        raise ValueError(f"unknown DKIM algorithm {algorithm!r}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(algorithm, pem, base64.b64encode(raw).decode("ascii"))


def public_record(algorithm: str, public: str) -> str:
    """The TXT value (unquoted) published at `selector._domainkey.domain`."""
    return f"v=DKIM1; k={algorithm}; p={public}"


def load_key(domain: str, selector: str, algorithm: str, private_pem: bytes) -> SigningKey:
    """A key file's content made ready to sign (parsing a PEM RSA key costs ~25 ms: do it
    once per key, not per message): PEM for RSA, base64 of the seed for Ed25519."""
    where = f"{selector}._domainkey.{domain}"
    try:
        loaded = serialization.load_pem_private_key(
            private_pem, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{where}: unreadable private key") from exc
    if algorithm == "ed25519" and isinstance(loaded, ed25519.Ed25519PrivateKey):
        seed = loaded.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return SigningKey(domain, selector, algorithm, base64.b64encode(seed))
    if algorithm == "rsa" and isinstance(loaded, rsa.RSAPrivateKey):
        return SigningKey(domain, selector, algorithm, private_pem)
    raise SigningError(f"{where}: not an {algorithm} key")


def header_fields(message: bytes) -> list[bytes]:
    """The lower-case names of the message's header fields, in order (up to the blank line)."""
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    return [m.group(1).lower() for m in _HEADER_NAME.finditer(head)]


def signed_header_list(names: Iterable[bytes]) -> list[bytes]:
    """The h= list: each signed field as often as it occurs, the oversigned ones once more."""
    present = [n for n in names if n.decode("ascii", "replace") in SIGNED_HEADERS]
    return present + [n.encode() for n in OVERSIGNED]


def from_domain(message: bytes) -> str | None:
    """The one domain of the message's From: (lower case), or None when there is no From:, it
    cannot be read, or it names addresses in several domains (no one domain to sign for)."""
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0].decode("utf-8", "replace")
    values = re.findall(r"(?im)^from[ \t]*:(.*(?:\r?\n[ \t].*)*)", head)
    if len(values) != 1:
        return None
    return _one_domain(values[0])


@short_memo(4096)
def _one_domain(value: str) -> str | None:
    """The one domain of the addresses in a From: field's value (remembered: senders write
    the same From: again and again, and the email package's parser takes ~0.1 ms)."""
    try:
        text = str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        text = value
    domains = {
        addr.rpartition("@")[2].strip().rstrip(".").lower()
        for _, addr in email.utils.getaddresses([text])
        if "@" in addr
    }
    if len(domains) != 1:
        return None
    domain = domains.pop()
    return domain or None


def sign(message: bytes, keys: Sequence[SigningKey]) -> bytes:
    """DKIM-Signature header lines (CRLF) for `message`, one per key, to put on top of it."""
    if not keys:
        return b""
    include = signed_header_list(header_fields(message))
    try:
        signer = dkim.DKIM(message, linesep=b"\r\n")
    except dkim.DKIMException as exc:
        raise SigningError(f"message header not readable: {exc}") from None
    out = []
    for key in keys:
        try:
            line = signer.sign(
                key.selector.encode("ascii"),
                key.domain.encode("ascii"),
                key.secret,
                signature_algorithm=_DKIM_NAMES[key.algorithm],
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=include,
            )
        except dkim.DKIMException as exc:
            raise SigningError(f"signing for {key.domain} failed: {exc}") from None
        out.append(line)
    return b"".join(out)
