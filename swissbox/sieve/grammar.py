"""What each command and test accepts, and the check of a parsed script against it.

``validate(commands)`` raises ``SieveParseError`` for unknown commands, tests, tags or
extensions, a missing ``require``, wrong argument kinds, or misplaced ``elsif``/``else``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SieveParseError
from .parser import Argument, Command, StringList, Tag, Test

EXTENSIONS = frozenset(
    {
        "fileinto",
        "reject",
        "ereject",
        "envelope",
        "imap4flags",
        "vacation",
        "copy",
        "body",
        "variables",
        "relational",
        "subaddress",
        "date",
        "index",
        "mailbox",
        "encoded-character",
        "include",
        "comparator-i;octet",
        "comparator-i;ascii-casemap",
        "comparator-i;ascii-numeric",
    }
)
COMPARATORS = {"i;octet", "i;ascii-casemap", "i;ascii-numeric"}
RELATIONS = {"gt", "ge", "lt", "le", "eq", "ne"}
DATE_PARTS = {
    "year",
    "month",
    "day",
    "date",
    "julian",
    "hour",
    "minute",
    "second",
    "time",
    "iso8601",
    "std11",
    "zone",
    "weekday",
}

# tag -> extension that must be required to use it
TAG_EXTENSIONS = {
    "copy": "copy",
    "flags": "imap4flags",
    "count": "relational",
    "value": "relational",
    "user": "subaddress",
    "detail": "subaddress",
    "index": "index",
    "last": "index",
    "create": "mailbox",
}

MATCH = {"is": "", "contains": "", "matches": "", "count": "s", "value": "s"}
COMPARATOR = {"comparator": "s"}
ADDRESS_PART = {"all": "", "localpart": "", "domain": "", "user": "", "detail": ""}
INDEX = {"index": "n", "last": ""}
EXCLUSIVE = [
    set(MATCH),
    set(ADDRESS_PART),
    {"raw", "content", "text"},
    {"zone", "originalzone"},
    {"personal", "global"},
]


@dataclass(frozen=True)
class Spec:
    """Arguments of one command or test: tags (name -> kind of its value), then positionals.

    Kinds: ``s`` one string, ``l`` a string list (a single string is a list of one),
    ``n`` a number, ``""`` no value. ``optional_first`` allows leaving out the first positional.
    """

    extension: str | None = None
    positional: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    tests: int = 0  # 0: none, 1: exactly one, -1: a test list
    block: bool = False
    optional_first: bool = False


def _merge(*parts: dict[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return merged


FLAG_TAGS = {"flags": "l"}
COMMANDS: dict[str, Spec] = {
    "require": Spec(positional="l"),
    "if": Spec(tests=1, block=True),
    "elsif": Spec(tests=1, block=True),
    "else": Spec(block=True),
    "stop": Spec(),
    "keep": Spec(tags=FLAG_TAGS),
    "discard": Spec(),
    "redirect": Spec(positional="s", tags={"copy": ""}),
    "fileinto": Spec("fileinto", "s", {"copy": "", "flags": "l", "create": ""}),
    "reject": Spec("reject", "s"),
    "ereject": Spec("ereject", "s"),
    "vacation": Spec(
        "vacation",
        "s",
        {
            "days": "n",
            "subject": "s",
            "from": "s",
            "addresses": "l",
            "mime": "",
            "handle": "s",
        },
    ),
    "include": Spec("include", "s", {"personal": "", "global": "", "once": "", "optional": ""}),
    "return": Spec("include"),
    "global": Spec("include", "l"),
    "setflag": Spec("imap4flags", "sl", optional_first=True),
    "addflag": Spec("imap4flags", "sl", optional_first=True),
    "removeflag": Spec("imap4flags", "sl", optional_first=True),
    "set": Spec(
        "variables",
        "ss",
        {
            "lower": "",
            "upper": "",
            "lowerfirst": "",
            "upperfirst": "",
            "quotewildcard": "",
            "length": "",
        },
    ),
}
TESTS: dict[str, Spec] = {
    "address": Spec(positional="ll", tags=_merge(MATCH, COMPARATOR, ADDRESS_PART, INDEX)),
    "envelope": Spec("envelope", "ll", _merge(MATCH, COMPARATOR, ADDRESS_PART)),
    "header": Spec(positional="ll", tags=_merge(MATCH, COMPARATOR, INDEX)),
    "exists": Spec(positional="l"),
    "size": Spec(tags={"over": "n", "under": "n"}),
    "allof": Spec(tests=-1),
    "anyof": Spec(tests=-1),
    "not": Spec(tests=1),
    "true": Spec(),
    "false": Spec(),
    "body": Spec("body", "l", _merge(MATCH, COMPARATOR, {"raw": "", "content": "l", "text": ""})),
    "string": Spec("variables", "ll", _merge(MATCH, COMPARATOR)),
    "date": Spec(
        "date", "ssl", _merge(MATCH, COMPARATOR, INDEX, {"zone": "s", "originalzone": ""})
    ),
    "currentdate": Spec("date", "sl", _merge(MATCH, COMPARATOR, {"zone": "s"})),
    "hasflag": Spec("imap4flags", "ll", _merge(MATCH, COMPARATOR), optional_first=True),
    "mailboxexists": Spec("mailbox", "l"),
}


@dataclass
class Call:
    """A command or test with its tags resolved: ``tags[name]`` is the tag's value or True."""

    name: str
    line: int
    tags: dict[str, object]
    positional: list[object]
    tests: list[Call]
    block: list[Call] | None


