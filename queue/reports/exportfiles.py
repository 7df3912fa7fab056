"""The export's files: CSV, JSON, XLSX bytes from a report, and writing a file set atomically.

CSV is UTF-8 with a byte-order mark (Excel on Windows then reads it as UTF-8) and CRLF line
ends. A text cell that a spreadsheet would take for a formula is neutralised: see `neutralise`.
Numbers are written as numbers; they never need it (no figure is negative).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Iterable
from zoneinfo import ZoneInfo

from cabin.queue.clock import day_span
from cabin.queue.errors import CabinError
from cabin.queue.labels import LABELS, NOT_RECORDED, SHEETS
from cabin.queue.reports.report import BREAKDOWNS

BOM = "\ufeff"
# A cell starting with one of these is a formula (or the start of one) to a spreadsheet; the
# apostrophe is in the list so that every neutralised cell can be read back by dropping exactly
# one leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
EVENT_COLUMNS = ("at", "ticket_id", "request_id", "service", "kind", "window", "clerk", "detail")


def neutralise(text: str) -> str:
    """'=HYPERLINK(...)' becomes "'=HYPERLINK(...)": shown as text, never run."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """The value `neutralise` was given."""
    return text[1:] if text.startswith("'") else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return neutralise(str(value))


def _csv(header: Iterable[str], lines: Iterable[Iterable[str]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode("utf-8")


def csv_bytes(columns: list[str], rows: list[dict]) -> bytes:
    return _csv(columns, ([_cell(row.get(c)) for c in columns] for row in rows))


def summary_columns(report: dict) -> list[str]:
    """The report's top-level figures, in order (the station and day first)."""
    skip = {"schema", "stations", "extra_figures", "extra_columns", "extra_shares", "extra_sections", "events_file",
            *BREAKDOWNS, "by_station", "station", "day", *report.get("extra_sections", {})}
    return ["station", "day", *(k for k in report if k not in skip)]


def breakdown_columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def report_csvs(report: dict, prefix: str) -> dict[str, bytes]:
    """One CSV for the summary (one row) and one per breakdown."""
    files = {f"{prefix}_summary.csv": csv_bytes(summary_columns(report), [report])}
    for name in (*BREAKDOWNS, "by_station"):
        if name in report:
            files[f"{prefix}_{name}.csv"] = csv_bytes(breakdown_columns(report[name]), report[name])
    return files


def json_bytes(report: dict) -> bytes:
    """One top-level key a line, and one breakdown row a line: readable, and written by the C
    encoder (json's `indent` falls back to the pure-Python one, a tenth as fast)."""
    def value(v) -> str:
        if isinstance(v, list) and v and isinstance(v[0], dict):
            return "[\n  " + ",\n  ".join(json.dumps(x, ensure_ascii=False) for x in v) + "\n ]"
        return json.dumps(v, ensure_ascii=False)

    lines = (f" {json.dumps(k, ensure_ascii=False)}: {value(v)}" for k, v in report.items())
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


def events_csv(events: list[tuple], day: str, tz: ZoneInfo) -> bytes:
    """The raw events a report was computed from: `at` is local time with its UTC offset, to the
    millisecond (ISO 8601), `detail` the event's JSON as stored. No personal data: the queue
    holds none."""
    local = _LocalTimes(day, tz)
    return _csv(EVENT_COLUMNS, ((local.iso(at), _cell(tid), _cell(rid), _cell(service), _cell(kind), _cell(window),
                                 _cell(clerk), _cell(detail))
                                for _, at, kind, tid, rid, service, window, clerk, detail in sorted(events)))


class _LocalTimes:
    """ISO local times, by arithmetic within the day when its UTC offset does not change."""

    def __init__(self, day: str, tz: ZoneInfo):
        self.tz = tz
        self.start_ms, self.end_ms, self.plain = day_span(day, tz)
        self.prefix = f"{day}T"
        self.suffix = datetime.fromtimestamp(self.start_ms / 1000, tz).isoformat()[19:]  # +08:00

    def iso(self, ms: int) -> str:
        if self.plain and self.start_ms <= ms < self.end_ms:
            t = ms - self.start_ms
            h, t = divmod(t, 3_600_000)
            m, t = divmod(t, 60_000)
            s, milli = divmod(t, 1000)
            return f"{self.prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}{self.suffix}"
        return datetime.fromtimestamp(ms / 1000, self.tz).isoformat(timespec="milliseconds")


def parse_iso_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


# -- XLSX ----------------------------------------------------------------------------------
def xlsx_bytes(report: dict) -> bytes:
    """A summary sheet and one sheet per breakdown, Chinese headers, columns as wide as their text."""
    from openpyxl import Workbook  # the one format that needs it

    labels = {**LABELS, **report.get("extra_figures", {}),
              **{share: how["label"] for share, how in report.get("extra_shares", {}).items()}}
    for columns in report.get("extra_columns", {}).values():
        labels.update(columns)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEETS["summary"])
    rows = [("指标", "代码", "数值")] + [(labels.get(k, k), k, report[k]) for k in summary_columns(report)]
    _fill(sheet, rows)
    for name in (*BREAKDOWNS, "by_station"):
        if name not in report:
            continue
        columns = breakdown_columns(report[name])
        data = [[labels.get(c, c) for c in columns]]
        for row in report[name]:
            data.append([NOT_RECORDED if c == "clerk" and row.get(c) is None else row.get(c) for c in columns])
        _fill(book.create_sheet(SHEETS[name]), data)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill(sheet, rows: list) -> None:
    from openpyxl.utils import get_column_letter

    widths: dict[int, float] = {}
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths.get(i, 0), _display_width(value))
    for i, width in widths.items():  # write-only sheets take widths before any row
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([neutralise(v) if isinstance(v, str) else v for v in row])


def _display_width(value) -> float:
    """Characters a column needs: a Chinese character is two Latin ones wide."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else repr(value)
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


# -- writing -------------------------------------------------------------------------------
class AtomicFiles:
    """A set of files written whole or not at all.

    Each file is written to a temporary file in the target folder and flushed to disk; only
    when every file of the set is written are they renamed into place (`os.replace`, atomic on
    one file system). A failure before that removes the temporary files and leaves the folder
    as it was; a crash leaves at most hidden `.*.tmp` files, never a half file under a real name.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.pending: list[tuple[Path, Path]] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CabinError(f"cannot write to {self.directory}: {exc.strerror or exc}") from None

    def add(self, name: str, data: bytes) -> None:
        final = self.directory / name
        temp = self.directory / f".{name}.{secrets.token_hex(4)}.tmp"
        self.pending.append((temp, final))
        try:
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise CabinError(f"cannot write {final}: {exc.strerror or exc}") from None

    def commit(self) -> list[Path]:
        try:
            for temp, final in self.pending:
                os.replace(temp, final)
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)  # the renames themselves survive a power cut
            finally:
                os.close(fd)
        except OSError as exc:
            self.abort()
            raise CabinError(f"cannot write to {self.directory}: {exc.strerror or exc}") from None
        done = [final for _, final in self.pending]
        self.pending = []
        return done

    def abort(self) -> None:
        for temp, _ in self.pending:
            try:
                temp.unlink()
            except FileNotFoundError:
                pass
        self.pending = []

    def __enter__(self) -> "AtomicFiles":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self.abort()
