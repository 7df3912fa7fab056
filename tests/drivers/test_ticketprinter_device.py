"""The simulated ticket printer as a device (domain.md 7.3): real-time status between any two
bytes, Chinese mode at power-up, `GS k` barcodes, `ESC *` and `GS ( L` images, the error
cause of an offline printer. Pure byte vectors into the simulator, its drawing decoded."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image, ImageOps

from cabin.drivers.fonts import cjk_font
from cabin.drivers.ticketprinter import barcodes, escpos
from cabin.drivers.ticketprinter.elements import Barcode, Raster, Run, TextLine
from cabin.drivers.ticketprinter.escpos import Status, decode_status
from cabin.drivers.ticketprinter.interpreter import Interpreter
from cabin.drivers.ticketprinter.render import render
from cabin.drivers.ticketprinter.simulator import SimulatedTicketPrinter


def answer(sim: SimulatedTicketPrinter, data: bytes) -> bytes:
    return b"".join(r.data for r in sim.receive(data))


def tickets(stream: bytes, chunk: int | None = None) -> list[tuple]:
    interp, out = Interpreter(), []
    step = chunk or len(stream)
    for i in range(0, len(stream), step):
        out += [e.value for e in interp.feed(stream[i:i + step]) if e.kind == "ticket"]
    return out


def drawn(elements) -> Image.Image:
    """The ticket as printed, on paper with a margin (a scanner needs its quiet zone)."""
    return ImageOps.expand(render(elements, cjk_font("中")).convert("L"), 40, 255)


# --- real-time status --------------------------------------------------------------------------

@pytest.mark.parametrize("unfinished", [
    escpos.raster(Image.new("1", (64, 64), 0))[:300],           # a truncated raster image
    escpos.qr(b"CABIN")[:12],                                    # inside the QR commands
    b"\x1d\x6b\x04CAB",                                          # a barcode waiting for its NUL
    b"\x1b\x2a\x21\x10\x00\xff",                                  # a bit image missing columns
    b"\x1d",                                                     # half a command
])
def test_status_is_answered_in_the_middle_of_an_unfinished_command(unfinished):
    sim = SimulatedTicketPrinter(["near_end"])
    assert answer(sim, unfinished) == b""
    reply = answer(sim, escpos.STATUS_REQUEST)
    assert decode_status(*reply) == sim.status() == Status(paper_near_end=True)


def test_status_split_across_chunks_is_answered_once_its_last_byte_arrives():
    sim = SimulatedTicketPrinter()
    data = escpos.raster(Image.new("1", (16, 8), 0))[:10] + b"\x10\x04\x01\x10\x04\x04"
    got = [answer(sim, bytes((b,))) for b in data]
    assert b"".join(got) == b"\x12\x12"
    assert got[12] == b"\x12" and got[15] == b"\x12"  # at the third byte of each request


def test_status_after_a_cut_tells_the_outcome_of_that_ticket():
    sim = SimulatedTicketPrinter(paper_left=0)
    reply = answer(sim, b"ticket\n" + escpos.cut() + escpos.STATUS_REQUEST)
    assert decode_status(*reply).paper_out and sim.dropped == 1


def test_offline_error_cause_agrees_with_the_offline_cause():
    sim = SimulatedTicketPrinter(["offline"])
    printer, cause, error, paper = answer(sim, b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04")
    assert printer & 0x08 and cause & 0x40 and error & 0x08 and paper == 0x12
    ok = SimulatedTicketPrinter()
    assert answer(ok, b"\x10\x04\x03") == b"\x12"


# --- Chinese mode --------------------------------------------------------------------------------

def test_chinese_mode_is_on_at_power_up_and_after_init():
    gb = "派出所 A023".encode("gb18030")
    assert tickets(gb + b"\n" + escpos.cut()) == [(TextLine((Run("派出所 A023"),)),)]
    # FS . leaves it: the same bytes read as the code page's characters
    (line,), = tickets(b"\x1c\x2e" + gb + b"\n" + escpos.cut())
    assert "派" not in line.runs[0].text
    # ESC @ returns to the power-up state, Chinese mode included
    assert tickets(b"\x1c\x2e\x1b\x40" + gb + b"\n" + escpos.cut()) == [(TextLine((Run("派出所 A023"),)),)]


# --- barcodes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command, fmt, text", [
    (b"\x1d\x6b\x04CABIN-42\x00", "Code39", "CABIN-42"),                     # form A
    (b"\x1d\x6b\x45\x08CABIN-42", "Code39", "CABIN-42"),                     # form B
    (b"\x1d\x6b\x49\x0a{BCabin 42", "Code128", "Cabin 42"),
    (b"\x1d\x6b\x49\x06{C\x0c\x22\x38\x4e", "Code128", "12345678"),
    (b"\x1d\x6b\x02690123456789\x00", "EAN13", "6901234567892"),             # check digit added
    (b"\x1d\x6b\x43\x0d6901234567892", "EAN13", "6901234567892"),
    (b"\x1d\x6b\x031234567\x00", "EAN8", "12345670"),
    (b"\x1d\x6b\x0501234567\x00", "ITF", "01234567"),
])
def test_barcodes_are_drawn_as_bars_that_decode(command, fmt, text):
    stream = b"\x1b\x61\x01\x1d\x77\x02\x1d\x68\x50\x1d\x48\x02" + command + escpos.cut()
    for chunk in (None, 1, 5):
        (ticket,) = tickets(stream, chunk)
        (bc,) = ticket
        assert isinstance(bc, Barcode) and (bc.module, bc.height, bc.hri, bc.align) == (2, 80, 2, "centre")
    [found] = zxingcpp.read_barcodes(drawn(ticket))
    assert (found.format.name, found.text) == (fmt, text)


def test_a_barcode_the_printer_refuses_prints_nothing():
    (ticket,) = tickets(b"\x1d\x6b\x026901234567890\x00" + escpos.cut())  # wrong check digit
    assert barcodes.bars(ticket[0].kind, ticket[0].data) is None
    assert not zxingcpp.read_barcodes(drawn(ticket))


# --- images ------------------------------------------------------------------------------------

def pattern(width: int, height: int) -> Image.Image:
    """Black where x < width / 2 and y < height / 2, and a diagonal: mistakes in orientation show."""
    img = Image.new("1", (width, height), 255)
    for y in range(height):
        for x in range(width):
            if (x < width // 2 and y < height // 2) or x == y:
                img.putpixel((x, y), 0)
    return img


def ink(elements) -> Image.Image:
    """The printed image of one raster element, 1 = white as PIL has it."""
    (r,) = [e for e in elements if isinstance(e, Raster)]
    return Image.frombytes("1", (r.width_bytes * 8, r.height), r.data.translate(escpos.INVERT))


def same_dots(got: Image.Image, want: Image.Image) -> bool:
    return got.crop((0, 0, *want.size)).tobytes() == want.tobytes()


def columns(img: Image.Image, m: int) -> bytes:
    """`ESC *` bands as python-escpos sends them, written here from the ESC/POS definition."""
    rows = 24 if m >= 32 else 8
    out = b""
    for top in range(0, img.height, rows):
        data = bytearray()
        for x in range(img.width):
            bits = 0
            for y in range(top, top + rows):
                bits = bits << 1 | (y < img.height and img.getpixel((x, y)) == 0)
            data += bits.to_bytes(rows // 8, "big")
        out += b"\x1b\x2a" + bytes((m,)) + img.width.to_bytes(2, "little") + bytes(data) + b"\n"
    return out


def test_bit_column_image_prints_its_dots_in_place():
    img = pattern(40, 48)
    (ticket,) = tickets(b"\x1b\x33\x10" + columns(img, 33) + b"\x1b\x32" + escpos.cut())
    assert len(ticket) == 2 and all(isinstance(e, Raster) for e in ticket)  # two 24-dot bands
    band = Image.new("1", (40, 48), 255)
    for i, el in enumerate(ticket):
        band.paste(ink([el]).crop((0, 0, 40, 24)), (0, 24 * i))
    assert same_dots(band, img)


def test_bit_column_low_density_is_stretched():
    img = pattern(16, 8)
    (ticket,) = tickets(columns(img, 0) + escpos.cut())
    assert same_dots(ink(ticket), img.resize((32, 24), Image.Resampling.NEAREST))


@pytest.mark.parametrize("scale", [(1, 1), (2, 2)])
def test_graphics_store_and_print(scale):
    img = pattern(40, 30)
    data = img.tobytes().translate(escpos.INVERT)  # 40 dots: 5 bytes a row, 1 = print
    body = b"\x30\x70\x30" + bytes(scale) + b"\x31" + (40).to_bytes(2, "little") + (30).to_bytes(2, "little") + data
    stream = (b"\x1d\x28\x4c" + len(body).to_bytes(2, "little") + body
              + b"\x1d\x28\x4c\x02\x00\x30\x32" + escpos.cut())
    for chunk in (None, 7):
        (ticket,) = tickets(stream, chunk)
        assert same_dots(ink(ticket), img.resize((40 * scale[0], 30 * scale[1]), Image.Resampling.NEAREST))
    assert tickets(stream[:len(body) + 5] + escpos.cut()) == [()]  # stored, not printed


# --- bounded cost on garbage -------------------------------------------------------------------

def test_a_runaway_ticket_is_drawn_no_longer_than_the_cap():
    from cabin.drivers.ticketprinter.render import LINE, MAX_DRAWN, _wrap

    long_line = TextLine((Run("派出所" * 400),))
    elements = (long_line,) * 50 + (Raster(72, 3000, b"\xff" * 72 * 3000),) * 5
    assert render(elements, cjk_font("派出所")).height == MAX_DRAWN
    # the wrapping itself stops once the page is full: its work is bounded, not only its result
    assert len(_wrap(long_line.runs, cjk_font("派"), 576, 10 * LINE)) <= 11


def test_a_megabyte_of_random_bytes_then_a_valid_ticket(tmp_path):
    import random

    from cabin.drivers.ticketprinter.interpreter import MAX_ELEMENTS, MAX_LINE_BYTES
    from cabin.drivers.ticketprinter.parser import MAX_PENDING
    from cabin.drivers.ticketprinter.render import MAX_DRAWN

    sim = SimulatedTicketPrinter(out_dir=tmp_path)
    garbage = random.Random(13).randbytes(1 << 20)
    for i in range(0, len(garbage), 4096):
        sim.receive(garbage[i:i + 4096])
        interp = sim.interpreter
        assert len(interp.parser.pending) <= MAX_PENDING and len(interp.elements) <= MAX_ELEMENTS
        assert interp.line_bytes <= MAX_LINE_BYTES
    assert sim.printed > 0 and all(Image.open(p).height <= MAX_DRAWN for p in sim.pngs)
    # a status poll is answered at once, whatever the garbage left half-read
    assert decode_status(*answer(sim, escpos.STATUS_REQUEST)) == Status()
    # once any half-read command has had its bytes, a valid ticket prints as sent (after what the
    # garbage put on the paper since its last cut, as on a printer)
    before = sim.printed
    reply = answer(sim, b"\x00" * MAX_PENDING + escpos.init() + "号码 A023".encode("gb18030") + b"\n"
                   + escpos.cut() + escpos.STATUS_REQUEST)
    assert decode_status(*reply) == Status() and sim.printed == before + 1
    assert sim.tickets[-1][-1] == TextLine((Run("号码 A023"),))


# --- control lines (faults that change while it runs) ------------------------------------------

def test_control_lines_change_the_faults_mid_job():
    sim = SimulatedTicketPrinter()
    assert sim.control("help").startswith("ok lines: fault KIND on|off; faults; help; cover close")
    assert answer(sim, b"first half of a ticket\n") == b""
    assert sim.control("cover open") == "ok cover open; status cover_open"
    status = decode_status(*answer(sim, escpos.STATUS_REQUEST))
    assert status.cover_open and status.offline
    assert answer(sim, b"second half\n" + escpos.cut()) == b"" and (sim.printed, sim.dropped) == (0, 1)
    assert sim.control("cover close") == "ok cover closed; status ready"
    assert answer(sim, b"again\n" + escpos.cut() + escpos.STATUS_REQUEST) == b"\x12\x12\x12"
    assert sim.printed == 1


@pytest.mark.parametrize("line, reply, faults", [
    ("paper low", "ok paper low; status paper_near_end", {"near_end"}),
    ("paper out", "ok paper out; status paper_out", {"paper_out"}),
    ("paper in", "ok paper in; status ready", set()),
    ("fault offline on", "ok fault offline on", {"near_end", "offline"}),
    ("fault near_end off", "ok fault near_end off", set()),
    ("faults", "ok faults: near_end", {"near_end"}),
    ("fault jam on", "error: unknown fault 'jam': one of cover_open, near_end, offline, paper_out, silence",
     {"near_end"}),
    ("fault offline maybe", "error: say: fault KIND on|off", {"near_end"}),
    ("cover ajar", "error: unknown line 'cover ajar': send help for the lines this device takes", {"near_end"}),
    ("paper out now", "error: unexpected 'now': send help for the lines", {"near_end"}),
    ("", "error: empty line: send a command, e.g. help", {"near_end"}),
])
def test_control_line_answers(line, reply, faults):
    sim = SimulatedTicketPrinter(["near_end"])
    assert sim.control(line) == reply
    assert sim.faults == faults


def test_a_new_roll_ends_the_paper_countdown():
    sim = SimulatedTicketPrinter(paper_left=0)
    answer(sim, b"A\n" + escpos.cut())
    assert sim.status().paper_out
    assert sim.control("paper in") == "ok paper in; status ready"
    answer(sim, b"B\n" + escpos.cut())
    assert sim.printed == 1 and sim.tickets[-1] == (TextLine((Run("B"),)),)
