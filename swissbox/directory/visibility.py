"""Who sees which entry of the organization directory: one rule for the CardDAV directory
(`swissbox.dav.orgdir`) and the admin API's member list.

Views: `full` (legal representatives and administrators: every internal member) and `public`
(collaborators: private entries left out). Externals get none; they never appear in it.
"""

from __future__ import annotations

from swissbox.directory.model import ROLE_RANK

VIEWS = ("full", "public")


def view_for_role(role: str) -> str | None:
    """The directory view a member of `role` sees (by `ROLE_RANK`: private entries are hidden
    below administrators); None for externals (no directory)."""
    rank = ROLE_RANK.get(role, 0)
    if rank >= ROLE_RANK["admin"]:
        return "full"
    if rank >= ROLE_RANK["collaborator"]:
        return "public"
    return None


def visible(view: str, role: str, private: int | bool) -> bool:
    """Whether a member with `role` (and the private flag) appears in `view`."""
    return role != "external" and (view == "full" or not private)
