"""BigNumber draws a ticket number in Textual's 3-row big digits, with every capital letter a
station may choose as a prefix: Textual's own glyphs where its font has them (0-9, A-F, "-"),
3x3 box-drawing ones for G-Z, the same in the normal and the bold font."""

from __future__ import annotations

import string

import pytest
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.renderables.digits import DIGITS
from textual.renderables.digits import Digits as TextualDigits
from textual.widgets import Digits

from cabin.kiosk.faces.widgets import BigDigits, BigNumber

from facekit import pilot_test

LETTERS = string.ascii_uppercase
VARIANTS = [pytest.param(False, id="normal"), pytest.param(True, id="bold")]


def rows(text: str, bold: bool, renderable=BigDigits) -> list[str]:
    segments = renderable(text).render(Style(bold=bold))
    return ["".join(s.text for s in line) for line in Segment.split_lines(segments)]


@pytest.mark.parametrize("bold", VARIANTS)
@pytest.mark.parametrize("character", list(LETTERS + string.digits + "-"))
def test_each_glyph_is_three_rows_of_three_cells(character, bold):
    glyph = rows(character, bold)
    assert len(glyph) == 3
    assert [cell_len(row) for row in glyph] == [3, 3, 3]
    assert "".join(glyph).strip(), "a glyph draws something"
    assert BigDigits.get_width(character) == 3


@pytest.mark.parametrize("bold", VARIANTS)
def test_letters_differ_from_each_other_and_from_the_digits(bold):
    letters = {c: tuple(rows(c, bold)) for c in LETTERS}
    digits = {c: tuple(rows(c, bold)) for c in string.digits}
    assert len(set(letters.values())) == 26
    assert not set(letters.values()) & set(digits.values())


@pytest.mark.parametrize("bold", VARIANTS)
def test_textuals_own_glyphs_are_used_unchanged(bold):
    """Every character Textual's font draws (0-9, A-F, "-" ...) comes out exactly as Textual draws
    it, segments and styles alike; so does a character neither font has."""
    style = Style(bold=bold, color="red")
    for text in [*DIGITS, "A001", "F999", "-", "12:30", "C-7", "x.5", "a?"]:
        assert list(BigDigits(text).render(style)) == list(TextualDigits(text).render(style)), text
        assert BigDigits.get_width(text) == TextualDigits.get_width(text), text


def test_textual_keeps_its_letters_light_in_bold_and_so_do_the_new_ones():
    for c in "ABCDEF":
        assert rows(c, True, TextualDigits) == rows(c, False, TextualDigits)
    for c in LETTERS:
        assert rows(c, True) == rows(c, False)


def test_width_counts_every_letter_as_three_cells():
    assert BigDigits.get_width("J012") == 12
    assert BigDigits.get_width("A001") == 12
    assert BigDigits.get_width("Z9") == 6
    assert BigDigits.get_width("j") == 1  # no glyph: one cell on the bottom row, as in Textual
    assert rows("J012", True)[0].startswith("  ╷")
    assert rows("j0", False) == [" ╭─╮", " │ │", "j╰─╯"]


class Tiny(App):
    CSS = "BigNumber, Digits { width: auto; }"

    def compose(self) -> ComposeResult:
        yield BigNumber("-", id="big")
        yield Digits("A001", id="textual")


def lines(widget) -> list[str]:
    width, height = widget.size
    return [strip.text for strip in widget.render_lines(Region(0, 0, width, height))]


@pytest.mark.parametrize("bold", VARIANTS)
@pilot_test
async def test_bignumber_in_an_app(bold):
    app = Tiny()
    async with app.run_test(size=(40, 8)) as pilot:
        big, textual = app.query_one("#big", BigNumber), app.query_one("#textual", Digits)
        if bold:
            big.styles.text_style = textual.styles.text_style = "bold"
        big.show("J012")
        await pilot.pause()
        assert big.value == "J012"
        assert tuple(big.size) == (12, 3)
        drawn = lines(big)
        assert drawn == rows("J012", bold) and len(drawn) == 3

        big.show("A001")
        await pilot.pause()
        assert big.value == "A001"
        assert lines(big) == lines(textual) == rows("A001", bold)
        assert [list(s) for s in big.render_lines(Region(0, 0, 12, 3))] == \
               [list(s) for s in textual.render_lines(Region(0, 0, 12, 3))]

        big.show("K1234")  # a wider number gets a new layout
        await pilot.pause()
        assert tuple(big.size) == (15, 3)
        big.show(None)
        await pilot.pause()
        assert big.value == "-" and tuple(big.size) == (3, 3)
