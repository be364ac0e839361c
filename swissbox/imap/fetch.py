"""FETCH: one batched pass over the index (cached envelopes, bodies read only for body
sections), CHANGEDSINCE, implicit \\Seen; large answers stream through a Twisted producer."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from zope.interface import implementer

from swissbox.imap import binary, qresync, render, sections
from swissbox.imap.base import (
    SessionBase,
    bad,
    no,
)
from swissbox.imap.fetchspec import FetchItem, FetchRequest, parse_fetch
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import (
    Token,
    parse_seqset,
)
from swissbox.mailstore import query
from swissbox.mailstore.paths import folder_dir, read_message

STREAM_AFTER = 20  # body FETCHes over this many messages go through a producer
STREAM_META_AFTER = 2000  # and any FETCH over this many
STREAM_CHUNK = 256 * 1024  # bytes written per reactor turn while streaming


@implementer(IPushProducer)
class _Streamer:
    """Writes FETCH responses as the socket takes them (a Twisted streaming producer), at most
    STREAM_CHUNK bytes per reactor turn so other sessions keep being served."""

    def __init__(self, session: SessionBase, lines: Iterator[bytes]) -> None:
        self.session = session
        self.lines = lines
        self.paused = False
        self.scheduled = False
        self.finished = False
        self.d: defer.Deferred[None] = defer.Deferred()

    def start(self) -> defer.Deferred[None]:
        self.session.transport.registerProducer(self, True)
        self._schedule()
        return self.d

    def _schedule(self) -> None:
        if not self.scheduled and not self.finished:
            self.scheduled = True
            self.session.service.reactor.callLater(0, self._run)

    def _run(self) -> None:
        self.scheduled = False
        sent = 0
        while not self.paused and not self.finished:
            try:
                line = next(self.lines)
            except StopIteration:
                self._finish(None)
                return
            except Exception:
                self._finish(Failure())
                return
            self.session.transport.write(line)  # may pause us (the socket buffer is full)
            sent += len(line)
            if sent >= STREAM_CHUNK:
                self._schedule()
                return

    def _finish(self, result: Failure | None) -> None:
        if self.finished:
            return
        self.finished = True
        with contextlib.suppress(Exception):
            self.session.transport.unregisterProducer()
        if result is None:
            self.d.callback(None)
        else:
            self.d.errback(result)

    def pauseProducing(self) -> None:  # noqa: N802
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        self._schedule()

    def stopProducing(self) -> None:  # noqa: N802
        self.paused = True
        self._finish(Failure(ConnectionError("connection lost during FETCH")))


class FetchCommands(SessionBase):
    def cmd_fetch(
        self, tag: bytes, args: list[Token], uid: bool = False
    ) -> bytes | defer.Deferred[bytes]:
        box = self._box()
        if len(args) not in (2, 3):
            raise bad("FETCH needs a sequence set and items")
        req = parse_fetch(args[1], args[2] if len(args) == 3 else None)
        uids = box.resolve(parse_seqset(args[0]), uid)
        if req.changedsince is not None or "MODSEQ" in req.names:
            self.enable_condstore()
        if req.vanished:  # RFC 7162 3.2.6
            if not (uid and self.qresync and req.changedsince is not None):
                raise bad("VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled")
            top = max(box.info.uidnext - 1, box.uids[-1] if box.uids else 1, 1)
            asked = qresync.concrete(parse_seqset(args[0]), top, "UID set")
            line = qresync.earlier(box, req.changedsince, asked)
            if line is not None:
                self.untagged(line)
        streaming = self.fetch(box, uids, req, uid)
        if streaming is not None:
            return streaming.addCallback(lambda _: b"FETCH completed")
        return b"FETCH completed"

    def fetch(
        self, box: FolderMailbox, uids: list[int], req: FetchRequest, uid: bool
    ) -> defer.Deferred[None] | None:
        """Writes the FETCH responses; metadata-only answers in one pass, body answers over
        STREAM_AFTER messages through a producer (memory bounded by the socket's pace)."""
        if not uids:
            return None
        names = req.names
        cols = ["uid", "flags", "modseq", "internaldate", "size"]
        if (
            "BODYSTRUCTURE" in names
            or "BODY" in names
            and any(i.name == "BODY" and i.section is None for i in req.items)
        ):
            cols.append("bodystructure")
        header_only = all(
            i.section is None
            or (
                not i.section.part
                and i.section.text in ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT")
            )
            for i in req.items
        ) and not any(i.name in ("RFC822", "RFC822.TEXT") for i in req.items)
        needs_body = req.needs_body
        if "RFC822.HEADER" in names or (needs_body and header_only):
            cols.append("headers")
        if needs_body and not header_only:
            cols += ["subdir", "filename"]
        col = {c: i for i, c in enumerate(cols)}
        changed: set[int] = set()
        if box.readwrite and box.may("s") and any(i.sets_seen for i in req.items):
            unseen = [
                r[0]
                for r in query.rows(box.box, box.info.id, ["uid", "flags"], uids, req.changedsince)
                if "\\Seen" not in box.view(r[0], r[1]).split()
            ]
            if unseen:
                marked = box.mark_seen(unseen)
                changed = set(marked)
                self.service.hub.flags_changed(self, box.box.address, box.name, marked)
        rows = query.rows(box.box, box.info.id, cols, uids, req.changedsince)
        want_modseq = self.condstore and ("MODSEQ" in names or req.changedsince is not None)
        envelopes: dict[int, bytes] = {}
        if "ENVELOPE" in names:
            envelopes = self.service.envelopes(box.box, box.info)
            missing = [r[0] for r in rows if r[0] not in envelopes]
            if missing:
                for u, env_json in query.rows(box.box, box.info.id, ["uid", "envelope"], missing):
                    envelopes[u] = b"ENVELOPE " + render.envelope(json.loads(env_json))
        if "FLAGS" in names or changed:
            self.announce_keywords({r[1] for r in rows})  # FLAGS first (RFC 3501 7.2.6)
        lines = self._fetch_lines(
            box, rows, req, uid, col, envelopes, changed, header_only, want_modseq
        )
        if len(rows) > STREAM_META_AFTER or (
            needs_body and not header_only and len(rows) > STREAM_AFTER
        ):
            self.flush_out()  # untagged lines so far go before the streamed ones
            return _Streamer(self, lines).start()
        out = self._out
        for line in lines:
            out.append(line)
            if len(out) >= 512:
                self.flush_out()
        return None  # the rest goes with the tagged line (every caller flushes)

    def _fetch_lines(
        self,
        box: FolderMailbox,
        rows: list[Any],
        req: FetchRequest,
        uid: bool,
        col: dict[str, int],
        envelopes: dict[int, bytes],
        changed: set[int],
        header_only: bool,
        want_modseq: bool,
    ) -> Iterator[bytes]:
        names = req.names
        fdir = None
        for r in rows:
            u = r[0]
            seq = box.seq_of(u)
            if seq is None:
                continue
            flags_s, modseq = r[1], r[2]
            parts: list[bytes] = []
            if uid:
                parts.append(b"UID %d" % u)
            raw: bytes | None = None
            for item in req.items:
                n = item.name
                if n == "UID":
                    if not uid:
                        parts.append(b"UID %d" % u)
                elif n == "FLAGS":
                    parts.append(b"FLAGS " + self.flags_of(u, flags_s))
                elif n == "INTERNALDATE":
                    parts.append(render.internaldate_item(r[3]))
                elif n == "RFC822.SIZE":
                    parts.append(b"RFC822.SIZE %d" % r[4])
                elif n == "ENVELOPE":
                    parts.append(envelopes.get(u, b"ENVELOPE NIL"))
                elif n == "BODYSTRUCTURE":
                    parts.append(
                        b"BODYSTRUCTURE "
                        + render.bodystructure(json.loads(r[col["bodystructure"]]))
                    )
                elif n == "MODSEQ":
                    pass
                elif n == "RFC822.HEADER":
                    parts.append(b"RFC822.HEADER " + render.string(bytes(r[col["headers"]])))
                elif n == "BODY" and item.section is None:
                    parts.append(
                        b"BODY " + render.bodystructure(json.loads(r[col["bodystructure"]]), False)
                    )
                else:
                    if "headers" in col and header_only:
                        source = bytes(r[col["headers"]])
                    else:
                        if raw is None:
                            if fdir is None:
                                fdir = str(folder_dir(box.box.path, box.name))
                            path = os.path.join(fdir, r[col["subdir"]], r[col["filename"]])
                            raw = read_message(path, r[4])
                        source = raw
                    parts.append(self._section(item, source))
            if want_modseq or (self.condstore and u in changed):
                parts.append(b"MODSEQ (%d)" % modseq)
            if u in changed and "FLAGS" not in names:
                parts.append(b"FLAGS " + self.flags_of(u, flags_s))
            yield b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"

    def _section(self, item: FetchItem, raw: bytes) -> bytes:
        n = item.name
        if n == "RFC822":
            return b"RFC822 " + render.string(raw)
        if n == "RFC822.TEXT":
            ent = sections.Entity(raw)
            return b"RFC822.TEXT " + render.string(ent.body)
        assert item.section is not None
        spec = item.section.spec.encode("ascii", "replace")
        if n == "BODY":
            data = sections.extract(raw, item.section)
        else:  # BINARY, BINARY.SIZE (RFC 3516): the part's bytes decoded
            try:
                data = binary.part_data(raw, item.section.part)
            except binary.UnknownCte:
                raise no(binary.UNKNOWN_CTE) from None
            if n == "BINARY.SIZE":
                return b"BINARY.SIZE[" + spec + b"] %d" % len(data)
        label = n.encode() + b"[" + spec + b"]"
        if item.partial is not None:
            data = sections.partial(data, item.partial)
            label += b"<%d>" % item.partial[0]
        # literal8 only for what a literal cannot carry (RFC 3516 4.3: NUL)
        size = b"~{%d}\r\n" if n == "BINARY" and b"\0" in data else b"{%d}\r\n"
        return label + b" " + size % len(data) + data
