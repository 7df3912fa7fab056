"""The temporary resident ID card's face, drawn with pillow for the card printer's K panel.

Every item of Art 5 (domain.md 3): name, sex, ethnicity, birth date, registered address, ID
number, the black-and-white photo, the validity period and the issuing authority. One
monochrome panel (Art 4), so the face is drawn in mode "1" at the printer's resolution: a card
is 1016 x 648 dots landscape (85.6 x 54 mm at 300 dpi), text without anti-aliasing (grey edges
would be thresholded unevenly), the photo dithered once here so the panel keeps its dots.

A face is refused, never drawn with a missing-glyph box, when the font lacks a character of
what it must print (`cabin.drivers.fonts.missing_characters`, read from the font's own character
map): an identity card that shows a box instead of part of a name is a wrong card. The font is
chosen for the face's text (`face_text`) by `cabin.drivers.fonts.cjk_font`.
Long names and addresses are set smaller until they fit; past the smallest size the face is
refused with the reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from PIL import Image, ImageDraw, ImageFont, ImageOps

from cabin.drivers.fonts import missing_characters
from cabin.queue.errors import CabinError

WIDTH, HEIGHT = 1016, 648
TITLE = "临时居民身份证"
PHOTO_BOX = (700, 104, 960, 424)   # left, top, right, bottom: 260 x 320 dots, 22 x 27 mm
LABEL_X, VALUE_X, TEXT_RIGHT = 56, 196, 672
LABEL_SIZE, VALUE_SIZE, NUMBER_SIZE, TITLE_SIZE = 28, 36, 44, 46
SMALLEST = 24
ROW_Y = {"name": 112, "sex": 176, "birth": 240, "address": 304, "number": 468, "validity": 536, "authority": 590}
ADDRESS_LINES = 3


@dataclass(frozen=True)
class FaceFields:
    # personal data: left out of the repr, which ends up in logs and tracebacks
    name: str = field(repr=False)
    sex: str = field(repr=False)             # 男 / 女
    nation: str = field(repr=False)          # 汉, 回, ... (without 族)
    birth: date = field(repr=False)
    address: str = field(repr=False)
    number: str = field(repr=False)
    valid_from: date = None
    valid_to: date = None
    authority: str = ""
    photo: Image.Image = field(default=None, repr=False)   # any mode; made black-and-white here

    def texts(self) -> dict[str, str]:
        """What the face prints, item by item (the photo aside)."""
        return {
            "title": TITLE,
            "name": self.name, "sex": self.sex, "nation": self.nation,
            "birth": f"{self.birth.year} 年 {self.birth.month} 月 {self.birth.day} 日",
            "address": self.address, "number": self.number,
            "validity": f"{self.valid_from:%Y.%m.%d}-{self.valid_to:%Y.%m.%d}",
            "authority": self.authority,
        }


LABELS = {"name": "姓名", "sex": "性别", "nation": "民族", "birth": "出生", "address": "住址",
          "number": "公民身份号码", "validity": "有效期限", "authority": "签发机关"}


def face_text(fields: FaceFields) -> str:
    """Every character the face prints: the items and their labels."""
    return "".join(fields.texts().values()) + "".join(LABELS.values())


def check_font(fields: FaceFields, path: str, index: int = 0) -> None:
    missing = missing_characters(face_text(fields), path, index)
    if missing:
        shown = " ".join(f"{c} (U+{ord(c):04X})" for c in missing)
        raise CabinError("the card's font has no glyph for {shown}: an identity card must not show a"
                         " missing-glyph box, so it is not printed. Install a font that has them (one with CJK"
                         " Extension B for rare characters): a system font is used as soon as it has every"
                         " character, or set [temporary_card] font to it", shown=shown)


@functools.lru_cache(maxsize=64)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def bw_photo(image: Image.Image) -> Image.Image:
    """The photo as the card prints it: grey, contrast stretched, fitted into the photo box
    (centred on white) and dithered to black and white."""
    w, h = PHOTO_BOX[2] - PHOTO_BOX[0], PHOTO_BOX[3] - PHOTO_BOX[1]
    grey = ImageOps.autocontrast(ImageOps.exif_transpose(image).convert("L"), cutoff=1)
    fitted = ImageOps.contain(grey, (w, h), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (w, h), 255)
    canvas.paste(fitted, ((w - fitted.width) // 2, (h - fitted.height) // 2))
    return canvas.convert("1")  # Floyd-Steinberg


def _fit_size(text: str, path: str, index: int, size: int, width: int) -> int:
    while size > SMALLEST and _font(path, index, size).getlength(text) > width:
        size -= 2
    return size


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines no wider than `width`, broken between any two characters (Chinese has no spaces)."""
    lines, line = [], ""
    for c in text:
        if line and font.getlength(line + c) > width:
            lines.append(line)
            line = c.lstrip()
        else:
            line += c
    return lines + [line] if line else lines


