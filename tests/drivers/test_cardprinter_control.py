"""The card printer simulator changed while it runs (`control(line)`, drivers/simcontrol.py):
the cover opened in the middle of a job and closed again, a jam cleared by hand, the feeder and
the ribbon, a power cycle; called directly, through the driver, and over the control socket."""

from __future__ import annotations

import socket

import pytest
from PIL import Image

from cabin.drivers.cardprinter import CardPrinter, SimulatedCardPrinter
from cabin.drivers.errors import DeviceFault
from cabin.drivers.simhost import PtyHost

ACK, NACK = b"\x06", b"\x15"
HEAD = [b"\x1bPem;4\r", b"\x1bPr;k\r", b"\x1bPmi;F;s\r", b"\x1bSs\r", b"\x1bSr\r", b"\x1bDbc;k;2;1;\xff\r"]
COUNTERS = [b"\x1bRco;c\r", b"\x1bRco;p\r", b"\x1bRlr;p\r"]


def talk(sim, *wire: bytes) -> list[bytes]:
    return [reply.data for chunk in wire for reply in sim.receive(chunk)]


def face() -> Image.Image:
    image = Image.new("L", (648, 1016), 255)
    image.paste(0, (0, 0, 648, 40))
    return image


def test_the_cover_opened_mid_job_then_closed_the_job_is_refused_and_nothing_printed():
    sim = SimulatedCardPrinter()
    assert talk(sim, *HEAD) == [ACK] * 6
    assert sim.control("cover open") == "ok status COVER_OPEN"
    assert talk(sim, b"\x1bRse;o\r", b"\x1bSe\r") == [b"OPEN\r", NACK + b"C"]     # the guide's NACK C
    assert sim.control("cover close") == "ok status READY"
    assert talk(sim, b"\x1bRse;o\r", b"\x1bSe\r") == [b"CLOSED\r", NACK + b"1"]   # the sequence had ended
    assert talk(sim, *COUNTERS) == [b"0\r", b"0\r", b"OK\r"] and sim.printed == []  # no card left the feeder
    assert talk(sim, *HEAD, b"\x1bSe\r", *COUNTERS) == [ACK] * 7 + [b"1\r", b"1\r", b"OK\r"]  # sent again: one card
    assert len(sim.printed) == 1


def test_a_jam_armed_by_a_control_line_then_the_card_removed_by_hand():
    sim = SimulatedCardPrinter()
    assert sim.control("fault jam_mid_job@Se on") == "ok fault jam_mid_job@Se on"
    assert sim.control("faults") == "ok faults: jam_mid_job@Se"
    assert talk(sim, *HEAD, b"\x1bSe\r", *COUNTERS) == [ACK] * 6 + [NACK + b"T", b"1\r", b"0\r", b"CARD\r"]
    assert sim.control("faults") == "ok faults: jam_mid_job"
    assert talk(sim, *HEAD[:2]) == [NACK + b"T"] * 2                        # stuck until taken out
    assert sim.control("remove card") == "ok status READY"
    assert sim.control("remove card") == "error: no card is inside the printer"
    assert talk(sim, *HEAD, b"\x1bSe\r", *COUNTERS) == [ACK] * 7 + [b"2\r", b"1\r", b"OK\r"]  # counted once each


@pytest.mark.parametrize("line, query, before, after, back", [
    ("feeder empty", b"\x1bSk;f\r", b"0\r", b"3\r", "feeder full"),
    ("feeder empty", b"\x1bRse;f\r", b"CARDS\r", b"EMPTY\r", "feeder full"),
    ("ribbon out", b"\x1bRcr\r", b"K 500\r", b"END OF RIBBON\r", "ribbon in"),
    ("cleaning needed", b"\x1bRlr;c\r", b"OK\r", b"CLEANING NEEDED\r", "cleaning done"),
])
def test_each_state_line_shows_in_its_query_and_goes_back(line, query, before, after, back):
    sim = SimulatedCardPrinter()
    assert talk(sim, query) == [before]
    assert sim.control(line).startswith("ok status")
    assert talk(sim, query) == [after]
    assert sim.control(back).startswith("ok status")
    assert talk(sim, query) == [before]


def test_a_power_cycle_loses_the_open_sequence_and_keeps_the_counters():
    sim = SimulatedCardPrinter(counter=4)
    assert talk(sim, *HEAD) == [ACK] * 6
    assert sim.control("power cycle") == "ok status READY"
    assert talk(sim, b"\x1bSe\r", *COUNTERS) == [NACK + b"1", b"4\r", b"4\r", b"OK\r"]


@pytest.mark.parametrize("line", ["", "cover", "cover ajar", "cover open please", "fault cover_open", "fault x on",
                                  "remove", "x" * 201, "cover\x1bopen"])
def test_a_line_it_cannot_obey_is_one_error_line_and_changes_nothing(line):
    sim = SimulatedCardPrinter()
    said = sim.control(line)
    assert said.startswith("error: ") and "\n" not in said
    assert sim.status_words() == [] and sim.faults_on() == set()


def test_through_the_driver_the_cover_opened_mid_job_is_a_fault_then_one_card():
    sim = SimulatedCardPrinter()
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.5, print_timeout=1.0, poll=0.01) as printer:
        assert sim.control("fault cover_open@Dbc on").startswith("ok")   # opens as the panel arrives
        with pytest.raises(DeviceFault) as caught:
            printer.print_card(face(), "T-1")
        assert caught.value.kind == "cover_open" and sim.printed == []
        with pytest.raises(DeviceFault, match="cover is open"):          # still open: stopped at the status
            printer.print_card(face(), "T-1")
        assert sim.control("cover close") == "ok status READY"
        assert printer.print_card(face(), "T-1").counter == 1
    assert len(sim.printed) == 1 and (sim.counter, sim.panels) == (1, 1)


def test_over_the_control_socket(tmp_path):
    sim = SimulatedCardPrinter()
    path = tmp_path / "card.ctl"
    with PtyHost(sim, control=path) as host, CardPrinter(host.path, timeout=0.5) as printer:
        with socket.socket(socket.AF_UNIX) as ctl:
            ctl.connect(str(path))
            lines = ctl.makefile("rw", encoding="utf-8", newline="\n")
            lines.write("cover open\n")
            lines.flush()
            assert lines.readline() == "ok status COVER_OPEN\n"
            assert printer.status().faults == ["cover_open"]
            lines.write("cover close\n")
            lines.flush()
            assert lines.readline() == "ok status READY\n"
            assert printer.status().ready
