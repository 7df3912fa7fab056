"""`cabin rating ...`: citizens' ratings (好差评), a thin face over cabin.kiosk.business.ratings.

`record` is what a rating keypad or a script sends for the errand last completed at a window (no
account: the citizen rates); `follow-up` is a supervisor's (`--as`, asked for their password).
"""

from __future__ import annotations

from cabin.kiosk.business.ratings import LEVELS, Ratings
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_OK, emit, when
from cabin.kiosk.cli.args import record_id, window_number


def _service(ctx) -> Ratings:
    config = ctx.config  # a broken config is reported before the database is opened
    return Ratings(ctx.store(), config, ctx.clock)


def _text(tz, r: dict) -> str:
    level = "unrated" if r["unrated"] else f"{r['level']} {r['level_text']}"
    line = (f"rating {r['id']}  {level}{' (' + r['reason'] + ')' if r['reason'] else ''}  {r['service']}"
            f" at window {r['window']} by {r['clerk'] or '-'}, completed {when(tz, r['completed_at'])}")
    if r["followed_up_at"]:
        line += f"\n  followed up {when(tz, r['followed_up_at'])} by {r['followed_up_by']}: {r['follow_up_note']}"
    return line


def cmd_record(ctx) -> int:
    a = ctx.args
    rating = _service(ctx).record(a.window, a.level, a.reason)
    emit(a, rating.public(), lambda r: _text(ctx.tz, r))
    return EXIT_OK


def cmd_follow_up(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    rating = svc.record_follow_up(a.id, a.note, by=signed_in(ctx))
    emit(a, rating.public(), lambda r: _text(ctx.tz, r))
    return EXIT_OK


def cmd_list(ctx) -> int:
    ratings = _service(ctx).list_ratings(bad=ctx.args.bad)
    tz = ctx.tz
    emit(ctx.args, {"ratings": [r.public() for r in ratings]},
         lambda r: "\n".join(_text(tz, x) for x in r["ratings"]) or "no ratings")
    return EXIT_OK


def declare(commands) -> None:
    rating = commands.group("rating")
    p = commands.command("record", cmd_record, "rate the errand last completed at a window (a keypad or a script)",
                         rating)
    p.add_argument("--window", type=window_number, required=True, metavar="N")
    p.add_argument("--level", type=int, required=True, choices=sorted(LEVELS), metavar="1..5",
                   help="1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意")
    p.add_argument("--reason", metavar="CODE", help="a code of [ratings] reasons (needed for 4 and 5)")
    p = commands.command("follow-up", cmd_follow_up, "record a supervisor's follow-up (整改) of a bad rating", rating)
    p.add_argument("id", type=record_id, metavar="ID")
    p.add_argument("--note", required=True, metavar="TEXT", help="what was done about it")
    options.acting(p, "SUPERVISOR", help="the supervisor (asked for their password)")
    p = commands.command("list", cmd_list, "ratings, oldest first (errands past the timeout recorded as unrated)",
                         rating)
    p.add_argument("--bad", action="store_true", help="only the bad ratings not followed up yet")
