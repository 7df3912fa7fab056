"""A simulated ESC/POS ticket printer for drivers.simhost (pseudo-terminal or TCP).

It interprets everything it receives, answers the real-time status requests from its state,
and "prints" each ticket at the cut: counted in `printed`, kept in `tickets`, and drawn to
`out_dir/ticket-NNNN.png` when an out_dir is given. A printer that is offline (cover open,
paper out, error) prints nothing: the ticket is counted in `dropped` instead.

Faults (set at construction, or changed while it runs by `control(line)`, drivers/simcontrol.py):
paper_out, near_end, cover_open, offline (an error stopped it), silence (answers nothing,
prints nothing). Control lines: `fault KIND on|off`, `faults`, `help`, and the friendly forms
`cover open|close` and `paper out|low|in` (a new roll clears both paper faults).
`paper_left=N` gives the roll N more tickets: the next one runs out of paper half way.
`baud` makes it receive at that pace (the host paces only what it sends back): it keeps the
time at which the bytes read so far would have finished arriving on a real line, and holds each
status reply until then. So a status request behind a raster ticket is answered when it would be
on a 9600-baud cable, while the pseudo-terminal itself never fills (a host asleep for a whole
buffer's line time would make the driver's writes time out, which a real UART draining
steadily does not).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

from .. import private, simcontrol

from ..simhost import Reply
from .elements import Element, text_of
from .escpos import Status, encode_status
from ..fonts import cjk_font
from .interpreter import Interpreter
from .render import render

FAULTS = frozenset({"paper_out", "near_end", "cover_open", "offline", "silence"})
CONTROL_LINES = ("cover open", "cover close", "paper out", "paper low", "paper in")  # besides simcontrol's
PAPER = {"out": {"paper_out"}, "low": {"near_end"}, "in": set()}  # `paper WHAT`: the paper faults then


class SimulatedTicketPrinter:
    def __init__(self, faults=(), out_dir=None, *, baud: int | None = None, paper_left: int | None = None):
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown ticket printer fault(s) {sorted(unknown)}; known: {sorted(FAULTS)}")
        self.faults = set(faults)
        self._lock = threading.Lock()  # control() runs in the host's control thread
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None:
            cjk_font()  # an installation without its font fails at start, not in the serving thread
        self.byte_time = 10 / baud if baud else 0.0
        self.line_done = 0.0  # time.monotonic() at which the bytes received so far have arrived
        self.paper_left = paper_left
        self.interpreter = Interpreter()
        self.printed = self.dropped = 0
        self.tickets: deque[tuple[Element, ...]] = deque(maxlen=50)
        self.pngs: list[Path] = []

    def set_fault(self, kind: str, on: bool = True) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown ticket printer fault {kind!r}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            (self.faults.add if on else self.faults.discard)(kind)

    def control(self, line: str) -> str:
        """One control line: `fault KIND on|off`, `faults`, `help`, `cover open|close`,
        `paper out|low|in`; answers `ok ...` or `error: ...`, never raises."""
        actions = {f"cover {w}": self._cover(w == "open") for w in ("open", "close")}
        actions |= {f"paper {w}": self._paper(w) for w in PAPER}
        return simcontrol.answer(line, sorted(FAULTS), self.set_fault, lambda: set(self.faults), actions)

    def _cover(self, open_: bool):
        def action(args: list[str]) -> str:
            _no_more(args)
            self.set_fault("cover_open", open_)
            return f"cover {'open' if open_ else 'closed'}; status {self.status().summary}"
        return action

    def _paper(self, what: str):
        def action(args: list[str]) -> str:
            _no_more(args)
            with self._lock:
                self.faults -= {"paper_out", "near_end"}
                self.faults |= PAPER[what]
                if what == "in":
                    self.paper_left = None  # a new roll: the countdown given at start is spent
            return f"paper {what}; status {self.status().summary}"
        return action

    def status(self) -> Status:
        f = self.faults
        return Status(
            offline=bool(f & {"cover_open", "paper_out", "offline"}),
            cover_open="cover_open" in f,
            paper_end_stop="paper_out" in f,
            error="offline" in f,
            paper_near_end=bool(f & {"near_end", "paper_out"}),  # an empty roll is past near end
            paper_out="paper_out" in f,
        )

    def receive(self, data: bytes) -> list[Reply]:
        with self._lock:
            return self._receive(data)

    def _receive(self, data: bytes) -> list[Reply]:
        if "silence" in self.faults:
            return []
        out = bytearray()
        for event in self.interpreter.feed(data):
            if event.kind == "status":
                out.append(encode_status(event.value, self.status()))
            else:
                self._cut(event.value)
        now = time.monotonic()
        self.line_done = max(now, self.line_done) + len(data) * self.byte_time
        return [Reply(bytes(out), self.line_done - now)] if out else []

    def _cut(self, elements: tuple[Element, ...]) -> None:
        if self.paper_left is not None and not self.status().fault:
            if self.paper_left <= 0:
                self.faults.add("paper_out")
            self.paper_left -= 1
        if self.status().fault:
            self.dropped += 1
            return
        self.printed += 1
        self.tickets.append(elements)
        if self.out_dir is not None:
            private.make_folder(self.out_dir)  # 0600 in 0700, as everything the station writes
            path = self.out_dir / f"ticket-{self.printed:04d}.png"
            image = render(elements, cjk_font(text_of(elements)))
            private.write_whole(path, lambda f: image.save(f, format="PNG"))  # a watcher never sees half
            self.pngs.append(path)


def _no_more(args: list[str]) -> None:
    if args:
        raise simcontrol.ControlError(f"unexpected {' '.join(args)!r}: send help for the lines")
