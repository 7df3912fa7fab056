"""The breakdowns of a small hand-made day, fed as raw events (no engine, no config), against
figures counted by hand: the keys a catalogue does not know (a service since removed, a window,
a clerk not recorded), a wait that begins in one hour and is called in another, a close-out the
next day, and two stations whose windows and clerks stay apart while services and hours pool."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from cabin.queue.reports.figures import Catalogue, Ledger, breakdowns

DAY = "2026-11-23"
TZ = ZoneInfo("Asia/Shanghai")
CATALOGUE = Catalogue({"a.one": ("a", "One"), "a.two": ("a", "Two"), "b.one": ("b", "B one")},
                      {"a": "A", "b": "B"}, {"S1": [1, 2]})


def at(h: int, m: int, day: int = 23) -> int:
    return round(datetime(2026, 11, day, h, m, tzinfo=TZ).timestamp() * 1000)


def events(*rows: tuple) -> list[tuple]:
    """(at, kind, ticket, request, service, window, clerk, detail) rows, numbered in order."""
    return [(i, when, kind, tid, rid, service, window, clerk, json.dumps(detail) if detail else None)
            for i, (when, kind, tid, rid, service, window, clerk, detail) in enumerate(rows)]


S1 = events(
    (at(8, 0), "window_open", None, None, None, 1, "li", None),
    (at(9, 0), "issued", 1, None, None, None, None, {"services": ["a.one", "a.two"]}),
    (at(9, 0), "queued", 1, 1, "a.one", None, None, None),
    (at(9, 0), "pending", 1, 2, "a.two", None, None, None),
    (at(9, 10), "called", 1, 1, "a.one", 1, "li", None),             # waited 10
    (at(9, 12), "started", 1, 1, "a.one", 1, "li", None),
    (at(9, 20), "done", 1, 1, "a.one", 1, "li", None),               # served 8 (from the start)
    (at(9, 20), "queued", 1, 2, "a.two", None, None, {"after": 1}),
    (at(9, 50), "issued", 2, None, None, None, None, {"services": ["old.gone"]}),
    (at(9, 50), "queued", 2, 3, "old.gone", None, None, None),
    (at(10, 30), "called", 1, 2, "a.two", 1, "li", None),            # waited 70
    (at(10, 35), "no_show", 1, 2, "a.two", 1, "li", None),
    (at(10, 58), "issued", 3, None, None, None, None, {"services": ["b.one"]}),
    (at(10, 58), "queued", 3, 4, "b.one", None, None, None),
    (at(11, 5), "called", 2, 3, "old.gone", 9, None, None),          # waited 75, begun at 9, called at 11
    (at(11, 15), "done", 2, 3, "old.gone", 9, None, None),           # served 10 (from the call)
    (at(11, 30), "cancelled", 3, 4, "b.one", None, "zhao", None),    # zhao ended no errand at a window
    (at(12, 0), "window_close", None, None, None, 1, "li", None),
    (at(23, 0), "issued", 4, None, None, None, None, {"services": ["a.one"]}),
    (at(23, 0), "queued", 4, 5, "a.one", None, None, None),
    (at(0, 0, day=24), "expired", 4, 5, "a.one", None, None, {"reason": "day closed"}),
)
S2 = events(
    (at(9, 0), "window_open", None, None, None, 1, "wang", None),   # never closed: open to midnight
    (at(9, 0), "issued", 10, None, None, None, None, {"services": ["a.one"]}),
    (at(9, 0), "queued", 10, 10, "a.one", None, None, None),
    (at(9, 30), "called", 10, 10, "a.one", 1, "wang", None),         # waited 30
    (at(9, 36), "done", 10, 10, "a.one", 1, "wang", None),           # served 6
)

COUNTS = ("tickets_issued", "errands_requested", "errands_done", "errands_no_show", "errands_cancelled",
          "errands_transferred", "errands_expired", "errands_open", "calls")
NO_WAIT = {"wait_p50_min": None, "wait_p90_min": None, "wait_max_min": None, "sla_share": None}
NO_SERVICE = {"service_p50_min": None, "service_p90_min": None}


def errands(*counts: int) -> dict:
    return dict(zip(COUNTS, counts, strict=True))


def waits(p50, p90, mx, sla) -> dict:
    return {"wait_p50_min": p50, "wait_p90_min": p90, "wait_max_min": mx, "sla_share": sla}


def served(p50, p90) -> dict:
    return {"service_p50_min": p50, "service_p90_min": p90}


def test_the_hand_made_day_of_two_stations():
    ledgers = [Ledger("S1", DAY, TZ).feed(S1), Ledger("S2", DAY, TZ).feed(S2)]
    rows = breakdowns(ledgers, CATALOGUE, 20)

    #          tickets requested done no_show cancelled transferred expired open calls
    assert rows["by_category"] == [
        {"category": "a", "name": "A", **errands(3, 4, 2, 1, 0, 0, 1, 0, 3),
         **waits(30.0, 70.0, 70.0, 0.3333), **served(6.0, 8.0)},          # waits 10 30 70, services 6 8
        {"category": "b", "name": "B", **errands(1, 1, 0, 0, 1, 0, 0, 0, 0), **NO_WAIT, **NO_SERVICE},
        {"category": None, "name": "", **errands(1, 1, 1, 0, 0, 0, 0, 0, 1),
         **waits(75.0, 75.0, 75.0, 0.0), **served(10.0, 10.0)},
    ]
    assert rows["by_service"] == [
        {"service": "a.one", "category": "a", "name": "One", **errands(3, 3, 2, 0, 0, 0, 1, 0, 2),
         **waits(10.0, 30.0, 30.0, 0.5), **served(6.0, 8.0)},
        {"service": "a.two", "category": "a", "name": "Two", **errands(0, 1, 0, 1, 0, 0, 0, 0, 1),
         **waits(70.0, 70.0, 70.0, 0.0), **NO_SERVICE},
        {"service": "b.one", "category": "b", "name": "B one", **errands(1, 1, 0, 0, 1, 0, 0, 0, 0),
         **NO_WAIT, **NO_SERVICE},
        {"service": "old.gone", "category": None, "name": "", **errands(1, 1, 1, 0, 0, 0, 0, 0, 1),
         **waits(75.0, 75.0, 75.0, 0.0), **served(10.0, 10.0)},
    ]
    idle = {"calls": 0, "errands_done": 0, "errands_no_show": 0, "errands_transferred": 0, **NO_WAIT,
            **NO_SERVICE, "open_min": 0.0, "busy_min": 0.0, "idle_min": 0.0}
    assert rows["by_window"] == [
        {"station": "S1", "window": 1, "calls": 2, "errands_done": 1, "errands_no_show": 1, "errands_transferred": 0,
         **waits(10.0, 70.0, 70.0, 0.5), **served(8.0, 8.0), "open_min": 240.0, "busy_min": 15.0, "idle_min": 225.0},
        {"station": "S1", "window": 2, **idle},
        {"station": "S1", "window": 9, "calls": 1, "errands_done": 1, "errands_no_show": 0, "errands_transferred": 0,
         **waits(75.0, 75.0, 75.0, 0.0), **served(10.0, 10.0), "open_min": 0.0, "busy_min": 10.0, "idle_min": 0.0},
        {"station": "S2", "window": 1, "calls": 1, "errands_done": 1, "errands_no_show": 0, "errands_transferred": 0,
         **waits(30.0, 30.0, 30.0, 0.0), **served(6.0, 6.0), "open_min": 900.0, "busy_min": 6.0, "idle_min": 894.0},
    ]
    assert rows["by_clerk"] == [  # no row for zhao: a cancellation is not an errand ended at a window
        {"station": "S1", "clerk": "li", "calls": 2, "errands_done": 1, "errands_no_show": 1,
         "errands_transferred": 0, **served(8.0, 8.0), "busy_min": 15.0},
        {"station": "S1", "clerk": None, "calls": 1, "errands_done": 1, "errands_no_show": 0,
         "errands_transferred": 0, **served(10.0, 10.0), "busy_min": 10.0},
        {"station": "S2", "clerk": "wang", "calls": 1, "errands_done": 1, "errands_no_show": 0,
         "errands_transferred": 0, **served(6.0, 6.0), "busy_min": 6.0},
    ]
    # a wait counts in the hour it began (10, 70, 75, 30 all began at 9), a call in the hour it was made
    active = {9: {"tickets_issued": 3, "errands_done": 2, "calls": 2, **waits(30.0, 75.0, 75.0, 0.25)},
              10: {"tickets_issued": 1, "errands_done": 0, "calls": 1, **NO_WAIT},
              11: {"tickets_issued": 0, "errands_done": 1, "calls": 1, **NO_WAIT},
              23: {"tickets_issued": 1, "errands_done": 0, "calls": 0, **NO_WAIT}}
    assert rows["by_hour"] == [
        {"hour": h, **active.get(h, {"tickets_issued": 0, "errands_done": 0, "calls": 0, **NO_WAIT})}
        for h in range(24)]


def test_one_station_alone_keeps_only_its_own_rows():
    rows = breakdowns([Ledger("S2", DAY, TZ).feed(S2)], CATALOGUE, 20)
    assert [(r["station"], r["window"]) for r in rows["by_window"]] == [("S1", 1), ("S1", 2), ("S2", 1)]
    assert [(r["station"], r["clerk"]) for r in rows["by_clerk"]] == [("S2", "wang")]
    assert [r["service"] for r in rows["by_service"]] == ["a.one", "a.two", "b.one"]
    assert [r["category"] for r in rows["by_category"]] == ["a", "b"]
