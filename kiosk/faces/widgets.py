"""Widgets the faces share. They show what they are given (attributes down) and report what
the person did (messages up); none of them reads the station or decides anything."""

from __future__ import annotations

from rich.align import Align
from rich.cells import cell_len
from rich.console import RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.geometry import Size
from textual.renderables.digits import DIGITS, DIGITS3X3, DIGITS3X3_BOLD
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits, Label, Static


class Pane(Static):
    """A Static that redraws only when what it shows changes, and asks for a new layout only when
    its height can change.

    Why: a Static's update re-lays out the whole screen and repaints every widget on it (10 ms
    and 19 ms at 120x40), which the counter paid for each panel after each key. `key` names what
    is shown when the content itself cannot be compared (a Rich table); `shape`, when given, is
    what its height follows (equal shapes, equal heights), so a same-height change repaints this
    pane alone. A text's shape is its line count while no line is wider than the pane (nothing
    wraps); otherwise the layout decides.
    """

    _shown_key: object = None
    _shown_shape: object = None

    def show(self, content, *, key=None, shape=None) -> None:
        if key is None:
            key = content if isinstance(content, (str, Text)) else object()
        if self._shown_key is not None and key == self._shown_key:
            return
        if shape is None and isinstance(content, (str, Text)):
            shape = self._text_shape(content.plain if isinstance(content, Text) else content)
        layout = shape is None or shape != self._shown_shape or not self.is_mounted
        self._shown_key, self._shown_shape = key, shape
        self.update(content, layout=layout)

    def _text_shape(self, text: str) -> tuple[int, int] | None:
        width = self.content_size.width
        lines = text.split("\n")
        if not width or any(cell_len(line) > width for line in lines):
            return None
        return len(lines), width


# The capitals Textual's big-digit font lacks (it draws A-F), for ticket prefixes: a station may
# give a category any capital letter. Same 3x3 box-drawing style as its A-F; where a letter would
# match a digit, it differs visibly (O has square corners, S hooked ends, Z a diagonal, I serifs).
# Textual's bold font keeps A-F light (only the digits turn heavy), so these serve both weights.
LETTERS_3X3 = {
    "G": ("╭─╴", "│╶╮", "╰─╯"),
    "H": ("╷ ╷", "├─┤", "╵ ╵"),
    "I": ("╶┬╴", " │ ", "╶┴╴"),
    "J": ("  ╷", "╷ │", "╰─╯"),
    "K": ("╷╱ ", "├  ", "╵╲ "),
    "L": ("╷  ", "│  ", "╰─╴"),
    "M": ("╭┬╮", "│││", "╵╵╵"),
    "N": ("╷ ╷", "│╲│", "╵ ╵"),
    "O": ("┌─┐", "│ │", "└─┘"),
    "P": ("┌─╮", "├─╯", "╵  "),
    "Q": ("╭─╮", "│ │", "╰─╲"),
    "R": ("┌─╮", "├─╯", "╵╲ "),
    "S": ("╭─╮", "╰─╮", "╰─╯"),
    "T": ("╶┬╴", " │ ", " ╵ "),
    "U": ("╷ ╷", "│ │", "╰─╯"),
    "V": ("╷ ╷", "│ │", "╲ ╱"),
    "W": ("╷╷╷", "│││", "╰┴╯"),
    "X": ("╲ ╱", " ╳ ", "╱ ╲"),
    "Y": ("╷ ╷", "╰┬╯", " ╵ "),
    "Z": ("╶─┐", " ╱ ", "└─╴"),
}


def big_glyph(character: str, bold: bool = False) -> tuple[str, str, str] | None:
    """The three 3-cell rows that draw `character` big, or None when it has no big glyph."""
    if character in LETTERS_3X3:
        return LETTERS_3X3[character]
    position = DIGITS.find(character)
    if position < 0 or len(character) != 1:
        return None
    font = DIGITS3X3_BOLD if bold else DIGITS3X3
    return tuple(font[position * 3 + row].ljust(3) for row in range(3))


class BigDigits(DigitsRenderable):
    """Textual's three-line digits renderable with every capital letter: its own glyphs for what
    its font draws (so "A001" comes out exactly as Textual draws it), LETTERS_3X3 for the rest."""

    def render(self, style: Style) -> RenderResult:
        rows: list[list[str]] = [[], [], []]
        for character in self._text.translate(self.REPLACEMENTS):
            # like Textual: a character with no glyph sits on the bottom row, one cell wide
            glyph = big_glyph(character, bool(style.bold)) or (" ", " ", character)
            for row, piece in zip(rows, glyph):
                row.append(piece)
        row_style = style + Style(meta={"offset": (0, 0)})
        for row in rows:
            yield Segment("".join(row), row_style)
            yield Segment.line()

    @classmethod
    def get_width(cls, text: str) -> int:
        return sum(3 if big_glyph(character) else 1 for character in text)


class BigNumber(Digits):
    """A ticket number in three-line digits ("A001", "J012"), or a dash when there is none."""

    DEFAULT_CLASSES = "big-number"

    def show(self, number: str | None) -> None:
        text = number or "-"
        if text != self.value:
            self.update(text)

    def update(self, value: str) -> None:
        # Textual's Digits.update measures with its own font, in which G-Z are one cell wide.
        if not isinstance(value, str):
            raise TypeError("value must be a str")
        layout = BigDigits.get_width(value) != BigDigits.get_width(self._value)
        self._value = value
        self.refresh(layout=layout)

    def render(self) -> Align:
        """As Digits.render, with BigDigits for Textual's renderable."""
        style = self.rich_style
        if self.text_selection:
            style = self.screen.get_component_rich_style("screen--selection", partial=True)
        align = self.styles.text_align
        align = align if align in {"left", "center", "right"} else "left"
        return Align(BigDigits(self.value, style), align, style)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return BigDigits.get_width(self.value)


class TitleBar(Horizontal):
    """The station's name, the face's name and the local time, across the top."""

    def __init__(self, station: str, face: str):
        super().__init__(id="title-bar")
        self._station, self._face = station, face

    def compose(self) -> ComposeResult:
        yield Label(self._station, id="title-station")
        yield Label(self._face, id="title-face")
        yield Label("", id="title-offline")
        yield Label("", id="title-clock")

    def on_mount(self) -> None:
        self.show_clock(self.app.clock_text())
        self.show_offline(getattr(self.app, "offline", None))

    def show_offline(self, text: str | None) -> None:
        """"Offline — reconnecting" across the top while the station cannot be reached (None:
        it can); every screen of a face has this bar, so the state is seen wherever the clerk is."""
        for label in self.query("#title-offline").results(Label):
            label.update(text or "")
            label.display = text is not None
        self.set_class(text is not None, "-offline")

    def show_clock(self, text: str) -> None:
        # the app's 1 s tick can come while this bar is still composing or already leaving
        # (a screen switch, the app's exit): nothing to show then, and nothing to crash on
        for clock in self.query("#title-clock").results(Label):
            clock.update(text)


class Notice(Static):
    """One line at the bottom: a hint, or what went wrong in plain words."""

    DEFAULT_CLASSES = "notice"
