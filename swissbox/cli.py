"""The `swissbox` command: init, serve, check-config, demo, and the admin verbs of DESIGN.md."""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import secrets
import sqlite3
import string
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from swissbox import __version__
from swissbox.auth import WeakPassword, hash_secret, hashed_new_secret
from swissbox.cliutil import CliEnv, CommandError, read_password
from swissbox.conf import CONFIG_NAME, ConfigError, load, render_config
from swissbox.conf.machine import machine_problems
from swissbox.directory import (
    ROLE_NAMES,
    ROLES,
    Directory,
    DirectoryError,
    InvalidName,
    normalize_domain,
)
from swissbox.directory.ddnsrules import add_ddns_host
from swissbox.directory.mailboxrules import (
    QUOTA_RULE,
    SIZE_RULE,
    check_quota,
    create_mailbox,
    delete_mailbox,
    parse_size,
    quota_words,
    set_quota,
)
from swissbox.directory.mailservice import enable_mail
from swissbox.store import StoreError
from swissbox.tls import TlsError, check_certificate, configured_paths, make_local_ca

Handler = Callable[[argparse.Namespace, CliEnv], int]
VERB_GROUPS: dict[str, Any] = {}

# Protocol packages that contribute verbs through `<package>.command.add_commands`.
PLUGIN_COMMANDS = (
    "swissbox.dns.command",
    "swissbox.imap.command",
    "swissbox.dav.command",
    "swissbox.smtp.command",
    "swissbox.smtp.outbound.command",
    "swissbox.directory.command",
    "swissbox.directory.twofactorcmd",
    "swissbox.backup.command",
    "swissbox.store.command",
    "swissbox.status",
    "swissbox.acme.command",
    "swissbox.manager.command",
)


def _new_secret(args: argparse.Namespace, env: CliEnv, realm: str) -> str:
    secret = read_password(args)
    try:
        return hashed_new_secret(realm, secret, env.hash_params)
    except WeakPassword as exc:
        raise CommandError(str(exc)) from None


def _hostname_argument(text: str) -> str:
    try:
        return normalize_domain(text)
    except InvalidName as exc:
        raise CommandError(f"--hostname {exc}") from None


# -- init / check-config / serve --------------------------------------------------------------


def cmd_init(args: argparse.Namespace, env: CliEnv) -> int:
    hostname = _hostname_argument(args.hostname) if args.hostname else None
    data = env.config.data_dir
    conf_path = data / CONFIG_NAME
    current = env.config.settings.server.hostname
    if hostname and conf_path.exists() and hostname != current:
        raise CommandError(
            f"{conf_path} exists with server.hostname {current!r}: change it there"
            " (--hostname only fills in a new file)"
        )
    data.mkdir(parents=True, exist_ok=True)
    if not conf_path.exists():
        overrides: dict[str, dict[str, Any]] = {}
        if hostname:
            overrides["server"] = {"hostname": hostname}
        conf_path.write_text(render_config(overrides), encoding="utf-8")
        print(f"wrote {conf_path}")
        env.config = load(data=str(data))
    else:
        print(f"kept {conf_path}")
    settings = env.config.settings
    if settings.tls.cert:
        paths = configured_paths(env.config)
        check_certificate(paths)
        print(f"using certificate {paths.cert}")
    else:
        paths = make_local_ca(env.config.tls_dir, settings.server.hostname)
        print(f"TLS certificate {paths.cert} (signed by the local CA {paths.ca})")
        print(f"  clients must trust the CA file: {paths.ca}")
    Directory(env.config.directory_location).close()
    print(f"database {_shown(env.config.directory_location)}")
    return 0


def cmd_check_config(args: argparse.Namespace, env: CliEnv) -> int:
    """Loading already checked every key and value; this adds what needs this machine."""
    source = str(env.config.config_path or "defaults (no swissbox.toml)")
    problems = machine_problems(env.config.settings)
    if problems:
        print(f"swissbox: {ConfigError(source, problems)}", file=sys.stderr)
        return 2
    print(f"{source}: OK")
    return 0


