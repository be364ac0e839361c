"""TNEF -> MIME: build MIME parts from a decoded Message and rewrite whole messages.

``rewrite(message_bytes, mode)`` replaces (mode "replace") or supplements (mode "keep") every
winmail.dat / application/ms-tnef part with the decoded bodies and attachments. A part that
cannot be decoded is left exactly as it was; when nothing changes the input is returned as is.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address, Group
from email.message import EmailMessage, MIMEPart
from email.message import Message as EmailMessageBase
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses
from typing import Any, cast

from .calendar import method_for, request_task, to_icalendar
from .contacts import to_vcard
from .decoder import decode
from .errors import LOSSY_WARNINGS, Limits, TnefError
from .model import Attachment, Message, Recipient

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
HEADER = "X-Swissbox-TNEF"
MODES = ("replace", "keep", "off")

# Parts we build: 7-bit safe transfer encodings, CRLF, no refolding of source headers.
_BUILD = email_policy.SMTP.clone(cte_type="7bit", refold_source="none")
_PARSE = email_policy.SMTP.clone(refold_source="none")

_IANA = {
    "cp1250": "windows-1250",
    "cp1251": "windows-1251",
    "cp1252": "windows-1252",
    "cp1253": "windows-1253",
    "cp1254": "windows-1254",
    "cp1255": "windows-1255",
    "cp1256": "windows-1256",
    "cp1257": "windows-1257",
    "cp1258": "windows-1258",
    "cp874": "windows-874",
    "cp932": "shift_jis",
    "cp949": "ks_c_5601-1987",
    "cp950": "big5",
    "gbk": "gbk",
    "ascii": "us-ascii",
    "latin-1": "iso-8859-1",
    "iso8859-1": "iso-8859-1",
    "utf-8": "utf-8",
    "mac-roman": "macintosh",
}


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\\\"]+@[^\s@<>()\[\],;:\\\"]+")
_ATOMS = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_MESSAGE_ID = re.compile(rf"<{_ATOMS}@(?:{_ATOMS}|\[[!-Z^-~]*\])>")


def _clean(text: str | None) -> str:
    """Header text without control characters (CR/LF would start a new header field)."""
    return " ".join(_CONTROLS.sub(" ", text or "").split())


def _ascii_address(email: str) -> str | None:
    """``email`` as an ASCII addr-spec (an IDNA domain when needed), or None if it has none."""
    local, at, domain = email.rpartition("@")
    if not at or not local.isascii():
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    address = f"{local}@{domain}"
    return address if _ADDRESS.fullmatch(address) else None


def _mailbox(name: str | None, email: str | None) -> Address | Group:
    """One mailbox for From/To/Cc; an address that cannot be written in ASCII (or none) is kept
    as the name of an empty group (``name:;``), which every reader shows and nobody replies to."""
    name, raw = _clean(name), _clean(email)
    address = _ascii_address(raw) if raw else None
    if address is not None:
        try:
            return Address(display_name=name, addr_spec=address)
        except (ValueError, IndexError, HeaderParseError):
            pass
    label = f"{name} ({raw})" if name and raw else name or raw
    return Group(display_name=label)


def _boundaries(root: EmailMessageBase) -> None:
    """Give every multipart without one a boundary derived from the content (same input, same
    bytes); "=_" never occurs in base64 or quoted-printable text."""
    digest = hashlib.sha256()
    multiparts = []
    for part in root.walk():
        if part.is_multipart():
            if part.get_boundary() is None:
                multiparts.append(part)
        else:
            payload = part.get_payload()
            digest.update(payload.encode("utf-8", "replace") if isinstance(payload, str) else b"")
    seed = digest.hexdigest()
    for number, part in enumerate(multiparts):
        part.set_boundary(f"=_{seed[:24]}.{number}")


# Message classes whose content the MIME parts carry in full (bodies, attachments, and the
# calendar or vCard part); anything else keeps the original winmail.dat beside what we made.
CONVERTED_CLASSES = ("ipm.note", "ipm.microsoft mail.note", "ipm.post", "ipm.distlist")
NOT_CONVERTED = "message class not converted in full"


def unconverted_classes(message: Message) -> list[str]:
    """Classes in ``message`` (and its embedded messages) whose content MIME would drop."""
    found: list[str] = []
    cls = (message.message_class or "IPM.Note").strip()
    lowered = cls.lower()
    known = lowered == "ipm" or lowered.startswith(CONVERTED_CLASSES)
    if not known and method_for(cls) is None:
        found.append(cls)
    for attachment in message.attachments:
        if attachment.embedded is not None:
            found += [c for c in unconverted_classes(attachment.embedded) if c not in found]
    return found


def _vcard_part(data: bytes, name: str) -> MIMEPart:
    part = _leaf(data, "text/vcard")
    part.set_param("charset", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=name)
    part.set_param("name", name)
    return part


def _vcard_name(message: Message, fallback: str) -> str:
    stem = _clean(message.subject) or fallback.rpartition(".")[0] or fallback or "contacts"
    return f"{stem}.vcf"


@dataclass
class PartReport:
    """What happened to one TNEF part of a MIME message."""

    filename: str
    status: str  # "decoded", "kept", "failed", "empty"
    attachments: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class RewriteReport:
    """The outcome of ``rewrite``: whether the message changed and what each TNEF part gave."""

    mode: str
    changed: bool = False
    parts: list[PartReport] = field(default_factory=list)
    header: str | None = None

    @property
    def attachments(self) -> int:
        return sum(p.attachments for p in self.parts if p.status in ("decoded", "kept"))

    @property
    def errors(self) -> list[str]:
        return [f"{p.filename}: {p.error}" for p in self.parts if p.error]


def mime_charset(codec: str) -> str:
    """The IANA charset name for a Python codec name."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return "utf-8"
    if name in _IANA:
        return _IANA[name]
    return name.replace("_", "-").replace("iso8859", "iso-8859")