def validate(commands: list[Command]) -> tuple[frozenset[str], list[Call]]:
    """Check a parsed script; return the required extensions and the resolved calls."""
    required: set[str] = set()
    calls = _block(commands, required, top=True)
    return frozenset(required), calls


def _block(commands: list[Command], required: set[str], top: bool) -> list[Call]:
    calls: list[Call] = []
    previous = ""
    requires_allowed = top
    for command in commands:
        name = command.name
        if name == "require":
            if not requires_allowed:
                raise SieveParseError(command.line, "require must come before other commands")
        else:
            requires_allowed = False
        if name in ("elsif", "else") and previous not in ("if", "elsif"):
            raise SieveParseError(command.line, f"{name} without a preceding if")
        spec = COMMANDS.get(name)
        if spec is None:
            raise SieveParseError(command.line, f"unknown command {name!r}")
        call = _resolve(command, spec, required, "command")
        if name == "require":
            for capability in _strings(call.positional[0]):
                if capability not in EXTENSIONS:
                    raise SieveParseError(command.line, f"unsupported extension {capability!r}")
                required.add(capability)
        if spec.block:
            if command.block is None:
                raise SieveParseError(command.line, f"{name} needs a block")
            call.block = _block(command.block, required, top=False)
        elif command.block is not None:
            raise SieveParseError(command.line, f"{name} takes no block")
        calls.append(call)
        previous = name
    return calls


