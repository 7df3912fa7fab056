"""Card printer benchmark: the bytes of one temporary-card job, compressed, against the raw panel.

The face is what the counter prints on a temporary resident ID card (domain.md 3): the items of
Art 5 as text blocks in a CJK font (fontconfig's first Chinese font; pillow's own font and
pinyin when there is none) and a black-and-white photo, dithered as a photo must be to keep its
greys in one bit. It is drawn as the card is read (1016 x 648, landscape) and printed as the
648 x 1016 K panel. Figures, one result dict each (tests/bench.py's shape):

  card_face_job_bytes     the whole job (Pr ... Dbc ... Se) against the raw panel (82,296 bytes).
                          The spec sets no bound; the goal here is a sanity bound, at most 1.0
                          (a real face must cost less than the raw panel). The scheme only drops
                          blank lines and each line's trailing blank bytes, so a face whose text
                          runs across the card's short side keeps most of its bytes (~0.71).
  card_face_job_raw_bytes the same job with the uncompressed `Db`, for information
  card_blank_job_bytes    a blank face: the floor of the line scheme (a byte a line)
  card_noise_job_bytes    random dots, the worst case: a length byte a line more than raw
  card_face_wire_seconds  the compressed job's time on a 115200-baud line against the raw panel's
  card_job_s_115200       the whole `print_card` of that face (status, counters, serial number,
                          the job, the counters again) against the simulator over a pty paced at
                          115200 baud both ways, against the time all its bytes (sent and
                          answered) take on the wire: goal at most 1.10x (issue 13)
  card_garbage_1mb_s / card_garbage_1mb_peak_mb
                          1 MB of random bytes written to the simulator, then `Rco;c` answered:
                          the seconds until it has taken every byte and tracemalloc's peak,
                          against the bounds set for it, 5 s and 64 MB

Run alone: `python -m tests.bench_devices_card` (JSON lines, then a table).
"""

from __future__ import annotations

import functools
import json
import random
import time

from PIL import Image, ImageDraw, ImageFont

from cabin.drivers.cardprinter import CardPrinter, SimulatedCardPrinter, codec
from cabin.drivers.simhost import PtyHost, Reply
from cabin.drivers.fonts import cjk_font
from cabin.drivers.cardprinter.panel import PANEL_BYTES, compress, to_panel

from tests import benchtools

BAUD = 115200
GARBAGE_MAX_S, GARBAGE_MAX_MB = 5.0, 64


class PacedInbound:
    """The simulator behind a line that paces what is sent to it too (the host paces only the
    replies; a pty delivers the driver's bytes at once): a chunk arrives once its bytes, after
    those before it, would have crossed the wire, and the replies wait for it. Counts the bytes
    both ways."""

    def __init__(self, device, baud: int):
        self.device, self.byte_time = device, 10 / baud
        self.arrived = 0.0
        self.bytes_in = self.bytes_out = 0

    def receive(self, data: bytes) -> list[Reply]:
        now = time.monotonic()
        self.arrived = max(self.arrived, now) + len(data) * self.byte_time
        self.bytes_in += len(data)
        replies = self.device.receive(data)
        self.bytes_out += sum(len(r.data) for r in replies)
        if replies:
            replies[0] = Reply(replies[0].data, replies[0].delay + max(0.0, self.arrived - now))
        return replies


result = functools.partial(benchtools.result, digits=4)  # the card's byte ratios want a fourth digit


def photo(size=(307, 378), seed=1) -> Image.Image:
    """A synthetic ID photo in greys (background, head, shoulders, texture), dithered to 1 bit."""
    rng = random.Random(seed)
    w, h = size
    img = Image.linear_gradient("L").resize(size).point(lambda v: 170 + v // 4)
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.05, h * 0.72, w * 0.95, h * 1.4), fill=60)          # shoulders
    draw.ellipse((w * 0.27, h * 0.16, w * 0.73, h * 0.70), fill=150)        # face
    draw.chord((w * 0.25, h * 0.10, w * 0.75, h * 0.50), 180, 360, fill=35)  # hair
    for _ in range(1500):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.point((x, y), fill=rng.randrange(256))
    return img.convert("1")  # Floyd-Steinberg, pillow's default


def temporary_card_face() -> tuple[Image.Image, str]:
    path = cjk_font().path  # the packaged font when fontconfig has none: always a Chinese one
    face = Image.new("L", (1016, 648), "white")
    draw = ImageDraw.Draw(face)
    big, font = ImageFont.truetype(path, 44), ImageFont.truetype(path, 30)
    lines = [("姓名", "张三丰"), ("性别", "男    民族  汉"), ("出生", "1990年1月1日"),
             ("住址", "福建省厦门市思明区"), ("", "莲前西路123号401室"),
             ("签发机关", "厦门市公安局思明分局"), ("有效期限", "2026.11.23-2027.02.23")]
    title, number = "临时居民身份证", ("公民身份号码", "350203199001011234")
    draw.text((508, 30), title, font=big, fill=0, anchor="mt")
    for row, (label, value) in enumerate(lines):
        y = 110 + row * 52
        draw.text((40, y), label, font=font, fill=0)
        draw.text((190, y), value, font=font, fill=0)
    draw.text((40, 580), number[0], font=font, fill=0)
    draw.text((250, 580), number[1], font=font, fill=0)
    face.paste(photo(), (670, 110))
    return face, path


