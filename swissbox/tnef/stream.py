"""TNEF attribute stream ([MS-OXTNEF] 2.1.3): signature, key, then checksummed attributes.

``read_stream(data)`` returns the key and the list of attributes; it checks every length and
checksum and raises ``TnefError`` (or, in lenient mode, records a warning and keeps going).
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field
from itertools import chain
from zlib import adler32

from .errors import Budget, TnefError

SIGNATURE = 0x223E9F78

LVL_MESSAGE = 0x01
LVL_ATTACHMENT = 0x02

# Attribute types (high word of the attribute id).
ATP_TRIPLES = 0x0000
ATP_STRING = 0x0001
ATP_TEXT = 0x0002
ATP_DATE = 0x0003
ATP_SHORT = 0x0004
ATP_LONG = 0x0005
ATP_BYTE = 0x0006
ATP_WORD = 0x0007
ATP_DWORD = 0x0008

# Attribute ids (low word); the names follow [MS-OXTNEF] 2.1.3.2.
ATT_OWNER = 0x0000
ATT_SENT_FOR = 0x0001
ATT_DELEGATE = 0x0002
ATT_DATE_START = 0x0006
ATT_DATE_END = 0x0007
ATT_AID_OWNER = 0x0008
ATT_REQUEST_RES = 0x0009
ATT_FROM = 0x8000
ATT_SUBJECT = 0x8004
ATT_DATE_SENT = 0x8005
ATT_DATE_RECD = 0x8006
ATT_MESSAGE_STATUS = 0x8007
ATT_MESSAGE_CLASS = 0x8008
ATT_MESSAGE_ID = 0x8009
ATT_PARENT_ID = 0x800A
ATT_CONVERSATION_ID = 0x800B
ATT_BODY = 0x800C
ATT_PRIORITY = 0x800D
ATT_ATTACH_DATA = 0x800F
ATT_ATTACH_TITLE = 0x8010
ATT_ATTACH_META_FILE = 0x8011
ATT_ATTACH_CREATE_DATE = 0x8012
ATT_ATTACH_MODIFY_DATE = 0x8013
ATT_DATE_MODIFIED = 0x8020
ATT_ATTACH_TRANSPORT_FILENAME = 0x9001
ATT_ATTACH_REND_DATA = 0x9002
ATT_MSG_PROPS = 0x9003
ATT_RECIP_TABLE = 0x9004
ATT_ATTACHMENT = 0x9005
ATT_TNEF_VERSION = 0x9006
ATT_OEM_CODEPAGE = 0x9007
ATT_ORIGINAL_MESSAGE_CLASS = 0x0006

ATTRIBUTE_NAMES = {
    ATT_OWNER: "attOwner",
    ATT_SENT_FOR: "attSentFor",
    ATT_DELEGATE: "attDelegate",
    ATT_DATE_START: "attDateStart",
    ATT_DATE_END: "attDateEnd",
    ATT_AID_OWNER: "attAidOwner",
    ATT_REQUEST_RES: "attRequestRes",
    ATT_FROM: "attFrom",
    ATT_SUBJECT: "attSubject",
    ATT_DATE_SENT: "attDateSent",
    ATT_DATE_RECD: "attDateRecd",
    ATT_MESSAGE_STATUS: "attMessageStatus",
    ATT_MESSAGE_CLASS: "attMessageClass",
    ATT_MESSAGE_ID: "attMessageID",
    ATT_PARENT_ID: "attParentID",
    ATT_CONVERSATION_ID: "attConversationID",
    ATT_BODY: "attBody",
    ATT_PRIORITY: "attPriority",
    ATT_ATTACH_DATA: "attAttachData",
    ATT_ATTACH_TITLE: "attAttachTitle",
    ATT_ATTACH_META_FILE: "attAttachMetaFile",
    ATT_ATTACH_CREATE_DATE: "attAttachCreateDate",
    ATT_ATTACH_MODIFY_DATE: "attAttachModifyDate",
    ATT_DATE_MODIFIED: "attDateModified",
    ATT_ATTACH_TRANSPORT_FILENAME: "attAttachTransportFilename",
    ATT_ATTACH_REND_DATA: "attAttachRendData",
    ATT_MSG_PROPS: "attMsgProps",
    ATT_RECIP_TABLE: "attRecipTable",
    ATT_ATTACHMENT: "attAttachment",
    ATT_TNEF_VERSION: "attTnefVersion",
    ATT_OEM_CODEPAGE: "attOemCodepage",
}

_HEADER = struct.Struct("<BIL")  # level, attribute id (type << 16 | id), length
_U16 = struct.Struct("<H")
_SPAN = 64 * 256  # bytes checksummed per struct unpack: 64 blocks of 256
_SPANS = struct.Struct("256s" * 64).iter_unpack
_BLOCKS = struct.Struct("256s").iter_unpack
_FIRST = operator.itemgetter(0)


@dataclass(slots=True)
class Attribute:
    """One TNEF attribute: level, id (low word), type (high word), payload and its offset.

    The payload is ``stream[start:end]``: ``view`` shows it without a copy (property lists
    are walked in place), ``data`` copies it out as bytes on first use.
    """

    level: int
    id: int
    type: int
    stream: bytes = field(repr=False)
    start: int
    end: int
    offset: int
    _data: bytes | None = field(default=None, repr=False)

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self.stream[self.start : self.end]
        return self._data

    @property
    def view(self) -> memoryview:
        return memoryview(self.stream)[self.start : self.end]

    @property
    def name(self) -> str:
        return ATTRIBUTE_NAMES.get(self.id, f"att0x{self.id:04X}")


def checksum(data: bytes | memoryview) -> int:
    """The attribute checksum: the sum of the payload bytes modulo 65536.

    zlib's Adler-32 does the summing: its low half is 1 + the byte sum modulo 65521, and the
    sum of at most 256 bytes is at most 65280, so for such a block it is exact. Larger
    payloads are summed one 256-byte block at a time (cut 64 blocks at a time by ``struct``).
    """
    size = len(data)
    if size <= 256:
        return (adler32(data) & 0xFFFF) - 1
    view = memoryview(data)
    bulk = size - size % _SPAN
    whole = size - size % 256
    blocks = chain(
        chain.from_iterable(_SPANS(view[:bulk])),
        map(_FIRST, _BLOCKS(view[bulk:whole])),
        (view[whole:],),  # the last, partial block (maybe empty: its Adler-32 is 1)
    )
    # Each block adds 1 to its Adler-32; the high halves are multiples of 65536 and drop out.
    total = sum(map(adler32, blocks)) - (whole // 256 + 1)
    return total & 0xFFFF


def read_stream(
    data: bytes, budget: Budget, *, lenient: bool = False, base: int = 0
) -> tuple[int, list[Attribute]]:
    """Split a TNEF stream into attributes; ``base`` shifts reported offsets (nested streams)."""
    size = len(data)
    if size > budget.limits.max_input:
        raise TnefError(f"input of {size} bytes exceeds the limit of {budget.limits.max_input}")
    if size < 6:
        raise TnefError(f"truncated: {size} bytes is too short for a TNEF header", base)
    (signature,) = struct.unpack_from("<I", data, 0)
    if signature != SIGNATURE:
        raise TnefError(f"bad TNEF signature 0x{signature:08X} (expected 0x{SIGNATURE:08X})", base)
    (key,) = _U16.unpack_from(data, 4)
    attributes: list[Attribute] = []
    offset = 6
    max_attributes = budget.limits.max_attributes
    # Per stream, and across nested (embedded) streams together.
    limit = min(max_attributes, max_attributes * 4 - budget.attributes)
    view = memoryview(data)
    unpack_header = _HEADER.unpack_from
    unpack_u16 = _U16.unpack_from
    while offset < size:
        if size - offset < 11:
            _trailing(budget, size - offset, base + offset)
            break
        level, attr_id, length = unpack_header(data, offset)
        start = offset + 9
        end = start + length
        if level not in (LVL_MESSAGE, LVL_ATTACHMENT):
            # Mid-stream this is damage, not a harmless tail: strict mode refuses it (so that
            # nothing is delivered half-decoded); lenient mode keeps what came before.
            if not lenient or not attributes:
                raise TnefError(f"bad attribute level {level}", base + offset)
            _trailing(budget, size - offset, base + offset)
            break
        if end + 2 > size:
            message = (
                f"attribute 0x{attr_id:08X} length {length} runs past the end of the data "
                f"({size - start} bytes left)"
            )
            if lenient and attributes:
                budget.warnings.append(f"{message} at offset {base + offset}; stopped there")
                break
            raise TnefError(message, base + offset)
        (stored,) = unpack_u16(data, end)
        if stored != checksum(view[start:end]):
            message = f"checksum mismatch in attribute 0x{attr_id:08X}"
            if not lenient:
                raise TnefError(message, base + offset)
            budget.warnings.append(f"{message} at offset {base + offset}")
        if len(attributes) >= limit:
            raise TnefError(f"more than {max_attributes} attributes", base + offset)
        attributes.append(
            Attribute(level, attr_id & 0xFFFF, attr_id >> 16, data, start, end, base + offset)
        )
        offset = end + 2
    budget.attributes += len(attributes)
    return key, attributes


def _trailing(budget: Budget, count: int, offset: int) -> None:
    """Bytes after the last complete attribute: a warning (as the reference tools do)."""
    budget.warnings.append(f"ignored {count} bytes of trailing data at offset {offset}")
