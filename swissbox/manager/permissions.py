"""Who may do what through the admin API, from the organization's roles (pure).

Legal representatives and administrators manage the organization: every permission.
A collaborator reads the organization and its directory (members as the CardDAV directory
shows them: no private entries); their own account and addresses come from `/me`.
An external member reads only the organization's name; what was shared with them (mailboxes
granted to them) comes from `/me`.

An API token carries a set of permissions chosen when it is made; at each use it may do only
what both the token and its maker's *current* role allow (a demoted maker's tokens shrink).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PERMISSIONS = (
    "org:read",
    "members:read",
    "members:write",
    "domains:read",
    "domains:write",
    "mail:read",
    "mail:write",
    "ddns:read",
    "ddns:write",
    "tokens:read",
    "tokens:write",
    "audit:read",
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "legal": frozenset(PERMISSIONS),
    "admin": frozenset(PERMISSIONS),
    "collaborator": frozenset({"org:read", "members:read"}),
    "external": frozenset({"org:read"}),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def role_permissions(role: str | None) -> frozenset[str]:
    """What a member of `role` may do (nothing for a non-member)."""
    return ROLE_PERMISSIONS.get(role or "", frozenset())


def effective(role: str | None, token_permissions: Iterable[str] | None) -> frozenset[str]:
    """A session acts with its role's permissions; a token with those its role still has."""
    allowed = role_permissions(role)
    if token_permissions is None:
        return allowed
    return allowed & frozenset(token_permissions)


def decide(role: str | None, token_permissions: Iterable[str] | None, needed: str) -> Decision:
    """Whether `needed` is granted, with the reason of a refusal (for the 403 body)."""
    if role is None:
        return Decision(False, "you are not a member of this organization")
    if needed in effective(role, token_permissions):
        return Decision(True)
    if needed in role_permissions(role):
        return Decision(False, f"this API token does not carry the permission {needed}")
    return Decision(False, f"a member with the role {role} does not have the permission {needed}")


def grantable(role: str, wanted: Iterable[str]) -> Decision:
    """A token may carry only permissions its maker has."""
    missing = sorted(set(wanted) - role_permissions(role))
    if missing:
        return Decision(False, f"your role {role} cannot grant {', '.join(missing)}")
    return Decision(True)


def may_assign_role(actor_role: str, old_role: str | None, new_role: str | None) -> Decision:
    """Role rules of member management: only a legal representative names, demotes or
    removes a legal representative (an administrator cannot take over the organization)."""
    if actor_role not in ("legal", "admin"):
        return Decision(False, "only legal representatives and administrators manage members")
    if "legal" in (old_role, new_role) and actor_role != "legal":
        return Decision(False, "only a legal representative may name or remove another one")
    return Decision(True)
