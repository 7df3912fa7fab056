"""Daily export benchmark (issue 5): export one simulated day of 2,000 tickets and one year of
500,000 tickets through the real CLI (`cabin export`, in this process), against the floor of
reading the same event rows with plain sqlite3 in the same run. Goal: at most 3x the floor.

The day is simulated through the real engine (`simulate_day`) at a station of 50 windows, which
serve 2,000 citizens in a day. The year is that day's tickets, requests and events copied by SQL
onto the first 250 weekdays of 2026 (ids renumbered, times and days shifted, copied in time
order as the engine writes them): 500,000 tickets without running the engine 250 times. Event
details that name another request (`after`, `from_request`) keep the template's ids, which no
figure reads.

What is timed is the export as `cabin export` runs it once its arguments are parsed (the
business figures, then `export_days`: read, compute, write the files, fsync'ed and renamed) on
an open store; `export_day_2000_cli` adds the CLI's own work (argument parsing, the config,
opening the store), for information. The floor is the SELECTs that export issues for the days'
events (the id range of each day's window events given to it), on an open connection, rows
fetched as tuples and dropped. Both run against a warm page cache (one untimed pass first),
alternately, median of the rounds.

`python -m tests.bench_export` prints one JSON object a line; `bench_export()` returns them.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from cabin.config import default_config_path, load_config
from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.cli.app import main as cabin
from cabin.kiosk.station import open_store
from cabin.queue.reports.export import export_days
from cabin.queue.reports.figures import EVENT_COLUMNS, _first_id_on_or_after
from cabin.queue.simulate import simulate_day
from tests.benchtools import log, result


GOAL = 3.0
DAY = "2026-11-23"       # a Monday
CITIZENS = 2_000
WINDOWS = 50
YEAR_DAYS = 250          # weekdays of 2026 holding a copy of the day: 500,000 tickets


def big_station(tmp: Path) -> Path:
    """The default station with 50 comprehensive windows."""
    text = default_config_path().read_text(encoding="utf-8")
    text += "".join(f'\n[[windows]]\nnumber = {n}\nname = "综合窗口{n}"\nname_en = "Comprehensive {n}"\nservices = ["*"]\n'
                    for n in range(5, WINDOWS + 1))
    path = tmp / "big.toml"
    path.write_text(text, encoding="utf-8")
    return path


def simulated_day(tmp: Path, config_path: Path) -> Path:
    db = tmp / "day.sqlite"
    store = open_store(db, durable=False)
    figures = simulate_day(store, load_config(config_path), DAY, CITIZENS, seed=1)
    store.close()
    log(f"export: simulated {DAY}: {figures['tickets_issued']} tickets, {figures['errands_done']} errands done")
    return db


def weekdays(year: int, n: int) -> list[str]:
    d, days = date(year, 1, 1), []
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d.isoformat())
        d += timedelta(days=1)
    return days


def copied_year(tmp: Path, template: Path) -> Path:
    """The template day's rows on YEAR_DAYS weekdays, in time order."""
    db = tmp / "year.sqlite"
    store = open_store(db, durable=False)  # the real schema
    store.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("ATTACH DATABASE ? AS t", (str(template),))
    max_ticket, max_request = conn.execute("SELECT (SELECT MAX(id) FROM t.tickets), (SELECT MAX(id) FROM t.requests)").fetchone()
    base = date.fromisoformat(DAY)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO windows SELECT * FROM t.windows")
    for k, day in enumerate(weekdays(2026, YEAR_DAYS)):
        shift_days = (date.fromisoformat(day) - base).days
        shift_ms = shift_days * 86_400_000  # Asia/Shanghai keeps one offset all year
        ticket_off, request_off = k * max_ticket, k * max_request
        conn.execute(
            "INSERT INTO tickets SELECT id + ?, date(day, ? || ' days'), number, prefix, seq, priority, channel,"
            " issued_at + ?, sort_key + ?, state FROM t.tickets ORDER BY id",
            (ticket_off, shift_days, shift_ms, shift_ms))
        conn.execute(
            "INSERT INTO requests SELECT id + ?, ticket_id + ?, position, service, state, sort_key + ?, target_window,"
            " window, recalls, transferred_from + ?, updated_at + ? FROM t.requests ORDER BY id",
            (request_off, ticket_off, shift_ms, request_off, shift_ms))
        conn.execute(
            "INSERT INTO events (at, day, kind, ticket_id, request_id, service, window, clerk, detail)"
            " SELECT at + ?, date(day, ? || ' days'), kind, ticket_id + ?, request_id + ?, service, window, clerk,"
            " detail FROM t.events ORDER BY id",
            (shift_ms, shift_days, ticket_off, request_off))
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE t")
    tickets, events = conn.execute("SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM events)").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    log(f"export: a year of {tickets:,} tickets and {events:,} events on {YEAR_DAYS} weekdays of 2026")
    return db


