"""The summary mail a member gets when their role changes.

`role_change_message` composes it (pure); `send_notice` hands it over: into the member's
mailbox through the mail store when they have a mailbox here (their own address, never one
shared with others, or their login itself when it is hosted here), otherwise into the outbound
queue (null sender: a notice never bounces), which the running server delivers.
"""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage
from pathlib import Path

from swissbox.conf import Config
from swissbox.directory import ROLE_NAMES, Directory
from swissbox.mailstore import MailStore
from swissbox.mailstore.queue import OutboundQueue

WHAT_ROLES_MAY = {
    "legal": "represent the organization, manage its members, teams and domains",
    "admin": "manage the organization's members and teams",
    "collaborator": "use the organization's shared services and see its directory",
    "external": "use what is shared with you; you are not in the organization directory",
}


def role_change_message(
    *,
    org: str,
    login: str,
    name: str,
    old_role: str,
    new_role: str,
    sender: str,
    to: str,
    when: float | None = None,
) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((f"{org} (swissbox)", sender))
    msg["To"] = email.utils.formataddr((name, to)) if name else to
    msg["Subject"] = f"Your role in {org}: {ROLE_NAMES[new_role]}"
    msg["Date"] = email.utils.formatdate(when, usegmt=True)
    msg["Message-ID"] = email.utils.make_msgid("role", sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    directory_line = (
        "You are no longer listed in the organization directory."
        if new_role == "external"
        else "You are listed in the organization directory address book."
    )
    msg.set_content(
        f"Hello {name or login},\n\n"
        f"your role in {org} changed from {ROLE_NAMES[old_role]} to {ROLE_NAMES[new_role]}.\n\n"
        f"As {ROLE_NAMES[new_role]} you may {WHAT_ROLES_MAY[new_role]}.\n"
        f"{directory_line}\n\n"
        f"Your login stays {login}.\n"
    )
    return msg.as_bytes()


def recipient(directory: Directory, org: str, login: str) -> tuple[str, bool]:
    """(address, hosted here): the member's own mailbox (one in `org` first) when there is
    one, never an address shared with others (a role change is personal)."""
    account = directory.account(login)
    org_domains = {d.name for d in directory.domains(org)}
    uses = directory.account_mailboxes(account.login)
    mine = sorted(address for address, access in uses.items() if access == "own")
    for address in sorted(mine, key=lambda a: a.rpartition("@")[2] not in org_domains):
        return address, True
    own = directory.mailbox(account.login) if "@" in account.login else None
    if own is not None:
        return own.address, True
    return account.login, False


def send_notice(
    config: Config | Path, directory: Directory, address: str, hosted: bool, raw: bytes
) -> str:
    """Delivers `raw` into the mail and queue folders of `config` ([store] blob_path and url
    followed; a bare data folder means its own mail/ and queue/); returns where it went."""
    if isinstance(config, Config):
        mail_dir, queue_dir, url = config.mail_dir, config.queue_dir, config.settings.store.url
    else:
        mail_dir, queue_dir, url = config / "mail", config / "queue", ""
    if hosted:
        mailbox = directory.mailbox(address)
        store = MailStore(mail_dir, url)
        try:
            delivery = store.begin()
            delivery.add_recipient(address, quota_bytes=mailbox.quota_bytes if mailbox else None)
            delivery.write(raw)
            delivery.commit_sync()
        finally:
            store.close()
        return f"delivered to the mailbox {address}"
    qid = OutboundQueue(queue_dir).enqueue("", [address], raw)
    return f"queued for {address} (outbound queue id {qid})"
