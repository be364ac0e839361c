"""Pure Sieve (RFC 5228) parser and interpreter with its common extensions; imports nothing of
swissbox.

``compile_script(text) -> Script`` (raises ``SieveParseError`` with a line number),
``run(script, message_bytes, Envelope(...), Environment(...)) -> Result`` (raises
``SieveRuntimeError``; the caller then keeps the message in INBOX).
"""

from .actions import Action, Discard, FileInto, Keep, Redirect, Reject, Result, Vacation
from .errors import Limits, SieveError, SieveParseError, SieveRuntimeError
from .grammar import EXTENSIONS
from .interpreter import Envelope, Environment, Script, compile_script, run, run_sequence

__all__ = [
    "EXTENSIONS",
    "Action",
    "Discard",
    "Envelope",
    "Environment",
    "FileInto",
    "Keep",
    "Limits",
    "Redirect",
    "Reject",
    "Result",
    "Script",
    "SieveError",
    "SieveParseError",
    "SieveRuntimeError",
    "Vacation",
    "compile_script",
    "run",
    "run_sequence",
]