def cmd_serve(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.server import serve

    return serve(env.config)


# -- organizations and accounts ---------------------------------------------------------------


def cmd_org_add(args: argparse.Namespace, env: CliEnv) -> int:
    org = env.directory.add_org(args.org)
    print(f"organization {org.name} created")
    return 0


def cmd_org_list(args: argparse.Namespace, env: CliEnv) -> int:
    orgs = env.directory.orgs()
    env.emit([{"name": o.name} for o in orgs], "\n".join(o.name for o in orgs))
    return 0


def cmd_account_add(args: argparse.Namespace, env: CliEnv) -> int:
    password_hash = _new_secret(args, env, "account")
    account = env.directory.add_account(
        args.login, password_hash, args.org, args.role, args.name or "", args.phone or ""
    )
    print(f"account {account.login} created in {args.org} as {ROLE_NAMES[args.role]}")
    return 0


def cmd_account_set(args: argparse.Namespace, env: CliEnv) -> int:
    password_hash = _new_secret(args, env, "account") if args.password_stdin else None
    account = env.directory.update_account(
        args.login, display_name=args.name, phone=args.phone, password_hash=password_hash
    )
    print(f"account {account.login} updated")
    return 0


def cmd_account_list(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    orgs = [args.org] if args.org else [o.name for o in d.orgs()]
    rows = []
    for org in orgs:
        for m in d.members(org):
            rows.append(
                {
                    "login": m.account.login,
                    "name": m.account.display_name,
                    "phone": m.account.phone,
                    "org": m.org,
                    "role": m.role,
                    "private": m.private,
                }
            )
    text = "\n".join(f"{r['login']}\t{r['org']}\t{r['role']}\t{r['name']}" for r in rows)
    env.emit(rows, text)
    return 0


# -- domains and mail -------------------------------------------------------------------------


def cmd_domain_add(args: argparse.Namespace, env: CliEnv) -> int:
    hostname = env.config.settings.server.hostname
    domain = env.directory.add_domain(args.domain, args.org, hostname)
    print(
        f"domain {domain.name} hosted for {domain.org} (SOA serial {domain.serial}, NS {hostname})"
    )
    return 0


def cmd_domain_list(args: argparse.Namespace, env: CliEnv) -> int:
    domains = env.directory.domains(args.org)
    rows = [{"domain": d.name, "org": d.org, "serial": d.serial} for d in domains]
    env.emit(rows, "\n".join(f"{d.name}\t{d.org}\t{d.serial}" for d in domains))
    return 0


def cmd_mail_enable(args: argparse.Namespace, env: CliEnv) -> int:
    service, records, made = enable_mail(
        env.directory, env.config.dkim_dir, env.config.settings, args.domain, args.max_addresses
    )
    limit = "no limit" if service.max_addresses is None else f"at most {service.max_addresses}"
    print(
        f"Email Service on {service.domain} ({limit} addresses);"
        f" published {len(records) + len(made)} DNS records"
    )
    for key in made:
        print(f"DKIM key {key.algorithm}: {key.name} (signs once the record is seen in DNS)")
    return 0


def cmd_mailbox_add(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        check_quota(args.quota)
    except DirectoryError:
        raise CommandError(f"--quota: {QUOTA_RULE}") from None
    password_hash = _new_secret(args, env, "mailbox")
    from swissbox.mailstore import MailStore

    store = MailStore(env.config.mail_dir, env.config.settings.store.url)
    try:
        mailbox = create_mailbox(env.directory, args.address, password_hash, args.quota, store)
    finally:
        store.close()
    print(f"mailbox {mailbox.address} created")
    return 0


def cmd_mailbox_quota(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        quota = parse_size(args.size)
    except DirectoryError as exc:
        raise CommandError(str(exc)) from None
    mailbox = set_quota(env.directory, args.address, quota)
    print(f"quota of {mailbox.address}: {quota_words(mailbox.quota_bytes)}")
    return 0


def cmd_mailbox_delete(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.mailstore import MailStore

    store = MailStore(env.config.mail_dir, env.config.settings.store.url)
    try:
        days = env.config.settings.imap.expunged_retention_days
        done = delete_mailbox(env.directory, store, args.address, days, args.erase)
    finally:
        store.close()
    print(f"mailbox {done.address} deleted: mail to it is refused, its sessions end")
    for alias in done.aliases:
        print(f"alias {alias} no longer delivers to it")
    for domain in done.catch_alls:
        print(f"{domain} has no catch-all any more (it was {done.address})")
    if done.erase_after is None:
        print("its mail was erased")
    else:
        until = time.strftime("%Y-%m-%d", time.gmtime(done.erase_after))
        print(f"its mail is out of reach and erased on {until} (--erase: at once)")
    return 0


def _change_password(
    args: argparse.Namespace, env: CliEnv, realm: str, identifier: str, what: str
) -> int:
    """The `passwd` verbs of the three realms: the identifier must exist before any prompt."""
    found = env.directory.secret_hash(realm, identifier)
    if found is None:
        raise CommandError(f"no {what} {identifier!r}")
    env.directory.set_secret_hash(realm, found[0], _new_secret(args, env, realm))
    print(f"password of {what} {found[0]} changed")
    return 0


def cmd_account_passwd(args: argparse.Namespace, env: CliEnv) -> int:
    return _change_password(args, env, "account", args.login, "account")


def cmd_mailbox_passwd(args: argparse.Namespace, env: CliEnv) -> int:
    return _change_password(args, env, "mailbox", args.address, "mailbox")


def cmd_ddns_passwd(args: argparse.Namespace, env: CliEnv) -> int:
    return _change_password(args, env, "ddns", args.user, "DDNS user")


GRANT_MEANS = {
    "own": "as their own address (its password may act for their other addresses)",
    "full": "read and change its folders, send as it",
    "read": "read its folders",
}


def cmd_mailbox_grant(args: argparse.Namespace, env: CliEnv) -> int:
    access = "own" if args.owner else "read" if args.read_only else "full"
    env.directory.grant(args.address, args.login, access)
    print(f"{args.login} may use {args.address}: {GRANT_MEANS[access]} ({access})")
    return 0


def cmd_mailbox_revoke(args: argparse.Namespace, env: CliEnv) -> int:
    before = env.directory.revoke(args.address, args.login)
    print(f"{args.login} may no longer use {args.address} (was {before}); open sessions end")
    return 0


def cmd_mailbox_list(args: argparse.Namespace, env: CliEnv) -> int:
    boxes = env.directory.mailboxes(args.domain)
    users = env.directory.mailbox_users(boxes)
    rows = [
        {
            "address": m.address,
            "quota_bytes": m.quota_bytes,
            "users": [{"login": u.login, "access": u.access} for u in users[m.id]],
        }
        for m in boxes
    ]
    lines = [
        "\t".join([m.address, ", ".join(f"{u.login} ({u.access})" for u in users[m.id])]).rstrip()
        for m in boxes
    ]
    env.emit(rows, "\n".join(lines))
    return 0


# -- dynamic DNS ------------------------------------------------------------------------------


def cmd_ddns_add(args: argparse.Namespace, env: CliEnv) -> int:
    """Checks every argument, then writes user, host and first address in one transaction."""
    host, created, rtype = add_ddns_host(
        env.directory,
        args.hostname,
        args.user,
        env.hash_params,
        env.config.settings.ddns.default_ttl,
        (lambda: read_password(args)) if args.password_stdin else None,
        args.owner,
        args.ip,
        ask=lambda: read_password(args),
    )
    if created:
        print(f"DDNS user {args.user} created")
    print(f"DDNS host {host.hostname} (zone {host.zone}) may be updated by {args.user}")
    if rtype is not None:
        print(f"{host.hostname} {rtype} {ipaddress.ip_address(args.ip)}")
    return 0


def cmd_ddns_delete(args: argparse.Namespace, env: CliEnv) -> int:
    host = env.directory.ddns_host(args.hostname)
    user_gone = env.directory.remove_ddns_host(args.hostname)
    name = host.hostname if host is not None else args.hostname
    print(f"DDNS host {name} removed with its address records")
    if user_gone and host is not None:
        print(f"DDNS user {host.username} removed with its last host")
    return 0


def cmd_ddns_list(args: argparse.Namespace, env: CliEnv) -> int:
    hosts = env.directory.ddns_hosts(args.user)
    rows = [
        {"hostname": h.hostname, "zone": h.zone, "user": h.username, "offline": h.offline}
        for h in hosts
    ]
    env.emit(rows, "\n".join(f"{h.hostname}\t{h.username}" for h in hosts))
    return 0


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data", metavar="DIR", help="data folder (default ./var or $SWISSBOX_DATA)"
    )
    common.add_argument("--config", metavar="FILE", help="config file (default DATA/swissbox.toml)")
    common.add_argument("--json", action="store_true", help="JSON output for list verbs")

    parser = argparse.ArgumentParser(
        prog="swissbox", description="Mail, DNS and groupware provider in one process."
    )
    parser.add_argument("--version", action="version", version=f"swissbox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def verb(
        parent: Any, name: str, func: Handler, help: str, **kw: Any
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, parents=[common], help=help, **kw)
        p.set_defaults(func=func)
        return p

    def group(name: str, help: str) -> Any:
        p = sub.add_parser(name, help=help)
        verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
        p.set_defaults(_verbs=verbs)  # lets plugin packages add verbs (cliutil.verbs_of)
        VERB_GROUPS[name] = verbs
        return verbs

    p = verb(
        sub, "init", cmd_init, "make the data folder, swissbox.toml, TLS certificate, database"
    )
    p.add_argument("--hostname", help="the server's public host name (MX, NS, certificate)")
    verb(sub, "serve", cmd_serve, "run every enabled service in the foreground")
    verb(sub, "check-config", cmd_check_config, "validate the configuration")
    p = verb(
        sub, "demo", cmd_demo, "create the demo organization (idempotent) and print how to connect"
    )

    org = group("org", "organizations")
    verb(org, "add", cmd_org_add, "create an organization").add_argument("org")
    verb(org, "list", cmd_org_list, "list organizations")

    acc = group("account", "accounts (the login realm of CalDAV/CardDAV and admin)")
    p = verb(acc, "add", cmd_account_add, "create an account in an organization")
    p.add_argument("login")
    p.add_argument("--org", required=True)
    p.add_argument("--role", choices=ROLES, default="collaborator")
    p.add_argument("--name", help="display name")
    p.add_argument("--phone")
    p.add_argument("--password-stdin", action="store_true")
    p = verb(acc, "set", cmd_account_set, "change an account's name, phone or password")
    p.add_argument("login")
    p.add_argument("--name")
    p.add_argument("--phone")
    p.add_argument("--password-stdin", action="store_true", help="read a new password from stdin")
    p = verb(acc, "passwd", cmd_account_passwd, "change an account's password")
    p.add_argument("login")
    p.add_argument("--password-stdin", action="store_true")
    p = verb(acc, "list", cmd_account_list, "list accounts")
    p.add_argument("--org")

    dom = group("domain", "hosted domains (DNS zones)")
    p = verb(dom, "add", cmd_domain_add, "host a domain: a DNS zone with SOA and NS")
    p.add_argument("domain")
    p.add_argument("--org", required=True)
    p = verb(dom, "list", cmd_domain_list, "list hosted domains")
    p.add_argument("--org")

    mail = group("mail", "Email Services")
    p = verb(
        mail,
        "enable",
        cmd_mail_enable,
        "an Email Service: MX, SPF, DMARC, SRV, autoconfig, DKIM keys, MTA-STS, TLS-RPT",
    )
    p.add_argument("domain")
    p.add_argument("--max-addresses", type=int, metavar="N")

    mbx = group("mailbox", "mailboxes (the mailbox realm of SMTP and IMAP)")
    p = verb(mbx, "add", cmd_mailbox_add, "create a mailbox with its own password")
    p.add_argument("address")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--quota", type=int, metavar="BYTES")
    p = verb(mbx, "passwd", cmd_mailbox_passwd, "change a mailbox's password")
    p.add_argument("address")
    p.add_argument("--password-stdin", action="store_true")
    p = verb(mbx, "grant", cmd_mailbox_grant, "let another account use this address")
    p.add_argument("address")
    p.add_argument("login")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--read-only", action="store_true", help="read its folders, never send")
    how.add_argument(
        "--owner", action="store_true", help="the account's own address (login elsewhere)"
    )
    p = verb(mbx, "revoke", cmd_mailbox_revoke, "end another account's use of this address")
    p.add_argument("address")
    p.add_argument("login")
    p = verb(mbx, "list", cmd_mailbox_list, "list mailboxes")
    p.add_argument("--domain")
    p = verb(mbx, "quota", cmd_mailbox_quota, "change a mailbox's quota")
    p.add_argument("address")
    p.add_argument("size", metavar="SIZE", help=f"{SIZE_RULE}, or none")
    p = verb(
        mbx,
        "delete",
        cmd_mailbox_delete,
        "delete a mailbox; its mail is kept out of reach, then erased",
        aliases=["del"],
    )
    p.add_argument("address")
    p.add_argument("--erase", action="store_true", help="erase its mail now, not after the days")

    ddns = group("ddns", "dynamic DNS hosts (the ddns realm)")
    p = verb(ddns, "add", cmd_ddns_add, "a host name a DDNS user may update")
    p.add_argument("hostname")
    p.add_argument("--user", required=True)
    p.add_argument("--password-stdin", action="store_true", help="password of a new DDNS user")
    p.add_argument("--ip", help="initial address")
    p.add_argument("--owner", help="account that owns a new DDNS user")
    p = verb(ddns, "passwd", cmd_ddns_passwd, "change a DDNS user's password")
    p.add_argument("user")
    p.add_argument("--password-stdin", action="store_true")
    p = verb(
        ddns, "delete", cmd_ddns_delete, "remove a host and its address records", aliases=["del"]
    )
    p.add_argument("hostname")
    p = verb(ddns, "list", cmd_ddns_list, "list DDNS hosts")
    p.add_argument("--user")

    # Listed for --help only: main() hands `swissbox tnef ...` to swissbox.tnef.command.
    sub.add_parser("tnef", help="decode winmail.dat: list, extract, to-mime", add_help=False)

    for module_name in PLUGIN_COMMANDS:
        importlib.import_module(module_name).add_commands(sub, common, VERB_GROUPS)
    return parser


# -- demo (make run) --------------------------------------------------------------------------

DEMO_ORG, DEMO_DOMAIN = "demo", "example.test"
DEMO_LOGIN = DEMO_ADDRESS = "alice@example.test"
DEMO_DDNS_HOST, DEMO_DDNS_USER = "nas.example.test", "nasuser"
PASSWORD_ALPHABET = string.ascii_letters + string.digits


def new_password(length: int = 16) -> str:
    """A random password that every realm accepts: letters and digits, each kind present."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        kinds = (str.islower, str.isupper, str.isdigit)
        if all(any(kind(c) for c in password) for kind in kinds):
            return password


def _create_demo(env: CliEnv) -> dict[str, str]:
    """The demo organization, written in one transaction; returns the new passwords by realm."""
    passwords = {realm: new_password() for realm in ("account", "mailbox", "ddns")}
    hashes = {realm: hash_secret(pw, env.hash_params) for realm, pw in passwords.items()}
    settings = env.config.settings
    hostname = settings.server.hostname
    d = env.directory
    with d.transaction():
        d.add_org(DEMO_ORG)
        d.add_account(
            DEMO_LOGIN, hashes["account"], DEMO_ORG, "legal", "Alice Demo", "+41 00 000 00 00"
        )
        d.add_domain(DEMO_DOMAIN, DEMO_ORG, hostname)
        enable_mail(d, env.config.dkim_dir, settings, DEMO_DOMAIN)
        d.add_mailbox(DEMO_ADDRESS, hashes["mailbox"])
        d.grant(DEMO_ADDRESS, DEMO_LOGIN)
        d.add_ddns_user(DEMO_DDNS_USER, hashes["ddns"], owner=DEMO_LOGIN)
        d.add_ddns_host(DEMO_DDNS_HOST, DEMO_DDNS_USER)
        ttl = settings.ddns.default_ttl
        d.change_records(DEMO_DOMAIN, add=[(DEMO_DDNS_HOST, "A", ttl, "192.0.2.10")])
    return passwords


def _shown(location: Path | str) -> str:
    """A database location fit to print: a URL without its password."""
    text = str(location)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return text


def cmd_demo(args: argparse.Namespace, env: CliEnv) -> int:
    """First run: init + the demo organization with random passwords, printed this once.
    Later runs: reuse it and say how to set new passwords. Always: how to connect."""
    if not env.config.initialized or not (env.config.data_dir / CONFIG_NAME).exists():
        cmd_init(argparse.Namespace(hostname=None), env)
    if any(o.name == DEMO_ORG for o in env.directory.orgs()):
        passwords = None
        print("demo organization already there: reusing it")
    else:
        passwords = _create_demo(env)
        print("demo organization created")
    print(demo_banner(env, passwords))
    return 0


def demo_banner(env: CliEnv, passwords: dict[str, str] | None) -> str:
    """How to connect; the passwords only when they were just made (None: how to reset them)."""
    s, data = env.config.settings, env.config.data_dir
    a = s.server.listen[0]
    host, user, domain = DEMO_DDNS_HOST, DEMO_DDNS_USER, DEMO_DOMAIN
    ddns_pw = passwords["ddns"] if passwords else "PASSWORD"
    lines = f"""
swissbox demo — data in {data}
  SMTP (MX)          {a}:{s.smtp.mx_port}
  submission         {a}:{s.smtp.submission_port} (STARTTLS)   {a}:{s.smtp.submissions_port} (TLS)
  IMAP               {a}:{s.imap.port} (STARTTLS)   {a}:{s.imap.tls_port} (TLS)
  DNS                {a}:{s.dns.port} udp+tcp       dig @{a} -p {s.dns.port} {domain} MX
  HTTP / HTTPS       http://{a}:{s.http.port}/   https://{a}:{s.http.tls_port}/
  CalDAV/CardDAV     http://{a}:{s.http.port}/dav/
  Admin API          https://{a}:{s.http.tls_port}/api/v1/   (OpenAPI: /api/v1/openapi.json)
  Manager (web)      https://{a}:{s.http.tls_port}/manager/
  DDNS               curl -u {user}:{ddns_pw} 'http://{a}:{s.http.port}/nic/update?hostname={host}&myip=192.0.2.20'
  TLS CA to trust    {env.config.tls_dir / "ca.pem"}
"""
    if passwords:
        return (
            lines
            + f"""
  mailbox (SMTP/IMAP)   {DEMO_ADDRESS} / {passwords["mailbox"]}
  account (DAV, admin)  {DEMO_LOGIN} / {passwords["account"]}
  DDNS user             {user} / {ddns_pw}  (host {host})
  These passwords are shown only now: note them.
"""
        )
    return (
        lines
        + f"""
  mailbox (SMTP/IMAP)   {DEMO_ADDRESS}
  account (DAV, admin)  {DEMO_LOGIN}
  DDNS user             {user}  (host {host})
  Their passwords were printed once, when the demo was created. To set new ones:
    swissbox mailbox passwd {DEMO_ADDRESS} --data {data}
    swissbox account passwd {DEMO_LOGIN} --data {data}
    swissbox ddns passwd {user} --data {data}
"""
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["tnef"]:  # the tnef verbs parse their own arguments
        from swissbox.tnef.command import main as tnef_main

        return tnef_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load(data=getattr(args, "data", None), config=getattr(args, "config", None))
    except ConfigError as exc:
        print(f"swissbox: {exc}", file=sys.stderr)
        return 2
    env = CliEnv(config=config, json=getattr(args, "json", False))
    try:
        return int(args.func(args, env))
    except (CommandError, DirectoryError, TlsError, StoreError) as exc:
        print(f"swissbox: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be made, a full disk: one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"swissbox: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"swissbox: error: database {config.db_path}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
