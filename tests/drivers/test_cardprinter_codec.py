"""The card printer's codec and panel, with no I/O: literal byte vectors for every command and
answer, the line compression and its inverse, the 1-bit conversion rule, and the two streaming
parsers fed in chunks of every size and fuzzed (only typed results, never another exception)."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cabin.drivers.cardprinter import codec
from cabin.drivers.cardprinter.codec import Ack, BadCommand, Command, CommandParser, Nack, ReplyParser, Text
from cabin.drivers.cardprinter.panel import (LINE_BYTES, LINES, PANEL_BYTES, compress, compress_line, decompress,
                                            to_image, to_panel)
from cabin.drivers.errors import ProtocolError

# -- commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize("built,expected", [
    (codec.ack_mode(), b"\x1bPem;4\r"),
    (codec.set_ribbon(), b"\x1bPr;k\r"),
    (codec.insert_card(), b"\x1bPmi;F;s\r"),
    (codec.set_contrast(10), b"\x1bPc;k;=;10\r"),
    (codec.sequence_start(), b"\x1bSs\r"),
    (codec.front(), b"\x1bSr\r"),
    (codec.sequence_end(), b"\x1bSe\r"),
    (codec.back(), b"\x1bSv\r"),
    (codec.firmware_version(), b"\x1bRfv\r"),
    (codec.model(), b"\x1bRtp\r"),
    (codec.feeder_status(), b"\x1bSk;f\r"),
    (codec.card_position(), b"\x1bRlr;p\r"),
    (codec.cleaning(), b"\x1bRlr;c\r"),
    (codec.cover_sensor(), b"\x1bRse;o\r"),
    (codec.feeder_sensor(), b"\x1bRse;f\r"),
    (codec.ribbon(), b"\x1bRcr\r"),
    (codec.panels_printed(), b"\x1bRco;p\r"),
    (codec.cards_inserted(), b"\x1bRco;c\r"),
    (codec.read_serial(), b"\x1bRsn\r"),
    (codec.text("CABIN-SIM-0001"), b"CABIN-SIM-0001\r"),
    # the guide's two compressed forms: <panel>;<resol>;<nb_bytes> and <panel>;<resol>;<first_line>;<nb_bytes>
    (codec.download_compressed(b"\x00\xff\x01\x80"), b"\x1bDbc;k;2;4;\x00\xff\x01\x80\r"),
    (codec.download_compressed(b"\x00\xff\x01\x80", first_line=5), b"\x1bDbc;k;2;5;4;\x00\xff\x01\x80\r"),
    (codec.download_compressed(b"\x00" * 1016), b"\x1bDbc;k;2;1016;" + b"\x00" * 1016 + b"\r"),
    (codec.download_compressed(b"\x00", "o", 2, first_line=1015), b"\x1bDbc;o;2;1015;1;\x00\r"),
    # data that would read as the first-line form's header: the first-line form from line 0
    (codec.download_compressed(b"\x33;" + bytes(50)), b"\x1bDbc;k;2;0;52;\x33;" + bytes(50) + b"\r"),
    (codec.ack(), b"\x06"),
    (codec.nack("C"), b"\x15C"),
    (codec.text("OK"), b"OK\r"),
])
def test_command_and_answer_vectors(built, expected):
    assert built == expected


def test_uncompressed_download_vector():
    panel = bytes(range(256)) * (PANEL_BYTES // 256) + bytes(PANEL_BYTES % 256)
    built = codec.download(panel)
    assert built[:8] == b"\x1bDb;k;2;" and built[8:-1] == panel and built[-1:] == b"\r"
    assert len(built) == 8 + 82_296 + 1
    assert codec.download(panel, "o", 2)[:8] == b"\x1bDb;o;2;"
    colour = bytes(648 * 1016 * 5 // 8)                     # 32 levels: 5 bits a dot, as modelled
    assert codec.download(colour, "y", 32) == b"\x1bDb;y;32;" + colour + b"\r"
    with pytest.raises(ValueError):
        codec.download(panel[:-1])
    for panel_name, resol in [("k", 1), ("k", 32), ("y", 2), ("x", 2)]:
        with pytest.raises(ValueError):
            codec.download_compressed(b"\x00", panel_name, resol)
    with pytest.raises(ValueError):
        codec.download_compressed(b"\x00", first_line=1016)


# -- compression ------------------------------------------------------------------------------
def line(*head: int) -> bytes:
    return bytes(head) + bytes(LINE_BYTES - len(head))


@pytest.mark.parametrize("raw,packed", [
    (bytes(81), b"\x00"),                               # blank line
    (b"\xff" * 81, b"\xff"),                            # full line
    (line(0x80), b"\x01\x80"),                          # one dot at the left
    (line(0, 0, 0x0F), b"\x03\x00\x00\x0f"),            # leading blanks are kept, trailing dropped
    (line(0xFF, 0xFF), b"\x02\xff\xff"),                # black but not a full line
    (bytes(80) + b"\x01", b"\x51" + bytes(80) + b"\x01"),  # the rightmost dot: all 81 bytes
    (b"\xff" * 80 + b"\xfe", b"\x51" + b"\xff" * 80 + b"\xfe"),
])
def test_line_compression_vectors(raw, packed):
    assert compress_line(raw) == packed
    assert decompress(packed) == raw


def test_mixed_panel_vector():
    panel = bytes(81) + b"\xff" * 81 + line(0x80, 0, 0x01) + bytes(81)
    assert compress(panel) == b"\x00\xff\x03\x80\x00\x01\x00"
    assert decompress(compress(panel)) == panel
    blank = bytes(PANEL_BYTES)
    assert compress(blank) == bytes(LINES) and decompress(bytes(LINES)) == blank


@pytest.mark.parametrize("bad", [b"\x52" + bytes(82), b"\x03\x01\x02", b"\x51", bytes(LINES + 1)])
def test_decompress_rejects_what_compress_never_makes(bad):
    with pytest.raises(ProtocolError):
        decompress(bad)


LINE = st.one_of(
    st.just(bytes(LINE_BYTES)), st.just(b"\xff" * LINE_BYTES),
    st.binary(min_size=LINE_BYTES, max_size=LINE_BYTES),
    st.binary(max_size=LINE_BYTES).map(lambda b: b + bytes(LINE_BYTES - len(b))),
    st.binary(max_size=LINE_BYTES).map(lambda b: b"\xff" * (LINE_BYTES - len(b)) + b),
)


@given(st.lists(LINE, max_size=60))
def test_compression_round_trip(lines):
    panel = b"".join(lines)
    packed = compress(panel)
    assert decompress(packed) == panel
    assert compress(decompress(packed)) == packed          # compress is canonical
    assert len(packed) <= len(lines) * (LINE_BYTES + 1)    # never more than a byte a line


# One encoded line and the line it stands for, built from the format (a count byte: 0x00 a blank
# line, 0xFF a full one, 1..81 that many bytes, the rest of the line blank), not from decompress.
ENCODED_LINE = st.one_of(
    st.just((b"\x00", bytes(LINE_BYTES))),
    st.just((b"\xff", b"\xff" * LINE_BYTES)),
    st.binary(min_size=1, max_size=LINE_BYTES).map(lambda b: (bytes([len(b)]) + b, b + bytes(LINE_BYTES - len(b)))),
)
DEFECTS = ["none", "cut short", "a count past 81", "one line too many"]


@given(st.lists(ENCODED_LINE, min_size=1, max_size=40), st.sampled_from(DEFECTS), st.data())
def test_decompress_gives_the_encoded_lines_or_names_the_defect(lines, defect, data):
    packed, expected = b"".join(p for p, _ in lines), b"".join(line for _, line in lines)
    if defect == "none":
        assert decompress(packed, max_lines=len(lines)) == expected
        assert decompress(compress(expected)) == expected
        return
    limit = LINES
    if defect == "cut short":  # a literal line whose bytes stop before its count
        payload = data.draw(st.binary(min_size=1, max_size=LINE_BYTES))
        packed += bytes([len(payload)]) + payload[:data.draw(st.integers(0, len(payload) - 1))]
        words = "is cut short"
    elif defect == "a count past 81":
        at = data.draw(st.sampled_from([0, *itertools.accumulate(len(p) for p, _ in lines)]))  # a line's start
        packed = packed[:at] + bytes([data.draw(st.integers(LINE_BYTES + 1, 0xFE))]) + packed[at:]
        words = "claims"
    else:
        limit = len(lines) - 1
        words = f"goes past {limit} lines"
    with pytest.raises(ProtocolError, match=words):
        decompress(packed, max_lines=limit)


@given(st.binary(max_size=600))
def test_decompress_of_any_bytes_is_whole_lines_that_round_trip_or_a_protocol_error(data):
    try:
        out = decompress(data)
    except ProtocolError as exc:
        assert re.search(r"is cut short|claims \d+ bytes|goes past \d+ lines", str(exc)), exc
        return
    assert len(out) % LINE_BYTES == 0 and len(out) // LINE_BYTES <= LINES
    assert decompress(compress(out)) == out
    assert len(out) // LINE_BYTES == decoded_line_count(data)


def decoded_line_count(data: bytes) -> int:
    """How many lines `data` encodes, read from its count bytes alone."""
    i, count = 0, 0
    while i < len(data):
        i += 1 + (data[i] if data[i] not in (0x00, 0xFF) else 0)
        count += 1
    return count


def test_full_random_panel_round_trip():
    rng = random.Random(7)
    panel = bytes(rng.getrandbits(8) for _ in range(PANEL_BYTES))
    assert decompress(compress(panel)) == panel
    assert to_panel(to_image(panel)) == panel


# -- the 1-bit panel -------------------------------------------------------------------------
def white(size=(648, 1016), mode="L"):
    return Image.new(mode, size, "white")


def test_panel_bits_msb_first_black_is_one():
    img = white()
    img.putpixel((0, 0), 0)
    img.putpixel((647, 1015), 0)
    img.putpixel((9, 1), 0)
    panel = to_panel(img)
    assert len(panel) == PANEL_BYTES
    assert panel[0] == 0x80 and panel[-1] == 0x01 and panel[81 + 1] == 0x40
    assert sum(bin(b).count("1") for b in panel) == 3
    assert to_panel(Image.new("L", (648, 1016), 0)) == b"\xff" * PANEL_BYTES
    assert to_panel(white(mode="RGB")) == bytes(PANEL_BYTES)


def test_threshold_is_128():
    assert to_panel(Image.new("L", (648, 1016), 127)) == b"\xff" * PANEL_BYTES
    assert to_panel(Image.new("L", (648, 1016), 128)) == bytes(PANEL_BYTES)


def test_a_mode_1_image_keeps_its_dots():
    img = Image.new("1", (648, 1016), 1)
    img.putpixel((3, 0), 0)
    assert to_panel(img)[0] == 0x10


def test_transparency_is_white():
    assert to_panel(Image.new("RGBA", (648, 1016), (0, 0, 0, 0))) == bytes(PANEL_BYTES)


def test_landscape_turns_a_quarter_counter_clockwise():
    face = white((1016, 648))
    face.putpixel((1015, 0), 0)   # top right -> first dot of the first line
    face.putpixel((0, 0), 0)      # top left -> first dot of the last line
    panel = to_panel(face)
    assert panel[0] == 0x80 and panel[(LINES - 1) * LINE_BYTES] == 0x80
    assert sum(bin(b).count("1") for b in panel) == 2


def test_other_sizes_are_scaled_to_fit_and_centred():
    assert to_panel(Image.new("L", (324, 508), 0)) == b"\xff" * PANEL_BYTES   # exactly half size
    square = to_panel(Image.new("L", (100, 100), 0))                          # -> 648 x 648, centred
    lines = [square[i:i + LINE_BYTES] for i in range(0, PANEL_BYTES, LINE_BYTES)]
    black = [i for i, ln in enumerate(lines) if ln == b"\xff" * LINE_BYTES]
    assert black == list(range(184, 832))
    assert all(ln == bytes(LINE_BYTES) for i, ln in enumerate(lines) if i not in black)


def test_to_image_shows_black_dots_black():
    panel = bytearray(PANEL_BYTES)
    panel[0] = 0x80
    img = to_image(bytes(panel))
    assert img.size == (648, 1016) and img.mode == "1"
    assert img.getpixel((0, 0)) == 0 and img.getpixel((1, 0)) == 255


# -- answers, host side -----------------------------------------------------------------------
STREAM = (b"\x00\xfe" + b"\x06" + b"junk\x01" + b"\x15T" + b"3\r" + b"\x15x" + b"\x15C"
          + b"CABIN-SIM 1.0\r" + b"\r" + b"\x15\x06" + b"CONTACTLESS CARD\r")
EXPECTED = [Ack(), Nack("T"), Text("3"), Nack("C"), Text("CABIN-SIM 1.0"), Ack(),
            Text("CONTACTLESS CARD")]


def test_reply_vectors():
    assert ReplyParser().feed(b"\x06") == [Ack()]
    for code in "12TCFR":
        assert ReplyParser().feed(b"\x15" + code.encode()) == [Nack(code)]
    assert Nack("R").meaning == "ribbon" and Nack("2").meaning == "parameter error"
    assert ReplyParser().feed(b"0\r") == [Text("0")]
    assert ReplyParser().feed(b"CARD") == []   # not yet: no CR


def test_reply_parser_resynchronises_after_garbage():
    parser = ReplyParser()
    assert parser.feed(STREAM) == EXPECTED
    assert parser.discarded > 0


def feed_in_chunks(parser, data: bytes, size: int) -> list:
    out = []
    for i in range(0, len(data), size):
        out += parser.feed(data[i:i + size])
    return out


def test_reply_parser_in_chunks_of_every_size():
    for size in range(1, len(STREAM) + 1):
        assert feed_in_chunks(ReplyParser(), STREAM, size) == EXPECTED, size


def test_overlong_text_is_dropped_to_its_cr():
    assert ReplyParser().feed(b"A" * 300 + b"\r" + b"0\r") == [Text("0")]


def mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in edits:
        where %= len(out) + 1
        if op == 0:
            out.insert(where, value)
        elif out and op == 1:
            del out[min(where, len(out) - 1)]
        elif out:
            out[min(where, len(out) - 1)] = value
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)), max_size=8)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=400), EDITS.map(lambda e: mutate(STREAM, e))), st.integers(1, 50))
def test_reply_parser_fuzz(data, size):
    whole = ReplyParser().feed(data)   # any exception fails the test
    assert all(isinstance(a, (Ack, Nack, Text)) for a in whole)
    assert all(a.code in codec.NACK_CODES for a in whole if isinstance(a, Nack))
    assert all(t.text.isprintable() and t.text.isascii() for t in whole if isinstance(t, Text))
    assert feed_in_chunks(ReplyParser(), data, size) == whole


# -- commands, printer side -------------------------------------------------------------------
FACE = bytes(81) * 10 + line(0x1B, 0x0D, 0x15) + b"\xff" * 81 + bytes(81) * 5   # ESC and CR in the data
PACKED = compress(FACE)
JOB = b"".join([codec.set_ribbon(), codec.insert_card(), codec.set_contrast(10), codec.sequence_start(),
                codec.front(), codec.download_compressed(PACKED, first_line=3), codec.back(),
                codec.download_compressed(PACKED), codec.sequence_end(), codec.card_position()])
JOB_COMMANDS = [Command("Pr", ("k",)), Command("Pmi", ("F", "s")), Command("Pc", ("k", "=", "10")),
                Command("Ss"), Command("Sr"), Command("Dbc", ("k", "2", "3", str(len(PACKED))), PACKED),
                Command("Sv"), Command("Dbc", ("k", "2", str(len(PACKED))), PACKED),
                Command("Se"), Command("Rlr", ("p",))]


def test_command_parser_reads_a_whole_job_in_chunks_of_every_size():
    assert CommandParser().feed(JOB) == JOB_COMMANDS
    for size in range(1, len(JOB) + 1):
        assert feed_in_chunks(CommandParser(), JOB, size) == JOB_COMMANDS, size


def test_command_parser_reads_an_uncompressed_download():
    panel = bytes([0x1B, 0x0D]) * (PANEL_BYTES // 2)
    stream = codec.download(panel) + codec.sequence_end()
    assert CommandParser().feed(stream) == [Command("Db", ("k", "2"), panel), Command("Se")]


def test_command_parser_reads_both_dbc_forms_however_the_data_starts():
    for data in [b"\x00", b"\x01\x31", b"\x35" + bytes(53), b"1;" + bytes(48), b"\x31\x32\x33\x34\x35\x36\x37"
                 + bytes(42), bytes([0x30 + i % 10 for i in range(57)]) + b";" + bytes(23)]:
        for first in (None, 0, 7, 1015):
            wire = codec.download_compressed(data, first_line=first)
            got = CommandParser().feed(wire + codec.sequence_end())
            assert got[0].data == data and got[1] == Command("Se"), (data, first)
            looks_like_a_header = re.match(rb"[0-9]{1,6};", data) is not None
            line = (str(first),) if first is not None else ("0",) if looks_like_a_header else ()
            assert got[0].params == ("k", "2", *line, str(len(data)))


def test_command_parser_refuses_bad_headers_and_resynchronises():
    p = CommandParser()
    assert p.feed(b"junk\x1bSs\x1bSr\r") == [Command("Sr")]            # Ss cut short: dropped, no answer
    assert p.feed(b"\x1bDbc;k;2;x;\x1bSe\r") == [BadCommand("2", "Dbc with parameters ['k', '2', 'x']", "Dbc"),
                                                 Command("Se")]
    assert p.feed(b"\x1bDbc;k;2;2;\x00\x00\x00\x1bSe\r") == [
        BadCommand("2", "Dbc: more data than announced", "Dbc"), Command("Se")]
    assert p.feed(b"\x1b\r") == [BadCommand("1", "empty command")]
    assert p.feed(b"\x1bDb;k\r")[0].code == "2"
    assert p.feed(b"\x1bS\x00s\r\x1bSe\r") == [Command("Se")]


@pytest.mark.parametrize("wire, reason", [
    # Cabin's old form Dbc;k;<line>;<len>: no resolution. Its data (ESC and CR in it) is skipped,
    # one NACK 2 at its end, and nothing in the data is read as a command
    (b"\x1bDbc;k;0;3;\x1b\x0d\x00\r", "Dbc for panel 'k' at resolution '0'"),
    (b"\x1bDbc;k;5;0;3;\x1bSe\r", "Dbc for panel 'k' at resolution '5'"),
    (b"\x1bDbc;x;2;3;\x1bSe\r", "Dbc for panel 'x' at resolution '2'"),
    (b"\x1bDbc;y;2;3;\x1bSe\r", "Dbc for panel 'y' at resolution '2'"),
    (b"\x1bDbc;k;2;1016;1;\x00\r", "Dbc from line 1016; a panel has 1016 lines"),
])
def test_a_download_in_no_form_of_the_guide_is_refused_once_at_its_end(wire, reason):
    assert CommandParser().feed(wire + b"\x1bSe\r") == [BadCommand("2", reason, "Dbc"), Command("Se")]


@pytest.mark.parametrize("wire", [b"\x1bDb;k;1;", b"\x1bDb;y;2;", b"\x1bDb;k;32;", b"\x1bDbc;k;2;0;",
                                  b"\x1bDbc;k;2;99999;", b"\x1bDbc;k;2;0;0;", b"\x1bDbc;k;2;1234567;"])
def test_a_download_whose_end_cannot_be_found_is_refused_at_once(wire):
    got = CommandParser().feed(wire + b"\x00\x01" + b"\x1bSe\r")
    assert got[0].code == "2" and got[0].name.startswith("Db") and got[-1] == Command("Se")


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=400), EDITS.map(lambda e: mutate(JOB, e))), st.integers(1, 64))
def test_command_parser_fuzz(data, size):
    whole = CommandParser().feed(data)
    assert all(isinstance(c, (Command, BadCommand)) for c in whole)
    assert feed_in_chunks(CommandParser(), data, size) == whole


def test_a_megabyte_of_garbage_then_a_command():
    rng = random.Random(13)
    parser = CommandParser()
    got = parser.feed(bytes(rng.getrandbits(8) for _ in range(1 << 20)))
    assert all(isinstance(c, (Command, BadCommand)) for c in got)
    assert parser.feed(b"\x1b\r" * 0 + b"\r" * 200_000 + b"\x1bRco;c\r")[-1] == Command("Rco", ("c",))


def test_every_status_word_and_nack_code_has_a_fault_kind_and_a_message():
    from cabin.drivers.cardprinter.faults import KIND_OF_NACK, KIND_OF_WORD, MESSAGES

    assert set(KIND_OF_WORD) == set(codec.STATUS_WORDS)
    assert set(KIND_OF_NACK) == set(codec.NACK_CODES)
    # NACK T is a jam with a card inside (Rlr;p), else a stop with none inside (hopper_full)
    assert set(KIND_OF_WORD.values()) | set(KIND_OF_NACK.values()) | {"hopper_full"} == set(MESSAGES)
