"""The daily export of a hand-computed day: every figure asserted exactly, the files agreeing
with each other (JSON, CSV, XLSX, events), formula injection neutralised, atomic writing, and no
personal data in any file. Real SQLite files, the real engine and the real business services."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from clikit import run_cli

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.business.lostfound import LostFound
from cabin.kiosk.station import open_store
from cabin.queue.reports import export as export_module
from cabin.queue.clock import ManualClock, to_ms
from cabin.queue.engine import Station
from cabin.queue.reports.export import export_days
from cabin.queue.reports.exportfiles import restore
from cabin.queue.reports.report import day_report
from cabin.queue.store import Store

DAY = "2026-11-23"  # a Monday
PW = "counter-pass-1"
LOCAL_NUMBER = "350206199001011239"
CROSS_NUMBER = "11010519491231002X"
LOST_NUMBER = "350206198512314560"
FOUND_NUMBER = "440524188001010014"
FINDER, PHONE, PLACE = "张三丰", "13812345678", "厦门市湖里区仙岳路88号"
ADDRESS, PHOTO = "福建省厦门市湖里区兴隆路1号", "V0xUUEhPVE9CWVRFUw=="


def chart_font() -> tuple[str, int]:
    from cabin.drivers.fonts import cjk_font

    f = cjk_font()
    return f.path, f.index


@pytest.fixture
def day_db(tmp_path, config):
    """The hand-computed day (README "Daily exports" has no figures of its own: they are here)."""
    store = build_day(tmp_path / "station.sqlite", config)
    yield store, config
    store.close()


def build_day(db, config):
    """The hand-computed day in the station database `db` (a file or a server's URL): its store."""
    tz = config.station.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 8, 50, tzinfo=tz))
    store = open_store(db)
    accounts = Accounts(store, clock)
    accounts.add("root", "admin", PW)
    root = accounts.authenticate("root", PW)
    accounts.add("li", "clerk", PW, by=root)
    accounts.add("wang", "clerk", PW, by=root)
    li, wang = accounts.authenticate("li", PW), accounts.authenticate("wang", PW)
    dispenser = Station(store, config, clock)
    at_li, at_wang = Station(store, config, clock, clerk="li"), Station(store, config, clock, clerk="wang")

    def at(h, m, s=0):
        clock.set(datetime(2026, 11, 23, h, m, s, tzinfo=tz))

    at_li.set_window(2, "open")                                    # 08:50
    at_wang.set_window(3, "open")                                  # 08:50
    at(9, 0); dispenser.issue(["id.temporary", "id.apply"])        # A
    at(9, 2); dispenser.issue(["id.apply", "ee.passport"])         # B
    at(9, 3); dispenser.issue(["id.loss_report"])                  # C
    at(9, 5)
    at_li.call_next(2); at_li.start(2)                             # A temporary: waited 5
    at_wang.call_next(3); at_wang.start(3)                         # B apply: waited 3
    at(9, 11); at_li.complete(2)                                   # A temporary done (6); A apply continues at 2
    at(9, 15); at_li.complete(2)                                   # A apply done (4)
    at_wang.complete(3)                                            # B apply done (10); passport continues at 3
    at(9, 40); at_li.call_next(2)                                  # C: waited 37
    at(9, 43); at_li.complete(2)                                   # C done (3, from the call)
    at_wang.transfer(3, to_service="ee.hkmo_permit")               # B passport -> hkmo permit, queued
    at(9, 44); at_wang.call_next(3); at_wang.no_show(3)            # B hkmo: waited 1, no-show
    at(10, 0); at_li.set_window(2, "paused")
    at(10, 30); at_li.set_window(2, "open")
    at(11, 0); dispenser.issue(["tr.violation"])                   # D (window 4 never opens)
    at(11, 10); dispenser.cancel("C001")                           # D cancelled
    at(11, 20); dispenser.issue(["ee.passport"])                   # E
    at(11, 30); at_wang.call_next(3)                               # E: waited 10
    at(11, 35); at_wang.set_window(3, "paused")                    # E back to the queue, still waiting
    at(12, 0); at_li.set_window(2, "closed"); at_wang.set_window(3, "closed")

    # the counter's business, with personal data in every place it can be
    applications, lostfound = Applications(store, config, clock), LostFound(store, config, clock)
    at(12, 30); applications.accept(LOCAL_NUMBER, "renewal", by=li)
    at(12, 35); applications.accept(CROSS_NUMBER, "replacement", by=wang)
    at(12, 40); lostfound.report_loss(LOST_NUMBER, by=li)
    at(12, 45); found = lostfound.register_found(FOUND_NUMBER, finder=FINDER, phone=PHONE, place=PLACE,
                                                 found_on="2026-11-22", by=wang)
    at(12, 50); lostfound.handover(found.id, number=FOUND_NUMBER, by=li)
    person = {"name": FINDER, "number": LOCAL_NUMBER, "address": ADDRESS, "photo": PHOTO}
    with store.write() as conn:  # temporary cards: counted by their audit entries (the printing is tempcards')
        audit.record(conn, "li", "tempcard.print", "LS-20261123-0001", {"reprint": False, **person},
                     at=to_ms(datetime(2026, 11, 23, 13, 0, tzinfo=tz)))
        audit.record(conn, "li", "tempcard.print", "LS-20261123-0001", {"reprint": True, **person},
                     at=to_ms(datetime(2026, 11, 23, 13, 5, tzinfo=tz)))
        audit.record(conn, "wang", "tempcard.void", "LS-20261123-0002", {"reason": "破损", **person},
                     at=to_ms(datetime(2026, 11, 23, 13, 10, tzinfo=tz)))
        # the station's day, not UTC's: 23:59:30 counts on the 23rd, 00:00:30 on the 24th
        audit.record(conn, "li", "loss.report", "GS-20261123-0009", {"number": "350206********0000"},
                     at=to_ms(datetime(2026, 11, 23, 23, 59, 30, tzinfo=tz)))
        audit.record(conn, "wang", "loss.report", "GS-20261124-0001", {"number": "350206********0001"},
                     at=to_ms(datetime(2026, 11, 24, 0, 0, 30, tzinfo=tz)))
    return store


