"""`cabin`: the station from the command line.

The contract scripts, button boxes and the faces rely on: `--json` prints exactly one JSON
object on stdout; exit codes are 0 done, 1 refused (one line on stderr, nothing changed),
2 usage, 3 nothing to call. The rules live in cabin.queue; this module only parses, calls and
prints.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sqlite3
import sys
from datetime import date
from typing import Callable

from cabin.config import ConfigError, Device, describe, load_config, read_bounded, resolve_config_path
from cabin.queue.clock import SystemClock, local_day
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, NothingToCall, shown
from cabin.queue.store import Store, schema_version

from cabin.drivers.errors import DeviceError

from cabin.kiosk.cli import (
    accounts as cli_accounts,
    applications as cli_applications,
    identity as cli_identity,
    intake as cli_intake,
    lostfound as cli_lostfound,
)
from cabin.kiosk import devices, paths
from cabin.kiosk.business import tokens
from cabin.kiosk.cli import faces as cli_faces
from cabin.kiosk.cli import supervisor as cli_supervisor
from cabin.kiosk.cli import counter as cli_counter
from cabin.kiosk.cli import privacy as cli_privacy, tempcards as cli_tempcards
from cabin.kiosk.cli import export as cli_export
from cabin.kiosk.cli import backup as cli_backup
from cabin.kiosk.cli.args import (
    EARLIEST_DAY,
    LATEST_DAY,
    MAX_CITIZENS,
    any_integer,
    baud,
    host_any_port,
    integer,
    path,
    seconds,
    window_number,
)
from cabin.kiosk.station import open_store
from cabin.kiosk.business.tickets import TicketDesk

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 3
EXIT_DEVICE = 4  # done, but a device failed: the ticket exists and can be printed again
CARDS_LIMIT = 4 * 1024 * 1024  # `sim reader --cards`: a few hundred cards with their photos
MESSAGE_LIMIT = 1_000  # a whole refusal line; each value from outside in it is cut at 200 already


class Context:
    """What every command needs, opened lazily: a command that fails on its arguments
    never touches the database."""

    def __init__(self, args: argparse.Namespace, clock=None):
        self.args = args
        self.clock = clock if clock is not None else SystemClock()  # the station's time: a fixed one in tests
        self._config = None
        self._store = None

    @property
    def config(self):
        if self._config is None:
            self._config = load_config(self.args.config)
        return self._config

    def store(self, **kwargs) -> Store:
        if self._store is None:
            self._store = open_store(self.args.db, **kwargs)
        return self._store

    def station(self) -> Station:
        config = self.config  # a broken config is reported before the database is opened
        return Station(self.store(), config, self.clock)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


# -- output --------------------------------------------------------------------------------
def emit(args: argparse.Namespace, result: dict, text: str | Callable[[dict], str]) -> None:
    if args.json:
        say(json.dumps(result, ensure_ascii=False))
    else:
        say(text(result) if callable(text) else text)


def say(text: str) -> None:
    """Print a command's result on stdout. The work is done when this runs: a reader that has
    gone away (`cabin call --window 1 | true`) is no reason to report a failure, so the rest of
    the output goes to /dev/null, as git does, and the command keeps its exit code. Text a
    terminal cannot encode (an undecodable byte of the command line, echoed) is escaped."""
    try:
        try:
            print(text, flush=True)
        except UnicodeEncodeError:
            print(text.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)
    except BrokenPipeError:
        stdout_gone()


def stdout_gone() -> None:
    """Point stdout at /dev/null (Python's advice for SIGPIPE/BrokenPipeError): what is still
    buffered, and anything printed later, is dropped without another error."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
        sys.stdout = open(os.devnull, "w")
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def call_text(call: dict | None) -> str:
    if call is None:
        return "nobody"
    return f"{call['ticket']} to window {call['window']} for {call['service']}"


# -- commands ------------------------------------------------------------------------------
def desk(ctx: Context) -> TicketDesk:
    # the secret first: an unusable one refuses the command before anything is issued
    secret = tokens.load_secret(paths.secret_file())
    return TicketDesk(ctx.station(), ctx.config, secret)


def cmd_ticket_issue(ctx: Context) -> int:
    a = ctx.args
    issued = desk(ctx).issue(a.services, priority=a.priority, channel=a.channel)
    emit(a, issued, lambda r: f"{r['ticket']}  {' + '.join(r['services'])}  ahead: {r['ahead']}  "
                              f"estimated wait: {r['estimated_wait_min']:.0f} min")
    if issued.get("printed") is False:
        print(f"cabin: {one_line(issued['ticket'] + ' was issued but not printed: ' + issued['print_error'])};"
              f" print it with `cabin ticket reprint {issued['ticket']}`", file=sys.stderr)
        return EXIT_DEVICE
    return EXIT_OK


def cmd_ticket_reprint(ctx: Context) -> int:
    return _print_and_report(ctx, ctx.args.ticket)


def cmd_devices_print_ticket(ctx: Context) -> int:
    a = ctx.args
    return _print_and_report(ctx, a.ticket, Device(a.printer, a.baud), a.mode)


def _print_and_report(ctx: Context, ref: str, printer: Device | None = None, mode: str | None = None) -> int:
    try:
        result = desk(ctx).print(ref, printer, mode)
    except DeviceError as exc:
        raise CabinError(f"not printed: {exc}") from None
    emit(ctx.args, result, lambda r: f"{r['ticket']} printed ({r['bytes']} bytes)"
         + "".join(f"; {w}" for w in r["warnings"]))
    return EXIT_OK


def cmd_ticket_show(ctx: Context) -> int:
    t = ctx.station().show_ticket(ctx.args.ticket)

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
    emit(ctx.args, call, lambda c: call_text(c))
    return EXIT_OK


def cmd_recall(ctx: Context) -> int:
    r = ctx.station().recall(ctx.args.window)
    emit(ctx.args, r, lambda r: f"{r['ticket']} marked no-show after {r['recalls']} recalls" if r["no_show"]
         else f"{r['ticket']} recalled to window {r['window']} ({r['recalls']})")
    return EXIT_OK


def cmd_no_show(ctx: Context) -> int:
    r = ctx.station().no_show(ctx.args.window)
    emit(ctx.args, r, lambda r: f"{r['ticket']} marked no-show")
    return EXIT_OK


def cmd_start(ctx: Context) -> int:
    r = ctx.station().start(ctx.args.window)
    emit(ctx.args, r, lambda r: f"{r['ticket']} being served at window {r['window']}")
    return EXIT_OK


def cmd_complete(ctx: Context) -> int:
    r = ctx.station().complete(ctx.args.window)
    emit(ctx.args, r, lambda r: f"{r['ticket']} done" + (
        f"; continues here: {call_text(r['continued'])}" if r["continued"] else ""))
    return EXIT_OK


def cmd_transfer(ctx: Context) -> int:
    a = ctx.args
    r = ctx.station().transfer(a.window, to_window=a.to_window, to_service=a.to_service)
    emit(a, r, lambda r: f"{r['ticket']} transferred to "
         + (f"window {r['to_window']}" if r["to_window"] else r["service"]) + ", keeping its place")
    return EXIT_OK


def cmd_cancel(ctx: Context) -> int:
    r = ctx.station().cancel(ctx.args.ticket)
    emit(ctx.args, r, lambda r: f"{r['ticket']} cancelled")
    return EXIT_OK


def cmd_reactivate(ctx: Context) -> int:
    r = ctx.station().reactivate(ctx.args.ticket)
    emit(ctx.args, r, lambda r: f"{r['ticket']} back in the queue at its place")
    return EXIT_OK


def cmd_window(ctx: Context) -> int:
    state = {"open": "open", "pause": "paused", "close": "closed"}[ctx.args.action]
    r = ctx.station().set_window(ctx.args.number, state)
    emit(ctx.args, r, lambda r: f"window {r['window']} {r['state']}" + ("" if r["changed"] else " (already)"))
    return EXIT_OK


def cmd_queue(ctx: Context) -> int:
    q = ctx.station().queue_state()

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


def cmd_simulate(ctx: Context) -> int:
    from cabin.queue.simulate import simulate_day  # only this command needs it

    a = ctx.args
    day = resolve_day(a.day, ctx.config, ctx.clock)
    result = simulate_day(ctx.store(durable=False), ctx.config, day, a.citizens, seed=a.seed,
                          progress=not a.json and sys.stderr.isatty())
    emit(a, result, figures_text)
    return EXIT_OK


def cmd_demo(ctx: Context) -> int:
    """`cabin demo`: a fresh demo database with the station's latest open day simulated, and its
    figures (`cabin` alone starts the demo station's faces)."""
    from cabin.queue.simulate import capacity_citizens, last_open_day, simulate_day

    db = paths.demo_db()
    for suffix in ("", "-wal", "-shm", "-lock"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    ctx.args.db = str(db)
    day = last_open_day(ctx.config, resolve_day("today", ctx.config, ctx.clock))
    citizens = ctx.args.citizens or capacity_citizens(ctx.config, day)
    result = simulate_day(ctx.store(durable=False), ctx.config, day, citizens, seed=1,
                          progress=not ctx.args.json and sys.stderr.isatty())
    result["database"] = str(db)

    def text(r: dict) -> str:
        return (f"Demo station: {ctx.config.station.name}\nDatabase: {db}\n\n{figures_text(r)}\n\n"
                f"Try: .venv/bin/cabin --db {db} ticket show 1\n"
                f"     .venv/bin/cabin --db {db} doctor")

    emit(ctx.args, result, text)
    return EXIT_OK


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
        faults = [f"{d['where']} {d['role']}: {d['detail']}" for d in found if d["status"] != "ready"]
        print(f"cabin: {one_line('; '.join(faults))}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_devices_selftest(ctx: Context) -> int:
    return cmd_devices_list(ctx, selftest=True)


def cmd_devices_read_id(ctx: Context) -> int:
    a = ctx.args
    if a.reveal and not (a.acting and a.reason):
        raise CabinError("--reveal shows the whole record: name the clerk (--as) and the reason (--reason)")
    if a.reveal:  # a reason that will be refused is refused before the card is read
        from cabin.kiosk.checks import clean_reason

        clean_reason(a.reason, "reason for showing the personal data")
    clerk = cli_accounts.signed_in(ctx) if a.reveal else None  # signed in before the card is read
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


def figures_text(f: dict) -> str:
    lines = [
        f"{f['day']}: {f['tickets_issued']} tickets, {f['errands_requested']} errands",
        f"  done {f['errands_done']}, no-show {f['errands_no_show']}, cancelled {f['errands_cancelled']},"
        f" transferred {f['errands_transferred']}, expired {f['errands_expired']}, still open {f['errands_open']}",
        f"  wait p50 {f['wait_p50_min']} min, p90 {f['wait_p90_min']} min, max {f['wait_max_min']} min;"
        f" within {f['sla_target_min']} min: {f['sla_share']:.0%}",
        f"  service p50 {f['service_p50_min']} min, p90 {f['service_p90_min']} min",
        f"  tickets with 2+ errands: {f['multi_errand_tickets']}, served without queueing again:"
        f" {f['one_stop_tickets']} ({f['one_stop_share']:.0%})",
    ]
    return "\n".join(lines)


def resolve_day(text: str, config, clock, *, future: bool = True) -> str:
    """YYYY-MM-DD, or 'today' in the station's time zone (not the host's), from EARLIEST_DAY on;
    up to LATEST_DAY, or up to today where a later day makes no sense (`future=False`: an export
    of a day that has not come)."""
    today = local_day(clock.now_ms(), config.station.tz)
    if text == "today":
        return today
    try:
        day = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise CabinError('"{day}" is not a date like 2026-11-28', day=text)
    latest = LATEST_DAY if future else date.fromisoformat(today)
    if not EARLIEST_DAY <= day <= latest:
        raise CabinError("{day} is out of range: a day from {earliest} to {latest}", day=day.isoformat(),
                         earliest=EARLIEST_DAY.isoformat(),
                         latest="today" if not future else latest.isoformat())
    return day.isoformat()


positive_int = integer(1, MAX_CITIZENS)  # citizens of a simulated day


def cmd_config_check(ctx: Context) -> int:
    config = ctx.config
    result = describe(config)
    if ctx.args.services:
        result["catalogue"] = [
            {"code": s.code, "category": s.category, "name": s.name, "name_en": s.name_en,
             "windows": config.windows_serving(s.code), "documents": list(s.documents),
             "fees": {option or "fee": yuan for option, yuan in s.fees}}
            for s in config.services.values()
        ]

    def text(r: dict) -> str:
        lines = [f"ok: {r['source']}", f"  {r['station']} ({r['code']}), {r['services']} services,"
                 f" windows {', '.join(map(str, r['windows']))}"]
        for s in r.get("catalogue", []):
            lines.append(f"  {s['code']:<20} {s['name']}  windows {','.join(map(str, s['windows']))}")
        return "\n".join(lines)

    emit(ctx.args, result, text)
    return EXIT_OK


def cmd_doctor(ctx: Context) -> int:
    """Report on the database and config; exit 1 if either is unusable."""
    db_path = paths.resolve_db(ctx.args.db)
    report: dict = {"database": str(db_path), "config": str(resolve_config_path(ctx.args.config))}
    ok = True
    try:
        report["config_summary"] = describe(ctx.config)
    except ConfigError as exc:
        report["config_error"] = str(exc)
        ok = False
    try:
        if not db_path.exists():  # a diagnostic must not create what it diagnoses
            raise CabinError(f"there is no database at {db_path} (the first station command creates it)")
        store = ctx.store()
        report["schema_version"] = schema_version(store.db, store.migration_sets[1:])
        report["access"] = "read-only" if store.read_only else "read-write"
        report["journal_mode"] = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        report["synchronous"] = {0: "off", 1: "normal", 2: "full", 3: "extra"}[
            store.conn.execute("PRAGMA synchronous").fetchone()[0]]
        report["integrity_check"] = "; ".join(r[0] for r in store.conn.execute("PRAGMA integrity_check"))
        ok = ok and report["integrity_check"] == "ok"
    except (CabinError, sqlite3.Error) as exc:
        report["database_error"] = str(exc)
        ok = False
    report["ok"] = ok

    def text(r: dict) -> str:
        keys = ["database", "access", "schema_version", "journal_mode", "synchronous", "integrity_check",
                "database_error", "config", "config_error"]
        return "\n".join(f"{k:<16} {r[k]}" for k in keys if k in r)

    emit(ctx.args, report, text)
    if not ok:  # the exit-1 contract: one line on stderr saying what is wrong
        problems = [report[k] for k in ("config_error", "database_error") if k in report]
        if report.get("integrity_check", "ok") != "ok":
            problems.append(f"the database {db_path} fails integrity_check: {report['integrity_check']}")
        print(f"cabin: {one_line('; '.join(problems))}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_REFUSED


# -- parser ---------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, but a usage error under --json is one JSON object too (exit 2)."""

    json_requested = False  # set by main(): subparsers are separate instances

    def error(self, message: str):
        message = one_line(message)  # argparse quotes what was typed: through the one sanitiser
        if Parser.json_requested:
            say(json.dumps({"error": message, "exit": EXIT_USAGE}, ensure_ascii=False))
        super().error(message)

    def _check_value(self, action, value):
        # argparse's own message would quote a 10 kB value whole: the value is cut here
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {shown(repr(value))} (choose from {choices})")


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    # SUPPRESS, not a default: a subcommand's default would overwrite `cabin --json queue`'s value
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print exactly one JSON object")
    common.add_argument("--db", type=path, default=argparse.SUPPRESS, help="database file (default: $CABIN_DB or the user data dir)")
    common.add_argument("--config", type=path, default=argparse.SUPPRESS, help="station config (default: $CABIN_CONFIG or the shipped one)")

    parser = Parser(
        prog="cabin", parents=[common],
        description="Cabin: the one-stop service counter of a police station.",
        epilog="Exit codes: 0 done, 1 refused, 2 usage, 3 nothing to call, 4 done but a device failed.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, func, help: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    ticket = sub.add_parser("ticket", help="issue or show a ticket").add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    p = command("issue", cmd_ticket_issue, "issue one ticket for one or more errands", ticket)
    p.add_argument("services", nargs="+", metavar="SERVICE", help="service codes, in the order they are served")
    p.add_argument("--priority", default="normal", metavar="CLASS", help="priority class from the config (default: normal)")
    p.add_argument("--channel", default="dispenser", choices=["dispenser", "counter", "appointment"])
    p = command("reprint", cmd_ticket_reprint, "print a ticket again on the dispenser's ticket printer", ticket)
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")
    p = command("verify", cmd_ticket_verify, "check the signed code (QR) of a ticket", ticket)
    p.add_argument("token", metavar="TOKEN", help="CABIN1:<station>:<day>:<ticket_id>:<signature>")
    p = command("show", cmd_ticket_show, "a ticket's errands and their states", ticket)
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")

    for name, func, help in [
        ("call", cmd_call, "call the next citizen to a window"),
        ("recall", cmd_recall, "call the same citizen again (past the recall limit: no-show)"),
        ("no-show", cmd_no_show, "the called citizen did not come"),
        ("start", cmd_start, "the called citizen is at the window: start serving"),
        ("complete", cmd_complete, "finish the errand; the ticket's next errand continues here if this window serves it"),
    ]:
        command(name, func, help).add_argument("--window", type=window_number, required=True, metavar="N")

    p = command("transfer", cmd_transfer, "send the errand at a window to another window or service, keeping its place")
    p.add_argument("--window", type=window_number, required=True, metavar="N")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-window", type=window_number, metavar="M")
    to.add_argument("--to-service", metavar="CODE")

    command("cancel", cmd_cancel, "cancel a ticket's remaining errands").add_argument("ticket", metavar="TICKET")
    command("reactivate", cmd_reactivate, "put a no-show ticket back at its place (within the reactivation window)").add_argument("ticket", metavar="TICKET")

    p = command("window", cmd_window, "open, pause or close a window")
    p.add_argument("action", choices=["open", "pause", "close"])
    p.add_argument("number", type=window_number, metavar="N")

    command("queue", cmd_queue, "who is waiting, and what each window is doing")

    p = command("simulate", cmd_simulate, "run a realistic day through the engine on a simulated clock")
    p.add_argument("--day", required=True, help="YYYY-MM-DD or 'today'")
    p.add_argument("--citizens", type=positive_int, required=True, metavar="N")
    p.add_argument("--seed", type=any_integer, default=0, metavar="S")

    p = command("demo", cmd_demo, "a fresh demo database with one simulated day (make run)")
    p.add_argument("--citizens", type=positive_int, metavar="N", help="default: what the day's windows serve at 85%% load")

    p = command("sim", cmd_sim, "serve a simulated device on a pseudo-terminal or a TCP port until interrupted")
    p.add_argument("kind", choices=devices.SIM_KINDS)
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

    dev = sub.add_parser("devices", help="the configured devices").add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    command("list", cmd_devices_list, "the configured devices and their live status", dev)
    command("selftest", cmd_devices_selftest, "test every configured device, one line each (exit 1 on a fault)", dev)
    p = command("print-ticket", cmd_devices_print_ticket, "print a ticket on the printer at URL", dev)
    p.add_argument("--printer", required=True, metavar="URL", help="the ticket printer's pyserial URL")
    p.add_argument("--baud", type=baud, default=9600, metavar="B")
    p.add_argument("--mode", choices=["native", "raster"], default="native",
                   help="native: text and QR commands (default); raster: one image, for printers without them")
    p.add_argument("ticket", metavar="TICKET", help="today's number (A001) or the ticket id")
    p = command("read-id", cmd_devices_read_id, "read the ID card on a reader (masked)", dev)
    p.add_argument("--reader", required=True, metavar="URL", help="the reader's pyserial URL")
    p.add_argument("--baud", type=baud, default=115200, metavar="B")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="S", help="seconds to wait for a card (default 10)")
    p.add_argument("--reveal", action="store_true", help="the whole record with the photo (audited: --as, --reason)")
    p.add_argument("--as", dest="acting", metavar="CLERK")
    p.add_argument("--reason", metavar="TEXT", help="why the whole record must be seen")

    config = sub.add_parser("config", help="check a station configuration").add_subparsers(dest="config_command", metavar="ACTION", required=True)
    p = command("check", cmd_config_check, "check the station configuration and summarise it", config)
    p.add_argument("--services", action="store_true", help="list the service catalogue too")

    command("doctor", cmd_doctor, "database path, schema version, journal mode, integrity, config in use")
    cli_identity.add_commands(sub, command)
    cli_accounts.add_commands(sub, command)
    cli_lostfound.add_commands(sub, command)
    cli_intake.add_commands(sub, command)
    cli_applications.add_commands(sub, command)
    cli_faces.add_commands(sub, command)
    cli_supervisor.add_commands(sub, command)
    cli_counter.add_commands(sub, command)
    cli_tempcards.add_commands(sub, command)
    cli_privacy.add_commands(sub, command)
    cli_export.add_commands(sub, command)
    cli_backup.add_commands(sub, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    Parser.json_requested = "--json" in argv
    for arg in argv:  # an undecodable byte arrives as a lone surrogate: no layer below could store or print it
        if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):
            parser.error(f"{shown(repr(arg))} is not UTF-8 text (a byte on the command line could not be decoded)")
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    args.db = getattr(args, "db", None)
    args.config = getattr(args, "config", None)
    if not getattr(args, "func", None) and not cli_counter.can_show_a_face():
        parser.print_help()  # no terminal (scripts, CI): the index, never a screen that waits
        return EXIT_OK
    ctx = Context(args)
    try:
        if not getattr(args, "func", None):
            return cli_counter.run_demo_station(ctx)  # `cabin` alone: the demo station
        return args.func(ctx)
    except NothingToCall as exc:
        return refuse(args, exc, EXIT_NOTHING)
    except cli_tempcards.DeviceFailed as exc:
        return refuse(args, exc, EXIT_DEVICE)
    except (CabinError, ConfigError) as exc:
        return refuse(args, exc, EXIT_REFUSED)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a face that cannot run says so in one sentence
        face = getattr(args, "face", None) if getattr(args, "func", None) else "the demo station"
        if face is None or os.environ.get("CABIN_DEBUG"):
            raise
        reason = one_line(str(exc)) if str(exc).strip() else type(exc).__name__
        return refuse(args, CabinError(f"{face} cannot run: {reason} (CABIN_DEBUG=1 shows where it failed)"),
                      EXIT_REFUSED)
    finally:
        ctx.close()


def one_line(text: str) -> str:
    """A refusal is one line on stderr, whatever the message it carries (SQLite's, say), and
    goes through the one sanitiser (cabin.queue.errors.shown): whatever path a message took,
    no escape sequence reaches the terminal and no input comes back longer than the limit."""
    line = " / ".join(line.strip() for line in str(text).splitlines() if line.strip()) or "refused"
    return shown(line, MESSAGE_LIMIT)


def refuse(args: argparse.Namespace, exc: Exception, code: int) -> int:
    message = one_line(str(exc))
    print(f"cabin: {message}", file=sys.stderr)
    if args.json:
        say(json.dumps({"error": message, "exit": code}, ensure_ascii=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
