"""TSIG (RFC 8945): verify a signed request and sign its response, on wire bytes.

The MAC covers the message exactly as received (minus the TSIG record, with ARCOUNT one less
and the original ID), so this works on bytes rather than on re-packed dnslib objects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

from swissbox.dns.wire import wire_name

T_TSIG = 250
C_ANY = 255
NOERROR, FORMERR, NOTAUTH = 0, 1, 9
BADSIG, BADKEY, BADTIME, BADTRUNC = 16, 17, 18, 22
DEFAULT_FUDGE = 300

ALGORITHMS = {
    "hmac-sha256": hashlib.sha256,
    "hmac-sha384": hashlib.sha384,
    "hmac-sha512": hashlib.sha512,
    "hmac-sha224": hashlib.sha224,
    "hmac-sha1": hashlib.sha1,
    "hmac-md5.sig-alg.reg.int": hashlib.md5,
}


class WireError(ValueError):
    """The message cannot be walked (truncated, bad name): answer FORMERR."""


@dataclass(frozen=True)
class TsigRecord:
    """A TSIG RR as found at the end of a message, with `offset` where it starts."""

    offset: int
    key_name: str  # lower case, no final dot
    algorithm: str
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes


@dataclass(frozen=True)
class Key:
    name: str  # lower case, no final dot
    algorithm: str
    secret: bytes


def decode_secret(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("TSIG secret is not base64") from None


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """(lower-case name without final dot, offset after it), following compression safely."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise WireError("truncated compression pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            jumps += 1
            if jumps > 64:
                raise WireError("compression loop")
            continue
        if length & 0xC0:
            raise WireError("bad label type")
        offset += 1
        if length == 0:
            break
        labels.append(data[offset : offset + length].decode("latin-1").lower())
        offset += length
    return ".".join(labels), (end if end >= 0 else offset)


def find_tsig(data: bytes) -> TsigRecord | None:
    """The TSIG record when it is the last additional record; None when unsigned."""
    if len(data) < 12:
        raise WireError("short header")
    qd, an, ns, ar = struct.unpack_from("!4H", data, 4)
    if ar == 0:
        return None
    offset = 12
    for _ in range(qd):
        _, offset = read_name(data, offset)
        offset += 4
    last = offset
    for _ in range(an + ns + ar):
        last = offset
        _, offset = read_name(data, offset)
        if offset + 10 > len(data):
            raise WireError("truncated record")
        rdlen = struct.unpack_from("!H", data, offset + 8)[0]
        offset += 10 + rdlen
        if offset > len(data):
            raise WireError("record data runs past the end")
    name, pos = read_name(data, last)
    rtype, rclass = struct.unpack_from("!HH", data, pos)
    if rtype != T_TSIG:
        return None
    if rclass != C_ANY:
        raise WireError("TSIG class must be ANY")
    rd = pos + 10
    algorithm, p = read_name(data, rd)
    if p + 10 > len(data):
        raise WireError("truncated TSIG")
    hi, lo, fudge, mac_len = struct.unpack_from("!HIHH", data, p)
    p += 10
    mac = data[p : p + mac_len]
    p += mac_len
    if p + 6 > len(data):
        raise WireError("truncated TSIG")
    original_id, error, other_len = struct.unpack_from("!HHH", data, p)
    other = data[p + 6 : p + 6 + other_len]
    return TsigRecord(last, name, algorithm, (hi << 32) | lo, fudge, mac, original_id, error, other)


