"""`cabin application ...`: main ID-card applications, a thin face over cabin.kiosk.business.applications."""

from __future__ import annotations

from cabin.kiosk.business.applications import Applications
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_OK, emit


def _text(r: dict) -> str:
    region = "cross-region" if r["cross_region"] else "local"
    line = (f"{r['receipt']}  {r['number']}  {r['kind']} ({region})  {r['state']}  fee {r['fee_yuan']} yuan,"
            f" valid {r['validity']}  accepted {r['accepted_on']}, due {r['due_on']}")
    if r["refused_reason"]:
        line += f"  refused: {r['refused_reason']}"
    return line


def cmd_accept(ctx) -> int:
    a = ctx.args
    r = Applications(ctx.store(), ctx.config, ctx.clock).accept(a.number, a.kind, by=signed_in(ctx), source=a.source, reason=a.reason)
    emit(a, r, _text)
    return EXIT_OK


def cmd_advance(ctx) -> int:
    a = ctx.args
    r = Applications(ctx.store(), ctx.config, ctx.clock).advance(a.receipt, a.to, by=signed_in(ctx), reason=a.reason)
    emit(a, r, _text)
    return EXIT_OK


def cmd_show(ctx) -> int:
    emit(ctx.args, Applications(ctx.store(), ctx.config, ctx.clock).show(ctx.args.receipt), _text)
    return EXIT_OK


def cmd_list(ctx) -> int:
    rows = Applications(ctx.store(), ctx.config, ctx.clock).list(ctx.args.state, overdue=ctx.args.overdue)
    emit(ctx.args, {"applications": rows}, lambda r: "\n".join(map(_text, r["applications"])) or "none")
    return EXIT_OK


def declare(commands) -> None:
    app = commands.group("application")
    p = commands.command("accept", cmd_accept, "accept an application: fee, validity and deadline by the rules", app)
    p.add_argument("number", metavar="NUMBER", help="the applicant's ID number")
    p.add_argument("--kind", required=True, choices=["first", "renewal", "replacement"])
    options.acting(p)
    options.id_source(p)
    p = commands.command("advance", cmd_advance, "the next step: approved (home police), received, collected, or"
                         " refused", app)
    p.add_argument("receipt", metavar="RECEIPT")
    p.add_argument("--to", required=True, choices=["approved", "received", "collected", "refused"])
    p.add_argument("--reason", metavar="TEXT", help="why it was refused")
    options.acting(p)
    commands.command("show", cmd_show, "one application", app).add_argument("receipt", metavar="RECEIPT")
    p = commands.command("list", cmd_list, "applications by deadline", app)
    p.add_argument("--state", choices=["accepted", "approved", "received", "collected", "refused"])
    p.add_argument("--overdue", action="store_true", help="only those past their deadline without the card")
