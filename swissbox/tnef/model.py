"""What a decoded TNEF stream becomes: a Message with bodies, recipients and Attachments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .props import Property, PropMap
from .stream import Attribute


@dataclass
class Recipient:
    """One row of attRecipTable."""

    name: str | None
    email: str | None
    type: int  # 1 To, 2 Cc, 3 Bcc (resource in meetings)
    props: list[Property] = field(default_factory=list)


@dataclass
class Attachment:
    """One attachment: its final (unique) name, bytes, MIME type and provenance."""

    name: str
    data: bytes
    mime_type: str
    content_id: str | None = None
    content_location: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    title: str | None = None
    long_name: str | None = None
    display_name: str | None = None
    method: int = 1
    hidden: bool = False
    inline: bool = False
    embedded: Message | None = None
    metafile: bytes | None = None
    props: list[Property] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    offset: int = 0

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Message:
    """A decoded TNEF message (top level or embedded)."""

    key: int = 0
    version: int | None = None
    oem_codepage: int | None = None
    codepage: int | None = None
    message_class: str | None = None
    subject: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    date_sent: datetime | None = None
    date_received: datetime | None = None
    date_modified: datetime | None = None
    message_id: str | None = None
    priority: int | None = None
    body_text: str | None = None
    body_html: bytes | None = None
    html_charset: str = "utf-8"
    html_from_rtf: bool = False
    text_from_rtf: bool = False
    body_rtf: bytes | None = None
    recipients: list[Recipient] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    props: list[Property] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def propmap(self) -> PropMap:
        return PropMap(self.props)

    @property
    def body_formats(self) -> list[str]:
        """The body forms present: any of "text", "html", "rtf"."""
        forms = []
        if self.body_text is not None:
            forms.append("text")
        if self.body_html is not None:
            forms.append("html")
        if self.body_rtf is not None:
            forms.append("rtf")
        return forms

    @property
    def is_calendar(self) -> bool:
        cls = (self.message_class or "").lower()
        return cls.startswith(("ipm.schedule.meeting", "ipm.appointment", "ipm.task"))
