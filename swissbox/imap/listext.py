"""LIST-EXTENDED (RFC 5258) with SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819) and STATUS
items (RFC 3501, STATUS=SIZE RFC 8438, IMAP4rev2's DELETED); pure: tokens in, a request out;
the mailbox tree and a request in, the LIST entries out.

Rules kept here (RFC 5258 3, 3.5, 4): a selection option list comes before the reference and
RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE beside it (REMOTE alone is not enough); unknown
options are BAD. SUBSCRIBED selects subscribed names (a subscribed name whose folder is gone is
listed with \\NonExistent) and implies the \\Subscribed return; RECURSIVEMATCH adds a parent
that matches a pattern but not the selection when some descendant that matches the selection
matches no pattern, with `("CHILDINFO" (criteria))`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from swissbox.imap.account import list_matches
from swissbox.imap.parser import Atom, ParseError, Str, Token, mailbox_name
from swissbox.mailstore.paths import SEPARATOR

STATUS_ITEMS = (
    b"MESSAGES",
    b"RECENT",
    b"UIDNEXT",
    b"UIDVALIDITY",
    b"UNSEEN",
    b"HIGHESTMODSEQ",
    b"SIZE",
    b"DELETED",
)
SELECT_OPTIONS = ("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE")
RETURN_OPTIONS = ("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS")
CRITERIA = ("SUBSCRIBED", "SPECIAL-USE")  # the selection options that select (CHILDINFO)


def status_items(token: Token) -> list[bytes]:
    """STATUS data item names, upper-cased; ParseError (BAD) for an unknown one."""
    if not isinstance(token, list) or not token:
        raise ParseError("STATUS needs a list of items")
    keys = [bytes(item).upper() if isinstance(item, Atom) else b"" for item in token]
    if not set(keys) <= set(STATUS_ITEMS):
        raise ParseError("unknown STATUS item")
    return keys


@dataclass(frozen=True)
class ListRequest:
    """One LIST command: reference, patterns (one or more), selection and return options."""

    reference: str
    patterns: tuple[str, ...]
    select: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status: tuple[bytes, ...] = ()

    @property
    def subscribed_marks(self) -> bool:
        """\\Subscribed is shown (RETURN (SUBSCRIBED), implied by the SUBSCRIBED selection)."""
        return "SUBSCRIBED" in self.returns or "SUBSCRIBED" in self.select

    @property
    def delimiter_only(self) -> bool:
        """`LIST "" ""`: the hierarchy delimiter, nothing else."""
        return self.patterns == ("",)

    @property
    def criteria(self) -> tuple[str, ...]:
        return tuple(c for c in CRITERIA if c in self.select)


def _option(token: Token) -> str:
    return token.upper_str() if isinstance(token, Atom) else ""


def parse_list(args: list[Token]) -> ListRequest:
    """`[(select opts)] reference (pattern | (patterns)) [RETURN (return opts)]`."""
    select: set[str] = set()
    if args and isinstance(args[0], list):
        for item in args[0]:
            name = _option(item)
            if name not in SELECT_OPTIONS:
                raise ParseError("unknown LIST selection option")
            select.add(name)
        if "RECURSIVEMATCH" in select and not select & set(CRITERIA):
            raise ParseError("RECURSIVEMATCH needs another selection option")
        args = args[1:]
    returns: set[str] = set()
    status: tuple[bytes, ...] = ()
    if len(args) == 4 and _option(args[2]) == "RETURN":
        returns, status = _parse_returns(args[3])
        args = args[:2]
    if len(args) != 2 or isinstance(args[0], list):
        raise ParseError("LIST needs a reference and a pattern")
    reference = mailbox_name(args[0])
    if isinstance(args[1], list):
        if not args[1] or not all(isinstance(p, (Atom, Str)) for p in args[1]):
            raise ParseError("LIST needs a list of patterns")
        patterns = tuple(mailbox_name(p) for p in args[1])
    else:
        patterns = (mailbox_name(args[1]),)
    return ListRequest(reference, patterns, frozenset(select), frozenset(returns), status)


def _parse_returns(token: Token) -> tuple[set[str], tuple[bytes, ...]]:
    if not isinstance(token, list):
        raise ParseError("RETURN needs a list of options")
    returns: set[str] = set()
    status: tuple[bytes, ...] = ()
    items = iter(token)
    for item in items:
        name = _option(item)
        if name not in RETURN_OPTIONS:
            raise ParseError("unknown LIST return option")
        if name == "STATUS":
            wanted = next(items, None)
            if wanted is None:
                raise ParseError("RETURN (STATUS ...) needs a list of items")
            status = tuple(status_items(wanted))
        returns.add(name)
    return returns, status


# -- the tree and what a LIST answers -------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One name of the tree: an existing folder, a namespace node (not selectable), or a
    subscribed name whose folder is gone (`exists=False`)."""

    name: str
    exists: bool = True
    selectable: bool = True
    subscribed: bool = False
    special_use: str = ""


