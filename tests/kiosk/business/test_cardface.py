"""The temporary card's face: every Art 5 item where it belongs, black and white, no missing glyph."""

from __future__ import annotations

from datetime import date

import pytest
from PIL import Image, ImageDraw, ImageFont

from cabin.drivers.idreader.simphoto import decode
from cabin.drivers.idreader.simulator import placeholder
from cabin.drivers.fonts import cjk_font
from cabin.kiosk.business import cardface
from cabin.kiosk.business.cardface import FaceFields, render
from cabin.queue.errors import CabinError


@pytest.fixture(scope="module")
def font():
    f = cjk_font()  # fontconfig finds nothing in the suite (conftest): the packaged font
    return f.path, f.index


def fields(**kw) -> FaceFields:
    base = dict(name="王秀英", sex="女", nation="回", birth=date(1958, 7, 26), address="福建省厦门市思明区中山路88号之二",
                number="350203195807260026", valid_from=date(2026, 11, 28), valid_to=date(2027, 2, 28),
                authority="厦门市公安局湖里分局", photo=decode(placeholder(b"PHOTO", "350203195807260026")))
    return FaceFields(**{**base, **kw})


def drawn(text: str, xy: tuple[int, int], size: int, font) -> set[tuple[int, int]]:
    """The dots `text` makes at `xy`, drawn here on its own."""
    image = Image.new("1", (cardface.WIDTH, cardface.HEIGHT), 1)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text(xy, text, font=ImageFont.truetype(font[0], size, index=font[1]), fill=0)
    w, h = image.size
    data = image.load()
    return {(x, y) for y in range(h) for x in range(w) if data[x, y] == 0}


def test_every_item_is_printed_where_it_belongs(font):
    face = render(fields(), *font)
    assert face.size == (1016, 648) and face.mode == "1"
    data = face.load()
    black = lambda dots: all(data[p] == 0 for p in dots)  # noqa: E731
    y = cardface.ROW_Y
    for text, xy, size in [
        ("王秀英", (cardface.VALUE_X, y["name"] - 2), cardface.VALUE_SIZE + 4),
        ("女", (cardface.VALUE_X, y["sex"]), cardface.VALUE_SIZE),
        ("回", (cardface.VALUE_X + 230, y["sex"]), cardface.VALUE_SIZE),
        ("1958 年 7 月 26 日", (cardface.VALUE_X, y["birth"]), cardface.VALUE_SIZE),
        ("2026.11.28-2027.02.28", (cardface.VALUE_X + 20, y["validity"]), cardface.VALUE_SIZE - 4),
        ("厦门市公安局湖里分局", (cardface.VALUE_X + 20, y["authority"]), cardface.VALUE_SIZE - 4),
        ("临时居民身份证", None, cardface.TITLE_SIZE),
    ]:
        if xy is None:
            width = ImageFont.truetype(font[0], size, index=font[1]).getlength(text)
            xy = ((cardface.WIDTH - int(width)) // 2, 28)
        dots = drawn(text, xy, size, font)
        assert dots and black(dots), text
    label = ImageFont.truetype(font[0], cardface.LABEL_SIZE, index=font[1])
    number_x = cardface.LABEL_X + int(label.getlength("公民身份号码")) + 24
    assert black(drawn("350203195807260026", (number_x, y["number"] - 6), cardface.NUMBER_SIZE, font))
    size, lines = cardface.address_lines("福建省厦门市思明区中山路88号之二", *font)
    assert "".join(lines) == "福建省厦门市思明区中山路88号之二" and len(lines) == 2
    for i, line in enumerate(lines):
        assert black(drawn(line, (cardface.VALUE_X, y["address"] + i * (size + 8)), size, font)), line
    for key in ("name", "sex", "birth", "address", "number", "validity", "authority"):   # and the labels
        assert black(drawn(cardface.LABELS[key], (cardface.LABEL_X, y[key] + 6), cardface.LABEL_SIZE, font)), key
    photo = face.crop(cardface.PHOTO_BOX)
    histogram = photo.convert("L").histogram()
    assert sum(histogram[1:255]) == 0                            # black and white only
    assert 0.2 < histogram[0] / (photo.width * photo.height) < 0.8


def test_a_missing_glyph_refuses_the_face(font):
    assert cardface.missing_characters("𠮷", *font) == ["𠮷"]  # the packaged font has no Extension B
    with pytest.raises(CabinError, match=r"no glyph for 𠮷 \(U\+20BB7\)"):
        render(fields(name="陈𠮷"), *font)
    assert cardface.missing_characters("王 秀英", *font) == []


def test_long_addresses_are_set_smaller_then_refused(font):
    long = "新疆维吾尔自治区伊犁哈萨克自治州察布查尔锡伯自治县孙扎齐牛录乡某某村某某组某某号" + "幸福小区十二栋三单元"
    assert cardface.address_lines(long, *font)[0] < cardface.VALUE_SIZE - 4
    render(fields(address=long), *font)
    with pytest.raises(CabinError, match="address is too long"):
        render(fields(address=long * 3), *font)
