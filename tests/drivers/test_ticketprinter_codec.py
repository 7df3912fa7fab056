"""ESC/POS codec, parser and interpreter of the ticket printer: literal bytes, no I/O."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cabin.drivers.errors import ProtocolError
from cabin.drivers.ticketprinter import escpos
from cabin.drivers.ticketprinter.elements import Feed, QrCode, Raster, Run, TextLine
from cabin.drivers.ticketprinter.escpos import Status, StatusParser, decode_status, encode_status
from cabin.drivers.ticketprinter.interpreter import MAX_ELEMENTS, MAX_LINE_BYTES, Interpreter
from cabin.drivers.ticketprinter.parser import MAX_PENDING, Command, Parser
from cabin.drivers.ticketprinter.simulator import FAULTS, SimulatedTicketPrinter
from cabin.drivers.ticketprinter.ticket import layout, native_ticket, raster_ticket

from devicekit import CONTENT, TOKEN

# Every command the ticket uses and the interpreter knows, with what it should make of it.
KITCHEN_SINK = b"".join((
    escpos.init(), escpos.status_request(1), escpos.align("right"), escpos.size(2, 3),
    escpos.line("右 R"), b"\x1b\x21\x30", b"AB", escpos.size(1, 1), escpos.text("中"), b"\n",
    escpos.align("left"), b"\x1b\x45\x01", b"x\ty\r\n",  # bold (skipped), tab, CR
    escpos.qr(b"HELLO", 4, "Q"), escpos.status_request(2),
    b"\x1d\x76\x30\x03\x01\x00\x02\x00\xf0\x0f", escpos.feed(2), escpos.status_request(4),
    escpos.cut("full"),
))
KITCHEN_EVENTS = [
    ("status", 1), ("status", 2), ("status", 4),
    ("ticket", (
        TextLine((Run("右 R", 2, 3),), "right"),
        TextLine((Run("AB", 2, 2), Run("中")), "right"),
        TextLine((Run("x y"),), "left"),
        QrCode(b"HELLO", 4, "Q", "left"),
        Raster(1, 2, b"\xf0\x0f", 3, "left"),
        Feed(2),
    )),
]




def run(stream: bytes, chunk: int | None = None) -> tuple[list, Interpreter]:
    interp = Interpreter()
    events = []
    step = chunk or max(1, len(stream))
    for i in range(0, len(stream), step):
        events += interp.feed(stream[i:i + step])
    return [(e.kind, e.value) for e in events], interp


# --- builder: literal bytes ------------------------------------------------------------------

def test_simple_commands():
    assert escpos.init() == bytes.fromhex("1b40")
    assert escpos.size(1, 1) == bytes.fromhex("1d2100")
    assert escpos.size(2, 3) == bytes.fromhex("1d2112")
    assert escpos.size(4, 4) == bytes.fromhex("1d2133")
    assert escpos.size(8, 8) == bytes.fromhex("1d2177")
    assert escpos.align("left") == bytes.fromhex("1b6100")
    assert escpos.align("centre") == bytes.fromhex("1b6101")
    assert escpos.align("right") == bytes.fromhex("1b6102")
    assert escpos.feed(3) == bytes.fromhex("1b6403")
    assert escpos.cut("full") == bytes.fromhex("1d5600")
    assert escpos.cut("partial") == bytes.fromhex("1d5601")
    assert escpos.STATUS_REQUEST == bytes.fromhex("100401 100402 100404")
    with pytest.raises(ValueError):
        escpos.size(9, 1)


def test_text_is_gb18030_inside_chinese_mode():
    assert escpos.text("A023") == b"A023"  # ASCII needs no mode switch
    assert escpos.text("中文") == bytes.fromhex("1c26 d6d0 cec4 1c2e")
    assert escpos.line("号 3") == bytes.fromhex("1c26 bac5 2033 1c2e 0a")
    assert escpos.text("𠀀") == bytes.fromhex("1c26 95328236 1c2e")  # beyond the BMP: four bytes


def test_native_qr_commands():
    assert escpos.qr(b"ABC", module=6, level="M") == bytes.fromhex(
        "1d286b 0400 314132 00"      # model 2
        "1d286b 0300 3143 06"        # module size 6
        "1d286b 0300 3145 31"        # error level M
        "1d286b 0600 315030 414243"  # store: pL pH = 3 + 3
        "1d286b 0300 315130"         # print
    )
    store = escpos.qr(b"x" * 300)[25:33]
    assert store == bytes.fromhex("1d286b 2f01 315030")  # 303 = 0x012f, little-endian
    for level, byte in zip("LMQH", b"0123"):
        assert escpos.qr(b"A", level=level)[24] == byte
    with pytest.raises(ValueError):
        escpos.qr(b"")


def test_raster_inverts_and_pads_rows():
    img = Image.new("1", (10, 2), 1)
    img.putpixel((0, 0), 0)
    img.putpixel((9, 1), 0)
    assert escpos.raster(img) == bytes.fromhex("1d7630 00 0200 0200  8000 0040")
    assert escpos.raster(Image.new("1", (8, 1), 0), mode=3) == bytes.fromhex("1d7630 03 0100 0100 ff")


# --- status ----------------------------------------------------------------------------------

@pytest.mark.parametrize("replies, status", [
    ((0x12, 0x12, 0x12), Status()),
    ((0x1A, 0x16, 0x12), Status(offline=True, cover_open=True)),
    ((0x1A, 0x32, 0x7E), Status(offline=True, paper_end_stop=True, paper_near_end=True, paper_out=True)),
    ((0x12, 0x12, 0x1E), Status(paper_near_end=True)),
    ((0x1A, 0x52, 0x12), Status(offline=True, error=True)),
    ((0x16, 0x12, 0x12), Status()),  # bit 2 of the printer byte is the drawer: not ours
])
def test_decode_status(replies, status):
    assert decode_status(*replies) == status


@pytest.mark.parametrize("replies", [(0x00, 0x12, 0x12), (0x12, 0x02, 0x12), (0x12, 0x12, 0x10),
                                     (0x08, 0x12, 0x12), (0x12, 0x12, 0x60)])
def test_status_without_its_fixed_bits_is_a_protocol_error(replies):
    with pytest.raises(ProtocolError, match="not an ESC/POS status byte"):
        decode_status(*replies)


@pytest.mark.parametrize("flags", list(itertools.product((False, True), repeat=6)))
def test_status_round_trip(flags):
    s = Status(*flags)
    assert decode_status(*(encode_status(n, s) for n in escpos.STATUS_KINDS)) == s


@pytest.mark.parametrize("s, fault, summary", [
    (Status(), None, "ready"),
    (Status(paper_near_end=True), None, "paper_near_end"),
    (Status(offline=True, cover_open=True, paper_out=True), "cover_open", "cover_open"),
    (Status(offline=True, paper_end_stop=True), "paper_out", "paper_out"),
    (Status(offline=True, error=True), "offline", "offline"),
])
def test_status_fault(s, fault, summary):
    assert (s.fault, s.summary) == (fault, summary)


def test_status_parser_frames_three_bytes_in_any_chunks():
    for chunk in (1, 2, 3, 4):
        parser, frames = StatusParser(), []
        data = bytes((0x12, 0x16, 0x1E, 0x12))
        for i in range(0, len(data), chunk):
            frames += parser.feed(data[i:i + chunk])
        assert frames == [bytes((0x12, 0x16, 0x1E))]


# The bits of the three replies that Cabin reads (ESC/POS DLE EOT 1, 2, 4), by byte and bit.
STATUS_BITS = {"offline": (0, 0x08), "cover_open": (1, 0x04), "paper_end_stop": (1, 0x20), "error": (1, 0x40),
               "paper_near_end": (2, 0x0C), "paper_out": (2, 0x60)}


@given(st.binary(min_size=3, max_size=3))
def test_any_three_status_bytes_decode_to_their_bits_or_are_refused(reply):
    if any(b & 0x12 != 0x12 for b in reply):  # bits 1 and 4 are set in every status byte
        with pytest.raises(ProtocolError, match="not an ESC/POS status byte"):
            decode_status(*reply)
        return
    status = decode_status(*reply)
    assert status == Status(**{name: bool(reply[i] & mask) for name, (i, mask) in STATUS_BITS.items()})
    assert decode_status(*(encode_status(n, status) for n in escpos.STATUS_KINDS)) == status


# --- parser ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stream, commands", [
    (b"\x1b\x40", [Command("init")]),
    (b"\x1b\x61\x31", [Command("align", "centre")]),
    (b"\x1d\x21\x33", [Command("size", (4, 4))]),
    (b"\x1d\x21\x88", [Command("ignored", b"\x1d\x21\x88")]),  # not a size: ignored whole
    (b"\x1b\x21\x10", [Command("size", (1, 2))]),
    (b"\x1c\x26\xd6\xd0\x1c\x2e", [Command("cjk", True), Command("text", b"\xd6\xd0"), Command("cjk", False)]),
    (b"\x10\x04\x02", [Command("status", 2)]),
    (b"\x10\x04\x09", [Command("unknown", b"\x10\x04\x09")]),
    (b"\x10A", [Command("text", b"A")]),  # a lone DLE is dropped
    (b"\x1b\x64\x05", [Command("feed", 5)]),
    (b"\x1d\x56\x42\x03", [Command("cut", 0x42)]),
    (b"\x1d\x56\x07", [Command("unknown", b"\x1d\x56\x07")]),
    (b"\x1d\x28\x6b\x03\x00\x31\x43\x08", [Command("qr", (0x43, b"\x08"))]),
    (b"\x1d\x28\x4c\x02\x00\x30\x45", [Command("ignored", b"\x1d\x28\x4c\x02\x00")]),  # other GS ( skip whole
    (b"\x1d\x76\x30\x00\x01\x00\x01\x00\x80", [Command("raster", (0, 1, 1, b"\x80"))]),
    (b"\x1d\x76\x30\x00\xff\xff\x01\x00Z", [Command("unknown", b"\x1d\x76\x30\x00\xff\xff\x01\x00"),
                                            Command("text", b"Z")]),
    (b"\x1b\x7e\x41", [Command("unknown", b"\x1b\x7e"), Command("text", b"A")]),
])
def test_parser_vectors(stream, commands):
    for chunk in range(1, len(stream) + 1):
        parser, got = Parser(), []
        for i in range(0, len(stream), chunk):
            got += parser.feed(stream[i:i + chunk])
        joined = [c for c in got if c.op != "text"]
        text = b"".join(c.arg for c in got if c.op == "text")
        assert joined == [c for c in commands if c.op != "text"]
        assert text == b"".join(c.arg for c in commands if c.op == "text")
        assert not parser.pending


# --- interpreter -----------------------------------------------------------------------------

def test_native_ticket_is_small_and_reads_back_as_its_layout():
    stream = native_ticket(CONTENT)
    assert len(TOKEN) == 70
    assert len(stream) <= 600, len(stream)
    events, interp = run(stream)
    assert events == [("ticket", tuple(layout(CONTENT)))]
    assert not interp.unknown


def test_layout_says_what_the_citizen_needs():
    lines = [r.text for el in layout(CONTENT) if isinstance(el, TextLine) for r in el.runs]
    assert lines[:2] == ["思明分局莲前派出所", "A023"]
    assert "1. 居民身份证换领" in lines and "2. 出入境证件申请" in lines
    assert "2026-11-28 09:15" in lines
    assert "前面还有 3 人  预计等候约 12 分钟" in lines
    big = [r for el in layout(CONTENT) if isinstance(el, TextLine) for r in el.runs if r.text == "A023"]
    assert (big[0].width, big[0].height) == (4, 4)
    assert [el.data for el in layout(CONTENT) if isinstance(el, QrCode)] == [TOKEN.encode()]


def test_every_command_is_understood():
    events, interp = run(KITCHEN_SINK)
    assert events == KITCHEN_EVENTS
    assert not interp.unknown


@pytest.mark.parametrize("name", ["native", "kitchen sink"])
def test_streams_in_chunks_of_every_size(name):
    stream = native_ticket(CONTENT) if name == "native" else KITCHEN_SINK
    whole, _ = run(stream)
    for chunk in range(1, len(stream) + 1):
        events, interp = run(stream, chunk)
        assert events == whole, chunk
        assert not interp.parser.pending and not interp.line


def test_raster_ticket_in_chunks_of_every_size():
    stream = raster_ticket(CONTENT)
    assert 20_000 < len(stream) < 80_000
    whole, _ = run(stream)
    (kind, (raster, feed)), = whole
    assert isinstance(raster, Raster) and raster.width_bytes == 72 and feed == Feed(4)
    for chunk in range(1, len(stream) + 1):
        events, _ = run(stream, chunk)
        assert events == whole, chunk


def test_init_drops_the_unprinted_line_and_resets_modes():
    events, _ = run(b"\x1d\x21\x11half a line\x1b\x40\x1c\x26\xd6\xd0\n" + escpos.cut())
    assert events == [("ticket", (TextLine((Run("中"),)),))]


def test_alignment_is_taken_at_the_start_of_a_line():
    events, _ = run(b"ab\x1b\x61\x02cd\nef\n" + escpos.cut())
    assert events == [("ticket", (TextLine((Run("abcd"),), "left"), TextLine((Run("ef"),), "right")))]


def test_a_huge_raster_header_is_not_buffered():
    stream = b"\x1d\x76\x30\x00\xff\xff\xff\xff" + b"text\n" + escpos.cut()
    events, interp = run(stream)
    assert events == [("ticket", (TextLine((Run("text"),)),))]
    assert interp.unknown[0] == stream[:8]


def test_a_line_without_end_wraps_and_a_ticket_without_cut_is_bounded():
    interp = Interpreter()
    interp.feed(b"x" * (MAX_LINE_BYTES * 3))
    assert len(interp.elements) >= 2 and interp.line_bytes <= MAX_LINE_BYTES
    interp.feed(b"\n" * (MAX_ELEMENTS + 10))
    assert len(interp.elements) == MAX_ELEMENTS
    assert b"<ticket too long>" in interp.unknown


# --- fuzzing ---------------------------------------------------------------------------------

def check_interpreter(stream: bytes, cuts: list[int]) -> None:
    """Only typed errors, never a hang, bounded state, whatever the bytes and their chunking."""
    interp = Interpreter()
    start = time.monotonic()
    pieces, last = [], 0
    for c in sorted(set(cuts)):
        pieces.append(stream[last:c])
        last = c
    pieces.append(stream[last:])
    for piece in pieces:
        try:
            for event in interp.feed(piece):
                assert event.kind in ("status", "ticket")
        except ProtocolError:
            pass
        assert len(interp.parser.pending) <= MAX_PENDING
        assert interp.line_bytes <= MAX_LINE_BYTES and len(interp.elements) <= MAX_ELEMENTS
    assert time.monotonic() - start < 5


chunk_cuts = st.lists(st.integers(0, 2000), max_size=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), chunk_cuts)
def test_interpreter_fuzz_random_bytes(stream, cuts):
    check_interpreter(stream, cuts)


@settings(max_examples=200, deadline=None)
@given(st.lists(
    st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\x28\x6b", b"\x76\x30", b"\x56",
                     b"\n", b"\xff", b"\x00", b"\x31\x50\x30", b"\xd6\xd0", b"A"]), max_size=300).map(b"".join),
    chunk_cuts)
def test_interpreter_fuzz_command_soup(stream, cuts):
    check_interpreter(stream, cuts)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_interpreter_fuzz_mutated_tickets(data):
    stream = bytearray(native_ticket(CONTENT) + KITCHEN_SINK)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(stream) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "flip":
            stream[at] = data.draw(st.integers(0, 255))
        elif action == "drop":
            del stream[at]
        else:
            stream[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    check_interpreter(bytes(stream), data.draw(chunk_cuts))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=40))
def test_native_ticket_in_random_chunks(sizes):
    stream = native_ticket(CONTENT)
    interp, events, i = Interpreter(), [], 0
    for size in itertools.cycle(sizes):
        if i >= len(stream):
            break
        events += interp.feed(stream[i:i + size])
        i += size
    assert [(e.kind, e.value) for e in events] == [("ticket", tuple(layout(CONTENT)))]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500), st.sets(st.sampled_from(sorted(FAULTS - {"silence"}))))
def test_simulator_answers_only_status_bytes_whatever_it_gets(stream, faults):
    sim = SimulatedTicketPrinter(faults)
    answer = b"".join(r.data for r in sim.receive(stream + escpos.STATUS_REQUEST))
    truth = {encode_status(n, sim.status()) for n in (1, 2, 3, 4)}
    assert set(answer) <= truth
    # Once an unfinished command has had all the bytes it can want, the request is answered.
    filler = b"\x00" * MAX_PENDING if sim.interpreter.parser.pending else b""
    answer = b"".join(r.data for r in sim.receive(filler + escpos.cut() + escpos.STATUS_REQUEST))
    assert decode_status(*answer[-3:]) == sim.status()
