"""A simulated Evolis card printer: the guide's command set byte for byte, state, and faults.

Serve it with drivers.simhost (`PtyHost(SimulatedCardPrinter())`). State: blank cards in the
feeder, ribbon panels left (None: no ribbon fitted; a K ribbon: one panel a printed side), the
cover, a card inside (jammed, or left there by a power cut), the output tray, the two counters
(`Rco;c` cards inserted: a card counts when it leaves the feeder, even if it then jams; `Rco;p`
panels printed), and the open sequence: for each side (`Sr` front, `Sv` back) its downloaded
panels. Its serial number (`Rsn`) and the counters' first value are given at construction.
Without a serial number each simulator makes up its own (CABIN-SIM- and 8 hex digits): a
simulator keeps nothing when it stops, so one started again — its counters back at 0 — is
another printer, as a spare swapped in on the same line is; giving the same serial number again
is a printer that was reset. `serial = None` afterwards: a printer that does not know `Rsn` (it
answers NACK 1). Each card out is kept as a `PrintedCard` (the decoded K panels of both sides and
their images), and saved as `card-NNNN.png` (and `card-NNNN-back.png`) in `out_dir` when given.

ACK/NACK mode (`Pem;4`) is on at power-up (as modelled: `ack_mode=False` is a printer set up
without it, which answers only queries until it gets `Pem;4`). What it accepts (codec.py): the
guide's download forms only; an unknown command (`Rst` among
them) gets NACK 1, bad parameters NACK 2; a NACK to an action inside a sequence ends the
sequence, so nothing of it is printed. The ribbon is K: a `y`/`m`/`c` download in a valid form
gets NACK R (no colour panel on the ribbon, as modelled); `o` (overlay) is accepted and counted
as a printed panel, not drawn. `Se` takes a card from the feeder and prints every side that had a
download (a side without one stays blank; a card with none comes out blank).

Faults, named as `--fault` takes them, given at construction or at run time (`inject`), each
either at once or armed to strike when a given command arrives (`inject("silence", at="Se")`,
or `"silence@Se"` in the constructor's list), and changed while it runs by `control(line)`:
  cover_open    the cover is open: action commands get NACK C
  feeder_empty  no blank card left: `Pmi;F` and `Se` get NACK F
  ribbon_out    the ribbon is used up: `Pr` and `Se` get NACK R
  hopper_full   the output tray is full: `Se` gets NACK T before taking a card
  jam_mid_job   the next card jams: `Se` takes it from the feeder (counted in `Rco;c`) and
                answers NACK T; nothing is printed on it (`Rco;p` unchanged) and it stays at the
                print position (`Rlr;p` CARD) until removed; every action gets NACK T meanwhile
  power_cycle   the printer loses power when the command arrives and comes back at once: no
                answer, the sequence is lost; at `Se` the card has left the feeder (counted) and
                stays inside unprinted (`Rlr;p` CARD) until removed
  power_cycle_eject  the same, but the printer ejects the card (blank) as it powers up
  nack          every action command gets NACK 2
  silence       the printer's answers are lost (it still does what it is told): armed at `Se`,
                the card comes out but its confirmation never arrives
`clear(kind)` is the clerk's fix (close the cover, load cards, new ribbon, empty the tray,
remove the card inside) or the line coming back; `clear()` fixes everything. `control(line)`
takes the same while it runs, one line at a time (drivers/simcontrol.py): `fault KIND on|off`
(`KIND@COMMAND` arms it), `faults`, `help`, and `cover open|close`, `feeder empty|full`,
`ribbon out|in`, `remove card` (the card inside taken out by hand), `tray empty`, `power cycle`
(power off and on now: the open sequence is lost, a card inside stays), `cleaning needed|done`;
each answers one line, `ok ...` with the status after it, or `error: ...`.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .. import private, simcontrol

from ..errors import ProtocolError
from ..simhost import Reply
from . import codec
from .panel import LINE_BYTES, LINES, PANEL_BYTES, decompress, to_image

FAULTS = ("cover_open", "feeder_empty", "ribbon_out", "hopper_full", "jam_mid_job", "power_cycle",
          "power_cycle_eject", "nack", "silence")
ACTIONS = {"Pem", "Pr", "Pmi", "Pc", "Ss", "Sr", "Sv", "Db", "Dbc", "Se"}
CLEANING_EVERY = 1000  # cards between two cleanings, as modelled (Rlr;c)
CONTROL_LINES = ("cover open", "cover close", "feeder empty", "feeder full", "ribbon out", "ribbon in",
                 "remove card", "tray empty", "power cycle", "cleaning needed", "cleaning done")  # besides simcontrol's


@dataclass(frozen=True)
class PrintedCard:
    number: int          # the card counter (Rco;c) once this card was out
    panel: bytes         # the front's K panel as printed, decompressed (blank when none was sent)
    image: Image.Image   # the front as a picture, black where a dot printed
    path: Path | None    # its PNG, when the printer was given an out_dir
    back: bytes | None = None             # the back's K panel, None: nothing printed on the back
    back_image: Image.Image | None = None
    panels: int = 1      # panels printed on this card (Rco;p moved by this much)


class SimulatedCardPrinter:
    def __init__(self, faults: Iterable[str] | Mapping[str, str | None] = (), *, cards: int = 100,
                 ribbon: int | None = 500, hopper_capacity: int = 100, out_dir: str | Path | None = None,
                 print_seconds: float = 0.0, firmware: str = "CABIN-SIM 1.0", model: str = "CABIN-SIM",
                 serial: str | None = None, counter: int = 0, panels: int | None = None, ack_mode: bool = True):
        serial = f"CABIN-SIM-{secrets.token_hex(4).upper()}" if serial is None else serial
        if not (serial.isascii() and serial.isprintable() and serial.strip() == serial
                                       and 0 < len(serial) <= 32):
            raise ValueError(f"a serial number is 1 to 32 printable ASCII characters, not {serial!r}")
        if counter < 0 or (panels is not None and panels < 0):
            raise ValueError(f"a card counter starts at 0 or more, not {counter}")
        self.full_feeder, self.full_ribbon = cards, (ribbon if ribbon is not None else 500)
        self.cards, self.ribbon, self.hopper, self.hopper_capacity = cards, ribbon, 0, hopper_capacity
        self.cover_open = False
        self.card_inside: str | None = None  # None, or why a card is inside: "jam", "power_cycle"
        self.counter, self.panels, self.serial = counter, counter if panels is None else panels, serial
        self.since_cleaning = 0
        self.power_up_ack_mode = self.ack_mode = ack_mode
        self.out_dir = Path(out_dir) if out_dir else None
        self.print_seconds, self.firmware, self.model = print_seconds, firmware, model
        self.printed: list[PrintedCard] = []
        self.received: deque[str] = deque(maxlen=1000)  # command names, for tests and the curious
        self._active: set[str] = set()
        self._armed: dict[str, str] = {}
        self._sides: dict[str, dict[str, bytearray]] | None = None  # the open sequence: side -> panel -> dots
        self._side: str | None = None
        self._source = "F"
        self._parser = codec.CommandParser()
        self._lock = threading.RLock()
        items = faults.items() if isinstance(faults, Mapping) else (f.partition("@")[::2] for f in faults)
        for kind, at in items:
            self.inject(kind, at or None)

    @property
    def jammed(self) -> bool:
        return self.card_inside is not None

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
                elif {"jam_mid_job": "jam", "power_cycle": "power_cycle"}.get(k) == self.card_inside:
                    self.card_inside = None  # the card taken out by hand: spoiled

    def _activate(self, kind: str) -> None:
        if kind == "cover_open":
            self.cover_open = True
        elif kind == "feeder_empty":
            self.cards = 0
        elif kind == "ribbon_out":
            self.ribbon = 0
        elif kind == "hopper_full":
            self.hopper = self.hopper_capacity
        elif kind in ("power_cycle", "power_cycle_eject"):
            self._power_cycle(take_card=False, eject=kind == "power_cycle_eject")
        else:
            self._active.add(kind)

    def _power_cycle(self, take_card: bool, eject: bool) -> None:
        """Power lost and back: the sequence is gone; the counters and the serial number stay."""
        if take_card and self.cards and not self.card_inside:
            self.cards -= 1
            self.counter += 1          # it had left the feeder: counted
            self.card_inside = "power_cycle"
        if eject and self.card_inside == "power_cycle":
            self.card_inside = None    # pushed out blank at power-up
            self.hopper += 1
        self._sides = self._side = None
        self.ack_mode = self.power_up_ack_mode

    # -- control lines (a test or an operator, while it runs) ---------------------------------
    def set_fault(self, kind: str, on: bool = True) -> None:
        """`fault KIND on|off`: on at once, or armed for a command (`KIND@COMMAND`); off clears it."""
        name, _, at = kind.partition("@")
        if on:
            self.inject(name, at or None)
        elif name not in FAULTS:
            raise ValueError(f"unknown card printer fault {name!r}; known: {', '.join(FAULTS)}")
        else:
            self.clear(name)

    def faults_on(self) -> set[str]:
        with self._lock:
            on = {k for k, here in (("cover_open", self.cover_open), ("feeder_empty", self.cards == 0),
                                    ("ribbon_out", self.ribbon == 0), ("hopper_full", self.hopper >= self.hopper_capacity),
                                    ("jam_mid_job", self.card_inside == "jam"),
                                    ("power_cycle", self.card_inside == "power_cycle")) if here}
            return on | self._active | {f"{k}@{at}" for k, at in self._armed.items()}

    def control(self, line: str) -> str:
        """One control line (module docstring); answers `ok ...` or `error: ...`, never raises."""
        def change(do):
            def action(args: list[str]) -> str:
                if args:
                    raise ValueError(f"unexpected words after the line: {' '.join(args)}")
                with self._lock:
                    do()
                    return "status " + (",".join(self.status_words()) or codec.READY)
            return action

        def remove_card():
            if self.card_inside is None:
                raise ValueError("no card is inside the printer")
            self.card_inside = None

        def set_cleaning(needed: bool):
            self.since_cleaning = CLEANING_EVERY if needed else 0

        actions = {
            "cover open": change(lambda: self._activate("cover_open")), "cover close": change(lambda: self.clear("cover_open")),
            "feeder empty": change(lambda: self._activate("feeder_empty")),
            "feeder full": change(lambda: setattr(self, "cards", self.full_feeder)),
            "ribbon out": change(lambda: self._activate("ribbon_out")),
            "ribbon in": change(lambda: setattr(self, "ribbon", self.full_ribbon)),
            "remove card": change(remove_card), "tray empty": change(lambda: self.clear("hopper_full")),
            "power cycle": change(lambda: self._power_cycle(take_card=False, eject=False)),
            "cleaning needed": change(lambda: set_cleaning(True)), "cleaning done": change(lambda: set_cleaning(False))}
        return simcontrol.answer(line, FAULTS, self.set_fault, self.faults_on, actions)

    def status_words(self) -> list[str]:
        """What the driver's status() makes of the query answers, for tests and `devices list`."""
        return [word for word, on in (
            ("COVER_OPEN", self.cover_open), ("FEEDER_EMPTY", self.cards == 0),
            ("RIBBON_ENDED", self.ribbon == 0), ("NO_RIBBON", self.ribbon is None),
            ("CARD_INSIDE", self.jammed)) if on]

    # -- the line ----------------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[Reply]:
        replies = []
        with self._lock:
            for item in self._parser.feed(data):
                self.received.append(item.name if isinstance(item, codec.Command) else f"bad:{item.reason}")
                if isinstance(item, codec.BadCommand):
                    answer, delay = codec.nack(item.code), 0.0
                    if item.name in ACTIONS:
                        self._sides = self._side = None
                else:
                    struck = [kind for kind, at in self._armed.items() if at == item.name]
                    for kind in struck:
                        del self._armed[kind]
                    if any(k.startswith("power_cycle") for k in struck):
                        eject = "power_cycle_eject" in struck
                        self._power_cycle(take_card=item.name == "Se", eject=eject)
                        continue  # no power: no answer
                    for kind in struck:
                        self._activate(kind)
                    answer, delay = self._answer(item)
                    if item.name in ACTIONS and answer[:1] == bytes([codec.NAK]):
                        self._sides = self._side = None
                quiet = not self.ack_mode and isinstance(item, codec.Command) and item.name in ACTIONS
                if "silence" not in self._active and not quiet:
                    replies.append(Reply(answer, delay))
        return replies

    def _queries(self) -> dict[tuple[str, tuple[str, ...]], str]:
        ribbon = (codec.NO_RIBBON if self.ribbon is None else
                  codec.END_OF_RIBBON if self.ribbon == 0 else f"K {self.ribbon}")
        answers = {
            ("Rlr", ("p",)): codec.CARD_AT_PRINT if self.jammed else codec.NO_CARD,
            ("Rlr", ("c",)): codec.CLEANING_NEEDED if self.since_cleaning >= CLEANING_EVERY else codec.CLEAN,
            ("Rse", ("o",)): codec.COVER_OPEN if self.cover_open else codec.COVER_CLOSED,
            ("Rse", ("f",)): codec.FEEDER_EMPTY if self.cards == 0 else codec.FEEDER_CARDS,
            ("Sk", ("f",)): "3" if self.cards == 0 else "0",
            ("Rcr", ()): ribbon,
            ("Rco", ("c",)): str(self.counter), ("Rco", ("p",)): str(self.panels),
            ("Rfv", ()): self.firmware, ("Rtp", ()): self.model}
        if self.serial is not None:
            answers[("Rsn", ())] = self.serial
        return answers

    def _answer(self, cmd: codec.Command) -> tuple[bytes, float]:
        if cmd.name not in ACTIONS:
            answers = self._queries()
            value = answers.get((cmd.name, cmd.params))
            if value is not None:
                return codec.text(value), 0.0
            known = any(name == cmd.name for name, _ in answers)
            return codec.nack("2" if known else "1"), 0.0
        for on, code in (("nack" in self._active, "2"), (self.jammed, "T"), (self.cover_open, "C")):
            if on:
                return codec.nack(code), 0.0
        return getattr(self, f"_do_{cmd.name}")(cmd)

    # -- the actions: each returns (answer, delay) -------------------------------------------------
    def _do_Pem(self, cmd):
        """`Pem;4`: error management kept, ACK/NACK on; another mode: actions are not answered."""
        if len(cmd.params) != 1 or not cmd.params[0].isdigit():
            return codec.nack("2"), 0.0
        self.ack_mode = cmd.params[0] == "4"
        return codec.ack(), 0.0

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
        if cmd.params:
            return codec.nack("2"), 0.0
        self._sides, self._side = {}, None  # a new sequence drops an unfinished one
        return codec.ack(), 0.0

    def _select(self, cmd, side: str):
        if cmd.params:
            return codec.nack("2"), 0.0
        if self._sides is None:
            return codec.nack("1"), 0.0
        self._side = side
        self._sides.setdefault(side, {})
        return codec.ack(), 0.0

    def _do_Sr(self, cmd):
        return self._select(cmd, "front")

    def _do_Sv(self, cmd):
        return self._select(cmd, "back")

    def _panel(self, name: str) -> bytearray | None:
        """The open side's panel `name`, made blank on its first download; None: no side open."""
        if self._sides is None or self._side is None:
            return None
        return self._sides[self._side].setdefault(name, bytearray(PANEL_BYTES))

    def _do_Db(self, cmd):
        panel, _ = cmd.params
        if self._sides is None or self._side is None:
            return codec.nack("1"), 0.0
        if panel not in codec.MONO_PANELS:
            return codec.nack("R"), 0.0  # a valid colour download; the ribbon is K
        self._panel(panel)[:] = cmd.data
        return codec.ack(), 0.0

    def _do_Dbc(self, cmd):
        panel, first = cmd.params[0], int(cmd.params[2]) if len(cmd.params) == 4 else 0
        if self._sides is None or self._side is None:
            return codec.nack("1"), 0.0
        if panel not in codec.MONO_PANELS:
            return codec.nack("R"), 0.0
        try:
            lines = decompress(cmd.data, max_lines=LINES - first)
        except ProtocolError:
            return codec.nack("2"), 0.0
        at = first * LINE_BYTES
        self._panel(panel)[at:at + len(lines)] = lines
        return codec.ack(), 0.0

    def _do_Se(self, cmd):
        if cmd.params:
            return codec.nack("2"), 0.0
        if self._sides is None:
            return codec.nack("1"), 0.0
        panels = sum(len(p) for p in self._sides.values())
        if self._source == "F" and self.cards == 0:
            return codec.nack("F"), 0.0
        if not self.ribbon or self.ribbon < panels:
            return codec.nack("R"), 0.0
        if self.hopper >= self.hopper_capacity:
            return codec.nack("T"), 0.0
        if self._source == "F":
            self.cards -= 1
        self.counter += 1  # the card has left the feeder: counted, whatever happens next
        if "jam_mid_job" in self._active:  # it stops at the print position before a dot is printed
            self._active.discard("jam_mid_job")
            self.card_inside = "jam"
            self._sides = self._side = None
            return codec.nack("T"), self.print_seconds / 2
        self.ribbon -= panels
        self.panels += panels
        self.hopper += 1
        self.since_cleaning += 1
        self._record(self._sides, panels)
        self._sides = self._side = None
        return codec.ack(), self.print_seconds

    def _record(self, sides: dict[str, dict[str, bytearray]], panels: int) -> None:
        front = bytes(sides.get("front", {}).get("k", bytes(PANEL_BYTES)))
        back = sides.get("back", {}).get("k")
        image, path = to_image(front), None
        back_image = to_image(bytes(back)) if back is not None else None
        if self.out_dir:  # a card face: a name, an ID number, an address, a photo
            private.make_folder(self.out_dir)
            path = self.out_dir / f"card-{self.counter:04d}.png"
            private.write_whole(path, lambda f: image.save(f, format="PNG"))
            if back_image is not None:
                private.write_whole(self.out_dir / f"card-{self.counter:04d}-back.png",
                                    lambda f: back_image.save(f, format="PNG"))
        self.printed.append(PrintedCard(self.counter, front, image, path,
                                        bytes(back) if back is not None else None, back_image, panels))
