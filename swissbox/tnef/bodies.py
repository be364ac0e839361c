"""Bodies derived from PR_RTF_COMPRESSED: the RTF itself, HTML de-encapsulated from it, and
plain text when the RTF is all there is. Called once per message, on first use."""

from __future__ import annotations

from . import lzfu
from .errors import RTF_NOT_DECODED, TnefError
from .model import Message
from .rtf import deencapsulate_html, is_html_encapsulated, rtf_to_text


def resolve_rtf(message: Message) -> None:
    """Fill ``message``'s RTF-derived bodies; a broken RTF body becomes a warning."""
    if message.rtf_compressed is None:
        return
    try:
        rtf = lzfu.decompress(message.rtf_compressed, message.max_rtf_size)
    except TnefError as exc:
        message.warnings.append(f"{RTF_NOT_DECODED}: {exc}")
        return
    message._rtf = rtf
    if message._html is None and is_html_encapsulated(rtf):
        html = deencapsulate_html(rtf)
        if html:
            message._html = html.encode("utf-8")
            message.html_charset = "utf-8"
            message._html_from_rtf = True
    no_text = message._text is None or not message._text.strip()
    if no_text and (message._html is None or message._html_from_rtf):
        text = rtf_to_text(rtf)
        if text.strip():
            message._text = text
            message._text_from_rtf = True
