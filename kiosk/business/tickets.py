"""The ticket desk: issue, print, reprint and verify tickets — the rules the CLI and the
dispenser share, so neither face decides them.

- A ticket is issued first and printed after: a printer fault never undoes a ticket, it is
  reported (`printed: false`, `print_error`) and the ticket can be printed again.
- The QR code carries the signed token (tokens.py); a token verifies only if its ticket exists
  on the day it names.
- Nothing personal is ever on a ticket: number, errands, time, queue, code.
"""

from __future__ import annotations

from cabin.config import DEFAULT_PRIORITY, Device, StationConfig
from cabin.drivers.errors import DeviceError
from cabin.queue.engine import CHANNELS, Station
from cabin.queue.errors import CabinError
from cabin.queue.results import Outlook

from cabin.kiosk.business import tokens


class TicketDesk:
    def __init__(self, station: Station, config: StationConfig, secret: bytes):
        self.station, self.config, self.secret = station, config, secret

    def issue(self, services: list[str], priority: str = DEFAULT_PRIORITY, channel: str = CHANNELS[0],
              record=None) -> dict:
        """A ticket, signed and printed; `record`: the engine's (Station.issue), in its transaction."""
        issued = self.station.issue(services, priority=priority, channel=channel, record=record).as_dict()
        issued["token"] = tokens.sign(self.secret, self.config.station.code, issued.pop("day"), issued["ticket_id"])
        printer = self.config.dispenser.ticket_printer
        if printer is not None:
            outlook = Outlook(issued["ahead"], issued["estimated_wait_min"])
            try:
                issued.update(self.print(str(issued["ticket_id"]), printer, outlook=outlook))
            except DeviceError as exc:
                issued.update(printed=False, print_error=str(exc))
        return issued

    def print(self, ref: str, printer: Device | None = None, mode: str | None = None,
              outlook: Outlook | None = None) -> dict:
        """Print a ticket (by default on the dispenser's printer); DeviceError if it was not."""
        from cabin.kiosk import devices  # the printers' code: `cabin ticket issue` without one starts without it

        printer = printer or self.config.dispenser.ticket_printer
        if printer is None:
            raise CabinError("no ticket printer is configured (set [dispenser] ticket_printer in the station config)")
        ticket = self.station.show_ticket(ref)
        token = tokens.sign(self.secret, self.config.station.code, ticket.day, ticket.ticket_id)
        content = devices.ticket_content(self.config, ticket, outlook or self.station.outlook(ref), token)
        result = devices.print_ticket(printer, content, mode or self.config.dispenser.ticket_mode,
                                      self.config.dispenser.font)
        result["ticket"] = ticket.ticket
        return result

    def verify(self, token: str) -> dict:
        claims = tokens.verify(self.secret, self.config.station.code, token)
        ticket = self.station.show_ticket(str(claims.ticket_id))
        if ticket.day != claims.day:
            raise CabinError("the ticket code names ticket {ticket_id} of {day}, which does not exist",
                             ticket_id=claims.ticket_id, day=claims.day)
        return {"valid": True, "station": claims.station, "day": claims.day, "ticket_id": claims.ticket_id,
                "ticket": ticket.ticket, "state": ticket.state}
