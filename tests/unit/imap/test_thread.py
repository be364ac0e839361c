"""THREAD (RFC 5256) on index values: REFERENCES and ORDEREDSUBJECT trees and their
rendering, with the RFC's example and the cases of Dovecot's imaptest thread groups."""

from __future__ import annotations

from swissbox.imap import thread
from swissbox.imap.parser import Atom, ParseError
from swissbox.imap.sort import Facts


def msg(
    mid: str | None = None,
    refs: str = "",
    irt: str | None = None,
    date: int = 0,
    subject: str | None = None,
) -> Facts:
    envelope = [None, subject, None, None, None, None, None, None, irt, mid]
    return Facts(envelope, date, 1, references=refs)


def refs(*messages: Facts) -> bytes:
    return thread.render(thread.references(list(enumerate(messages, 1))))


def ordered(*messages: Facts) -> bytes:
    return thread.render(thread.orderedsubject(list(enumerate(messages, 1))))


def test_algorithm_names() -> None:
    assert thread.parse_algorithm(Atom(b"references")) == "REFERENCES"
    assert thread.parse_algorithm(Atom(b"OrderedSubject")) == "ORDEREDSUBJECT"
    for bad in (Atom(b"REFS"), [Atom(b"REFERENCES")]):
        try:
            thread.parse_algorithm(bad)  # type: ignore[arg-type]
        except ParseError:
            continue
        raise AssertionError(bad)


def test_rfc_example_rendering() -> None:
    # RFC 5256 section 4: "(2)(3 6 (4 23)(44 7 96))"; ids stand for the message numbers
    m = {n: msg(f"<{n}@x>", date=n) for n in (2, 3, 4, 6, 7, 23, 44, 96)}
    m[6].references = "<3@x>"
    m[4].references = "<3@x> <6@x>"
    m[23].references = "<6@x> <4@x>"
    m[44].references = "<6@x>"
    m[7].references = "<44@x>"
    m[96].references = "<44@x> <7@x>"
    items = [(n, m[n]) for n in sorted(m)]
    assert thread.render(thread.references(items)) == b"(2)(3 6 (4 23)(44 7 96))"
    assert thread.render([]) == b""


def test_imaptest_thread_groups() -> None:
    # thread: a loop through the references is not closed; the older link gives way
    a = msg("<a@b>", date=17)
    b = msg("<b@b>", "<a@b> <c@b>", date=15)
    c = msg("<c@b>", "<b@b>", date=16)
    assert refs(a, b, c) == b"(3 2)(1)"
    assert refs(b, c) == b"(2 1)"
    # thread2: a duplicate Message-ID is a message of its own
    assert refs(msg("<a@b>"), msg("<a@b>")) == b"(1)(2)"
    # thread3/4: threads gathered by base subject, the reply under the original
    assert refs(msg("<a@b>", subject="foo"), msg("<a@b>", subject="Re: foo", date=1)) == b"(1 2)"
    lone = msg("<b@b>", "<c@b>", subject="Re: foo", date=1)
    assert refs(msg("<a@b>", subject="foo"), lone) == b"(1 2)"
    # thread5: In-Reply-To when there is no References; dummies pruned or kept at the root
    m1, m2, m3 = msg("<1@b>", date=17), msg("<2@b>", irt="<1@b>"), msg("<3@b>", irt="<1@b>")
    m4, m5 = msg("<4@b>", irt="<2@b>"), msg("<5@b>", irt="<2@b>")
    assert refs(m1, m2, m3, m4) == b"(1 (2 4)(3))"
    assert refs(m3, m4) == b"(1)(2)"
    assert refs(m3, m4, m5) == b"(1)((2)(3))"
    # thread6: no Message-ID, one shared parent that is absent
    assert refs(msg(refs="<a@b>"), msg(refs="<a@b>", date=1)) == b"((1)(2))"
    # thread7
    a, b, c, b2 = msg("<a@b>"), msg("<b@b>", "<a@b>"), msg("<c@b>", "<b@b>"), msg("<b@b>", "<a@b>")
    assert refs(a, b, c, b2) == b"(1 (2 3)(4))"
    assert refs(a, c, b2) == b"(1 3 2)"


def test_loops_and_self_references() -> None:
    assert refs(msg("<a@b>", "<a@b>")) == b"(1)"
    assert refs(msg("<a@b>", "<b@b>"), msg("<b@b>", "<a@b>")) == b"(2 1)"
    assert refs(msg("<a@b>", "<b@b> <a@b> <b@b>"), msg("<b@b>", "<a@b>")) in (b"(1 2)", b"(2 1)")


def test_subject_gathering() -> None:
    # two originals with one subject get a dummy parent; replies join the original
    got = refs(msg("<1@x>", subject="x"), msg("<2@x>", subject="x", date=2))
    assert got == b"((1)(2))"
    got = refs(msg("<1@x>", subject="Re: x", date=5), msg("<2@x>", subject="x", date=2))
    assert got == b"(2 1)"
    # an empty subject gathers nothing
    assert refs(msg("<1@x>"), msg("<2@x>", date=1)) == b"(1)(2)"


def test_deep_chain_needs_no_recursion_limit() -> None:
    chain = [msg("<0@x>")] + [msg(f"<{i}@x>", f"<{i - 1}@x>", date=i) for i in range(1, 3000)]
    got = refs(*chain)
    assert got.startswith(b"(1 2 3 ") and got.endswith(b" 3000)")


def test_orderedsubject() -> None:
    # imaptest thread-orderedsubject2: by base subject, then sent date; threads by their first
    day = 1203710400  # 22 Feb 2008 20:00:00 UTC
    items = [
        msg(subject="a", date=day + 10),
        msg(subject="b", date=day + 9),
        msg(subject="a", date=day + 8),
        msg(subject="b", date=day + 7),
        msg(subject="a", date=day + 30),
        msg(subject="b", date=day + 29),
        msg(subject="a", date=day + 28),
        msg(subject="b", date=day + 27),
    ]
    assert ordered(*items) == b"(4 (2)(8)(6))(3 (1)(7)(5))"
    subjects = ["a", "C", "b", "_", "[x] Fwd: b (fwd)", "b (a)", "Re: [FWD: c]", "[xyz]", None]
    got = ordered(*[msg(subject=s) for s in subjects + ["=?utf-8?q?_?="]])
    assert got == b"(1)(2 7)(3 5)(4)(6)(8)(9 10)"  # one child: in the same list
