"""RFC 5322 address lists as IMAP sees them (RFC 3501 7.4.2 ENVELOPE); pure, never raises.

`parse(value)` -> `[name, adl, mailbox, host]` entries: a group is `[None, None, group name,
None]`, its members, then `[None, None, None, None]`; a source route is kept as the adl
(`@a,@b`); with no display name the address's last comment is its name. A missing local part
or domain is filled with MISSING_MAILBOX / MISSING_DOMAIN as Dovecot does: a NIL host would
read as a group marker. Text is kept as sent (encoded words undecoded), unfolded.

`searchable(value)` is the parsed list written back in one normal form (`name <a@b>`,
`group: a@b;`), so SEARCH FROM finds `user@domain.org` in `<user (comment)@ domain.org>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MISSING_MAILBOX = "MISSING_MAILBOX"
MISSING_DOMAIN = "MISSING_DOMAIN"
# A header listing more addresses, or longer than this, is read up to there (the index keeps
# the header whole for SEARCH): bounds the time a pathological header costs (~50 ms).
MAX_ADDRESSES = 10_000
MAX_PARSED = 64 * 1024

Address = list[str | None]  # [name, adl, mailbox, host]

_SPECIALS = '()<>[]:;@\\,."'
_ATOM = re.compile(r"[^\s()<>\[\]:;@\\,.\"]+")
_FOLD = re.compile(r"\r?\n")


@dataclass
class _Token:
    kind: str  # "atom", "quoted", "literal" (domain literal), or the special character
    text: str


class _Tokens:
    """Tokens of a header value; comments are skipped, each token remembering the last
    comment between it and the token before."""

    def __init__(self, value: str) -> None:
        self.items: list[tuple[_Token, str | None]] = []  # token, comment just before it
        self.pos = 0
        self.trailing_comment: str | None = None
        self._scan(_FOLD.sub("", value))

    def _scan(self, s: str) -> None:
        i, n = 0, len(s)
        comment: str | None = None
        while i < n:
            c = s[i]
            if c.isspace():
                i += 1
                continue
            if c == "(":
                text, i = _comment(s, i)
                comment = text.strip() or comment
                continue
            if c == '"':
                text, i = _quoted(s, i + 1, '"')
                tok = _Token("quoted", text)
            elif c == "[":
                text, i = _quoted(s, i + 1, "]")
                tok = _Token("literal", "[" + text + "]")
            elif c in _SPECIALS:
                tok = _Token(c, c)
                i += 1
            else:
                m = _ATOM.match(s, i)
                end = m.end() if m else i + 1
                tok = _Token("atom", s[i:end])
                i = end
            self.items.append((tok, comment))
            comment = None
        self.trailing_comment = comment

    def peek(self) -> _Token | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def next(self) -> _Token | None:
        tok = self.peek()
        if tok is not None:
            self.pos += 1
        return tok

    def comment_before(self) -> str | None:
        """The last comment seen before the next token (or at the end)."""
        if self.pos < len(self.items):
            return self.items[self.pos][1]
        return self.trailing_comment

    def at(self, *kinds: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in kinds


def _comment(s: str, i: int) -> tuple[str, int]:
    """A (nested) comment starting at `s[i] == "("`; its text and the index after it."""
    depth, out = 0, []
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == "(":
            depth += 1
            if depth > 1:
                out.append(c)
        elif c == ")":
            depth -= 1
            if depth == 0:
                return "".join(out), i + 1
            out.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out), i


def _quoted(s: str, i: int, end: str) -> tuple[str, int]:
    out = []
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == end:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def _words(toks: _Tokens, kinds: tuple[str, ...]) -> list[_Token]:
    out = []
    while toks.at(*kinds):
        tok = toks.next()
        assert tok is not None
        out.append(tok)
    return out


def _phrase(words: list[_Token]) -> str | None:
    text = " ".join(w.text for w in words).strip()
    return text or None


def _dotted(toks: _Tokens, kinds: tuple[str, ...]) -> str:
    """A local part or domain: word *("." word), joined without the blanks between (stray
    dots kept, as in the `first.last.@example.com` addresses some senders use)."""
    out = []
    if toks.at(*kinds):
        out.append(toks.next().text)  # type: ignore[union-attr]
    while toks.at("."):
        out.append(toks.next().text)  # type: ignore[union-attr]
        if toks.at(*kinds):
            out.append(toks.next().text)  # type: ignore[union-attr]
    return "".join(out)


def _addr_spec(toks: _Tokens) -> tuple[str | None, str | None]:
    local = _dotted(toks, ("atom", "quoted"))
    domain = None
    if toks.at("@"):
        toks.next()
        domain = _dotted(toks, ("atom", "literal"))
    return local or None, domain or None


def _filled(name: str | None, adl: str | None, local: str | None, host: str | None) -> Address:
    return [name, adl, local or MISSING_MAILBOX, host or MISSING_DOMAIN]


def _angle(toks: _Tokens, name: str | None) -> Address:
    """After `<`: [route ":"] addr-spec ">" (a missing ">" is forgiven)."""
    adl = None
    if toks.at("@"):
        start, route = toks.pos, []
        while toks.at("@", ",", "atom", "literal", "."):
            tok = toks.next()
            assert tok is not None
            route.append(tok.text)
        if toks.at(":"):
            toks.next()
            adl = "".join(route) or None
        else:  # no route after all: `<@domain>`, a missing local part
            toks.pos = start
    local, host = _addr_spec(toks)
    _skip_to(toks, (">", ",", ";"))
    if toks.at(">"):
        toks.next()
    return _filled(name, adl, local, host)


def _skip_to(toks: _Tokens, kinds: tuple[str, ...]) -> None:
    """Drops what a lenient reading cannot place, up to one of `kinds`."""
    while toks.peek() is not None and not toks.at(*kinds):
        toks.next()


def _mailbox(toks: _Tokens, start: int) -> Address | None:
    """A mailbox whose leading words (from token `start`) were read already: a display name
    when `<` follows, else read again as an addr-spec."""
    words = toks.items[start : toks.pos]
    if toks.at("<"):
        toks.next()
        return _angle(toks, _phrase([w for w, _ in words]))
    toks.pos = start
    local, host = _addr_spec(toks)
    if local is None and host is None:
        return None
    return _filled(toks.comment_before(), None, local, host)


def parse(value: str | None) -> list[Address]:
    """The IMAP address entries of one header value (empty for none)."""
    if not value:
        return []
    toks = _Tokens(value[:MAX_PARSED])
    out: list[Address] = []
    while toks.peek() is not None and len(out) < MAX_ADDRESSES:
        if toks.at(",", ";", ">"):
            toks.next()
            continue
        start = toks.pos
        words = _words(toks, ("atom", "quoted", "."))
        if toks.at(":"):  # a group: name ":" [mailbox-list] ";"
            toks.next()
            out.append([None, None, _phrase(words) or "", None])
            while toks.peek() is not None and not toks.at(";"):
                if toks.at(","):
                    toks.next()
                    continue
                start = toks.pos
                _words(toks, ("atom", "quoted", "."))
                member = _mailbox(toks, start)
                if member is not None:
                    out.append(member)
                _skip_to(toks, (",", ";"))
            if toks.at(";"):
                toks.next()
            out.append([None, None, None, None])
            continue
        address = _mailbox(toks, start)
        if address is not None:
            out.append(address)
        elif toks.peek() is not None and not toks.at(",", ";"):
            toks.next()  # a stray special: never loop on it
        _skip_to(toks, (",",))
    return out


def searchable(value: str | None) -> str:
    """The address list in one normal form, for substring SEARCH (see the module doc)."""
    parts: list[str] = []
    for name, adl, mailbox, host in parse(value):
        if host is None and mailbox is not None:
            parts.append(f"{mailbox}:")
        elif mailbox is None:
            parts.append(";")
        else:
            addr = f"{mailbox}@{host}"
            if adl:
                addr = f"{adl}:{addr}"
            parts.append(f"{name} <{addr}>" if name else addr)
    return " ".join(parts)
