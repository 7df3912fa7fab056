"""The ticket printer driver: status, then the ticket, then status again, over drivers.link.

A ticket counts as printed only when the printer reports no fault after it: a printer that
is offline before is refused (nothing sent), one that goes offline during it raises too, so
the caller knows to reprint. A roll near its end is a warning, not a failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cabin.config import TICKET_MODES

from ..errors import DeviceFault
from ..link import Link
from .escpos import STATUS_REQUEST, Status, StatusParser, decode_status
from ..fonts import FontFile
from .ticket import TicketContent, native_ticket, raster_ticket

MESSAGES = {
    "cover_open": "the ticket printer's cover is open: close it",
    "paper_out": "the ticket printer is out of paper: put in a new roll",
    "offline": "the ticket printer is offline with an error: switch it off and on again",
}
NEAR_END = "the ticket printer's paper is running low: change the roll soon"


@dataclass(frozen=True)
class PrintResult:
    bytes_sent: int
    seconds: float  # from the first byte sent to the status reply after the ticket
    status: Status  # as reported after the ticket
    warnings: tuple[str, ...] = ()


class TicketPrinter:
    def __init__(self, url: str, *, baudrate: int = 9600, timeout: float = 2.0,
                 mode: str = "native", font: FontFile | str | None = None):
        if mode not in TICKET_MODES:
            raise ValueError(f"ticket printer mode must be {' or '.join(map(repr, TICKET_MODES))}, not {mode!r}")
        self.baudrate, self.timeout, self.mode, self._font = baudrate, timeout, mode, font
        self.printed = 0  # tickets the printer confirmed
        self.link = Link(url, baudrate=baudrate, name="ticket printer")

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "TicketPrinter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def status(self, timeout: float | None = None) -> Status:
        reply = self.link.transact(STATUS_REQUEST, StatusParser(), timeout or self.timeout, "status reply")
        return decode_status(*reply)

    def ticket_bytes(self, content: TicketContent) -> bytes:
        if self.mode == "native":
            return native_ticket(content)
        return raster_ticket(content, self._font)

    def print_ticket(self, content: TicketContent) -> PrintResult:
        """Print one ticket; DeviceFault(kind) if it was not (or may not have been) printed."""
        data = self.ticket_bytes(content)  # before touching the printer: a missing font is no fault of it
        _refuse(self.status(), "the ticket was not printed: ")
        start = time.monotonic()
        self._send(data)
        # The status request queues behind the ticket on the line: allow for its wire time.
        wire = len(data) * 10 / self.baudrate
        after = self.status(self.timeout + 1.5 * wire)
        _refuse(after, "the ticket did not print completely: ")
        self.printed += 1
        return PrintResult(len(data), time.monotonic() - start, after,
                           (NEAR_END,) if after.paper_near_end else ())

    def _send(self, data: bytes) -> None:
        # About a second of line time per write: pyserial's write timeout is per call, and a
        # raster ticket takes far longer than that at 9600 baud.
        step = max(64, self.baudrate // 10)
        for i in range(0, len(data), step):
            self.link.write(data[i:i + step])


def _refuse(status: Status, prefix: str) -> None:
    kind = status.fault
    if kind:
        raise DeviceFault(kind, f"{prefix}{MESSAGES[kind]}, then print it again")
