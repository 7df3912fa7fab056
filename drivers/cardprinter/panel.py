"""The monochrome K panel: a pillow image to 1-bit dots, and the line compression of `Dbc`.

A panel is 1016 lines of 648 dots (the head is 648 dots wide, 54 mm at 300 dpi; a card is
1016 lines long), one bit a dot, most significant bit first, bit 1 = a black dot: 81 bytes a
line, 82,296 bytes a panel.

Conversion rule (`to_panel`), in this order:
1. a landscape image (wider than high, as a card face is designed) is turned a quarter turn
   counter-clockwise, so its top edge becomes the first dot of every line;
2. an image of another size is scaled to fit 648 x 1016 keeping its proportions (Lanczos) and
   centred on white;
3. transparency is flattened on white; a mode "1" image keeps its dots as they are (a caller who
   wants halftones dithers first, e.g. `image.convert("1")`); any other image goes to 8-bit grey
   and a dot is black when its grey is below 128. No dithering here: the printed face is text
   and a black-and-white photo, and solid white runs are what the compression feeds on.

Compression (`compress`): per line, `00` = blank line, `FF` = full (all black) line, otherwise a
length byte n (1..81) and the line's first n bytes, the rest of the line being blank (trailing
blank bytes are dropped). `decompress` is its exact inverse and rejects anything else.
"""

from __future__ import annotations

from PIL import Image

from ..errors import ProtocolError

DOTS = 648                  # dots a line
LINES = 1016                # lines a panel
LINE_BYTES = DOTS // 8      # 81
PANEL_BYTES = LINE_BYTES * LINES  # 82,296
BLANK, FULL = 0x00, 0xFF
_BLANK_LINE = bytes(LINE_BYTES)
_FULL_LINE = b"\xff" * LINE_BYTES


def to_panel(image: Image.Image) -> bytes:
    """The 1-bit K panel of `image`, by the rule in the module's docstring."""
    if image.width > image.height:
        image = image.transpose(Image.Transpose.ROTATE_90)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, "white")
        image.alpha_composite(rgba)
    if image.mode != "1":
        image = image.convert("L")
    if image.size != (DOTS, LINES):
        scale = min(DOTS / image.width, LINES / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        scaled = image.convert("L").resize(size, Image.Resampling.LANCZOS)
        image = Image.new("L", (DOTS, LINES), 255)
        image.paste(scaled, ((DOTS - size[0]) // 2, (LINES - size[1]) // 2))
    # ink = 255 where a dot prints; mode "1" packs 255 as bit 1, MSB first: exactly the panel
    ink = image.convert("L").point(lambda v: 255 if v < 128 else 0)
    return ink.convert("1", dither=Image.Dither.NONE).tobytes()


def to_image(panel: bytes) -> Image.Image:
    """The panel as a mode "1" image, black where a dot prints (what a human expects to see)."""
    if len(panel) != PANEL_BYTES:
        raise ProtocolError(f"a K panel is {PANEL_BYTES} bytes, not {len(panel)}")
    return Image.frombytes("1", (DOTS, LINES), panel, "raw", "1;I")


def compress_line(line: bytes) -> bytes:
    if line == _BLANK_LINE:
        return bytes([BLANK])
    if line == _FULL_LINE:
        return bytes([FULL])
    kept = line.rstrip(b"\x00")
    return bytes([len(kept)]) + kept


def compress(panel: bytes) -> bytes:
    """The `Dbc` data of a whole panel (or of any whole number of lines)."""
    if len(panel) % LINE_BYTES:
        raise ValueError(f"{len(panel)} bytes is not a whole number of {LINE_BYTES}-byte lines")
    return b"".join(compress_line(panel[i:i + LINE_BYTES]) for i in range(0, len(panel), LINE_BYTES))


def decompress(data: bytes, max_lines: int = LINES) -> bytes:
    """The lines that `data` encodes; ProtocolError if it is not exactly whole encoded lines."""
    out = bytearray()
    i, lines = 0, 0
    while i < len(data):
        if lines == max_lines:
            raise ProtocolError(f"compressed data goes past {max_lines} lines")
        n = data[i]
        if n == BLANK:
            out += _BLANK_LINE
        elif n == FULL:
            out += _FULL_LINE
        elif n <= LINE_BYTES:
            if i + 1 + n > len(data):
                raise ProtocolError(f"compressed line {lines} is cut short ({len(data) - i - 1} of {n} bytes)")
            out += data[i + 1:i + 1 + n] + bytes(LINE_BYTES - n)
            i += n
        else:
            raise ProtocolError(f"compressed line {lines} claims {n} bytes; a line has {LINE_BYTES}")
        i += 1
        lines += 1
    return bytes(out)
