"""The card printer's command set (Evolis, domain.md 7.2, as the Evolis Programming Guide A5013
has it): pure bytes, no I/O.

A command is `ESC <name>;<p1>;...;<pn> CR`, in ASCII. The downloads carry binary data between
their last `;` and the CR, whose length the header fixes; these are the only download forms:
  `Db;<panel>;<resol>;<data>`                             raw: one whole panel
  `Dbc;<panel>;<resol>;<nb_bytes>;<data>`                 compressed, from the first line
  `Dbc;<panel>;<resol>;<first_line>;<nb_bytes>;<data>`    compressed, from line first_line (0..1015)
with panel `k` (black resin) or `o` (overlay) at resolution `2` (one bit a dot: 82,296 bytes a
raw panel), or `y`/`m`/`c` at `32`, `64` or `128` levels (5, 6 or 7 bits a dot, as modelled:
411,480 / 493,776 / 576,072 bytes a raw panel). The two `Dbc` forms share their first four fields;
a reader tells them apart by what follows the fourth `;`: one to six ASCII digits and a `;` is the
first-line form, anything else is data. So a sender never sends the short form when the data
itself starts like that (`download_compressed` switches to `first_line` 0 then: K/O data whose
first line keeps 48 to 57 bytes that start with digits and a `;`).

Answers, in ACK/NACK mode (`Pem;4`, which keeps the error management; a job sends it first): an
action command gets ACK (06) or NACK (15) followed by one code byte (1 command error,
2 parameter error, T timeout/mechanical, C cover open, F feeder, R ribbon); a query gets its
text (printable ASCII) ended by CR. The queries, as integrators send them to real printers
(domain.md 7.2), and their answers here (the words domain.md does not fix are as modelled):
  `Rlr;p`  card position: `OK` no card inside, `CARD` at the print position, `SMART CARD`,
           `CONTACTLESS CARD` at the encoders
  `Rse;o`  cover sensor: `OPEN` / `CLOSED` (as modelled)
  `Rse;f`  feeder sensor: `EMPTY` / `CARDS` (as modelled)
  `Sk;f`   feeder: `0` not empty, `1`/`2` feeder 1/2 empty, `3` empty
  `Rcr`    ribbon: `K <panels left>`, `END OF RIBBON`, `NO RIBBON` (as modelled)
  `Rlr;c`  cleaning: `CLEANING NEEDED` / `OK` (as modelled)
  `Rco;p`  panels printed, `Rco;c` cards inserted (a card counts when it leaves the feeder, even
           if it then jams): decimal
  `Rfv`, `Rtp`, `Rsn`  firmware version, model, serial number
There is no `Rst`: a printer answers it NACK 1 like any unknown command.

`ReplyParser` (host side) and `CommandParser` (printer side, for the simulator) are streaming:
bytes in any chunks, whole items out; garbage is dropped and counted, never raised, so a line
full of noise ends in the driver's timeout, not in a stray exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .panel import DOTS, LINE_BYTES, LINES, PANEL_BYTES

ESC, CR, ACK, NAK = 0x1B, 0x0D, 0x06, 0x15
NACK_CODES = {"1": "command error", "2": "parameter error", "T": "timeout or mechanical error",
              "C": "cover open", "F": "feeder", "R": "ribbon"}
# what status() makes of the answers (driver.py); faults.py maps each to what the clerk does
STATUS_WORDS = ("COVER_OPEN", "FEEDER_EMPTY", "RIBBON_ENDED", "NO_RIBBON", "CARD_INSIDE")
READY = "READY"
# the answers' texts (module docstring)
NO_CARD, CARD_AT_PRINT = "OK", "CARD"
POSITIONS = (NO_CARD, CARD_AT_PRINT, "SMART CARD", "CONTACTLESS CARD")
COVER_OPEN, COVER_CLOSED = "OPEN", "CLOSED"
FEEDER_EMPTY, FEEDER_CARDS = "EMPTY", "CARDS"
END_OF_RIBBON, NO_RIBBON = "END OF RIBBON", "NO RIBBON"
CLEANING_NEEDED, CLEAN = "CLEANING NEEDED", "OK"
# the downloads: panel -> the resolutions it takes -> the bytes of one raw panel
MONO_PANELS, COLOUR_PANELS = ("k", "o"), ("y", "m", "c")
_COLOUR_BITS = {"32": 5, "64": 6, "128": 7}
RAW_BYTES = {**{(p, "2"): PANEL_BYTES for p in MONO_PANELS},
             **{(p, r): DOTS * LINES * bits // 8 for p in COLOUR_PANELS for r, bits in _COLOUR_BITS.items()}}
MAX_COMPRESSED = (1 + LINE_BYTES) * LINES  # every K/O line at its longest: 83,312 bytes
_FIRST_LINE_HEAD = re.compile(rb"[0-9]{1,6};")  # what a reader takes for the first-line form
_MAX_HEAD = 64   # a command header is short; a longer run of text is noise
_MAX_TEXT = 256  # likewise for a query's answer


def command(name: str, *params: object) -> bytes:
    return b"\x1b" + ";".join([name, *map(str, params)]).encode("ascii") + b"\r"


# -- the commands of a job, and the queries ---------------------------------------------------
def ack_mode() -> bytes: return command("Pem", 4)   # error management kept, ACK/NACK on
def set_ribbon(kind: str = "k") -> bytes: return command("Pr", kind)
def insert_card(source: str = "F", mode: str = "s") -> bytes: return command("Pmi", source, mode)
def set_contrast(value: int = 10, panel: str = "k", op: str = "=") -> bytes: return command("Pc", panel, op, value)
def sequence_start() -> bytes: return command("Ss")
def front() -> bytes: return command("Sr")
def back() -> bytes: return command("Sv")
def sequence_end() -> bytes: return command("Se")
def card_position() -> bytes: return command("Rlr", "p")
def cover_sensor() -> bytes: return command("Rse", "o")
def feeder_sensor() -> bytes: return command("Rse", "f")
def feeder_status() -> bytes: return command("Sk", "f")
def ribbon() -> bytes: return command("Rcr")
def cleaning() -> bytes: return command("Rlr", "c")
def panels_printed() -> bytes: return command("Rco", "p")
def cards_inserted() -> bytes: return command("Rco", "c")
def firmware_version() -> bytes: return command("Rfv")
def model() -> bytes: return command("Rtp")
def read_serial() -> bytes: return command("Rsn")


def _check_panel(panel: str, resol: object) -> int:
    size = RAW_BYTES.get((panel, str(resol)))
    if size is None:
        raise ValueError(f"no download for panel {panel!r} at resolution {resol!r}")
    return size


def download(data: bytes, panel: str = "k", resol: int = 2) -> bytes:
    """`Db;<panel>;<resol>;<data>`: one whole raw panel."""
    size = _check_panel(panel, resol)
    if len(data) != size:
        raise ValueError(f"a raw {panel} panel at {resol} is {size} bytes, not {len(data)}")
    return b"\x1b" + f"Db;{panel};{resol};".encode("ascii") + data + b"\r"


def download_compressed(data: bytes, panel: str = "k", resol: int = 2, first_line: int | None = None) -> bytes:
    """`Dbc;<panel>;<resol>;<nb_bytes>;<data>`, or with `first_line` (0..1015) the form that puts
    the lines from that line on. The short form is sent only when its data cannot be read as the
    first-line form's header (module docstring); otherwise the first-line form from line 0."""
    _check_panel(panel, resol)
    if first_line is None and _FIRST_LINE_HEAD.match(data[:7]):
        first_line = 0
    if first_line is None:
        head = f"Dbc;{panel};{resol};{len(data)};"
    elif 0 <= first_line < LINES:
        head = f"Dbc;{panel};{resol};{first_line};{len(data)};"
    else:
        raise ValueError(f"the first line is 0 to {LINES - 1}, not {first_line}")
    return b"\x1b" + head.encode("ascii") + data + b"\r"


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
    name: str = ""  # the command's name when it was read (a refused download ends its sequence)


