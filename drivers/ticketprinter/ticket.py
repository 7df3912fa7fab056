"""The queue ticket: its layout as data, then as ESC/POS bytes two ways.

`native_ticket` sends text commands and a native QR code (a few hundred bytes); the
configured fallback `raster_ticket` draws the same layout with pillow and sends it as one
image (tens of kilobytes: half a minute at 9600 baud), for printers whose Chinese font or QR
support is missing or wrong. Both print the same layout, so the simulator's rendering of
either can be checked against `layout(content)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import escpos
from ..fonts import FontFile, cjk_font
from .elements import Element, Feed, QrCode, Raster, Run, TextLine, text_of
from .render import PRINT_DOTS, render

QR_MODULE, QR_LEVEL = 6, "M"  # 6-dot modules: a 70-character token is a 3 cm symbol
TAIL_FEED = 4                 # lines between the QR code and the cutter


@dataclass(frozen=True)
class TicketContent:
    station: str
    number: str
    errands: list[str]
    issued_at: str
    ahead: int
    estimated_wait_min: float
    token: str


def layout(c: TicketContent) -> list[Element]:
    def centred(text: str, w: int = 1, h: int = 1) -> TextLine:
        return TextLine((Run(text, w, h),), "centre")

    ahead = "前面没有人" if c.ahead <= 0 else f"前面还有 {c.ahead} 人"
    wait = ("预计无需等候" if c.estimated_wait_min <= 0
            else f"预计等候约 {max(1, round(c.estimated_wait_min))} 分钟")
    return [
        centred(c.station),
        centred(c.number, 4, 4),
        *(centred(f"{i}. {errand}") for i, errand in enumerate(c.errands, 1)),
        centred(c.issued_at),
        centred(f"{ahead}  {wait}"),
        TextLine((), "centre"),  # a blank line: the QR code's quiet zone above
        QrCode(c.token.encode("ascii"), QR_MODULE, QR_LEVEL, "centre"),
        Feed(TAIL_FEED),
    ]


def encode(elements: list[Element]) -> bytes:
    """Text commands for a layout; sizes and alignment are sent only when they change."""
    out = [escpos.init()]
    align, size = "left", (1, 1)
    for el in elements:
        if isinstance(el, (TextLine, QrCode, Raster)) and el.align != align:
            align = el.align
            out.append(escpos.align(align))
        if isinstance(el, TextLine):
            for run in el.runs:
                if (run.width, run.height) != size:
                    size = (run.width, run.height)
                    out.append(escpos.size(*size))
                out.append(escpos.text(run.text))
            out.append(escpos.LF)
        elif isinstance(el, QrCode):
            out.append(escpos.qr(el.data, el.module, el.level))
        elif isinstance(el, Raster):
            out.append(bytes((0x1D, 0x76, 0x30, el.mode)) + el.width_bytes.to_bytes(2, "little")
                       + el.height.to_bytes(2, "little") + el.data)
        elif isinstance(el, Feed):
            out.append(escpos.feed(el.lines))
    out.append(escpos.cut("partial"))
    return b"".join(out)


def native_ticket(content: TicketContent) -> bytes:
    return encode(layout(content))


def raster_ticket(content: TicketContent, font: FontFile | str | None = None) -> bytes:
    """The whole ticket (but the tail feed) as one raster image the printer's width, in `font`
    (a font file's path, or None: cabin.drivers.fonts' choice for the ticket's text)."""
    *drawn, tail = layout(content)
    if not isinstance(font, FontFile):
        font = cjk_font(text_of(drawn), configured=font or "")
    image = render(drawn, font, width=PRINT_DOTS, margin=0)
    return escpos.init() + escpos.raster(image) + escpos.feed(tail.lines) + escpos.cut("partial")
