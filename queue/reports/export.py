"""The daily export: one file set per station per day (README "Daily exports").

`export_days` reads each day in its own snapshot, builds its report (`report.day_report`) with
the caller's extra figures, and writes the day's files as one atomic set. File names start with
`<station>_<day>`, so the sets of many stations and days can share a folder.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from cabin.config import StationConfig

from cabin.queue.clock import SystemClock
from cabin.queue.errors import CabinError
from cabin.queue.reports.exportfiles import (
    AtomicFiles,
    events_csv,
    json_bytes,
    report_csvs,
    xlsx_bytes,
)
from cabin.queue.reports.figures import day_events
from cabin.queue.reports.report import Extra, day_report
from cabin.queue.store import Store

FORMATS = ("csv", "json", "xlsx", "all")
MAX_DAYS = 3660  # ten years: a typo in --to should not start a night's work


def days_between(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    if b < a:
        raise CabinError(f"--to {last} is before --day {first}")
    n = (b - a).days + 1
    if n > MAX_DAYS:
        raise CabinError(f"{first} to {last} is {n} days; export at most {MAX_DAYS} at a time")
    return [(a + timedelta(days=i)).isoformat() for i in range(n)]


def write_report(report: dict, out: Path, formats: str = "all", font: tuple[str, int] | str | None = None,
                 events: bytes | None = None) -> tuple[list[Path], list[dict]]:
    """Write one report's files into `out`; returns the files written and those skipped.

    The data files (CSV, JSON, XLSX, the raw events) are one set, all or none. The chart (part
    of `all`) comes after them, on its own: it is drawn with `font` (path, index), and when it
    cannot be drawn (`font` a string saying why there is none, or a font file pillow cannot
    use) it is skipped, `{"file", "why"}`, and the data files stand."""
    if formats not in FORMATS:
        raise CabinError(f'unknown format "{formats}" ({", ".join(FORMATS)})')
    prefix = f"{report['station']}_{report['day']}"
    with AtomicFiles(out) as files:
        if events is not None:
            report["events_file"] = f"{prefix}_events.csv"
            files.add(report["events_file"], events)
        if formats in ("csv", "all"):
            for name, data in report_csvs(report, prefix).items():
                files.add(name, data)
        if formats in ("json", "all"):
            files.add(f"{prefix}.json", json_bytes(report))
        if formats in ("xlsx", "all"):
            files.add(f"{prefix}.xlsx", xlsx_bytes(report))
        written = files.commit()
    if formats != "all":
        return written, []
    chart = f"{prefix}.png"
    try:
        if not isinstance(font, tuple):
            raise ChartFailed(font or "no font to draw it with")
        from cabin.queue.reports.chart import chart_png

        with AtomicFiles(out) as files:
            files.add(chart, chart_png(report, *font))
            written += files.commit()
        return written, []
    except (ChartFailed, OSError) as exc:  # OSError: pillow could not read the font file
        return written, [{"file": str(Path(out) / chart), "why": str(exc) or type(exc).__name__}]


class ChartFailed(Exception):
    """The chart cannot be drawn; the message says why."""


def export_days(store: Store, config: StationConfig, days: list[str], out: Path, *, formats: str = "all",
                with_events: bool = False, font: tuple[str, int] | str | None = None,
                extras: dict[str, Extra] | None = None, now_ms: int | None = None,
                progress: Callable[[str], None] | None = None) -> list[dict]:
    """Export each day; returns per day its main figures, the files written and the files skipped
    (a chart that could not be drawn: see `write_report`). A day that is not over yet (today)
    counts what is still going on up to `now_ms` (default: now)."""
    now_ms = SystemClock().now_ms() if now_ms is None else now_ms
    done = []
    for day in days:
        with store.read() as conn:
            events = day_events(conn, day)
            report = day_report(conn, config, day, now_ms=now_ms, extra=(extras or {}).get(day), events=events)
        raw = events_csv(events, day, config.station.tz) if with_events else None
        files, skipped = write_report(report, Path(out), formats, font, raw)
        done.append({"day": day, "tickets_issued": report["tickets_issued"], "errands_done": report["errands_done"],
                     "complete": report["complete"], "files": [str(f) for f in files], "skipped": skipped})
        if progress:
            progress(day)
    return done


def day_data_files(conn, config: StationConfig, day: str, *, extra: Extra | None = None, now_ms: int) -> dict[str, bytes]:
    """The day's data files as `cabin export --with-events` writes them (the JSON, the CSVs, the
    raw events; not the workbook, whose file records when it was made), read through `conn` and
    kept in memory: two stores' copies of a station are compared by them (`cabin store copy`)."""
    events = day_events(conn, day)
    report = day_report(conn, config, day, now_ms=now_ms, extra=extra, events=events)
    prefix = f"{report['station']}_{report['day']}"
    report["events_file"] = f"{prefix}_events.csv"
    return {report["events_file"]: events_csv(events, day, config.station.tz), **report_csvs(report, prefix),
            f"{prefix}.json": json_bytes(report)}
