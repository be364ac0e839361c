"""Contact groups ([MS-OXOCNTC] 2.2.2, IPM.DistList) -> one vCard file (RFC 6350).

``to_vcard(message)`` returns the bytes of a ``.vcf`` holding a ``KIND:group`` card with one
``MEMBER`` per address followed by one card per member, or None when the message is no contact
group. Members are the one-off entry IDs ([MS-OXCDATA] 2.2.5.1) of
PidLidDistributionListOneOffMembers, else those of PidLidDistributionListMembers; members that
point into the sender's address book (wrapped entry IDs) carry no address and are left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .calendar import _escape, _fold
from .model import Message

PSETID_ADDRESS = uuid.UUID("00062004-0000-0000-c000-000000000046")
LID_DISTRIBUTION_LIST_NAME = 0x8053
LID_DISTRIBUTION_LIST_ONE_OFF_MEMBERS = 0x8054
LID_DISTRIBUTION_LIST_MEMBERS = 0x8055
ONE_OFF_PROVIDER = bytes.fromhex("812B1FA4BEA310199D6E00DD010F5402")
MAPI_UNICODE = 0x8000
MAX_MEMBERS = 10_000


@dataclass(frozen=True)
class Member:
    """One address of a contact group."""

    name: str
    address: str
    address_type: str


def is_contact_group(message: Message) -> bool:
    return (message.message_class or "").strip().lower().startswith("ipm.distlist")


def parse_one_off(entry: bytes) -> Member | None:
    """A one-off entry ID's display name, address type and address; None for any other ID."""
    if len(entry) < 24 or entry[4:20] != ONE_OFF_PROVIDER:
        return None
    flags = int.from_bytes(entry[22:24], "little")
    body = entry[24:]
    if flags & MAPI_UNICODE:
        units = [body[i : i + 2] for i in range(0, len(body) - 1, 2)]
        fields, current = [], bytearray()
        for unit in units:
            if unit == b"\0\0":
                fields.append(current.decode("utf-16-le", "replace"))
                current = bytearray()
            else:
                current += unit
    else:
        fields = [f.decode("cp1252", "replace") for f in body.split(b"\0")]
    if len(fields) < 3:
        return None
    name, address_type, address = (f.strip() for f in fields[:3])
    if not address:
        return None
    return Member(name=name, address=address, address_type=address_type.upper())


def members(message: Message) -> list[Member]:
    """The group's members with an address, in order. The two lists are parallel ([MS-OXOCNTC]
    2.2.2.2): the one-off list first, the other where the one-off entry is not one."""
    lists = []
    for lid in (LID_DISTRIBUTION_LIST_ONE_OFF_MEMBERS, LID_DISTRIBUTION_LIST_MEMBERS):
        entries = message.mapi.named(PSETID_ADDRESS, lid)
        lists.append(entries[:MAX_MEMBERS] if isinstance(entries, list) else [])
    found: list[Member] = []
    for index in range(max(len(entries) for entries in lists)):
        for entries in lists:
            entry = entries[index] if index < len(entries) else None
            member = parse_one_off(entry) if isinstance(entry, bytes) else None
            if member is not None:
                found.append(member)
                break
    return found


def _uid(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}"


def _uri(member: Member) -> str:
    if member.address_type in ("SMTP", "") and "@" in member.address:
        return f"mailto:{''.join(member.address.split())}"
    return ""


def to_vcard(message: Message) -> bytes | None:
    """The contact group as vCards (group card first), or None when it is not a group."""
    if not is_contact_group(message):
        return None
    mapi_name = message.mapi.named(PSETID_ADDRESS, LID_DISTRIBUTION_LIST_NAME)
    name = (mapi_name if isinstance(mapi_name, str) else "") or message.subject or "Contact group"
    group_uid = _uid("distlist", name, message.message_id or "", str(message.date_sent))
    people = [m for m in members(message) if _uri(m)]
    lines = ["BEGIN:VCARD", "VERSION:4.0", "KIND:group", f"FN:{_escape(name)}"]
    lines.append(f"UID:{group_uid}")
    lines += [f"MEMBER:{_uri(m)}" for m in people]
    lines.append("END:VCARD")
    for member in people:
        lines += ["BEGIN:VCARD", "VERSION:4.0", "KIND:individual"]
        lines.append(f"FN:{_escape(member.name or member.address)}")
        lines.append(f"EMAIL:{_escape(member.address)}")
        lines.append(f"UID:{_uid(group_uid, member.address.lower())}")
        lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8", "replace")
