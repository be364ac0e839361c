"""LIST-EXTENDED (RFC 5258), SPECIAL-USE selection (RFC 6154), STATUS items: option parsing
from the wire tokens, and which names a LIST answers with which attributes and CHILDINFO."""

from __future__ import annotations

import pytest

from swissbox.imap import listext
from swissbox.imap.listext import Entry, ListRequest, Node
from swissbox.imap.parser import ParseError, tokenize


def request(args: bytes) -> ListRequest:
    return listext.parse_list(tokenize([b"t LIST " + args])[2:])


def test_basic_list_is_one_pattern_without_options() -> None:
    assert request(b'"" "INBOX"') == ListRequest("", ("INBOX",))
    assert request(b'"" ""').delimiter_only
    assert request(b"Work/ %") == ListRequest("Work/", ("%",))


def test_several_patterns_and_options() -> None:
    got = request(b'(subscribed RecursiveMatch) "" ("INBOX" Sent* "p&AOQ-") RETURN (children)')
    assert got.patterns == ("INBOX", "Sent*", "p\u00e4")
    assert got.select == {"SUBSCRIBED", "RECURSIVEMATCH"}
    assert got.returns == {"CHILDREN"}
    assert got.subscribed_marks  # the SUBSCRIBED selection implies the return option
    assert got.criteria == ("SUBSCRIBED",)


def test_return_status_and_special_use() -> None:
    got = request(b'"" % RETURN (SPECIAL-USE STATUS (MESSAGES size deleted) SUBSCRIBED)')
    assert got.status == (b"MESSAGES", b"SIZE", b"DELETED")
    assert got.returns == {"SPECIAL-USE", "STATUS", "SUBSCRIBED"}
    assert request(b'() "" % RETURN ()') == ListRequest("", ("%",))


@pytest.mark.parametrize(
    "args",
    [
        b'(imaptest) "" ""',  # unknown selection option
        b'(recursivematch) "" ""',  # RECURSIVEMATCH alone
        b'(recursivematch remote) "" ""',  # ... or only with REMOTE
        b'"" "" return (imaptest)',  # unknown return option
        b'"" "" return (status)',  # STATUS without its items
        b'"" "" return (status (bogus))',
        b'"" ()',  # an empty pattern list
        b'"" (("x"))',  # a list inside the patterns
        b'""',  # no pattern
        b'() "" % RETURN',  # RETURN without options
    ],
)
def test_errors_are_bad(args: bytes) -> None:
    with pytest.raises(ParseError):
        request(args)


def test_status_items() -> None:
    assert listext.status_items(tokenize([b"(messages UidNext SIZE)"])[0]) == [
        b"MESSAGES",
        b"UIDNEXT",
        b"SIZE",
    ]
    for bad in (b"()", b"(FOO)", b"MESSAGES"):
        with pytest.raises(ParseError):
            listext.status_items(tokenize([bad])[0])


# -- what LIST answers -------------------------------------------------------------------

TREE = [
    Node("INBOX", subscribed=True),
    Node("Sent", subscribed=True, special_use="\\Sent"),
    Node("t"),
    Node("t/test1", subscribed=True),
    Node("t/test2"),
    Node("t/test2/test1", subscribed=True),
    Node("t/test3"),
    Node("t/test4"),
    Node("t/test4/test52"),
    Node("t/test6", exists=False, subscribed=True),  # deleted while subscribed
    Node("t/test7"),
    Node("t/test7/test7", subscribed=True),
    Node("t/test8"),
    Node("t/test8/test8", subscribed=True),
    Node("t/test8/test9", subscribed=True),
]


def answer(args: bytes, tree: list[Node] = TREE) -> dict[str, tuple[tuple[str, ...], tuple]]:
    return {e.name: (e.attrs, e.childinfo) for e in listext.plan(tree, request(args))}


def test_multiple_patterns_list_each_name_once() -> None:
    got = answer(b'"" (t/*2 t/test3 t/test*)')
    assert list(got) == [
        "t/test1",
        "t/test2",
        "t/test2/test1",
        "t/test3",
        "t/test4",
        "t/test4/test52",
        "t/test7",
        "t/test7/test7",
        "t/test8",
        "t/test8/test8",
        "t/test8/test9",
    ]
    got = answer(b'"" (t/*2 t/test3)')
    assert list(got) == ["t/test2", "t/test3", "t/test4/test52"]
    assert got["t/test2"] == (("\\HasChildren",), ())
    assert answer(b'"" (inbox Sent sent)') == {
        "INBOX": (("\\HasNoChildren",), ()),
        "Sent": (("\\HasNoChildren", "\\Sent"), ()),
    }


