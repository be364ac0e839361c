"""The `swissbox` command: init, serve, check-config, demo, and the admin verbs of DESIGN.md."""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import sys
from collections.abc import Callable, Sequence
from typing import Any

from swissbox import __version__
from swissbox.auth import WeakPassword, check_password, hash_secret
from swissbox.cliutil import CliEnv, CommandError, read_password
from swissbox.conf import CONFIG_NAME, ConfigError, load, render_config
from swissbox.directory import ROLE_NAMES, ROLES, Directory, DirectoryError, normalize_domain
from swissbox.directory.mailrecords import MailPorts, mail_records
from swissbox.tls import TlsError, check_certificate, configured_paths, make_local_ca

Handler = Callable[[argparse.Namespace, CliEnv], int]
VERB_GROUPS: dict[str, Any] = {}

# Protocol packages that contribute verbs through `<package>.command.add_commands`.
PLUGIN_COMMANDS = (
    "swissbox.dns.command",
    "swissbox.imap.command",
    "swissbox.dav.command",
)


def _new_secret(args: argparse.Namespace, env: CliEnv, realm: str) -> str:
    secret = read_password(args)
    try:
        check_password(realm, secret)
    except WeakPassword as exc:
        raise CommandError(str(exc)) from None
    return hash_secret(secret, env.hash_params)


# -- init / check-config / serve --------------------------------------------------------------


def cmd_init(args: argparse.Namespace, env: CliEnv) -> int:
    data = env.config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    conf_path = data / CONFIG_NAME
    if not conf_path.exists():
        overrides: dict[str, dict[str, Any]] = {}
        if args.hostname:
            overrides["server"] = {"hostname": normalize_domain(args.hostname)}
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
    Directory(env.config.db_path).close()
    print(f"database {env.config.db_path}")
    return 0


def cmd_check_config(args: argparse.Namespace, env: CliEnv) -> int:
    source = env.config.config_path or "defaults (no swissbox.toml)"
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
    domain = env.directory.domain(args.domain)
    records = mail_records(
        domain.name,
        env.config.settings.server.hostname,
        MailPorts.from_settings(env.config.settings),
    )
    service = env.directory.enable_email(domain.name, args.max_addresses, records)
    limit = "no limit" if service.max_addresses is None else f"at most {service.max_addresses}"
    print(
        f"Email Service on {domain.name} ({limit} addresses); published {len(records)} DNS records"
    )
    return 0


def cmd_mailbox_add(args: argparse.Namespace, env: CliEnv) -> int:
    password_hash = _new_secret(args, env, "mailbox")
    mailbox = env.directory.add_mailbox(args.address, password_hash, args.quota)
    print(f"mailbox {mailbox.address} created")
    return 0


def cmd_mailbox_passwd(args: argparse.Namespace, env: CliEnv) -> int:
    password_hash = _new_secret(args, env, "mailbox")
    env.directory.set_secret_hash("mailbox", args.address, password_hash)
    print(f"password of {args.address} changed")
    return 0


def cmd_mailbox_grant(args: argparse.Namespace, env: CliEnv) -> int:
    env.directory.grant(args.address, args.login)
    print(f"{args.login} may use {args.address}")
    return 0


def cmd_mailbox_list(args: argparse.Namespace, env: CliEnv) -> int:
    boxes = env.directory.mailboxes(args.domain)
    rows = [{"address": m.address, "quota_bytes": m.quota_bytes} for m in boxes]
    env.emit(rows, "\n".join(m.address for m in boxes))
    return 0


# -- dynamic DNS ------------------------------------------------------------------------------


