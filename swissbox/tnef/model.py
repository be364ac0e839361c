"""What a decoded TNEF stream becomes: a Message with bodies, recipients and Attachments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .props import Property, Props
from .stream import Attribute


@dataclass
class Recipient:
    """One row of attRecipTable."""

    name: str | None
    email: str | None
    type: int  # 1 To, 2 Cc, 3 Bcc (resource in meetings)
    mapi: Props = field(default_factory=Props)

    @property
    def props(self) -> list[Property]:
        return self.mapi.props


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
    mapi: Props = field(default_factory=Props)
    attributes: list[Attribute] = field(default_factory=list)
    offset: int = 0

    @property
    def props(self) -> list[Property]:
        """The attachment's MAPI properties (attAttachment)."""
        return self.mapi.props

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
    html_charset: str = "utf-8"
    rtf_compressed: bytes | None = None
    max_rtf_size: int = 16 * 1024 * 1024
    _text: str | None = None
    _html: bytes | None = None
    _rtf: bytes | None = None
    _html_from_rtf: bool = False
    _text_from_rtf: bool = False
    _rtf_done: bool = True
    recipients: list[Recipient] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    mapi: Props = field(default_factory=Props)
    attributes: list[Attribute] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # Bodies. PR_RTF_COMPRESSED is decompressed (and HTML or text derived from it) on first
    # use, so listing attachments never pays for RTF; a bad RTF body becomes a warning.

    @property
    def body_text(self) -> str | None:
        if self._text is None or not self._text.strip():
            self._resolve_rtf()
        return self._text

    @body_text.setter
    def body_text(self, value: str | None) -> None:
        self._text = value

    @property
    def body_html(self) -> bytes | None:
        if self._html is None:
            self._resolve_rtf()
        return self._html

    @body_html.setter
    def body_html(self, value: bytes | None) -> None:
        self._html = value

    @property
    def body_rtf(self) -> bytes | None:
        self._resolve_rtf()
        return self._rtf

    @property
    def html_from_rtf(self) -> bool:
        self._resolve_rtf()
        return self._html_from_rtf

    @property
    def text_from_rtf(self) -> bool:
        self._resolve_rtf()
        return self._text_from_rtf

    def _resolve_rtf(self) -> None:
        if self._rtf_done:
            return
        self._rtf_done = True
        from .bodies import resolve_rtf

        resolve_rtf(self)

    @property
    def props(self) -> list[Property]:
        """The message's MAPI properties (attMsgProps)."""
        return self.mapi.props

    @property
    def propmap(self) -> Props:
        return self.mapi

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
        from .calendar import method_for

        return method_for(self.message_class) is not None
