"""python-escpos, a client Cabin did not write, drives the simulated ticket printer as it would
a Chinese-market ESC/POS printer: over the pseudo-terminal (`Serial`) and over TCP (`Network`).

Nothing here comes from cabin.drivers: the simulator is started as a user would, `cabin sim
ticket-printer ... --json`, and what it printed is judged from its PNGs alone: the QR codes and
barcodes decode with zxing-cpp, an image's dots are where they were sent, Chinese text sent
without `FS &` prints as Chinese. Status answers are read through python-escpos's own
`is_online` and `paper_status`.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageOps

from simprocess import cabin_argv

escpos_printer = pytest.importorskip("escpos.printer")  # the test extra: python-escpos


class Simulator:
    """`cabin sim ticket-printer` in the background, with a python-escpos printer on it."""

    def __init__(self, tmp: Path, transport: str, faults=()):
        self.out = tmp / "out"
        where = ["--tcp", "127.0.0.1:0"] if transport == "network" else ["--link", str(tmp / "ticket")]
        self.proc = subprocess.Popen(
            [*cabin_argv(), "sim", "ticket-printer", *where, "--out", str(self.out), "--json",
             *(arg for f in faults for arg in ("--fault", f))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        url = json.loads(line)["url"]
        if transport == "network":
            host, port = url.removeprefix("socket://").rsplit(":", 1)
            self.printer = escpos_printer.Network(host, int(port), timeout=5)
        else:
            # read(16) waits out the timeout for the 15 bytes that never come: keep it short
            self.printer = escpos_printer.Serial(url, baudrate=115200, timeout=0.3, dsrdtr=False)
        self.printer.open()
        self.seen = 0

    def ticket(self) -> Image.Image | None:
        """Cut, then ask the status: answered after the cut, so its PNG is written by then."""
        self.printer.cut()
        assert self.printer.paper_status() in (0, 1, 2)
        pngs = sorted(self.out.glob("ticket-*.png")) if self.out.exists() else []
        if len(pngs) == self.seen:
            return None
        self.seen = len(pngs)
        return ImageOps.expand(Image.open(pngs[-1]).convert("L"), 40, 255)  # the paper's margin

    def stop(self) -> None:
        self.printer.close()
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=10) == 0


@pytest.fixture(params=["serial", "network"])
def sim(request, tmp_path):
    s = Simulator(tmp_path, request.param)
    yield s
    s.stop()


def decoded(img: Image.Image) -> list[tuple[str, str]]:
    return [(b.format.name, b.text) for b in zxingcpp.read_barcodes(img)]


def ink_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    return ImageOps.invert(img).getbbox()


def test_chinese_text_without_fs_ampersand_prints_as_chinese(sim):
    p = sim.printer
    text = "派出所 居民身份证 A023\n"
    p.text(text)  # python-escpos sends GB18030 as it is, counting on the printer's Chinese mode
    plain = sim.ticket()
    p._raw(b"\x1c\x26" + text.encode("gb18030") + b"\x1c\x2e")  # Chinese mode asked for
    asked = sim.ticket()
    p._raw(b"\x1c\x2e" + text.encode("gb18030") + b"\x1c\x26")  # Chinese mode left first
    left = sim.ticket()
    p.hw("INIT")  # ESC @: back to the power-up state, Chinese mode on
    p.text(text)
    after_init = sim.ticket()
    assert ink_box(plain) is not None
    assert ImageChops.difference(plain, asked).getbbox() is None
    assert ImageChops.difference(plain, after_init).getbbox() is None
    assert ImageChops.difference(plain, left).getbbox() is not None


@pytest.mark.parametrize("native", [True, False])
def test_qr_code_native_and_as_an_image(sim, native):
    sim.printer.qr("CABIN1:350206001:A023", native=native, size=6)
    assert ("QRCode", "CABIN1:350206001:A023") in decoded(sim.ticket())


@pytest.mark.parametrize("impl", ["bitImageRaster", "graphics", "bitImageColumn"])
def test_qr_code_image_in_each_implementation(sim, impl):
    sim.printer.qr("CABIN-IMPL", native=False, size=5, image_arguments={"impl": impl})
    assert ("QRCode", "CABIN-IMPL") in decoded(sim.ticket())


@pytest.mark.parametrize("code, bc, kw, expect", [
    ("CABIN-42", "CODE39", {}, ("Code39", "CABIN-42")),
    ("{BCabin 42", "CODE128", {"function_type": "B"}, ("Code128", "Cabin 42")),
    ("690123456789", "EAN13", {}, ("EAN13", "6901234567892")),
    ("6901234567892", "EAN13", {"function_type": "B"}, ("EAN13", "6901234567892")),
])
def test_barcodes(sim, code, bc, kw, expect):
    sim.printer.barcode(code, bc, width=2, height=80, **kw)
    assert expect in decoded(sim.ticket())


def pattern() -> Image.Image:
    """A block in the top-left corner and a diagonal, on a 96 x 48 image: black = print."""
    img = Image.new("L", (96, 48), 255)
    for y in range(48):
        for x in range(96):
            if (x < 40 and y < 20) or x == y or x == 95:
                img.putpixel((x, y), 0)
    return img


@pytest.mark.parametrize("impl", ["bitImageRaster", "graphics", "bitImageColumn"])
def test_image_dots_are_where_they_belong(sim, impl):
    img = pattern()
    sim.printer.image(img, impl=impl)
    printed = sim.ticket()
    left, top, right, bottom = ink_box(printed)
    assert (right - left, bottom - top) == img.size
    got = printed.crop((left, top, right, bottom)).point(lambda v: 0 if v < 128 else 255)
    assert ImageChops.difference(got, img).getbbox() is None


def test_status_poll_is_answered_behind_a_truncated_command(sim):
    p = sim.printer
    p._raw(b"\x1d\x76\x30\x00\x10\x00\x40\x00" + b"\xff" * 100)  # a raster that wants 1024 bytes
    assert p.is_online() is True and p.paper_status() == 2


@pytest.mark.parametrize("transport", ["serial", "network"])
@pytest.mark.parametrize("fault, online, paper, prints", [
    ((), True, 2, True),
    (("near_end",), True, 1, True),
    (("paper_out",), False, 0, False),
    (("cover_open",), False, 2, False),
    (("offline",), False, 2, False),
])
def test_faults_as_python_escpos_reads_them(tmp_path, transport, fault, online, paper, prints):
    s = Simulator(tmp_path, transport, fault)
    try:
        assert s.printer.is_online() is online
        assert s.printer.paper_status() == paper
        s.printer.text("A023\n")
        assert (s.ticket() is not None) is prints
    finally:
        s.stop()