def extras(store, config, days=(DAY,)):
    with store.read() as conn:
        return business_figures(conn, config, list(days))


def report_of(store, config, now=None):
    now = now or to_ms(datetime(2026, 11, 28, 12, 0, tzinfo=config.station.tz))
    extra = extras(store, config)[DAY]
    with store.read() as conn:
        return day_report(conn, config, DAY, now_ms=now, extra=extra)


# -- every figure, by hand -------------------------------------------------------------------
SUMMARY = {
    "schema": "cabin.daily-export/1", "station": "350206001", "station_name": "湖里派出所 小木屋综合服务区",
    "district": "350206", "timezone": "Asia/Shanghai", "day": DAY, "stations": ["350206001"],
    "complete": True, "observed_until": "2026-11-24T00:00:00.000+08:00",
    "tickets_issued": 5, "errands_requested": 7,
    "errands_done": 4, "errands_no_show": 1, "errands_cancelled": 1, "errands_transferred": 1,
    "errands_expired": 0, "errands_open": 1,
    "calls": 5,                                        # waits 5, 3, 37, 1, 10
    "wait_p50_min": 5.0, "wait_p90_min": 37.0, "wait_max_min": 37.0,
    "sla_target_min": 20, "sla_share": 0.8,
    "service_p50_min": 4.0, "service_p90_min": 10.0,   # 6, 4, 10, 3
    "multi_errand_tickets": 2, "one_stop_tickets": 1, "one_stop_share": 0.5,
    # window 2: 08:50-10:00 and 10:30-12:00; window 3: 08:50-11:35
    "windows_open_min": 325.0, "windows_busy_min": 56.0, "windows_idle_min": 269.0,
    "temp_cards_printed": 1, "temp_cards_reprinted": 1, "temp_cards_voided": 1,
    "applications_accepted": 2, "applications_first": 0, "applications_renewal": 1, "applications_replacement": 1,
    "applications_local": 1, "applications_cross_region": 1,
    "loss_reports": 2, "found_registered": 1, "found_returned": 1,
}
NO_WAIT = {"wait_p50_min": None, "wait_p90_min": None, "wait_max_min": None, "sla_share": None}
NO_SERVICE = {"service_p50_min": None, "service_p90_min": None}
ZERO_ERRANDS = {"tickets_issued": 0, "errands_requested": 0, "errands_done": 0, "errands_no_show": 0,
                "errands_cancelled": 0, "errands_transferred": 0, "errands_expired": 0, "errands_open": 0, "calls": 0}


