"""Load `swissbox.toml` into `Settings`: every unknown key and bad value reported at once."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swissbox.conf.schema import DMARC_ACTIONS, Settings
from swissbox.directory.names import InvalidName, normalize_domain

CONFIG_NAME = "swissbox.toml"
DATA_ENV = "SWISSBOX_DATA"
DEFAULT_DATA = "var"


class ConfigError(Exception):
    """One or more configuration problems; `problems` lists each as 'key: what is wrong'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


@dataclass
class Config:
    """Validated settings plus the resolved locations they came from."""

    settings: Settings
    data_dir: Path
    config_path: Path | None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "swissbox.db"

    @property
    def directory_location(self) -> Path | str:
        """The directory database: `[store] url`, or the SQLite file in the data folder."""
        return self.settings.store.url or self.db_path

    @property
    def initialized(self) -> bool:
        """`swissbox init` has run: the database file exists (a PostgreSQL database is
        created and migrated on first use)."""
        return bool(self.settings.store.url) or self.db_path.exists()

    @property
    def blob_root(self) -> Path:
        """The folder holding `mail/` and `queue/`: `[store] blob_path` or the data folder."""
        blob = self.settings.store.blob_path
        return self.relative(blob) if blob else self.data_dir

    @property
    def mail_dir(self) -> Path:
        return self.blob_root / "mail"

    @property
    def queue_dir(self) -> Path:
        return self.blob_root / "queue"

    @property
    def dkim_dir(self) -> Path:
        """DKIM private keys: beside the mail, so every front end that shares it signs."""
        return self.blob_root / "dkim"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    def relative(self, name: str) -> Path:
        """A file named in the settings: relative to the config file's folder (the working
        folder without a config file); an absolute name stays."""
        return (self.config_path.parent if self.config_path else Path.cwd()) / name


def _check_scalar(key: str, tp: Any, value: Any, meta: Any, problems: list[str]) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{key}: expected a boolean (true/false), got {value!r}")
            return None
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key}: expected an integer, got {value!r}")
            return None
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{key}: expected a number, got {value!r}")
            return None
        value = float(value)
    elif tp is str and not isinstance(value, str):
        problems.append(f"{key}: expected a string, got {value!r}")
        return None
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        problems.append(f"{key}: {value!r} is out of range ({lo}..{hi})")
        return None
    choices = meta.get("choices")
    if choices and value not in choices:
        problems.append(f"{key}: {value!r} is not one of {', '.join(map(repr, choices))}")
        return None
    return value


def _all_keys(cls: Any = Settings, prefix: str = "") -> list[str]:
    """Every dotted key of the schema: 'server', 'server.hostname', ..."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        keys.append(prefix + f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            keys += _all_keys(hints[f.name], f"{prefix}{f.name}.")
    return keys


# Keys that older versions knew, with what replaced them.
REPLACED_KEYS = {
    "imap.max_literal": "APPEND now follows smtp.max_message_size (one limit for both)",
}


def _nearest_key(prefix: str, name: str, fields: Mapping[str, Any]) -> str:
    """' — did you mean smtp.mx_port?' for a misspelt or misplaced key, else the keys known
    in that table."""
    if prefix + name in REPLACED_KEYS:
        return f" — {REPLACED_KEYS[prefix + name]}"
    elsewhere = [k for k in _all_keys() if k.rsplit(".", 1)[-1] == name]
    close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    if elsewhere:
        return f" — did you mean {elsewhere[0]}?"
    if close:
        return f" — did you mean {prefix}{close[0]}?"
    anywhere = difflib.get_close_matches(prefix + name, _all_keys(), n=1, cutoff=0.75)
    if anywhere:
        return f" — did you mean {anywhere[0]}?"
    return f" (known here: {', '.join(sorted(fields))})"


def _build(cls: Any, raw: Any, prefix: str, problems: list[str]) -> Any:
    if not isinstance(raw, dict):
        problems.append(f"{prefix.rstrip('.') or 'top level'}: expected a table, got {raw!r}")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name in raw:
        if name not in fields:
            problems.append(f"{prefix}{name}: unknown key{_nearest_key(prefix, name, fields)}")
    for name, f in fields.items():
        if name not in raw:
            continue
        key, tp, value = prefix + name, hints[name], raw[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, value, key + ".", problems)
        elif typing.get_origin(tp) is list:
            (item_tp,) = typing.get_args(tp)
            if not isinstance(value, list):
                problems.append(f"{key}: expected a list, got {value!r}")
                continue
            items = [
                _check_scalar(f"{key}[{i}]", item_tp, v, {}, problems) for i, v in enumerate(value)
            ]
            if None not in items:
                values[name] = items
        else:
            checked = _check_scalar(key, tp, value, f.metadata, problems)
            if checked is not None:
                values[name] = checked
    return cls(**values)


def _hostname_problem(name: str) -> str | None:
    """Why `name` cannot be the server's host name (MX, NS, EHLO, certificate), or None."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "is an IP address; give the host name that MX and NS records point to"
    try:
        normal = normalize_domain(name)
    except InvalidName as exc:
        return f"is not a valid DNS name ({str(exc).split(': ', 1)[-1]})"
    if any(label.startswith("_") for label in normal.split(".")):
        return "is not a valid host name (no label may start with '_')"
    return None


