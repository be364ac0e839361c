"""Differential test: swissbox.sieve against Dovecot Pigeonhole's sieve-test on the corpus.

Every case must agree, or be listed in DISAGREEMENTS with the RFC text that decides it.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require_tool

from . import corpus, oracle

_VACATION_COMMIT = (
    "sieve-test prints the vacation action before Pigeonhole's send-time checks run; RFC 3834 "
    "section 2 (which RFC 5230 follows) says not to answer {what}, and we decide that while "
    "interpreting, so our outcome has no vacation"
)
_NULL_SENDER = (
    "sieve-test cannot take a null envelope sender (-f <> is refused; without -f it takes From:), "
    "so the oracle ran with bob@example.org"
)
DISAGREEMENTS = {
    "envelope null sender": _NULL_SENDER
    + "; RFC 5228 section 5.4: 'The null reverse-path is matched against as the empty string'",
    "vacation null sender skipped": _NULL_SENDER
    + "; RFC 3834 section 2: no automatic response to a null return path",
    "vacation list skipped": _VACATION_COMMIT.format(
        what="mailing-list (List-Id, Precedence) mail"
    ),
    "vacation auto-submitted skipped": _VACATION_COMMIT.format(what="Auto-Submitted mail"),
    "vacation own sender skipped": _VACATION_COMMIT.format(what="the user's own address"),
    "vacation not addressed": _VACATION_COMMIT.format(
        what="mail whose To/Cc/Bcc holds none of the user's addresses"
    ),
    "vacation mailer-daemon": _VACATION_COMMIT.format(what="MAILER-DAEMON and list robots"),
    "include missing": (
        "Pigeonhole resolves includes when compiling (a compile error); we do when the include "
        "runs (a runtime failure: the message is kept), as RFC 6609 section 3.2 asks as we read "
        "it: the included script may be uploaded after the one that includes it"
    ),
    "include recursive": (
        "Pigeonhole refuses the recursion when compiling; RFC 6609 section 3.1: 'An error MUST "
        "be generated when such a script is executed' (ours: a runtime failure, message kept)"
    ),
    "date received last": (
        "Pigeonhole's date test reads only the topmost Received field whatever :index/:last say; "
        "RFC 5260 section 6: ':last' counts from the last occurrence, so :index 1 :last is the "
        "bottom Received field (+0100 here)"
    ),
}


@pytest.fixture(scope="module")
def workdir():
    require_tool("sieve-test")  # dovecot-sieve; under CI=true a missing tool fails
    path = oracle.oracle_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("case", corpus.CASES, ids=[c[0] for c in corpus.CASES])
def test_agrees_with_pigeonhole(case, workdir) -> None:
    name, script, key, mail_from, rcpt_to = case
    message = corpus.MESSAGES[key]
    ours = oracle.ours(script, message, mail_from, rcpt_to)
    theirs = oracle.pigeonhole(workdir, script, message, mail_from, rcpt_to)
    if name in DISAGREEMENTS:
        assert ours != theirs, f"{name} now agrees: drop it from DISAGREEMENTS"
    else:
        assert ours == theirs


def test_every_disagreement_is_a_corpus_case() -> None:
    assert set(DISAGREEMENTS) <= {c[0] for c in corpus.CASES}
