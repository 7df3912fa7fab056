"""The station's devices as the CLI (and later the faces) use them: simulators to serve, the
configured devices to list and test, and the ID-card reader's record as a clerk may see it.

Drivers know bytes; this module knows the station: which window has which device, and that a
card's personal data is shown masked (domain.md 6) until the audited reveal of the counter's
business exists.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from cabin.config import Device, StationConfig
from cabin.drivers.errors import DeviceError, DeviceTimeout, ProtocolError
from cabin.drivers.simhost import PtyHost, TcpHost

if TYPE_CHECKING:  # for the annotations only: the devices' commands do not load the engine
    from cabin.queue.results import Outlook, Ticket

DEVICE_KINDS = ("reader", "card-printer", "ticket-printer")  # each can be simulated (cabin sim KIND)


def simulator(kind: str, faults: list[str], cards: str | None = None, out_dir: str | None = None,
              baud: int | None = None, serial: str | None = None):
    """A simulated device of `kind`, with faults switched on from the start; a card printer answers
    `serial` to Rsn (default: a new one each start), so a spare can be swapped in on the same line."""
    if kind == "reader":
        from cabin.drivers.idreader.simulator import RADIO_S, SimulatedReader

        return SimulatedReader(cards, faults=tuple(faults), radio_s=RADIO_S)  # a read takes a real reader's time
    if kind == "card-printer":
        from cabin.drivers.cardprinter import SimulatedCardPrinter

        return SimulatedCardPrinter(faults=tuple(faults), out_dir=out_dir, serial=serial)
    if kind == "ticket-printer":
        from cabin.drivers.ticketprinter import SimulatedTicketPrinter

        # it times its status replies by when the bytes would have arrived at that speed
        return SimulatedTicketPrinter(faults=tuple(faults), out_dir=out_dir, baud=baud)
    raise ValueError(kind)


def sim_faults(kind: str) -> tuple[str, ...]:
    if kind == "reader":
        from cabin.drivers.idreader import FAULTS
    elif kind == "card-printer":
        from cabin.drivers.cardprinter import FAULTS
    else:
        from cabin.drivers.ticketprinter import FAULTS
    return tuple(FAULTS)


def sim_control_lines(kind: str) -> tuple[str, ...]:
    """The control lines a simulator adds to the generic ones (its module's CONTROL_LINES)."""
    import importlib

    module = {"reader": "idreader", "card-printer": "cardprinter", "ticket-printer": "ticketprinter"}[kind]
    return tuple(getattr(importlib.import_module(f"cabin.drivers.{module}.simulator"), "CONTROL_LINES", ()))


def sim_help() -> str:
    """`cabin sim --help`'s epilog: every simulator's fault kinds and control lines."""
    from cabin.drivers.simcontrol import GENERIC

    faults = "\n".join(f"  {kind}: {', '.join(sorted(sim_faults(kind)))}" for kind in DEVICE_KINDS)
    lines = "\n".join(f"  {kind}: {'; '.join(sim_control_lines(kind)) or '(none of its own)'}" for kind in DEVICE_KINDS)
    return (f"faults (--fault KIND, repeatable; KIND@COMMAND arms a card printer fault for that\n"
            f"one command, e.g. silence@Se):\n{faults}\n\n"
            "control lines (--control PATH, a unix socket: send one text line, get one line back,\n"
            "\"ok ...\" or \"error: ...\"; e.g. echo 'remove card' | socat - UNIX-CONNECT:PATH):\n"
            f"  any simulator: {'; '.join(GENERIC)}\n{lines}")


def host(device, link: str | None, tcp: tuple[str, int] | None, baud: int | None,
         control: str | None = None) -> PtyHost | TcpHost:
    """`tcp`: (host, port) as cli_args.host_port parsed it; `control`: the control socket's path."""
    if tcp:
        address, port = tcp
        return TcpHost(device, address, port, baud=baud, control=control)
    return PtyHost(device, link=link, baud=baud, control=control)


def serve_until_interrupted(h: PtyHost | TcpHost, announce: Callable[[str], None]) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with h:
        announce(h.path)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


@dataclass(frozen=True)
class ConfiguredDevice:
    role: str       # "reader", "card-printer", "ticket-printer"
    where: str      # "window 2", "dispenser"
    device: Device


def configured(config: StationConfig) -> list[ConfiguredDevice]:
    found = []
    for number, w in sorted(config.windows.items()):
        if w.reader:
            found.append(ConfiguredDevice("reader", f"window {number}", w.reader))
        if w.card_printer:
            found.append(ConfiguredDevice("card-printer", f"window {number}", w.card_printer))
    if config.dispenser.ticket_printer:
        found.append(ConfiguredDevice("ticket-printer", "dispenser", config.dispenser.ticket_printer))
    return found


def fault_kind(exc: Exception) -> str:
    """What went wrong, as one word a face can say in its own language: the device's own kind
    (cover_open, no_card, sam_selftest_failed, …), else "timeout" (no answer), "protocol" (an
    answer that made no sense) or "link" (the port itself: cannot open, send, or it went away)."""
    kind = getattr(exc, "kind", None)
    if kind:
        return kind
    if isinstance(exc, DeviceTimeout):
        return "timeout"
    if isinstance(exc, ProtocolError):
        return "protocol"
    return "link"


def check(d: ConfiguredDevice, timeout: float = 2.0) -> dict:
    """One device's live status: open it, ask it how it is, close it. A fault has a `kind`
    (fault_kind's words) besides the driver's own sentence in `detail`."""
    result = {"role": d.role, "where": d.where, "url": d.device.url, "baud": d.device.baud}
    try:
        if d.role == "reader":
            from cabin.drivers.idreader import IdCardReader

            with IdCardReader(d.device.url, baudrate=d.device.baud, timeout=timeout) as reader:
                reader.sam_status()
                result["detail"] = f"SAM {reader.sam_id()}"
        elif d.role == "card-printer":
            from cabin.drivers.cardprinter import CardPrinter

            with CardPrinter(d.device.url, baudrate=d.device.baud, timeout=timeout) as printer:
                status = printer.status()
                result["detail"] = f"{status}; firmware {printer.firmware()}"
                if not status.ready:
                    result["status"], result["kind"] = "fault", status.faults[0]
        else:
            from cabin.drivers.ticketprinter import TicketPrinter

            with TicketPrinter(d.device.url, baudrate=d.device.baud, timeout=timeout) as printer:
                status = printer.status()
                result["detail"] = status.summary
                if status.fault:
                    result["status"], result["kind"] = "fault", status.fault
        result.setdefault("status", "ready")
    except (DeviceError, OSError) as exc:  # OSError: the port itself, beneath the driver ("link")
        result["status"], result["kind"] = "fault", fault_kind(exc)
        result["detail"] = str(exc)
    return result


def read_card(url: str, baud: int = 115200, timeout: float = 10.0):
    """The card on the reader, as read: unmasked. Show it through `masked_record`, or audit it."""
    from cabin.drivers.idreader import IdCardReader

    with IdCardReader(url, baudrate=baud) as reader:
        return reader.read_card(timeout=timeout)


def masked_record(card) -> dict:
    """A card read as screens may show it (domain.md 6)."""
    from cabin.kiosk.privacy import mask_card

    record = mask_card(card).to_dict()
    record["photo_bytes"] = len(card.photo)  # the photo itself is personal data: not shown
    record["fingerprint"] = bool(card.fingerprint)
    return record


def ticket_content(config: StationConfig, ticket: Ticket, outlook: Outlook, token: str):
    """What a ticket shows: no name, no ID number — only the number, errands, time, queue."""
    from datetime import datetime

    from cabin.drivers.ticketprinter import TicketContent

    issued = datetime.fromtimestamp(ticket.issued_at / 1000, config.station.tz)
    errands = [config.services[e.service].name if e.service in config.services else e.service
               for e in ticket.errands if e.transferred_from is None]
    return TicketContent(station=config.station.name, number=ticket.ticket, errands=errands,
                         issued_at=issued.strftime("%Y-%m-%d %H:%M"), ahead=outlook.ahead,
                         estimated_wait_min=outlook.estimated_wait_min, token=token)


def print_ticket(device: Device, content, mode: str = "native", font: str = "") -> dict:
    """Print one ticket; DeviceError (typed, with a clerk's message) if it was not printed.
    `font`: [dispenser] font, for raster tickets (empty: cabin.drivers.fonts' choice)."""
    from cabin.drivers.ticketprinter import TicketPrinter

    with TicketPrinter(device.url, baudrate=device.baud, mode=mode, font=font or None) as printer:
        result = printer.print_ticket(content)
    return {"printed": True, "bytes": result.bytes_sent, "warnings": list(result.warnings)}
