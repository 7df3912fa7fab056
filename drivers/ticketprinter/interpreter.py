"""ESC/POS interpreter: the printer's page state, turning commands into tickets.

Fed bytes in any chunks, it returns events in order: `("status", n)` for each real-time status
request (the caller answers it from the device's state) and `("ticket", elements)` at each cut,
with everything printed since the previous cut. A real-time request is seen in the raw byte
stream, as a printer's receive buffer sees it: answered as soon as its third byte arrives, even
in the middle of another command's bytes (which, as on a printer, still take them as data);
the commands complete before it are applied first, so its answer tells their outcome.
Power-up state is a Chinese-market printer's: Chinese mode on (GB18030 text prints without
`FS &`), and `ESC @` returns to it (the printer's power-up settings, Chinese mode included). It follows a real printer where the ticket
depends on it: alignment is taken at the start of a line, `ESC @` drops the unprinted line and
resets the modes but not what is already on the paper, a line too long for the buffer wraps.
It never raises; unknown commands are kept (the last 100) in `unknown` for whoever asks.
"""

from __future__ import annotations

import re
from collections import deque
from typing import NamedTuple

from PIL import Image

from .elements import Barcode, Element, Feed, QrCode, Raster, Run, TextLine
from .escpos import QR_MAX_DATA
from .parser import COLUMN_BYTES, Command, Parser

MAX_LINE_BYTES = 1024       # a line buffer holds this much before the printer wraps it
MAX_ELEMENTS = 2000         # one ticket; beyond, the interpreter drops (a runaway stream)
MAX_TICKET_BYTES = 2 << 20  # text, QR and raster data of one ticket
LEVELS = "LMQH"
LINE_DOTS = 576             # an 80 mm printer's line: a bit image is cut there
REALTIME_STATUS = re.compile(rb"\x10\x04[\x01-\x04]")
# `ESC * m`: (horizontal, vertical) size of a dot in printer dots. The 8-dot modes are a third of
# the vertical density, the single-density modes half the horizontal one.
COLUMN_SCALE = {0: (2, 3), 1: (1, 3), 32: (2, 1), 33: (1, 1)}


class Event(NamedTuple):
    kind: str  # "status" or "ticket"
    value: object


def _decode(data: bytes, chinese: bool) -> str:
    s = data.decode("gb18030" if chinese else "cp437", errors="replace")
    if s.isprintable():
        return s
    return "".join(" " if ch == "\t" else ch for ch in s if ch.isprintable() or ch == "\t")


