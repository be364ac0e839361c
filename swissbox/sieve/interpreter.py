"""Run a compiled Sieve script over one message and its envelope; return the actions.

Pure: the clock, the local time zone and "does this folder exist" are passed in. A bound hit
or an action conflict raises ``SieveRuntimeError``; the caller then keeps the message in INBOX.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from . import actions as act
from .errors import Limits, SieveParseError, SieveRuntimeError
from .grammar import Call, validate
from .message import MessageView, addresses, parse_date
from .parser import parse

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|[0-9]+)\}")
_ENCODED = re.compile(r"\$\{(hex|unicode):([^}]*)\}", re.IGNORECASE)
_NUMERIC = re.compile(r"[0-9]*")
_ZONE = re.compile(r"^([+-])([0-9]{2})([0-9]{2})$")
_LIST_HEADERS: tuple[str, ...] = ("list-id", "list-help", "list-subscribe", "list-unsubscribe")
_LIST_HEADERS += ("list-post", "list-owner", "list-archive")
_ROBOT_LOCALPARTS: tuple[str, ...] = (
    "mailer-daemon",
    "listserv",
    "majordomo",
    "owner-",
    "-request",
    "-owner",
)
_ROBOT_LOCALPARTS += ("-bounces", "noreply", "no-reply", "postmaster")
DEFAULT_VACATION_DAYS = 7
ADDRESS_PARTS_NEEDING_SYNTAX = ("localpart", "domain", "user", "detail")
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Script:
    """A parsed and validated script, ready to run many times."""

    calls: list[Call]
    required: frozenset[str]


def compile_script(text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Script:
    """Parse and validate; raises ``SieveParseError`` with the offending line."""
    if isinstance(text, bytes):
        if len(text) > limits.max_script_bytes:
            raise SieveParseError(1, f"script larger than {limits.max_script_bytes} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SieveParseError(1, "script is not UTF-8") from error
    if len(text.encode("utf-8")) > limits.max_script_bytes:
        raise SieveParseError(1, f"script larger than {limits.max_script_bytes} bytes")
    required, calls = validate(parse(text, limits.max_nesting))
    return Script(calls, required)


@dataclass(frozen=True)
class Envelope:
    mail_from: str  # "" for the null sender
    rcpt_to: str  # the recipient as given at RCPT (subaddress kept)
    auth: str = ""


@dataclass
class Environment:
    """What the script may learn about the world (all optional)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    zone: tzinfo = UTC
    user_addresses: tuple[str, ...] = ()
    mailbox_exists: Callable[[str], bool] = lambda name: name.upper() == "INBOX"
    # include (RFC 6609): ("personal" | "global", name) -> script text, or None if none
    load_script: Callable[[str, str], str | None] = lambda location, name: None


class _Stop(Exception):
    pass


class _Return(Exception):
    pass


