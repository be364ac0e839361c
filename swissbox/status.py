"""`swissbox status`: the running server's readiness (asked over loopback HTTP, as a
monitor would) and each TLS certificate's expiry date.

Exit status 0 when the server answers ready, 1 when it is not ready or not running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import ipaddress
import json
from pathlib import Path
from typing import Any

from cryptography import x509

from swissbox.cliutil import CliEnv
from swissbox.conf import Config
from swissbox.health import directory_problem
from swissbox.runtime import fmt_addr
from swissbox.tls import configured_paths

ASK_TIMEOUT = 10.0  # seconds; readiness itself waits at most ~2 s for the database


def local_address(listen: str) -> str:
    """An address of ours to connect to: a wildcard listener is reached on loopback."""
    ip = ipaddress.ip_address(listen)
    if ip.is_unspecified:
        return "::1" if ip.version == 6 else "127.0.0.1"
    return listen


def ask_server(config: Config) -> dict[str, Any]:
    """The server's /healthz/ready answer, or {"running": False, "error": why}."""
    s = config.settings
    if not s.http.enabled:
        problem = directory_problem(config.directory_location)
        report: dict[str, Any] = {"running": None, "error": "[http] is disabled: not asked"}
        if problem:
            report["failing"] = {"directory": problem}
        return report
    host, port = local_address(s.server.listen[0]), s.http.port
    conn = http.client.HTTPConnection(host, port, timeout=ASK_TIMEOUT)
    try:
        conn.request("GET", "/healthz/ready")
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        where = fmt_addr(host, port)
        return {"running": False, "error": f"nothing answers on {where} ({exc.strerror or exc})"}
    finally:
        conn.close()
    try:
        report = json.loads(body)
    except ValueError:
        return {"running": False, "error": f"not a swissbox answer (HTTP {response.status})"}
    return {"running": True, **report}


def certificate_info(path: Path, now: dt.datetime | None = None) -> dict[str, Any]:
    """Subject names and expiry of the first certificate in a PEM file."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (OSError, ValueError) as exc:
        return {"path": str(path), "error": getattr(exc, "strerror", None) or str(exc)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject if a.oid == x509.NameOID.COMMON_NAME]  # type: ignore[misc]
    expires = cert.not_valid_after_utc
    return {
        "path": str(path),
        "names": names,
        "expires": expires.strftime("%Y-%m-%d"),
        "days_left": (expires - now).days,
    }


def acme_report(config: Config) -> dict[str, Any] | None:
    """The ACME certificate's names and expiry and the renewal state, when [acme] is on."""
    if not config.settings.acme.enabled:
        return None
    from swissbox.acme.files import AcmeFiles

    files = AcmeFiles(config.data_dir)
    state = files.state()
    return {
        "certificate": certificate_info(files.cert) if files.cert.exists() else None,
        "last_attempt": _when(state.last_attempt),
        "last_success": _when(state.last_success),
        "last_error": state.last_error,
        "failures": state.failures,
        "next_attempt": _when(state.next_attempt),
    }


def _when(stamp: float) -> str:
    return (
        dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if stamp else ""
    )


def acme_lines(acme: dict[str, Any]) -> list[str]:
    cert = acme["certificate"]
    if cert is None:
        lines = ["acme: no certificate yet"]
    elif "error" in cert:
        lines = [f"acme: certificate {cert['path']}: {cert['error']}"]
    else:
        lines = [f"acme: certificate for {', '.join(cert['names'])}, expires {cert['expires']}"]
    if acme["last_error"]:
        lines.append(
            f"acme: last error ({acme['last_attempt']}, {acme['failures']} in a row,"
            f" next try {acme['next_attempt'] or 'soon'}): {acme['last_error']}"
        )
    elif acme["last_success"]:
        lines.append(f"acme: last renewed {acme['last_success']}")
    return lines


def cmd_status(args: argparse.Namespace, env: CliEnv) -> int:
    config = env.config
    server = ask_server(config)
    paths = configured_paths(config)
    certs = [certificate_info(p) for p in (paths.cert, paths.ca) if p is not None and p.exists()]
    if not certs:
        certs = [certificate_info(paths.cert)]
    acme = acme_report(config)
    ready = bool(server.get("ready"))
    lines = []
    if server.get("running") is False:
        lines.append(f"server: not running: {server['error']}")
    elif server.get("running") is None:
        lines.append(f"server: {server['error']}")
    else:
        lines.append("server: ready" if ready else "server: NOT READY")
    for name, why in sorted(server.get("failing", {}).items()):
        lines.append(f"  {name}: {why}")
    for c in certs:
        if "error" in c:
            lines.append(f"certificate {c['path']}: {c['error']}")
            continue
        left = c["days_left"]
        when = f"EXPIRED {-left} days ago" if left < 0 else f"{left} days left"
        names = ", ".join(c["names"]) or "-"
        lines.append(f"certificate {c['path']} ({names}): expires {c['expires']} ({when})")
    if acme is not None:
        lines += acme_lines(acme)
    report: dict[str, Any] = {"server": server, "certificates": certs}
    if acme is not None:
        report["acme"] = acme
    env.emit(report, "\n".join(lines))
    return 0 if ready else 1


def add_commands(sub: Any, common: Any, groups: dict[str, Any] | None = None) -> None:
    p = sub.add_parser(
        "status",
        parents=[common],
        help="is the running server ready, and when do its certificates expire",
    )
    p.set_defaults(func=cmd_status)
