"""FETCH attributes (RFC 3501 6.4.5, RFC 7162 MODSEQ) parsed from tokens; pure.

`parse_fetch(token, modifiers)` -> `FetchRequest`: the items in order, whether the message
bodies are needed, and the CHANGEDSINCE modifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from swissbox.imap.parser import Atom, ParseError, Token, number, tokenize

MACROS = {
    "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
    "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
}
SIMPLE = {
    "UID",
    "FLAGS",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.TEXT",
    "MODSEQ",
}
_SECTION = re.compile(
    r"^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$"
)
_BINARY_PART = re.compile(r"^(?:[1-9]\d{0,5}(?:\.[1-9]\d{0,5})*)?$")  # RFC 3516 section-binary
_PART = re.compile(r"^((?:[1-9]\d{0,5}\.)*[1-9]\d{0,5})?\.?(.*)$")


@dataclass(frozen=True)
class Section:
    part: tuple[int, ...] = ()
    text: str = ""  # "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    fields: tuple[str, ...] = ()
    spec: str = ""  # as the client wrote it, echoed in the response


@dataclass(frozen=True)
class FetchItem:
    name: str  # UID, FLAGS, ..., BODY / BINARY / BINARY.SIZE (with a section), RFC822...
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int | None] | None = None  # (origin, length)

    @property
    def needs_body(self) -> bool:
        return self.section is not None or self.name in ("RFC822", "RFC822.TEXT")

    @property
    def sets_seen(self) -> bool:
        return (self.section is not None and not self.peek) or self.name in (
            "RFC822",
            "RFC822.TEXT",
        )


@dataclass
class FetchRequest:
    items: list[FetchItem]
    changedsince: int | None = None
    vanished: bool = False
    names: set[str] = field(default_factory=set)

    @property
    def needs_body(self) -> bool:
        return any(i.needs_body for i in self.items)


_ITEMS: dict[bytes, FetchItem] = {}


def parse_item(atom: bytes) -> FetchItem:
    """One FETCH item (memoised: clients send the same few again and again)."""
    item = _ITEMS.get(atom)
    if item is None:
        item = _parse_item(atom)
        if len(_ITEMS) < 4096:
            _ITEMS[bytes(atom)] = item
    return item


def _parse_item(atom: bytes) -> FetchItem:
    text = atom.decode("ascii", "replace")
    upper = text.upper()
    if upper in SIMPLE:
        return FetchItem(upper)
    m = _SECTION.match(
        text if "[" not in text else upper[: text.index("[")] + text[text.index("[") :]
    )
    if m is None:
        raise ParseError(f"unknown FETCH item {text[:40]}")
    kind, spec, origin, length = m.groups()
    kind = kind.upper()
    partial = None
    if origin is not None:
        if length is not None and int(length) == 0:
            raise ParseError("zero-length partial")
        partial = (int(origin), int(length) if length is not None else None)
    if kind.startswith("BINARY"):
        if not _BINARY_PART.match(spec):
            raise ParseError(f"bad BINARY section {spec[:60]}")
        if kind == "BINARY.SIZE" and origin is not None:
            raise ParseError("BINARY.SIZE takes no partial")
        section = Section(tuple(int(p) for p in spec.split(".")) if spec else (), "", (), spec)
        name = "BINARY.SIZE" if kind == "BINARY.SIZE" else "BINARY"
        return FetchItem(name, section, kind != "BINARY", partial)
    return FetchItem("BODY", parse_section(spec), kind.endswith("PEEK"), partial)


def parse_section(spec: str) -> Section:
    m = _PART.match(spec)
    assert m is not None
    part_s, rest = m.group(1), m.group(2)
    part = tuple(int(p) for p in part_s.split(".")) if part_s else ()
    rest_upper = rest.upper()
    if part_s and rest and not spec[len(part_s) :].startswith("."):
        raise ParseError(f"bad section {spec[:60]}")
    if rest_upper in ("", "HEADER", "TEXT") or (rest_upper == "MIME" and part):
        return Section(part, rest_upper, (), spec)
    for kind in ("HEADER.FIELDS.NOT", "HEADER.FIELDS"):
        if rest_upper.startswith(kind + " ") or rest_upper.startswith(kind + "("):
            tokens = tokenize([rest[len(kind) :].encode("ascii", "replace")])
            if len(tokens) != 1 or not isinstance(tokens[0], list) or not tokens[0]:
                raise ParseError("HEADER.FIELDS needs a list of field names")
            names = []
            for t in tokens[0]:
                if isinstance(t, list):
                    raise ParseError("bad header field name")
                names.append(bytes(t).decode("ascii", "replace"))
            return Section(part, kind, tuple(names), spec)
    raise ParseError(f"bad section {spec[:60]}")


def parse_fetch(token: Token, modifiers: Token | None = None) -> FetchRequest:
    if isinstance(token, list):
        atoms = token
        if not atoms:
            raise ParseError("empty FETCH list")
    else:
        macro = MACROS.get(bytes(token).decode("ascii", "replace").upper())
        atoms = [Atom(m.encode()) for m in macro] if macro is not None else [token]
    items: list[FetchItem] = []
    for a in atoms:
        if not isinstance(a, Atom):
            raise ParseError("bad FETCH item")
        items.append(parse_item(bytes(a)))
    req = FetchRequest(items)
    if modifiers is not None:
        if not isinstance(modifiers, list):
            raise ParseError("FETCH modifiers must be a list")
        it = iter(modifiers)
        for mod in it:
            name = bytes(mod).upper() if isinstance(mod, Atom) else b""
            if name == b"CHANGEDSINCE":
                req.changedsince = number(next(it, Atom(b"")), "mod-sequence")
            elif name == b"VANISHED":
                req.vanished = True
            else:
                raise ParseError("unknown FETCH modifier")
    req.names = {i.name for i in items}
    return req