def run(
    script: Script,
    message: bytes,
    envelope: Envelope,
    environment: Environment | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> act.Result:
    """Evaluate ``script`` for one message; raises ``SieveRuntimeError`` on failure."""
    return run_sequence([script], message, envelope, environment, limits)


def run_sequence(
    scripts: list[Script],
    message: bytes,
    envelope: Envelope,
    environment: Environment | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> act.Result:
    """Scripts one after the other over one message (an administrator's "before" script, then
    the user's): actions, flags and the implicit keep are shared; ``stop`` in one skips the
    rest; each script has its own variables. The bounds hold for the whole sequence."""
    if not scripts:
        return act.Result()
    run_ = _Run(scripts[0], MessageView(message), envelope, environment or Environment(), limits)
    try:
        for script in scripts:
            run_.script, run_.variables, run_.global_names = script, {}, set()
            run_.variables_on, run_.match = "variables" in script.required, []
            with contextlib.suppress(_Return):
                run_.block(script.calls)
    except _Stop:
        pass
    except RecursionError as error:
        raise SieveRuntimeError("script nested too deeply") from error
    return run_.finish()


class _Run:
    def __init__(
        self,
        script: Script,
        message: MessageView,
        envelope: Envelope,
        environment: Environment,
        limits: Limits,
    ) -> None:
        self.script = script
        self.message = message
        self.envelope = envelope
        self.env = environment
        self.limits = limits
        self.steps = 0
        self.variables: dict[str, str] = {}  # the running script's own
        self.global_vars: dict[str, str] = {}  # shared by the scripts that declare them
        self.global_names: set[str] = set()
        self.including: list[tuple[str, str]] = []
        self.included: set[tuple[str, str]] = set()
        self.include_count = 0
        self.match: list[str] = []
        self.flags: list[str] = []
        self.result = act.Result()
        self.redirects = 0
        self.variables_on = "variables" in script.required

    # ---- control flow -------------------------------------------------------------------
    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise SieveRuntimeError(f"script ran more than {self.limits.max_steps} steps")

    def block(self, calls: list[Call]) -> None:
        branch_taken = False
        for call in calls:
            self.step()
            name = call.name
            if name == "if":
                branch_taken = self.test(call.tests[0])
                if branch_taken:
                    self.block(call.block or [])
            elif name == "elsif":
                if not branch_taken:
                    branch_taken = self.test(call.tests[0])
                    if branch_taken:
                        self.block(call.block or [])
            elif name == "else":
                if not branch_taken:
                    self.block(call.block or [])
            else:
                self.command(call)

    def command(self, call: Call) -> None:
        name, tags, args = call.name, call.tags, call.positional
        if name == "require":
            return
        if name == "stop":
            raise _Stop
        if name == "return":
            raise _Return
        if name == "global":
            self.global_names |= {n.lower() for n in self.expand_list(args[0])}
            return
        if name == "include":
            self.include(call)
            return
        if name == "keep":
            flags = self.flag_list(tags["flags"]) if "flags" in tags else tuple(self.flags)
            self.add(act.Keep(flags), cancels_keep=True)
        elif name == "discard":
            self.result.implicit_keep = False
            self.add(act.Discard(), cancels_keep=True)
        elif name == "fileinto":
            flags = self.flag_list(tags["flags"]) if "flags" in tags else tuple(self.flags)
            mailbox = self.expand(_str(args[0]))
            if mailbox.upper() == "INBOX":
                mailbox = "INBOX"
            action: act.Action = act.FileInto(mailbox, flags, bool(tags.get("create")))
            self.add(action, cancels_keep=not tags.get("copy"))
        elif name == "redirect":
            address = self.expand(_str(args[0])).strip()
            if "@" not in address or any(c in address for c in " <>,\r\n"):
                raise SieveRuntimeError(f"line {call.line}: invalid redirect address {address!r}")
            if any(isinstance(a, act.Redirect) and a.address == address for a in self.actions):
                self.cancel_keep(not tags.get("copy"))
                return
            self.redirects += 1
            if self.redirects > self.limits.max_redirects:
                raise SieveRuntimeError(
                    f"line {call.line}: more than {self.limits.max_redirects} redirects"
                )
            self.add(act.Redirect(address), cancels_keep=not tags.get("copy"))
        elif name in ("reject", "ereject"):
            if any(isinstance(a, act.Reject) for a in self.actions):
                raise SieveRuntimeError(f"line {call.line}: more than one reject")
            self.add(act.Reject(self.expand(_str(args[0])), name == "ereject"), cancels_keep=True)
        elif name == "vacation":
            self.vacation(call)
        elif name in ("setflag", "addflag", "removeflag"):
            self.change_flags(name, args)
        elif name == "set":
            self.set_variable(call)
        self.check_conflicts(call.line)

    def include(self, call: Call) -> None:
        location = "global" if call.tags.get("global") else "personal"
        name = self.expand(_str(call.positional[0]))
        key = (location, name)
        if call.tags.get("once") and key in self.included:
            return
        if key in self.including:
            raise SieveRuntimeError(f"line {call.line}: {name!r} includes itself")
        if len(self.including) >= self.limits.max_include_depth:
            raise SieveRuntimeError(f"line {call.line}: includes nested too deeply")
        self.include_count += 1
        if self.include_count > self.limits.max_includes:
            raise SieveRuntimeError(
                f"line {call.line}: more than {self.limits.max_includes} includes"
            )
        text = self.env.load_script(location, name)
        if text is None:
            if call.tags.get("optional"):
                return
            raise SieveRuntimeError(f"line {call.line}: no {location} script {name!r}")
        try:
            script = compile_script(text, self.limits)
        except SieveParseError as error:
            raise SieveRuntimeError(f"included script {name!r}: {error}") from None
        saved = (self.script, self.variables, self.global_names, self.variables_on, self.match)
        self.script, self.variables, self.global_names = script, {}, set()
        self.variables_on, self.match = "variables" in script.required, []
        self.including.append(key)
        self.included.add(key)
        try:
            self.block(script.calls)
        except _Return:
            pass
        finally:
            self.including.pop()
            self.script, self.variables, self.global_names, self.variables_on, self.match = saved

    def scope(self, name: str) -> tuple[dict[str, str], str]:
        """The variable table holding ``name`` (lower case) and the name within it."""
        name = name.lower()
        if name.startswith("global."):
            return self.global_vars, name[len("global.") :]
        if name in self.global_names:
            return self.global_vars, name
        return self.variables, name

    @property
    def actions(self) -> list[act.Action]:
        return self.result.actions

    def cancel_keep(self, cancels: bool) -> None:
        if cancels:
            self.result.implicit_keep = False

    def add(self, action: act.Action, cancels_keep: bool) -> None:
        self.cancel_keep(cancels_keep)
        if isinstance(action, act.Keep | act.FileInto):
            target = "INBOX" if isinstance(action, act.Keep) else action.mailbox
            if target in {_store_target(old) for old in self.actions}:
                return
        if isinstance(action, act.Discard) and any(
            isinstance(a, act.Discard) for a in self.actions
        ):
            return
        if len(self.actions) >= self.limits.max_actions:
            raise SieveRuntimeError(f"more than {self.limits.max_actions} actions")
        self.actions.append(action)

    def check_conflicts(self, line: int) -> None:
        kinds = {type(a) for a in self.actions}
        if act.Reject in kinds and kinds & {act.Keep, act.FileInto, act.Redirect, act.Vacation}:
            raise SieveRuntimeError(f"line {line}: reject conflicts with other actions")

    def finish(self) -> act.Result:
        result = self.result
        result.implicit_keep_flags = tuple(self.flags)
        if result.implicit_keep and any(isinstance(a, act.Keep) for a in self.actions):
            result.implicit_keep = False
        return result

    # ---- strings, variables, flags -----------------------------------------------------
    def expand(self, value: str) -> str:
        if "encoded-character" in self.script.required and "${" in value:
            value = _ENCODED.sub(_decode_encoded, value)
        if not self.variables_on or "${" not in value:
            return value
        return _VARIABLE.sub(self._variable_value, value)

    def _variable_value(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name.isdigit():
            index = int(name)
            return self.match[index] if index < len(self.match) else ""
        table, key = self.scope(name)
        return table.get(key, "")

    def expand_list(self, value: object) -> tuple[str, ...]:
        items = value if isinstance(value, tuple) else (_str(value),)
        return tuple(self.expand(item) for item in items)

    def flag_list(self, value: object) -> tuple[str, ...]:
        flags: list[str] = []
        seen: set[str] = set()
        for item in self.expand_list(value):
            for flag in item.split():
                if flag.lower() not in seen:
                    seen.add(flag.lower())
                    flags.append(flag)
        return tuple(flags)

    def change_flags(self, name: str, args: list[object]) -> None:
        variable, value = args
        new = self.flag_list(value)
        current = list(self.flags) if variable is None else self.variable_flags(_str(variable))
        if name == "setflag":
            current = list(new)
        elif name == "addflag":
            lower = {f.lower() for f in current}
            current += [f for f in new if f.lower() not in lower]
        else:
            remove = {f.lower() for f in new}
            current = [f for f in current if f.lower() not in remove]
        if variable is None:
            self.flags = current
        else:
            table, key = self.scope(_str(variable))
            table[key] = " ".join(current)

    def variable_flags(self, name: str) -> list[str]:
        table, key = self.scope(name)
        return list(self.flag_list(table.get(key, "")))

    def set_variable(self, call: Call) -> None:
        name, value = _str(call.positional[0]), self.expand(_str(call.positional[1]))
        tags = call.tags
        if "lower" in tags:
            value = value.translate(_ASCII_LOWER)
        if "upper" in tags:
            value = value.translate(_ASCII_UPPER)
        if "lowerfirst" in tags and value:
            value = value[0].translate(_ASCII_LOWER) + value[1:]
        if "upperfirst" in tags and value:
            value = value[0].upper() + value[1:]
        if "quotewildcard" in tags:
            value = re.sub(r"([*?\\])", r"\\\1", value)
        if "length" in tags:
            value = str(len(value))
        encoded = value.encode("utf-8")
        if len(encoded) > self.limits.max_variable_bytes:
            value = encoded[: self.limits.max_variable_bytes].decode("utf-8", "ignore")
        table, key = self.scope(name)
        if key not in table and len(table) >= self.limits.max_variables:
            raise SieveRuntimeError(
                f"line {call.line}: more than {self.limits.max_variables} variables"
            )
        table[key] = value

    # ---- tests --------------------------------------------------------------------------
    def test(self, call: Call) -> bool:
        self.step()
        name, tags, args = call.name, call.tags, call.positional
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "not":
            return not self.test(call.tests[0])
        if name == "allof":
            return all(self.test(t) for t in call.tests)
        if name == "anyof":
            return any(self.test(t) for t in call.tests)
        if name == "exists":
            return all(self.message.raw_values(h) for h in self.expand_list(args[0]))
        if name == "size":
            if "over" in tags:
                return self.message.size > _int(tags["over"])
            return self.message.size < _int(tags["under"])
        if name == "header":
            values = self.indexed(
                [v for h in self.expand_list(args[0]) for v in self.message.values(h)], tags
            )
            return self.compare(values, args[1], tags)
        if name == "address":
            values = []
            for header in self.expand_list(args[0]):
                for raw in self.indexed(self.message.raw_values(header), tags):
                    found = addresses([raw])
                    if found:
                        values += found
                    elif raw and not any(p in tags for p in ADDRESS_PARTS_NEEDING_SYNTAX):
                        # RFC 5228 2.7.4: a field without a valid address is matched as it is
                        # by :all (only :localpart/:domain/... need one); Pigeonhole does so too
                        values.append(raw)
            return self.compare(self.address_parts(values, tags), args[1], tags)
        if name == "envelope":
            values = []
            for part in self.expand_list(args[0]):
                part = part.lower()
                if part == "from":
                    values.append(self.envelope.mail_from)
                elif part == "to":
                    values.append(self.envelope.rcpt_to)
                elif part == "auth" and self.envelope.auth:
                    values.append(self.envelope.auth)
            return self.compare(self.address_parts(values, tags), args[1], tags)
        if name == "body":
            transform = "raw" if "raw" in tags else "content" if "content" in tags else "text"
            types = self.expand_list(tags["content"]) if "content" in tags else ()
            texts = self.message.body_texts(transform, types)
            return self.compare(texts, args[0], tags, is_body=True)
        if name == "string":
            values = [v for v in self.expand_list(args[0])]
            if "count" in tags:
                values = [v for v in values if v != ""]
            return self.compare(values, args[1], tags)
        if name == "date":
            return self.date_test(call)
        if name == "currentdate":
            zone = self.zone_tag(tags) or self.env.zone
            now = self.env.now.astimezone(zone)
            part = self.expand(_str(args[0])).lower()
            value = _date_part(now, part)
            return self.compare([] if value is None else [value], args[1], tags)
        if name == "hasflag":
            variables, keys = args
            if variables is None:
                flags = list(self.flags)
            else:
                flags = [f for v in self.expand_list(variables) for f in self.variable_flags(v)]
            return self.compare(flags, keys, tags)
        if name == "mailboxexists":
            return all(self.env.mailbox_exists(m) for m in self.expand_list(args[0]))
        raise SieveRuntimeError(f"line {call.line}: test {name} not implemented")

    def indexed(self, values: list[str], tags: dict[str, object]) -> list[str]:
        if "index" not in tags:
            return values
        position = _int(tags["index"])
        if position > len(values):
            return []
        return [values[-position] if "last" in tags else values[position - 1]]

    def address_parts(self, values: list[str], tags: dict[str, object]) -> list[str]:
        parts: list[str] = []
        for value in values:
            local, _, domain = value.rpartition("@") if "@" in value else (value, "", "")
            if "localpart" in tags:
                parts.append(local)
            elif "domain" in tags:
                parts.append(domain)
            elif "user" in tags:
                parts.append(local.split("+", 1)[0])
            elif "detail" in tags:
                if "+" in local:
                    parts.append(local.split("+", 1)[1])
            else:
                parts.append(value)
        return parts

    def zone_tag(self, tags: dict[str, object]) -> tzinfo | None:
        if "zone" not in tags:
            return None
        match = _ZONE.match(self.expand(_str(tags["zone"])))
        if match is None:
            return None
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return timezone(sign * timedelta(minutes=minutes))

    def date_test(self, call: Call) -> bool:
        tags, args = call.tags, call.positional
        header = self.expand(_str(args[0]))
        part = self.expand(_str(args[1])).lower()
        raw = self.indexed(self.message.raw_values(header), tags)
        values: list[str] = []
        for value in raw:
            parsed = parse_date(value, header.lower() == "received")
            if parsed is None:
                continue
            if "originalzone" not in tags:
                parsed = parsed.astimezone(self.zone_tag(tags) or self.env.zone)
            extracted = _date_part(parsed, part)
            if extracted is not None:
                values.append(extracted)
        return self.compare(values, args[2], tags)

    # ---- matching -----------------------------------------------------------------------
    def compare(
        self, values: list[str], keys_arg: object, tags: dict[str, object], is_body: bool = False
    ) -> bool:
        comparator = _str(tags.get("comparator", "i;ascii-casemap"))
        keys = self.expand_list(keys_arg)
        if "count" in tags:
            relation = self.expand(_str(tags["count"])).lower()
            count = str(len(values))
            return any(_relate(relation, _order(count, key, comparator)) for key in keys)
        if "value" in tags:
            relation = self.expand(_str(tags["value"])).lower()
            return any(
                _relate(relation, _order(value, key, comparator))
                for value in values
                for key in keys
            )
        for value in values:
            for key in keys:
                if "matches" in tags:
                    groups = _glob(value, key, comparator)
                    if groups is not None:
                        if self.variables_on:
                            self.match = [value, *groups][:10]
                        return True
                elif "contains" in tags or is_body and "is" not in tags:
                    if _fold(key, comparator) in _fold(value, comparator):
                        return True
                elif _order(value, key, comparator) == 0:
                    return True
        return False

    # ---- vacation (RFC 5230, RFC 3834) --------------------------------------------------
    def vacation(self, call: Call) -> None:
        if any(isinstance(a, act.Vacation) for a in self.actions) or any(
            n.startswith("vacation") for n in self.result.notes
        ):
            raise SieveRuntimeError(f"line {call.line}: more than one vacation")
        tags = call.tags
        reason = self.expand(_str(call.positional[0]))
        sender = self.envelope.mail_from
        own = {a.lower() for a in (self.envelope.rcpt_to, *self.env.user_addresses)}
        own |= {a.lower() for a in self.expand_list(tags.get("addresses", ()))}
        own |= {_strip_detail(a) for a in own}
        skip = self.vacation_skip_reason(sender, own)
        if skip is not None:
            self.result.notes.append(f"vacation not sent: {skip}")
            return
        days = _int(tags.get("days", DEFAULT_VACATION_DAYS))
        days = max(1, days)
        subject = (
            self.expand(_str(tags["subject"]))
            if "subject" in tags
            else "Auto: " + (self.message.values("subject") or [""])[0]
        )
        from_address = (
            self.expand(_str(tags["from"]))
            if "from" in tags
            else _strip_detail(self.envelope.rcpt_to)
        )
        handle = (
            self.expand(_str(tags["handle"]))
            if "handle" in tags
            else hashlib.sha256(
                "\0".join([reason, subject if "subject" in tags else "", from_address]).encode()
            ).hexdigest()[:32]
        )
        self.actions.append(
            act.Vacation(
                sender, reason, subject, from_address, days, handle, bool(tags.get("mime"))
            )
        )

    def vacation_skip_reason(self, sender: str, own: set[str]) -> str | None:
        if not sender:
            return "null envelope sender"
        if sender.lower() in own or _strip_detail(sender.lower()) in own:
            return "sender is the recipient"
        local = sender.rpartition("@")[0].lower()
        if any(
            local.startswith(p)
            if p.endswith("-")
            else local.endswith(p)
            if p.startswith("-")
            else local == p
            for p in _ROBOT_LOCALPARTS
        ):
            return f"sender {sender} looks like a robot"
        auto = self.message.values("auto-submitted")
        if any(v.split(";")[0].strip().lower() != "no" for v in auto):
            return "message is Auto-Submitted"
        precedence = {v.strip().lower() for v in self.message.values("precedence")}
        if precedence & {"bulk", "list", "junk"}:
            return "message has Precedence bulk/list/junk"
        if any(self.message.raw_values(h) for h in _LIST_HEADERS):
            return "message comes from a mailing list"
        recipients = addresses(
            [
                v
                for h in ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")
                for v in self.message.raw_values(h)
            ]
        )
        if not any(r.lower() in own or _strip_detail(r.lower()) in own for r in recipients):
            return "none of the recipient's addresses is in To/Cc/Bcc"
        return None


def _store_target(action: act.Action) -> str | None:
    if isinstance(action, act.Keep):
        return "INBOX"
    return action.mailbox if isinstance(action, act.FileInto) else None


def _strip_detail(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return local.split("+", 1)[0] + "@" + domain


def _decode_encoded(match: re.Match[str]) -> str:
    kind, body = match.group(1).lower(), match.group(2).split()
    try:
        if kind == "hex":
            return bytes(int(h, 16) for h in body).decode("utf-8")
        return "".join(chr(int(h, 16)) for h in body)
    except (ValueError, UnicodeDecodeError):
        return match.group(0)


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and value:
        return str(value[0])
    return ""


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _fold(value: str, comparator: str) -> str:
    return value.translate(_ASCII_LOWER) if comparator == "i;ascii-casemap" else value


def _order(value: str, key: str, comparator: str) -> int:
    """-1, 0, 1 comparing value to key under the comparator (RFC 4790)."""
    if comparator == "i;ascii-numeric":
        a, b = _numeric(value), _numeric(key)
        return (a > b) - (a < b)
    left = _fold(value, comparator).encode("utf-8")
    right = _fold(key, comparator).encode("utf-8")
    return (left > right) - (left < right)


def _numeric(value: str) -> float:
    digits = _NUMERIC.match(value)
    return float("inf") if digits is None or not digits.group() else int(digits.group())


def _relate(relation: str, order: int) -> bool:
    return {
        "gt": order > 0,
        "ge": order >= 0,
        "lt": order < 0,
        "le": order <= 0,
        "eq": order == 0,
        "ne": order != 0,
    }.get(relation, False)


def _glob(value: str, pattern: str, comparator: str) -> list[str] | None:
    """Match ``*``/``?`` wildcards (``\\`` escapes); the wildcard substrings, or None."""
    regex: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            regex.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            regex.append("(.*?)")
        elif char == "?":
            regex.append("(.)")
        else:
            regex.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if comparator == "i;ascii-casemap" else 0)
    found = re.fullmatch("".join(regex), value, flags)
    return None if found is None else list(found.groups())


def _date_part(moment: datetime, part: str) -> str | None:
    """The date-part of RFC 5260 section 4.2; None for an unknown part (the test is false)."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    if part == "year":
        return f"{moment.year:04d}"
    if part == "month":
        return f"{moment.month:02d}"
    if part == "day":
        return f"{moment.day:02d}"
    if part == "date":
        return moment.strftime("%Y-%m-%d")
    if part == "julian":
        return str((moment.date() - datetime(1858, 11, 17).date()).days)
    if part == "hour":
        return f"{moment.hour:02d}"
    if part == "minute":
        return f"{moment.minute:02d}"
    if part == "second":
        return f"{moment.second:02d}"
    if part == "time":
        return moment.strftime("%H:%M:%S")
    if part == "iso8601":
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + zone[:3] + ":" + zone[3:]
    if part == "std11":
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        months = (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        )
        return (
            f"{days[moment.weekday()]}, {moment.day:02d} {months[moment.month - 1]} "
            f"{moment.year:04d} {moment.strftime('%H:%M:%S')} {zone}"
        )
    if part == "zone":
        return zone
    if part == "weekday":
        return str((moment.weekday() + 1) % 7)
    return None