def cmd_ddns_add(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    if d.ddns_user_exists(args.user):
        if args.password_stdin:
            raise CommandError(
                f"DDNS user {args.user!r} exists; leave out --password-stdin to add a host to it"
            )
    else:
        d.add_ddns_user(args.user, _new_secret(args, env, "ddns"), owner=args.owner)
        print(f"DDNS user {args.user} created")
    host = d.add_ddns_host(args.hostname, args.user)
    print(f"DDNS host {host.hostname} (zone {host.zone}) may be updated by {args.user}")
    if args.ip:
        try:
            ip = ipaddress.ip_address(args.ip)
        except ValueError:
            raise CommandError(f"--ip {args.ip!r} is not an IP address") from None
        rtype = "A" if ip.version == 4 else "AAAA"
        ttl = env.config.settings.ddns.default_ttl
        d.change_records(
            host.zone,
            delete=[(host.hostname, rtype, None)],
            add=[(host.hostname, rtype, ttl, str(ip))],
        )
        print(f"{host.hostname} {rtype} {ip}")
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
    p = verb(acc, "list", cmd_account_list, "list accounts")
    p.add_argument("--org")

    dom = group("domain", "hosted domains (DNS zones)")
    p = verb(dom, "add", cmd_domain_add, "host a domain: a DNS zone with SOA and NS")
    p.add_argument("domain")
    p.add_argument("--org", required=True)
    p = verb(dom, "list", cmd_domain_list, "list hosted domains")
    p.add_argument("--org")

    mail = group("mail", "Email Services")
    p = verb(mail, "enable", cmd_mail_enable, "an Email Service: MX, SPF, DMARC, SRV, autoconfig")
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
    p = verb(mbx, "list", cmd_mailbox_list, "list mailboxes")
    p.add_argument("--domain")

    ddns = group("ddns", "dynamic DNS hosts (the ddns realm)")
    p = verb(ddns, "add", cmd_ddns_add, "a host name a DDNS user may update")
    p.add_argument("hostname")
    p.add_argument("--user", required=True)
    p.add_argument("--password-stdin", action="store_true", help="password of a new DDNS user")
    p.add_argument("--ip", help="initial address")
    p.add_argument("--owner", help="account that owns the DDNS user")
    p = verb(ddns, "list", cmd_ddns_list, "list DDNS hosts")
    p.add_argument("--user")

    # Listed for --help only: main() hands `swissbox tnef ...` to swissbox.tnef.command.
    sub.add_parser("tnef", help="decode winmail.dat: list, extract, to-mime", add_help=False)

    for module_name in PLUGIN_COMMANDS:
        importlib.import_module(module_name).add_commands(sub, common, VERB_GROUPS)
    return parser


# -- demo (make run) --------------------------------------------------------------------------

DEMO_ORG, DEMO_DOMAIN = "demo", "example.test"
DEMO_ACCOUNT = ("alice@example.test", "demo-account-pw")
DEMO_MAILBOX = ("alice@example.test", "demo-mailbox-pw")
DEMO_DDNS = ("nas.example.test", "nasuser", "DemoDdns2026")


def cmd_demo(args: argparse.Namespace, env: CliEnv) -> int:
    """First run: init + demo organization. Later runs: reuse it. Always: how to connect."""
    if not env.config.db_path.exists() or not (env.config.data_dir / CONFIG_NAME).exists():
        init_args = argparse.Namespace(hostname=None)
        cmd_init(init_args, env)
    d = env.directory
    org, domain = DEMO_ORG, DEMO_DOMAIN
    (login, account_pw), (address, mailbox_pw) = DEMO_ACCOUNT, DEMO_MAILBOX
    host, ddns_user, ddns_pw = DEMO_DDNS
    if not any(o.name == org for o in d.orgs()):
        params = env.hash_params
        d.add_org(org)
        d.add_account(
            login, hash_secret(account_pw, params), org, "legal", "Alice Demo", "+41 00 000 00 00"
        )
        d.add_domain(domain, org, env.config.settings.server.hostname)
        d.enable_email(
            domain,
            None,
            mail_records(
                domain,
                env.config.settings.server.hostname,
                MailPorts.from_settings(env.config.settings),
            ),
        )
        d.add_mailbox(address, hash_secret(mailbox_pw, params))
        d.grant(address, login)
        d.add_ddns_user(ddns_user, hash_secret(ddns_pw, params), owner=login)
        d.add_ddns_host(host, ddns_user)
        d.change_records(
            domain, add=[(host, "A", env.config.settings.ddns.default_ttl, "192.0.2.10")]
        )
        print("demo organization created")
    else:
        print("demo organization already there: reusing it")
    s = env.config.settings
    a = s.server.listen[0]
    ca = env.config.tls_dir / "ca.pem"
    print(
        f"""
swissbox demo — data in {env.config.data_dir}
  SMTP (MX)          {a}:{s.smtp.mx_port}
  submission         {a}:{s.smtp.submission_port} (STARTTLS)   {a}:{s.smtp.submissions_port} (TLS)
  IMAP               {a}:{s.imap.port} (STARTTLS)   {a}:{s.imap.tls_port} (TLS)
  DNS                {a}:{s.dns.port} udp+tcp       dig @{a} -p {s.dns.port} {domain} MX
  HTTP / HTTPS       http://{a}:{s.http.port}/   https://{a}:{s.http.tls_port}/
  CalDAV/CardDAV     http://{a}:{s.http.port}/dav/
  DDNS               curl -u {ddns_user}:{ddns_pw} 'http://{a}:{s.http.port}/nic/update?hostname={host}&myip=192.0.2.20'
  TLS CA to trust    {ca}

  mailbox (SMTP/IMAP)   {address} / {mailbox_pw}
  account (DAV, admin)  {login} / {account_pw}
  DDNS user             {ddns_user} / {ddns_pw}  (host {host})
"""
    )
    return 0


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
    except (CommandError, DirectoryError, TlsError) as exc:
        print(f"swissbox: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
