"""`cabin appointment ...`: bookings from the booking platform (预约), a thin face over
cabin.kiosk.business.appointments: import a day's file, check a booking in (a ticket, signed and
printed as `cabin ticket issue` does), show one."""

from __future__ import annotations

from pathlib import Path

from cabin.kiosk.business.appointments import Appointments
from cabin.kiosk.cli.app import EXIT_OK, emit
from cabin.kiosk.cli.queue import desk, printed_or_told


def cmd_import(ctx) -> int:
    result = Appointments(ctx.station()).import_file(Path(ctx.args.file))
    emit(ctx.args, result, lambda r: f"{r['imported']} bookings imported from {r['file']} ({', '.join(r['days'])})")
    return EXIT_OK


def _checkin_text(r: dict) -> str:
    line = (f"{r['code']}: {r['ticket']}  {' + '.join(r['services'])}  {r['priority']}  ahead: {r['ahead']}"
            f"  estimated wait: {r['estimated_wait_min']:.0f} min")
    return line + (f"\n  {r['why']}" if r["why"] else "")


def cmd_checkin(ctx) -> int:
    tickets = desk(ctx)
    checked = Appointments(tickets.station, issue=tickets.issue).checkin(ctx.args.code)
    result = checked.public(ctx.tz)
    emit(ctx.args, result, _checkin_text)
    return printed_or_told(result)


def cmd_show(ctx) -> int:
    result = Appointments(ctx.station()).show(ctx.args.code)
    emit(ctx.args, result, lambda r: (f"{r['code']}  {r['state']}  {r['slot_start']} to {r['slot_end'][-5:]}"
                                      f"  {' + '.join(r['services'])}" + (f"  ticket {r['ticket']}" if r["ticket"] else "")))
    return EXIT_OK


def declare(commands) -> None:
    group = commands.group("appointment")
    p = commands.command("import", cmd_import, "load a day's bookings from the booking platform's CSV or JSON file"
                         " (refused whole, with the line and the reason, if any booking is bad)", group)
    p.add_argument("file", metavar="FILE")
    p = commands.command("checkin", cmd_checkin, "turn a booking into a ticket (the appointment priority inside"
                         " its slot, else an ordinary one and why)", group)
    p.add_argument("code", metavar="CODE")
    p = commands.command("show", cmd_show, "one booking and its state (booked, checked_in, no_show)", group)
    p.add_argument("code", metavar="CODE")
