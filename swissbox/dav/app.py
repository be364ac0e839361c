"""Builds the embedded `radicale.Application` from our settings and plugins.

Radicale runs as a library: its web UI, sharing, hooks and own HTTP server are off; it sees
requests under the script name `/dav` (set by twisted's WSGIResource from the mount point).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import radicale
import radicale.config

from swissbox.auth import Authenticator
from swissbox.dav.auth import Auth
from swissbox.dav.book import DirectoryBook
from swissbox.dav.rights import Rights
from swissbox.dav.storage import Storage, postgres_storage

# Request bodies larger than this are refused with 413 (the site's LimitedRequest refuses
# them first, with the same `[http] max_body`; Radicale's own limit is the last line).
MAX_BODY = 10 * 1024 * 1024
MAX_RESOURCE = 4 * 1024 * 1024

# What every account gets on first login.
PREDEFINED = {
    "calendar": {
        "tag": "VCALENDAR",
        "D:displayname": "Calendar",
        "C:supported-calendar-component-set": "VEVENT,VTODO,VJOURNAL",
    },
    "contacts": {"tag": "VADDRESSBOOK", "D:displayname": "Contacts"},
}


def radicale_config(
    folder: Path,
    authenticator: Authenticator,
    book: DirectoryBook,
    max_body: int = MAX_BODY,
    pool: Any = None,
) -> radicale.config.Configuration:
    """`pool` (a psycopg pool over `[store] url`) puts the members' collections in
    PostgreSQL; without it they are files under `folder`."""
    storage = Storage.bound(book) if pool is None else postgres_storage(book, pool)
    cfg = radicale.config.load()
    cfg.update(
        {
            "server": {
                "max_content_length": str(max_body),
                "max_resource_size": str(MAX_RESOURCE),
                "delay_on_error": "0",
            },
            "auth": {
                "type": Auth.bound(authenticator),
                "delay": "0",
                "cache_logins": "False",
                "realm": "swissbox",
            },
            "rights": {"type": Rights},
            "storage": {
                "type": storage,
                "filesystem_folder": str(folder),
                "predefined_collections": json.dumps(PREDEFINED),
            },
            "web": {"type": "none"},
            "sharing": {"type": "none"},
            "hook": {"type": "none"},
            "logging": {"mask_passwords": "True"},
        },
        "swissbox",
        privileged=True,
    )
    return cfg


class _NoTraceback(logging.Filter):
    """Radicale attaches tracebacks to expected client errors (a refused PROPPATCH, an old
    sync token); keep its log lines, drop the tracebacks. Crashes still reach the root logger
    with theirs (Radicale logs those separately)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def build_application(
    folder: Path,
    authenticator: Authenticator,
    book: DirectoryBook,
    max_body: int = MAX_BODY,
    pool: Any = None,
) -> radicale.Application:
    """The WSGI application serving `<folder>` (the `<data>/dav` directory), or the
    collections in PostgreSQL when given its `pool`."""
    radicale_log = logging.getLogger("radicale")
    radicale_log.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoTraceback) for f in radicale_log.filters):
        radicale_log.addFilter(_NoTraceback())
    folder.mkdir(parents=True, exist_ok=True)
    return radicale.Application(radicale_config(folder, authenticator, book, max_body, pool))
