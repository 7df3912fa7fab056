"""Sample jobs for the printers, shared by the drivers' tests, the store's and the benchmarks: a
card face and a ticket's content with its signed token."""

from __future__ import annotations

from PIL import Image, ImageDraw

from cabin.drivers.ticketprinter.ticket import TicketContent

TOKEN = "CABIN1:350206001:2026-11-28:20261128-A023-00123:" + "Zm9vYmFyYmF6cXV4LWhtYW"  # 70 chars
CONTENT = TicketContent(  # a realistic ticket: two errands, a 70-character signed token
    station="思明分局莲前派出所", number="A023", errands=["居民身份证换领", "出入境证件申请"],
    issued_at="2026-11-28 09:15", ahead=3, estimated_wait_min=12.4, token=TOKEN,
)


def face() -> Image.Image:
    """A landscape card face in greys: text, a photo box, a gradient (all thresholded)."""
    img = Image.new("RGB", (1016, 648), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 300, 380), fill=(60, 60, 60))
    for x in range(0, 256):
        draw.line((340 + x, 560, 340 + x, 620), fill=(x, x, x))
    for row in range(6):
        draw.text((340, 60 + row * 50), f"LINE {row} 0123456789", fill="black")
    return img
