"""The card printer's command set (Evolis-style, domain.md 7.2): pure bytes, no I/O.

A command is `ESC <name>;<p1>;...;<pn> CR`, in ASCII. The two downloads carry binary data
between their last `;` and the CR, whose length the header fixes: `Db;k;2;` is followed by one
whole panel (82,296 bytes), `Dbc;k;<line>;<len>;` by `len` bytes of compressed lines that go on
the panel from line `line` (0-based).

Answers: an action command gets ACK (06) or NAK (15) followed by one code byte; a query gets its
text (printable ASCII) ended by CR. Queries, four of 7.2 and two chosen here after Evolis'
`R..` read commands:
  `Rfv`   firmware version, e.g. `CABIN-SIM 1.0`
  `Rsn`   the printer's serial number, e.g. `CABIN-SIM-0001`: with the counter it tells, after a
          lost answer, whether the printer is still the one a job was sent to (driver.py)
  `Sk;f`  feeder: `0` cards present, `3` empty
  `Rst`   status: `READY`, or the status words that apply joined by `,`
          (COVER_OPEN, FEEDER_EMPTY, RIBBON_ENDED, NO_RIBBON, MECHANICAL_ERROR, HOPPER_FULL)
  `Rco;c` the printer's counter of cards printed and ejected (decimal); the driver's
          no-double-print rule stands on it (driver.py).

`ReplyParser` (host side) and `CommandParser` (printer side, for the simulator) are streaming:
bytes in any chunks, whole items out; garbage is dropped and counted, never raised, so a line
full of noise ends in the driver's timeout, not in a stray exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from .panel import LINES, PANEL_BYTES

ESC, CR, ACK, NAK = 0x1B, 0x0D, 0x06, 0x15
NACK_CODES = {"1": "command error", "2": "parameter error", "T": "timeout or mechanical error",
              "C": "cover open", "F": "feeder", "R": "ribbon"}
STATUS_WORDS = ("COVER_OPEN", "FEEDER_EMPTY", "RIBBON_ENDED", "NO_RIBBON", "MECHANICAL_ERROR", "HOPPER_FULL")
READY = "READY"
MAX_COMPRESSED = (1 + PANEL_BYTES // LINES) * LINES  # every line at its longest: 83,312 bytes
_MAX_HEAD = 64   # a command header is short; a longer run of text is noise
_MAX_TEXT = 256  # likewise for a query's answer


def command(name: str, *params: object) -> bytes:
    return b"\x1b" + ";".join([name, *map(str, params)]).encode("ascii") + b"\r"


# -- the commands of a job, and the queries ---------------------------------------------------
def set_ribbon(kind: str = "k") -> bytes: return command("Pr", kind)
def insert_card(source: str = "F", mode: str = "s") -> bytes: return command("Pmi", source, mode)
def set_contrast(value: int = 10, panel: str = "k", op: str = "=") -> bytes: return command("Pc", panel, op, value)
def sequence_start() -> bytes: return command("Ss")
def front() -> bytes: return command("Sr")
def sequence_end() -> bytes: return command("Se")
def firmware_version() -> bytes: return command("Rfv")
def feeder_status() -> bytes: return command("Sk", "f")
def read_status() -> bytes: return command("Rst")
def read_counter() -> bytes: return command("Rco", "c")
def read_serial() -> bytes: return command("Rsn")


def download(panel: bytes) -> bytes:
    """`Db;k;2;<panel>`: a whole uncompressed 1-bit panel (2 levels)."""
    if len(panel) != PANEL_BYTES:
        raise ValueError(f"a K panel is {PANEL_BYTES} bytes, not {len(panel)}")
    return b"\x1bDb;k;2;" + panel + b"\r"


def download_compressed(data: bytes, line: int = 0) -> bytes:
    """`Dbc;k;<line>;<len>;<data>`: compressed lines (panel.compress) from line `line` on."""
    return b"\x1b" + f"Dbc;k;{line};{len(data)};".encode("ascii") + data + b"\r"


def ack() -> bytes: return bytes([ACK])
def nack(code: str) -> bytes: return bytes([NAK]) + code.encode("ascii")
def text(value: str) -> bytes: return value.encode("ascii") + b"\r"


# -- answers, host side ------------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nack:
    code: str  # one of NACK_CODES

    @property
    def meaning(self) -> str:
        return NACK_CODES[self.code]


@dataclass(frozen=True)
class Text:
    text: str


Answer = Ack | Nack | Text


class ReplyParser:
    """Streaming parser of the printer's answers; `discarded` counts the bytes of noise."""

    def __init__(self) -> None:
        self._text: bytearray | None = None   # a query's answer being read
        self._skipping = False                 # in an overlong run of text: drop it up to its CR
        self._nak = False                      # a NAK waits for its code
        self.discarded = 0

    def _drop_text(self) -> None:
        if self._text:
            self.discarded += len(self._text)
        self._text = None

    def feed(self, data: bytes) -> list[Answer]:
        out: list[Answer] = []
        for b in data:
            if self._nak:
                self._nak = False
                if chr(b) in NACK_CODES:
                    out.append(Nack(chr(b)))
                    continue
                self.discarded += 1  # a NAK without a valid code: drop it, read b afresh
            if b == ACK:
                self._drop_text()
                self._skipping = False
                out.append(Ack())
            elif b == NAK:
                self._drop_text()
                self._skipping = False
                self._nak = True
            elif b == CR:
                if self._text:
                    out.append(Text(self._text.decode("ascii")))
                else:
                    self.discarded += 1
                self._text, self._skipping = None, False
            elif 0x20 <= b <= 0x7E and not self._skipping:
                self._text = self._text or bytearray()
                self._text.append(b)
                if len(self._text) > _MAX_TEXT:
                    self._drop_text()
                    self._skipping = True
            else:
                self._drop_text()
                self.discarded += 1
        return out


