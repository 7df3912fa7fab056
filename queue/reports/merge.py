"""Several stations' exports of one day into one district report (`cabin export merge`).

Counts could simply be added up, but percentiles and shares cannot: so every queue figure is
recomputed from the stations' raw events, which is why a merge needs exports made
`--with-events` (the JSON names its events file, found beside it). Each station's events are
first checked against its own JSON (they must give the same figures), and the sums of the
recomputed counts are then the sums of the stations' counts by construction. The caller's
extra figures (the counter's business: counts) are added up from the JSON files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from cabin.config import read_bounded

from cabin.queue.errors import CabinError
from cabin.queue.reports.exportfiles import EVENT_COLUMNS, parse_iso_ms, restore, summary_columns
from cabin.queue.reports.figures import Catalogue, Ledger, blank_row, summary, window_minutes
from cabin.queue.reports.report import KEY_OF, SCHEMA, Header, build_report, derive_extras, fill_columns

# A station's day is some hundred kB of JSON and a few MB of events: anything far bigger is not an
# export, and is refused before it is read (`/dev/zero` too: only regular files are read).
JSON_LIMIT = 16 * 1024 * 1024
EVENTS_LIMIT = 64 * 1024 * 1024

# the figures recomputed from events, which must match each station's own file
RECOMPUTED = ("tickets_issued", "errands_requested", "errands_done", "errands_no_show", "errands_cancelled",
              "errands_transferred", "errands_expired", "errands_open", "calls", "wait_p50_min", "wait_p90_min",
              "wait_max_min", "sla_share", "service_p50_min", "service_p90_min", "multi_errand_tickets",
              "one_stop_tickets", "one_stop_share", "windows_open_min", "windows_busy_min", "windows_idle_min")


def find_exports(paths: list[str | Path]) -> list[Path]:
    """The JSON files named, and those in the folders named."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.glob("*.json") if not f.name.startswith(".")))
        elif p.exists():
            found.append(p)
        else:
            raise CabinError("{path} does not exist", path=p)
    if not found:
        raise CabinError("no export JSON files found in {paths}", paths=", ".join(map(str, paths)))
    return found


def load_export(path: Path) -> dict:
    try:
        report = json.loads(read_bounded(path, JSON_LIMIT).decode("utf-8"))
    except OSError as exc:
        raise CabinError("cannot read {path}: {why}", path=path, why=exc.strerror or exc) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CabinError("{path} is not a Cabin daily export (its JSON file is wanted): {why}", path=path,
                         why=exc) from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        found = report.get("schema") if isinstance(report, dict) else None
        raise CabinError(f"{path} is not a Cabin daily export of schema {SCHEMA} (schema: {found})")
    if len(report.get("stations", [])) != 1:
        raise CabinError(f"{path} is already a merge of {len(report['stations'])} stations: merge the stations' own exports")
    if not report.get("events_file"):
        raise CabinError(f"{path} was exported without --with-events: a merge recomputes the figures from each"
                         f" station's events, so export {report['station']} {report['day']} again with --with-events")
    return report


