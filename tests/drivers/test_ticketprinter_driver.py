"""The ticket printer driver against the simulator, over real pseudo-terminals (no mocks)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import zxingcpp
from PIL import Image

from cabin.drivers.errors import DeviceFault, DeviceTimeout
from cabin.drivers.simhost import PtyHost, TcpHost
from cabin.drivers.ticketprinter.driver import NEAR_END, TicketPrinter
from cabin.drivers.ticketprinter.escpos import Status
from cabin.drivers.ticketprinter.simulator import SimulatedTicketPrinter
from cabin.drivers.ticketprinter.ticket import layout, native_ticket

from devicekit import CONTENT, TOKEN


def serve(tmp_path, faults=(), baud=None, **kw):
    sim = SimulatedTicketPrinter(faults, baud=baud, **kw)
    return sim, PtyHost(sim, link=tmp_path / "ticketprinter", baud=baud)


def qr_texts(png) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(png))]


def test_native_ticket_prints_and_its_qr_decodes(tmp_path):
    sim, host = serve(tmp_path, out_dir=tmp_path / "out")
    with host, TicketPrinter(host.path, timeout=1) as printer:
        assert printer.status() == Status()
        result = printer.print_ticket(CONTENT)
    assert (sim.printed, printer.printed, result.warnings) == (1, 1, ())
    assert result.bytes_sent == len(native_ticket(CONTENT)) <= 600
    assert sim.tickets[0] == tuple(layout(CONTENT))
    assert not sim.interpreter.unknown
    assert sim.pngs == [tmp_path / "out" / "ticket-0001.png"]
    assert Image.open(sim.pngs[0]).width == 580
    assert qr_texts(sim.pngs[0]) == [TOKEN]


def test_raster_fallback_prints_the_same_qr(tmp_path):
    sim, host = serve(tmp_path, out_dir=tmp_path / "out")
    with host, TicketPrinter(host.path, timeout=1, mode="raster") as printer:  # the packaged font
        result = printer.print_ticket(CONTENT)
    assert result.bytes_sent > 20_000 and sim.printed == printer.printed == 1
    assert qr_texts(sim.pngs[0]) == [TOKEN]


def test_a_ticket_over_tcp(tmp_path):
    sim = SimulatedTicketPrinter()
    with TcpHost(sim) as host, TicketPrinter(host.path, timeout=1) as printer:
        printer.print_ticket(CONTENT)
    assert sim.printed == 1


@pytest.mark.parametrize("kind, words", [
    ("paper_out", "out of paper"),
    ("cover_open", "cover is open"),
    ("offline", "offline"),
])
def test_a_faulty_printer_is_refused_and_nothing_is_printed(tmp_path, kind, words):
    sim, host = serve(tmp_path, [kind], out_dir=None)
    with host, TicketPrinter(host.path, timeout=1) as printer:
        assert printer.status().fault == kind
        with pytest.raises(DeviceFault) as err:
            printer.print_ticket(CONTENT)
    assert err.value.kind == kind
    assert str(err.value).startswith("the ticket was not printed: ") and words in str(err.value)
    assert (sim.printed, sim.dropped, printer.printed) == (0, 0, 0)
    assert sim.interpreter.elements == [] and not sim.tickets  # not one byte of the ticket sent


def test_near_end_prints_with_a_warning(tmp_path):
    sim, host = serve(tmp_path, ["near_end"])
    with host, TicketPrinter(host.path, timeout=1) as printer:
        result = printer.print_ticket(CONTENT)
    assert result.warnings == (NEAR_END,) and result.status.paper_near_end
    assert sim.printed == printer.printed == 1


def test_silence_is_a_timeout_and_nothing_is_printed(tmp_path):
    sim, host = serve(tmp_path, ["silence"])
    with host, TicketPrinter(host.path, timeout=0.3) as printer:
        with pytest.raises(DeviceTimeout, match="ticket printer .* is not answering"):
            printer.print_ticket(CONTENT)
        assert printer.printed == 0
    assert sim.printed == 0


def test_paper_running_out_during_the_ticket_is_caught_after_it(tmp_path):
    sim, host = serve(tmp_path, paper_left=1)
    with host, TicketPrinter(host.path, timeout=1) as printer:
        printer.print_ticket(CONTENT)
        with pytest.raises(DeviceFault) as err:
            printer.print_ticket(CONTENT)
        assert err.value.kind == "paper_out" and "did not print completely" in str(err.value)
        assert printer.printed == 1
    assert (sim.printed, sim.dropped) == (1, 1)


def test_bytes_take_line_time_at_9600_baud(tmp_path):
    sim, host = serve(tmp_path, baud=9600)
    with host, TicketPrinter(host.path, baudrate=9600, timeout=1) as printer:
        result = printer.print_ticket(CONTENT)
    wire = result.bytes_sent * 10 / 9600
    assert wire <= result.seconds < wire + 0.5


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="jam"):
        SimulatedTicketPrinter(["jam"])


def test_drivers_import_no_ui_or_business():
    code = ("import sys, cabin.drivers.ticketprinter.driver, cabin.drivers.ticketprinter.simulator;"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'textual'"
            " or m.startswith(('cabin.kiosk', 'cabin.queue'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