@dataclass(frozen=True)
class Entry:
    """One `* LIST (attrs) "/" name [("CHILDINFO" (criteria))]` line."""

    name: str
    attrs: tuple[str, ...]
    childinfo: tuple[str, ...] = ()
    selectable: bool = True  # STATUS is given only for these


def pattern_matcher(reference: str, patterns: Iterable[str]) -> Callable[[str], bool]:
    """`name -> bool`: matches any of the patterns (after the reference)."""
    pats = tuple(patterns)
    return lambda name: any(list_matches(reference, p, name) for p in pats)


def plan(nodes: Iterable[Node], request: ListRequest) -> list[Entry]:
    """The LIST answer over the tree `nodes` (any order; names with "/" as delimiter).
    Names that are only parents of other names (no node of their own) are \\NonExistent."""
    tree: dict[str, Node] = {}
    for node in nodes:
        tree.setdefault(node.name, node)
    with_children: set[str] = set()
    for node in list(tree.values()):
        if not node.exists:
            continue
        parts = node.name.split(SEPARATOR)
        for i in range(1, len(parts)):
            parent = SEPARATOR.join(parts[:i])
            with_children.add(parent)
            if parent not in tree:
                tree[parent] = Node(parent, exists=False, selectable=False)
    matches = pattern_matcher(request.reference, request.patterns)
    criteria = request.criteria

    def selected(node: Node) -> bool:
        if not criteria:
            return node.exists or node.name in with_children
        if "SUBSCRIBED" in criteria and not node.subscribed:
            return False
        return "SPECIAL-USE" not in criteria or bool(node.special_use and node.exists)

    hits = {name for name, node in tree.items() if selected(node)}
    parents_of_unmatched: set[str] = set()
    if "RECURSIVEMATCH" in request.select:
        for name in hits:
            if matches(name):
                continue
            parts = name.split(SEPARATOR)
            for i in range(1, len(parts)):
                parents_of_unmatched.add(SEPARATOR.join(parts[:i]))
    out: list[Entry] = []
    for name, node in tree.items():
        if not matches(name):
            continue
        childinfo: tuple[str, ...] = ()
        if name not in hits:
            if name not in parents_of_unmatched:
                continue
            childinfo = criteria
        attrs = _attrs(node, name in with_children, request)
        out.append(Entry(name, attrs, childinfo, node.exists and node.selectable))
    return out


def describe(nodes: Iterable[Node], name: str) -> Entry | None:
    """The entry of exactly `name` (its attributes with \\Subscribed), None when the tree
    has no such name: IMAP4rev2's LIST line in SELECT and after RENAME."""
    request = ListRequest("", (name,), returns=frozenset({"SUBSCRIBED"}))
    return next((e for e in plan(nodes, request) if e.name == name), None)


def _attrs(node: Node, has_children: bool, request: ListRequest) -> tuple[str, ...]:
    attrs: list[str] = []
    if not node.exists:  # a subscription outliving its folder, or only a path to children
        attrs.append("\\NonExistent")
    elif not node.selectable:
        attrs.append("\\Noselect")
    if node.exists or has_children:
        attrs.append("\\HasChildren" if has_children else "\\HasNoChildren")
    if node.special_use and node.exists:
        attrs.append(node.special_use)
    if request.subscribed_marks and node.subscribed:
        attrs.append("\\Subscribed")
    return tuple(attrs)


def extended_data(entry: Entry) -> bytes:
    """The LIST line's extended data (after the name), or b"" when there is none."""
    if not entry.childinfo:
        return b""
    return b' ("CHILDINFO" (' + b" ".join(b'"%s"' % c.encode() for c in entry.childinfo) + b"))"
