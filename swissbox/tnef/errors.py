"""Errors and resource limits shared by the TNEF decoder: bad input raises TnefError, never more."""

from __future__ import annotations

from dataclasses import dataclass, field

# Warnings that mean content was dropped (as opposed to harmless trailing bytes): a MIME
# rewrite that meets one keeps the original winmail.dat next to what it could decode.
RTF_NOT_DECODED = "RTF body not decoded"
EMBEDDED_NOT_DECODED = "embedded message not decoded"
LOSSY_WARNINGS = (RTF_NOT_DECODED, EMBEDDED_NOT_DECODED)


class TnefError(ValueError):
    """Malformed or hostile TNEF input; ``offset`` is where in the stream it was found."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.reason = message
        self.offset = offset
        if offset is not None:
            message = f"{message} (at offset {offset})"
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    """Bounds on work and memory for one decode; every limit is checked before allocating."""

    max_input: int = 256 * 1024 * 1024
    max_attributes: int = 100_000
    max_attachments: int = 2_000
    max_properties: int = 200_000
    max_values: int = 100_000
    max_depth: int = 8
    max_rtf_size: int = 16 * 1024 * 1024
    max_total_output: int = 512 * 1024 * 1024


@dataclass
class Budget:
    """Running totals for one top-level decode, shared with nested (embedded) messages."""

    limits: Limits
    attributes: int = 0
    attachments: int = 0
    properties: int = 0
    output: int = 0
    warnings: list[str] = field(default_factory=list)

    def spend_output(self, size: int, offset: int | None) -> None:
        self.output += size
        if self.output > self.limits.max_total_output:
            raise TnefError(
                f"decoded output exceeds the limit of {self.limits.max_total_output} bytes", offset
            )
