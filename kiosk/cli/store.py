"""`cabin store copy` and `cabin store grants`: a station moved between an SQLite file and a
PostgreSQL server (kiosk/stationcopy.py, queue/storecopy.py), and the grants of a server's roles
(kiosk/serverroles.py)."""

from __future__ import annotations

from cabin.kiosk.cli.app import EXIT_OK, emit, say
from cabin.kiosk.cli.args import path, resolve_day


def cmd_copy(ctx) -> int:
    from cabin.kiosk.stationcopy import copy_station

    a = ctx.args
    day = resolve_day(a.day, ctx.config, ctx.clock, future=False) if a.day else None
    source = a.source if a.source else ctx.database()
    result = copy_station(source, a.to, ctx.config, day=day, now_ms=ctx.clock.now_ms())

    def text(r: dict) -> str:
        rows = sum(r["copied"].values())
        lines = [f"copied {r['from']} to {r['to']}: {rows:,} rows in {len(r['copied'])} tables, each counted on both",
                 f"  audit log: {r['audit']['entries']} entries, verified on the copy (head {r['audit']['head']})"]
        if r["day"]:
            lines.append(f"  export of {r['day']}: {len(r['export_files'])} files identical from both")
        return "\n".join(lines)

    emit(a, result, text)
    return EXIT_OK


def cmd_grants(ctx) -> int:
    from cabin.kiosk.serverroles import grants_sql

    a = ctx.args
    sql = grants_sql(clerk=a.clerk, board=a.board)
    if a.json:
        emit(a, {"sql": sql}, "")
    else:
        say(sql.rstrip("\n"))
    return EXIT_OK


def declare(commands) -> None:
    from cabin.kiosk.serverroles import DEFAULT_ROLES

    store = commands.group("store")
    p = commands.command("copy", cmd_copy, "copy a station's whole history into an empty database: an SQLite"
                         " file to a PostgreSQL server or back, verified", store)
    p.add_argument("--to", required=True, type=path, metavar="DB",
                   help="the empty database: postgresql://... or a file (made if missing)")
    p.add_argument("--from", dest="source", type=path, metavar="DB",
                   help="the station to copy (default: --db, $CABIN_DB, [store] url or the default file)")
    p.add_argument("--day", metavar="DATE", help="the day whose export is compared (default: the last day with tickets)")
    p = commands.command("grants", cmd_grants, "the SQL granting a server's clerk and board roles their privileges",
                         store)
    p.add_argument("--clerk", default=DEFAULT_ROLES["clerk"], metavar="ROLE",
                   help=f"the window PCs' role (default {DEFAULT_ROLES['clerk']})")
    p.add_argument("--board", default=DEFAULT_ROLES["board"], metavar="ROLE",
                   help=f"the board PC's role (default {DEFAULT_ROLES['board']})")
