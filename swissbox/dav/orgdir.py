"""The organization directory as vCards: pure functions from directory rows to card text.

One vCard 3.0 per internal member (UID, FN, N, EMAIL, TEL, ORG, REV; their own address is the
first EMAIL, marked PREF when shared addresses follow) and one group card per
team in both forms clients understand: `KIND:group` + `MEMBER` (RFC 6350, read by DAVx5 and
Thunderbird) and `X-ADDRESSBOOKSERVER-KIND` + `X-ADDRESSBOOKSERVER-MEMBER` (Apple).

A card is built as a *body* (everything but REV) so that a change is detected by comparing
bodies; REV (when the body last changed) is inserted when the text is served.

Views: `full` (legal representatives and administrators: every internal member) and `public`
(collaborators: private entries left out, also from team member lists). Externals get none.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from swissbox.directory.visibility import VIEWS, visible
from swissbox.directory.visibility import view_for_role as view_for_role  # the rule's old home

_NS = uuid.UUID("6f1f3c1e-2b7a-4a53-9a52-5d0f5c0de8a1")


@functools.lru_cache(maxsize=1 << 17)
def member_uid(org_id: int, account_id: int) -> str:
    return str(uuid.uuid5(_NS, f"member:{org_id}:{account_id}"))


@functools.lru_cache(maxsize=1 << 14)
def team_uid(org_id: int, team_id: int) -> str:
    return str(uuid.uuid5(_NS, f"team:{org_id}:{team_id}"))


def escape(value: str) -> str:
    """vCard TEXT escaping (RFC 6350 3.4): backslash, comma, semicolon, newline."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Folds a content line at 75 octets without splitting a UTF-8 sequence."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74
    return "\r\n ".join(parts)


def split_name(display_name: str) -> tuple[str, str]:
    """(family, given) from a display name: the last word is taken as the family name."""
    words = display_name.split()
    if len(words) < 2:
        return (words[0] if words else "", "")
    return words[-1], " ".join(words[:-1])


def rev_text(timestamp: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(timestamp))


class MemberRow(NamedTuple):
    """One row of `Directory.directory_rows` members."""

    id: int
    login: str
    display_name: str
    phone: str
    role: str
    private: int
    emails: str | None


class TeamRow(NamedTuple):
    id: int
    name: str
    member_ids: str | None  # comma-separated account ids


def team_member_ids(team: TeamRow) -> list[int]:
    return sorted(int(i) for i in (team.member_ids or "").split(",") if i)


def member_body(org_id: int, org_name: str, m: MemberRow) -> str:
    """The card of one member without REV (see the module docstring)."""
    display = m.display_name.strip()
    family, given = split_name(display)
    # own address first (clients take the first EMAIL), then the shared ones
    emails = list(dict.fromkeys((m.emails or "").split())) or ([m.login] if "@" in m.login else [])
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{member_uid(org_id, m.id)}",
        f"FN:{escape(display or m.login)}",
        f"N:{escape(family)};{escape(given)};;;",
    ]
    lines += [
        f"EMAIL;TYPE=INTERNET,WORK{',PREF' if i == 0 and len(emails) > 1 else ''}:{escape(e)}"
        for i, e in enumerate(emails)
    ]
    if m.phone.strip():
        lines.append(f"TEL;TYPE=WORK,VOICE:{escape(m.phone.strip())}")
    lines.append(f"ORG:{escape(org_name)}")
    lines.append("END:VCARD")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def team_body(org_id: int, org_name: str, team: TeamRow, member_uids: Iterable[str]) -> str:
    uids = sorted(member_uids)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{team_uid(org_id, team.id)}",
        f"FN:{escape(team.name)}",
        f"N:{escape(team.name)};;;;",
        "KIND:group",
        "X-ADDRESSBOOKSERVER-KIND:group",
        f"ORG:{escape(org_name)}",
    ]
    lines += [f"MEMBER:urn:uuid:{u}" for u in uids]
    lines += [f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{u}" for u in uids]
    lines.append("END:VCARD")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def with_rev(body: str, rev: float) -> str:
    """The served card: the body with its REV line before END:VCARD."""
    return body[: -len("END:VCARD\r\n")] + f"REV:{rev_text(rev)}\r\nEND:VCARD\r\n"


@dataclass(frozen=True)
class Card:
    href: str
    uid: str
    body: str


def member_card(org_id: int, org_name: str, m: MemberRow) -> Card:
    uid = member_uid(org_id, m.id)
    return Card(f"{uid}.vcf", uid, member_body(org_id, org_name, m))


def team_card(
    org_id: int, org_name: str, view: str, team: TeamRow, members: Mapping[int, tuple[Any, ...]]
) -> Card:
    """The group card of `team` as `view` shows it (members hidden from the view left out);
    `members` maps account ids to member rows."""
    uids = []
    for i in team_member_ids(team):
        row = members.get(i)
        if row is not None and visible(view, row[4], row[5]):
            uids.append(member_uid(org_id, i))
    uid = team_uid(org_id, team.id)
    return Card(f"{uid}.vcf", uid, team_body(org_id, org_name, team, uids))


def build_views(
    org_id: int, org_name: str, members: list[tuple[Any, ...]], teams: list[tuple[Any, ...]]
) -> dict[str, dict[str, Card]]:
    """{view: {href: Card}} for every view, from `Directory.directory_rows` output (the
    reference; `DirectoryBook` computes the same incrementally)."""
    rows = {m[0]: MemberRow._make(m) for m in members}
    out: dict[str, dict[str, Card]] = {}
    for view in VIEWS:
        cards = {}
        for m in rows.values():
            if visible(view, m.role, m.private):
                card = member_card(org_id, org_name, m)
                cards[card.href] = card
        for t in teams:
            card = team_card(org_id, org_name, view, TeamRow._make(t), rows)
            cards[card.href] = card
        out[view] = cards
    return out