def errands(**given):
    return {**ZERO_ERRANDS, **{k: v for k, v in given.items() if k in ZERO_ERRANDS}}


def waits(p50, p90, mx, sla):
    return {"wait_p50_min": p50, "wait_p90_min": p90, "wait_max_min": mx, "sla_share": sla}


def served(p50, p90):
    return {"service_p50_min": p50, "service_p90_min": p90}


BY_CATEGORY = [
    {"station": "350206001", "day": DAY, "category": "id", "name": "身份证",
     **errands(tickets_issued=3, errands_requested=4, errands_done=4, calls=3),
     **waits(5.0, 37.0, 37.0, 0.6667), **served(4.0, 10.0)},
    {"station": "350206001", "day": DAY, "category": "ee", "name": "出入境",
     **errands(tickets_issued=1, errands_requested=2, errands_no_show=1, errands_transferred=1, errands_open=1,
               calls=2), **waits(1.0, 10.0, 10.0, 1.0), **NO_SERVICE},
    {"station": "350206001", "day": DAY, "category": "tr", "name": "交管",
     **errands(tickets_issued=1, errands_requested=1, errands_cancelled=1), **NO_WAIT, **NO_SERVICE},
]
SERVICES_WITH_ERRANDS = {
    "id.temporary": {**errands(tickets_issued=1, errands_requested=1, errands_done=1, calls=1),
                     **waits(5.0, 5.0, 5.0, 1.0), **served(6.0, 6.0)},
    "id.apply": {**errands(tickets_issued=1, errands_requested=2, errands_done=2, calls=1),
                 **waits(3.0, 3.0, 3.0, 1.0), **served(4.0, 10.0)},
    "id.loss_report": {**errands(tickets_issued=1, errands_requested=1, errands_done=1, calls=1),
                       **waits(37.0, 37.0, 37.0, 0.0), **served(3.0, 3.0)},
    "ee.passport": {**errands(tickets_issued=1, errands_requested=2, errands_transferred=1, errands_open=1, calls=1),
                    **waits(10.0, 10.0, 10.0, 1.0), **NO_SERVICE},
    "ee.hkmo_permit": {**errands(errands_no_show=1, calls=1), **waits(1.0, 1.0, 1.0, 1.0), **NO_SERVICE},
    "tr.violation": {**errands(tickets_issued=1, errands_requested=1, errands_cancelled=1), **NO_WAIT, **NO_SERVICE},
}
WINDOW_ZERO = {"calls": 0, "errands_done": 0, "errands_no_show": 0, "errands_transferred": 0, **NO_WAIT,
               **NO_SERVICE, "open_min": 0.0, "busy_min": 0.0, "idle_min": 0.0}
# a day without ratings: every row of services, windows and clerks has their columns, empty
RATING_ZERO = {"ratings_1": 0, "ratings_2": 0, "ratings_3": 0, "ratings_4": 0, "ratings_5": 0, "ratings_unrated": 0,
               "ratings_satisfied_share": None, "ratings_unrated_share": None}
BY_WINDOW = [
    {"station": "350206001", "day": DAY, "window": 1, **WINDOW_ZERO, **RATING_ZERO},
    {"station": "350206001", "day": DAY, "window": 2, "calls": 2, "errands_done": 3, "errands_no_show": 0,
     "errands_transferred": 0, **waits(5.0, 37.0, 37.0, 0.5), **served(4.0, 6.0),
     "open_min": 160.0, "busy_min": 13.0, "idle_min": 147.0, **RATING_ZERO},
    {"station": "350206001", "day": DAY, "window": 3, "calls": 3, "errands_done": 1, "errands_no_show": 1,
     "errands_transferred": 1, **waits(3.0, 10.0, 10.0, 1.0), **served(10.0, 10.0),
     "open_min": 165.0, "busy_min": 43.0, "idle_min": 122.0, **RATING_ZERO},
    {"station": "350206001", "day": DAY, "window": 4, **WINDOW_ZERO, **RATING_ZERO},
]
BUSINESS_ZERO = {"temp_cards_printed": 0, "temp_cards_reprinted": 0, "temp_cards_voided": 0,
                 "applications_accepted": 0, "loss_reports": 0, "found_registered": 0, "found_returned": 0}