def _listen_checks(listen: list[str], problems: list[str]) -> None:
    """IP addresses, each once; a wildcard (0.0.0.0, ::) already covers its family's
    addresses, and binding both to one port fails."""
    if not listen:
        problems.append("server.listen: at least one address is needed")
    seen: dict[Any, int] = {}
    for i, addr in enumerate(listen):
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            problems.append(f"server.listen[{i}]: {addr!r} is not an IP address")
            continue
        if ip in seen:
            problems.append(f"server.listen[{i}]: {addr!r} is listed twice")
        seen.setdefault(ip, i)
    for ip, i in seen.items():
        wildcard = ipaddress.ip_address("0.0.0.0" if ip.version == 4 else "::")
        if ip != wildcard and wildcard in seen:
            problems.append(
                f"server.listen[{i}]: {listen[i]!r} is already covered by {str(wildcard)!r}"
                " (binding both to one port fails): list one or the other"
            )


def hostport_problem(entry: str, default_port: int) -> str | None:
    """Why `entry` is not 'ip', 'ip:port' or '[ipv6]:port', or None when it is."""
    if parse_hostport(entry, default_port) is not None:
        return None
    host, port_text = _split_hostport(entry)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return (
            f"{host!r} is not an IP address (host names are not looked up here);"
            " write 'address' or 'address:port'"
        )
    return f"port {port_text!r} is not a number from 1 to 65535"


SUBADDRESS_SEPARATORS = "+-_#~"  # allowed in a local part, no routing meaning


def _cross_checks(s: Settings, problems: list[str]) -> None:
    problem = _hostname_problem(s.server.hostname)
    if problem:
        problems.append(f"server.hostname: {s.server.hostname!r} {problem}")
    _listen_checks(s.server.listen, problems)
    ports: dict[int, str] = {}
    enabled = {
        "smtp": s.smtp.enabled,
        "imap": s.imap.enabled,
        "dns": s.dns.enabled,
        "http": s.http.enabled,
        "metrics": s.metrics.enabled,
    }
    for section, names in (
        ("smtp", ("mx_port", "submission_port", "submissions_port")),
        ("imap", ("port", "tls_port")),
        ("dns", ("port",)),
        ("http", ("port", "tls_port")),
        ("metrics", ("port",)),
    ):
        if not enabled[section]:
            continue
        for name in names:
            value = getattr(getattr(s, section), name)
            key = f"{section}.{name}"
            if value in ports:
                problems.append(f"{key}: port {value} is also used by {ports[value]}")
            else:
                ports[value] = key
    for i, addr in enumerate(s.metrics.listen):
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            problems.append(f"metrics.listen[{i}]: {addr!r} is not an IP address")
    if s.auth.argon2_memory_kib < 8 * s.auth.argon2_lanes:
        problems.append("auth.argon2_memory_kib: must be at least 8 x auth.argon2_lanes")
    if any(c not in SUBADDRESS_SEPARATORS for c in s.smtp.subaddress_separator):
        problems.append(
            f"smtp.subaddress_separator: {s.smtp.subaddress_separator!r} may hold only"
            f" {' '.join(SUBADDRESS_SEPARATORS)} (or be empty: no sub-addresses)"
        )
    if bool(s.tls.cert) != bool(s.tls.key):
        problems.append("tls.cert, tls.key: give both files or neither")
    for i, entry in enumerate(s.dns.allow_transfer):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"dns.allow_transfer[{i}]: {entry!r} is not an address or network")
    hostports = [(f"dns.notify[{i}]", e, 53) for i, e in enumerate(s.dns.notify)]
    hostports += [
        (f"smtp.outbound_resolvers[{i}]", e, 53) for i, e in enumerate(s.smtp.outbound_resolvers)
    ]
    hostports += [
        (f"smtp.inbound_resolvers[{i}]", e, 53) for i, e in enumerate(s.smtp.inbound_resolvers)
    ]
    if s.smtp.relay_host:
        hostports.append(("smtp.relay_host", s.smtp.relay_host, 25))
    for key, entry, default_port in hostports:
        problem = hostport_problem(entry, default_port)
        if problem:
            problems.append(f"{key}: {entry!r}: {problem}")
    for i, entry in enumerate(s.smtp.dmarc_reject_action_domains):
        domain, eq, action = entry.partition("=")
        try:
            normalize_domain(domain.strip())
        except InvalidName:
            eq = ""
        if not eq or action.strip() not in DMARC_ACTIONS:
            problems.append(
                f"smtp.dmarc_reject_action_domains[{i}]: {entry!r} is not domain=action"
                f" with action one of {', '.join(DMARC_ACTIONS)}"
            )
    if not s.smtp.retry_schedule or any(not 0 < x <= 86400 for x in s.smtp.retry_schedule):
        problems.append("smtp.retry_schedule: give one or more delays between 0 and 86400 seconds")
    for i, entry in enumerate(s.http.trusted_proxies):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"http.trusted_proxies[{i}]: {entry!r} is not an address or network")
    for i, entry in enumerate(s.http.plain_auth_networks):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(
                f"http.plain_auth_networks[{i}]: {entry!r} is not an address or network"
            )
    if s.store.url and not s.store.url.startswith(("postgresql://", "postgres://")):
        problems.append(
            f"store.url: {s.store.url!r} is not a postgresql:// URL (leave it empty for SQLite)"
        )
    _filter_checks(s.filter, problems)
    _acme_checks(s, problems)
    for i, entry in enumerate(s.auth.trusted_networks):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"auth.trusted_networks[{i}]: {entry!r} is not an address or network")


