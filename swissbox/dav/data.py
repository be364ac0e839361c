"""A member's calendars and address books on disk (`<data>/dav/collection-root/<login>/`):
list them, hand them to another member, or delete them. With `[store] url` the place is
that URL and the work is `pgdata.py`'s (`dav_place(config)` says which).

Changes take Radicale's storage lock (`<data>/dav/.Radicale.lock`, exclusive), so they are
safe while the server runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from radicale import pathutils

from swissbox.conf import Config
from swissbox.dav.app import PREDEFINED
from swissbox.store import is_postgres_url

PROPS = ".Radicale.props"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    kind: str  # "calendar", "address book" or "collection"
    displayname: str
    items: int


def dav_place(config: Config) -> Path | str:
    """Where the members' collections are: the PostgreSQL URL, or the `<data>/dav` folder."""
    return config.settings.store.url or config.data_dir / "dav"


def kind_of(props: dict[str, str]) -> str:
    return {"VCALENDAR": "calendar", "VADDRESSBOOK": "address book"}.get(
        props.get("tag", ""), "collection"
    )


def handed_name(name: str, login: str, taken: Callable[[str], bool]) -> str:
    """`name`, or with a `-from-<login>` suffix (and a number) when `taken` at the receiver."""
    local, out, n = login.split("@")[0], name, 1
    while taken(out):
        out = f"{name}-from-{local}" + (f"-{n}" if n > 1 else "")
        n += 1
    return out


def handed_props(props: dict[str, str], name: str, login: str) -> dict[str, str]:
    """The display name says where a handed-over collection came from."""
    shown = props.get("D:displayname") or name
    return {**props, "D:displayname": f"{shown} (from {login})"}


def principal_dir(folder: Path, login: str) -> Path:
    root = folder / "collection-root"
    return Path(pathutils.path_to_filesystem(str(root), login))


def _props(path: Path) -> dict[str, str]:
    try:
        data = json.loads((path / PROPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def collections(place: Path | str, login: str) -> list[CollectionInfo]:
    if is_postgres_url(place):
        from swissbox.dav.pgdata import collections as pg_collections

        return pg_collections(str(place), login)
    folder = Path(place)
    home = principal_dir(folder, login)
    if not home.is_dir():
        return []
    out = []
    for child in sorted(home.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        props = _props(child)
        kind = kind_of(props)
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


def transfer(place: Path | str, login: str, to: str) -> list[tuple[str, str]]:
    """Moves every collection of `login` to `to`; returns (old name, new name) pairs.
    Names already taken at `to` get a `-from-<login>` suffix (and a number if needed);
    display names say where the collection came from."""
    if is_postgres_url(place):
        from swissbox.dav.pgdata import transfer as pg_transfer

        return pg_transfer(str(place), login, to)
    folder = Path(place)
    moved: list[tuple[str, str]] = []
    with _lock(folder).acquire("w"):
        home = principal_dir(folder, login)
        if not home.is_dir():
            return moved
        target = _ensure_principal(folder, to)
        for info in collections(folder, login):
            name = handed_name(info.name, login, lambda n: (target / n).exists())
            src = home / info.name
            props = handed_props(_props(src), info.name, login)
            (src / PROPS).write_text(json.dumps(props), encoding="utf-8")
            shutil.move(str(src), str(target / name))
            moved.append((info.name, name))
        shutil.rmtree(home)
    return moved


def delete(place: Path | str, login: str) -> int:
    """Deletes every collection of `login` with its principal; returns how many."""
    if is_postgres_url(place):
        from swissbox.dav.pgdata import delete as pg_delete

        return pg_delete(str(place), login)
    folder = Path(place)
    with _lock(folder).acquire("w"):
        count = len(collections(folder, login))
        home = principal_dir(folder, login)
        if home.is_dir():
            shutil.rmtree(home)
    return count