def job_bytes(panel: bytes, compressed: bool) -> int:
    download = codec.download_compressed(compress(panel)) if compressed else codec.download(panel)
    return len(b"".join([codec.ack_mode(), codec.set_ribbon(), codec.insert_card(), codec.set_contrast(10),
                         codec.sequence_start(), codec.front(), download, codec.sequence_end()]))


def job_on_the_wire(face: Image.Image, runs: int = 3) -> dict:
    """print_card at BAUD over a pty paced both ways: the best of `runs` against its bytes' time."""
    best = None
    for run in range(runs):
        line = PacedInbound(SimulatedCardPrinter(), BAUD)
        with PtyHost(line, baud=BAUD) as host, CardPrinter(host.path, baudrate=BAUD, timeout=2) as printer:
            printer.status()                       # warm-up: the port's settings, first imports
            line.bytes_in = line.bytes_out = 0
            start = time.perf_counter()
            printer.print_card(face, f"B-{run}")
            took = time.perf_counter() - start
        wire = (line.bytes_in + line.bytes_out) * 10 / BAUD
        if best is None or took / wire < best[0] / best[1]:
            best = (took, wire, line.bytes_in, line.bytes_out)
    took, wire, sent, answered = best
    return result("card_job_s_115200", took, "s", wire, 1.10, "max",
                  f"print_card of the face at {BAUD} baud, pty paced both ways; floor = its {sent} bytes sent and"
                  f" {answered} answered on the wire; best of {runs}")


def swallow_garbage(traced: bool) -> tuple[float, float]:
    """1 MB of random bytes written to the simulator's pty, then `Rco;c`: (seconds until the
    simulator has taken every byte, tracemalloc's peak in MB or 0)."""
    line = PacedInbound(SimulatedCardPrinter(), 10**9)  # unpaced: as fast as the simulator takes it
    with PtyHost(line) as host, CardPrinter(host.path, timeout=2) as printer:
        took, peak = benchtools.swallow_garbage(printer.link.write, lambda: line.bytes_in, traced)
        if printer.cards_inserted() != 0:
            raise AssertionError("the query after the garbage was not answered right")
    return took, peak


def bench_garbage() -> list[dict]:
    took, _ = swallow_garbage(traced=False)
    _, peak = swallow_garbage(traced=True)
    note = "1 MB of random bytes through the pty, then Rco;c answered; the floor is the bound set for it"
    return [result("card_garbage_1mb_s", took, "s", GARBAGE_MAX_S, 1.0, "max", note),
            result("card_garbage_1mb_peak_mb", peak, "MB", GARBAGE_MAX_MB, 1.0, "max",
                   note + " (tracemalloc's peak over every thread while the bytes went through)")]


def bench_card() -> list[dict]:
    face, font = temporary_card_face()
    panel = to_panel(face)
    job, raw_job = job_bytes(panel, True), job_bytes(panel, False)
    noise = bytes(random.Random(3).getrandbits(8) for _ in range(PANEL_BYTES))
    return [
        result("card_face_job_bytes", job, "bytes", PANEL_BYTES, 1.0, "max",
               f"temporary-card face, text in {font}, dithered 307x378 photo; floor = raw K panel"),
        result("card_face_job_raw_bytes", raw_job, "bytes", PANEL_BYTES, note="the same job with Db (uncompressed)"),
        result("card_blank_job_bytes", job_bytes(bytes(PANEL_BYTES), True), "bytes", PANEL_BYTES,
               note="blank face: one byte a line"),
        result("card_noise_job_bytes", job_bytes(noise, True), "bytes", PANEL_BYTES,
               note="random dots, the worst case: one length byte a line over raw"),
        result("card_face_wire_seconds", job * 10 / BAUD, "s", PANEL_BYTES * 10 / BAUD,
               note=f"at {BAUD} baud, 8N1; floor = the raw panel's time"),
        job_on_the_wire(face),
        *bench_garbage(),
    ]


def main() -> None:
    results = bench_card()
    for line in results:
        print(json.dumps(line, ensure_ascii=False))
    print(f"{'name':26} {'value':>12} {'floor':>12} {'ratio':>7} {'goal':>9}  ok")
    for r in results:
        goal = f"{r['goal_is']} {r['goal']}" if r["goal"] is not None else "-"
        print(f"{r['name']:26} {r['value']:>12} {r['floor']:>12} {r['ratio']:>7} {goal:>9}  {r['ok']}")


if __name__ == "__main__":
    main()
