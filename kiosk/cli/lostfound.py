"""`cabin loss ...` and `cabin found ...`: loss reports and found cards, a thin face over
cabin.kiosk.business.lostfound. `add_commands(sub, command)` is called by cli.build_parser.

The clerk (`--as CLERK`) is asked for their password like kiosk/cli_accounts.py does: on the
terminal, or one line of standard input when it is not a terminal. ID numbers, finders' names
and phones are shown masked in text and in --json alike.
"""

from __future__ import annotations

from cabin.kiosk.cli.accounts import _emit, _station_tz, _when, signed_in
from cabin.kiosk.cli.args import record_id
from cabin.kiosk.business.lostfound import (
    FOUND_STATES,
    LOSS_STATES,
    NOTIFY_WAYS,
    LostFound,
)
from cabin.kiosk.checks import SOURCES


def _service(ctx) -> LostFound:
    config = ctx.config  # a broken config is reported before the database is opened
    return LostFound(ctx.store(), config, ctx.clock)


def _loss_text(tz, r: dict) -> str:
    line = (f"{r['receipt']}  {r['number']}  {r['state']}  reported {_when(tz, r['reported_at'])}"
            f" by {r['reported_by']} ({r['source']}{': ' + r['source_reason'] if r['source_reason'] else ''})")
    if r.get("closed_at"):
        line += f"; {r['state']} {_when(tz, r['closed_at'])} by {r['closed_by']}"
    for f in r.get("found", []):
        line += f"\n  found card {f['id']} is held here (found {f['found_on']} at {f['place']})"
    return line


def _found_text(tz, r: dict) -> str:
    line = (f"found card {r['id']}  {r['number']}  {r['state']}  found {r['found_on']} at {r['place']}"
            f" by {r['finder_name']} ({r['finder_phone']}); registered by {r['registered_by']}")
    if r["state"] == "destroyed":
        line += f"\n  destroyed: {r['destroyed_reason']}"
    elif r["state"] == "returned":
        line += f"\n  returned {_when(tz, r['returned_at'])} by {r['returned_by']} ({r['returned_source']})"
    elif r["notification"] and r.get("notified_at"):
        line += f"\n  the owner was told {_when(tz, r['notified_at'])}"
    elif r["notification"]:
        line += f"\n  tell the owner: {r['notification']}"
    if r.get("loss"):
        line += f"\n  loss report {r['loss']['receipt']} ({r['loss']['state']})"
    return line