def _leaf(data: bytes, mime_type: str) -> MIMEPart:
    part = MIMEPart(policy=_BUILD)
    maintype, _, subtype = mime_type.partition("/")
    if maintype == "multipart" or maintype == "message" or not subtype:
        maintype, subtype = "application", "octet-stream"
    part.set_content(data, maintype, subtype, cte="base64")
    return part


def _multipart(subtype: str, parts: Sequence[EmailMessageBase]) -> MIMEPart:
    container = MIMEPart(policy=_BUILD)
    container["Content-Type"] = f"multipart/{subtype}"
    if subtype == "related":
        container.set_param("type", "text/html")
    container.set_payload(list(parts))
    return container


def _text_part(text: str, subtype: str = "plain") -> MIMEPart:
    part = MIMEPart(policy=_BUILD)
    part.set_content(text.replace("\r\n", "\n"), subtype=subtype, charset="utf-8")
    return part


def _html_part(message: Message) -> MIMEPart:
    part = _leaf(message.body_html or b"", "text/html")
    part.set_param("charset", mime_charset(message.html_charset))
    return part


def attachment_part(attachment: Attachment, *, inline: bool = False) -> MIMEPart:
    """One attachment as a MIME part: filename (RFC 2231 when not ASCII), type, dates, CID."""
    if attachment.embedded is not None:
        vcard = to_vcard(attachment.embedded)
        if vcard is not None:  # a contact group: the cards, not an empty message
            return _vcard_part(vcard, _vcard_name(attachment.embedded, attachment.name))
        part = MIMEPart(policy=_BUILD)
        part.set_content(message_to_mime(attachment.embedded), disposition="attachment")
        part.set_param("filename", attachment.name, header="Content-Disposition")
        return part
    part = _leaf(attachment.data, attachment.mime_type)
    if part.get_content_maintype() == "text" and part.get_param("charset") is None:
        charset = _text_charset(attachment.data)
        if charset:
            part.set_param("charset", charset)
    disposition = "inline" if inline else "attachment"
    part.add_header("Content-Disposition", disposition, filename=attachment.name)
    part.set_param("name", attachment.name)
    content_id = _clean(attachment.content_id).replace(" ", "")
    if content_id and content_id.isascii():
        part["Content-ID"] = f"<{content_id.strip('<>')}>"
    location = _clean(attachment.content_location)
    if location and location.isascii():
        part["Content-Location"] = location
    for param, value in (
        ("creation-date", attachment.created),
        ("modification-date", attachment.modified),
    ):
        if value is not None:
            part.set_param(param, format_datetime(value), header="Content-Disposition")
    return part