BY_CLERK = [
    {"station": "350206001", "day": DAY, "clerk": "li", "calls": 2, "errands_done": 3, "errands_no_show": 0,
     "errands_transferred": 0, **served(4.0, 6.0), "busy_min": 13.0,
     **BUSINESS_ZERO, "temp_cards_printed": 1, "temp_cards_reprinted": 1, "applications_accepted": 1,
     "loss_reports": 2, "found_returned": 1, **RATING_ZERO},
    {"station": "350206001", "day": DAY, "clerk": "wang", "calls": 3, "errands_done": 1, "errands_no_show": 1,
     "errands_transferred": 1, **served(10.0, 10.0), "busy_min": 43.0,
     **BUSINESS_ZERO, "temp_cards_voided": 1, "applications_accepted": 1, "found_registered": 1, **RATING_ZERO},
]
HOURS_WITH_ACTIVITY = {
    9: {"tickets_issued": 3, "errands_done": 4, "calls": 4, **waits(3.0, 37.0, 37.0, 0.75)},
    11: {"tickets_issued": 2, "errands_done": 0, "calls": 1, **waits(10.0, 10.0, 10.0, 1.0)},
}


def test_every_figure_of_the_hand_computed_day(day_db):
    store, config = day_db
    r = report_of(store, config)
    assert {k: r[k] for k in SUMMARY} == SUMMARY
    assert r["by_category"] == BY_CATEGORY
    services = {row["service"]: row for row in r["by_service"]}
    assert list(services) == list(config.services)  # every service of the catalogue, in its order
    for code, row in services.items():
        expected = SERVICES_WITH_ERRANDS.get(code, {**ZERO_ERRANDS, **NO_WAIT, **NO_SERVICE})
        assert row == {"station": "350206001", "day": DAY, "service": code,
                       "category": config.services[code].category, "name": config.services[code].name, **expected,
                       **RATING_ZERO}
    assert r["by_window"] == BY_WINDOW
    assert r["by_clerk"] == BY_CLERK
    assert [row["hour"] for row in r["by_hour"]] == list(range(24))
    for row in r["by_hour"]:
        expected = HOURS_WITH_ACTIVITY.get(row["hour"], {"tickets_issued": 0, "errands_done": 0, "calls": 0, **NO_WAIT})
        assert row == {"station": "350206001", "day": DAY, "hour": row["hour"], **expected}
    assert r["extra_figures"]["temp_cards_printed"] == "临时身份证制证（首次打印）"
    assert set(r["extra_columns"]["by_clerk"]) == set(BUSINESS_ZERO) | set(RATING_ZERO)
    assert r["events_file"] is None


def test_the_next_day_has_its_own_business(day_db):
    store, config = day_db
    nxt = extras(store, config, [DAY, "2026-11-24"])["2026-11-24"]
    assert nxt.figures["loss_reports"] == 1 and sum(nxt.figures.values()) == 1
    assert nxt.breakdowns["by_clerk"] == {"wang": {**BUSINESS_ZERO, "loss_reports": 1}}


def test_a_day_not_over_counts_up_to_now(tmp_path, config):
    tz = config.station.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 9, 0, tzinfo=tz))
    store = Store(tmp_path / "today.sqlite")
    station = Station(store, config, clock)
    station.set_window(2, "open")
    clock.advance(minutes=5)
    station.issue(["id.apply"])
    clock.advance(minutes=5)
    station.call_next(2)                                        # 09:10, still at the window at 09:30
    clock.advance(minutes=20)
    with store.read() as conn:
        r = day_report(conn, config, DAY, now_ms=clock.now_ms())
    assert r["complete"] is False and r["observed_until"] == "2026-11-23T09:30:00.000+08:00"
    assert (r["windows_open_min"], r["windows_busy_min"], r["windows_idle_min"]) == (30.0, 20.0, 10.0)
    assert r["errands_open"] == 1 and r["calls"] == 1 and r["wait_p50_min"] == 5.0
    assert r["by_clerk"][0]["clerk"] is None and r["by_clerk"][0]["busy_min"] == 20.0
    assert r["extra_figures"] == {} and r["extra_columns"] == {}
    store.close()


