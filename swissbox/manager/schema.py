"""A small declarative schema: each type validates a decoded JSON value and renders itself as
JSON Schema (2020-12, as OpenAPI 3.1 uses). Handlers validate request bodies with these objects
and the OpenAPI document is generated from the same objects, so the two cannot disagree."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Invalid(ValueError):
    """A request value that breaks its schema; the message names the field."""


class Schema:
    def validate(self, value: Any, where: str = "body") -> Any:
        raise NotImplementedError

    def json(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Schema):
    max_length: int = 255
    min_length: int = 0
    pattern: str | None = None
    enum: Sequence[str] | None = None
    description: str = ""
    format: str | None = None

    def validate(self, value: Any, where: str = "body") -> str:
        if not isinstance(value, str):
            raise Invalid(f"{where}: a string is expected")
        if len(value) < self.min_length or len(value) > self.max_length:
            raise Invalid(f"{where}: {self.min_length}-{self.max_length} characters")
        if self.enum is not None and value not in self.enum:
            raise Invalid(f"{where}: one of {', '.join(self.enum)}")
        if self.pattern is not None and not re.search(self.pattern, value):
            raise Invalid(f"{where}: does not match {self.pattern}")
        return value

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            out["minLength"] = self.min_length
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.format:
            out["format"] = self.format
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Int(Schema):
    minimum: int | None = None
    maximum: int | None = None
    nullable: bool = False
    description: str = ""

    def validate(self, value: Any, where: str = "body") -> int | None:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{where}: an integer is expected")
        if self.minimum is not None and value < self.minimum:
            raise Invalid(f"{where}: at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise Invalid(f"{where}: at most {self.maximum}")
        return value

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["integer", "null"] if self.nullable else "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Bool(Schema):
    description: str = ""

    def validate(self, value: Any, where: str = "body") -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"{where}: true or false is expected")
        return value

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "boolean"}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Arr(Schema):
    items: Schema
    max_items: int = 100
    min_items: int = 0
    unique: bool = False

    def validate(self, value: Any, where: str = "body") -> list[Any]:
        if not isinstance(value, list):
            raise Invalid(f"{where}: a list is expected")
        if not self.min_items <= len(value) <= self.max_items:
            raise Invalid(f"{where}: {self.min_items}-{self.max_items} items")
        out = [self.items.validate(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if self.unique and len({repr(v) for v in out}) != len(out):
            raise Invalid(f"{where}: the items must differ")
        return out

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "array",
            "items": self.items.json(),
            "maxItems": self.max_items,
        }
        if self.min_items:
            out["minItems"] = self.min_items
        if self.unique:
            out["uniqueItems"] = True
        return out


@dataclass(frozen=True)
class Obj(Schema):
    """An object with known properties; unknown ones are refused (a typo is an error)."""

    properties: Mapping[str, Schema]
    required: Sequence[str] = ()
    description: str = ""
    open: bool = False  # responses only: may carry more properties than listed
    nullable: bool = False

    def validate(self, value: Any, where: str = "body") -> dict[str, Any] | None:
        if value is None and self.nullable:
            return None
        if not isinstance(value, dict):
            raise Invalid(f"{where}: an object is expected")
        unknown = sorted(set(value) - set(self.properties))
        if unknown and not self.open:
            raise Invalid(f"{where}: unknown field {unknown[0]!r}")
        for name in self.required:
            if name not in value:
                raise Invalid(f"{where}.{name}: required")
        return {
            name: self.properties[name].validate(v, f"{where}.{name}")
            for name, v in value.items()
            if name in self.properties
        }

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": ["object", "null"] if self.nullable else "object",
            "properties": {k: v.json() for k, v in self.properties.items()},
        }
        if self.required:
            out["required"] = list(self.required)
        if not self.open:
            out["additionalProperties"] = False
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Param:
    """A path or query parameter (always a string on the wire)."""

    name: str
    schema: Schema
    where: str = "path"
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Doc:
    """An endpoint's contract: summary, request body, answer bodies by status."""

    summary: str
    body: Obj | None = None
    answers: Mapping[int, Schema] = field(default_factory=dict)
    query: Sequence[Param] = ()


ERROR = Obj(
    {"error": Str(max_length=2000), "reason": Str(max_length=2000)},
    required=("error",),
    description="A refusal: `error` says what, `reason` why (for 403).",
)