def address_lines(address: str, path: str, index: int) -> tuple[int, list[str]]:
    width = TEXT_RIGHT - VALUE_X
    for size in range(VALUE_SIZE - 4, SMALLEST - 1, -2):
        lines = _wrap(address, _font(path, index, size), width)
        if len(lines) <= ADDRESS_LINES:
            return size, lines
    raise CabinError("the address is too long for the card ({count} characters; at most"
                     " {lines} lines fit): shorten it as the household register writes it",
                     count=len(address), lines=ADDRESS_LINES)


def render(fields: FaceFields, path: str, index: int = 0) -> Image.Image:
    """The face, 1016 x 648, mode "1" (black = a dot the printer prints... drawn as 0)."""
    check_font(fields, path, index)
    texts = fields.texts()
    face = Image.new("1", (WIDTH, HEIGHT), 1)
    draw = ImageDraw.Draw(face)
    draw.fontmode = "1"  # no anti-aliasing: every dot is black or white
    label = _font(path, index, LABEL_SIZE)

    def put(x: int, y: int, text: str, size: int) -> None:
        draw.text((x, y), text, font=_font(path, index, size), fill=0)

    title = _font(path, index, TITLE_SIZE)
    put((WIDTH - int(title.getlength(TITLE))) // 2, 28, TITLE, TITLE_SIZE)
    for key in ("name", "sex", "birth", "address", "number", "validity", "authority"):
        draw.text((LABEL_X, ROW_Y[key] + 6), LABELS[key], font=label, fill=0)

    name_size = _fit_size(texts["name"], path, index, VALUE_SIZE + 4, TEXT_RIGHT - VALUE_X)
    if _font(path, index, name_size).getlength(texts["name"]) > TEXT_RIGHT - VALUE_X:
        raise CabinError("the name is too long for the card ({count} characters)", count=len(texts["name"]))
    put(VALUE_X, ROW_Y["name"] - 2, texts["name"], name_size)
    put(VALUE_X, ROW_Y["sex"], texts["sex"], VALUE_SIZE)
    draw.text((VALUE_X + 140, ROW_Y["sex"] + 6), LABELS["nation"], font=label, fill=0)
    put(VALUE_X + 230, ROW_Y["sex"], texts["nation"], VALUE_SIZE)
    put(VALUE_X, ROW_Y["birth"], texts["birth"], VALUE_SIZE)
    size, lines = address_lines(texts["address"], path, index)
    for i, line in enumerate(lines):
        put(VALUE_X, ROW_Y["address"] + i * (size + 8), line, size)
    number_x = LABEL_X + int(label.getlength(LABELS["number"])) + 24
    put(number_x, ROW_Y["number"] - 6, texts["number"], NUMBER_SIZE)
    put(VALUE_X + 20, ROW_Y["validity"], texts["validity"], VALUE_SIZE - 4)
    authority_size = _fit_size(texts["authority"], path, index, VALUE_SIZE - 4, WIDTH - VALUE_X - 40)
    put(VALUE_X + 20, ROW_Y["authority"], texts["authority"], authority_size)

    face.paste(bw_photo(fields.photo), PHOTO_BOX[:2])
    draw.rectangle(PHOTO_BOX, outline=0, width=2)
    return face
