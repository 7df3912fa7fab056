"""`cabin loss ...` and `cabin found ...`: loss reports and found cards, a thin face over
cabin.kiosk.business.lostfound.

The clerk (`--as CLERK`) is asked for their password like kiosk/cli/accounts.py does: on the
terminal, or one line of standard input when it is not a terminal. ID numbers, finders' names
and phones are shown masked in text and in --json alike.
"""

from __future__ import annotations

from cabin.kiosk.business.lostfound import FOUND_STATES, LOSS_STATES, NOTIFY_WAYS, LostFound
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_OK, emit, when
from cabin.kiosk.cli.args import record_id


def _service(ctx) -> LostFound:
    config = ctx.config  # a broken config is reported before the database is opened
    return LostFound(ctx.store(), config, ctx.clock)


def _loss_text(tz, r: dict) -> str:
    line = (f"{r['receipt']}  {r['number']}  {r['state']}  reported {when(tz, r['reported_at'])}"
            f" by {r['reported_by']} ({r['source']}{': ' + r['source_reason'] if r['source_reason'] else ''})")
    if r.get("closed_at"):
        line += f"; {r['state']} {when(tz, r['closed_at'])} by {r['closed_by']}"
    for f in r.get("found", []):
        line += f"\n  found card {f['id']} is held here (found {f['found_on']} at {f['place']})"
    return line


def _found_text(tz, r: dict) -> str:
    line = (f"found card {r['id']}  {r['number']}  {r['state']}  found {r['found_on']} at {r['place']}"
            f" by {r['finder_name']} ({r['finder_phone']}); registered by {r['registered_by']}")
    if r["state"] == "destroyed":
        line += f"\n  destroyed: {r['destroyed_reason']}"
    elif r["state"] == "returned":
        line += f"\n  returned {when(tz, r['returned_at'])} by {r['returned_by']} ({r['returned_source']})"
    elif r["notification"] and r.get("notified_at"):
        line += f"\n  the owner was told {when(tz, r['notified_at'])}"
    elif r["notification"]:
        line += f"\n  tell the owner: {r['notification']}"
    if r.get("loss"):
        line += f"\n  loss report {r['loss']['receipt']} ({r['loss']['state']})"
    return line


def cmd_loss_report(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.report_loss(a.number, applicant=a.applicant, by=signed_in(ctx), source=a.source, reason=a.reason)
    emit(a, report.public(), lambda r: _loss_text(ctx.tz, r))
    return EXIT_OK


def cmd_loss_cancel(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.cancel_loss(a.receipt, number=a.number, by=signed_in(ctx), source=a.source, reason=a.reason)
    emit(a, report.public(), lambda r: _loss_text(ctx.tz, r))
    return EXIT_OK


def cmd_loss_replaced(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    report = svc.mark_replaced(a.receipt, by=signed_in(ctx))
    emit(a, report.public(), lambda r: _loss_text(ctx.tz, r))
    return EXIT_OK


def cmd_loss_show(ctx) -> int:
    report = _service(ctx).get_loss(ctx.args.receipt)
    emit(ctx.args, report.public(), lambda r: _loss_text(ctx.tz, r))
    return EXIT_OK


def cmd_loss_list(ctx) -> int:
    reports = _service(ctx).list_losses(ctx.args.state)
    tz = ctx.tz
    emit(ctx.args, {"loss_reports": [r.public() for r in reports]},
          lambda r: "\n".join(_loss_text(tz, x) for x in r["loss_reports"]) or "no loss reports")
    return EXIT_OK


def cmd_found_register(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    card = svc.register_found(a.number, finder=a.finder, phone=a.phone, place=a.place, found_on=a.date,
                              by=signed_in(ctx), replaced=a.replaced)
    emit(a, card.public(), lambda r: _found_text(ctx.tz, r))
    return EXIT_OK


def cmd_found_handover(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    card = svc.handover(a.id, number=a.number, by=signed_in(ctx), source=a.source, reason=a.reason)
    emit(a, card.public(), lambda r: _found_text(ctx.tz, r))
    return EXIT_OK


def cmd_found_notified(ctx) -> int:
    a = ctx.args
    card = _service(ctx).notified(a.id, by=signed_in(ctx), how=a.how)
    emit(a, card.public(), lambda r: _found_text(ctx.tz, r))
    return EXIT_OK


def cmd_found_show(ctx) -> int:
    card = _service(ctx).get_found(ctx.args.id)
    emit(ctx.args, card.public(), lambda r: _found_text(ctx.tz, r))
    return EXIT_OK


def cmd_found_list(ctx) -> int:
    cards = _service(ctx).list_found(ctx.args.state, to_notify=ctx.args.to_notify)
    tz = ctx.tz
    emit(ctx.args, {"found_cards": [c.public() for c in cards]},
          lambda r: "\n".join(_found_text(tz, x) for x in r["found_cards"]) or "no found cards")
    return EXIT_OK


def declare(commands) -> None:
    loss = commands.group("loss")
    p = commands.command("report", cmd_loss_report, "report a card lost, in person (prints the receipt number)", loss)
    p.add_argument("number", metavar="NUMBER", help="the lost card's ID number")
    p.add_argument("--applicant", metavar="NUMBER",
                   help="the ID number of the person at the counter, if read separately (must equal NUMBER)")
    options.acting(p, help="the clerk (asked for their password)")
    options.id_source(p)
    p = commands.command("cancel", cmd_loss_cancel, "cancel a loss report (解挂): the person brings the card", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    p.add_argument("--number", required=True, metavar="NUMBER", help="the number on the card presented")
    options.acting(p)
    options.id_source(p)
    p = commands.command("replaced", cmd_loss_replaced, "close a loss report: the owner has had the card replaced", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    options.acting(p)
    p = commands.command("show", cmd_loss_show, "one loss report, with any found card of its number", loss)
    p.add_argument("receipt", metavar="RECEIPT")
    p = commands.command("list", cmd_loss_list, "loss reports, oldest first", loss)
    p.add_argument("--state", choices=LOSS_STATES)

    found = commands.group("found")
    p = commands.command("register", cmd_found_register, "register a card handed in (held and owner told, or"
                         " destroyed)", found)
    p.add_argument("number", metavar="NUMBER", help="the found card's ID number")
    p.add_argument("--finder", required=True, metavar="NAME")
    p.add_argument("--phone", required=True, metavar="PHONE")
    p.add_argument("--place", required=True, metavar="TEXT")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day it was found")
    p.add_argument("--replaced", action="store_true", help="the owner has already replaced the card: destroy it")
    options.acting(p)
    p = commands.command("handover", cmd_found_handover, "hand a held card to its owner (their number must be the"
                         " card's)", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p.add_argument("--number", required=True, metavar="NUMBER", help="the owner's ID number, read or typed")
    options.acting(p)
    options.id_source(p)
    p = commands.command("notified", cmd_found_notified, "record that a held card's owner has been told", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p.add_argument("--how", required=True, choices=NOTIFY_WAYS, help="how the owner was told")
    options.acting(p)
    p = commands.command("show", cmd_found_show, "one found card, with any loss report of its number", found)
    p.add_argument("id", type=record_id, metavar="ID")
    p = commands.command("list", cmd_found_list, "found cards, oldest first", found)
    p.add_argument("--state", choices=FOUND_STATES)
    p.add_argument("--to-notify", action="store_true", help="only the held cards whose owner has not been told")