# -- commands, printer side --------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    name: str
    params: tuple[str, ...] = ()
    data: bytes | None = None  # the downloads' binary part


@dataclass(frozen=True)
class BadCommand:
    code: str    # the NACK code a printer answers it with: "1" unknown, "2" bad parameters
    reason: str


class CommandParser:
    """Streaming parser of what the host sends: whole `Command`s and `BadCommand`s out.

    A command cut short by another ESC, or a header with non-printable bytes, is dropped
    without an answer: a NACK sent then would arrive just before the answer to the next command
    and be taken for it."""

    def __init__(self) -> None:
        self._head: bytearray | None = None  # None: waiting for ESC
        self._need = 0                          # binary bytes still to read
        self._download: tuple[str, tuple[str, ...]] = ("", ())
        self._data = bytearray()
        self._ended: Command | None = None      # a whole download whose CR is due
        self.discarded = 0

    def feed(self, data: bytes) -> list[Command | BadCommand]:
        out: list[Command | BadCommand] = []
        i = 0
        while i < len(data):
            if self._need:
                take = data[i:i + self._need]
                self._data += take
                self._need -= len(take)
                i += len(take)
                if not self._need:
                    self._ended = Command(*self._download, bytes(self._data))
                continue
            b = data[i]
            i += 1
            if self._ended is not None:
                done, self._ended = self._ended, None
                if b == CR:
                    out.append(done)
                    continue
                out.append(BadCommand("2", f"{done.name}: more data than announced"))
            if b == ESC:
                if self._head:
                    self.discarded += len(self._head) + 1
                self._head = bytearray()
            elif self._head is None:
                self.discarded += 1
            elif b == CR:
                out.append(self._finish(self._head.decode("ascii")))
                self._head = None
            elif 0x20 <= b <= 0x7E and len(self._head) < _MAX_HEAD:
                self._head.append(b)
                if b == ord(";"):
                    bad = self._maybe_download(self._head.decode("ascii"))
                    if bad:
                        out.append(bad)
            else:
                self.discarded += len(self._head) + 2
                self._head = None
        return out

    @staticmethod
    def _finish(head: str) -> Command | BadCommand:
        name, *params = head.split(";")
        if not name:
            return BadCommand("1", "empty command")
        if name in ("Db", "Dbc"):
            return BadCommand("2", f"{name} without its data")
        return Command(name, tuple(params))

    def _maybe_download(self, head: str) -> BadCommand | None:
        """At each `;`: when a download's header is complete, switch to reading its data."""
        fields = head.split(";")[:-1]
        if fields[0] == "Db" and len(fields) == 3:
            if fields[1:] != ["k", "2"]:
                self._head = None
                return BadCommand("2", f"Db for panel {fields[1]!r} at {fields[2]!r} levels")
            length = PANEL_BYTES
        elif fields[0] == "Dbc" and len(fields) == 4:
            _, panel, line, size = fields
            if panel != "k" or not (line.isdigit() and size.isdigit()) or not 0 < int(size) <= MAX_COMPRESSED:
                self._head = None
                return BadCommand("2", f"Dbc with parameters {fields[1:]}")
            length = int(size)
        else:
            return None
        self._download = (fields[0], tuple(fields[1:]))
        self._need, self._data, self._head = length, bytearray(), None
        return None
