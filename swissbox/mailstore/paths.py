"""Where things live on disk: mailbox folders, Maildir++ subfolders, file names, flag letters.

Pure functions (no I/O except `new_key`, which reads the clock and a counter).
Layout: `<root>/<domain>/<local>/` is the mailbox and its INBOX (`cur/ new/ tmp/`);
`<root>/<domain>/<local>/.Sent/` and friends are Maildir++ subfolders.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import time
from pathlib import Path

INBOX = "INBOX"
SEPARATOR = "/"  # the IMAP hierarchy delimiter; on disk Maildir++ uses "."
JUNK = "Junk"  # where the MX checks (spam, DMARC quarantine) deliver
TRASH = "Trash"
DEFAULT_FOLDERS = ("INBOX", "Sent", "Drafts", TRASH, JUNK, "Archive")
SPECIAL_USE = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}
INDEX_NAME = "swissbox-index.sqlite"

# IMAP system flag <-> Maildir info letter (the letters must stay in ASCII order in names).
FLAG_LETTERS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
LETTER_FLAGS = {v: k for k, v in FLAG_LETTERS.items()}

_SAFE_LOCAL = re.compile(r"[a-z0-9_+=-]")
_SAFE_FOLDER = re.compile(r"[A-Za-z0-9 _+=&,;'()!~-]")
_counter = itertools.count(1)
_HOST = re.sub(r"[/:\\]", "_", socket.gethostname() or "localhost")


def _escape(text: str, safe: re.Pattern[str]) -> str:
    out = []
    for ch in text:
        if safe.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def mailbox_dir(root: Path, address: str) -> Path:
    """`<root>/<domain>/<local>`: the local part lower-cased, unsafe characters as %XX."""
    local, _, domain = address.rpartition("@")
    if not local or not domain or "/" in domain or domain.startswith("."):
        raise ValueError(f"not a mailbox address: {address!r}")
    return root / domain.lower() / _escape(local.lower(), _SAFE_LOCAL)


# A Maildir++ folder is one directory entry (".A.B.C", unsafe characters as %XX): its name must
# fit the file system's limit on one name (255 bytes on ext4, xfs, btrfs, tmpfs), or mkdir and
# rename fail with ENAMETOOLONG.
MAX_DIR_NAME = 255


class FolderNameTooLong(ValueError):
    """The folder's directory name would be over MAX_DIR_NAME bytes."""


def check_folder_name(name: str) -> str:
    """The canonical folder name ("inbox" -> "INBOX"); ValueError for empty components,
    FolderNameTooLong when its directory name would not fit the file system."""
    if name.upper() == INBOX:
        return INBOX
    parts = name.split(SEPARATOR)
    if not name or any(not p or p.strip() != p for p in parts):
        raise ValueError(f"invalid folder name {name[:100]!r}")
    if len(name) > MAX_DIR_NAME or len(_dir_name(parts)) > MAX_DIR_NAME:
        raise FolderNameTooLong(f"folder name too long ({MAX_DIR_NAME} bytes at most on disk)")
    return name


def _dir_name(parts: list[str]) -> str:
    return "." + ".".join(_escape(p, _SAFE_FOLDER) for p in parts)


def folder_dir(mailbox: Path, name: str) -> Path:
    """INBOX is the mailbox folder itself; "Archive/2024" is `.Archive.2024` (Maildir++)."""
    name = check_folder_name(name)
    if name == INBOX:
        return mailbox
    return mailbox / _dir_name(name.split(SEPARATOR))


def folder_name_from_dir(dirname: str) -> str | None:
    """Inverse of `folder_dir` for a subfolder entry name (".Sent" -> "Sent"), else None."""
    if not dirname.startswith(".") or dirname in (".", ".."):
        return None
    parts = dirname[1:].split(".")
    try:
        return SEPARATOR.join(_unescape(p) for p in parts)
    except ValueError:
        return None


def _unescape(text: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(text[i].encode("utf-8"))
            i += 1
    return raw.decode("utf-8")


def new_key(size: int) -> str:
    """A unique Maildir base name: `<secs>.M<usec>P<pid>Q<n>.<host>,S=<size>`."""
    now = time.time()
    return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_counter)}.{_HOST},S={size}"


def split_name(filename: str) -> tuple[str, str]:
    """'key:2,FS' -> ('key', 'FS'); a name without info -> (name, '')."""
    key, sep, info = filename.partition(":2,")
    return key, info if sep else ""


def renamed(path: str) -> str | None:
    """Where the message file `path` (`<folder>/<new|cur>/<name>`) is now, after a flag change
    renamed it (the key part of a name never changes), or None when it is gone. Another
    front end may rename it between a session's read of the index row and its open."""
    folder = os.path.dirname(os.path.dirname(path))
    key = split_name(os.path.basename(path))[0]
    # the names this store gives (new/KEY, cur/KEY:2,<sorted letters>): a few stats, where
    # listing a large folder for each vanished file made a FETCH over many of them quadratic
    for name in _names_of(key):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return candidate
    for subdir in ("cur", "new"):  # a name another Maildir program gave (other letters)
        try:
            entries = os.scandir(os.path.join(folder, subdir))
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if split_name(entry.name)[0] == key:
                    return entry.path
    return None


_LETTER_SETS = [
    "".join(combo)
    for n in range(len(FLAG_LETTERS) + 1)
    for combo in itertools.combinations(sorted(FLAG_LETTERS.values()), n)
]


def _names_of(key: str) -> list[str]:
    """Every name `file_name` can give the message `key`, as `<subdir>/<name>`."""
    return [f"new/{key}"] + [f"cur/{key}:2,{letters}" for letters in _LETTER_SETS]


def file_name(key: str, flags: frozenset[str] | set[str], subdir: str) -> str:
    """Files in new/ carry no info; files in cur/ carry `:2,` and their flag letters."""
    if subdir == "new":
        return key
    letters = "".join(sorted(FLAG_LETTERS[f] for f in flags if f in FLAG_LETTERS))
    return f"{key}:2,{letters}"


def flags_from_info(info: str) -> set[str]:
    return {LETTER_FLAGS[c] for c in info if c in LETTER_FLAGS}


def size_from_key(key: str) -> int | None:
    m = re.search(r",S=(\d+)", key)
    return int(m.group(1)) if m else None


def read_message(path: str, size: int) -> bytes:
    """A message file's bytes (b"" when it is gone; followed when another front end's flag
    change renamed it), `size` the expected length: plain os calls, no buffered file
    object (an IMAP FETCH of one body is mostly this)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        moved = renamed(path)
        if moved is None:
            return b""
        try:
            fd = os.open(moved, os.O_RDONLY)
        except FileNotFoundError:
            return b""
    try:
        chunks = []
        while chunk := os.read(fd, size + 1):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
