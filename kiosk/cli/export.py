"""`cabin export ...`: the daily export files and the district merge, a thin face over
cabin.queue.reports.export and cabin.queue.reports.merge, with the counter's business figures from
cabin.kiosk.business.figures handed to the queue's export as extra figures."""

from __future__ import annotations

import sys
from pathlib import Path

from cabin.drivers.fonts import FontMissing, cjk_font
from cabin.queue.errors import CabinError
from cabin.queue.reports.export import FORMATS, days_between, export_days, write_report
from cabin.queue.reports.merge import find_exports, merge_exports

from cabin.kiosk import paths
from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.cli.app import EXIT_OK, EXIT_USAGE, emit, one_line, refuse
from cabin.kiosk.cli.args import path, resolve_day


def _font(formats: str, config) -> tuple[str, int] | str | None:
    """The chart's font (part of --format all; [export] font, else cabin.drivers.fonts' choice),
    or why there is none: the chart is then skipped and the data files are written all the same."""
    if formats != "all":
        return None
    try:
        font = cjk_font(configured=config.export.font, setting="[export] font")
    except FontMissing as exc:
        return str(exc)
    return font.path, font.index


def _warn_skipped(skipped: list[dict]) -> None:
    for s in skipped:
        print(f"cabin: warning: {one_line(str(s['file']) + ' was not written: ' + str(s['why']))}; the data files were",
              file=sys.stderr)


def _progress(args, days: list[str]):
    """A progress bar on stderr over a range of days, for a person watching a terminal only."""
    if args.json or len(days) < 2 or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    return Progress(console=Console(stderr=True), transient=True)


def cmd_export(ctx) -> int:
    a = ctx.args
    if a.day is None:
        return refuse(a, "export needs --day DATE (or `cabin export merge FILE... --out DIR`)", EXIT_USAGE)
    config = ctx.config
    first = resolve_day(a.day, config, ctx.clock, future=False)  # a day that has not come has nothing to export
    days = days_between(first, resolve_day(a.to, config, ctx.clock, future=False) if a.to else first)
    db = ctx.database()
    if not paths.is_server(db) and not db.exists():  # an export reads: it never creates a database file
        raise CabinError(f"there is no database at {db}")
    font = _font(a.format, config)
    store = ctx.store()
    with store.read() as conn:
        extras = business_figures(conn, config, days, now_ms=ctx.clock.now_ms())
    bar = _progress(a, days)
    if bar is None:
        done = export_days(store, config, days, Path(a.out), formats=a.format, with_events=a.with_events,
                           font=font, extras=extras, now_ms=ctx.clock.now_ms())
    else:
        with bar:
            task = bar.add_task(f"exporting {days[0]} to {days[-1]}", total=len(days))
            done = export_days(store, config, days, Path(a.out), formats=a.format, with_events=a.with_events,
                               font=font, extras=extras, now_ms=ctx.clock.now_ms(), progress=lambda day: bar.advance(task))
    result = {"station": config.station.code, "out": str(Path(a.out)), "days": done}
    _warn_skipped([s for d in done for s in d["skipped"]])

    def text(r: dict) -> str:
        lines = [f"{d['day']}: {d['tickets_issued']} tickets, {d['errands_done']} errands done"
                 + ("" if d["complete"] else " (the day is not over)") + f", {_files(len(d['files']))}"
                 for d in r["days"]]
        return "\n".join(lines + [f"written to {r['out']}"])

    emit(a, result, text)
    return EXIT_OK


def cmd_merge(ctx) -> int:
    a = ctx.args
    font = _font(a.format, ctx.config)
    merged = merge_exports(find_exports(a.files))
    files, skipped = write_report(merged, Path(a.out), a.format, font)
    _warn_skipped(skipped)
    result = {"station": merged["station"], "day": merged["day"], "stations": merged["stations"],
              "tickets_issued": merged["tickets_issued"], "errands_done": merged["errands_done"],
              "files": [str(f) for f in files], "skipped": skipped}
    emit(a, result, lambda r: f"{r['day']}: {len(r['stations'])} stations ({', '.join(r['stations'])}),"
                               f" {r['tickets_issued']} tickets, {r['errands_done']} errands done;"
                               f" {_files(len(r['files']))} in {a.out}")
    return EXIT_OK


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def declare(commands) -> None:
    # `cabin export --day ...` and `cabin export merge ...`: the export parser itself runs the
    # export, and takes one optional action, merge (argparse: subparsers not required).
    p = commands.command("export", cmd_export)
    p.add_argument("--day", metavar="DATE", help="YYYY-MM-DD or 'today'")
    p.add_argument("--to", metavar="DATE", help="the last day of a range (each day its own file set)")
    p.add_argument("--format", choices=FORMATS, default="all", help="all (default): CSV, JSON, XLSX and the PNG chart")
    p.add_argument("--out", type=path, default=".", metavar="DIR", help="the folder to write to (default: the current one)")
    p.add_argument("--with-events", action="store_true", help="the raw events too (a merge needs them)")
    actions = p.add_subparsers(dest="export_command", metavar="ACTION")
    m = commands.command("merge", cmd_merge, "several stations' exports of one day (made --with-events) into one"
                         " district report", actions)
    m.add_argument("files", type=path, nargs="+", metavar="FILE", help="the stations' JSON files, or folders holding them")
    m.add_argument("--out", type=path, required=True, metavar="DIR", help="the folder to write the merged report to")
    m.add_argument("--format", choices=FORMATS, default="all", help="as for export (default: all)")
