"""The DNS records an Email Service publishes: MX, SPF, DMARC, autoconfig, RFC 6186/6764 SRV
(and ManageSieve's, RFC 5804), MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). DKIM keys' records
are per key (`directory.dkim`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dnslib import RR

from swissbox.mailauth.mtasts import policy_id, policy_text, record_text, tlsrpt_text


@dataclass(frozen=True)
class MailPorts:
    submission: int = 587
    submissions: int = 465
    imap: int = 143
    imaps: int = 993
    https: int = 443
    managesieve: int = 4190

    @classmethod
    def from_settings(cls, s: Any) -> MailPorts:
        """The ports the configured listeners use (what SRV records must announce)."""
        return cls(
            s.smtp.submission_port,
            s.smtp.submissions_port,
            s.imap.port,
            s.imap.tls_port,
            s.http.tls_port,
            s.managesieve.port,
        )


@dataclass(frozen=True)
class MtaSts:
    """Our MTA-STS policy's settings ([smtp] mta_sts_mode, mta_sts_max_age)."""

    mode: str = "testing"
    max_age: int = 604800

    @classmethod
    def from_settings(cls, s: Any) -> MtaSts:
        return cls(s.smtp.mta_sts_mode, s.smtp.mta_sts_max_age)

    def policy(self, hostname: str) -> str:
        """The policy file for every mail domain whose MX is `hostname`."""
        return policy_text(self.mode, [hostname], self.max_age)


def canonical(name: str, rtype: str, ttl: int, value: str) -> tuple[str, str, int, str]:
    """(name without final dot, TYPE, ttl, rdata as dnslib prints it) for an absolute record."""
    rr = RR.fromZone(f"{name}. {ttl} IN {rtype} {value}")[0]
    return name, rtype, ttl, rr.rdata.toZone()


def mail_records(
    domain: str,
    hostname: str,
    ports: MailPorts = MailPorts(),
    ttl: int = 3600,
    sts: MtaSts = MtaSts(),
) -> list[tuple[str, str, int, str]]:
    """Records for mail on `domain` served by `hostname` (both normalised, no final dot)."""
    host = hostname.rstrip(".") + "."
    sts_id = policy_id(sts.policy(hostname.rstrip(".")))
    wanted = [
        (domain, "MX", f"10 {host}"),
        (domain, "TXT", '"v=spf1 mx -all"'),
        (f"_dmarc.{domain}", "TXT", f'"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"'),
        (f"_submission._tcp.{domain}", "SRV", f"0 1 {ports.submission} {host}"),
        (f"_submissions._tcp.{domain}", "SRV", f"0 1 {ports.submissions} {host}"),
        (f"_imap._tcp.{domain}", "SRV", f"0 1 {ports.imap} {host}"),
        (f"_imaps._tcp.{domain}", "SRV", f"0 1 {ports.imaps} {host}"),
        (f"_sieve._tcp.{domain}", "SRV", f"0 1 {ports.managesieve} {host}"),  # RFC 5804 1.8
        (f"_caldavs._tcp.{domain}", "SRV", f"0 1 {ports.https} {host}"),
        (f"_carddavs._tcp.{domain}", "SRV", f"0 1 {ports.https} {host}"),
        (f"_caldavs._tcp.{domain}", "TXT", '"path=/dav/"'),
        (f"_carddavs._tcp.{domain}", "TXT", '"path=/dav/"'),
        (f"_mta-sts.{domain}", "TXT", f'"{record_text(sts_id)}"'),
        (f"_smtp._tls.{domain}", "TXT", f'"{tlsrpt_text(f"mailto:postmaster@{domain}")}"'),
    ]
    if host.rstrip(".") != f"autoconfig.{domain}":
        wanted.append((f"autoconfig.{domain}", "CNAME", host))
        wanted.append((f"autodiscover.{domain}", "CNAME", host))
    if host.rstrip(".") != f"mta-sts.{domain}":
        wanted.append((f"mta-sts.{domain}", "CNAME", host))  # the policy's HTTPS host
    return [canonical(name, rtype, ttl, value) for name, rtype, value in wanted]


def configured_mail_records(domain: str, settings: Any) -> list[tuple[str, str, int, str]]:
    """`mail_records` with this configuration's host name, ports and MTA-STS policy."""
    return mail_records(
        domain,
        settings.server.hostname,
        MailPorts.from_settings(settings),
        sts=MtaSts.from_settings(settings),
    )