def _digits(field: str, most: int) -> bool:
    return field.isascii() and field.isdigit() and 0 < len(field) <= most


class CommandParser:
    """Streaming parser of what the host sends: whole `Command`s and `BadCommand`s out.

    A command cut short by another ESC, or a header with non-printable bytes, is dropped
    without an answer: a NACK sent then would arrive just before the answer to the next command
    and be taken for it. A download refused for its panel or resolution whose length is known
    (`Dbc`) has its data skipped and is answered once, at its CR, so the bytes of its data are
    never read as commands; one whose length is not known (`Db` of an unknown panel, a length
    past any panel's) is answered at once and what follows is noise up to the next ESC."""

    def __init__(self) -> None:
        self._head: bytearray | None = None  # None: waiting for ESC
        self._peek: bytearray | None = None  # Dbc: what follows the 4th `;`, not yet known to be data
        self._pending: tuple = ()             # Dbc: (panel, resol, 4th field, refusal or None)
        self._need = 0                         # binary bytes still to read
        self._download: tuple[str, tuple[str, ...]] = ("", ())
        self._data = bytearray()
        self._refused: BadCommand | None = None  # a refused download whose data is being skipped
        self._ended: Command | BadCommand | None = None  # a whole download whose CR is due
        self.discarded = 0

    def feed(self, data: bytes) -> list[Command | BadCommand]:
        out: list[Command | BadCommand] = []
        data, i = bytes(data), 0
        while i < len(data):
            if self._need:
                take = data[i:i + self._need]
                if self._refused is None:
                    self._data += take
                self._need -= len(take)
                i += len(take)
                if not self._need:
                    self._ended = self._refused or Command(*self._download, bytes(self._data))
                    self._refused, self._data = None, bytearray()
                continue
            b = data[i]
            i += 1
            if self._peek is not None:
                again = self._look(b, out)
                if again:  # the bytes looked at were the short form's data: read them as data
                    data, i = again + data[i:], 0
                continue
            if self._ended is not None:
                done, self._ended = self._ended, None
                if b == CR:
                    out.append(done)
                    continue
                out.append(BadCommand("2", f"{done.name}: more data than announced", done.name))
            if self._head is None:
                if b == ESC:
                    self._head = bytearray()
                else:  # noise: skip to the next ESC at once
                    nxt = data.find(b"\x1b", i)
                    nxt = len(data) if nxt < 0 else nxt
                    self.discarded += 1 + nxt - i
                    i = nxt
            elif b == ESC:
                self.discarded += len(self._head) + 1
                self._head = bytearray()
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
            return BadCommand("2", f"{name} without its data", name)
        return Command(name, tuple(params))

    def _maybe_download(self, head: str) -> BadCommand | None:
        """At each `;`: when a download's header is complete, switch to reading its data."""
        fields = head.split(";")[:-1]
        if fields[0] == "Db" and len(fields) == 3:
            self._head = None
            size = RAW_BYTES.get((fields[1], fields[2]))
            if size is None:
                return BadCommand("2", f"Db for panel {fields[1]!r} at resolution {fields[2]!r}", "Db")
            self._start("Db", tuple(fields[1:]), size)
        elif fields[0] == "Dbc" and len(fields) == 4:
            self._head = None
            _, panel, resol, fourth = fields
            if not _digits(fourth, 6):
                return BadCommand("2", f"Dbc with parameters {fields[1:]}", "Dbc")
            refusal = None if (panel, resol) in RAW_BYTES else f"Dbc for panel {panel!r} at resolution {resol!r}"
            self._peek, self._pending = bytearray(), (panel, resol, fourth, refusal)
        return None

    def _look(self, b: int, out: list) -> bytes:
        """One more byte after `Dbc;<panel>;<resol>;<n>;`: digits then `;` make the first-line
        form's header; anything else is the short form's data (returned, to be read as data)."""
        panel, resol, fourth, refusal = self._pending
        if 0x30 <= b <= 0x39 and len(self._peek) < 6:
            self._peek.append(b)
            return b""
        peeked, self._peek = bytes(self._peek), None
        if b == ord(";") and peeked:
            params, first, size = (panel, resol, fourth, peeked.decode("ascii")), int(fourth), peeked.decode("ascii")
            if first >= LINES and refusal is None:
                refusal = f"Dbc from line {first}; a panel has {LINES} lines"
            again = b""
        else:
            params, size, again = (panel, resol, fourth), fourth, peeked + bytes([b])
        nb = int(size)
        most = MAX_COMPRESSED if panel in MONO_PANELS else max(RAW_BYTES.values())
        if not 0 < nb <= most:  # no panel's data is that long: its end cannot be found
            out.append(BadCommand("2", f"Dbc of {nb} bytes", "Dbc"))
            return again
        self._start("Dbc", params, nb, BadCommand("2", refusal, "Dbc") if refusal else None)
        return again

    def _start(self, name: str, params: tuple[str, ...], length: int, refused: BadCommand | None = None) -> None:
        self._download, self._need, self._data, self._refused = (name, params), length, bytearray(), refused
