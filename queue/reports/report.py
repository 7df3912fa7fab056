"""A day's report: the summary, the breakdowns and the caller's extra figures, as one dict.

This dict is the export's JSON (schema `SCHEMA`, README "Daily exports"); the CSV, XLSX and
chart files are drawn from it, and a district merge builds one of the same shape. The queue
knows nothing of the counter's business: the caller hands its figures in as an `Extra` (counts,
which a merge adds up), with their labels.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from cabin.config import StationConfig

from cabin.queue.reports.figures import (
    Catalogue,
    Ledger,
    blank_row,
    breakdowns,
    day_events,
    summary,
    window_minutes,
)

SCHEMA = "cabin.daily-export/1"
BREAKDOWNS = ("by_category", "by_service", "by_window", "by_clerk", "by_hour")
KEY_OF = {"by_category": "category", "by_service": "service", "by_window": "window", "by_clerk": "clerk",
          "by_hour": "hour", "by_station": "station"}


@dataclass
class Extra:
    """Figures the caller adds to a day's report: counts only (a merge adds them up).

    `figures`: name -> count, top-level in the report. `breakdowns`: breakdown name (by_clerk,
    ...) -> {row key -> {column -> count}}; a key the queue has no row for gets a row of its own.
    `columns`: breakdown name -> its extra columns, present (as 0) in every row even on a day
    without any. `labels`: name -> Chinese header, for every figure and column given."""

    figures: dict[str, int] = field(default_factory=dict)
    breakdowns: dict[str, dict] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # share name -> (the counts it is the share of, the counts it is a share in): computed from the
    # counts, top-level and in every breakdown row having them, so a merge computes it again
    shares: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    # a JSON object of the summary, its leaves names of figures and shares (JSON only: the CSV and
    # XLSX files have the figures themselves)
    sections: dict[str, dict] = field(default_factory=dict)


@dataclass
class Header:
    station: str
    station_name: str
    district: str
    timezone: str
    day: str
    sla_target_min: int
    until_ms: int          # what is still going on is counted up to here
    complete: bool         # the day is over: nothing more can change its figures

    @classmethod
    def of(cls, config: StationConfig, day: str, ledger: Ledger) -> "Header":
        s = config.station
        return cls(s.code, s.name, s.district, s.timezone, day, config.queue.sla_target_min,
                   ledger.until_ms, ledger.until_ms >= ledger.end_ms)


def iso_ms(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="milliseconds")


def build_report(header: Header, ledgers: list[Ledger], catalogue: Catalogue, extra: Extra | None = None,
                 stations: list[str] | None = None) -> dict:
    """The report of the ledgers' day: one station's, or a merge's (`stations`)."""
    extra = extra or Extra()
    report = {
        "schema": SCHEMA,
        "station": header.station,
        "station_name": header.station_name,
        "district": header.district,
        "timezone": header.timezone,
        "day": header.day,
        "stations": stations or [header.station],
        "complete": header.complete,
        "observed_until": iso_ms(header.until_ms, ZoneInfo(header.timezone)),
        **summary(ledgers, header.sla_target_min),
        **window_minutes(ledgers),
    }
    for name, value in extra.figures.items():
        if name in report:
            raise ValueError(f"an extra figure cannot replace the queue's {name}")
        report[name] = value
    report["extra_figures"] = {name: extra.labels.get(name, name) for name in extra.figures}
    rows = breakdowns(ledgers, catalogue, header.sla_target_min)
    extra_columns: dict[str, dict[str, str]] = {}
    for name in dict.fromkeys([*extra.columns, *extra.breakdowns]):
        by_key = extra.breakdowns.get(name, {})
        columns = list(dict.fromkeys([*extra.columns.get(name, []), *(c for values in by_key.values() for c in values)]))
        extra_columns[name] = {c: extra.labels.get(c, c) for c in columns}
        _add_columns(rows[name], name, header.station, by_key, columns)
    for share, (part, whole) in extra.shares.items():
        for name, columns in extra_columns.items():
            if set(part) | set(whole) <= set(columns):
                columns[share] = extra.labels.get(share, share)
    report["extra_columns"] = extra_columns
    report["extra_shares"] = {share: {"part": list(part), "whole": list(whole), "label": extra.labels.get(share, share)}
                              for share, (part, whole) in extra.shares.items()}
    report["extra_sections"] = dict(extra.sections)
    for name in BREAKDOWNS:
        report[name] = [_keyed(header, name, row) for row in rows[name]]
    derive_extras(report)
    report["events_file"] = None
    return report


def derive_extras(report: dict) -> None:
    """The extra shares, from the counts (top-level and in each breakdown row with them), then the
    extra sections from the figures: what a merge does again once it has added the counts up."""
    for share, how in report.get("extra_shares", {}).items():
        def of(values: dict) -> float | None:
            whole = sum(values.get(c, 0) for c in how["whole"])
            return round(sum(values.get(c, 0) for c in how["part"]) / whole, 4) if whole else None
        report[share] = of(report)
        for name, columns in report.get("extra_columns", {}).items():
            if share in columns:
                for row in report.get(name, []):
                    row[share] = of(row)
    for section, template in report.get("extra_sections", {}).items():
        report[section] = _filled(template, report)


def _filled(template, report: dict):
    if isinstance(template, dict):
        return {key: _filled(value, report) for key, value in template.items()}
    return report.get(template)


def _keyed(header: Header, name: str, row: dict) -> dict:
    """Every row starts with its station and day, so files of many stations and days concatenate."""
    station = row.pop("station", header.station)
    return {"station": station, "day": header.day, **row}


def _add_columns(rows: list[dict], name: str, station: str, by_key: dict, columns: list[str]) -> None:
    key = KEY_OF[name]
    have = {row[key]: row for row in rows if row.get("station", station) == station}
    for k, values in by_key.items():
        row = have.get(k)
        if row is None:
            row = have[k] = blank_row(name, station, k)
            rows.append(row)
        row.update({c: values.get(c, 0) for c in columns})
    fill_columns(name, rows, columns)


def fill_columns(name: str, rows: list[dict], columns) -> None:
    """Every row has every extra column (0 on a row without it), the rows in the breakdown's order."""
    for row in rows:
        for c in columns:
            row.setdefault(c, 0)
    sort_rows(name, rows)


def sort_rows(name: str, rows: list[dict]) -> None:
    """Windows and clerks by station, then number or name (a clerk the events do not name last)."""
    if name in ("by_window", "by_clerk"):
        key, blank = KEY_OF[name], (0 if name == "by_window" else "")
        rows.sort(key=lambda row: (row.get("station") or "", row[key] is None,
                                   blank if row[key] is None else row[key]))


def day_report(conn: sqlite3.Connection, config: StationConfig, day: str, now_ms: int | None = None,
               extra: Extra | None = None, events: list[tuple] | None = None) -> dict:
    """The report of one day of this station, read in one snapshot (`with store.read() as conn`).
    `now_ms`: while the day is not over, what is going on counts up to now."""
    if events is None:
        events = day_events(conn, day)
    ledger = Ledger(config.station.code, day, config.station.tz, until_ms=now_ms).feed(events)
    return build_report(Header.of(config, day, ledger), [ledger], Catalogue.of(config), extra)
