"""What a printed ticket is made of, as plain data.

One vocabulary for the three places that need it: the ticket layout (ticket.py) is a list of
elements, the simulator's interpreter rebuilds the same list from the bytes it receives, and
render.py draws a list of them. So "the printer understood the ticket" is a list comparison.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """Text in one character size (width and height magnification, 1..8)."""
    text: str
    width: int = 1
    height: int = 1


@dataclass(frozen=True)
class TextLine:
    runs: tuple[Run, ...] = ()
    align: str = "left"


@dataclass(frozen=True)
class QrCode:
    data: bytes
    module: int = 3  # the printer's defaults: 3-dot modules, level L
    level: str = "L"
    align: str = "left"


@dataclass(frozen=True)
class Raster:
    """A `GS v 0` image as sent: `width_bytes` x `height`, 1 = black, rows packed MSB first."""
    width_bytes: int
    height: int
    data: bytes
    mode: int = 0  # 1 double width, 2 double height, 3 both
    align: str = "left"


@dataclass(frozen=True)
class Barcode:
    """A `GS k` barcode: symbology (barcodes.NAMES), its data bytes, module width and bar
    height in dots, and where the human-readable digits go (0 none, 1 above, 2 below, 3 both)."""
    kind: int
    data: bytes
    module: int = 3   # the printer's defaults: GS w 3, GS h 162, no HRI
    height: int = 162
    hri: int = 0
    align: str = "left"


@dataclass(frozen=True)
class Feed:
    lines: int


Element = TextLine | QrCode | Raster | Barcode | Feed


def text_of(elements) -> str:
    """The text the elements print: what a font must have glyphs for."""
    return "".join(run.text for el in elements if isinstance(el, TextLine) for run in el.runs)