def read_events(path: Path) -> list[tuple]:
    """An events CSV back into events (at in ms UTC, ints, the texts as they were)."""
    try:
        with io.StringIO(read_bounded(path, EVENTS_LIMIT).decode("utf-8-sig"), newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if tuple(header or ()) != EVENT_COLUMNS:
                raise CabinError(f"{path} is not an events file (its columns are not {', '.join(EVENT_COLUMNS)})")
            return [(i, parse_iso_ms(at), restore(kind), _int(tid), _int(rid), _text(service), _int(window),
                     _text(clerk), _text(detail))
                    for i, (at, tid, rid, service, kind, window, clerk, detail) in enumerate(reader)]
    except FileNotFoundError:
        raise CabinError(f"the events file {path} is missing (it must lie beside its JSON file)") from None
    except OSError as exc:
        raise CabinError("cannot read the events file {path}: {why}", path=path, why=exc.strerror or exc) from None
    except ValueError as exc:
        raise CabinError("cannot read the events file {path}: {why}", path=path, why=exc) from None


def _int(text: str) -> int | None:
    """A number of an events file: ASCII digits only (int() would take ١ and １ too)."""
    if not text:
        return None
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def _text(text: str) -> str | None:
    return restore(text) if text else None


def merge_exports(paths: list[Path]) -> dict:
    reports = [(p, load_export(p)) for p in paths]
    first = reports[0][1]
    for p, r in reports[1:]:
        for key, what in (("day", "days"), ("sla_target_min", "waiting targets (sla_target_min)"),
                          ("timezone", "time zones")):
            if r[key] != first[key]:
                raise CabinError(f"{paths[0]} and {p} have different {what} ({first[key]}, {r[key]}): merge one day"
                                 " of stations that share them")
    seen: dict[str, Path] = {}
    for p, r in reports:
        if r["station"] in seen:
            raise CabinError(f"{seen[r['station']]} and {p} are both station {r['station']}: each station once")
        seen[r["station"]] = p

    day, tz = first["day"], ZoneInfo(first["timezone"])
    ledgers = []
    catalogue = Catalogue({}, {}, {})
    for p, r in reports:
        until = parse_iso_ms(r["observed_until"])
        ledger = Ledger(r["station"], day, tz, until_ms=until).feed(read_events(p.parent / r["events_file"]))
        _check(p, r, ledger)
        ledgers.append(ledger)
        for row in r["by_service"]:
            catalogue.services.setdefault(row["service"], (row["category"], row["name"]))
        for row in r["by_category"]:
            catalogue.categories.setdefault(row["category"], row["name"])
        catalogue.windows[r["station"]] = [row["window"] for row in r["by_window"]]

    districts = {r["district"] for _, r in reports}
    district = districts.pop() if len(districts) == 1 else "merged"
    stations = [r["station"] for _, r in reports]
    header = Header(district, f"{district} 合并（{len(stations)} 个派出所）", district, first["timezone"], day,
                    first["sla_target_min"], max(ledger.until_ms for ledger in ledgers),
                    all(r["complete"] for _, r in reports))
    merged = build_report(header, ledgers, catalogue, stations=stations)
    _add_extras(merged, [r for _, r in reports])
    merged["by_station"] = [{"station": r["station"], "day": day, **{k: r[k] for k in summary_columns(r)
                                                                      if k not in ("station", "day", "schema")}}
                            for _, r in reports]
    return merged


def _check(path: Path, report: dict, ledger: Ledger) -> None:
    again = {**summary([ledger], report["sla_target_min"]), **window_minutes([ledger])}
    for key in RECOMPUTED:
        if again[key] != report[key]:
            raise CabinError(f"{path}: its events give {key} {again[key]}, the file says {report[key]}:"
                             f" the events file does not belong to it; export {report['station']} again")


def _add_extras(merged: dict, reports: list[dict]) -> None:
    """The counter's business figures: counts, added up; per clerk, each station's rows."""
    labels: dict[str, str] = {}
    totals: Counter = Counter()
    for r in reports:
        labels.update(r.get("extra_figures", {}))
        totals.update({name: r.get(name, 0) for name in r.get("extra_figures", {})})
    for name in labels:
        merged[name] = totals[name]
    merged["extra_figures"] = labels
    columns: dict[str, dict[str, str]] = {}
    for r in reports:
        for name, cols in r.get("extra_columns", {}).items():
            columns.setdefault(name, {}).update(cols)
    merged["extra_columns"] = columns
    shares: dict[str, dict] = {}
    for r in reports:
        shares.update(r.get("extra_shares", {}))
        merged.setdefault("extra_sections", {}).update(r.get("extra_sections", {}))
    merged["extra_shares"] = shares
    for name, cols in columns.items():
        cols = [c for c in cols if c not in shares]  # shares are not added up: computed again below
        key = KEY_OF[name]
        per_station = name in ("by_clerk", "by_window")
        index = {(row["station"] if per_station else None, row[key]): row for row in merged[name]}
        for r in reports:
            for row in r.get(name, []):
                where = (r["station"] if per_station else None, row[key])
                target = index.get(where)
                if target is None:  # a key only the extra figures have (a clerk who called nobody)
                    station = r["station"] if per_station else merged["station"]
                    target = index[where] = {"station": station, "day": merged["day"],
                                             **blank_row(name, station, row[key])}
                    merged[name].append(target)
                for c in cols:
                    target[c] = target.get(c, 0) + row.get(c, 0)
        fill_columns(name, merged[name], cols)
    derive_extras(merged)
