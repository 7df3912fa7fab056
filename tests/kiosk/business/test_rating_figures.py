"""The ratings in the daily export, on both stores: a day of six errands rated by hand, its figures
counted by hand below (not by Cabin's code), read back from the written JSON and CSV, and merged
across two stations."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime

import pytest
from openpyxl import load_workbook

from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.business.ratings import Ratings
from cabin.queue.clock import ManualClock, to_ms
from cabin.queue.engine import Station
from cabin.queue.reports.export import export_days
from cabin.queue.reports.merge import find_exports, merge_exports

pytestmark = pytest.mark.usefixtures("any_db")
DAY = "2026-11-23"

# The day, errand by errand: (clerk, window, service, level or None: never rated)
ERRANDS = [("li", 1, "id.apply", 1), ("li", 1, "ee.passport", 2), ("wang", 2, "id.apply", 4),
           ("wang", 2, "id.temporary", None),  # recorded 未评价 by the next rating's settle
           ("li", 3, "ee.passport", 3),
           ("wang", 2, "id.apply", None)]      # never settled: counted 未评价 at the export's time
# ... and its figures, counted by hand from the list above
LEVELS_ZERO = {f"ratings_{n}": 0 for n in range(1, 6)}
SUMMARY = {"by_level": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0}, "unrated": 2,
           "satisfied_share": 0.75,            # levels 1-3 of the 4 rated
           "unrated_share": 0.3333}            # 2 of 6
BY_SERVICE = {
    "id.apply": {**LEVELS_ZERO, "ratings_1": 1, "ratings_4": 1, "ratings_unrated": 1,
                 "ratings_satisfied_share": 0.5, "ratings_unrated_share": 0.3333},
    "ee.passport": {**LEVELS_ZERO, "ratings_2": 1, "ratings_3": 1, "ratings_unrated": 0,
                    "ratings_satisfied_share": 1.0, "ratings_unrated_share": 0.0},
    "id.temporary": {**LEVELS_ZERO, "ratings_unrated": 1, "ratings_satisfied_share": None, "ratings_unrated_share": 1.0},
    "tr.violation": {**LEVELS_ZERO, "ratings_unrated": 0, "ratings_satisfied_share": None, "ratings_unrated_share": None},
}
WANG = {**LEVELS_ZERO, "ratings_4": 1, "ratings_unrated": 2, "ratings_satisfied_share": 0.0,
        "ratings_unrated_share": 0.6667}
BY_WINDOW = {1: {**LEVELS_ZERO, "ratings_1": 1, "ratings_2": 1, "ratings_unrated": 0, "ratings_satisfied_share": 1.0,
                 "ratings_unrated_share": 0.0},
             2: WANG,
             3: {**LEVELS_ZERO, "ratings_3": 1, "ratings_unrated": 0, "ratings_satisfied_share": 1.0,
                 "ratings_unrated_share": 0.0}}
BY_CLERK = {"li": {**LEVELS_ZERO, "ratings_1": 1, "ratings_2": 1, "ratings_3": 1, "ratings_unrated": 0, "ratings_satisfied_share": 1.0,
                   "ratings_unrated_share": 0.0},
            "wang": WANG}


@pytest.fixture
def rated_day(kiosk_store, config):
    tz = config.station.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 9, 0, tzinfo=tz))
    ratings = Ratings(kiosk_store, config, clock)
    stations = {clerk: Station(kiosk_store, config, clock, clerk=clerk) for clerk in ("li", "wang")}
    for window in config.windows:
        stations["li"].set_window(window, "open")
    for clerk, window, service, level in ERRANDS:
        station = stations[clerk]
        station.issue([service])
        station.call_next(window)
        station.start(window)
        clock.advance(minutes=3)
        station.complete(window)
        clock.advance(seconds=20)
        if level is not None:
            ratings.record(window, level, "wait" if level >= 4 else None)
    return kiosk_store, config


def export(store, config, out) -> dict:
    now = to_ms(datetime(2026, 11, 24, 8, 0, tzinfo=config.station.tz))
    with store.read() as conn:
        extras = business_figures(conn, config, [DAY], now_ms=now)
    export_days(store, config, [DAY], out, formats="all", with_events=True, extras=extras, now_ms=now,
                font="no chart in this test")  # the data files and the workbook
    return json.loads((out / f"{config.station.code}_{DAY}.json").read_text(encoding="utf-8"))


def rating_columns(row: dict) -> dict:
    return {k: v for k, v in row.items() if k.startswith("ratings_")}


def test_the_exported_ratings_are_the_hand_count(rated_day, tmp_path):
    store, config = rated_day
    report = export(store, config, tmp_path)
    assert report["ratings"] == SUMMARY
    assert {k: report[f"ratings_{k}"] for k in ("unrated", "satisfied_share")} == {"unrated": 2, "satisfied_share": 0.75}
    services = {row["service"]: rating_columns(row) for row in report["by_service"]}
    assert {code: services[code] for code in BY_SERVICE} == BY_SERVICE
    assert {row["window"]: rating_columns(row) for row in report["by_window"] if row["window"] in BY_WINDOW} == BY_WINDOW
    assert {row["clerk"]: rating_columns(row) for row in report["by_clerk"]} == BY_CLERK
    summary = next(csv.DictReader(io.StringIO((tmp_path / f"{config.station.code}_{DAY}_summary.csv")
                                              .read_text(encoding="utf-8-sig"))))
    assert (summary["ratings_1"], summary["ratings_unrated"], summary["ratings_satisfied_share"]) == ("1", "2", "0.75")
    assert "by_level" not in json.dumps(summary)  # the section is the JSON's; the CSV has the figures
    sheet = load_workbook(tmp_path / f"{config.station.code}_{DAY}.xlsx", read_only=True).worksheets[0]
    rows = {row[1]: (row[0], row[2]) for row in sheet.iter_rows(values_only=True) if len(row) == 3}
    assert rows["ratings_satisfied_share"] == ("满意率", 0.75) and rows["ratings_4"] == ("评价：不满意", 1)


def test_the_ratings_of_two_stations_merge(rated_day, tmp_path):
    store, config = rated_day
    other = replace(config, station=replace(config.station, code="350206002"))
    export(store, config, tmp_path / "a")
    export(store, other, tmp_path / "b")
    merged = merge_exports(find_exports([tmp_path / "a", tmp_path / "b"]))
    assert merged["ratings"] == {**SUMMARY, "by_level": {k: 2 * n for k, n in SUMMARY["by_level"].items()},
                                 "unrated": 4}  # the shares are those of each: the same day twice
    windows = {(row["station"], row["window"]): rating_columns(row) for row in merged["by_window"]}
    assert windows[("350206002", 2)] == windows[("350206001", 2)] == WANG
    services = {row["service"]: rating_columns(row) for row in merged["by_service"]}
    assert services["id.apply"] == {**LEVELS_ZERO, "ratings_1": 2, "ratings_4": 2, "ratings_unrated": 2,
                                    "ratings_satisfied_share": 0.5, "ratings_unrated_share": 0.3333}
