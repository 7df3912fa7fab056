"""ESC/POS interpreter: the printer's page state, turning commands into tickets.

Fed bytes in any chunks, it returns events in order: `("status", n)` for each real-time status
request (the caller answers it from the device's state) and `("ticket", elements)` at each cut,
with everything printed since the previous cut. It follows a real printer where the ticket
depends on it: alignment is taken at the start of a line, `ESC @` drops the unprinted line and
resets the modes but not what is already on the paper, a line too long for the buffer wraps.
It never raises; unknown commands are kept (the last 100) in `unknown` for whoever asks.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from .elements import Element, Feed, QrCode, Raster, Run, TextLine
from .escpos import QR_MAX_DATA
from .parser import Command, Parser

MAX_LINE_BYTES = 1024       # a line buffer holds this much before the printer wraps it
MAX_ELEMENTS = 2000         # one ticket; beyond, the interpreter drops (a runaway stream)
MAX_TICKET_BYTES = 2 << 20  # text, QR and raster data of one ticket
LEVELS = "LMQH"


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
        self.unknown: deque[bytes] = deque(maxlen=100)
        self.elements: list[Element] = []
        self._size = 0
        self._modes()

    def _modes(self) -> None:
        """The state `ESC @` resets."""
        self.width, self.height, self.align, self.chinese = 1, 1, "left", False
        self.qr_module, self.qr_level, self.qr_data = 3, "L", b""
        self.line: list[list] = []  # [bytes, width, height, chinese] segments
        self.line_align, self.line_bytes = "left", 0

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for cmd in self.parser.feed(data):
            if cmd.op == "status":
                events.append(Event("status", cmd.arg))
            elif cmd.op == "cut":
                self._flush()
                events.append(Event("ticket", tuple(self.elements)))
                self.elements, self._size = [], 0
            else:
                self._apply(cmd)
        return events

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
        elif op == "unknown":
            self.unknown.append(arg)

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
        """Print the line buffer (a line feed prints an empty one as a blank line)."""
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
