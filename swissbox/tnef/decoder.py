"""TNEF decoder: ``decode(data) -> Message`` (bodies, attachments, embedded messages).

Bytes in, objects out. Malformed input raises ``TnefError`` saying what and where; with
``lenient=True`` it recovers what it can and lists what it skipped in ``Message.warnings``.

Attachment names: PR_ATTACH_LONG_FILENAME, else attAttachTitle, else PR_ATTACH_FILENAME, else
PR_DISPLAY_NAME, else ``attachment-N`` (+ PR_ATTACH_EXTENSION); directory parts and control
characters are dropped. Deliberate differences from the ``tnef`` tool (1.4.18), which the
shared corpus uses as reference (no corpus sample is affected by them):

- duplicate names become ``name-2.ext``, ``name-3.ext`` (tnef: ``name.ext.1`` with
  ``--number-backups``, else it overwrites);
- an embedded message (ATTACH_EMBEDDED_MSG, PR_ATTACH_DATA_OBJ with IID_IMessage) is decoded
  and named ``<name or subject>.eml`` (tnef writes the raw object);
- the text body is text, without the NUL terminator tnef copies into its ``.txt`` file.

Other PT_OBJECT data (OLE storages) is kept as stored, IID included, exactly as tnef writes it.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import struct
import uuid
from datetime import UTC, datetime

from . import stream
from .codepages import codec_for, decode_8bit
from .errors import EMBEDDED_NOT_DECODED, Budget, Limits, TnefError
from .model import Attachment, Message, Recipient
from .props import (
    PR_ATTACH_CONTENT_ID,
    PR_ATTACH_CONTENT_LOCATION,
    PR_ATTACH_CREATION_TIME_ALIAS,
    PR_ATTACH_DATA,
    PR_ATTACH_EXTENSION,
    PR_ATTACH_FILENAME,
    PR_ATTACH_FLAGS,
    PR_ATTACH_LONG_FILENAME,
    PR_ATTACH_METHOD,
    PR_ATTACH_MIME_TAG,
    PR_ATTACHMENT_HIDDEN,
    PR_BODY,
    PR_BODY_HTML,
    PR_CLIENT_SUBMIT_TIME,
    PR_CONVERSATION_TOPIC,
    PR_DISPLAY_NAME,
    PR_EMAIL_ADDRESS,
    PR_IMPORTANCE,
    PR_INTERNET_CPID,
    PR_INTERNET_MESSAGE_ID,
    PR_LAST_MODIFICATION_TIME,
    PR_MESSAGE_CLASS,
    PR_MESSAGE_CODEPAGE,
    PR_MESSAGE_DELIVERY_TIME,
    PR_RECIPIENT_TYPE,
    PR_RTF_COMPRESSED,
    PR_SENDER_EMAIL,
    PR_SENDER_NAME,
    PR_SENDER_SMTP_ADDRESS,
    PR_SENT_REPRESENTING_EMAIL,
    PR_SENT_REPRESENTING_NAME,
    PR_SENT_REPRESENTING_SMTP_ADDRESS,
    PR_SMTP_ADDRESS,
    PR_SUBJECT,
    PT_BINARY,
    PT_OBJECT,
    PT_UNICODE,
    Property,
    Props,
    walk_props,
    walk_rows,
)
from .stream import Attribute

IID_IMESSAGE = uuid.UUID("00020307-0000-0000-c000-000000000046")
IID_ISTORAGE = uuid.UUID("0000000b-0000-0000-c000-000000000046")
ATTACH_BY_VALUE = 1
ATTACH_EMBEDDED_MSG = 5
ATTACH_OLE = 6
ATT_MHTML_REF = 0x4
_SIGNATURE_BYTES = stream.SIGNATURE.to_bytes(
    4, "little"
)  # PR_ATTACH_FLAGS: rendered inline in the HTML body

_MIME = mimetypes.MimeTypes()
_EXTRA_TYPES = {
    ".msg": "application/vnd.ms-outlook",
    ".eml": "message/rfc822",
    ".ics": "text/calendar",
    ".vcf": "text/vcard",
    ".rtf": "application/rtf",
    ".mp3": "audio/mpeg",
    ".gz": "application/gzip",
    ".7z": "application/x-7z-compressed",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_MIME_TAG = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")


def decode(data: bytes, *, limits: Limits | None = None, lenient: bool = False) -> Message:
    """Decode a TNEF stream (winmail.dat) into a Message."""
    budget = Budget(limits or Limits())
    message = _decode(bytes(data), budget, lenient=lenient, depth=0, base=0)
    return message


def guess_type(name: str) -> str:
    """MIME type from a file name (built-in table, independent of the host's mime.types)."""
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot >= 0 else ""
    return _type_for_extension(extension)


@functools.lru_cache(maxsize=512)
def _type_for_extension(extension: str) -> str:
    if extension in _EXTRA_TYPES:
        return _EXTRA_TYPES[extension]
    guessed, _ = _MIME.guess_type("x" + extension, strict=False) if extension else (None, None)
    return guessed or "application/octet-stream"


def _decode(data: bytes, budget: Budget, *, lenient: bool, depth: int, base: int) -> Message:
    if depth > budget.limits.max_depth:
        raise TnefError(f"embedded messages nested deeper than {budget.limits.max_depth}", base)
    key, attributes = stream.read_stream(data, budget, lenient=lenient, base=base)
    message = Message(key=key, attributes=attributes, warnings=budget.warnings)
    groups: list[list[Attribute]] = []
    seen: set[int] = set()  # attributes of the current attachment that occur once
    for attr in attributes:
        if attr.level == stream.LVL_MESSAGE:
            _message_attribute(message, attr, budget, lenient)
            continue
        # attAttachRendData starts an attachment; for writers that omit it, a second
        # attAttachData, attAttachTitle or attAttachment does.
        if attr.id == stream.ATT_ATTACH_REND_DATA or not groups or attr.id in seen:
            if len(groups) >= budget.limits.max_attachments:
                raise TnefError(
                    f"more than {budget.limits.max_attachments} attachments", attr.offset
                )
            groups.append([attr])
            seen.clear()
        else:
            groups[-1].append(attr)
        if attr.id in _ONCE:
            seen.add(attr.id)
    props = message.mapi
    message.codepage = _codepage(props, message.oem_codepage)
    props.codepage = message.codepage
    for row in message.recipients:
        row.mapi.codepage = message.codepage
        _fill_recipient(row)
    _fill_message(message, props, budget, lenient)
    names: set[str] = set()
    for index, group in enumerate(groups, 1):
        budget.attachments += 1
        if budget.attachments > budget.limits.max_attachments:
            raise TnefError(
                f"more than {budget.limits.max_attachments} attachments", group[0].offset
            )
        attachment = _attachment(message, group, index, budget, lenient, depth)
        if attachment is not None:
            attachment.name = _unique(attachment.name, names)
            message.attachments.append(attachment)
    return message


_ONCE = frozenset({stream.ATT_ATTACH_DATA, stream.ATT_ATTACH_TITLE, stream.ATT_ATTACHMENT})


def _codepage(props: Props, oem: int | None) -> int:
    """Code page for PT_STRING8: PR_MESSAGE_CODEPAGE, attOemCodepage, PR_INTERNET_CPID, 1252."""
    candidates = (props.get(PR_MESSAGE_CODEPAGE), oem, props.get(PR_INTERNET_CPID))
    for value in candidates:
        if isinstance(value, int) and 0 < value < 0x10000 and value not in (1200, 1201):
            # US-ASCII is declared for mail that is really Windows-1252 more often than not.
            return 1252 if value == 20127 else value
    return 1252


def _string(attr: Attribute, codepage: int | None) -> str:
    return decode_8bit(attr.data, codepage)


def _date(attr: Attribute) -> datetime | None:
    if len(attr.data) < 12:
        return None
    year, month, day, hour, minute, second = struct.unpack_from("<6H", attr.data, 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _u32(attr: Attribute) -> int | None:
    if len(attr.data) >= 4:
        return int(struct.unpack_from("<I", attr.data, 0)[0])
    if len(attr.data) >= 2:
        return int(struct.unpack_from("<H", attr.data, 0)[0])
    return None


def _triple(attr: Attribute, codepage: int | None) -> tuple[str | None, str | None]:
    """attFrom: a TRP structure (id, size, name length, address length) then the strings."""
    data = attr.data
    if len(data) < 8:
        return None, None
    _trpid, _size, cch, cb = struct.unpack_from("<4H", data, 0)
    name = decode_8bit(data[8 : 8 + cch], codepage) or None
    address = decode_8bit(data[8 + cch : 8 + cch + cb], codepage) or None
    if address and ":" in address and address.split(":", 1)[0].upper() in ("SMTP", "EX"):
        address = address.split(":", 1)[1]
    return name, address


def _message_attribute(message: Message, attr: Attribute, budget: Budget, lenient: bool) -> None:
    cp = message.oem_codepage
    aid = attr.id
    if aid == stream.ATT_MSG_PROPS:
        message.mapi.extend(walk_props(attr.view, attr.offset + 9, budget, lenient=lenient))
    elif aid == stream.ATT_RECIP_TABLE:
        for row in walk_rows(attr.view, attr.offset + 9, budget, lenient=lenient):
            message.recipients.append(Recipient(None, None, 1, Props(row)))
    elif aid == stream.ATT_OEM_CODEPAGE:
        message.oem_codepage = _u32(attr)
    elif aid == stream.ATT_TNEF_VERSION:
        message.version = _u32(attr)
    elif aid == stream.ATT_MESSAGE_CLASS:
        message.message_class = _string(attr, cp) or message.message_class
    elif aid == stream.ATT_SUBJECT:
        message.subject = _string(attr, cp)
    elif aid == stream.ATT_BODY:
        message.body_text = _string(attr, cp)
    elif aid == stream.ATT_DATE_SENT:
        message.date_sent = _date(attr)
    elif aid == stream.ATT_DATE_RECD:
        message.date_received = _date(attr)
    elif aid == stream.ATT_DATE_MODIFIED:
        message.date_modified = _date(attr)
    elif aid == stream.ATT_MESSAGE_ID:
        message.message_id = _string(attr, cp)
    elif aid == stream.ATT_PRIORITY:
        message.priority = _u32(attr)
    elif aid == stream.ATT_FROM:
        message.sender_name, message.sender_email = _triple(attr, cp)


def _fill_recipient(row: Recipient) -> None:
    props = row.mapi
    row.name = props.text(PR_DISPLAY_NAME)
    row.email = props.text(PR_SMTP_ADDRESS) or props.text(PR_EMAIL_ADDRESS)
    kind = props.get(PR_RECIPIENT_TYPE)
    row.type = kind & 0xF if isinstance(kind, int) else 1


def _fill_message(message: Message, props: Props, budget: Budget, lenient: bool) -> None:
    message.message_class = props.text(PR_MESSAGE_CLASS) or message.message_class
    message.subject = props.text(PR_SUBJECT) or message.subject or props.text(PR_CONVERSATION_TOPIC)
    message.sender_name = (
        props.text(PR_SENT_REPRESENTING_NAME) or props.text(PR_SENDER_NAME) or message.sender_name
    )
    message.sender_email = (
        props.text(PR_SENT_REPRESENTING_SMTP_ADDRESS)
        or props.text(PR_SENDER_SMTP_ADDRESS)
        or _smtp(props.text(PR_SENT_REPRESENTING_EMAIL))
        or _smtp(props.text(PR_SENDER_EMAIL))
        or message.sender_email
    )
    sent = props.get(PR_CLIENT_SUBMIT_TIME)
    if isinstance(sent, datetime):
        message.date_sent = message.date_sent or sent
    received = props.get(PR_MESSAGE_DELIVERY_TIME)
    if isinstance(received, datetime):
        message.date_received = message.date_received or received
    message.message_id = props.text(PR_INTERNET_MESSAGE_ID) or message.message_id
    importance = props.get(PR_IMPORTANCE)
    if message.priority is None and isinstance(importance, int):
        message.priority = {0: 3, 1: 2, 2: 1}.get(importance)
    text = props.get(PR_BODY)
    if isinstance(text, str):
        message.body_text = text
    html = props.prop(PR_BODY_HTML)
    if html is not None and not html.multi:
        if html.type == PT_UNICODE and isinstance(html.value, str):
            message.body_html = html.value.encode("utf-8")
            message.html_charset = "utf-8"
        elif isinstance(html.raw, bytes):  # PT_BINARY or PT_STRING8: bytes in PR_INTERNET_CPID
            cpid = props.get(PR_INTERNET_CPID)
            message.body_html = _strip_nul(html.raw)
            message.html_charset = codec_for(cpid if isinstance(cpid, int) else message.codepage)
        elif isinstance(html.value, bytes | bytearray):
            cpid = props.get(PR_INTERNET_CPID)
            message.body_html = _strip_nul(bytes(html.value))
            message.html_charset = codec_for(cpid if isinstance(cpid, int) else message.codepage)
    rtf = props.prop(PR_RTF_COMPRESSED)
    if rtf is not None and isinstance(rtf.raw, bytes):
        message.rtf_compressed = rtf.raw
        message.max_rtf_size = budget.limits.max_rtf_size
        message._rtf_done = False  # decompressed on first use (see Message.body_rtf)


def _strip_nul(data: bytes) -> bytes:
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def _smtp(address: str | None) -> str | None:
    return address if address and "@" in address and not address.startswith("/") else None


def _attachment(
    message: Message,
    group: list[Attribute],
    index: int,
    budget: Budget,
    lenient: bool,
    depth: int,
) -> Attachment | None:
    cp = message.codepage
    att = Attachment(name="", data=b"", mime_type="", attributes=group, offset=group[0].offset)
    raw_data: bytes | None = None
    for attr in group:
        aid = attr.id
        if aid == stream.ATT_ATTACH_DATA:
            raw_data = attr.data
        elif aid == stream.ATT_ATTACH_TITLE:
            att.title = _string(attr, message.oem_codepage) or None
        elif aid == stream.ATT_ATTACH_META_FILE:
            att.metafile = attr.data
        elif aid == stream.ATT_ATTACH_CREATE_DATE:
            att.created = _date(attr)
        elif aid == stream.ATT_ATTACH_MODIFY_DATE:
            att.modified = _date(attr)
        elif aid == stream.ATT_ATTACHMENT:
            att.mapi.extend(walk_props(attr.view, attr.offset + 9, budget, lenient=lenient))
    props = att.mapi
    props.codepage = cp
    att.long_name = _clean_name(props.text(PR_ATTACH_LONG_FILENAME))
    att.display_name = _clean_name(props.text(PR_DISPLAY_NAME))
    method = props.get(PR_ATTACH_METHOD)
    att.method = method if isinstance(method, int) else ATTACH_BY_VALUE
    att.content_id = _strip_brackets(props.text(PR_ATTACH_CONTENT_ID))
    att.content_location = props.text(PR_ATTACH_CONTENT_LOCATION)
    flags = props.get(PR_ATTACH_FLAGS)
    att.inline = bool(att.content_id) or (isinstance(flags, int) and bool(flags & ATT_MHTML_REF))
    att.hidden = bool(props.get(PR_ATTACHMENT_HIDDEN))
    created = props.get(PR_ATTACH_CREATION_TIME_ALIAS)
    if att.created is None and isinstance(created, datetime):
        att.created = created
    modified = props.get(PR_LAST_MODIFICATION_TIME)
    if att.modified is None and isinstance(modified, datetime):
        att.modified = modified
    entry = props.entry(PR_ATTACH_DATA)
    # attAttachData already holds the bytes of a by-value attachment; objects need a look.
    wanted = entry is not None and (raw_data is None or entry[2] == PT_OBJECT)
    data_prop = props.prop(PR_ATTACH_DATA) if wanted else None
    if data_prop is not None and not data_prop.multi:
        raw_data = _data_property(message, att, data_prop, budget, lenient, depth, raw_data)
    if (
        att.embedded is None
        and att.method == ATTACH_EMBEDDED_MSG
        and raw_data is not None
        and raw_data[:4] == _SIGNATURE_BYTES
    ):
        # Some writers put the embedded message's TNEF stream in attAttachData itself.
        att.embedded = _embedded(raw_data, att, budget, lenient, depth)
    att.data = raw_data if raw_data is not None else b""
    if raw_data is None and att.embedded is None and not att.title and not len(props):
        return None  # attAttachRendData alone (no data, no name): nothing to deliver
    att.name = _name(att, props, index)
    mime_tag = props.text(PR_ATTACH_MIME_TAG)
    if mime_tag:
        mime_tag = mime_tag.strip().lower()
    if att.embedded is not None:
        att.mime_type = "message/rfc822"
    elif mime_tag and _MIME_TAG.match(mime_tag):
        att.mime_type = mime_tag
    else:
        att.mime_type = guess_type(att.name)
    return att


def _data_property(
    message: Message,
    att: Attachment,
    prop: Property,
    budget: Budget,
    lenient: bool,
    depth: int,
    current: bytes | None,
) -> bytes | None:
    raw = prop.raw if isinstance(prop.raw, bytes) else None
    if raw is None:
        return current
    if prop.type == PT_OBJECT and len(raw) >= 16:
        iid = uuid.UUID(bytes_le=raw[:16])
        if iid == IID_IMESSAGE or att.method == ATTACH_EMBEDDED_MSG:
            payload = raw[16:]
            att.embedded = _embedded(payload, att, budget, lenient, depth)
            return payload if att.embedded is not None or current is None else current
        # Other objects (OLE storages, ATTACH_OLE) are kept as stored, IID included, which is
        # what the tnef tool writes and what an OLE-aware reader expects.
        return raw if current is None else current
    if prop.type == PT_BINARY:
        return raw if current is None else current
    return current


def _embedded(
    payload: bytes, att: Attachment, budget: Budget, lenient: bool, depth: int
) -> Message | None:
    """Decode an embedded message; a broken one stays an opaque attachment (with a warning)."""
    try:
        embedded = _decode(payload, budget, lenient=lenient, depth=depth + 1, base=att.offset)
        if not embedded.attributes:
            raise TnefError("no attributes", att.offset)
        return embedded
    except TnefError as exc:
        if exc.reason.startswith(("embedded messages nested", "more than")):
            raise  # resource limits apply to the whole stream
        budget.warnings.append(f"{EMBEDDED_NOT_DECODED}: {exc}")
        return None


def _strip_brackets(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value or None


_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _clean_name(name: str | None) -> str | None:
    """A display file name: no directory part, no control characters."""
    if not name:
        return None
    name = _BAD_CHARS.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or None


def _name(att: Attachment, props: Props, index: int) -> str:
    for candidate in (
        att.long_name,
        _clean_name(att.title),
        _clean_name(props.text(PR_ATTACH_FILENAME)),
        att.display_name,
    ):
        if candidate and candidate not in (".", ".."):
            if att.embedded is not None and not candidate.lower().endswith((".eml", ".msg")):
                return candidate + ".eml"
            return candidate
    if att.embedded is not None:
        subject = _clean_name(att.embedded.subject)
        return f"{subject or f'message-{index}'}.eml"
    extension = props.text(PR_ATTACH_EXTENSION) or ""
    if extension and not extension.startswith("."):
        extension = "." + extension
    mime_tag = props.text(PR_ATTACH_MIME_TAG)
    if not extension and mime_tag:
        extension = _MIME.guess_extension(mime_tag.strip().lower(), strict=False) or ""
    return f"attachment-{index}{_clean_name(extension) or ''}"


def _unique(name: str, taken: set[str]) -> str:
    """Disambiguate duplicate names as ``stem-2.ext``, ``stem-3.ext``..."""
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    number = 2
    while f"{stem}-{number}{ext}".lower() in taken:
        number += 1
    result = f"{stem}-{number}{ext}"
    taken.add(result.lower())
    return result
