"""ESC/POS codec: the bytes of each command the ticket needs, and the real-time status replies.

Pure functions, no I/O (domain.md 7.3). The printer reads the text of the ticket in GB18030
inside Chinese mode; everything else here is a fixed command with small parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..errors import ProtocolError

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF = b"\n"
INIT = b"\x1b\x40"
CHINESE_ON, CHINESE_OFF = b"\x1c\x26", b"\x1c\x2e"
ALIGN = {"left": 0, "centre": 1, "right": 2}
QR_LEVEL = {"L": 0x30, "M": 0x31, "Q": 0x32, "H": 0x33}
QR_MAX_DATA = 7089  # the most a model 2 symbol holds (numeric, level L)
RASTER_MAX_X, RASTER_MAX_Y = 128, 4095  # bytes a row, rows: beyond any 80 mm printer
CUT = {"full": 0x00, "partial": 0x01}


def init() -> bytes:
    return INIT


def size(width: int = 1, height: int = 1) -> bytes:
    """`GS ! n`: character magnification, 1..8 in each direction."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} is outside 1..8")
    return bytes((GS, 0x21, (width - 1) << 4 | (height - 1)))


def align(where: str) -> bytes:
    return bytes((ESC, 0x61, ALIGN[where]))


def text(s: str) -> bytes:
    """Text without a line feed. Non-ASCII goes through Chinese mode as GB18030 (whose
    single bytes are ASCII, so ASCII alone needs no mode switch: four bytes saved a line).
    Printers sold in China start in Chinese mode, so `FS &` is redundant there; it is sent
    anyway (domain.md 7.3's documented form) so that a printer set to start without it, or
    left by someone else's `FS .`, prints the same ticket."""
    if s.isascii():
        return s.encode("ascii")
    return CHINESE_ON + s.encode("gb18030") + CHINESE_OFF


def line(s: str = "") -> bytes:
    return text(s) + LF


def qr(data: bytes, module: int = 6, level: str = "M") -> bytes:
    """Native QR code, model 2: select model, module size, error level, store, print."""
    if not 1 <= len(data) <= QR_MAX_DATA:
        raise ValueError(f"a QR code holds 1..{QR_MAX_DATA} bytes, not {len(data)}")
    if not 1 <= module <= 16:
        raise ValueError(f"QR module size {module} is outside 1..16")
    n = len(data) + 3  # pL pH count cn fn m and the data
    return b"".join((
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00",
        b"\x1d\x28\x6b\x03\x00\x31\x43" + bytes((module,)),
        b"\x1d\x28\x6b\x03\x00\x31\x45" + bytes((QR_LEVEL[level],)),
        b"\x1d\x28\x6b" + n.to_bytes(2, "little") + b"\x31\x50\x30" + data,
        b"\x1d\x28\x6b\x03\x00\x31\x51\x30",
    ))


def raster(image: Image.Image, mode: int = 0) -> bytes:
    """`GS v 0`: a 1-bit image, black dots printed. Rows are padded to whole bytes with white."""
    img = image.convert("1")
    x = (img.width + 7) // 8
    if not (1 <= x <= RASTER_MAX_X and 1 <= img.height <= RASTER_MAX_Y):
        raise ValueError(f"a raster image of {img.width}x{img.height} dots does not fit the printer")
    if img.width != x * 8:  # PIL pads rows with 0 bits, which would print black once inverted
        padded = Image.new("1", (x * 8, img.height), 1)
        padded.paste(img, (0, 0))
        img = padded
    data = img.tobytes().translate(INVERT)  # PIL: 1 = white; ESC/POS: 1 = print a dot
    return bytes((GS, 0x76, 0x30, mode)) + x.to_bytes(2, "little") + img.height.to_bytes(2, "little") + data


INVERT = bytes(b ^ 0xFF for b in range(256))


def feed(lines: int) -> bytes:
    """`ESC d n`: print what is buffered and feed n lines."""
    return bytes((ESC, 0x64, lines))


def cut(kind: str = "partial") -> bytes:
    return bytes((GS, 0x56, CUT[kind]))


# Real-time status: `DLE EOT n`, answered at once with one byte each, even while offline.
STATUS_PRINTER, STATUS_OFFLINE, STATUS_ERROR, STATUS_PAPER = 1, 2, 3, 4
STATUS_KINDS = (STATUS_PRINTER, STATUS_OFFLINE, STATUS_PAPER)
STATUS_REQUEST = b"".join(bytes((DLE, 0x04, n)) for n in STATUS_KINDS)
FIXED_BITS = 0x12  # bits 1 and 4 are always set: anything else is not a status byte


def status_request(n: int) -> bytes:
    return bytes((DLE, 0x04, n))


@dataclass(frozen=True)
class Status:
    offline: bool = False
    cover_open: bool = False
    paper_end_stop: bool = False
    error: bool = False
    paper_near_end: bool = False
    paper_out: bool = False

    @property
    def fault(self) -> str | None:
        """What stops printing, most specific first (an open cover also reads as paper out)."""
        if self.cover_open:
            return "cover_open"
        if self.paper_out or self.paper_end_stop:
            return "paper_out"
        if self.offline or self.error:
            return "offline"
        return None

    @property
    def summary(self) -> str:
        return self.fault or ("paper_near_end" if self.paper_near_end else "ready")


def decode_status(printer: int, offline_cause: int, paper: int) -> Status:
    """The replies to `10 04 01`, `10 04 02`, `10 04 04`, in that order."""
    for name, b in (("printer", printer), ("offline cause", offline_cause), ("paper", paper)):
        if not 0 <= b <= 0xFF or b & FIXED_BITS != FIXED_BITS:
            raise ProtocolError(f"the ticket printer sent {b:#04x} as its {name} status, which is not"
                                " an ESC/POS status byte: check the port's speed and the printer model")
    return Status(
        offline=bool(printer & 0x08),
        cover_open=bool(offline_cause & 0x04),
        paper_end_stop=bool(offline_cause & 0x20),
        error=bool(offline_cause & 0x40),
        paper_near_end=bool(paper & 0x0C),
        paper_out=bool(paper & 0x60),
    )


def encode_status(kind: int, s: Status) -> int:
    """The byte a printer in state `s` answers to `DLE EOT kind` (the simulator's side)."""
    b = FIXED_BITS
    if kind == STATUS_PRINTER:
        b |= 0x08 * s.offline
    elif kind == STATUS_OFFLINE:
        b |= 0x04 * s.cover_open | 0x20 * s.paper_end_stop | 0x40 * s.error
    elif kind == STATUS_ERROR:
        # The error cause agrees with the offline cause's error bit: an error that only
        # switching the printer off and on clears (bit 3, unrecoverable), as the driver says.
        b |= 0x08 * s.error
    elif kind == STATUS_PAPER:
        b |= 0x0C * s.paper_near_end | 0x60 * s.paper_out
    return b


class StatusParser:
    """Frames the three one-byte replies to STATUS_REQUEST (a drivers.link.StreamParser)."""

    def __init__(self, count: int = len(STATUS_KINDS)):
        self.count, self.buf = count, bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        if len(self.buf) < self.count:
            return []
        frame, self.buf = bytes(self.buf[:self.count]), self.buf[self.count:]
        return [frame]
