"""The SAM protocol of the second-generation ID-card reader, as bytes (domain.md 7.1). No I/O.

Frame: `AA AA AA 96 69 | LEN (2, big-endian) | body | CHK`. LEN counts the body and the checksum;
CHK is the XOR of every byte from the first LEN byte to the last body byte. A request's body is
`CMD PARA [data]`, a reply's is `SW1 SW2 SW3 [data]`.

The parsers are streaming: `feed(bytes)` returns the frames the bytes complete. They find the
header anywhere (bytes before it are line noise and are skipped and counted), and a frame whose
length is impossible or whose checksum is wrong comes out as a `GarbledReply` object in the list
(not raised: the caller decides), after which the search resumes one byte past that header, so a
real frame hidden inside the bad one is still found. They raise nothing and keep at most one
frame's worth of bytes, whatever they are fed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from .errors import GarbledReply, error_for

HEADER = b"\xAA\xAA\xAA\x96\x69"
MAX_LEN = 4096  # the longest real reply (base info + fingerprint) has LEN 0x090A = 2314


def checksum(data: bytes) -> int:
    """XOR of the bytes, folded in halves as one big integer: C speed, so a stream of false
    headers claiming the longest frame costs little to check (4 KB: ~7 µs; reduce(xor) took ~55 µs)."""
    x, width = int.from_bytes(data, "little"), len(data)
    while width > 1:
        half = (width + 1) // 2
        x = (x >> (8 * half)) ^ (x & ((1 << (8 * half)) - 1))
        width = half
    return x


def frame(body: bytes) -> bytes:
    """Wrap a body (request or reply) in header, length and checksum."""
    length = (len(body) + 1).to_bytes(2, "big")
    return HEADER + length + body + bytes([checksum(length + body)])


def request(cmd: int, para: int, data: bytes = b"") -> bytes:
    return frame(bytes([cmd, para]) + data)


def reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return frame(bytes([sw1, sw2, sw3]) + data)


# The commands of domain.md 7.1, as (CMD, PARA) and as the bytes sent.
RESET_SAM_CMD, SAM_STATUS_CMD, READ_SAM_ID_CMD = (0x10, 0xFF), (0x11, 0xFF), (0x12, 0xFF)
FIND_CARD_CMD, SELECT_CARD_CMD = (0x20, 0x01), (0x20, 0x02)
READ_BASE_CMD, READ_NEW_ADDRESS_CMD, READ_FINGERPRINT_CMD = (0x30, 0x01), (0x30, 0x03), (0x30, 0x10)

RESET_SAM = request(*RESET_SAM_CMD)
SAM_STATUS = request(*SAM_STATUS_CMD)
READ_SAM_ID = request(*READ_SAM_ID_CMD)
FIND_CARD = request(*FIND_CARD_CMD)
SELECT_CARD = request(*SELECT_CARD_CMD)
READ_BASE = request(*READ_BASE_CMD)          # text + photo
READ_NEW_ADDRESS = request(*READ_NEW_ADDRESS_CMD)
READ_FINGERPRINT = request(*READ_FINGERPRINT_CMD)  # text + photo + fingerprint


@dataclass(frozen=True)
class Reply:
    """One reply from the reader: status bytes and data (checksum already verified)."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return error_for(self.sw3) is None

    def check(self) -> "Reply":
        """Return self on success, raise the status's typed error otherwise."""
        error = error_for(self.sw3)
        if error is not None:
            raise error
        return self


@dataclass(frozen=True)
class Request:
    """One request to the reader, as the simulator sees it."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def command(self) -> tuple[int, int]:
        return (self.cmd, self.para)


class _FrameParser(ABC):
    min_len = 0  # the smallest LEN a frame of this direction can have

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0  # bytes thrown away: noise before a header, and the bad frames' first bytes

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def partial(self) -> bool:
        """A header has arrived and the rest of its frame has not (a reply cut short, if it stays so)."""
        return self._buf.startswith(HEADER)

    @abstractmethod
    def _make(self, body: bytes):
        """A checked frame's body as this direction's typed frame."""

    def feed(self, data: bytes) -> list:
        buf = self._buf
        buf += data
        out: list = []
        pos = 0
        while True:
            start = buf.find(HEADER, pos)
            if start < 0:
                keep = _header_prefix(buf, pos)
                self.skipped += len(buf) - pos - keep
                del buf[:len(buf) - keep]
                return out
            self.skipped += start - pos
            if len(buf) < start + 7:
                del buf[:start]
                return out
            length = int.from_bytes(buf[start + 5:start + 7], "big")
            if not self.min_len <= length <= MAX_LEN:
                out.append(GarbledReply("length", f"the ID-card reader sent a frame of impossible length {length}:"
                                                  " try again; if it keeps happening, check the cable"))
                self.skipped += 1
                pos = start + 1
                continue
            end = start + 7 + length
            if len(buf) < end:
                del buf[:start]
                return out
            if checksum(buf[start + 5:end - 1]) != buf[end - 1]:
                out.append(GarbledReply("checksum", "the ID-card reader's answer arrived garbled (bad checksum):"
                                                    " try again; if it keeps happening, check the cable"))
                self.skipped += 1
                pos = start + 1
                continue
            out.append(self._make(bytes(buf[start + 7:end - 1])))
            pos = end


def _header_prefix(buf: bytearray, pos: int) -> int:
    """Length of the longest tail of buf[pos:] that could be the start of a header."""
    for n in range(min(len(HEADER) - 1, len(buf) - pos), 0, -1):
        if buf.endswith(HEADER[:n]):
            return n
    return 0


class ReplyParser(_FrameParser):
    """Reader -> host: frames become `Reply`, bad frames `GarbledReply`."""

    min_len = 4  # SW1 SW2 SW3 CHK

    def _make(self, body: bytes) -> Reply:
        return Reply(body[0], body[1], body[2], body[3:])


class RequestParser(_FrameParser):
    """Host -> reader (the simulator's side): frames become `Request`, bad frames `GarbledReply`."""

    min_len = 3  # CMD PARA CHK

    def _make(self, body: bytes) -> Request:
        return Request(body[0], body[1], body[2:])
