"""``swissbox tnef``: list, extract or convert a winmail.dat (TNEF) file.

``main(argv) -> int``: 0 on success; bad input prints the error on stderr and returns 1.
Extraction never writes outside the target directory and never overwrites a file.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from .calendar import to_icalendar
from .contacts import to_vcard
from .decoder import decode
from .errors import TnefError
from .model import Message

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
MAX_NAME_BYTES = 200


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A file name that is one path component: no separators, no "..", no control characters."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    if not name or _RESERVED.match(name):
        name = f"{fallback}_{name}" if name else fallback
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext.encode()) <= 16 else ""
        room = MAX_NAME_BYTES - len(ext.encode()) - 1
        stem = (stem if dot else name).encode("utf-8")[:room].decode("utf-8", "ignore")
        name = f"{stem}.{ext}" if ext else stem
    return name


def _read(path: str, stdin: BinaryIO) -> bytes:
    if path == "-":
        return stdin.read()
    return Path(path).read_bytes()


def _files(message: Message, prefix: str = "") -> Iterator[tuple[str, bytes, str]]:
    """Everything extract writes: (name, bytes, description)."""
    for attachment in message.attachments:
        vcard = None if attachment.embedded is None else to_vcard(attachment.embedded)
        if vcard is not None:
            stem = attachment.embedded.subject if attachment.embedded else None
            yield (
                f"{stem or attachment.name.rpartition('.')[0] or 'contacts'}.vcf",
                vcard,
                "text/vcard",
            )
        elif attachment.embedded is not None:
            from .mime import message_to_mime  # the email package only when needed

            data = message_to_mime(attachment.embedded).as_bytes()
            yield attachment.name, data, "message/rfc822"
        else:
            yield attachment.name, attachment.data, attachment.mime_type
    if message.body_text is not None:
        yield f"{prefix}body.txt", message.body_text.encode("utf-8"), "text/plain; charset=utf-8"
    if message.body_html is not None:
        yield f"{prefix}body.html", message.body_html, f"text/html; charset={message.html_charset}"
    if message.body_rtf is not None:
        yield f"{prefix}body.rtf", message.body_rtf, "application/rtf"
    vcard = to_vcard(message)
    if vcard is not None:
        yield f"{prefix}contacts.vcf", vcard, "text/vcard"
    calendar = to_icalendar(message)
    if calendar is not None:
        yield f"{prefix}invite.ics", calendar[1], f"text/calendar; method={calendar[0]}"


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    """Create ``name`` inside ``directory`` (``name-2`` etc. when taken); never follows links."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for number in range(1, 10_000):
        candidate = name if number == 1 else f"{stem}-{number}{'.' + ext if ext else ''}"
        target = directory / candidate
        if target.resolve().parent != directory:
            raise TnefError(f"refusing to write outside {directory}: {candidate!r}")
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError:
            target.unlink(missing_ok=True)
            raise
        return target
    raise TnefError(f"too many files named like {name!r} in {directory}")


def _list(message: Message, out: TextIO) -> None:
    out.write(f"message class: {message.message_class or '-'}\n")
    if message.subject:
        out.write(f"subject: {message.subject}\n")
    out.write(f"body formats: {', '.join(message.body_formats) or 'none'}\n")
    calendar = to_icalendar(message)
    if calendar is not None:
        out.write(f"calendar: {calendar[0]}\n")
    out.write(f"attachments: {len(message.attachments)}\n")
    for attachment in message.attachments:
        extra = f"  cid:{attachment.content_id}" if attachment.content_id else ""
        date = attachment.modified.strftime("%Y-%m-%d %H:%M:%S") if attachment.modified else "-"
        out.write(
            f"{attachment.size:>10}  {date:<19}  {attachment.mime_type:<32}  "
            f"{attachment.name}{extra}\n"
        )
        if attachment.embedded is not None:
            inner = attachment.embedded
            out.write(
                f"{'':>10}  embedded message: {inner.message_class or '-'}, "
                f"{len(inner.attachments)} attachment(s)\n"
            )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swissbox tnef", description="Decode winmail.dat (TNEF) files."
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="recover what can be recovered from damaged files (warnings on stderr)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", help="list attachments, body formats and message class")
    listing.add_argument("file", metavar="FILE", help="TNEF file, or - for standard input")
    extract = verbs.add_parser("extract", help="write attachments and bodies as files")
    extract.add_argument("file", metavar="FILE", help="TNEF file, or - for standard input")
    extract.add_argument("-o", "--output", metavar="DIR", required=True, help="target directory")
    to_mime = verbs.add_parser("to-mime", help="print the file as a complete MIME message")
    to_mime.add_argument("file", metavar="FILE", help="TNEF file, or - for standard input")
    return parser


def main(
    argv: list[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``swissbox tnef``; returns the exit status."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    stderr = stderr or sys.stderr
    try:
        message = decode(_read(args.file, stdin), lenient=args.lenient)
    except TnefError as exc:
        stderr.write(f"swissbox tnef: {args.file}: {exc}\n")
        return 1
    except OSError as exc:
        stderr.write(f"swissbox tnef: {args.file}: {exc.strerror or exc}\n")
        return 1
    try:
        return _run(args, message, stdout, stderr)
    finally:
        # after the work: bodies are decoded on first use, and their warnings with them
        for warning in message.warnings:
            stderr.write(f"swissbox tnef: warning: {warning}\n")


def _run(args: argparse.Namespace, message: Message, stdout: BinaryIO, stderr: TextIO) -> int:
    if args.verb == "list":
        text = io.StringIO()
        _list(message, text)
        stdout.write(text.getvalue().encode("utf-8"))
        stdout.flush()
        return 0
    if args.verb == "to-mime":
        from .mime import message_to_mime

        stdout.write(message_to_mime(message).as_bytes())
        stdout.flush()
        return 0
    directory = Path(args.output)
    written: list[tuple[Path, int]] = []
    try:
        files = list(_files(message))  # everything decoded before the first file is written
        directory.mkdir(parents=True, exist_ok=True)
        directory = directory.resolve(strict=True)
        for name, data, _kind in files:
            written.append((_write_new(directory, safe_filename(name), data), len(data)))
    except (OSError, TnefError) as exc:
        for path, _size in written:  # all or nothing: no half-extracted message stays behind
            path.unlink(missing_ok=True)
        stderr.write(f"swissbox tnef: {args.output}: {exc}\n")
        return 1
    stdout.write("".join(f"{size:>10}  {path.name}\n" for path, size in written).encode())
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
