"""The ACME folder in the data folder: account key, certificate and key, renewal state.

    <data>/acme/account.key   the ACME account's key (EC P-256, 0600)
    <data>/acme/cert.pem      the certificate with its chain, leaf first
    <data>/acme/cert.key      its private key (0600)
    <data>/acme/state.json    last attempt, last error, failures in a row, next attempt
    <data>/acme/renew.request `swissbox cert renew` asking the running server ("due"|"force")

Every file is written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from swissbox.tls import CertPaths


@dataclass
class RenewalState:
    """What `swissbox status` shows of the ACME client; times are Unix seconds."""

    last_attempt: float = 0.0
    last_success: float = 0.0
    last_error: str = ""
    failures: int = 0
    next_attempt: float = 0.0
    # The last `swissbox cert renew` request the server finished, and what came of it.
    answered: float = 0.0
    answer: str = ""


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def new_key_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class AcmeFiles:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "acme"
        self.account_key = self.dir / "account.key"
        self.cert = self.dir / "cert.pem"
        self.key = self.dir / "cert.key"
        self.state_file = self.dir / "state.json"
        self.request = self.dir / "renew.request"
        self.challenges_file = self.dir / "challenges.json"

    @property
    def paths(self) -> CertPaths:
        return CertPaths(self.cert, self.key)

    def has_certificate(self) -> bool:
        return self.cert.exists() and self.key.exists()

    def account_key_pem(self) -> bytes:
        """The account key, made on first use."""
        if not self.account_key.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.account_key, new_key_pem(), 0o600)
        return self.account_key.read_bytes()

    def certificate(self) -> x509.Certificate | None:
        try:
            return x509.load_pem_x509_certificates(self.cert.read_bytes())[0]
        except (OSError, ValueError):
            return None

    def save_certificate(self, fullchain_pem: bytes, key_pem: bytes) -> None:
        """Key first, then certificate: a reader that sees the new certificate finds its key."""
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.key, key_pem, 0o600)
        write_atomic(self.cert, fullchain_pem)

    def state(self) -> RenewalState:
        try:
            raw: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return RenewalState()
        fields = RenewalState.__dataclass_fields__
        return RenewalState(**{k: v for k, v in raw.items() if k in fields})

    def save_state(self, state: RenewalState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_file, json.dumps(asdict(state), indent=1).encode())

    def challenges(self) -> list[tuple[str, str]]:
        """DNS-01 records published and not yet withdrawn: (record name, value) pairs."""
        try:
            raw = json.loads(self.challenges_file.read_text())
            return [(str(name), str(value)) for name, value in raw]
        except (OSError, ValueError, TypeError):
            return []

    def save_challenges(self, records: list[tuple[str, str]]) -> None:
        """Written before a record is published and after it is withdrawn, so that a server
        stopped mid-order finds what it left in its zones (`AcmeService.start` takes it out)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.challenges_file, json.dumps(sorted(set(records))).encode())

    def request_renewal(self, force: bool) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.request, b"force" if force else b"due")

    def take_request(self) -> str | None:
        """The pending request ("due" or "force"), removed; None when there is none."""
        try:
            text = self.request.read_text().strip()
            self.request.unlink()
        except OSError:
            return None
        return "force" if text == "force" else "due"
