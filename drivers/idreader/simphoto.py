"""The simulated reader's photo decoder: `python -m cabin.drivers.idreader.simphoto WLT OUT`.

A real card's photo is WLT, a proprietary compression that only the reader vendor's decoder
turns into an image; Cabin runs that decoder as a configured command (`[temporary_card]
photo_decoder`, with {wlt} and {out} in its argv). The simulator's cards carry placeholder
bytes instead (`simulator.placeholder`), and this program is their decoder: it draws a plain
head-and-shoulders portrait, different per card (seeded by the bytes), 102 x 126 pixels as a
reader's decoder gives. It refuses anything that is not a simulator placeholder, so a demo
configuration pointed at a real reader says so instead of printing a made-up face.
"""

from __future__ import annotations

import sys

from PIL import Image, ImageDraw

MAGIC = b"CABIN-SIM-PHOTO\0"
SIZE = (102, 126)  # what readers' WLT decoders produce


def decode(data: bytes) -> Image.Image:
    if not data.startswith(MAGIC):
        raise ValueError("this is not a simulated card's photo: configure the reader vendor's WLT decoder"
                         " as [temporary_card] photo_decoder")
    seed = data[len(MAGIC):]
    image = Image.new("RGB", SIZE, (225, 230, 240))  # the pale blue of an ID photo's background
    draw = ImageDraw.Draw(image)
    skin = (200 + seed[0] % 40, 160 + seed[1] % 40, 130 + seed[2] % 40)
    hair = (20 + seed[3] % 60,) * 3
    cx = 51 + seed[4] % 7 - 3
    draw.ellipse((cx - 34, 112 - 24, cx + 34, 150), fill=(30 + seed[5] % 80, 40, 60))  # shoulders
    draw.rectangle((cx - 9, 70, cx + 9, 95), fill=skin)                                  # neck
    draw.ellipse((cx - 24, 22, cx + 24, 84), fill=skin)                                  # face
    draw.chord((cx - 26, 14, cx + 26, 62), 180, 360, fill=hair)                          # hair
    for dx in (-10, 10):                                                                  # eyes
        draw.ellipse((cx + dx - 3, 48, cx + dx + 3, 53), fill=(30, 30, 30))
    draw.line((cx - 8, 70, cx + 8, 70), fill=(150, 70, 70), width=2)                      # mouth
    return image


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m cabin.drivers.idreader.simphoto WLT_FILE OUT_IMAGE", file=sys.stderr)
        return 2
    try:
        with open(args[0], "rb") as f:
            image = decode(f.read())
        image.save(args[1], format="PNG")
    except (OSError, ValueError) as exc:
        print(f"simphoto: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
