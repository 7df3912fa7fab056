"""The card printer (Evolis-style, domain.md 7.2): codec and panel (pure), driver, simulator."""

from .driver import CardPrinter, PrinterStatus, PrintResult
from .simulator import FAULTS, PrintedCard, SimulatedCardPrinter

__all__ = ["CardPrinter", "PrinterStatus", "PrintResult", "FAULTS", "PrintedCard", "SimulatedCardPrinter"]