def _text_charset(data: bytes) -> str | None:
    """us-ascii or utf-8 when the bytes are that; otherwise unknown (no charset claimed)."""
    if data.isascii():
        return "us-ascii"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _referenced(html: bytes | None, attachment: Attachment) -> bool:
    if not html or not attachment.content_id:
        return False
    return b"cid:" + attachment.content_id.encode("utf-8", "replace") in html


def content_parts(message: Message) -> list[MIMEPart]:
    """The decoded content as MIME parts: the body (alternatives) first, then attachments."""
    alternatives: list[MIMEPart] = []
    if message.body_text is not None and message.body_text.strip():
        alternatives.append(_text_part(message.body_text))
    related = [
        a for a in message.attachments if a.embedded is None and _referenced(message.body_html, a)
    ]
    if message.body_html is not None and message.body_html.strip():
        html = _html_part(message)
        if related:
            inline = [attachment_part(a, inline=True) for a in related]
            html = _multipart("related", [html, *inline])
        alternatives.append(html)
    calendar = to_icalendar(message)
    if calendar is not None:
        method, ical = calendar
        part = MIMEPart(policy=_BUILD)
        part.set_content(ical.decode("utf-8"), subtype="calendar", charset="utf-8")
        part.set_param("method", method)
        alternatives.append(part)
    parts: list[MIMEPart] = []
    if len(alternatives) == 1:
        parts.append(alternatives[0])
    elif alternatives:
        parts.append(_multipart("alternative", alternatives))
    if message.body_rtf is not None and not message.html_from_rtf and _rich(message.body_rtf):
        rtf = Attachment(name="body.rtf", data=message.body_rtf, mime_type="application/rtf")
        parts.append(attachment_part(rtf))
    vcard = to_vcard(message)
    if vcard is not None:
        parts.append(_vcard_part(vcard, _vcard_name(message, "contacts.vcf")))
    task = request_task(message)  # already whole in the calendar part: one task, one UID
    for attachment in message.attachments:
        if attachment in related or attachment is task:
            continue
        parts.append(attachment_part(attachment))
    return parts


def _rich(rtf: bytes) -> bool:
    """True when an RTF body holds what its text cannot: pictures, objects or tables."""
    return any(word in rtf for word in (b"\\pict", b"\\object", b"\\trowd"))


def message_to_mime(message: Message) -> EmailMessage:
    """A complete MIME message for a decoded TNEF message (headers from its properties)."""
    root = EmailMessage(policy=_BUILD)
    if _clean(message.sender_email) or _clean(message.sender_name):
        root["From"] = _mailbox(message.sender_name, message.sender_email)
    to = [r for r in message.recipients if r.type == 1 and (_clean(r.email) or _clean(r.name))]
    cc = [r for r in message.recipients if r.type == 2 and (_clean(r.email) or _clean(r.name))]
    if to:
        root["To"] = [_mailbox(r.name, r.email) for r in to]
    if cc:
        root["Cc"] = [_mailbox(r.name, r.email) for r in cc]
    if _clean(message.subject):
        root["Subject"] = _clean(message.subject)
    when = message.date_sent or message.date_received
    if when is not None and 1900 <= when.year <= 9999:
        root["Date"] = format_datetime(when)
    if message.message_id and _MESSAGE_ID.fullmatch(message.message_id.strip()):
        try:
            root["Message-ID"] = message.message_id.strip()
        except (ValueError, IndexError):  # the stdlib parser has crashed on odd ids: none then
            del root["Message-ID"]
    if message.priority in (1, 5):
        root["X-Priority"] = "1" if message.priority == 1 else "5"
    root["MIME-Version"] = "1.0"
    parts = content_parts(message)
    if not parts:
        root.set_content("", charset="utf-8")
        return root
    body = parts[0] if len(parts) == 1 else _multipart("mixed", parts)
    for key, value in body.items():
        root[key] = value
    root.set_payload(body.get_payload())
    _boundaries(root)
    return root