class Interpreter:
    def __init__(self) -> None:
        self.parser = Parser()
        self._recent = b""  # the last bytes received, for a real-time request split across chunks
        self.unknown: deque[bytes] = deque(maxlen=100)
        self.elements: list[Element] = []
        self._size = 0
        self._modes()

    def _modes(self) -> None:
        """The state `ESC @` resets."""
        self.width, self.height, self.align, self.chinese = 1, 1, "left", True
        self.qr_module, self.qr_level, self.qr_data = 3, "L", b""
        self.bc_module, self.bc_height, self.bc_hri = 3, 162, 0
        self.graphics: Raster | None = None  # GS ( L's buffer, printed by function 50
        self.line_image: Image.Image | None = None  # ESC * columns on the current line
        self.line: list[list] = []  # [bytes, width, height, chinese] segments
        self.line_align, self.line_bytes = "left", 0

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        joined = self._recent + data
        start = last = 0
        for m in REALTIME_STATUS.finditer(joined):
            end = m.end() - len(self._recent)  # a match ends inside `data`: _recent is 2 bytes at most
            self._commands(data[start:end], events)
            events.append(Event("status", joined[m.end() - 1]))
            start, last = end, m.end()
        self._commands(data[start:], events)
        self._recent = joined[max(len(joined) - 2, last):]  # a request's first bytes, maybe
        return events

    def _commands(self, data: bytes, events: list[Event]) -> None:
        for cmd in self.parser.feed(data):
            if cmd.op == "status":
                pass  # answered from the raw stream already
            elif cmd.op == "cut":
                self._flush()
                events.append(Event("ticket", tuple(self.elements)))
                self.elements, self._size = [], 0
            else:
                self._apply(cmd)

    def _apply(self, cmd: Command) -> None:
        op, arg = cmd
        if op == "text":
            self._text(arg)
        elif op == "lf":
            self._flush(empty_too=True)
        elif op == "init":
            self._modes()
        elif op == "align":
            self.align = arg
        elif op == "size":
            self.width, self.height = arg
        elif op == "cjk":
            self.chinese = arg
        elif op == "feed":
            self._flush()
            if arg:
                self._add(Feed(arg), 1)
        elif op == "qr":
            self._qr(*arg)
        elif op == "raster":
            m, x, y, data = arg
            self._flush()
            self._add(Raster(x, y, data, m, self.align), len(data))
        elif op == "columns":
            self._columns(*arg)
        elif op == "graphics":
            self._graphics(*arg)
        elif op == "barcode":
            self._barcode(*arg)
        elif op == "bcset":
            self._barcode_setting(*arg)
        elif op == "unknown":
            self.unknown.append(arg)

    def _barcode_setting(self, c: int, n: int) -> None:
        if c == 0x77 and 1 <= n <= 6:
            self.bc_module = n
        elif c == 0x68 and n >= 1:
            self.bc_height = n
        elif c == 0x48:
            self.bc_hri = n % 48 if n % 48 <= 3 else self.bc_hri

    def _barcode(self, kind: int, data: bytes) -> None:
        self._flush()
        self._add(Barcode(kind, data, self.bc_module, self.bc_height, self.bc_hri, self.align), len(data))

    def _columns(self, m: int, data: bytes) -> None:
        """`ESC *`: a band of columns, printed with the line at its line feed, beside any earlier band."""
        per = COLUMN_BYTES[m]
        sx, sy = COLUMN_SCALE[m]
        cols = min(len(data) // per, LINE_DOTS // sx)
        if not cols:
            return
        # Each column is a row of a (8 * per)-dot-wide image: turned, it is the band itself.
        img = Image.frombytes("1", (8 * per, cols), data[:cols * per]).transpose(Image.Transpose.TRANSPOSE)
        if (sx, sy) != (1, 1):
            img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
        if self.line_image is None:
            self.line_image = img
        elif self.line_image.width < LINE_DOTS:
            band = Image.new("1", (min(LINE_DOTS, self.line_image.width + img.width),
                                   max(self.line_image.height, img.height)), 0)
            band.paste(self.line_image, (0, 0))
            band.paste(img, (self.line_image.width, 0))
            self.line_image = band
        if not self.line:
            self.line_align = self.align

    def _graphics(self, fn: int, p: bytes) -> None:
        """`GS ( L`: function 112 stores a raster image (a bx by c xL xH yL yH data), 50 prints it."""
        if fn == 0x70:
            self.graphics = None
            if len(p) < 8 or p[0] not in (0x30, 0x34) or p[1] not in (1, 2) or p[2] not in (1, 2) or p[3] != 0x31:
                self.unknown.append(b"\x1d(L" + bytes((fn,)) + p[:8])
                return
            x, y = int.from_bytes(p[4:6], "little"), int.from_bytes(p[6:8], "little")
            xb = (x + 7) // 8
            if not (1 <= x <= LINE_DOTS * 2 and 1 <= y and len(p) - 8 >= xb * y):
                self.unknown.append(b"\x1d(L" + bytes((fn,)) + p[:8])
                return
            img = Image.frombytes("1", (xb * 8, y), p[8:8 + xb * y])
            if (p[1], p[2]) != (1, 1):
                img = img.resize((img.width * p[1], img.height * p[2]), Image.Resampling.NEAREST)
            self.graphics = _raster_of(img, self.align)
        elif self.graphics is not None:  # functions 2 and 50: print the buffer
            self._flush()
            g = self.graphics
            self._add(Raster(g.width_bytes, g.height, g.data, 0, self.align), len(g.data))

    def _text(self, data: bytes) -> None:
        while data:
            if not self.line:
                self.line_align = self.align
            part, data = data[:MAX_LINE_BYTES - self.line_bytes], data[MAX_LINE_BYTES - self.line_bytes:]
            key = [self.width, self.height, self.chinese]
            if self.line and self.line[-1][1:] == key:
                self.line[-1][0] += part
            else:
                self.line.append([part, *key])
            self.line_bytes += len(part)
            if self.line_bytes >= MAX_LINE_BYTES:
                self._flush()

    def _flush(self, empty_too: bool = False) -> None:
        """Print the line buffer (a line feed prints an empty one as a blank line; a line
        holding a bit image is as high as the image)."""
        if self.line_image is not None:
            img, self.line_image = self.line_image, None
            raster = _raster_of(img.crop((0, 0, min(img.width, LINE_DOTS), img.height)), self.line_align)
            self._add(raster, len(raster.data))
            if not self.line:
                return
            empty_too = False
        if not self.line and not empty_too:
            return
        runs: list[Run] = []
        for data, w, h, chinese in self.line:
            s = _decode(data, chinese)
            if runs and (runs[-1].width, runs[-1].height) == (w, h):
                runs[-1] = Run(runs[-1].text + s, w, h)
            elif s:
                runs.append(Run(s, w, h))
        align = self.line_align if self.line else self.align
        self._add(TextLine(tuple(r for r in runs if r.text), align), self.line_bytes)
        self.line, self.line_bytes = [], 0

    def _qr(self, fn: int, p: bytes) -> None:
        if fn == 0x43 and p and 1 <= p[0] <= 16:
            self.qr_module = p[0]
        elif fn == 0x45 and p and 0x30 <= p[0] <= 0x33:
            self.qr_level = LEVELS[p[0] - 0x30]
        elif fn == 0x50 and p[:1] == b"\x30":
            self.qr_data = p[1:] if len(p) - 1 <= QR_MAX_DATA else b""  # too long: nothing to print
        elif fn == 0x51 and p[:1] == b"\x30" and self.qr_data:
            self._flush()
            self._add(QrCode(self.qr_data, self.qr_module, self.qr_level, self.align), len(self.qr_data))
        elif fn not in (0x41, 0x43, 0x45, 0x50, 0x51, 0x52):
            self.unknown.append(bytes((0x1D, 0x28, 0x6B, 0x31, fn)))

    def _add(self, element: Element, size: int) -> None:
        if len(self.elements) >= MAX_ELEMENTS or self._size + size > MAX_TICKET_BYTES:
            if not self.unknown or self.unknown[-1] != b"<ticket too long>":
                self.unknown.append(b"<ticket too long>")
            return
        self.elements.append(element)
        self._size += size


def _raster_of(img: Image.Image, align: str) -> Raster:
    """A 1-bit image whose 1 bits are dots to print, as a Raster element (rows padded to bytes)."""
    xb = (img.width + 7) // 8
    if img.width != xb * 8:
        padded = Image.new("1", (xb * 8, img.height), 0)
        padded.paste(img, (0, 0))
        img = padded
    return Raster(xb, img.height, img.tobytes(), 0, align)
