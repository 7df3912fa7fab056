"""`cabin reveal ...` and `cabin purge ...`: personal data shown unmasked (audited), and removed
after the retention period. Thin faces over kiosk/business/reveal.py and kiosk/business/retention.py."""

from __future__ import annotations


from cabin.queue.clock import local_day

from cabin.kiosk.business import reveal as revealing
from cabin.kiosk.business import retention
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_OK, emit
from cabin.kiosk.cli.args import MAX_RETENTION_DAYS, integer


def cmd_reveal(ctx) -> int:
    a = ctx.args
    ctx.config  # a broken config is reported before the database is opened
    shown = revealing.reveal(ctx.store(), a.kind, a.ref, by=signed_in(ctx), reason=a.reason, now_ms=ctx.clock.now_ms())
    emit(a, shown, lambda r: "\n".join(f"{k:<15} {'<photo, ' + str(len(v)) + ' base64 characters>' if k == 'photo_png' else v}"
                                        for k, v in r.items() if v not in (None, "")))
    return EXIT_OK


def cmd_purge(ctx) -> int:
    a = ctx.args
    config = ctx.config
    now = ctx.clock.now_ms()
    result = retention.purge(ctx.store(), a.older_than, now, local_day(now, config.station.tz))
    emit(a, result, lambda r: f"purged the personal data of records closed more than {r['older_than_days']} days ago: "
                               + ", ".join(f"{t} {n}" for t, n in r["purged"].items()))
    return EXIT_OK


def declare(commands) -> None:
    p = commands.command("reveal", cmd_reveal)
    p.add_argument("kind", choices=sorted(revealing.KINDS))
    p.add_argument("ref", metavar="REF", help="the receipt (a found card: its number)")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it must be seen (written to the audit log)")
    options.acting(p)
    p = commands.command("purge", cmd_purge)
    p.add_argument("--older-than", type=integer(-2**63, MAX_RETENTION_DAYS), required=True, metavar="DAYS")