# -- the files ---------------------------------------------------------------------------------
def export(store, config, out, formats="all", with_events=True, font=None):
    now = to_ms(datetime(2026, 11, 28, 12, 0, tzinfo=config.station.tz))
    return export_days(store, config, [DAY], out, formats=formats, with_events=with_events, font=font,
                       extras=extras(store, config), now_ms=now)


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel on Windows reads UTF-8
    assert b"\r\n" in raw
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


TEXT_COLUMNS = {"station", "station_name", "district", "timezone", "day", "observed_until", "category", "name",
                "service", "clerk"}


def typed(key: str, text: str):
    """A CSV cell back into the JSON's value (the columns of text stay text: a station code is not a number)."""
    if text == "":
        return None
    if key in TEXT_COLUMNS:
        return restore(text)
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return restore(text)


def test_json_csv_and_xlsx_agree(day_db, tmp_path):
    from openpyxl import load_workbook

    store, config = day_db
    font = chart_font()
    done = export(store, config, tmp_path / "out", font=font)
    prefix = tmp_path / "out" / f"350206001_{DAY}"
    names = sorted(os.path.basename(f) for f in done[0]["files"])
    assert names == sorted(f"350206001_{DAY}{s}" for s in (
        ".json", ".xlsx", ".png", "_summary.csv", "_by_category.csv", "_by_service.csv", "_by_window.csv",
        "_by_clerk.csv", "_by_hour.csv", "_events.csv"))
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporary files left
    r = json.loads(prefix.with_suffix(".json").read_text(encoding="utf-8"))
    assert r == {**report_of(store, config), "events_file": f"350206001_{DAY}_events.csv"}

    # CSV: the summary is one row of the top-level figures; each breakdown its rows
    (row,) = read_csv(prefix.parent / f"{prefix.name}_summary.csv")
    assert {k: typed(k, v) for k, v in row.items()} == {k: r[k] for k in row}
    assert list(row)[:2] == ["station", "day"] and "tickets_issued" in row and "loss_reports" in row
    for name in ("by_category", "by_service", "by_window", "by_clerk", "by_hour"):
        rows = read_csv(prefix.parent / f"{prefix.name}_{name}.csv")
        assert [{k: typed(k, v) for k, v in x.items()} for x in rows] == r[name], name

    # XLSX: a summary sheet (label, key, value) and one sheet per breakdown, Chinese headers
    book = load_workbook(prefix.with_suffix(".xlsx"))
    assert book.sheetnames == ["汇总", "按类别", "按业务", "按窗口", "按工作人员", "按时段"]
    summary = list(book["汇总"].iter_rows(values_only=True))
    assert summary[0] == ("指标", "代码", "数值")
    assert {key: value for _, key, value in summary[1:]} == {k: r[k] for k in row}
    assert ("取号数", "tickets_issued", 5) in summary and ("临时身份证作废", "temp_cards_voided", 1) in summary
    for sheet, name in (("按类别", "by_category"), ("按业务", "by_service"), ("按窗口", "by_window"),
                        ("按工作人员", "by_clerk"), ("按时段", "by_hour")):
        rows = list(book[sheet].iter_rows(values_only=True))
        assert [list(x) for x in rows[1:]] == [list(x.values()) for x in r[name]], sheet
        assert all(c and not c.isascii() for c in rows[0]), rows[0]   # Chinese headers
        assert book[sheet].column_dimensions["A"].width > 8
    assert list(book["按窗口"].iter_rows(values_only=True))[0][:3] == ("派出所代码", "日期", "窗口")

    # the chart: a real PNG
    from PIL import Image

    with Image.open(prefix.with_suffix(".png")) as image:
        assert image.format == "PNG" and image.size == (1400, 1050)