def cmd_loss_report(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.report_loss(a.number, applicant=a.applicant, by=signed_in(ctx), source=a.source, reason=a.reason)
    _emit(a, report.public(), lambda r: _loss_text(_station_tz(ctx), r))
    return 0


def cmd_loss_cancel(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.cancel_loss(a.receipt, number=a.number, by=signed_in(ctx), source=a.source, reason=a.reason)
    _emit(a, report.public(), lambda r: _loss_text(_station_tz(ctx), r))
    return 0


def cmd_loss_replaced(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.mark_replaced(a.receipt, by=signed_in(ctx))
    _emit(a, report.public(), lambda r: _loss_text(_station_tz(ctx), r))
    return 0


def cmd_loss_show(ctx) -> int:
    report = _service(ctx).get_loss(ctx.args.receipt)
    _emit(ctx.args, report.public(), lambda r: _loss_text(_station_tz(ctx), r))
    return 0


def cmd_loss_list(ctx) -> int:
    reports = _service(ctx).list_losses(ctx.args.state)
    tz = _station_tz(ctx)
    _emit(ctx.args, {"loss_reports": [r.public() for r in reports]},
          lambda r: "\n".join(_loss_text(tz, x) for x in r["loss_reports"]) or "no loss reports")
    return 0


def cmd_found_register(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    card = svc.register_found(a.number, finder=a.finder, phone=a.phone, place=a.place, found_on=a.date,
                              by=signed_in(ctx), replaced=a.replaced)
    _emit(a, card.public(), lambda r: _found_text(_station_tz(ctx), r))
    return 0


def cmd_found_handover(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    card = svc.handover(a.id, number=a.number, by=signed_in(ctx), source=a.source, reason=a.reason)
    _emit(a, card.public(), lambda r: _found_text(_station_tz(ctx), r))
    return 0


def cmd_found_notified(ctx) -> int:
    a = ctx.args
    card = _service(ctx).notified(a.id, by=signed_in(ctx), how=a.how)
    _emit(a, card.public(), lambda r: _found_text(_station_tz(ctx), r))
    return 0


def cmd_found_show(ctx) -> int:
    card = _service(ctx).get_found(ctx.args.id)
    _emit(ctx.args, card.public(), lambda r: _found_text(_station_tz(ctx), r))
    return 0


def cmd_found_list(ctx) -> int:
    cards = _service(ctx).list_found(ctx.args.state, to_notify=ctx.args.to_notify)
    tz = _station_tz(ctx)
    _emit(ctx.args, {"found_cards": [c.public() for c in cards]},
          lambda r: "\n".join(_found_text(tz, x) for x in r["found_cards"]) or "no found cards")
    return 0


def _identity_options(p) -> None:
    p.add_argument("--source", choices=SOURCES, default="reader",
                   help="where the number came from: the card reader (default) or typed by hand")
    p.add_argument("--reason", metavar="TEXT", help="why the number was typed by hand (needed with --source manual)")


def add_commands(sub, command) -> None:
    """Register `loss` and `found` on build_parser's subparsers with its `command` helper."""
    loss = sub.add_parser("loss", help="loss reports (挂失) and their cancellation (解挂)").add_subparsers(
        dest="loss_command", metavar="ACTION", required=True)
    p = command("report", cmd_loss_report, "report a card lost, in person (prints the receipt number)", loss)
    p.add_argument("number", metavar="NUMBER", help="the lost card's ID number")
    p.add_argument("--applicant", metavar="NUMBER",
                   help="the ID number of the person at the counter, if read separately (must equal NUMBER)")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True, help="the clerk (asked for their password)")
    _identity_options(p)
    p = command("cancel", cmd_loss_cancel, "cancel a loss report (解挂): the person brings the card", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    p.add_argument("--number", required=True, metavar="NUMBER", help="the number on the card presented")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True)
    _identity_options(p)
    p = command("replaced", cmd_loss_replaced, "close a loss report: the owner has had the card replaced", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True)
    p = command("show", cmd_loss_show, "one loss report, with any found card of its number", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    p = command("list", cmd_loss_list, "loss reports, oldest first", loss)
    p.add_argument("--state", choices=LOSS_STATES)

    found = sub.add_parser("found", help="found cards handed in (招领)").add_subparsers(
        dest="found_command", metavar="ACTION", required=True)
    p = command("register", cmd_found_register, "register a card handed in (held and owner told, or destroyed)", found)
    p.add_argument("number", metavar="NUMBER", help="the found card's ID number")
    p.add_argument("--finder", required=True, metavar="NAME")
    p.add_argument("--phone", required=True, metavar="PHONE")
    p.add_argument("--place", required=True, metavar="TEXT")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day it was found")
    p.add_argument("--replaced", action="store_true", help="the owner has already replaced the card: destroy it")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True)
    p = command("handover", cmd_found_handover, "hand a held card to its owner (their number must be the card's)", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p.add_argument("--number", required=True, metavar="NUMBER", help="the owner's ID number, read or typed")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True)
    _identity_options(p)
    p = command("notified", cmd_found_notified, "record that a held card's owner has been told", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p.add_argument("--how", required=True, choices=NOTIFY_WAYS, help="how the owner was told")
    p.add_argument("--as", dest="acting", metavar="CLERK", required=True)
    p = command("show", cmd_found_show, "one found card, with any loss report of its number", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p = command("list", cmd_found_list, "found cards, oldest first", found)
    p.add_argument("--state", choices=FOUND_STATES)
    p.add_argument("--to-notify", action="store_true", help="only the held cards whose owner has not been told")
