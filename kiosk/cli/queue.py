"""`cabin ticket ...`, `cabin call`, `recall`, `no-show`, `start`, `complete`, `transfer`, `cancel`,
`reactivate`, `window` and `queue`: the queue from the command line, a thin face over
cabin.queue.engine (and cabin.kiosk.business.tickets for the signed, printed ticket).

What only some of these commands need (the ticket desk, the printer's drivers) is imported in
the function that needs it: `cabin call` is pressed on a button box, and starts at once.
"""

from __future__ import annotations

import sys

from cabin.config import DEFAULT_PRIORITY
from cabin.queue.engine import CHANNELS
from cabin.queue.errors import CabinError

from cabin.kiosk.cli.app import EXIT_DEVICE, EXIT_OK, Context, emit, one_line
from cabin.kiosk.cli.args import window_number


def call_text(call: dict | None) -> str:
    if call is None:
        return "nobody"
    return f"{call['ticket']} to window {call['window']} for {call['service']}"


def desk(ctx: Context):
    from cabin.kiosk.business.tickets import TicketDesk
    from cabin.kiosk.station import station_secret

    # the secret first: an unusable one refuses the command before anything is issued
    secret = station_secret(ctx.database(), ctx.store)
    return TicketDesk(ctx.station(), ctx.config, secret)


def cmd_ticket_issue(ctx: Context) -> int:
    a = ctx.args
    issued = desk(ctx).issue(a.services, priority=a.priority, channel=a.channel)
    emit(a, issued, lambda r: f"{r['ticket']}  {' + '.join(r['services'])}  ahead: {r['ahead']}  "
                              f"estimated wait: {r['estimated_wait_min']:.0f} min")
    return printed_or_told(issued)


def printed_or_told(issued: dict) -> int:
    """The exit code of an issued ticket: EXIT_DEVICE, said on stderr, when it was not printed."""
    if issued.get("printed") is False:
        print(f"cabin: {one_line(issued['ticket'] + ' was issued but not printed: ' + issued['print_error'])};"
              f" print it with `cabin ticket reprint {issued['ticket']}`", file=sys.stderr)
        return EXIT_DEVICE
    return EXIT_OK


def cmd_ticket_reprint(ctx: Context) -> int:
    return print_ticket(ctx, ctx.args.ticket)


def print_ticket(ctx: Context, ref: str, printer=None, mode: str | None = None) -> int:
    """Print ticket `ref` on `printer` (a config Device; default: the dispenser's) and report it."""
    from cabin.drivers.errors import DeviceError

    try:
        result = desk(ctx).print(ref, printer, mode)
    except DeviceError as exc:
        raise CabinError(f"not printed: {exc}") from None
    emit(ctx.args, result, lambda r: f"{r['ticket']} printed ({r['bytes']} bytes)"
         + "".join(f"; {w}" for w in r["warnings"]))
    return EXIT_OK


def cmd_ticket_show(ctx: Context) -> int:
    t = ctx.station().show_ticket(ctx.args.ticket).as_dict()

    def text(t: dict) -> str:
        lines = [f"{t['ticket']} ({t['day']}, {t['priority']}, {t['state']})"]
        for e in t["errands"]:
            where = (f" window {e['window']}" if e["window"]
                     else f" for window {e['target_window']}" if e["target_window"] else "")
            lines.append(f"  {e['position']}. {e['service']:<20} {e['state']}{where}")
        return "\n".join(lines)

    emit(ctx.args, t, text)
    return EXIT_OK


def cmd_ticket_verify(ctx: Context) -> int:
    """Check a ticket's QR token: signature, station, and the ticket it names."""
    result = desk(ctx).verify(ctx.args.token)
    emit(ctx.args, result, lambda r: f"valid: {r['ticket']} of {r['day']} ({r['state']})")
    return EXIT_OK


def cmd_call(ctx: Context) -> int:
    call = ctx.station().call_next(ctx.args.window).as_dict()
    emit(ctx.args, call, call_text)
    return EXIT_OK


def window_command(operation: str, text):
    """A command that does one engine operation at `--window N` and says what it did."""
    def run(ctx: Context) -> int:
        result = getattr(ctx.station(), operation)(ctx.args.window).as_dict()
        emit(ctx.args, result, text)
        return EXIT_OK
    return run


cmd_recall = window_command("recall", lambda r: f"{r['ticket']} marked no-show after {r['recalls']} recalls"
                            if r["no_show"] else f"{r['ticket']} recalled to window {r['window']} ({r['recalls']})")
