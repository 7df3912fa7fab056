"""`cabin intake ...`: exit-entry and traffic intake, a thin face over cabin.kiosk.business.intake."""

from __future__ import annotations

from cabin.kiosk.cli.accounts import _emit, signed_in
from cabin.kiosk.cli.args import any_integer, window_number
from cabin.kiosk.business.intake import Intake, checklist
from cabin.kiosk.checks import SOURCES


def cmd_intake_checklist(ctx) -> int:
    c = checklist(ctx.config, ctx.args.service)
    fees = "; ".join(f"{o}: {y} yuan" if o != "fee" else f"{y} yuan" for o, y in c["fees"].items()) or "assessed"
    _emit(ctx.args, c, lambda r: f"{r['name']} ({r['service']})  fee: {fees}\n"
          + "\n".join(f"  [ ] {d}" for d in r["documents"]))
    return 0


def cmd_intake_record(ctx) -> int:
    a = ctx.args
    result = Intake(ctx.station(), ctx.config).record(
        a.window, by=signed_in(ctx), number=a.number, source=a.source, reason=a.reason,
        fee_option=a.fee_option, fine=a.fine, documents_checked=a.documents_checked)

    def text(r: dict) -> str:
        fee = f"{r['fee_yuan']} yuan" + (f" ({r['fee_option']})" if r["fee_option"] else "")
        line = f"{r['receipt']}  {r['ticket']} {r['service']}  {r['number']}  fee {fee}; errand done"
        if r["continued"]:
            line += f"; {r['continued']['ticket']} continues here for {r['continued']['service']}"
        return line

    _emit(a, result, text)
    return 0


def add_commands(sub, command) -> None:
    intake = sub.add_parser("intake", help="exit-entry and traffic intake").add_subparsers(
        dest="intake_command", metavar="ACTION", required=True)
    p = command("checklist", cmd_intake_checklist, "a service's documents checklist and fee", intake)
    p.add_argument("service", metavar="SERVICE")
    p = command("record", cmd_intake_record,
                "record the errand at the window (receipt number) and complete it on the ticket", intake)
    p.add_argument("--window", type=window_number, required=True, metavar="N")
    p.add_argument("--as", dest="acting", required=True, metavar="CLERK", help="the clerk (asked for their password)")
    p.add_argument("--number", required=True, metavar="ID", help="the citizen's ID number")
    p.add_argument("--source", choices=SOURCES, default="reader", help="where the number came from (default reader)")
    p.add_argument("--reason", metavar="TEXT", help="why the number was typed by hand (with --source manual)")
    p.add_argument("--fee-option", metavar="OPTION", help="for a service with several fees")
    p.add_argument("--fine", type=any_integer, metavar="YUAN", help="the assessed amount, for a traffic violation")
    p.add_argument("--documents-checked", action="store_true", help="every document of the checklist was presented")
