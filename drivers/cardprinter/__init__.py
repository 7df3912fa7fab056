"""The card printer (Evolis-style, domain.md 7.2): codec and panel (pure), driver, simulator."""

from .driver import CardPrinter, JobInDoubt, PrinterStatus, PrintResult, Witness, what_came_out
from .simulator import FAULTS, PrintedCard, SimulatedCardPrinter

__all__ = ["CardPrinter", "JobInDoubt", "PrinterStatus", "PrintResult", "Witness", "what_came_out", "FAULTS",
           "PrintedCard", "SimulatedCardPrinter"]
