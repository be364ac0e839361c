"""Sieve grammar (RFC 5228 section 8): script text -> list of ``Command`` trees.

Pure syntax: which commands, tests and tags exist is checked later by ``validate``. Every error
is a ``SieveParseError`` carrying the line it was found on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SieveParseError


@dataclass(frozen=True)
class Tag:
    """A tagged argument such as ``:contains`` (name kept lower-case, without the colon)."""

    name: str


@dataclass(frozen=True)
class StringList:
    """A bracketed string list ``["a", "b"]`` (a single string stays a plain ``str``)."""

    items: tuple[str, ...]


Argument = Tag | StringList | str | int


@dataclass
class Test:
    name: str
    line: int
    args: list[Argument] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)


@dataclass
class Command:
    name: str
    line: int
    args: list[Argument] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)
    block: list[Command] | None = None


_QUANTIFIERS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<hash>\#[^\n]*)
  | (?P<bracket>/\*.*?\*/)
  | (?P<text>text:[ \t]*(?:\#[^\n]*)?\r?\n)
  | (?P<tag>:[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]+[KkMmGg]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<punct>[;{}()\[\],])
    """,
    re.VERBOSE | re.DOTALL,
)
_MULTILINE_END = re.compile(r"^\.\r?$", re.MULTILINE)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
MAX_NUMBER = (1 << 63) - 1


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str | int
    line: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line = 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text.startswith("/*", pos):
                raise SieveParseError(line, "unterminated /* comment")
            if text[pos] == '"':
                raise SieveParseError(line, "unterminated string")
            raise SieveParseError(line, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "text":
            body_start = match.end()
            end = _MULTILINE_END.search(text, body_start)
            if end is None:
                raise SieveParseError(line, "multi-line text: without a closing '.' line")
            body = text[body_start : end.start()]
            lines = body.split("\n")
            value = "\n".join(ln[1:] if ln.startswith("..") else ln for ln in lines)
            tokens.append(_Token("string", value.replace("\r\n", "\n").replace("\n", "\r\n"), line))
            consumed = text[pos : end.end()]
            line += consumed.count("\n") + (1 if text.startswith("\n", end.end()) else 0)
            pos = end.end() + (1 if text.startswith("\n", end.end()) else 0)
            continue
        if kind == "quoted":
            tokens.append(_Token("string", _UNESCAPE.sub(r"\1", raw[1:-1]), line))
        elif kind == "number":
            tokens.append(_Token("number", _number(raw, line), line))
        elif kind == "tag":
            tokens.append(_Token("tag", raw[1:].lower(), line))
        elif kind == "ident":
            tokens.append(_Token("ident", raw.lower(), line))
        elif kind == "punct":
            tokens.append(_Token(raw, raw, line))
        line += raw.count("\n")
        pos = match.end()
    tokens.append(_Token("eof", "", line))
    return tokens


def _number(raw: str, line: int) -> int:
    unit = _QUANTIFIERS.get(raw[-1].lower(), 1)
    digits = raw[:-1] if unit != 1 else raw
    value = int(digits) * unit
    if value > MAX_NUMBER:
        raise SieveParseError(line, f"number {raw} is too large")
    return value


class _Parser:
    def __init__(self, tokens: list[_Token], max_depth: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.max_depth = max_depth

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str, what: str) -> _Token:
        token = self.take()
        if token.kind != kind:
            raise SieveParseError(token.line, f"expected {what}, found {_describe(token)}")
        return token

    def commands(self, depth: int, closing: str) -> list[Command]:
        if depth > self.max_depth:
            raise SieveParseError(self.peek().line, "blocks nested too deeply")
        result: list[Command] = []
        while self.peek().kind != closing:
            token = self.take()
            if token.kind != "ident":
                raise SieveParseError(token.line, f"expected a command, found {_describe(token)}")
            command = Command(str(token.value), token.line)
            command.args, command.tests = self.arguments(depth)
            end = self.take()
            if end.kind == "{":
                command.block = self.commands(depth + 1, "}")
                self.take()
            elif end.kind != ";":
                raise SieveParseError(
                    end.line, f"expected ';' or '{{' after {command.name}, found {_describe(end)}"
                )
            result.append(command)
        return result

    def arguments(self, depth: int) -> tuple[list[Argument], list[Test]]:
        args: list[Argument] = []
        while True:
            token = self.peek()
            if token.kind == "string":
                args.append(str(self.take().value))
            elif token.kind == "number":
                args.append(int(self.take().value))
            elif token.kind == "tag":
                args.append(Tag(str(self.take().value)))
            elif token.kind == "[":
                args.append(self.string_list())
            else:
                break
        token = self.peek()
        if token.kind == "ident":
            return args, [self.test(depth)]
        if token.kind == "(":
            self.take()
            tests = [self.test(depth)]
            while self.peek().kind == ",":
                self.take()
                tests.append(self.test(depth))
            self.expect(")", "')' closing the test list")
            return args, tests
        return args, []

    def test(self, depth: int) -> Test:
        if depth > self.max_depth:
            raise SieveParseError(self.peek().line, "tests nested too deeply")
        token = self.expect("ident", "a test")
        test = Test(str(token.value), token.line)
        test.args, test.tests = self.arguments(depth + 1)
        return test

    def string_list(self) -> StringList:
        self.take()
        items = [str(self.expect("string", "a string in the list").value)]
        while self.peek().kind == ",":
            self.take()
            items.append(str(self.expect("string", "a string in the list").value))
        self.expect("]", "']' closing the string list")
        return StringList(tuple(items))


def _describe(token: _Token) -> str:
    if token.kind == "eof":
        return "end of script"
    if token.kind == "string":
        return "a string"
    if token.kind == "tag":
        return f"tag :{token.value}"
    return repr(str(token.value))


def parse(script: str, max_depth: int = 32) -> list[Command]:
    """Parse script text into commands; raises ``SieveParseError`` (with a line number)."""
    parser = _Parser(_tokens(script), max_depth)
    commands = parser.commands(0, "eof")
    return commands