def floor_reader(db: Path, days: list[str]):
    """Plain sqlite3: the day's ticket events and window events, as the export selects them."""
    conn = sqlite3.connect(db)
    bounds = {}
    cur = conn.cursor()
    for day in days:  # where each day's window events lie: found by the export itself, given to the floor
        nxt = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        bounds[day] = (_first_id_on_or_after(cur, day), _first_id_on_or_after(cur, nxt))

    def read() -> int:
        n = 0
        conn.execute("BEGIN")
        for day in days:
            n += len(conn.execute(f"SELECT e.id, {EVENT_COLUMNS} FROM events e JOIN tickets t ON t.id = e.ticket_id"
                                  " WHERE t.day = ? ORDER BY e.id", (day,)).fetchall())
            n += len(conn.execute(f"SELECT e.id, {EVENT_COLUMNS} FROM events e WHERE e.id >= ? AND e.id < ?"
                                  " AND e.ticket_id IS NULL AND e.kind LIKE 'window~_%' ESCAPE '~' ORDER BY e.id",
                                  bounds[day]).fetchall())
        conn.execute("COMMIT")
        return n
    return read


def exporter(db: Path, config_path: Path, days: list[str], out: Path, formats: str, with_events: bool = False):
    """The export as `cabin export` runs it once its arguments are parsed: the day's business
    figures, then `export_days` (read, compute, write every file, fsync'ed and renamed), on an
    open store, as the floor reads on an open connection."""
    config = load_config(config_path)
    store = open_store(db)
    font = None
    if formats == "all":
        from cabin.drivers.fonts import cjk_font

        chosen = cjk_font()
        font = (chosen.path, chosen.index)

    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        with store.read() as conn:
            extras = business_figures(conn, config, days)
        export_days(store, config, days, out, formats=formats, with_events=with_events, font=font, extras=extras)
    return run


def cli(db: Path, config: Path, first: str, last: str, out: Path, *options: str):
    """`cabin export ...` end to end in this process: parsing, config, store and all."""
    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        with contextlib.redirect_stdout(io.StringIO()):
            code = cabin(["--db", str(db), "--config", str(config), "--json", "export", "--day", first, "--to", last,
                          "--out", str(out), *options])
        if code != 0:
            raise RuntimeError(f"cabin export exited {code}")
    return run


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(rounds: int, measured, floor) -> tuple[float, float]:
    measured(), floor()  # warm the page cache and the imports
    a, b = [], []
    for r in range(rounds):
        pair = (measured, floor) if r % 2 == 0 else (floor, measured)  # ABBA: drift hits both alike
        times = {fn: timed(fn) for fn in pair}
        a.append(times[measured])
        b.append(times[floor])
    return statistics.median(a), statistics.median(b)


def bench_export() -> list[dict]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="cabin-bench-export-") as d:
        tmp = Path(d)
        config = big_station(tmp)
        day_db = simulated_day(tmp, config)
        read_day = floor_reader(day_db, [DAY])
        rows = read_day()
        out = tmp / "out-day"
        for name, run, goal, what in (
                ("export_day_2000", exporter(day_db, config, [DAY], out, "json"), GOAL, "JSON"),
                ("export_day_2000_csv", exporter(day_db, config, [DAY], out, "csv", True), None,
                 "the 6 CSV files and the events file"),
                ("export_day_2000_all", exporter(day_db, config, [DAY], out, "all", True), None,
                 "every file: CSV, JSON, XLSX, PNG chart, events"),
                ("export_day_2000_cli", cli(day_db, config, DAY, DAY, out, "--format", "json"), None,
                 "JSON, `cabin export` end to end in-process (argument parsing, config, opening the store)")):
            value, floor = compare(9, run, read_day)
            lines.append(result(name, value * 1000, "ms", floor * 1000, goal, "max" if goal else None,
                                note=f"{CITIZENS:,} tickets, {rows:,} events; {what}; vs reading the events with plain"
                                     f" sqlite3"))
            log(f"export: {name} {value * 1000:.0f} ms, floor {floor * 1000:.0f} ms")

        year_db = copied_year(tmp, day_db)
        days = [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(365)]
        read_year = floor_reader(year_db, days)
        rows = read_year()
        out = tmp / "out-year"
        for name, run, goal, what in (
                ("export_year_500k", exporter(year_db, config, days, out, "json"), GOAL, "JSON"),
                ("export_year_500k_csv", exporter(year_db, config, days, out, "csv"), None,
                 "6 CSV files a day, each fsync'ed")):
            value, floor = compare(3, run, read_year)
            lines.append(result(name, value, "s", floor, goal, "max" if goal else None,
                                note=f"365 days (365 file sets), {YEAR_DAYS * CITIZENS:,} tickets, {rows:,} events; {what};"
                                     f" vs reading the events with plain sqlite3"))
            log(f"export: {name} {value:.1f} s, floor {floor:.1f} s")
    return lines


if __name__ == "__main__":
    for line in bench_export():
        print(json.dumps(line, ensure_ascii=False), flush=True)
