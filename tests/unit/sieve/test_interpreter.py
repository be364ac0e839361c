"""Running scripts over message bytes: actions, implicit keep, bounds, and what Pigeonhole
cannot check for us (ereject, vacation's RFC 3834 rules, handles)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from swissbox.sieve import (
    Discard,
    Envelope,
    Environment,
    FileInto,
    Keep,
    Limits,
    Redirect,
    Reject,
    SieveRuntimeError,
    Vacation,
    compile_script,
    run,
)

MESSAGE = (
    b"From: Bob <bob@example.org>\r\n"
    b"To: user@example.com\r\n"
    b"Subject: lunch?\r\n"
    b"Date: Thu, 03 Dec 2026 10:30:05 +0100\r\n"
    b"\r\n"
    b"See you at noon.\r\n"
)
ENVELOPE = Envelope("bob@example.org", "user+news@example.com")


def outcome(script: str, message: bytes = MESSAGE, **kwargs: object):
    return run(compile_script(script), message, ENVELOPE, **kwargs)  # type: ignore[arg-type]


def test_plus_address_files_into_its_detail() -> None:
    result = outcome(
        'require ["envelope", "subaddress", "fileinto", "variables"];\n'
        'if envelope :detail :matches "to" "*" { fileinto "${1}"; }'
    )
    assert result.actions == [FileInto("news")]
    assert not result.implicit_keep


def test_no_action_keeps_with_the_flags_set() -> None:
    result = outcome('require "imap4flags";\naddflag ["\\\\Seen", "$x"];\naddflag "$X";')
    assert result.actions == []
    assert result.implicit_keep
    assert result.implicit_keep_flags == ("\\Seen", "$x")


def test_explicit_keep_and_discard() -> None:
    assert outcome("keep;").actions == [Keep()]
    result = outcome("discard;")
    assert result.actions == [Discard()] and not result.implicit_keep


def test_ereject_is_an_smtp_time_reject() -> None:
    result = outcome('require "ereject";\nereject "no";')
    assert result.actions == [Reject("no", extended=True)]
    assert not result.implicit_keep


def test_reject_conflicts_with_fileinto() -> None:
    with pytest.raises(SieveRuntimeError, match="line 3: reject conflicts"):
        outcome('require ["reject", "fileinto"];\nfileinto "a";\nreject "x";')


def test_redirects_are_bounded() -> None:
    script = "\n".join(f'redirect "u{i}@example.net";' for i in range(5))
    with pytest.raises(SieveRuntimeError, match="more than 4 redirects"):
        outcome(script)
    result = outcome(script, limits=Limits(max_redirects=5))
    assert len([a for a in result.actions if isinstance(a, Redirect)]) == 5


def test_redirect_address_is_checked() -> None:
    with pytest.raises(SieveRuntimeError, match="invalid redirect address"):
        outcome('redirect "not an address";')


def test_run_time_is_bounded() -> None:
    script = "if " + "allof(" * 20 + "true" + ")" * 20 + " { keep; }"
    with pytest.raises(SieveRuntimeError, match="more than 10 steps"):
        outcome(script, limits=Limits(max_steps=10))


def test_variables_are_bounded_in_size() -> None:
    result = outcome(
        'require ["variables", "fileinto"];\nset "a" "0123456789";\nfileinto "${a}";',
        limits=Limits(max_variable_bytes=4),
    )
    assert result.actions == [FileInto("0123")]


def test_vacation_fields() -> None:
    result = outcome(
        'require "vacation";\nvacation :days 0 :subject "Away" :from "me@example.com" '
        ':handle "h" "Back on Monday";'
    )
    assert result.actions == [
        Vacation("bob@example.org", "Back on Monday", "Away", "me@example.com", 1, "h")
    ]
    assert result.implicit_keep


def test_vacation_defaults_and_stable_handle() -> None:
    first = outcome('require "vacation";\nvacation "Away";').actions[0]
    again = outcome('require "vacation";\nvacation "Away";').actions[0]
    other = outcome('require "vacation";\nvacation "Gone";').actions[0]
    assert isinstance(first, Vacation) and isinstance(other, Vacation)
    assert first == again
    assert first.subject == "Auto: lunch?" and first.days == 7
    assert first.from_address == "user@example.com"
    assert first.handle != other.handle


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b"Auto-Submitted: auto-generated\r\n", "Auto-Submitted"),
        (b"Precedence: bulk\r\n", "Precedence"),
        (b"List-Unsubscribe: <mailto:x@example.org>\r\n", "mailing list"),
    ],
)
def test_vacation_never_answers_robots(header: bytes, why: str) -> None:
    result = outcome('require "vacation";\nvacation "Away";', header + MESSAGE)
    assert result.actions == []
    assert why in result.notes[0]


def test_vacation_auto_submitted_no_is_answered() -> None:
    result = outcome('require "vacation";\nvacation "Away";', b"Auto-Submitted: no\r\n" + MESSAGE)
    assert len(result.actions) == 1


def test_currentdate_uses_the_clock_given() -> None:
    env = Environment(now=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    result = outcome(
        'require "date";\nif currentdate :is "date" "2030-01-02" { discard; }', environment=env
    )
    assert result.actions == [Discard()]


def test_mailboxexists_asks_the_environment() -> None:
    env = Environment(mailbox_exists=lambda name: name == "Work")
    script = 'require ["mailbox", "fileinto"];\nif mailboxexists "Work" { fileinto "Work"; }'
    assert outcome(script, environment=env).actions == [FileInto("Work")]
    assert outcome(script).actions == []


def test_header_decoding_survives_bad_encoded_words() -> None:
    message = b"Subject: =?x-unknown?q?abc?= =?utf-8?b?###?=\r\n\r\nbody\r\n"
    result = outcome('if header :contains "subject" "abc" { discard; }', message)
    assert result.implicit_keep or result.actions == [Discard()]


def test_garbage_message_does_not_raise() -> None:
    result = outcome('require "body";\nif body :contains "x" { discard; }', b"\x00\xff\r\n\r\n\xfe")
    assert result.implicit_keep


def test_undecodable_base64_word_is_compared_as_written() -> None:
    message = b"Subject: =?utf-8?b?QUJDREVGR0hJSktMTU5PUFFSU1RVV?=\r\n\r\nbody\r\n"
    result = outcome('if header :contains "subject" "QUJD" { discard; }', message)
    assert result.actions == [Discard()]


def test_includes_are_bounded_in_depth_and_number() -> None:
    def chain(location: str, name: str) -> str:
        return f'require "include";\ninclude "{name}x";'

    env = Environment(load_script=chain)
    with pytest.raises(SieveRuntimeError, match="nested too deeply"):
        outcome('require "include";\ninclude "a";', environment=env)
    many = 'require "include";\n' + "".join(f'include "s{i}";\n' for i in range(40))
    env = Environment(load_script=lambda location, name: "keep;")
    with pytest.raises(SieveRuntimeError, match="more than 32 includes"):
        outcome(many, environment=env)


def test_an_included_script_that_does_not_compile_fails_the_run() -> None:
    env = Environment(load_script=lambda location, name: "frob;")
    with pytest.raises(SieveRuntimeError, match="included script 'x': line 1"):
        outcome('require "include";\ninclude "x";', environment=env)


def test_a_sequence_shares_actions_and_flags_and_stop_ends_it() -> None:
    from swissbox.sieve import run_sequence

    before = compile_script(
        'require ["imap4flags", "variables", "fileinto"];\nset "v" "x";\naddflag "$Checked";\n'
        'if header :contains "subject" "spam" { fileinto "Junk"; stop; }'
    )
    user = compile_script('require ["fileinto", "variables"];\nfileinto "U${v}";')
    result = run_sequence([before, user], MESSAGE, ENVELOPE)
    assert result.actions == [FileInto("U", ("$Checked",))]  # variables are per script
    spam = MESSAGE.replace(b"lunch?", b"spam!")
    result = run_sequence([before, user], spam, ENVELOPE)
    assert result.actions == [FileInto("Junk", ("$Checked",))]
    discarded = run_sequence([compile_script("discard;"), compile_script("")], MESSAGE, ENVELOPE)
    assert not discarded.implicit_keep