cmd_no_show = window_command("no_show", lambda r: f"{r['ticket']} marked no-show")
cmd_start = window_command("start", lambda r: f"{r['ticket']} being served at window {r['window']}")
cmd_complete = window_command("complete", lambda r: f"{r['ticket']} done" + (
    f"; continues here: {call_text(r['continued'])}" if r["continued"] else ""))


def cmd_transfer(ctx: Context) -> int:
    a = ctx.args
    r = ctx.station().transfer(a.window, to_window=a.to_window, to_service=a.to_service).as_dict()
    emit(a, r, lambda r: f"{r['ticket']} transferred to "
         + (f"window {r['to_window']}" if r["to_window"] else r["service"]) + ", keeping its place")
    return EXIT_OK


def cmd_cancel(ctx: Context) -> int:
    r = ctx.station().cancel(ctx.args.ticket).as_dict()
    emit(ctx.args, r, lambda r: f"{r['ticket']} cancelled")
    return EXIT_OK


def cmd_reactivate(ctx: Context) -> int:
    r = ctx.station().reactivate(ctx.args.ticket).as_dict()
    emit(ctx.args, r, lambda r: f"{r['ticket']} back in the queue at its place")
    return EXIT_OK


def cmd_window(ctx: Context) -> int:
    state = {"open": "open", "pause": "paused", "close": "closed"}[ctx.args.action]
    r = ctx.station().set_window(ctx.args.number, state).as_dict()
    emit(ctx.args, r, lambda r: f"window {r['window']} {r['state']}" + ("" if r["changed"] else " (already)"))
    return EXIT_OK


def cmd_queue(ctx: Context) -> int:
    q = ctx.station().queue_state().as_dict()

    def text(q: dict) -> str:
        lines = [f"day {q['day']}"]
        for w in q["windows"]:
            cur = w["current"]
            now = f"{cur['ticket']} {cur['service']} ({cur['state']})" if cur else "-"
            lines.append(f"  window {w['window']:<3} {w['state']:<7} {now}")
        lines.append("  waiting:" + ("" if q["waiting"] else " nobody"))
        for service, n in q["waiting"].items():
            wait = q["estimated_wait_min"].get(service)  # None: a service no longer in the config
            lines.append(f"    {service:<20} {n:>4}   " + (f"~{wait:.0f} min" if wait is not None else ""))
        return "\n".join(lines)

    emit(ctx.args, q, text)
    return EXIT_OK


def declare(commands) -> None:
    ticket = commands.group("ticket")
    p = commands.command("issue", cmd_ticket_issue, "issue one ticket for one or more errands", ticket)
    p.add_argument("services", nargs="+", metavar="SERVICE", help="service codes, in the order they are served")
    p.add_argument("--priority", default=DEFAULT_PRIORITY, metavar="CLASS",
                   help=f"priority class from the config (default: {DEFAULT_PRIORITY})")
    p.add_argument("--channel", default=CHANNELS[0], choices=CHANNELS)
    p = commands.command("reprint", cmd_ticket_reprint, "print a ticket again on the dispenser's ticket printer", ticket)
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")
    p = commands.command("verify", cmd_ticket_verify, "check the signed code (QR) of a ticket", ticket)
    p.add_argument("token", metavar="TOKEN", help="CABIN1:<station>:<day>:<ticket_id>:<signature>")
    p = commands.command("show", cmd_ticket_show, "a ticket's errands and their states", ticket)
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")

    for name, func in [("call", cmd_call), ("recall", cmd_recall), ("no-show", cmd_no_show), ("start", cmd_start),
                       ("complete", cmd_complete)]:
        commands.command(name, func).add_argument("--window", type=window_number, required=True, metavar="N")

    p = commands.command("transfer", cmd_transfer)
    p.add_argument("--window", type=window_number, required=True, metavar="N")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-window", type=window_number, metavar="M")
    to.add_argument("--to-service", metavar="CODE")

    commands.command("cancel", cmd_cancel).add_argument("ticket", metavar="TICKET")
    commands.command("reactivate", cmd_reactivate).add_argument("ticket", metavar="TICKET")

    p = commands.command("window", cmd_window)
    p.add_argument("action", choices=["open", "pause", "close"])
    p.add_argument("number", type=window_number, metavar="N")

    commands.command("queue", cmd_queue)
