"""The simulated card printer speaks the Evolis guide (domain.md 7.2), in literal bytes: every
download form (`Db`, both `Dbc` forms), `Sv` duplex, the status queries and their answers,
unknown commands NACK 1, bad parameters NACK 2 and nothing printed. No I/O: the simulator's
`receive` is fed the bytes a client would send."""

from __future__ import annotations

import pytest

from cabin.drivers.cardprinter.panel import LINE_BYTES, PANEL_BYTES
from cabin.drivers.cardprinter.simulator import SimulatedCardPrinter

ACK, NACK = b"\x06", b"\x15"
START = b"\x1bPr;k\r\x1bPmi;F;s\r\x1bSs\r\x1bSr\r"           # ribbon, insert from feeder, start, front


def talk(sim, *wire: bytes) -> list[bytes]:
    return [reply.data for chunk in wire for reply in sim.receive(chunk)]


def lines(*rows: bytes) -> bytes:
    """A panel whose first lines are `rows` (each padded white to 81 bytes), the rest white."""
    head = b"".join(r + bytes(LINE_BYTES - len(r)) for r in rows)
    return head + bytes(PANEL_BYTES - len(head))


def test_dbc_short_form_prints_from_the_first_line():
    sim = SimulatedCardPrinter()
    got = talk(sim, START, b"\x1bDbc;k;2;4;\x00\xff\x01\x80\r", b"\x1bSe\r")
    assert got == [ACK] * 6
    assert sim.printed[0].panel == lines(b"", b"\xff" * 81, b"\x80") and sim.printed[0].back is None


def test_dbc_first_line_form_puts_the_lines_there_and_adds_to_the_panel():
    sim = SimulatedCardPrinter()
    got = talk(sim, START, b"\x1bDbc;k;2;3;2;\xff\x00\r", b"\x1bDbc;k;2;0;2;\x01\x0f\r", b"\x1bSe\r")
    assert got == [ACK] * 7
    assert sim.printed[0].panel == lines(b"\x0f", b"", b"", b"\xff" * 81)
    last = SimulatedCardPrinter()
    assert talk(last, START, b"\x1bDbc;k;2;1015;1;\xff\r", b"\x1bSe\r") == [ACK] * 6
    assert last.printed[0].panel[-LINE_BYTES:] == b"\xff" * 81


