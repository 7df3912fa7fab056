"""Thermal ticket printer (ESC/POS): codec, ticket layout, driver, simulator."""

from .driver import PrintResult, TicketPrinter
from .escpos import Status
from .simulator import FAULTS, SimulatedTicketPrinter
from .ticket import TicketContent, native_ticket, raster_ticket

__all__ = [
    "TicketPrinter", "PrintResult", "Status", "FAULTS", "SimulatedTicketPrinter",
    "TicketContent", "native_ticket", "raster_ticket",
]
