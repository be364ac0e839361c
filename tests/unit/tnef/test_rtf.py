"""RTF bodies: HTML de-encapsulation ([MS-OXRTFEX]) and text derived from RTF."""

from __future__ import annotations

from swissbox.tnef.rtf import deencapsulate_html, is_html_encapsulated, rtf_to_text

# The shape of [MS-OXRTFEX]'s example: HTML tags in htmltag groups, RTF-only parts in \htmlrtf.
ENCAPSULATED = (
    b"{\\rtf1\\ansi\\ansicpg1251\\fromhtml1 \\deff0{\\fonttbl\r\n"
    b"{\\f0\\fswiss\\fcharset204 Arial;}\r\n{\\f1\\fmodern Courier New;}}\r\n"
    b"{\\colortbl\\red0\\green0\\blue0;}\r\n"
    b"\\uc1\\pard\\plain\\deftab360 \\f0\\fs24 \r\n"
    b"{\\*\\htmltag19 <html>}\r\n{\\*\\htmltag34 <head>}\r\n{\\*\\htmltag161 <title>}\r\n"
    b"{\\*\\htmltag241 </title>}\r\n{\\*\\htmltag41 </head>}\r\n{\\*\\htmltag50 <body>}\r\n"
    b"{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Hello \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2 "
    b"\\u8364?{\\*\\htmltag84 &amp;}\\htmlrtf &\\htmlrtf0  more\r\n"
    b"{\\*\\htmltag244 <o:p>}{\\*\\htmltag252 </o:p>}\\htmlrtf\\par}\\htmlrtf0\r\n"
    b"{\\*\\htmltag72 </p>}\r\n{\\*\\htmltag58 </body>}\r\n{\\*\\htmltag27 </html>}}"
)


def test_detects_fromhtml() -> None:
    assert is_html_encapsulated(ENCAPSULATED)
    assert not is_html_encapsulated(b"{\\rtf1\\ansi hello}")
    assert deencapsulate_html(b"{\\rtf1\\ansi hello}") is None


def test_deencapsulates_html() -> None:
    html = deencapsulate_html(ENCAPSULATED)
    assert html is not None
    assert html.startswith("<html><head><title></title></head><body><p>")
    # The text run is in font 0 (charset 204 = Windows-1251); \u8364 is the euro sign.
    assert "Hello Привет €&amp; more" in html
    assert "<o:p></o:p>" in html
    assert html.endswith("</p></body></html>")
    assert "Courier" not in html and "\\" not in html


def test_text_from_plain_rtf() -> None:
    rtf = (
        b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Arial;}}{\\colortbl;\\red1;}"
        b"{\\*\\generator Riched20;}\\pard First line\\par Second\\tab tabbed "
        b"caf\\'e9 \\{braces\\} \\\\ back{\\*\\ignored nothing}\\par\r\n"
        b"{\\pict\\wmetafile8 0102030405}\\line Last\\u8217?s}"
    )
    assert rtf_to_text(rtf) == "First line\nSecond\ttabbed café {braces} \\ back\n\nLast\u2019s\n"


def test_text_from_html_encapsulated_rtf_skips_tags() -> None:
    text = rtf_to_text(ENCAPSULATED)
    assert "<html>" not in text
    assert "Hello Привет" in text


def test_malformed_rtf_never_raises() -> None:
    for rtf in (b"{\\", b"}}}}{{{", b"\\'zz\\u-99999999999?", b"{\\*\\htmltag", b"\\bin99999 x"):
        rtf_to_text(rtf)
        deencapsulate_html(b"{\\rtf1\\fromhtml1 " + rtf)


def test_unicode_surrogates_and_uc() -> None:
    rtf = b"{\\rtf1\\ansi\\uc2 \\u-10179\\'3f\\'3f\\u-8704??x}"
    assert rtf_to_text(rtf) == "\U0001f600x\n"