def _resolve(node: Command | Test, spec: Spec, required: set[str], what: str) -> Call:
    name, line = node.name, node.line
    if spec.extension is not None and spec.extension not in required:
        raise SieveParseError(line, f"{what} {name!r} needs require {spec.extension!r}")
    tags: dict[str, object] = {}
    positional: list[Argument] = []
    args = list(node.args)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not isinstance(arg, Tag):
            positional.append(arg)
            continue
        if positional:
            raise SieveParseError(line, f"tag :{arg.name} after positional arguments of {name}")
        kind = spec.tags.get(arg.name)
        if kind is None:
            raise SieveParseError(line, f"unknown tag :{arg.name} for {name}")
        needed = TAG_EXTENSIONS.get(arg.name)
        if arg.name in ("lower", "upper", "length") and name != "set":
            needed = "variables"
        if needed is not None and needed not in required:
            raise SieveParseError(line, f"tag :{arg.name} needs require {needed!r}")
        if arg.name in tags:
            raise SieveParseError(line, f"tag :{arg.name} given twice")
        for group in EXCLUSIVE:
            if arg.name in group and group & set(tags):
                raise SieveParseError(line, f"tag :{arg.name} conflicts with another tag")
        if kind == "":
            tags[arg.name] = True
            continue
        if index >= len(args):
            raise SieveParseError(line, f"tag :{arg.name} needs a value")
        tags[arg.name] = _check_kind(args[index], kind, line, f":{arg.name}")
        index += 1
    expected = spec.positional
    if spec.optional_first and len(positional) == len(expected) - 1:
        expected = expected[1:]
    if len(positional) != len(expected):
        raise SieveParseError(
            line,
            f"{name} takes {len(spec.positional)} positional argument(s), got {len(positional)}",
        )
    values = [
        _check_kind(arg, kind, line, name) for arg, kind in zip(positional, expected, strict=True)
    ]
    if spec.optional_first and len(expected) == len(spec.positional) - 1:
        values.insert(0, None)
    _check_values(name, tags, values, line, required)
    tests = [_test(test, required) for test in node.tests]
    if spec.tests == 0 and tests:
        raise SieveParseError(line, f"{name} takes no test")
    if spec.tests == 1 and len(tests) != 1 or spec.tests == -1 and not tests:
        raise SieveParseError(line, f"{name} needs a test")
    return Call(name, line, tags, values, tests, None)


def _test(test: Test, required: set[str]) -> Call:
    spec = TESTS.get(test.name)
    if spec is None:
        raise SieveParseError(test.line, f"unknown test {test.name!r}")
    return _resolve(test, spec, required, "test")


def _check_kind(arg: Argument, kind: str, line: int, where: str) -> object:
    if kind == "n":
        if not isinstance(arg, int):
            raise SieveParseError(line, f"{where} needs a number")
        return arg
    if kind == "s":
        if not isinstance(arg, str):
            raise SieveParseError(line, f"{where} needs a string")
        return arg
    if isinstance(arg, str):
        return (arg,)
    if isinstance(arg, StringList):
        return arg.items
    raise SieveParseError(line, f"{where} needs a string list")


def _check_values(
    name: str, tags: dict[str, object], values: list[object], line: int, required: set[str]
) -> None:
    comparator = tags.get("comparator")
    if isinstance(comparator, str):
        if comparator not in COMPARATORS:
            raise SieveParseError(line, f"unknown comparator {comparator!r}")
        if comparator == "i;ascii-numeric" and "comparator-i;ascii-numeric" not in required:
            raise SieveParseError(line, "comparator i;ascii-numeric needs require")
        if comparator == "i;ascii-numeric" and ("contains" in tags or "matches" in tags):
            raise SieveParseError(line, "i;ascii-numeric supports only :is, :value and :count")
    for relational in ("count", "value"):
        relation = tags.get(relational)
        if isinstance(relation, str) and relation.lower() not in RELATIONS:
            raise SieveParseError(line, f"unknown relation {relation!r}")
    if name == "size" and len(tags) != 1:
        raise SieveParseError(line, "size needs exactly one of :over or :under")
    if "index" in tags and tags["index"] == 0:
        raise SieveParseError(line, ":index must be 1 or more")
    if "last" in tags and "index" not in tags:
        raise SieveParseError(line, ":last needs :index")
    if name == "envelope":
        for part in _strings(values[0]):
            if part.lower() not in ("from", "to", "auth"):
                raise SieveParseError(line, f"unknown envelope part {part!r}")
    if name == "global" and "variables" not in required:
        raise SieveParseError(line, "global needs require 'variables'")
    if name == "include" and isinstance(values[0], str) and ("/" in values[0] or not values[0]):
        raise SieveParseError(line, f"invalid script name {values[0]!r}")
    if (
        name == "set"
        and isinstance(values[0], str)
        and not _is_variable_name(values[0].removeprefix("global."))
    ):
        raise SieveParseError(line, f"invalid variable name {values[0]!r}")


def _is_variable_name(name: str) -> bool:
    return (
        bool(name)
        and (name[0].isalpha() or name[0] == "_")
        and name.isascii()
        and all(c.isalnum() or c == "_" for c in name)
    )


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    return ()