def _variables(
    key: Key, time_signed: int, fudge: int, error: int, other: bytes, *, timers_only: bool = False
) -> bytes:
    timers = struct.pack("!HIH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge)
    if timers_only:
        return timers
    return (
        wire_name(key.name)
        + struct.pack("!HI", C_ANY, 0)
        + wire_name(key.algorithm)
        + timers
        + struct.pack("!HH", error, len(other))
        + other
    )


def _strip(data: bytes, record: TsigRecord) -> bytes:
    """The message as signed: without the TSIG RR, ARCOUNT - 1, the original ID."""
    ar = struct.unpack_from("!H", data, 10)[0]
    return (
        struct.pack("!H", record.original_id)
        + data[2:10]
        + struct.pack("!H", ar - 1)
        + data[12 : record.offset]
    )


def _mac(key: Key, parts: bytes) -> bytes:
    return hmac.new(key.secret, parts, ALGORITHMS[key.algorithm]).digest()


@dataclass(frozen=True)
class Verdict:
    """Outcome of verifying a request: `error` is 0 or BADKEY/BADSIG/BADTIME."""

    error: int
    record: TsigRecord
    key: Key | None = None


def verify(data: bytes, record: TsigRecord, key: Key | None, now: float | None = None) -> Verdict:
    """Checks the request MAC and time window (RFC 8945 5.2)."""
    if key is None or key.algorithm != record.algorithm or key.algorithm not in ALGORITHMS:
        return Verdict(BADKEY, record)
    digest = ALGORITHMS[key.algorithm]().digest_size
    if len(record.mac) > digest or len(record.mac) < max(10, digest // 2):
        return (
            Verdict(BADSIG, record, key)
            if len(record.mac) > digest
            else Verdict(BADTRUNC, record, key)
        )
    signed = _strip(data, record) + _variables(
        key, record.time_signed, record.fudge, record.error, record.other
    )
    expected = _mac(key, signed)[: len(record.mac)]
    if not hmac.compare_digest(expected, record.mac):
        return Verdict(BADSIG, record, key)
    now = time.time() if now is None else now
    if abs(int(now) - record.time_signed) > record.fudge:
        return Verdict(BADTIME, record, key)
    return Verdict(NOERROR, record, key)


def sign_response(response: bytes, verdict: Verdict, now: float | None = None) -> bytes:
    """Appends a TSIG RR to `response` (RFC 8945 5.3): signed, unless the key or MAC was bad."""
    record, key = verdict.record, verdict.key
    now_i = int(time.time() if now is None else now)
    error = verdict.error
    other = b""
    if error == BADTIME:
        other = struct.pack("!HI", now_i >> 32, now_i & 0xFFFFFFFF)
    time_signed = record.time_signed if error == BADTIME else now_i
    fudge = record.fudge if error == BADTIME else DEFAULT_FUDGE
    mac = b""
    if key is not None and error in (NOERROR, BADTIME):
        request_mac = struct.pack("!H", len(record.mac)) + record.mac
        parts = request_mac + response + _variables(key, time_signed, fudge, error, other)
        mac = _mac(key, parts)
    algorithm = key.algorithm if key is not None else record.algorithm
    key_name = key.name if key is not None else record.key_name
    rdata = (
        wire_name(algorithm)
        + struct.pack("!HIHH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge, len(mac))
        + mac
        + struct.pack("!HHH", struct.unpack_from("!H", response, 0)[0], error, len(other))
        + other
    )
    rr = wire_name(key_name) + struct.pack("!HHIH", T_TSIG, C_ANY, 0, len(rdata)) + rdata
    ar = struct.unpack_from("!H", response, 10)[0]
    return response[:10] + struct.pack("!H", ar + 1) + response[12:] + rr


def sign_request(
    message: bytes, key: Key, now: float | None = None, fudge: int = DEFAULT_FUDGE
) -> bytes:
    """Signs a request (used by tests and by our own NOTIFY when a key is configured)."""
    now_i = int(time.time() if now is None else now)
    mac = _mac(key, message + _variables(key, now_i, fudge, 0, b""))
    rdata = (
        wire_name(key.algorithm)
        + struct.pack("!HIHH", now_i >> 32, now_i & 0xFFFFFFFF, fudge, len(mac))
        + mac
        + struct.pack("!HHH", struct.unpack_from("!H", message, 0)[0], 0, 0)
    )
    rr = wire_name(key.name) + struct.pack("!HHIH", T_TSIG, C_ANY, 0, len(rdata)) + rdata
    ar = struct.unpack_from("!H", message, 10)[0]
    return message[:10] + struct.pack("!H", ar + 1) + message[12:] + rr
