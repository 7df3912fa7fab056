"""Streaming ESC/POS command parser: bytes in any chunks, commands out, no I/O.

A printer never rejects its input: what it does not know it skips, so this parser never
raises. Unknown commands come out as `unknown` so the simulator can show them. A partial
command waits for the rest of its bytes; text goes out as soon as it arrives (its multi-byte
characters are put back together by whoever joins the text of a line). The only bytes held
back are one incomplete command, at most MAX_PENDING of them: memory stays bounded whatever
comes down the line.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .escpos import DLE, ESC, FS, GS, RASTER_MAX_X, RASTER_MAX_Y


class Command(NamedTuple):
    op: str  # text lf init align size cjk feed cut status qr raster columns graphics barcode bcset ignored unknown
    arg: object = None


MAX_PENDING = 8 + RASTER_MAX_X * RASTER_MAX_Y  # the largest command: a full-size raster image
CONTROL = frozenset((0x0A, DLE, ESC, FS, GS))  # bytes that end a run of text
NEXT_CONTROL = re.compile(rb"[\n\x10\x1b\x1c\x1d]")

# Commands of known length that the ticket does not draw (bold, line spacing, code tables, ...):
# skipped whole, so their parameters are not mistaken for text.
ESC_LEN = {0x40: 0, 0x61: 1, 0x64: 1, 0x21: 1, 0x45: 1, 0x2D: 1, 0x32: 0, 0x33: 1, 0x4A: 1,
           0x4D: 1, 0x74: 1, 0x52: 1, 0x7B: 1, 0x47: 1, 0x56: 1, 0x70: 3, 0x63: 2, 0x20: 1,
           0x55: 1, 0x24: 2, 0x5C: 2, 0x65: 1, 0x72: 1, 0x69: 0, 0x6D: 0}
GS_LEN = {0x21: 1, 0x42: 1, 0x48: 1, 0x66: 1, 0x68: 1, 0x77: 1, 0x4C: 2, 0x57: 2, 0x61: 1,
          0x62: 1, 0x49: 1, 0x72: 1}
FS_LEN = {0x26: 0, 0x2E: 0, 0x21: 1, 0x2D: 1, 0x53: 2, 0x57: 1, 0x43: 1}
CUT_WITH_FEED = frozenset((65, 66, 97, 98, 103, 104))  # `GS V m n`: one more byte
COLUMN_BYTES = {0: 1, 1: 1, 32: 3, 33: 3}  # `ESC * m`: bytes a column (8-dot or 24-dot modes)
BARCODE_A = frozenset(range(0, 7))         # `GS k m d1..dk NUL`
BARCODE_B = frozenset(range(65, 79))       # `GS k m n d1..dn`
BARCODE_A_MAX = 255                        # a NUL-terminated barcode longer than this is not one
BARCODE_SETTINGS = frozenset((0x48, 0x66, 0x68, 0x77))  # GS H (HRI), f (HRI font), h (height), w (module)
GRAPHICS_FUNCTIONS = frozenset((0x02, 0x32, 0x70))      # GS ( L: print (2 or 50), store raster (112)


class Parser:
    def __init__(self) -> None:
        self.pending = bytearray()

    def feed(self, data: bytes) -> list[Command]:
        buf = self.pending
        buf += data
        out: list[Command] = []
        i = 0
        while i < len(buf):
            step = self._one(buf, i, out)
            if step == 0:  # an incomplete command: wait for more bytes
                break
            i += step
        del buf[:i]
        return out

    def _one(self, buf: bytearray, i: int, out: list[Command]) -> int:
        """Parse one command or run of text at buf[i]; its length, or 0 if incomplete."""
        b = buf[i]
        if b not in CONTROL:
            m = NEXT_CONTROL.search(buf, i)
            j = m.start() if m else len(buf)
            out.append(Command("text", bytes(buf[i:j])))
            return j - i
        if b == 0x0A:
            out.append(Command("lf"))
            return 1
        if i + 1 >= len(buf):
            return 0
        c = buf[i + 1]
        if b == DLE:
            return self._dle(buf, i, c, out)
        if b == ESC and c == 0x2A:
            return self._columns(buf, i, out)
        if b == ESC:
            return self._fixed(buf, i, c, ESC_LEN, out, self._esc)
        if b == FS:
            return self._fixed(buf, i, c, FS_LEN, out, self._fs)
        if c == 0x76:
            return self._raster(buf, i, out)
        if c == 0x28:
            return self._gs_paren(buf, i, out)
        if c == 0x56:
            return self._cut(buf, i, out)
        if c == 0x6B:
            return self._barcode(buf, i, out)
        if c == 0x38:
            return self._gs8(buf, i, out)
        return self._fixed(buf, i, c, GS_LEN, out, self._gs)

    @staticmethod
    def _dle(buf, i, c, out) -> int:
        if c != 0x04:  # a lone DLE is no command: drop it and read on
            return 1
        if i + 2 >= len(buf):
            return 0
        n = buf[i + 2]
        if n in (1, 2, 3, 4):
            out.append(Command("status", n))
        elif n == 7:  # `DLE EOT 7 a` (ink status) has one more byte
            if i + 3 >= len(buf):
                return 0
            out.append(Command("ignored", bytes(buf[i:i + 4])))
            return 4
        else:
            out.append(Command("unknown", bytes(buf[i:i + 3])))
        return 3

    @staticmethod
    def _fixed(buf, i, c, table, out, interpret) -> int:
        if c not in table:  # length unknown: skip the two bytes, what follows reads as text
            out.append(Command("unknown", bytes(buf[i:i + 2])))
            return 2
        n = 2 + table[c]
        if i + n > len(buf):
            return 0
        out.append(interpret(c, buf[i + 2:i + n]) or Command("ignored", bytes(buf[i:i + n])))
        return n

    @staticmethod
    def _esc(c, p) -> Command | None:
        if c == 0x40:
            return Command("init")
        if c == 0x61 and p[0] in (0, 1, 2, 48, 49, 50):
            return Command("align", ("left", "centre", "right")[p[0] % 48])
        if c == 0x64:
            return Command("feed", p[0])
        if c == 0x21:  # print mode: bit 4 double height, bit 5 double width
            return Command("size", (2 if p[0] & 0x20 else 1, 2 if p[0] & 0x10 else 1))
        if c in (0x69, 0x6D):  # the old one-byte cuts
            return Command("cut", 0)
        return None

    @staticmethod
    def _fs(c, p) -> Command | None:
        if c in (0x26, 0x2E):
            return Command("cjk", c == 0x26)
        return None

    @staticmethod
    def _gs(c, p) -> Command | None:
        if c == 0x21 and p[0] & 0x88 == 0:  # nibbles above 7 are not sizes: ignored
            return Command("size", ((p[0] >> 4) + 1, (p[0] & 0x0F) + 1))
        if c in BARCODE_SETTINGS:
            return Command("bcset", (c, p[0]))
        return None

    @staticmethod
    def _columns(buf, i, out) -> int:
        """`ESC * m nL nH d...`: a bit image of nL + 256 nH columns, top dot in each byte's MSB."""
        if i + 5 > len(buf):
            return 0
        m = buf[i + 2]
        if m not in COLUMN_BYTES:  # no length to go by: skip the header, the data reads as text
            out.append(Command("unknown", bytes(buf[i:i + 3])))
            return 3
        n = 5 + int.from_bytes(buf[i + 3:i + 5], "little") * COLUMN_BYTES[m]
        if i + n > len(buf):
            return 0
        out.append(Command("columns", (m, bytes(buf[i + 5:i + n]))))
        return n

    @staticmethod
    def _barcode(buf, i, out) -> int:
        """`GS k m`: form A ends its data with NUL, form B gives its length first."""
        if i + 3 > len(buf):
            return 0
        m = buf[i + 2]
        if m in BARCODE_A:
            end = buf.find(0, i + 3, i + 4 + BARCODE_A_MAX)
            if end < 0:
                if len(buf) - (i + 3) <= BARCODE_A_MAX:
                    return 0
                out.append(Command("unknown", bytes(buf[i:i + 3])))  # no NUL in reach: not a barcode
                return 3
            out.append(Command("barcode", (m, bytes(buf[i + 3:end]))))
            return end + 1 - i
        if m in BARCODE_B:
            if i + 4 > len(buf):
                return 0
            n = 4 + buf[i + 3]
            if i + n > len(buf):
                return 0
            out.append(Command("barcode", (m - 65, bytes(buf[i + 4:i + n]))))
            return n
        out.append(Command("unknown", bytes(buf[i:i + 3])))
        return 3

    @staticmethod
    def _gs8(buf, i, out) -> int:
        """`GS 8 L p1..p4 m fn ...`: GS ( L with a four-byte length, for large graphics."""
        if i + 3 > len(buf):
            return 0
        if buf[i + 2] != 0x4C:
            out.append(Command("unknown", bytes(buf[i:i + 3])))
            return 3
        if i + 7 > len(buf):
            return 0
        size = int.from_bytes(buf[i + 3:i + 7], "little")
        if size > MAX_PENDING:  # more than any image the paper takes: drop the header only
            out.append(Command("unknown", bytes(buf[i:i + 7])))
            return 7
        n = 7 + size
        if i + n > len(buf):
            return 0
        body = bytes(buf[i + 7:i + n])
        if len(body) >= 2 and body[1] in GRAPHICS_FUNCTIONS:
            out.append(Command("graphics", (body[1], body[2:])))
        else:
            out.append(Command("ignored", bytes(buf[i:i + 7])))
        return n

    @staticmethod
    def _cut(buf, i, out) -> int:
        if i + 2 >= len(buf):
            return 0
        m = buf[i + 2]
        n = 4 if m in CUT_WITH_FEED else 3
        if i + n > len(buf):
            return 0
        known = m in (0, 1, 48, 49) or m in CUT_WITH_FEED
        out.append(Command("cut", m) if known else Command("unknown", bytes(buf[i:i + n])))
        return n

    @staticmethod
    def _raster(buf, i, out) -> int:
        if i + 8 > len(buf):
            return 0
        if buf[i + 2] != 0x30:
            out.append(Command("unknown", bytes(buf[i:i + 3])))
            return 3
        m = buf[i + 3]
        x = int.from_bytes(buf[i + 4:i + 6], "little")
        y = int.from_bytes(buf[i + 6:i + 8], "little")
        if m not in (0, 1, 2, 3, 48, 49, 50, 51) or not (1 <= x <= RASTER_MAX_X and 1 <= y <= RASTER_MAX_Y):
            # Out of range: the printer ignores the header, and so its data reads as text.
            out.append(Command("unknown", bytes(buf[i:i + 8])))
            return 8
        n = 8 + x * y
        if i + n > len(buf):
            return 0
        out.append(Command("raster", (m % 48, x, y, bytes(buf[i + 8:i + n]))))
        return n

    @staticmethod
    def _gs_paren(buf, i, out) -> int:
        """`GS ( fn pL pH ...`: every function says its own length, so even unknown ones skip
        cleanly. Function k, cn 0x31 is the QR code; function L, the graphics buffer."""
        if i + 5 > len(buf):
            return 0
        n = 5 + int.from_bytes(buf[i + 3:i + 5], "little")
        if i + n > len(buf):
            return 0
        body = bytes(buf[i + 5:i + n])
        if buf[i + 2] == 0x6B and len(body) >= 2 and body[0] == 0x31:
            out.append(Command("qr", (body[1], body[2:])))
        elif buf[i + 2] == 0x4C and len(body) >= 2 and body[1] in GRAPHICS_FUNCTIONS:
            out.append(Command("graphics", (body[1], body[2:])))  # body[0] is m, always 48
        else:
            out.append(Command("ignored", bytes(buf[i:i + 5])))
        return n