def _acme_checks(s: Settings, problems: list[str]) -> None:
    a = s.acme
    if not a.enabled:
        return
    if not a.directory_url.startswith("https://"):
        problems.append(f"acme.directory_url: {a.directory_url!r} is not an https:// URL")
    if a.challenge == "http-01" and not s.http.enabled:
        problems.append("acme.challenge: http-01 is answered on the HTTP port: enable [http]")
    if a.challenge == "dns-01" and not s.dns.enabled:
        problems.append("acme.challenge: dns-01 is answered by our DNS server: enable [dns]")
    if a.email and "@" not in a.email:
        problems.append(f"acme.email: {a.email!r} is not an email address")
    for i, name in enumerate(a.extra_names):
        if name.startswith("*.") and a.challenge != "dns-01":
            problems.append(
                f'acme.extra_names[{i}]: {name!r}: a wildcard needs challenge = "dns-01"'
            )


def _filter_checks(f: Any, problems: list[str]) -> None:
    """[filter]: scanners that load, blocklist zones, endpoints that parse."""
    from swissbox.filter.dnsbl import Zone
    from swissbox.filter.httpclient import Endpoint
    from swissbox.filter.pipeline import scanner_class

    for i, name in enumerate(f.scanners):
        try:
            scanner_class(name)
        except (ImportError, TypeError, ValueError) as exc:
            problems.append(f"filter.scanners[{i}]: {name!r} is not a scanner ({exc})")
    if len(set(f.scanners)) != len(f.scanners):
        problems.append("filter.scanners: a scanner is listed twice")
    for i, entry in enumerate(f.dnsbl_zones):
        try:
            Zone.parse(entry)
        except ValueError as exc:
            problems.append(f"filter.dnsbl_zones[{i}]: {exc}")
    for key in ("rspamd_url", "rspamd_controller_url"):
        value = getattr(f, key)
        try:
            if value or key == "rspamd_url":
                Endpoint.parse(value)
        except ValueError as exc:
            problems.append(f"filter.{key}: {exc}")
    if not f.clamd_socket.startswith("/") and parse_hostport(f.clamd_socket, 3310) is None:
        problems.append(f"filter.clamd_socket: {f.clamd_socket!r}: give a socket path or 'ip:port'")


def _split_hostport(entry: str) -> tuple[str, str]:
    """(host, port text or "") of 'host', 'host:port', '[ipv6]:port' or a bare IPv6 address."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else rest
    if entry.count(":") == 1:
        host, port_text = entry.split(":")
        return host, port_text
    return entry, ""


def parse_hostport(entry: str, default_port: int) -> tuple[str, int] | None:
    """'192.0.2.1', '192.0.2.1:5300', '[2001:db8::1]:5300' or '2001:db8::1' -> (ip, port)."""
    host, port_text = _split_hostport(entry)
    try:
        ipaddress.ip_address(host)
        port = int(port_text) if port_text else default_port
    except ValueError:
        return None
    return (host, port) if 0 < port < 65536 else None


def settings_from_dict(raw: dict[str, Any], source: str = "<settings>") -> Settings:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    problems: list[str] = []
    settings = _build(Settings, raw, "", problems)
    if not problems:
        _cross_checks(settings, problems)
    if problems:
        raise ConfigError(source, problems)
    settings.server.hostname = normalize_domain(settings.server.hostname)
    return settings


def resolve_data_dir(data: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--data beats SWISSBOX_DATA beats ./var."""
    found = (os.environ if env is None else env).get(DATA_ENV)
    return Path(data or found or DEFAULT_DATA)


def load(
    data: str | None = None, config: str | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Settings for a command: --config FILE, else <data>/swissbox.toml, else the defaults.

    The data folder is --data, else SWISSBOX_DATA, else the config's `server.data_dir`
    (relative to the config file), else the config file's folder, else ./var.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    path: Path | None
    if config:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(str(path), ["config file not found"])
    else:
        candidate = resolve_data_dir(data, environ) / CONFIG_NAME
        path = candidate if candidate.is_file() else None
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), [f"cannot read: {exc}"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    settings = settings_from_dict(raw, str(path or "<defaults>"))
    if data or environ.get(DATA_ENV) or path is None or not config:
        data_dir = resolve_data_dir(data, environ)
    elif settings.server.data_dir:
        data_dir = path.parent / settings.server.data_dir
    else:
        data_dir = path.parent
    return Config(settings=settings, data_dir=data_dir.resolve(), config_path=path)
