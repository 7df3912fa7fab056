"""Draw a list of ticket elements as a thermal printer would print them: a 1-bit image.

Used twice: the raster fallback sends this drawing instead of text commands, and the
simulator draws what it understood into a PNG. Text cells follow the printer's fonts: 24 dots
high at size 1, magnified by the size command (a w x h run is drawn h times as large and then
stretched w/h wide); a line too wide for the paper wraps, as on the printer.
"""

from __future__ import annotations

import functools

import qrcode
from PIL import Image, ImageDraw, ImageFont

from . import barcodes
from .elements import Barcode, Element, QrCode, Raster, Run, TextLine
from .escpos import INVERT
from ..fonts import FontFile

PAPER_PX = 580       # the simulator's rendering: 576 printable dots and a hair of margin
PRINT_DOTS = 576     # an 80 mm printer's line
CELL, LINE = 24, 30  # character height and line pitch at size 1, in dots
QR_LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
             "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}


MAX_DRAWN = 4000     # dots of paper drawn for one ticket (50 cm): the cost of garbage stays bounded


@functools.lru_cache(maxsize=32)
def _font(font: FontFile, px: int) -> ImageFont.FreeTypeFont:
    # The basic layout: Chinese and Latin need no shaping, and it measures ~70x faster than raqm.
    return ImageFont.truetype(font.path, px, index=font.index, layout_engine=ImageFont.Layout.BASIC)


def render(elements: list[Element] | tuple[Element, ...], font: FontFile,
           width: int = PAPER_PX, margin: int = (PAPER_PX - PRINT_DOTS) // 2,
           max_height: int = MAX_DRAWN) -> Image.Image:
    """The drawing stops after `max_height` dots (a runaway ticket is cut short on the page)."""
    bands: list[tuple[Image.Image | None, str, int]] = []  # (image, align, height)
    total = 0
    for el in elements:
        if total >= max_height:
            break
        if isinstance(el, TextLine):
            for runs in _wrap(el.runs, font, width - 2 * margin, max_height - total):
                img = _text(runs, font)
                bands.append((img, el.align, max(img.height + LINE - CELL, LINE)))
                total += bands[-1][2]
            continue
        if isinstance(el, QrCode):
            img = _qr(el)
        elif isinstance(el, Raster):
            img = _raster(el)
        elif isinstance(el, Barcode):
            img = _barcode(el, font, width - 2 * margin)
        else:  # Feed
            bands.append((None, "left", el.lines * LINE))
            total += el.lines * LINE
            continue
        bands.append((img, el.align, img.height if img else 0))
        total += bands[-1][2]
    page = Image.new("L", (width, max(1, min(max_height, sum(h for _, _, h in bands)))), 255)
    y = 0
    for img, align, h in bands:
        if img is not None:
            room = width - 2 * margin - img.width
            x = margin + {"left": 0, "centre": room // 2, "right": room}[align]
            page.paste(img.convert("L"), (max(x, margin), y))
        y += h
    return page.convert("1", dither=Image.Dither.NONE)


def _run_width(run: Run, font: FontFile) -> float:
    return _font(font, CELL * run.height).getlength(run.text) * run.width / run.height


def _wrap(runs: tuple[Run, ...], font: FontFile, room: int, height_left: int = MAX_DRAWN) -> list[list[Run]]:
    """The printed lines of one line of text; no more than `height_left` dots' worth."""
    if sum(_run_width(r, font) for r in runs) <= room:
        return [list(runs)]
    most = max(1, height_left // LINE)
    lines: list[list[Run]] = [[]]
    used = 0.0
    for run in runs:
        text = ""
        for ch in run.text:
            if len(lines) > most:
                break
            w = _run_width(Run(ch, run.width, run.height), font)
            if used + w > room and (text or lines[-1]):
                if text:
                    lines[-1].append(Run(text, run.width, run.height))
                lines.append([])
                text, used = "", 0.0
            text, used = text + ch, used + w
        if text:
            lines[-1].append(Run(text, run.width, run.height))
    return lines


def _text(runs: list[Run], font: FontFile) -> Image.Image:
    """One printed line: the runs side by side, sharing a baseline."""
    parts = []
    for run in runs:
        f = _font(font, CELL * run.height)
        ascent, descent = f.getmetrics()
        img = Image.new("L", (max(1, round(f.getlength(run.text))), ascent + descent), 255)
        ImageDraw.Draw(img).text((0, 0), run.text, font=f, fill=0)
        if run.width != run.height:
            img = img.resize((max(1, round(img.width * run.width / run.height)), img.height))
        parts.append((img, ascent))
    top = max((a for _, a in parts), default=0)
    height = max((top - a + img.height for img, a in parts), default=CELL)
    line = Image.new("L", (max(1, sum(img.width for img, _ in parts)), max(height, 1)), 255)
    x = 0
    for img, ascent in parts:
        line.paste(img, (x, top - ascent))
        x += img.width
    return line


def _qr(el: QrCode) -> Image.Image | None:
    code = qrcode.QRCode(error_correction=QR_LEVELS[el.level], box_size=el.module, border=0)
    code.add_data(el.data)
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        return None  # more than a symbol holds: the printer prints nothing either
    return code.make_image().get_image()


def _raster(el: Raster) -> Image.Image:
    img = Image.frombytes("1", (el.width_bytes * 8, el.height), el.data.translate(INVERT))
    sx, sy = (1, 2, 1, 2)[el.mode], (1, 1, 2, 2)[el.mode]
    if (sx, sy) != (1, 1):
        img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
    return img


def _barcode(el: Barcode, font: FontFile, room: int) -> Image.Image | None:
    """Bars `module` dots per narrow module, `height` dots high, the data in text above and/or
    below; nothing when the printer would refuse the data or the symbol is wider than the line."""
    widths = barcodes.bars(el.kind, el.data)
    if widths is None or sum(widths) * el.module > room:
        return None
    hri = el.data.decode("ascii", "replace")
    if el.kind == barcodes.CODE128:
        hri = "".join(ch for ch in hri[2:] if ch.isprintable())  # the code set prefix is not printed
    above, below = el.hri & 1, el.hri & 2
    text_h = LINE if hri else 0
    img = Image.new("L", (sum(widths) * el.module, el.height + text_h * (bool(above) + bool(below))), 255)
    draw = ImageDraw.Draw(img)
    top = text_h if above else 0
    x = 0
    for i, w in enumerate(widths):
        if i % 2 == 0:
            draw.rectangle((x, top, x + w * el.module - 1, top + el.height - 1), fill=0)
        x += w * el.module
    f = _font(font, CELL)
    for y in ([0] if above else []) + ([top + el.height + (LINE - CELL) // 2] if below else []):
        draw.text(((img.width - f.getlength(hri)) / 2, y), hri, font=f, fill=0)
    return img
