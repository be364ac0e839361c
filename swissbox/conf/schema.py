"""The settings schema: typed sections with defaults, and the checks each value must pass.

Defaults make swissbox run without root and without a config file: every service on
127.0.0.1 at its standard port + 10000 (DESIGN.md, "Running it").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def port_field(default: int) -> Any:
    return field(default=default, metadata={"min": 1, "max": 65535})


def bounded(default: int | float, lo: float, hi: float) -> Any:
    return field(default=default, metadata={"min": lo, "max": hi})


def choice(default: str, *options: str) -> Any:
    return field(default=default, metadata={"choices": options})


@dataclass
class ServerSettings:
    hostname: str = "localhost"
    # Where listeners bind; every service uses these addresses (IPv6 literals allowed).
    listen: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    # Relative paths are resolved against the config file's folder.
    data_dir: str = ""
    log_level: str = choice("info", "debug", "info", "warning", "error")
    # One line per event: "text" is key=value (logfmt), "json" one JSON object per line.
    log_format: str = choice("text", "text", "json")


@dataclass
class TlsSettings:
    # PEM files; empty means the local CA and certificate that `swissbox init` made in <data>/tls.
    cert: str = ""
    key: str = ""


@dataclass
class AuthSettings:
    # Argon2id cost for new hashes; stored hashes with other parameters are upgraded at next login.
    argon2_memory_kib: int = bounded(65536, 8, 4 * 1024 * 1024)
    argon2_iterations: int = bounded(3, 1, 100)
    argon2_lanes: int = bounded(4, 1, 64)
    # Password verifications running at once (each takes argon2_memory_kib of memory, so
    # this times that is the most logins cost), how many more may wait, and for how long
    # before the client is told to try again later.
    verify_workers: int = bounded(2, 1, 64)
    verify_queue: int = bounded(256, 0, 100000)
    verify_timeout: float = bounded(20.0, 0.1, 600)
    # Seconds a verified login is remembered (same identifier, secret and stored hash), so
    # that repeated logins do not each pay Argon2; 0 turns this off.
    login_cache_seconds: float = bounded(300.0, 0, 86400)
    # Failures before a temporary lockout, per (realm, identifier, client address) and per
    # client address over any identifiers; the same wrong secret again counts once.
    max_failures_per_identifier: int = bounded(5, 1, 1000)
    max_failures_per_address: int = bounded(20, 1, 100000)
    # An identifier is locked for every address only when failures come from this many
    # addresses within lockout_seconds (a distributed attack); its recent good addresses and
    # these networks (CIDR, e.g. the office's) still pass.
    lockout_distributed_addresses: int = bounded(10, 2, 100000)
    trusted_networks: list[str] = field(default_factory=list)
    lockout_seconds: float = bounded(300.0, 0, 86400)
    # Delay added to each failed attempt: base * 2**(failures-1), capped.
    failure_delay_base: float = bounded(0.25, 0, 60)
    failure_delay_max: float = bounded(4.0, 0, 600)


DMARC_ACTIONS = ("reject", "quarantine", "mark")


@dataclass
class SmtpSettings:
    enabled: bool = True
    mx_port: int = port_field(10025)
    submission_port: int = port_field(10587)
    submissions_port: int = port_field(10465)
    # The largest message accepted, by SMTP (SIZE, RFC 1870) and by IMAP APPEND (APPENDLIMIT,
    # RFC 7889: a bigger literal is refused before the client sends it).
    max_message_size: int = bounded(32 * 1024 * 1024, 1024, 2**31)
    max_recipients: int = bounded(100, 1, 100000)
    max_errors: int = bounded(10, 1, 1000)
    idle_timeout: float = bounded(300.0, 1, 86400)
    session_timeout: float = bounded(1800.0, 1, 86400)
    max_connections_per_address: int = bounded(20, 1, 100000)
    # Submission: the header From: and Sender: must be addresses the authenticated mailbox
    # may send as (like MAIL FROM); false checks only the envelope.
    check_header_from: bool = True
    # Sub-addressing: `user+tag@` reaches `user@` (any one of these characters separates the
    # tag; empty turns it off). Forwards rewrite the envelope sender with SRS; bounces to
    # such an address are accepted this many days. Mail with more Received: fields than
    # max_hops is refused as a loop (RFC 5321 6.3 asks for at least 100).
    subaddress_separator: str = "+"
    srs_max_age_days: int = bounded(21, 1, 365)
    max_hops: int = bounded(100, 10, 1000)
    # Delivery of queued mail to other domains.
    outbound_enabled: bool = True
    outbound_port: int = port_field(25)
    # DNS servers for MX lookups ("ip" or "ip:port"); empty: the system's resolv.conf.
    outbound_resolvers: list[str] = field(default_factory=list)
    # Send everything through this host ("ip:port") instead of looking up MX records.
    relay_host: str = ""
    retry_schedule: list[float] = field(
        default_factory=lambda: [60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0]
    )
    max_queue_age: float = bounded(5 * 86400.0, 60, 30 * 86400)
    # Seconds a front end holds a queued message it is delivering (renewed while it works):
    # after a crash, another front end takes the message over when this has run out.
    queue_lease: float = bounded(60.0, 1, 3600)
    # Our MTA-STS policy (RFC 8461), served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt:
    # "testing" (senders report TLS problems but deliver), "enforce", or "none" (withdrawn).
    mta_sts_mode: str = choice("testing", "testing", "enforce", "none")
    mta_sts_max_age: int = bounded(604800, 86400, 31557600)
    # Honour recipient domains' MTA-STS policies when delivering (an "enforce" policy means no
    # delivery without a valid certificate for an MX the policy lists).
    outbound_mta_sts: bool = True
    # Extra CA certificates (PEM) trusted for outbound TLS and policy fetches, besides the
    # system's; and the HTTPS port policies are fetched from (443; other values for tests).
    outbound_ca_file: str = ""
    outbound_https_port: int = port_field(443)
    # MX ingress mail authentication (SPF, DKIM, DMARC; Authentication-Results). DNS servers
    # for its lookups ("ip" or "ip:port"; empty: the system's resolv.conf) and their time limit.
    # A DMARC `reject` is refused at the end of DATA ("reject", 550 5.7.1), put in the
    # recipient's Junk ("quarantine") or only marked ("mark"); a DMARC result that DNS could not
    # decide (temperror) is answered 451 4.7.5 ("defer") or delivered with the mark ("mark").
    inbound_auth: bool = True
    inbound_resolvers: list[str] = field(default_factory=list)
    inbound_dns_timeout: float = bounded(5.0, 0.1, 60)
    dmarc_reject_action: str = choice("reject", *DMARC_ACTIONS)
    # The same per recipient domain, "domain=action" (e.g. "lists.example.org=mark"); other
    # domains take dmarc_reject_action. One message for several domains gets one action: reject
    # when all say reject, else Junk when any says reject or quarantine, else the mark only.
    dmarc_reject_action_domains: list[str] = field(default_factory=list)
    # Worker processes that check DKIM signatures (most of the checks' CPU) beside the server
    # process, so a second core takes that share; 0 checks on the server's event loop.
    inbound_verify_processes: int = bounded(1, 0, 64)
    auth_temperror_action: str = choice("defer", "defer", "mark")


@dataclass
class ImapSettings:
    enabled: bool = True
    port: int = port_field(10143)
    tls_port: int = port_field(10993)
    allow_plaintext_loopback: bool = False
    idle_timeout: float = bounded(1800.0, 1, 86400)
    # Seconds a connection may stay unauthenticated.
    login_timeout: float = bounded(60.0, 1, 3600)
    expunged_retention_days: int = bounded(30, 0, 3650)


@dataclass
class ManageSieveSettings:
    """ManageSieve (RFC 5804): upload Sieve scripts; STARTTLS, AUTH in the mailbox realm."""

    enabled: bool = True
    port: int = port_field(14190)
    allow_plaintext_loopback: bool = False
    idle_timeout: float = bounded(1800.0, 1, 86400)
    # Seconds a connection may stay unauthenticated.
    login_timeout: float = bounded(60.0, 1, 3600)
    max_connections_per_address: int = bounded(20, 1, 10000)


@dataclass
class DnsSettings:
    enabled: bool = True
    port: int = port_field(10053)
    # Zone transfer and NOTIFY: addresses allowed to AXFR, and secondaries to notify ("ip" or "ip:port").
    allow_transfer: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    tcp_idle_timeout: float = bounded(10.0, 0.1, 3600)
    # TCP slots: in all, per client address, and the idle timeout once 3/4 of them are taken
    # (a newcomer finding all taken closes the longest-idle connection of the biggest holder).
    tcp_max_connections: int = bounded(256, 1, 65535)
    tcp_max_per_client: int = bounded(32, 1, 65535)
    tcp_busy_idle_timeout: float = bounded(2.0, 0.1, 3600)


@dataclass
class HttpSettings:
    enabled: bool = True
    port: int = port_field(10080)
    tls_port: int = port_field(10443)
    trusted_proxies: list[str] = field(default_factory=list)
    # Clients (the connection's own address) that may send passwords over plain HTTP; all
    # others must use HTTPS. Loopback covers a local reverse proxy that terminates TLS.
    plain_auth_networks: list[str] = field(default_factory=lambda: ["127.0.0.0/8", "::1"])
    # Largest request body accepted (DAV uploads); larger ones get 413 before being read.
    max_body: int = bounded(10 * 1024 * 1024, 1024, 2**31)
    # Strict-Transport-Security max-age (seconds) on HTTPS answers; 0 sends none.
    hsts_max_age: int = bounded(365 * 86400, 0, 2**31)


@dataclass
class DavSettings:
    # Radicale's worker threads (each request holds one while Radicale works).
    threads: int = bounded(8, 1, 256)


@dataclass
class DdnsSettings:
    default_ttl: int = bounded(60, 1, 86400)
    allow_private_addresses: bool = True
    # Accept /nic/update credentials over plain HTTP from anywhere, for routers that cannot
    # speak HTTPS (the DDNS password then crosses the network in clear).
    allow_plain_http: bool = False


@dataclass
class TnefSettings:
    mode: str = choice("replace", "replace", "keep", "off")


@dataclass
class StoreSettings:
    # Where the directory lives: empty for the embedded SQLite file in the data folder, or a
    # postgresql://user@host/db URL so that several `serve` front ends share one database.
    url: str = ""
    # Where message files live (the mail folders and the outbound queue): empty for the data
    # folder; with several front ends, one path that all of them mount (a shared filesystem).
    blob_path: str = ""


@dataclass
class MetricsSettings:
    # Prometheus /metrics on a listener of its own; loopback unless listed otherwise (the
    # figures tell about users and traffic).
    enabled: bool = True
    port: int = port_field(19090)
    listen: list[str] = field(default_factory=lambda: ["127.0.0.1"])


@dataclass
class FilterSettings:
    """Spam and malware defence (swissbox.filter); everything off by default."""

    # Content scanners run at the end of DATA, after the recipient checks and before the 250:
    # "rspamd", "clamd", or the dotted name of a module defining a `Scanner` class.
    scanners: list[str] = field(default_factory=list)
    # Each check's time limit, and what a scanner that is down, slow or answering garbage
    # means: "accept" delivers with an X-Filter-Unchecked field, "defer" answers 451 4.7.1.
    timeout: float = bounded(10.0, 0.1, 300)
    on_failure: str = choice("accept", "accept", "defer")
    # Messages bigger than this are delivered unscanned (with X-Filter-Unchecked); 0: no limit.
    max_scan_size: int = bounded(20 * 1024 * 1024, 0, 2**31)
    # rspamd's normal worker (/checkv2) and controller (learning), and the controller's password.
    rspamd_url: str = "http://127.0.0.1:11333"
    rspamd_controller_url: str = "http://127.0.0.1:11334"
    rspamd_password: str = ""
    # What rspamd's "reject" does at the MX: refuse (550 5.7.1) or deliver to Junk.
    rspamd_reject: str = choice("reject", "reject", "junk")
    # Authenticated submission: refused (550 5.7.1) from this rspamd score up.
    submission_reject_score: float = bounded(15.0, 0, 1000)
    # Moving mail into Junk teaches rspamd spam, out of Junk ham; lessons waiting at most.
    learn_junk: bool = True
    learn_queue: int = bounded(100, 1, 100000)
    # clamd's socket: a path (Unix socket) or "ip:port".
    clamd_socket: str = "/run/clamav/clamd.ctl"
    # DNS blocklists checked at RCPT (MX only): "zone", or "zone=127.0.0.2,127.0.0.4:exploited"
    # to count only those answers as a listing (a meaning after ':' is named in the 554 reply);
    # looked up with [smtp] inbound_resolvers.
    dnsbl_zones: list[str] = field(default_factory=list)
    dnsbl_cache_seconds: float = bounded(300.0, 0, 86400)
    # Authenticated submission: per mailbox, over the last hour (0: no limit); 451 4.7.1 past it.
    max_messages_per_hour: int = bounded(0, 0, 10**9)
    max_recipients_per_hour: int = bounded(0, 0, 10**9)


@dataclass
class AcmeSettings:
    # Certificates from an ACME CA (RFC 8555) for server.hostname and the names each mail domain
    # needs (autoconfig., autodiscover., mta-sts.); when off, [tls] (or the local CA) is served.
    enabled: bool = False
    directory_url: str = "https://acme-v02.api.letsencrypt.org/directory"
    email: str = ""
    # http-01: answered on the HTTP port (must be reachable as port 80 from the CA);
    # dns-01: a TXT record in our own hosted zone (names outside them cannot be proven).
    challenge: str = choice("http-01", "http-01", "dns-01")
    # More names on the same certificate ("*.example.org" needs dns-01).
    extra_names: list[str] = field(default_factory=list)
    renew_days: int = bounded(30, 1, 365)
    # PEM file of CAs to trust for directory_url (a private ACME server); empty: the system's.
    ca_bundle: str = ""
    # How often the names and expiry are looked at, the first retry after a failure (doubling
    # up to a day), and the wait after publishing a DNS-01 record when [dns] notify lists
    # secondaries (they transfer the zone before the CA asks one of them).
    check_seconds: float = bounded(600.0, 0.1, 86400)
    retry_seconds: float = bounded(300.0, 0.1, 86400)
    dns_wait_seconds: float = bounded(5.0, 0, 600)


@dataclass
class ManagerSettings:
    """The admin API and web pages (swissbox.manager)."""

    # Days the audit log keeps an entry; older ones are pruned once a day and by
    # `swissbox audit prune`.
    audit_days: int = bounded(400, 1, 36500)


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    managesieve: ManageSieveSettings = field(default_factory=ManageSieveSettings)
    dns: DnsSettings = field(default_factory=DnsSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    ddns: DdnsSettings = field(default_factory=DdnsSettings)
    dav: DavSettings = field(default_factory=DavSettings)
    tnef: TnefSettings = field(default_factory=TnefSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    acme: AcmeSettings = field(default_factory=AcmeSettings)
    filter: FilterSettings = field(default_factory=FilterSettings)
    manager: ManagerSettings = field(default_factory=ManagerSettings)
