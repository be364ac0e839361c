"""One line per log event with stable fields: key=value (logfmt, `[server] log_format =
"text"`) or one JSON object (`"json"`).

Fields, in this order: time (UTC, ISO 8601 with milliseconds), level, logger, msg, then the
fields a call passed with `extra=` (e.g. `qid`, the queue id that SMTP gives a message and
the mail store's lines repeat), then `exc` for a traceback (escaped onto the same line).
Never a secret: swissbox logs no credentials (aiosmtpd's own debug lines mask AUTH data;
tests/integration/test_monitoring.py greps a whole debug-level run for the passwords).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any, TextIO

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")


def fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    """The event as ordered fields."""
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    out: dict[str, Any] = {
        "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_") and key not in out:
            out[key] = value
    if record.exc_info:
        out["exc"] = formatter.formatException(record.exc_info)
    elif record.exc_text:
        out["exc"] = record.exc_text
    if record.stack_info:
        out["stack"] = formatter.formatStack(record.stack_info)
    return out


def logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and _BARE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quotes, and escapes newlines and controls


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={logfmt_value(v)}" for k, v in fields(record, self).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields(record, self), ensure_ascii=False, default=str)


def configure(level: str, log_format: str, stream: TextIO) -> None:
    """Sets the root handler: one line per event on `stream` in `log_format`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
