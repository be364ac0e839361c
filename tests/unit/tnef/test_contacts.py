"""Contact groups (IPM.DistList) become vCards (RFC 6350), checked with vobject as the oracle;
a message class we do not convert in full keeps the original winmail.dat."""

from __future__ import annotations

import email
import email.policy
import io
import struct
from email.message import EmailMessage
from pathlib import Path

import vobject

from swissbox.tnef import decode, rewrite
from swissbox.tnef.command import main
from swissbox.tnef.contacts import members, parse_one_off, to_vcard

from . import writer as w

PSETID_ADDRESS = w.uuid.UUID("00062004-0000-0000-c000-000000000046")
ONE_OFF = bytes.fromhex("812B1FA4BEA310199D6E00DD010F5402")
WRAPPED = bytes.fromhex("C091ADD3519DCF11A4A900AA0047FAA4")


def one_off(name: str, address: str, *, unicode: bool = True) -> bytes:
    if unicode:
        text = b"".join(f.encode("utf-16-le") + b"\0\0" for f in (name, "SMTP", address))
        return b"\0\0\0\0" + ONE_OFF + struct.pack("<HH", 0, 0x8001) + text
    text = b"".join(f.encode("cp1252") + b"\0" for f in (name, "SMTP", address))
    return b"\0\0\0\0" + ONE_OFF + struct.pack("<HH", 0, 0x0001) + text


def wrapped() -> bytes:
    return b"\0\0\0\0" + WRAPPED + b"\xc3" + b"\0" * 46


def mv_binary(lid: int, values: list[bytes]) -> bytes:
    return w.prop(0x1102, 0x8000 + lid % 256, w.var(values), named=(PSETID_ADDRESS, lid))


def dist_list(count: int = 76, name: str = "Newsletter") -> bytes:
    people = [(f"Member {i}, Ünïcode", f"member{i}@example.org") for i in range(count)]
    return w.message(
        message_class="IPM.DistList",
        subject=name,
        msg_props=[
            mv_binary(0x8054, [one_off(n, a) for n, a in people]),
            mv_binary(0x8055, [one_off(n, a) for n, a in people]),
        ],
    )


def embedded(inner: bytes) -> bytes:
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + inner]))
    return w.message(
        subject="fwd",
        msg_props=[w.unicode(0x1000, "see the list")],
        attachments=[
            [
                w.attribute(w.ATT, w.ATTACH_TITLE, b"Untitled Attachment\0"),
                w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5), obj)),
            ]
        ],
    )


def outlook(tnef: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Sender <sender@example.org>"
    msg["Subject"] = "List"
    msg.set_content("see the list")
    msg.add_attachment(tnef, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes(policy=email.policy.SMTP)


def test_one_off_entry_ids() -> None:
    member = parse_one_off(one_off("Jörg", "j@example.org"))
    assert member is not None and (member.name, member.address) == ("Jörg", "j@example.org")
    member = parse_one_off(one_off("Ann", "a@example.org", unicode=False))
    assert member is not None and member.address == "a@example.org"
    assert parse_one_off(wrapped()) is None
    assert parse_one_off(b"\0" * 10) is None


def test_parallel_lists_give_each_member_once() -> None:
    data = w.message(
        message_class="IPM.DistList",
        subject="g",
        msg_props=[
            mv_binary(0x8054, [one_off("A", "a@example.org"), wrapped()]),
            mv_binary(0x8055, [wrapped(), one_off("B", "b@example.org")]),
        ],
    )
    assert [m.address for m in members(decode(data))] == ["a@example.org", "b@example.org"]


def test_group_card_holds_every_address() -> None:
    vcf = to_vcard(decode(dist_list()))
    assert vcf is not None
    cards = list(vobject.readComponents(vcf.decode("utf-8")))
    group, people = cards[0], cards[1:]
    assert group.kind.value == "group" and group.fn.value == "Newsletter"
    assert len(group.contents["member"]) == 76 == len(people)
    assert {m.value for m in group.contents["member"]} == {
        f"mailto:member{i}@example.org" for i in range(76)
    }
    assert people[3].fn.value == "Member 3, Ünïcode"
    assert people[3].email.value == "member3@example.org"
    assert len({c.uid.value for c in cards}) == 77
    assert to_vcard(decode(dist_list())) == vcf  # deterministic UIDs
    assert to_vcard(decode(w.message(subject="note"))) is None


def test_rewrite_delivers_the_group_as_a_vcard_not_an_empty_message() -> None:
    out, report = rewrite(outlook(embedded(dist_list())))
    assert report.changed and report.parts[0].status == "decoded"
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    types = [p.get_content_type() for p in parsed.walk()]
    assert "message/rfc822" not in types and "application/ms-tnef" not in types
    [card] = [p for p in parsed.walk() if p.get_content_type() == "text/vcard"]
    assert card.get_filename() == "Newsletter.vcf"
    cards = list(vobject.readComponents(card.get_content()))
    assert len(cards[0].contents["member"]) == 76


def test_whole_tnef_distlist_and_extract(tmp_path: Path) -> None:
    source = tmp_path / "winmail.dat"
    source.write_bytes(dist_list(3))
    out = io.BytesIO()
    assert main(["extract", str(source), "-o", str(tmp_path / "out")], stdout=out) == 0
    vcf = (tmp_path / "out" / "contacts.vcf").read_text("utf-8")
    assert vcf.count("MEMBER:mailto:") == 3


def test_unconverted_class_keeps_the_original() -> None:
    contact = w.message(message_class="IPM.Contact", subject="Ann", msg_props=[])
    out, report = rewrite(outlook(embedded(contact)))
    assert report.changed and report.parts[0].status == "kept"
    assert any("IPM.Contact" in warning for warning in report.parts[0].warnings)
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert "application/ms-tnef" in [p.get_content_type() for p in parsed.walk()]
    out, report = rewrite(outlook(embedded(w.message(subject="plain note"))))
    assert report.parts[0].status == "decoded"
