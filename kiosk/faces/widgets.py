"""Widgets the faces share. They show what they are given (attributes down) and report what
the person did (messages up); none of them reads the station or decides anything."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Digits, Label, Static

# Textual's big-digit font draws 0-9 and A-F; a ticket prefix beyond F (a station may choose
# any capital letter) is drawn as a plain capital, framed so the number still reads as one.
BIG_LETTERS = set("0123456789ABCDEF")


class BigNumber(Digits):
    """A ticket number in three-line digits ("A001"), or a dash when there is none."""

    DEFAULT_CLASSES = "big-number"

    def show(self, number: str | None) -> None:
        text = number or "-"
        if not set(text) <= BIG_LETTERS | {"-"}:
            text = " ".join(text)  # the letter falls to the bottom row; spaces keep it readable
        self.update(text)


class TitleBar(Horizontal):
    """The station's name, the face's name and the local time, across the top."""

    def __init__(self, station: str, face: str):
        super().__init__(id="title-bar")
        self._station, self._face = station, face

    def compose(self) -> ComposeResult:
        yield Label(self._station, id="title-station")
        yield Label(self._face, id="title-face")
        yield Label("", id="title-clock")

    def on_mount(self) -> None:
        self.show_clock(self.app.clock_text())

    def show_clock(self, text: str) -> None:
        self.query_one("#title-clock", Label).update(text)


class Notice(Static):
    """One line at the bottom: a hint, or what went wrong in plain words."""

    DEFAULT_CLASSES = "notice"
