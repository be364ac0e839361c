"""A member's calendars and address books on disk (`<data>/dav/collection-root/<login>/`):
list them, hand them to another member, or delete them.

Changes take Radicale's storage lock (`<data>/dav/.Radicale.lock`, exclusive), so they are
safe while the server runs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from radicale import pathutils

from swissbox.dav.app import PREDEFINED

PROPS = ".Radicale.props"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    kind: str  # "calendar", "address book" or "collection"
    displayname: str
    items: int


def principal_dir(folder: Path, login: str) -> Path:
    root = folder / "collection-root"
    return Path(pathutils.path_to_filesystem(str(root), login))


def _props(path: Path) -> dict[str, str]:
    try:
        data = json.loads((path / PROPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def collections(folder: Path, login: str) -> list[CollectionInfo]:
    home = principal_dir(folder, login)
    if not home.is_dir():
        return []
    out = []
    for child in sorted(home.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        props = _props(child)
        kind = {"VCALENDAR": "calendar", "VADDRESSBOOK": "address book"}.get(
            props.get("tag", ""), "collection"
        )
        items = sum(1 for f in child.iterdir() if f.is_file() and not f.name.startswith("."))
        out.append(CollectionInfo(child.name, kind, props.get("D:displayname", ""), items))
    return out


def _lock(folder: Path) -> pathutils.RwLock:
    folder.mkdir(parents=True, exist_ok=True)
    return pathutils.RwLock(str(folder / ".Radicale.lock"))


def _ensure_principal(folder: Path, login: str) -> Path:
    """The principal folder; made with the default collections when the member never
    logged in (Radicale would otherwise see an existing principal and skip them)."""
    home = principal_dir(folder, login)
    if not home.is_dir():
        home.mkdir(parents=True)
        for name, props in PREDEFINED.items():
            (home / name).mkdir()
            (home / name / PROPS).write_text(json.dumps(props), encoding="utf-8")
    return home


def transfer(folder: Path, login: str, to: str) -> list[tuple[str, str]]:
    """Moves every collection of `login` to `to`; returns (old name, new name) pairs.
    Names already taken at `to` get a `-from-<login>` suffix (and a number if needed);
    display names say where the collection came from."""
    moved: list[tuple[str, str]] = []
    with _lock(folder).acquire("w"):
        home = principal_dir(folder, login)
        if not home.is_dir():
            return moved
        target = _ensure_principal(folder, to)
        local = login.split("@")[0]
        for info in collections(folder, login):
            name, n = info.name, 1
            while (target / name).exists():
                name = f"{info.name}-from-{local}" + (f"-{n}" if n > 1 else "")
                n += 1
            src = home / info.name
            props = _props(src)
            shown = props.get("D:displayname") or info.name
            props["D:displayname"] = f"{shown} (from {login})"
            (src / PROPS).write_text(json.dumps(props), encoding="utf-8")
            shutil.move(str(src), str(target / name))
            moved.append((info.name, name))
        shutil.rmtree(home)
    return moved


def delete(folder: Path, login: str) -> int:
    """Deletes every collection of `login` with its principal; returns how many."""
    with _lock(folder).acquire("w"):
        count = len(collections(folder, login))
        home = principal_dir(folder, login)
        if home.is_dir():
            shutil.rmtree(home)
    return count
