"""Making a hosted domain an alias of a mail domain, one place for `swissbox domain alias`
and the admin API: the alias domain gets an Email Service (MX, SPF, DMARC records, DKIM
keys, as `mail enable`) when it has none, in the same transaction as the alias."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swissbox.directory.mailservice import enable_mail
from swissbox.directory.store import Directory


def set_domain_alias(
    d: Directory, key_dir: Path, settings: Any, alias_domain: str, target: str | None
) -> tuple[str | None, int]:
    """(previous target, mail DNS records and DKIM keys published now); `target` None ends
    the alias."""
    published = 0
    with d.transaction():
        if target is None:
            return d.set_domain_alias(alias_domain, None), 0
        name = d.domain(alias_domain).name
        if d.mail_domain(name) is None:
            _, records, made = enable_mail(d, key_dir, settings, name)
            published = len(records) + len(made)
        return d.set_domain_alias(name, target), published
