"""The base subject of RFC 5256 section 2.1 (what SORT SUBJECT and THREAD compare); pure.

`base_subject(raw)` -> (base, is_reply): encoded words decoded, blanks collapsed, then
repeatedly: trailing "(fwd)" and blanks removed (step 2), leading "Re:", "Fw:", "Fwd:" with
their "[blob]"s removed (step 3), a leading "[blob]" removed when text remains after it
(step 4), and a whole "[fwd: ...]" unwrapped (step 6). `is_reply` says whether a "Re:"/"Fwd:",
"(fwd)" or "[fwd: ...]" was removed (THREAD=REFERENCES step 5 prefers the original).
"""

from __future__ import annotations

import re

from swissbox.imap.collation import decode_words

_BLANKS = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:\(fwd\)| )$", re.IGNORECASE)
_BLOB = r"\[[^\[\]]*\] *"
# subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [blob] ":"
_LEADER = re.compile(rf"(?:{_BLOB})*(?:re|fwd?) *(?:{_BLOB})?:| ", re.IGNORECASE)
_LEADING_BLOB = re.compile(_BLOB)


def base_subject(raw: str | None) -> tuple[str, bool]:
    """(base subject, whether a reply/forward marker was removed); None is ""."""
    if not raw:
        return "", False
    text = _BLANKS.sub(" ", decode_words(raw))
    reply = False
    while True:
        while m := _TRAILER.search(text):  # step 2
            reply = reply or m[0] != " "
            text = text[: m.start()]
        while True:  # steps 3 to 5
            m = _LEADER.match(text)
            if m:
                reply = reply or m[0] != " "
                text = text[m.end() :]
                continue
            m = _LEADING_BLOB.match(text)
            if m and m.end() < len(text):
                text = text[m.end() :]
                continue
            break
        if text[:5].lower() == "[fwd:" and text.endswith("]"):  # step 6
            text = text[5:-1]
            reply = True
            continue
        return text, reply