def test_the_events_file(day_db, tmp_path):
    store, config = day_db
    export(store, config, tmp_path, formats="json")
    rows = read_csv(tmp_path / f"350206001_{DAY}_events.csv")
    assert list(rows[0]) == ["at", "ticket_id", "request_id", "service", "kind", "window", "clerk", "detail"]
    assert rows[0] == {"at": "2026-11-23T08:50:00.000+08:00", "ticket_id": "", "request_id": "", "service": "",
                       "kind": "window_open", "window": "2", "clerk": "li", "detail": ""}
    assert rows[2]["kind"] == "issued" and rows[2]["at"] == "2026-11-23T09:00:00.000+08:00"
    assert json.loads(rows[2]["detail"])["services"] == ["id.temporary", "id.apply"]
    with store.read() as conn:
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert len(rows) == count  # one day in the database: all of its events, and nothing else
    assert [r["kind"] for r in rows].count("called") == 7  # 5 calls and 2 continuations


def test_formula_injection_is_neutralised(tmp_path, config):
    from openpyxl import load_workbook

    tz = config.station.tz
    clock = ManualClock(tz, datetime(2026, 11, 23, 9, 0, tzinfo=tz))
    store = open_store(tmp_path / "f.sqlite")
    evil = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "'=quoted"]
    for i, name in enumerate(evil):
        station = Station(store, config, clock, clerk=name)
        station.set_window(2, "open") if i == 0 else None
        station.issue(["id.apply"])
        station.call_next(2)
        station.complete(2)
        clock.advance(minutes=1)
    export_days(store, config, [DAY], tmp_path / "out", formats="xlsx", with_events=True,
                now_ms=to_ms(datetime(2026, 11, 28, tzinfo=tz)))
    export_days(store, config, [DAY], tmp_path / "out", formats="csv", with_events=True,
                now_ms=to_ms(datetime(2026, 11, 28, tzinfo=tz)))
    clerks = [row["clerk"] for row in read_csv(tmp_path / "out" / f"350206001_{DAY}_by_clerk.csv")]
    assert sorted(clerks) == sorted("'" + name for name in evil)
    assert sorted(restore(c) for c in clerks) == sorted(evil)
    events = read_csv(tmp_path / "out" / f"350206001_{DAY}_events.csv")
    assert {e["clerk"] for e in events if e["clerk"]} == {"'" + name for name in evil}
    book = load_workbook(tmp_path / "out" / f"350206001_{DAY}.xlsx")
    cells = [row[2] for row in book["按工作人员"].iter_rows(min_row=2)]
    assert sorted(c.value for c in cells) == sorted("'" + name for name in evil)
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    store.close()


# -- atomic writing ---------------------------------------------------------------------------
def test_a_failed_export_leaves_no_file(day_db, tmp_path, monkeypatch):
    store, config = day_db
    out = tmp_path / "out"

    def broken(report):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "xlsx_bytes", broken)
    with pytest.raises(OSError):
        export(store, config, out, formats="all", font=("unused", 0))
    assert list(out.iterdir()) == []  # not a CSV, not the events, not a temporary file


def test_a_failed_export_keeps_the_previous_files(day_db, tmp_path, monkeypatch):
    store, config = day_db
    out = tmp_path / "out"
    export(store, config, out, formats="csv")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(report, prefix):
        raise KeyboardInterrupt  # the clerk pressed Ctrl-C half-way

    monkeypatch.setattr(export_module, "report_csvs", broken)
    with pytest.raises(KeyboardInterrupt):
        export(store, config, out, formats="csv")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("font", ["no font: the reason", "a file pillow cannot read"])
def test_a_chart_that_cannot_be_drawn_is_skipped_and_the_data_files_stand(day_db, tmp_path, font):
    store, config = day_db
    if font.startswith("a file"):
        (tmp_path / "bad.ttf").write_bytes(b"not a font")
        font = (str(tmp_path / "bad.ttf"), 0)
    [day] = export(store, config, tmp_path / "out", formats="all", with_events=False, font=font)
    chart = tmp_path / "out" / f"{config.station.code}_{DAY}.png"
    assert [s["file"] for s in day["skipped"]] == [str(chart)] and day["skipped"][0]["why"]
    if isinstance(font, str):
        assert day["skipped"][0]["why"] == font
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(os.path.basename(f) for f in day["files"]) and len(names) == 8
    assert not chart.exists() and all(n.endswith((".csv", ".json", ".xlsx")) for n in names)


