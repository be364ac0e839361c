"""THREAD (RFC 5256 section 4): ORDEREDSUBJECT and REFERENCES over `sort.Facts`, and the
`(1 2 (3)(4))` rendering; pure.

Input is `(number, facts)` in mailbox order (number: the sequence number or UID to answer
with). Siblings are ordered by sent date (`Facts.date`), ties by mailbox order; a dummy
(a message referred to but absent) sorts as its first child. REFERENCES follows the RFC's
steps: a duplicate or missing Message-ID makes the message its own thread node, a link that
would close a loop is not made, dummies are pruned, then threads whose roots share a base
subject are gathered.
"""

from __future__ import annotations

from collections.abc import Sequence

from swissbox.imap.parser import Atom, ParseError, Token
from swissbox.imap.sort import Facts

ALGORITHMS = ("ORDEREDSUBJECT", "REFERENCES")
Item = tuple[int, Facts]


class Node:
    """A thread node: a message (`item`) or a dummy (None), and its children."""

    __slots__ = ("item", "parent", "children", "key")

    def __init__(self, item: Item | None = None) -> None:
        self.item = item
        self.parent: Node | None = None
        self.children: list[Node] = []
        self.key: tuple[float, int] = (0.0, 0)

    def add(self, child: Node) -> None:
        child.parent = self
        self.children.append(child)


def parse_algorithm(token: Token) -> str:
    name = token.upper_str() if isinstance(token, Atom) else ""
    if name not in ALGORITHMS:
        raise ParseError("unknown THREAD algorithm")
    return name


def orderedsubject(items: Sequence[Item]) -> list[Node]:
    """Messages grouped by base subject; each thread is its earliest message with the others
    as its children in date order; threads in the order of their first message."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item[1].base[0], []).append(item)
    threads = []
    for members in groups.values():
        members.sort(key=_item_key)
        root = Node(members[0])
        root.children = [Node(item) for item in members[1:]]  # no parent links: no cycles
        root.key = _item_key(members[0])
        threads.append(root)
    threads.sort(key=lambda n: n.key)
    return threads


def references(items: Sequence[Item]) -> list[Node]:
    """RFC 5256 REFERENCES; every Facts must have its `references` loaded."""
    by_id: dict[str, Node] = {}
    nodes: list[Node] = []

    def node_for(mid: str) -> Node:
        node = by_id.get(mid)
        if node is None:
            node = by_id[mid] = Node()
            nodes.append(node)
        return node

    for item in items:  # step 1
        mid = item[1].message_id
        node = by_id.get(mid) if mid is not None else None
        if node is None or node.item is not None:  # none yet, or a duplicate: a node of its own
            node = Node()
            nodes.append(node)
            if mid is not None and mid not in by_id:
                by_id[mid] = node
        node.item = item
        node.key = _item_key(item)
        prev: Node | None = None
        for ref in item[1].parent_ids():
            ref_node = node_for(ref)
            if prev is not None and ref_node.parent is None and not _loops(prev, ref_node):
                prev.add(ref_node)
            prev = ref_node
        if node.parent is not None:  # 1.C: the last reference is the parent
            _unlink(node)
        if prev is not None and not _loops(prev, node):
            prev.add(node)
    roots = [n for n in nodes if n.parent is None]  # steps 2 and 3
    roots = _prune(roots)  # step 4
    for root in roots:  # a dummy's subject is its first child's (children are messages here)
        if root.item is None:
            root.children.sort(key=_node_key)
    roots = _gather_subjects(roots)  # step 5
    _order(roots)  # step 6
    for node in nodes:  # no parent links: the trees are freed without the cycle collector
        node.parent = None
    return roots


def render(threads: list[Node]) -> bytes:
    """`(1 2 (3)(4))(5)`: a chain of single children in one list, siblings nested."""
    return b"".join(b"(" + _members(t) + b")" for t in threads)


def _members(node: Node) -> bytes:
    numbers = []
    while True:
        if node.item is not None:
            numbers.append(b"%d" % node.item[0])
        if len(node.children) != 1:
            break
        node = node.children[0]
    out = b" ".join(numbers)
    if node.children:
        nested = b"".join(b"(" + _members(c) + b")" for c in node.children)
        out = out + b" " + nested if out else nested
    return out


def _item_key(item: Item) -> tuple[float, int]:
    return (item[1].date, item[0])


def _loops(parent: Node, child: Node) -> bool:
    """Whether making `child` a child of `parent` would close a loop."""
    node: Node | None = parent
    while node is not None:
        if node is child:
            return True
        node = node.parent
    return False


def _unlink(node: Node) -> None:
    parent = node.parent
    if parent is not None:
        parent.children.remove(node)
        node.parent = None


def _post_order(roots: list[Node]) -> list[Node]:
    """Every node below `roots` (and the roots), each after all of its descendants (a
    reversed pre-order)."""
    out: list[Node] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    out.reverse()
    return out


def _prune(roots: list[Node]) -> list[Node]:
    """Step 4: a dummy without children goes; one with children gives way to them, except
    at the root where only a dummy with one child does."""
    for node in _post_order(roots):
        if node.children:
            kept: list[Node] = []
            for child in node.children:
                if child.item is None:
                    kept.extend(child.children)  # empty, or already pruned below
                else:
                    kept.append(child)
            for child in kept:
                child.parent = node
            node.children = kept
    out = []
    for root in roots:
        if root.item is None and len(root.children) <= 1:
            for child in root.children:
                child.parent = None
                out.append(child)
        else:
            out.append(root)
    return out


def _subject(node: Node) -> tuple[str, bool]:
    while node.item is None:
        node = node.children[0]
    return node.item[1].base


def _gather_subjects(roots: list[Node]) -> list[Node]:
    """Step 5: roots whose base subjects are equal become one thread."""
    table: dict[str, Node] = {}
    for root in roots:
        subject, reply = _subject(root)
        if not subject:
            continue
        old = table.get(subject)
        if (
            old is None
            or (old.item is not None and root.item is None)
            or (old.item is not None and root.item is not None and _subject(old)[1] and not reply)
        ):
            table[subject] = root
    out: list[Node] = []
    replaced: dict[int, Node] = {}  # id(root) -> the dummy that took its place
    gone: set[int] = set()
    for root in roots:
        subject, reply = _subject(root)
        target = table.get(subject) if subject else None
        if target is None or target is root:
            continue
        if target.item is None and root.item is None:
            for child in list(root.children):
                target.add(child)
            root.children = []
        elif target.item is None or (reply and not _subject(target)[1]):
            target.add(root)  # (a root that is a dummy always finds a dummy here)
        else:
            dummy = Node()
            replaced[id(target)] = dummy
            dummy.add(target)
            dummy.add(root)
            table[subject] = dummy
        gone.add(id(root))
    seen: set[int] = set()
    for root in roots:
        if id(root) in gone:
            continue
        while id(root) in replaced:
            root = replaced[id(root)]
        if id(root) in gone or id(root) in seen:
            continue
        seen.add(id(root))
        out.append(root)
    return out


def _order(roots: list[Node]) -> None:
    """Step 6: siblings by sent date, ties by mailbox order; a dummy as its first child."""
    for node in _post_order(roots):
        if node.children:
            node.children.sort(key=_node_key)
            if node.item is None:
                node.key = node.children[0].key
    roots.sort(key=_node_key)


def _node_key(node: Node) -> tuple[float, int]:
    return node.key
