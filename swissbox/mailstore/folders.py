"""Folder DELETE / RENAME / SUBSCRIBE on a mailbox (additive to `store.py`).

DELETE keeps the folder's messages in the retention area (see `retention.py`) before the
Maildir goes; a folder with subfolders is refused. RENAME moves the Maildir++ directories of
the folder and its subfolders and keeps UIDs and UIDVALIDITY; renaming INBOX moves its
messages into the new folder and leaves INBOX empty (RFC 3501 6.3.5).
"""

from __future__ import annotations

import os
import shutil

from swissbox.mailstore import retention
from swissbox.mailstore.paths import INBOX, SEPARATOR, check_folder_name, folder_dir
from swissbox.mailstore.query import refresh
from swissbox.mailstore.store import CHANGED, MailboxStore, MailStoreError, NoSuchFolder


def _children(box: MailboxStore, name: str) -> list[str]:
    prefix = name + SEPARATOR
    return [f.name for f in box.folders() if f.name.startswith(prefix)]


def delete_folder(box: MailboxStore, name: str) -> None:
    refresh(box)
    name = check_folder_name(name)
    if name == INBOX:
        raise MailStoreError("INBOX cannot be deleted")
    info = box.folder(name)
    if _children(box, name):
        raise MailStoreError(f"folder {name!r} has subfolders; delete them first")
    rows = box.messages(name)
    retention.keep(box, name, rows)
    with box.index.transaction():
        box.index.delete_folder(info.name)
    shutil.rmtree(folder_dir(box.path, name), ignore_errors=True)
    box.forget_usage()
    box.store.publish(box.address, name, CHANGED)


def rename_folder(box: MailboxStore, old: str, new: str) -> None:
    refresh(box)
    old, new = check_folder_name(old), check_folder_name(new)
    if new == INBOX:
        raise MailStoreError("cannot rename to INBOX")
    box.folder(old)
    if box.index.folder(new) is not None:
        raise MailStoreError(f"folder {new!r} already exists")
    if new.startswith(old + SEPARATOR):
        raise MailStoreError("cannot rename a folder into itself")
    if old == INBOX:
        box.create_folder(new)
        uids = [m.uid for m in box.messages(INBOX)]
        if uids:
            box.move(INBOX, uids, new)
        return
    moves = [(old, new)] + [(c, new + c[len(old) :]) for c in _children(box, old)]
    for _src, dst in moves:  # every new name must fit before anything moves
        check_folder_name(dst)
    parts = new.split(SEPARATOR)
    for i in range(1, len(parts)):
        parent = SEPARATOR.join(parts[:i])
        if box.index.folder(parent) is None:
            box.create_folder(parent)
    with box.index.transaction():
        for src, dst in moves:
            if box.index.folder(dst) is not None:
                raise MailStoreError(f"folder {dst!r} already exists")
            box.index.rename_folder(src, dst)
        for src, dst in moves:
            os.rename(folder_dir(box.path, src), folder_dir(box.path, dst))
    box.store.publish(box.address, new, CHANGED)


def set_subscribed(box: MailboxStore, name: str, subscribed: bool) -> None:
    name = check_folder_name(name)
    if box.index.folder(name) is None:
        refresh(box)
        if box.index.folder(name) is None:
            raise NoSuchFolder(f"no folder {name!r}")
    with box.index.transaction():
        box.index.set_subscribed(name, subscribed)
    box.store.publish(box.address, name, CHANGED)
