"""The demo station's dispenser and board: the same faces, with the keys that switch between
the demo's three faces (F2 counter, F3 dispenser, F4 board) and a note saying so."""

from __future__ import annotations

from textual.binding import Binding

from cabin.kiosk.faces.board.app import BoardApp
from cabin.kiosk.faces.dispenser import DispenserApp

SWITCH_KEYS = [Binding("f2", "switch('counter')", show=False, priority=True),
               Binding("f3", "switch('dispenser')", show=False, priority=True),
               Binding("f4", "switch('board')", show=False, priority=True)]


class _Switching:
    def action_switch(self, face: str) -> None:
        self.exit(face)

    def _demo_hint(self) -> None:
        self.notify(self.strings("ctr_demo_hint"), timeout=10)


class DemoDispenser(_Switching, DispenserApp):
    BINDINGS = SWITCH_KEYS

    def on_mount(self) -> None:  # the DispenserApp's on_mount runs too
        self._demo_hint()


class DemoBoard(_Switching, BoardApp):
    BINDINGS = SWITCH_KEYS

    def on_mount(self) -> None:  # the BoardApp's on_mount runs too
        self._demo_hint()
