"""Sieve grammar (RFC 5228 section 8) and validation: text in, tree or a line-numbered error out."""

from __future__ import annotations

import pytest

from swissbox.sieve import Limits, SieveParseError, compile_script
from swissbox.sieve.parser import StringList, Tag, parse


def test_numbers_with_quantifiers() -> None:
    [command] = parse("x 1 2K 3m 4G;")
    assert command.args == [1, 2 << 10, 3 << 20, 4 << 30]


def test_number_too_large_is_an_error() -> None:
    with pytest.raises(SieveParseError, match="too large"):
        parse("x 99999999999G;")


def test_strings_lists_tags_tests_and_blocks() -> None:
    [command] = parse('if anyof (header :IS "a" ["b", "c\\"d"], true) { keep; }')
    assert command.name == "if"
    [test] = command.tests
    assert test.name == "anyof"
    header = test.tests[0]
    assert header.args == [Tag("is"), "a", StringList(("b", 'c"d'))]
    assert [c.name for c in command.block or []] == ["keep"]


def test_multiline_text_is_dot_unstuffed_and_keeps_crlf() -> None:
    [command] = parse("reject text: # comment\nfirst\n..second\n.\n;")
    assert command.args == ["first\r\n.second\r\n"]


def test_comments_are_skipped_and_lines_counted() -> None:
    with pytest.raises(SieveParseError) as error:
        parse("# one\n/* two\nthree */\nkeep;\n@")
    assert error.value.line == 5


@pytest.mark.parametrize(
    ("script", "line", "text"),
    [
        ("keep\ndiscard;", 2, "unknown test 'discard'"),
        ("keep\n}", 2, "expected ';' or '{' after keep"),
        ('\n\nif header :is "a "b" { keep; }', 3, "unterminated string"),
        ("if true {\nkeep;\n", 3, "expected a command, found end of script"),
        ("reject text:\nno end", 1, "closing '.'"),
        ("/* never closed", 1, "unterminated /* comment"),
        ("frob;", 1, "unknown command 'frob'"),
        ('\nfileinto "x";', 2, "needs require 'fileinto'"),
        ('require "nope";', 1, "unsupported extension"),
        ("else { keep; }", 1, "else without a preceding if"),
        ('keep;\nrequire "fileinto";', 2, "require must come before"),
        ('if header :is :contains "a" "b" { keep; }', 1, "conflicts"),
        ("if size 10 { keep; }", 1, "size"),
        ('require "relational";\nif header :value "xx" "a" "1" { keep; }', 2, "unknown relation"),
        ('require "index";\nif header :last "a" "b" { keep; }', 2, ":last needs :index"),
        ('if header :comparator "i;nope" "a" "b" { keep; }', 1, "unknown comparator"),
        ('redirect :copy "a@b";', 1, "needs require 'copy'"),
        ("keep { }", 1, "takes no block"),
        ("if true;", 1, "needs a block"),
        ('require ["variables"];\nset "1bad" "x";', 2, "invalid variable name"),
    ],
)
def test_errors_name_the_line(script: str, line: int, text: str) -> None:
    with pytest.raises(SieveParseError) as error:
        compile_script(script)
    assert error.value.line == line
    assert text in str(error.value)


def test_nesting_is_bounded() -> None:
    deep = "if true {" * 40 + "keep;" + "}" * 40
    with pytest.raises(SieveParseError, match="nested too deeply"):
        compile_script(deep)
    compile_script("if true {" * 10 + "keep;" + "}" * 10)


def test_script_size_is_bounded() -> None:
    with pytest.raises(SieveParseError, match="larger than"):
        compile_script(b"keep;" * 100, Limits(max_script_bytes=100))


def test_script_must_be_utf8() -> None:
    with pytest.raises(SieveParseError, match="UTF-8"):
        compile_script(b'fileinto "\xff";')