# -- no personal data -------------------------------------------------------------------------
def test_no_export_holds_personal_data(day_db, tmp_path):
    store, config = day_db
    font = chart_font()
    export(store, config, tmp_path / "out", font=font)
    with store.read() as conn:  # the personal data the database holds, to be found nowhere
        personal = {v for table, cols in {
            "loss_reports": ("number",), "found_cards": ("number", "finder_name", "finder_phone", "place"),
            "applications": ("id_number",)}.items()
            for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table}") for v in row}
    assert {LOCAL_NUMBER, CROSS_NUMBER, LOST_NUMBER, FOUND_NUMBER, FINDER, PHONE, PLACE} <= personal
    forbidden = personal | {ADDRESS, PHOTO} | {n[:6] + "*" * 8 + n[-4:] for n in
                                               (LOCAL_NUMBER, CROSS_NUMBER, LOST_NUMBER, FOUND_NUMBER)}
    forbidden |= {FINDER[0] + "*", "138****5678", "GS-", "SL-", "LS-"}  # masked forms and receipts too
    texts = {}
    for path in (tmp_path / "out").iterdir():
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                texts[path.name] = "".join(z.read(n).decode("utf-8") for n in z.namelist())
        elif path.suffix == ".png":
            texts[path.name] = data.decode("latin-1")  # no text chunks: nothing but pixels
            assert b"tEXt" not in data and b"iTXt" not in data
        else:
            texts[path.name] = data.decode("utf-8-sig")
    assert len(texts) == 10
    for name, text in texts.items():
        for value in forbidden:
            assert value not in text, f"{value!r} in {name}"


def test_range_of_days(day_db, tmp_path):
    store, config = day_db
    days = [(datetime(2026, 11, 22) + timedelta(days=i)).date().isoformat() for i in range(3)]
    seen = []
    done = export_days(store, config, days, tmp_path, formats="json", extras=extras(store, config, days),
                       progress=seen.append)
    assert seen == days and [d["day"] for d in done] == days
    assert [d["tickets_issued"] for d in done] == [0, 5, 0]
    sunday = json.loads((tmp_path / "350206001_2026-11-22.json").read_text(encoding="utf-8"))
    assert sunday["wait_p50_min"] is None and sunday["one_stop_share"] is None and sunday["calls"] == 0
    tuesday = json.loads((tmp_path / "350206001_2026-11-24.json").read_text(encoding="utf-8"))
    assert tuesday["loss_reports"] == 1 and tuesday["by_clerk"][0]["clerk"] == "wang"


# The same day exported from an SQLite file and from a PostgreSQL server: file for file, byte for
# byte the same (the real engine, accounts and audit log through `cabin export`).
def exported(db, out: Path, data: Path) -> dict[str, bytes]:
    r = run_cli(["--db", db, "export", "--day", DAY, "--with-events", "--format", "all", "--out", out],
                env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def workbook(data: bytes) -> dict[str, bytes]:
    """An XLSX's parts but its creation time (docProps/core.xml: when the file was made)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}


def test_the_days_export_is_identical_from_sqlite_and_from_postgresql(tmp_path, config, pg_url):
    data = tmp_path / "xdg"
    data.mkdir(mode=0o700)
    files = {}
    for name, db in (("sqlite", tmp_path / "station.sqlite"), ("postgresql", pg_url)):
        build_day(db, config).close()
        files[name] = exported(db, tmp_path / name, data)
    assert list(files["sqlite"]) == list(files["postgresql"])
    assert len(files["sqlite"]) >= 8  # the JSON, the workbook, the breakdowns' CSVs and the events
    for file, sqlite_bytes in files["sqlite"].items():
        pg_bytes = files["postgresql"][file]
        if file.endswith(".xlsx"):
            assert workbook(pg_bytes) == workbook(sqlite_bytes), file
        else:
            assert pg_bytes == sqlite_bytes, file
    summary = files["sqlite"][f"350206001_{DAY}.json"]
    assert b'"tickets_issued": 5' in summary and b'"temp_cards_printed": 1' in summary  # the day is in it