def test_db_raw_panel():
    sim = SimulatedCardPrinter()
    panel = bytes([0x1B, 0x0D, 0x15, 0x06]) * (PANEL_BYTES // 4)
    assert talk(sim, START, b"\x1bDb;k;2;" + panel + b"\r", b"\x1bSe\r") == [ACK] * 6
    assert sim.printed[0].panel == panel


def test_sv_duplex_prints_both_sides_the_back_not_over_the_front():
    sim = SimulatedCardPrinter()
    got = talk(sim, START, b"\x1bDbc;k;2;1;\xff\r", b"\x1bSv\r", b"\x1bDbc;k;2;2;\x01\x80\r", b"\x1bSe\r",
               b"\x1bRco;c\r", b"\x1bRco;p\r")
    assert got == [ACK] * 8 + [b"1\r", b"2\r"]                            # one card, two panels
    card = sim.printed[0]
    assert card.panel == lines(b"\xff" * 81) and card.back == lines(b"\x80") and card.panels == 2
    assert card.back_image.getpixel((0, 0)) == 0 and card.image.getpixel((0, 1)) == 255


def test_overlay_panel_is_counted_not_drawn():
    sim = SimulatedCardPrinter()
    assert talk(sim, START, b"\x1bDbc;k;2;1;\xff\r", b"\x1bDbc;o;2;1;\xff\r", b"\x1bSe\r", b"\x1bRco;p\r") == \
        [ACK] * 7 + [b"2\r"]
    assert sim.printed[0].panel == lines(b"\xff" * 81)


@pytest.mark.parametrize("download", [
    b"\x1bDbc;k;0;4;\x00\xff\x01\x80\r",      # Cabin's old form: no resolution
    b"\x1bDbc;k;1;4;\x00\xff\x01\x80\r",      # resolution 1
    b"\x1bDbc;k;32;4;\x00\xff\x01\x80\r",     # a colour resolution for k
    b"\x1bDbc;q;2;4;\x00\xff\x01\x80\r",      # no such panel
    b"\x1bDbc;k;2;1016;1;\x00\r",             # past the last line
    b"\x1bDbc;k;2;4;\x00\xff\x52\x80\r",      # a line of 82 bytes
    b"\x1bDbc;k;2;1015;2;\x00\x00\r",         # two lines from the last
    b"\x1bDbc;k;2;\r",                        # no data
    b"\x1bDb;k;2\r",
])
def test_a_download_in_no_form_of_the_guide_gets_nack_2_and_nothing_is_printed(download):
    sim = SimulatedCardPrinter()
    got = talk(sim, START, download, b"\x1bSe\r", b"\x1bRco;c\r", b"\x1bRco;p\r")
    assert got == [ACK] * 4 + [NACK + b"2", NACK + b"1", b"0\r", b"0\r"]   # the sequence ended: no card
    assert sim.printed == [] and sim.cards == 100


def test_a_colour_download_in_a_valid_form_is_refused_by_the_k_ribbon():
    sim = SimulatedCardPrinter()
    colour = bytes(648 * 1016 * 6 // 8)
    assert talk(sim, START, b"\x1bDb;m;64;" + colour + b"\r", b"\x1bSe\r") == [ACK] * 4 + [NACK + b"R", NACK + b"1"]
    assert sim.printed == []


@pytest.mark.parametrize("wire, answer", [
    (b"\x1bRst\r", NACK + b"1"), (b"\x1bXyz;1\r", NACK + b"1"), (b"\x1b\r", NACK + b"1"),
    (b"\x1bRlr;q\r", NACK + b"2"), (b"\x1bRco;x\r", NACK + b"2"), (b"\x1bRse\r", NACK + b"2"),
    (b"\x1bSk;g\r", NACK + b"2"), (b"\x1bPr;c\r", NACK + b"2"), (b"\x1bSs;1\r", NACK + b"2"),
    (b"\x1bSv\r", NACK + b"1"),   # no sequence open
])
def test_unknown_commands_nack_1_bad_parameters_nack_2(wire, answer):
    sim = SimulatedCardPrinter()
    assert talk(sim, wire) == [answer]
    assert sim.printed == []


def test_pem_4_switches_ack_nack_on():
    sim = SimulatedCardPrinter(ack_mode=False)                          # set up without it
    assert talk(sim, b"\x1bPr;k\r", b"\x1bRco;c\r") == [b"0\r"]         # queries answer, actions do not
    assert talk(sim, b"\x1bPem;4\r", b"\x1bPr;k\r", b"\x1bPem;x\r") == [ACK, ACK, NACK + b"2"]


def test_status_queries_and_their_answers():
    sim = SimulatedCardPrinter(serial="EV-0042", counter=7, panels=9)
    queries = [b"\x1bRlr;p\r", b"\x1bRse;o\r", b"\x1bRse;f\r", b"\x1bSk;f\r", b"\x1bRcr\r", b"\x1bRlr;c\r",
               b"\x1bRco;p\r", b"\x1bRco;c\r", b"\x1bRfv\r", b"\x1bRtp\r", b"\x1bRsn\r"]
    assert talk(sim, *queries) == [b"OK\r", b"CLOSED\r", b"CARDS\r", b"0\r", b"K 500\r", b"OK\r", b"9\r", b"7\r",
                                   b"CABIN-SIM 1.0\r", b"CABIN-SIM\r", b"EV-0042\r"]
    sim.inject("cover_open")
    sim.inject("feeder_empty")
    sim.inject("ribbon_out")
    assert talk(sim, *queries[1:5]) == [b"OPEN\r", b"EMPTY\r", b"3\r", b"END OF RIBBON\r"]
    assert talk(SimulatedCardPrinter(ribbon=None), b"\x1bRcr\r") == [b"NO RIBBON\r"]


def test_a_jammed_card_is_counted_inserted_once_at_the_print_position_and_never_printed():
    sim = SimulatedCardPrinter(["jam_mid_job@Se"])
    got = talk(sim, START, b"\x1bDbc;k;2;1;\xff\r", b"\x1bSe\r",
               b"\x1bRco;c\r", b"\x1bRco;p\r", b"\x1bRlr;p\r", b"\x1bSs\r")
    assert got == [ACK] * 5 + [NACK + b"T", b"1\r", b"0\r", b"CARD\r", NACK + b"T"]
    sim.clear("jam_mid_job")                                          # taken out by hand
    assert talk(sim, b"\x1bRlr;p\r", b"\x1bRco;c\r") == [b"OK\r", b"1\r"]
    assert talk(sim, START, b"\x1bDbc;k;2;1;\xff\r", b"\x1bSe\r", b"\x1bRco;c\r", b"\x1bRco;p\r") == \
        [ACK] * 6 + [b"2\r", b"1\r"]
    assert [c.number for c in sim.printed] == [2]


@pytest.mark.parametrize("kind, position, sr", [("power_cycle", b"CARD\r", NACK + b"T"),     # card inside
                                               ("power_cycle_eject", b"OK\r", NACK + b"1")])  # no sequence
def test_power_cut_at_se_counts_the_card_that_left_and_prints_nothing(kind, position, sr):
    sim = SimulatedCardPrinter([f"{kind}@Se"])
    got = talk(sim, START, b"\x1bDbc;k;2;1;\xff\r", b"\x1bSe\r", b"\x1bRco;c\r", b"\x1bRco;p\r", b"\x1bRlr;p\r")
    assert got == [ACK] * 5 + [b"1\r", b"0\r", position]               # no answer to Se: the power went
    assert sim.printed == [] and talk(sim, b"\x1bSr\r") == [sr]          # the sequence is gone
