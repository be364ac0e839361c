"""One certificate order against an ACME server (RFC 8555), synchronous: run it in a worker
thread. Challenges are published and withdrawn through a `Responder` the caller provides."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization

from swissbox.acme.files import new_key_pem
from swissbox.acme.plan import DNS_01, HTTP_01

log = logging.getLogger("swissbox.acme")
ORDER_TIMEOUT = 120.0  # seconds for the CA to validate and issue
NETWORK_TIMEOUT = 30


class IssueError(Exception):
    """The order failed; the message says where and why (the CA's problem document)."""


class Responder(Protocol):
    """Makes a challenge answerable (HTTP-01: the key authorization at
    /.well-known/acme-challenge/TOKEN; DNS-01: a TXT record at _acme-challenge.NAME) and
    takes it away again."""

    def publish(self, kind: str, domain: str, key: str, value: str) -> None: ...

    def withdraw(self, kind: str, domain: str, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Order:
    directory_url: str
    names: list[str]
    challenge: str  # "http-01" | "dns-01"
    email: str = ""
    ca_bundle: str = ""  # a PEM file to trust for the directory URL; "" = the system's
    dns_wait: float = 0.0  # seconds between publishing DNS-01 records and asking the CA to look


@dataclass(frozen=True)
class Issued:
    fullchain_pem: bytes
    key_pem: bytes


def _problem(exc: Exception) -> str:
    if isinstance(exc, errors.ValidationError):
        details = []
        for authzr in exc.failed_authzrs:
            for chall in authzr.body.challenges:
                if chall.error is not None:
                    name = authzr.body.identifier.value
                    details.append(f"{name}: {chall.error.description or chall.error.typ}")
        return "validation failed: " + "; ".join(details)
    if isinstance(exc, messages.Error):
        return f"{exc.typ}: {exc.detail}" if exc.detail else str(exc.typ)
    return f"{type(exc).__name__}: {exc}"


def _account(acme: client.ClientV2, email: str) -> None:
    """Registers the key (RFC 8555 7.3) or finds the account it already has."""
    reg = messages.NewRegistration.from_data(email=email or None, terms_of_service_agreed=True)
    try:
        acme.new_account(reg)
    except errors.ConflictError as exc:  # this key has an account already: use it
        acme.net.account = messages.RegistrationResource(
            uri=exc.location, body=messages.Registration()
        )


def issue(order: Order, account_key_pem: bytes, responder: Responder) -> Issued:
    """Orders a certificate for `order.names` with a new EC P-256 key; raises IssueError."""
    account_key = serialization.load_pem_private_key(account_key_pem, password=None)
    jwk = jose.JWKEC(key=account_key)
    net = client.ClientNetwork(
        jwk,
        alg=jose.ES256,
        verify_ssl=order.ca_bundle or True,  # type: ignore[arg-type]  # requests takes a path
        user_agent="swissbox",
        timeout=NETWORK_TIMEOUT,
    )
    published: list[tuple[str, str, str, str]] = []
    try:
        acme = client.ClientV2(client.ClientV2.get_directory(order.directory_url, net), net)
        _account(acme, order.email)
        key_pem = new_key_pem()
        orderr = acme.new_order(crypto_util.make_csr(key_pem, order.names))
        kind = challenges.DNS01 if order.challenge == DNS_01 else challenges.HTTP01
        answers = []
        for authzr in orderr.authorizations:
            if authzr.body.status == messages.STATUS_VALID:
                continue  # the CA remembers an earlier proof
            domain = authzr.body.identifier.value
            found = [c for c in authzr.body.challenges if isinstance(c.chall, kind)]
            if not found:
                raise IssueError(f"{domain}: the CA offers no {order.challenge} challenge")
            challb = found[0]
            response, validation = challb.response_and_validation(jwk)
            if order.challenge == HTTP_01:
                entry = (HTTP_01, domain, challb.chall.encode("token"), validation)
            else:
                entry = (DNS_01, domain, challb.chall.validation_domain_name(domain), validation)
            responder.publish(*entry)
            published.append(entry)
            answers.append((challb, response))
        if published and order.challenge == DNS_01 and order.dns_wait > 0:
            time.sleep(order.dns_wait)  # a worker thread: secondaries pick up the NOTIFY
        for challb, response in answers:
            acme.answer_challenge(challb, response)
        deadline = dt.datetime.now() + dt.timedelta(seconds=ORDER_TIMEOUT)
        finished = acme.poll_and_finalize(orderr, deadline)
        return Issued(finished.fullchain_pem.encode("ascii"), key_pem)
    except IssueError:
        raise
    except Exception as exc:  # the library's errors, the CA's problems, the network's
        raise IssueError(_problem(exc)) from exc
    finally:
        for entry in published:
            try:
                responder.withdraw(*entry)
            except Exception:
                log.exception("acme: could not withdraw the %s challenge for %s", *entry[:2])
        net.session.close()
