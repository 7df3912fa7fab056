"""`cabin sim KIND` and `cabin devices ...`: the simulated devices, and the configured ones checked,
printed on and read (a thin face over cabin.kiosk.devices)."""

from __future__ import annotations

import argparse
import errno
import sys

from cabin.config import TICKET_MODES, Device, read_bounded
from cabin.drivers.errors import DeviceError
from cabin.queue.errors import CabinError

from cabin.kiosk import devices
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_OK, EXIT_REFUSED, Context, complain, emit
from cabin.kiosk.cli.args import baud, host_any_port, path, seconds
from cabin.kiosk.cli.queue import print_ticket

CARDS_LIMIT = 4 * 1024 * 1024  # `sim reader --cards`: a few hundred cards with their photos


def cmd_sim(ctx: Context) -> int:
    """Serve one simulated device until interrupted."""
    a = ctx.args
    known = devices.sim_faults(a.kind)
    for fault in a.fault:
        if fault.split("@")[0] not in known:  # KIND or KIND@COMMAND (a card printer fault armed for one command)
            raise CabinError(f'unknown fault "{fault}" for the {a.kind} (faults: {", ".join(known)})')
    if a.serial is not None and a.kind != "card-printer":
        raise CabinError(f"--serial is the card printer's serial number: the {a.kind} has none")
    if a.cards:  # the simulator reads it whole: a bounded, regular file only
        try:
            read_bounded(a.cards, CARDS_LIMIT)
        except OSError as exc:
            raise CabinError("cannot read the cards file {path}: {why}", path=a.cards, why=exc.strerror or exc) from None
    try:
        device = devices.simulator(a.kind, a.fault, cards=a.cards, out_dir=a.out, baud=a.baud, serial=a.serial)
        h = devices.host(device, a.link, a.tcp, a.baud, a.control)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and a.tcp:
            raise CabinError("the port {port} on {host} is in use: stop what serves there, or choose another"
                             " (--tcp HOST:PORT)", host=a.tcp[0], port=a.tcp[1]) from None
        raise CabinError("cannot start the {kind} simulator: {why}", kind=a.kind, why=exc.strerror or exc) from None
    except ValueError as exc:
        raise CabinError("cannot start the {kind} simulator: {why}", kind=a.kind, why=exc) from None

    def announce(url: str) -> None:
        serial = getattr(device, "serial", None)  # the card printer's, made up when not given
        emit(a, {"device": a.kind, "url": url, "faults": a.fault, "baud": a.baud, "control": a.control,
                 **({"serial": serial} if a.kind == "card-printer" else {})},
             f"simulated {a.kind} at {url}" + (f" ({a.baud} baud)" if a.baud else "")
             + (f", serial number {serial}" if a.kind == "card-printer" else "")
             + (f", faults: {', '.join(a.fault)}" if a.fault else "")
             + (f", control lines at {a.control}" if a.control else "") + "; Ctrl-C stops it")
        sys.stdout.flush()

    devices.serve_until_interrupted(h, announce)
    return EXIT_OK


def cmd_devices_list(ctx: Context, selftest: bool = False) -> int:
    found = [devices.check(d) for d in devices.configured(ctx.config)]
    result = {"devices": found}

    def text(r: dict) -> str:
        if not r["devices"]:
            return "no devices configured (see config/station.toml: reader, card_printer, [dispenser])"
        return "\n".join(f"{d['where']:<10} {d['role']:<15} {d['status']:<6} {d['url']}  {d['detail']}"
                         for d in r["devices"])

    emit(ctx.args, result, text)
    if selftest and any(d["status"] != "ready" for d in found):
        complain("; ".join(f"{d['where']} {d['role']}: {d['detail']}" for d in found if d["status"] != "ready"))
        return EXIT_REFUSED
    return EXIT_OK


def cmd_devices_selftest(ctx: Context) -> int:
    return cmd_devices_list(ctx, selftest=True)


