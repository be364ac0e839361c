"""Rights plugin: a member reaches only their own principal and collections.

- `/` : "R" (discovery: current-user-principal; Radicale filters other principals out)
- `/<user>/` : "RW" for its owner (Radicale creates it on first login)
- `/<user>/<collection>/` : "rw" for its owner (the directory collection too: the storage
  refuses every write except the display colour, see `collection.py`)
- anything of another user, and anonymous access: nothing (401 / 403 / 404)
"""

from __future__ import annotations

from radicale import pathutils
from radicale.rights import BaseRights


class Rights(BaseRights):
    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        if not user:
            return ""
        sane = pathutils.strip_path(path)
        if not sane:
            return "R"
        parts = sane.split("/")
        if parts[0] != user:
            return ""
        if len(parts) == 1:
            return "RW"
        if len(parts) == 2:
            return "rw"
        return ""
