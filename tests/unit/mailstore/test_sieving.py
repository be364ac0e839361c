"""Sieve at delivery, decided without I/O: a fake directory in, a Filing out."""

from __future__ import annotations

import logging

import pytest

from swissbox import sieve
from swissbox.mailstore.sieving import Filter, vacation_reply

MESSAGE = (
    b"From: pat@world.test\r\nTo: box@example.test\r\nSubject: hi\r\n"
    b"Message-ID: <m1@world.test>\r\n\r\nbody\r\n"
)


class FakeDirectory:
    def __init__(self, script: str | None, due: bool = True, before: str | None = None) -> None:
        self.script = script
        self.due = due
        self.before = before
        self.asked: list[tuple[str, str, str, int]] = []

    def active_sieve_script(self, address: str) -> str | None:
        if self.script == "RAISE":
            raise RuntimeError("database gone")
        return self.script

    def domain_sieve_before(self, address: str) -> str | None:
        return self.before

    def sieve_script(self, address: str, name: str) -> str:
        if name != "lib":
            raise KeyError(name)
        return 'require "fileinto";\nfileinto "FromLib";'

    def vacation_due(self, address: str, handle: str, sender: str, days: int) -> bool:
        self.asked.append((address, handle, sender, days))
        return self.due


def decide(  # type: ignore[no-untyped-def]
    script: str | None, folders: tuple[str, ...] = ("INBOX",), due: bool = True, default="INBOX"
):
    f = Filter(FakeDirectory(script, due), "mx.example.test")
    return f.decide(
        "box@example.test",
        "box+tag@example.test",
        "pat@world.test",
        MESSAGE,
        default,
        lambda name: name in folders,
    )


def test_no_script_keeps_in_the_default_folder() -> None:
    assert decide(None).stores == [("INBOX", (), False)]


@pytest.mark.parametrize("script", ["RAISE", "if {"])
def test_broken_script_or_directory_keeps_and_logs(
    script: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "swissbox.mailstore"):
        assert decide(script).stores == [("INBOX", (), False)]
    assert caplog.records


def test_runtime_failure_keeps() -> None:
    script = "".join(f'redirect "r{i}@world.test";' for i in range(9))
    filing = decide(script)
    assert filing.stores == [("INBOX", (), False)] and filing.redirects == []


def test_fileinto_a_missing_folder_goes_to_the_default() -> None:
    script = 'require "fileinto";\nfileinto "Nope";\nfileinto "Work";'
    assert decide(script, ("INBOX", "Work")).stores == [("INBOX", (), False), ("Work", (), False)]


def test_envelope_sees_the_recipient_as_given() -> None:
    script = 'require ["envelope", "subaddress", "fileinto"];\nif envelope :detail "to" "tag" { fileinto :copy "T"; }'
    with pytest.raises(sieve.SieveParseError):
        sieve.compile_script(script)  # :copy needs require "copy"
    script = 'require ["envelope", "subaddress", "fileinto"];\nif envelope :detail "to" "tag" { fileinto "T"; }'
    assert decide(script, ("INBOX", "T")).stores == [("T", (), False)]


def test_vacation_once_asks_the_directory() -> None:
    script = 'require "vacation";\nvacation :days 3 "away";'
    filing = decide(script)
    assert filing.vacation is not None and filing.vacation_to == "pat@world.test"
    assert decide(script, due=False).vacation is None
    assert filing.stores == [("INBOX", (), False)]


def test_vacation_reply_headers_cannot_be_injected() -> None:
    action = sieve.Vacation("pat@world.test", "text", "Hi\r\nBcc: x@evil.test", "", 1, "h")
    reply = vacation_reply("mx.example.test", "box@example.test", MESSAGE, action)
    head = reply.partition(b"\r\n\r\n")[0]
    assert b"\r\nBcc:" not in head
    assert b"In-Reply-To: <m1@world.test>" in head
    assert b"Auto-Submitted: auto-replied" in head


def test_an_interpreter_bug_keeps_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(sieve, "run_sequence", broken)
    assert decide("keep;").stores == [("INBOX", (), False)]


def test_include_reads_the_mailbox_s_other_scripts() -> None:
    script = 'require "include";\ninclude "lib";\ninclude :optional "none";'
    assert decide(script, ("INBOX", "FromLib")).stores == [("FromLib", (), False)]
    assert decide('require "include";\ninclude "none";').stores == [("INBOX", (), False)]


def test_a_redirect_loop_keeps_the_message() -> None:
    f = Filter(FakeDirectory('redirect "far@world.test";'), "mx.example.test")
    looped = b"Delivered-To: box@example.test\r\n" + MESSAGE
    filing = f.decide("box@example.test", "", "pat@world.test", looped, "INBOX", lambda n: True)
    assert filing.redirects == [] and filing.stores == [("INBOX", (), False)]
    assert decide('redirect "far@world.test";').redirects == ["far@world.test"]


def test_vacation_from_another_domain_is_refused() -> None:
    filing = decide('require "vacation";\nvacation :from "ceo@bank.test" "away";')
    assert filing.vacation is not None and b"From: box@example.test" in filing.vacation
    filing = decide('require "vacation";\nvacation :from "Box <info@example.test>" "away";')
    assert filing.vacation is not None and b"From: Box <info@example.test>" in filing.vacation


def test_only_flags_imap_can_show_are_stored() -> None:
    script = (
        'require "imap4flags";\naddflag ["\\\\seen", "\\\\Recent", "$Label1", "a(b", "caf\u00e9"];'
    )
    assert decide(script).stores == [("INBOX", ("\\Seen", "$Label1"), False)]


def test_the_domain_script_runs_first_and_its_stop_skips_the_mailbox_s() -> None:
    before = 'require "fileinto";\nif header :contains "subject" "hi" { fileinto "Junk"; stop; }'
    f = Filter(FakeDirectory('redirect "far@world.test";', before=before), "mx.example.test")
    filing = f.decide("box@example.test", "", "pat@world.test", MESSAGE, "INBOX", lambda n: True)
    assert filing.stores == [("Junk", (), False)] and filing.redirects == []
    f = Filter(FakeDirectory(None, before="keep;"), "mx.example.test")
    filing = f.decide("box@example.test", "", "pat@world.test", MESSAGE, "INBOX", lambda n: True)
    assert filing.stores == [("INBOX", (), False)]
    f = Filter(FakeDirectory("discard;", before="frob;"), "mx.example.test")
    filing = f.decide("box@example.test", "", "pat@world.test", MESSAGE, "INBOX", lambda n: True)
    assert filing.stores == [("INBOX", (), False)]  # a broken domain script: kept, not discarded


def test_mail_bound_for_junk_is_neither_redirected_nor_answered() -> None:
    script = 'require "vacation";\nredirect "out@world.test";\nvacation "away";'
    assert decide(script).redirects == ["out@world.test"]
    filing = decide(script, ("INBOX", "Junk"), default="Junk")
    assert filing.redirects == [] and filing.vacation is None
    assert filing.stores == [("Junk", (), False)]