def test_subscribed_selection_lists_gone_folders_as_nonexistent() -> None:
    got = answer(b'(subscribed) "" t/*')
    assert list(got) == [
        "t/test1",
        "t/test2/test1",
        "t/test6",
        "t/test7/test7",
        "t/test8/test8",
        "t/test8/test9",
    ]
    assert got["t/test6"] == (("\\NonExistent", "\\Subscribed"), ())
    assert got["t/test1"] == (("\\HasNoChildren", "\\Subscribed"), ())
    assert "t/test6" not in answer(b'"" t/*')  # a plain LIST lists existing folders only


def test_return_subscribed_marks_without_selecting() -> None:
    got = answer(b'"" t/% RETURN (SUBSCRIBED CHILDREN)')
    assert got["t/test1"][0] == ("\\HasNoChildren", "\\Subscribed")
    assert got["t/test2"][0] == ("\\HasChildren",)
    assert "t/test6" not in got


def test_recursivematch_childinfo_only_for_descendants_outside_the_patterns() -> None:
    got = answer(b'(subscribed recursivematch) "" t/test2%')
    assert got == {"t/test2": (("\\HasChildren",), ("SUBSCRIBED",))}
    # t/test7/test7 matches the pattern itself: no CHILDINFO for t/test7
    assert answer(b'(subscribed recursivematch) "" t*test7') == {
        "t/test7/test7": (("\\HasNoChildren", "\\Subscribed"), ())
    }
    # t/test8/test9 matches no pattern: t/test8 comes with CHILDINFO
    got = answer(b'(subscribed recursivematch) "" t*test8')
    assert got["t/test8"] == (("\\HasChildren",), ("SUBSCRIBED",))
    assert got["t/test8/test8"][1] == ()
    # with several patterns, a descendant matching any of them counts as matched
    assert "t/test2" in answer(b'(subscribed recursivematch) "" (t/test2)')
    assert "t/test2" not in answer(b'(subscribed recursivematch) "" (t/test2 t/test2/test1)')
    # without RECURSIVEMATCH, never CHILDINFO
    assert answer(b'(subscribed) "" t/test2') == {}


def test_childinfo_for_a_parent_that_does_not_exist() -> None:
    tree = [Node("a/b/c", subscribed=True)]
    got = listext.plan(tree, request(b'(subscribed recursivematch) "" %'))
    assert got == [Entry("a", ("\\NonExistent", "\\HasChildren"), ("SUBSCRIBED",), False)]
    # a plain % lists the missing parent as \NonExistent (never \Noselect beside it)
    assert answer(b'"" %', tree) == {"a": (("\\NonExistent", "\\HasChildren"), ())}


def test_special_use_selection() -> None:
    got = answer(b'(special-use) "" *')
    assert got == {"Sent": (("\\HasNoChildren", "\\Sent"), ())}
    got = answer(
        b'(special-use recursivematch) "" %', [Node("A"), Node("A/Sent", special_use="\\Sent")]
    )
    assert got == {"A": (("\\HasChildren",), ("SPECIAL-USE",))}


def test_namespace_nodes_are_noselect() -> None:
    tree = [
        Node("Shared Folders", selectable=False),
        Node("Shared Folders/x@y", selectable=False),
        Node("Shared Folders/x@y/INBOX", subscribed=True),
    ]
    got = listext.plan(tree, request(b'"" "Shared Folders/%"'))
    assert got == [Entry("Shared Folders/x@y", ("\\Noselect", "\\HasChildren"), (), False)]


def test_extended_data_bytes() -> None:
    assert listext.extended_data(Entry("a", ())) == b""
    assert listext.extended_data(Entry("a", (), ("SUBSCRIBED",))) == (
        b' ("CHILDINFO" ("SUBSCRIBED"))'
    )


def test_describe_one_name_exactly() -> None:
    tree = TREE + [Node("we*rd", subscribed=True), Node("weird")]
    assert listext.describe(tree, "t/test2") == Entry("t/test2", ("\\HasChildren",))
    assert listext.describe(tree, "we*rd") == Entry("we*rd", ("\\HasNoChildren", "\\Subscribed"))
    assert listext.describe(tree, "Sent") == Entry(
        "Sent", ("\\HasNoChildren", "\\Sent", "\\Subscribed")
    )
    assert listext.describe(tree, "nope") is None