def cmd_devices_print_ticket(ctx: Context) -> int:
    a = ctx.args
    return print_ticket(ctx, a.ticket, Device(a.printer, a.baud), a.mode)


def cmd_devices_read_id(ctx: Context) -> int:
    a = ctx.args
    if a.reveal and not (a.acting and a.reason):
        raise CabinError("--reveal shows the whole record: name the clerk (--as) and the reason (--reason)")
    if a.reveal:  # a reason that will be refused is refused before the card is read
        from cabin.kiosk.checks import clean_reason

        clean_reason(a.reason, "reason for showing the personal data")
    clerk = signed_in(ctx) if a.reveal else None  # signed in before the card is read
    try:
        card = devices.read_card(a.reader, a.baud, a.timeout)
    except DeviceError as exc:
        raise CabinError(str(exc)) from None
    if clerk is None:
        record = devices.masked_record(card)
    else:
        from cabin.kiosk.business.reveal import audit_card_read

        audit_card_read(ctx.store(), card, by=clerk, reason=a.reason, now_ms=ctx.clock.now_ms())
        record = card.to_dict()  # unmasked, photo and fingerprint base64: the read is in the audit log
    emit(a, record, lambda r: "\n".join(f"{k:<14} {v}" for k, v in r.items() if v not in ("", None)))
    return EXIT_OK


def declare(commands) -> None:
    p = commands.command("sim", cmd_sim)
    p.add_argument("kind", choices=devices.DEVICE_KINDS)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--link", type=path, metavar="PATH", help="link the pseudo-terminal's path here (default: print /dev/pts/N)")
    where.add_argument("--tcp", type=host_any_port, metavar="HOST:PORT", help="serve on a TCP port instead (socket://HOST:PORT)")
    p.add_argument("--baud", type=baud, metavar="B", help="pace the replies as a line at B baud would")
    p.add_argument("--fault", action="append", default=[], metavar="KIND", help="inject a fault (repeatable)")
    p.add_argument("--cards", type=path, metavar="FILE", help="reader: serve the cards in this JSON file (default: samples)")
    p.add_argument("--out", type=path, metavar="DIR", help="printers: render each printed ticket or card to a PNG here")
    p.add_argument("--serial", metavar="TEXT", help="card printer: the serial number it answers to Rsn"
                   " (default: a new one each start, as it keeps no counter); the same again is a reset printer")
    p.add_argument("--control", type=path, metavar="PATH", help="take control lines (faults on and off, the"
                   " device's own: below) on a unix socket at PATH while it runs")
    p.formatter_class = argparse.RawDescriptionHelpFormatter  # the epilog's lists keep their lines

    def sim_help(sim=p, plain=p.format_help) -> str:  # the fault lists import every simulator: only when asked
        sim.epilog = devices.sim_help()
        return plain()

    p.format_help = sim_help

    dev = commands.group("devices")
    commands.command("list", cmd_devices_list, "the configured devices and their live status", dev)
    commands.command("selftest", cmd_devices_selftest, "test every configured device, one line each (exit 1 on a fault)", dev)
    p = commands.command("print-ticket", cmd_devices_print_ticket, "print a ticket on the printer at URL", dev)
    p.add_argument("--printer", required=True, metavar="URL", help="the ticket printer's pyserial URL")
    p.add_argument("--baud", type=baud, default=9600, metavar="B")
    p.add_argument("--mode", choices=TICKET_MODES, default=TICKET_MODES[0],
                   help="native: text and QR commands (default); raster: one image, for printers without them")
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")
    p = commands.command("read-id", cmd_devices_read_id, "read the ID card on a reader (masked)", dev)
    p.add_argument("--reader", required=True, metavar="URL", help="the reader's pyserial URL")
    p.add_argument("--baud", type=baud, default=115200, metavar="B")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="S", help="seconds to wait for a card (default 10)")
    p.add_argument("--reveal", action="store_true", help="the whole record with the photo (audited: --as, --reason)")
    options.acting(p, required=False)
    p.add_argument("--reason", metavar="TEXT", help="why the whole record must be seen")
