"""A simulated Evolis-style card printer: the command set byte for byte, state, and faults.

Serve it with drivers.simhost (`PtyHost(SimulatedCardPrinter())`). State: blank cards in the
feeder, ribbon panels left (None: no ribbon fitted), cover, jam, output tray, the card counter,
the open sequence and its K panel. Its serial number (`Rsn`) and the counter's first value are
given at construction. Without a serial number each simulator makes up its own (CABIN-SIM- and
8 hex digits): a simulator keeps nothing when it stops, so one started again — its counter back
at 0 — is another printer, as a spare swapped in on the same line is; giving the same serial
number again is a printer that was reset. `serial = None` afterwards: a printer that does not
know `Rsn` (it answers NACK 1). Each printed card is kept as a `PrintedCard` (the decoded
panel and its image), and saved as `card-NNNN.png` in `out_dir` when one is given.

Faults, named as `--fault` takes them, given at construction or at run time (`inject`), each
either at once or armed to strike when a given command arrives (`inject("silence", at="Se")`,
or `"silence@Se"` in the constructor's list):
  cover_open    the cover is open: action commands get NACK C
  feeder_empty  no blank card left: `Pmi;F` and `Se` get NACK F
  ribbon_out    the ribbon is used up: `Pr` and `Se` get NACK R
  hopper_full   the output tray is full: `Se` gets NACK T (the status says HOPPER_FULL)
  jam_mid_job   the next card jams while printing: `Se` gets NACK T, and the printer stays
                jammed (MECHANICAL_ERROR) until cleared; the jammed card is spoiled, not counted
  nack          every action command gets NACK 2
  silence       the printer's answers are lost (it still does what it is told): armed at `Se`,
                the card comes out but its confirmation never arrives
`clear(kind)` is the clerk's fix (close the cover, load cards, new ribbon, empty the tray,
remove the jammed card) or the line coming back; `clear()` fixes everything.
A NACK to an action inside a sequence ends the sequence: nothing of it is printed.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .. import private

from ..errors import ProtocolError
from ..simhost import Reply
from . import codec
from .panel import LINE_BYTES, LINES, PANEL_BYTES, decompress, to_image

FAULTS = ("cover_open", "feeder_empty", "ribbon_out", "hopper_full", "jam_mid_job", "nack", "silence")
ACTIONS = {"Pr", "Pmi", "Pc", "Ss", "Sr", "Db", "Dbc", "Se"}


@dataclass(frozen=True)
class PrintedCard:
    number: int          # the card counter's value once this card was out
    panel: bytes         # the K panel as printed, decompressed
    image: Image.Image   # the panel as a picture, black where a dot printed
    path: Path | None    # its PNG, when the printer was given an out_dir


class SimulatedCardPrinter:
    def __init__(self, faults: Iterable[str] | Mapping[str, str | None] = (), *, cards: int = 100,
                 ribbon: int | None = 500, hopper_capacity: int = 100, out_dir: str | Path | None = None,
                 print_seconds: float = 0.0, firmware: str = "CABIN-SIM 1.0",
                 serial: str | None = None, counter: int = 0):
        serial = f"CABIN-SIM-{secrets.token_hex(4).upper()}" if serial is None else serial
        if not (serial.isascii() and serial.isprintable() and serial.strip() == serial
                                       and 0 < len(serial) <= 32):
            raise ValueError(f"a serial number is 1 to 32 printable ASCII characters, not {serial!r}")
        if counter < 0:
            raise ValueError(f"a card counter starts at 0 or more, not {counter}")
        self.full_feeder, self.full_ribbon = cards, (ribbon if ribbon is not None else 500)
        self.cards, self.ribbon, self.hopper, self.hopper_capacity = cards, ribbon, 0, hopper_capacity
        self.cover_open = self.jammed = False
        self.counter, self.serial = counter, serial
        self.out_dir = Path(out_dir) if out_dir else None
        self.print_seconds, self.firmware = print_seconds, firmware
        self.printed: list[PrintedCard] = []
        self.received: deque[str] = deque(maxlen=1000)  # command names, for tests and the curious
        self._active: set[str] = set()
        self._armed: dict[str, str] = {}
        self._panel: bytearray | None = None  # the open sequence's panel
        self._side: str | None = None
        self._source = "F"
        self._parser = codec.CommandParser()
        self._lock = threading.Lock()
        items = faults.items() if isinstance(faults, Mapping) else (f.partition("@")[::2] for f in faults)
        for kind, at in items:
            self.inject(kind, at or None)

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, kind: str, at: str | None = None) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown card printer fault {kind!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            if at:
                self._armed[kind] = at
            else:
                self._activate(kind)

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            for k in [kind] if kind else FAULTS:
                self._armed.pop(k, None)
                self._active.discard(k)
                if k == "cover_open":
                    self.cover_open = False
                elif k == "feeder_empty" and self.cards == 0:
                    self.cards = self.full_feeder
                elif k == "ribbon_out" and not self.ribbon:
                    self.ribbon = self.full_ribbon
                elif k == "hopper_full":
                    self.hopper = 0
                elif k == "jam_mid_job":
                    self.jammed = False

    def _activate(self, kind: str) -> None:
        if kind == "cover_open":
            self.cover_open = True
        elif kind == "feeder_empty":
            self.cards = 0
        elif kind == "ribbon_out":
            self.ribbon = 0
        elif kind == "hopper_full":
            self.hopper = self.hopper_capacity
        else:
            self._active.add(kind)

    def status_words(self) -> list[str]:
        return [word for word, on in (
            ("COVER_OPEN", self.cover_open), ("FEEDER_EMPTY", self.cards == 0),
            ("RIBBON_ENDED", self.ribbon == 0), ("NO_RIBBON", self.ribbon is None),
            ("MECHANICAL_ERROR", self.jammed), ("HOPPER_FULL", self.hopper >= self.hopper_capacity)) if on]

    # -- the line ----------------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[Reply]:
        replies = []
        with self._lock:
            for item in self._parser.feed(data):
                self.received.append(item.name if isinstance(item, codec.Command) else f"bad:{item.reason}")
                if isinstance(item, codec.BadCommand):
                    answer, delay = codec.nack(item.code), 0.0
                else:
                    for kind, at in list(self._armed.items()):
                        if at == item.name:
                            del self._armed[kind]
                            self._activate(kind)
                    answer, delay = self._answer(item)
                    if item.name in ACTIONS and answer[:1] == bytes([codec.NAK]):
                        self._panel = self._side = None
                if "silence" not in self._active:
                    replies.append(Reply(answer, delay))
        return replies

    def _answer(self, cmd: codec.Command) -> tuple[bytes, float]:
        query = {"Rfv": ((), self.firmware), "Rst": ((), ",".join(self.status_words()) or codec.READY),
                 "Sk": (("f",), "3" if self.cards == 0 else "0"), "Rco": (("c",), str(self.counter))}
        if self.serial is not None:
            query["Rsn"] = ((), self.serial)
        if cmd.name in query:
            params, value = query[cmd.name]
            return (codec.text(value) if cmd.params == params else codec.nack("2")), 0.0
        if cmd.name not in ACTIONS:
            return codec.nack("1"), 0.0
        for on, code in (("nack" in self._active, "2"), (self.jammed, "T"), (self.cover_open, "C")):
            if on:
                return codec.nack(code), 0.0
        return getattr(self, f"_do_{cmd.name}")(cmd)

    # -- the actions: each returns (answer, delay) -------------------------------------------------
    def _do_Pr(self, cmd):
        if cmd.params != ("k",):
            return codec.nack("2"), 0.0
        return (codec.ack() if self.ribbon else codec.nack("R")), 0.0

    def _do_Pmi(self, cmd):
        if len(cmd.params) != 2 or cmd.params[0] not in ("F", "M", "B") or cmd.params[1] != "s":
            return codec.nack("2"), 0.0
        self._source = cmd.params[0]
        return (codec.nack("F") if self._source == "F" and self.cards == 0 else codec.ack()), 0.0

    def _do_Pc(self, cmd):
        ok = (len(cmd.params) == 3 and cmd.params[:2] in (("k", "="), ("k", "+"), ("k", "-"))
              and cmd.params[2].isdigit() and int(cmd.params[2]) <= 20)
        return (codec.ack() if ok else codec.nack("2")), 0.0

    def _do_Ss(self, cmd):
        self._panel, self._side = bytearray(PANEL_BYTES), None  # a new sequence drops an unfinished one
        return codec.ack(), 0.0

    def _do_Sr(self, cmd):
        if self._panel is None:
            return codec.nack("1"), 0.0
        self._side = "front"
        return codec.ack(), 0.0

    def _do_Db(self, cmd):
        if self._panel is None or self._side is None:
            return codec.nack("1"), 0.0
        self._panel[:] = cmd.data
        return codec.ack(), 0.0

    def _do_Dbc(self, cmd):
        if self._panel is None or self._side is None:
            return codec.nack("1"), 0.0
        first = int(cmd.params[1])
        try:
            lines = decompress(cmd.data, max_lines=max(0, LINES - first))
        except ProtocolError:
            return codec.nack("2"), 0.0
        at = first * LINE_BYTES
        self._panel[at:at + len(lines)] = lines
        return codec.ack(), 0.0

    def _do_Se(self, cmd):
        if self._panel is None:
            return codec.nack("1"), 0.0
        if self._source == "F" and self.cards == 0:
            return codec.nack("F"), 0.0
        if not self.ribbon:
            return codec.nack("R"), 0.0
        if self.hopper >= self.hopper_capacity:
            return codec.nack("T"), 0.0
        if self._source == "F":
            self.cards -= 1
        if "jam_mid_job" in self._active:  # the card stops half-way: spoiled, not counted
            self._active.discard("jam_mid_job")
            self.jammed = True
            return codec.nack("T"), self.print_seconds / 2
        self.ribbon -= 1
        self.hopper += 1
        self.counter += 1
        self._record(bytes(self._panel))
        self._panel = self._side = None
        return codec.ack(), self.print_seconds

    def _record(self, panel: bytes) -> None:
        image, path = to_image(panel), None
        if self.out_dir:  # a card face: a name, an ID number, an address, a photo
            private.make_folder(self.out_dir)
            path = self.out_dir / f"card-{self.counter:04d}.png"
            with private.open_for_writing(path) as f:
                image.save(f, format="PNG")
        self.printed.append(PrintedCard(self.counter, panel, image, path))