def is_tnef_part(part: MIMEPart) -> bool:
    """An application/ms-tnef part, or any part with a file named winmail.dat."""
    if part.is_multipart():
        return False
    if part.get_content_type() in TNEF_TYPES:
        return True
    name = part.get_filename() or part.get_param("name") or ""
    return isinstance(name, str) and name.strip().lower() == "winmail.dat"


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _linesep(data: bytes) -> str:
    end = data.find(b"\n")
    return "\r\n" if end > 0 and data[end - 1 : end] == b"\r" else "\n"


def rewrite(
    message_bytes: bytes, mode: str = "replace", *, limits: Limits | None = None
) -> tuple[bytes, RewriteReport]:
    """Rewrite a MIME message's TNEF parts; never loses or damages anything it cannot decode."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    message_bytes = bytes(message_bytes)
    report = RewriteReport(mode=mode)
    if mode == "off":
        return message_bytes, report
    try:
        root = cast(EmailMessage, BytesParser(policy=_PARSE).parsebytes(message_bytes))
    except Exception:  # noqa: BLE001 - an unparsable message is passed through untouched
        return message_bytes, report
    owners: dict[int, MIMEPart] = {}
    targets = [(p, parent) for p, parent in _walk(root, None, root, owners) if is_tnef_part(p)]
    if not targets:
        return message_bytes, report
    limits = limits or Limits()
    summaries: list[str] = []
    for part, parent in targets:
        filename = str(part.get_filename() or part.get_param("name") or "winmail.dat")
        entry = PartReport(filename=filename, status="failed")
        report.parts.append(entry)
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - an undecodable transfer encoding: leave it
            payload = None
        if not isinstance(payload, bytes) or not payload:
            entry.error = "empty or undecodable TNEF part"
            continue
        keep = mode == "keep"
        try:
            decoded = decode(payload, limits=limits)
        except TnefError as exc:
            try:
                decoded = decode(payload, limits=limits, lenient=True)
            except TnefError:
                entry.error = str(exc)
                continue
            entry.warnings.append(f"decoded leniently: {exc}")
            keep = True  # what we recovered is added, the original stays
        try:
            _people_from_headers(decoded, owners.get(id(part), root))
            new_parts = content_parts(decoded)
        except Exception as exc:  # noqa: BLE001 - a part we cannot build: leave TNEF as is
            entry.error = f"could not build MIME parts: {exc!r}"
            continue
        entry.warnings.extend(decoded.warnings)
        if any(w.startswith(LOSSY_WARNINGS) for w in decoded.warnings):
            keep = True  # something inside could not be decoded: the original stays too
        unconverted = unconverted_classes(decoded)
        if unconverted:
            entry.warnings.append(f"{NOT_CONVERTED}: {', '.join(unconverted)}")
            keep = True
        if not new_parts:
            entry.status = "empty"
            continue
        _splice(part, parent, new_parts, decoded, keep=keep)
        entry.status = "kept" if keep else "decoded"
        entry.attachments = len(decoded.attachments)
        noun = "attachment" if entry.attachments == 1 else "attachments"
        summary = f"decoded {entry.attachments} {noun} from {filename}"
        summaries.append(summary + (" (original kept)" if keep else ""))
    if not summaries:
        return message_bytes, report
    header = "; ".join(summaries)
    del root[HEADER]  # a sender's own copy of our header would be misleading
    root[HEADER] = header
    _boundaries(root)
    try:
        out = root.as_bytes(policy=_PARSE.clone(linesep=_linesep(message_bytes)))
    except Exception as exc:  # noqa: BLE001 - never lose a message to a serialiser bug
        for entry in report.parts:
            entry.status, entry.error = "failed", f"could not serialise: {exc!r}"
        return message_bytes, report
    report.changed = True
    report.header = header
    return out, report


def _walk(
    part: MIMEPart, parent: MIMEPart | None, owner: MIMEPart, owners: dict[int, MIMEPart]
) -> list[tuple[MIMEPart, MIMEPart | None]]:
    """Every part with its parent; ``owners`` maps each to the message whose headers it has."""
    found: list[tuple[MIMEPart, MIMEPart | None]] = [(part, parent)]
    owners[id(part)] = owner
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            inner = part.get_content_type() == "message/rfc822"
            for child in payload:
                # Attached (forwarded) messages are searched too: their winmail.dat counts.
                child = cast(MIMEPart, child)
                found.extend(_walk(child, part, child if inner else owner, owners))
    return found


def _people_from_headers(decoded: Message, headers: MIMEPart) -> None:
    """A calendar item whose TNEF has no recipient table (Outlook often leaves it out) or no
    sender gets them from the enclosing message: attendees need addresses to answer to."""
    if not decoded.is_calendar:
        return
    if decoded.date_sent is None:  # the DTSTAMP: when the invitation was sent
        try:
            date = headers["Date"]
            decoded.date_sent = date.datetime if date is not None else None
        except (AttributeError, TypeError, ValueError, IndexError):
            pass
        if decoded.date_sent is not None and decoded.date_sent.tzinfo is None:
            decoded.date_sent = None  # a "-0000" date: no instant to state
    if not decoded.recipients:
        for kind, field_name in ((1, "To"), (2, "Cc")):
            for name, address in getaddresses(headers.get_all(field_name, [])):
                if "@" in address:
                    decoded.recipients.append(
                        Recipient(name=name or None, email=address, type=kind)
                    )
    if not decoded.sender_email:
        for name, address in getaddresses(headers.get_all("From", [])):
            if "@" in address:
                decoded.sender_name = decoded.sender_name or name or None
                decoded.sender_email = address
                break


def _splice(
    part: MIMEPart,
    parent: MIMEPart | None,
    new_parts: list[MIMEPart],
    decoded: Message,
    *,
    keep: bool,
) -> None:
    """Put the decoded parts where the TNEF part was (and keep the original when asked)."""
    replacement: list[MIMEPart] = list(new_parts)
    if keep:
        replacement.append(part)
    if parent is None or parent.get_content_type() == "message/rfc822":
        # A whole message (top level or attached) is TNEF: it becomes multipart/mixed under
        # the same headers.
        original = MIMEPart(policy=_BUILD)
        for key in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
            if key in part:
                original[key] = part[key]
        original.set_payload(part.get_payload())
        if keep:
            replacement[-1] = original
        for key in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
            del part[key]
        part["Content-Type"] = "multipart/mixed"
        part.set_payload(cast(Any, replacement))
        return
    siblings = cast(list[MIMEPart], parent.get_payload())
    index = next(i for i, s in enumerate(siblings) if s is part)
    if parent.get_content_type() != "multipart/mixed":
        siblings[index] = _multipart("mixed", replacement)
        return
    # Outlook sends a text/plain twin of the TNEF body next to winmail.dat: drop it only
    # when it says nothing else (same text, or empty) and we have a body to put there.
    twin = _plain_twin(siblings, index, decoded)
    siblings[index : index + 1] = replacement
    if twin is not None and new_parts and new_parts[0].get_content_disposition() is None:
        siblings.remove(twin)


def _plain_twin(siblings: list[MIMEPart], index: int, decoded: Message) -> MIMEPart | None:
    if index == 0 or decoded.body_text is None:
        return None
    first = siblings[0]
    if first.get_content_type() != "text/plain" or first.get_content_disposition() == "attachment":
        return None
    try:
        text = first.get_content()
    except Exception:  # noqa: BLE001 - an undecodable twin is simply kept
        return None
    if not isinstance(text, str):
        return None
    if not text.strip() or _normalise(text) == _normalise(decoded.body_text):
        return first
    return None
