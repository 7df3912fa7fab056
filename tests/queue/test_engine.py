"""The queue engine's rules, one by one, with exact values (queue/engine.py, routing.py, estimate.py).

Every test runs the default station configuration on a real SQLite file; the clock starts at
09:00 on Monday 2026-11-23, Asia/Shanghai (see conftest.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime

import pytest

from cabin.queue import estimate
from cabin.queue.clock import to_ms
from cabin.queue.errors import CabinError, NothingToCall
from cabin.queue.results import Issued

# -- helpers ------------------------------------------------------------------------------


def q(station, sql, *params):
    with station.store.read() as conn:
        return [dict(r) for r in conn.execute(sql, params).fetchall()]


def counts(station) -> dict:
    """Row counts of every table the engine writes, and a dump of the mutable rows."""
    with station.store.read() as conn:
        return {
            "tickets": [tuple(r) for r in conn.execute("SELECT * FROM tickets ORDER BY id")],
            "requests": [tuple(r) for r in conn.execute("SELECT * FROM requests ORDER BY id")],
            "windows": [tuple(r) for r in conn.execute("SELECT * FROM windows ORDER BY number")],
            "meta": [tuple(r) for r in conn.execute("SELECT * FROM meta ORDER BY key")],
            "events": conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        }


def refused(station, fn, *args, match=None, error=CabinError, **kwargs):
    """fn(...) must raise `error` and leave every table exactly as it was."""
    before = counts(station)
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)
    assert counts(station) == before


def requests_of(station, ticket_id):
    return q(station, "SELECT * FROM requests WHERE ticket_id = ? ORDER BY position, id", ticket_id)


def states(station, ticket_id):
    return [(r["service"], r["state"]) for r in requests_of(station, ticket_id)]


def request(station, request_id):
    return q(station, "SELECT * FROM requests WHERE id = ?", request_id)[0]


def ticket(station, ticket_id):
    return q(station, "SELECT * FROM tickets WHERE id = ?", ticket_id)[0]


def window(station, number):
    return q(station, "SELECT * FROM windows WHERE number = ?", number)[0]


def events(station, **where):
    sql = "SELECT * FROM events"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    rows = q(station, sql + " ORDER BY id", *where.values())
    for r in rows:
        r["detail"] = json.loads(r["detail"]) if r["detail"] else None
    return rows


def kinds(station, **where):
    return [e["kind"] for e in events(station, **where)]


def open_windows(station, *numbers):
    for n in numbers:
        assert station.set_window(n, "open").changed is True


def at(clock, config, hh, mm, ss=0, day=23):
    clock.set(datetime(2026, 11, day, hh, mm, ss, tzinfo=config.station.tz))


def serve(station, clock, window, minutes):
    """Call the next citizen at `window`, start, serve for `minutes`, complete; return the call."""
    call = station.call_next(window)
    station.start(window)
    clock.advance(minutes=minutes)
    station.complete(window)
    return call


# -- issuing ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_issue_one_to_five_errands(station, clock, n):
    services = ["id.apply", "ee.passport", "tr.violation", "id.loss_report", "ee.hkmo_endorse"][:n]
    issued = station.issue(services)
    assert issued == Issued("A001", issued.ticket_id, services, "normal", 0, 0.0, "2026-11-23")
    t = ticket(station, issued.ticket_id)
    now = clock.now_ms()
    assert (t["day"], t["number"], t["prefix"], t["seq"], t["priority"], t["channel"], t["state"]) == (
        "2026-11-23", "A001", "A", 1, "normal", "dispenser", "open")
    assert t["issued_at"] == now and t["sort_key"] == now
    reqs = requests_of(station, issued.ticket_id)
    assert [(r["position"], r["service"], r["state"], r["sort_key"]) for r in reqs] == [
        (i, s, "waiting" if i == 1 else "pending", now) for i, s in enumerate(services, start=1)
    ]
    assert kinds(station, ticket_id=issued.ticket_id) == ["issued", "queued"] + ["pending"] * (n - 1)
    assert events(station, kind="issued")[0]["detail"] == {"number": "A001", "priority": "normal",
                                                          "channel": "dispenser", "services": services}


def test_numbers_run_per_day_and_per_category_prefix(station, clock):
    got = []
    for services in (["id.apply"], ["ee.passport"], ["id.temporary"], ["tr.violation", "id.apply"],
                     ["ee.passport", "id.apply"], ["id.found_card"], ["tr.license_renew"]):
        got.append(station.issue(services).ticket)
        clock.advance(minutes=1)
    # the first errand's category gives the prefix
    assert got == ["A001", "B001", "A002", "C001", "B002", "A003", "C002"]


def test_numbering_resets_at_local_midnight_not_utc(station, clock, config):
    at(clock, config, 7, 59)  # 23:59 UTC on Sunday
    assert station.issue(["id.apply"]).ticket == "A001"
    clock.advance(minutes=2)  # UTC midnight passes; Shanghai is still on Monday
    assert station.issue(["id.apply"]).ticket == "A002"
    assert station.today() == "2026-11-23"


def test_midnight_closes_out_yesterday(station, clock, config):
    at(clock, config, 23, 50)
    open_windows(station, 2, 4)
    a1 = station.issue(["id.apply", "ee.passport"])
    a2 = station.issue(["id.temporary"])
    b1 = station.issue(["ee.passport"])
    c1 = station.issue(["tr.violation"])
    a3 = station.issue(["id.loss_report"])
    assert (a1.ticket, a2.ticket, b1.ticket, c1.ticket, a3.ticket) == ("A001", "A002", "B001", "C001", "A003")
    call = station.call_next(2)
    assert call.ticket == "A001"
    station.call_next(4)
    station.start(4)  # C001 is being served at midnight
    events_before = len(events(station))

    clock.advance(minutes=11)  # 00:01 Tuesday
    nxt = station.issue(["id.apply"])
    assert nxt.ticket == "A001" and nxt.ahead == 0
    assert ticket(station, nxt.ticket_id)["day"] == "2026-11-24"

    assert states(station, a1.ticket_id) == [("id.apply", "expired"), ("ee.passport", "expired")]
    assert states(station, a2.ticket_id) == [("id.temporary", "expired")]
    assert states(station, b1.ticket_id) == [("ee.passport", "expired")]
    assert states(station, c1.ticket_id) == [("tr.violation", "expired")]
    assert states(station, a3.ticket_id) == [("id.loss_report", "expired")]
    for old in (a1, a2, b1, c1, a3):
        assert ticket(station, old.ticket_id)["state"] == "closed"
    assert [(w["number"], w["state"], w["current_request_id"]) for w in q(station, "SELECT * FROM windows ORDER BY number")] == [
        (1, "closed", None), (2, "closed", None), (3, "closed", None), (4, "closed", None)]
    new = events(station)[events_before:]
    expired = {e["request_id"]: (e["window"], e["day"]) for e in new if e["kind"] == "expired"}
    rid = {(t.ticket, r["position"]): r["id"] for t in (a1, a2, b1, c1, a3) for r in requests_of(station, t.ticket_id)}
    assert expired == {
        rid["A001", 1]: (2, "2026-11-24"),     # A001's called errand, at window 2
        rid["A001", 2]: (None, "2026-11-24"),  # A001's pending one
        rid["A002", 1]: (None, "2026-11-24"),
        rid["B001", 1]: (None, "2026-11-24"),
        rid["C001", 1]: (4, "2026-11-24"),     # in service at window 4
        rid["A003", 1]: (None, "2026-11-24"),
    }
    assert len([e for e in new if e["kind"] == "expired"]) == 6
    assert sorted((e["window"], e["day"]) for e in new if e["kind"] == "window_close") == [
        (2, "2026-11-24"), (4, "2026-11-24")]
    assert all(e["detail"] == {"reason": "day closed"} for e in new if e["kind"] in ("expired", "window_close"))
    assert [e["kind"] for e in new if e["kind"] not in ("expired", "window_close")] == ["issued", "queued"]
    # yesterday's number is no longer today's
    with pytest.raises(CabinError, match="A002"):
        station.cancel("A002")
    # nothing of yesterday can be called today
    open_windows(station, 1)
    assert station.call_next(1).ticket_id == nxt.ticket_id
    open_windows(station, 2)
    refused(station, station.call_next, 2, error=NothingToCall)


@pytest.mark.parametrize("services, priority, match", [
    ([], "normal", "at least one errand"),
    (["id.apply", "id.temporary", "id.cross_region", "id.loss_report", "id.found_card", "ee.passport"], "normal",
     "at most 5 errands; 6"),
    (["id.nope"], "normal", 'unknown service "id.nope"'),
    (["id.apply", "ee.nope"], "normal", 'unknown service "ee.nope"'),
    (["id.apply", "ee.passport", "id.apply"], "normal", "listed twice"),
    (["id.apply"], "vip", 'unknown priority class "vip"'),
])
def test_issue_refusals_write_nothing(station, services, priority, match):
    station.issue(["id.apply"])  # something already there
    refused(station, station.issue, services, priority, match=match)
    assert station.issue(["id.apply"]).ticket == "A002"  # the refusal used no number


# -- routing ------------------------------------------------------------------------------


def test_fifo_by_ticket_issue_time_across_services(station, clock):
    open_windows(station, 1)
    issued = []
    for services in (["ee.passport"], ["id.apply"], ["tr.violation"], ["id.apply"]):
        issued.append(station.issue(services))
        clock.advance(minutes=1)
    calls = []
    for _ in issued:
        calls.append(station.call_next(1).ticket)
        station.complete(1)
    assert calls == ["B001", "A001", "C001", "A002"]
    refused(station, station.call_next, 1, error=NothingToCall, match="nobody is waiting for window 1")


def test_same_millisecond_tickets_go_by_ticket_id(station):
    open_windows(station, 1)
    first = station.issue(["id.apply"])
    second = station.issue(["ee.passport"])
    assert station.call_next(1).ticket_id == first.ticket_id
    station.complete(1)
    assert station.call_next(1).ticket_id == second.ticket_id


def test_priority_head_start(station, clock, config):
    open_windows(station, 2)
    n1 = station.issue(["id.apply"])                       # 09:00
    at(clock, config, 9, 15)
    n2 = station.issue(["id.apply"])                       # 09:15
    at(clock, config, 9, 25)
    p = station.issue(["id.apply"], priority="priority")   # 09:25, placed at 09:05
    assert ticket(station, p.ticket_id)["sort_key"] == to_ms(datetime(2026, 11, 23, 9, 5, tzinfo=config.station.tz))
    assert p.ahead == 1  # only n1 is ahead of it
    order = []
    for _ in range(3):
        order.append(station.call_next(2).ticket_id)
        station.complete(2)
    # p overtakes n2 (issued 10 min before it) but not n1 (waited 25 min)
    assert order == [n1.ticket_id, p.ticket_id, n2.ticket_id]


def test_priority_head_start_boundary_exactly_20_minutes(station, clock, config):
    open_windows(station, 2)
    n = station.issue(["id.apply"])                        # 09:00
    at(clock, config, 9, 20)
    p = station.issue(["id.apply"], priority="priority")   # placed at 09:00 too: the older ticket wins
    assert p.ahead == 1
    assert station.call_next(2).ticket_id == n.ticket_id
    station.complete(2)
    assert station.call_next(2).ticket_id == p.ticket_id


@pytest.mark.parametrize("minutes_later, first", [(5, "appointment"), (9, "appointment"), (11, "normal")])
def test_appointment_head_start_is_10_minutes(station, clock, minutes_later, first):
    open_windows(station, 3)
    n = station.issue(["ee.passport"])
    clock.advance(minutes=minutes_later)
    a = station.issue(["ee.passport"], priority="appointment", channel="appointment")
    assert ticket(station, a.ticket_id)["channel"] == "appointment"
    want = a.ticket_id if first == "appointment" else n.ticket_id
    assert station.call_next(3).ticket_id == want


def test_normal_ticket_never_starves_behind_a_stream_of_priority_tickets(station, clock):
    """A priority ticket arrives every minute and the window serves one every two minutes, so
    priority tickets pile up; the normal ticket is still called once it has waited 20 min."""
    open_windows(station, 2)
    normal = station.issue(["id.apply"])  # 09:00
    stream = []
    called = []
    for minute in range(60):
        stream.append(station.issue(["id.apply"], priority="priority").ticket_id)
        if minute % 2 == 0:
            if window(station, 2)["current_request_id"] is not None:
                station.complete(2)
            call = station.call_next(2)
            called.append(call.ticket_id)
            if call.ticket_id == normal.ticket_id:
                break
        clock.advance(minutes=1)
    assert called == stream[:20] + [normal.ticket_id]
    assert minute == 40  # called at 09:40: 20 min head start + the 20 tickets placed before it
    waiting_priority = q(station, "SELECT COUNT(*) AS n FROM requests WHERE state = 'waiting'")[0]["n"]
    assert waiting_priority == 21  # the stream had not dried up: the normal ticket was not just left over


def test_window_calls_only_services_it_serves(station, clock):
    open_windows(station, 2, 4)
    tr = station.issue(["tr.violation"])
    clock.advance(minutes=1)
    ee = station.issue(["ee.passport"])
    clock.advance(minutes=1)
    ida = station.issue(["id.apply"])
    call = station.call_next(2)
    assert (call.ticket_id, call.service, call.window) == (ida.ticket_id, "id.apply", 2)
    station.complete(2)
    refused(station, station.call_next, 2, error=NothingToCall)
    assert station.call_next(4).ticket_id == tr.ticket_id
    assert request(station, requests_of(station, ee.ticket_id)[0]["id"])["state"] == "waiting"


def test_second_errand_keeps_the_tickets_place(station, clock):
    open_windows(station, 2)
    t1 = station.issue(["id.apply", "ee.passport"])        # 09:00
    clock.advance(minutes=5)
    t2 = station.issue(["ee.passport"])                    # 09:05
    clock.advance(minutes=1)
    assert station.call_next(2).ticket_id == t1.ticket_id
    clock.advance(minutes=10)
    done = station.complete(2)  # window 2 does not serve passports: back to the queue, at 09:00
    assert done.continued is None
    second = requests_of(station, t1.ticket_id)[1]
    assert (second["state"], second["sort_key"]) == ("waiting", ticket(station, t1.ticket_id)["sort_key"])
    assert events(station, request_id=second["id"])[-1]["kind"] == "queued"
    assert events(station, request_id=second["id"])[-1]["detail"] == {"after": requests_of(station, t1.ticket_id)[0]["id"]}
    open_windows(station, 3)
    assert station.call_next(3).ticket_id == t1.ticket_id
    station.complete(3)
    assert station.call_next(3).ticket_id == t2.ticket_id


# -- one-stop -----------------------------------------------------------------------------


def test_one_stop_continues_at_the_same_window(station, clock):
    open_windows(station, 1)
    t1 = station.issue(["id.apply", "ee.passport", "tr.violation"])
    clock.advance(minutes=1)
    other = station.issue(["ee.passport"], priority="priority")  # placed before t1, yet t1 continues
    assert station.call_next(1).ticket_id == other.ticket_id
    station.complete(1)
    call = station.call_next(1)
    assert call.ticket_id == t1.ticket_id
    station.start(1)
    clock.advance(minutes=7)
    res = station.complete(1)
    first, second, third = requests_of(station, t1.ticket_id)
    assert res.as_dict() == {"completed": first["id"], "ticket": "A001",
                   "continued": {"ticket": "A001", "ticket_id": t1.ticket_id, "request_id": second["id"],
                                 "service": "ee.passport", "window": 1}}
    assert (first["state"], second["state"], second["window"], third["state"]) == ("done", "serving", 1, "pending")
    assert window(station, 1)["current_request_id"] == second["id"]
    evs = events(station, request_id=second["id"])
    assert [(e["kind"], e["window"], e["detail"]) for e in evs] == [
        ("pending", None, None), ("called", 1, {"continued": True}), ("started", 1, None)]
    res = station.complete(1)
    assert res.continued.service == "tr.violation"
    res = station.complete(1)
    assert res.continued is None
    assert states(station, t1.ticket_id) == [("id.apply", "done"), ("ee.passport", "done"), ("tr.violation", "done")]
    assert ticket(station, t1.ticket_id)["state"] == "closed"
    assert window(station, 1)["current_request_id"] is None


def test_one_stop_otherwise_joins_the_queue_then_continues_where_served(station, clock):
    open_windows(station, 2, 4)
    t1 = station.issue(["id.apply", "tr.violation", "tr.license_renew"])
    station.call_next(2)
    res = station.complete(2)
    assert res.continued is None
    assert states(station, t1.ticket_id) == [("id.apply", "done"), ("tr.violation", "waiting"), ("tr.license_renew", "pending")]
    assert window(station, 2)["current_request_id"] is None
    assert station.call_next(4).service == "tr.violation"
    assert station.complete(4).continued.service == "tr.license_renew"


# -- recall, no-show, reactivation, start, complete ---------------------------------------


def test_recall_up_to_the_limit_then_no_show(station):
    open_windows(station, 2)
    t = station.issue(["id.apply", "ee.passport"])
    call = station.call_next(2)
    for n in (1, 2, 3):
        assert station.recall(2).as_dict() == {"ticket": "A001", "request_id": call.request_id, "window": 2,
                                     "recalls": n, "no_show": False}
        assert request(station, call.request_id)["state"] == "called"
    assert station.recall(2).as_dict() == {"ticket": "A001", "request_id": call.request_id, "window": 2,
                                 "recalls": 3, "no_show": True}
    assert states(station, t.ticket_id) == [("id.apply", "no_show"), ("ee.passport", "no_show")]
    assert window(station, 2)["current_request_id"] is None
    assert ticket(station, t.ticket_id)["state"] == "closed"
    evs = events(station, request_id=call.request_id)
    assert [(e["kind"], e["detail"]) for e in evs] == [
        ("queued", None), ("called", None), ("recalled", {"count": 1}), ("recalled", {"count": 2}),
        ("recalled", {"count": 3}), ("no_show", {"automatic": True})]
    refused(station, station.recall, 2, match="nobody called")


def test_recalls_count_per_call(station):
    """A citizen sent back to the queue by a pausing window gets the full recalls at the next call."""
    open_windows(station, 1, 2)
    t = station.issue(["id.apply"])
    station.call_next(2)
    for _ in range(3):
        station.recall(2)
    station.set_window(2, "paused")
    assert station.call_next(1).ticket_id == t.ticket_id
    rid = requests_of(station, t.ticket_id)[0]["id"]
    assert station.recall(1).as_dict() == {"ticket": "A001", "request_id": rid, "window": 1, "recalls": 1, "no_show": False}
    assert station.recall(1).as_dict() == {"ticket": "A001", "request_id": rid, "window": 1, "recalls": 2, "no_show": False}
    assert request(station, rid)["recalls"] == 2


def test_explicit_no_show_takes_later_errands_with_it(station, clock):
    open_windows(station, 1)
    t = station.issue(["id.apply", "ee.passport", "tr.violation"])
    station.call_next(1)
    clock.advance(minutes=1)
    first_id = requests_of(station, t.ticket_id)[0]["id"]
    assert station.no_show(1).as_dict() == {"ticket": "A001", "request_id": first_id, "window": 1, "no_show": True}
    assert states(station, t.ticket_id) == [("id.apply", "no_show"), ("ee.passport", "no_show"), ("tr.violation", "no_show")]
    assert [(e["kind"], e["window"], e["detail"]) for e in events(station, kind="no_show")] == [
        ("no_show", 1, None), ("no_show", None, {"with": first_id}), ("no_show", None, {"with": first_id})]
    assert window(station, 1)["current_request_id"] is None
    assert ticket(station, t.ticket_id)["state"] == "closed"


def test_no_show_of_a_later_errand_keeps_the_done_ones(station):
    open_windows(station, 2, 3)
    t = station.issue(["id.apply", "ee.passport", "ee.hkmo_endorse"])
    station.call_next(2)
    station.complete(2)
    station.call_next(3)
    station.no_show(3)
    assert states(station, t.ticket_id) == [("id.apply", "done"), ("ee.passport", "no_show"), ("ee.hkmo_endorse", "no_show")]


def test_no_show_and_recall_refused_while_serving(station):
    open_windows(station, 2)
    station.issue(["id.apply"])
    station.call_next(2)
    station.start(2)
    refused(station, station.no_show, 2, match="already being served")
    refused(station, station.recall, 2, match="already being served: cannot recall")
    refused(station, station.start, 2, match="already being served: cannot start")
    refused(station, station.no_show, 3, match="nobody called")


def test_reactivation_within_30_minutes_keeps_the_place(station, clock, config):
    open_windows(station, 2)
    t1 = station.issue(["id.apply", "ee.passport"])        # 09:00
    at(clock, config, 9, 1)
    station.call_next(2)
    for _ in range(3):
        station.recall(2)
    at(clock, config, 9, 2)
    station.no_show(2)
    at(clock, config, 9, 5)
    t2 = station.issue(["id.apply"])                       # 09:05
    at(clock, config, 9, 32)                               # exactly 30 minutes after the no-show
    first, second = requests_of(station, t1.ticket_id)
    assert station.reactivate("a001").as_dict() == {"ticket": "A001", "ticket_id": t1.ticket_id,
                                          "request_id": first["id"], "service": "id.apply"}
    assert states(station, t1.ticket_id) == [("id.apply", "waiting"), ("ee.passport", "pending")]
    assert request(station, first["id"])["recalls"] == 0
    assert request(station, first["id"])["window"] is None
    assert ticket(station, t1.ticket_id)["state"] == "open"
    assert [(e["kind"], e["detail"]) for e in events(station, kind="reactivated")] == [("reactivated", None)]
    assert events(station, request_id=second["id"])[-1]["detail"] == {"reactivated": True}
    assert station.call_next(2).ticket_id == t1.ticket_id  # before t2, issued later
    station.complete(2)
    assert station.call_next(2).ticket_id == t2.ticket_id


def test_reactivation_after_30_minutes_is_refused(station, clock):
    open_windows(station, 2)
    station.issue(["id.apply"])
    station.call_next(2)
    station.no_show(2)
    clock.advance(minutes=30, seconds=1)
    refused(station, station.reactivate, "A001", match="missed its call 30 minutes ago, more than 30")


def test_reactivation_refused_for_tickets_that_were_not_no_shows(station):
    open_windows(station, 2)
    waiting = station.issue(["id.apply"])
    refused(station, station.reactivate, "A001", match="was not marked no-show")
    station.call_next(2)
    station.complete(2)
    refused(station, station.reactivate, str(waiting.ticket_id), match="was not marked no-show")
    refused(station, station.reactivate, "Z999", match="no ticket Z999 today")


def test_reactivation_refused_for_yesterdays_ticket(station, clock, config):
    at(clock, config, 23, 50)
    open_windows(station, 2)
    t = station.issue(["id.apply"])
    station.call_next(2)
    station.no_show(2)
    clock.advance(minutes=15)  # 00:05 next day, 15 minutes after the no-show
    station.issue(["ee.passport"])  # the day rolls
    refused(station, station.reactivate, str(t.ticket_id), match="is from 2026-11-23")


def test_start_then_complete_from_serving(station, clock):
    open_windows(station, 2)
    station.issue(["id.apply"])
    call = station.call_next(2)
    assert station.start(2).as_dict() == {"ticket": "A001", "request_id": call.request_id, "window": 2, "service": "id.apply"}
    assert request(station, call.request_id)["state"] == "serving"
    clock.advance(minutes=6)
    assert station.complete(2).as_dict() == {"completed": call.request_id, "ticket": "A001", "continued": None}
    assert kinds(station, request_id=call.request_id) == ["queued", "called", "started", "done"]
    refused(station, station.complete, 2, match="nobody called")


def test_complete_from_called_starts_implicitly(station):
    open_windows(station, 2)
    station.issue(["id.apply"])
    call = station.call_next(2)
    station.complete(2)
    assert request(station, call.request_id)["state"] == "done"
    assert [(e["kind"], e["window"]) for e in events(station, request_id=call.request_id)] == [
        ("queued", None), ("called", 2), ("started", 2), ("done", 2)]


# -- transfer -----------------------------------------------------------------------------


def test_transfer_to_a_window(station, clock):
    open_windows(station, 1, 2, 3)
    t1 = station.issue(["id.apply", "ee.passport"])        # 09:00
    clock.advance(minutes=1)
    t2 = station.issue(["id.apply"])                       # 09:01
    call = station.call_next(2)
    assert call.ticket_id == t1.ticket_id
    res = station.transfer(2, to_window=3)
    old = request(station, call.request_id)
    new = request(station, res.request_id)
    assert res.as_dict() == {"transferred": call.request_id, "request_id": new["id"], "ticket": "A001",
                   "service": "id.apply", "to_window": 3}
    assert old["state"] == "transferred"
    assert (new["state"], new["service"], new["target_window"], new["position"], new["sort_key"], new["transferred_from"]) == (
        "waiting", "id.apply", 3, 1, old["sort_key"], old["id"])
    assert window(station, 2)["current_request_id"] is None
    assert [(e["kind"], e["request_id"], e["window"], e["detail"]) for e in events(station)[-2:]] == [
        ("transferred", old["id"], 2, {"to_request": new["id"], "to_service": None, "to_window": 3}),
        ("queued", new["id"], None, {"from_request": old["id"], "to_window": 3}),
    ]
    # windows 1 and 2 serve id.apply too, but only window 3 may call the transferred errand
    assert station.call_next(1).ticket_id == t2.ticket_id
    refused(station, station.call_next, 2, error=NothingToCall)
    call3 = station.call_next(3)
    assert (call3.ticket_id, call3.request_id) == (t1.ticket_id, new["id"])
    assert request(station, new["id"])["target_window"] is None
    # the rest of the ticket still follows: window 3 serves passports, so it continues there
    assert station.complete(3).continued.service == "ee.passport"


def test_transfer_to_a_window_keeps_the_place_there(station, clock):
    open_windows(station, 2, 3)
    t1 = station.issue(["id.apply"])                       # 09:00
    clock.advance(minutes=1)
    t2 = station.issue(["id.apply"], priority="appointment")  # placed at 08:51, before t1
    clock.advance(minutes=1)
    t3 = station.issue(["id.loss_report"])                 # 09:02
    assert station.call_next(2).ticket_id == t2.ticket_id
    station.complete(2)
    assert station.call_next(2).ticket_id == t1.ticket_id
    clock.advance(minutes=30)  # the transfer happens long after t3 was issued
    station.transfer(2, to_window=3)
    assert station.call_next(3).ticket_id == t1.ticket_id  # before t3, issued after t1
    station.complete(3)
    assert station.call_next(3).ticket_id == t3.ticket_id


def test_transfer_refusals(station):
    open_windows(station, 1, 2)
    station.issue(["id.apply"])
    station.call_next(2)
    refused(station, station.transfer, 2, to_window=4, match="window 4 does not serve")
    refused(station, station.transfer, 2, to_window=2, match="already at window 2")
    refused(station, station.transfer, 2, to_window=3, match="window 3 is closed")
    refused(station, station.transfer, 2, to_window=9, match="there is no window 9")
    refused(station, station.transfer, 2, match="exactly one of")
    refused(station, station.transfer, 2, to_window=1, to_service="ee.passport", match="exactly one of")
    refused(station, station.transfer, 2, to_service="id.nope", match='unknown service "id.nope"')
    refused(station, station.transfer, 2, to_service="id.apply", match="already for")
    refused(station, station.transfer, 1, to_window=2, match="nobody called")


def test_closing_the_target_window_releases_the_transferred_errand(station, clock):
    open_windows(station, 1, 2, 3)
    t = station.issue(["id.apply"])
    call = station.call_next(2)
    res = station.transfer(2, to_window=3)
    refused(station, station.call_next, 1, error=NothingToCall)
    clock.advance(minutes=1)
    assert station.set_window(3, "closed").as_dict() == {"window": 3, "state": "closed", "changed": True}
    assert request(station, res.request_id)["target_window"] is None
    assert request(station, res.request_id)["state"] == "waiting"
    assert [(e["kind"], e["request_id"], e["window"], e["detail"]) for e in events(station)[-2:]] == [
        ("retargeted", res.request_id, 3, {"reason": "window closed"}),
        ("window_close", None, 3, None),
    ]
    call1 = station.call_next(1)
    assert (call1.ticket_id, call1.request_id) == (t.ticket_id, res.request_id)
    assert call.request_id != call1.request_id


def test_transfer_to_a_service(station, clock):
    open_windows(station, 2, 3)
    t1 = station.issue(["id.apply", "id.loss_report"])     # 09:00
    clock.advance(minutes=1)
    t2 = station.issue(["ee.passport"])                    # 09:01
    call = station.call_next(2)
    station.start(2)
    res = station.transfer(2, to_service="ee.passport")
    new = request(station, res.request_id)
    assert res.as_dict() == {"transferred": call.request_id, "request_id": new["id"], "ticket": "A001",
                   "service": "ee.passport", "to_window": None}
    assert (new["state"], new["service"], new["target_window"], new["position"], new["sort_key"], new["transferred_from"]) == (
        "waiting", "ee.passport", None, 1, ticket(station, t1.ticket_id)["sort_key"], call.request_id)
    assert states(station, t1.ticket_id) == [("id.apply", "transferred"), ("ee.passport", "waiting"),
                                             ("id.loss_report", "pending")]
    assert events(station, kind="transferred")[0]["detail"] == {"to_request": new["id"], "to_service": "ee.passport",
                                                                "to_window": None}
    assert station.call_next(3).ticket_id == t1.ticket_id  # keeps its place before t2
    assert station.complete(3).continued.service == "id.loss_report"
    station.complete(3)
    assert station.call_next(3).ticket_id == t2.ticket_id


# -- cancel -------------------------------------------------------------------------------


def test_cancel_a_waiting_ticket(station):
    t = station.issue(["id.apply", "ee.passport"])
    ids = [r["id"] for r in requests_of(station, t.ticket_id)]
    assert station.cancel("A001").as_dict() == {"ticket": "A001", "ticket_id": t.ticket_id, "cancelled": ids}
    assert states(station, t.ticket_id) == [("id.apply", "cancelled"), ("ee.passport", "cancelled")]
    assert ticket(station, t.ticket_id)["state"] == "closed"
    assert kinds(station, kind="cancelled") == ["cancelled", "cancelled"]
    refused(station, station.cancel, "A001", match="no errand left to cancel")
    refused(station, station.cancel, "A002", match="no ticket A002 today")
    refused(station, station.cancel, "999", match="no ticket with id 999")


def test_cancel_at_a_window_frees_the_window(station):
    open_windows(station, 1)
    t = station.issue(["id.apply", "ee.passport"])
    station.issue(["id.apply"])
    call = station.call_next(1)
    station.start(1)
    station.cancel(str(t.ticket_id))
    assert window(station, 1)["current_request_id"] is None
    assert [(e["kind"], e["request_id"], e["window"]) for e in events(station, kind="cancelled")] == [
        ("cancelled", call.request_id, 1), ("cancelled", requests_of(station, t.ticket_id)[1]["id"], None)]
    assert station.call_next(1).ticket == "A002"


# -- windows ------------------------------------------------------------------------------


def test_open_pause_close_and_repeated_open(station):
    assert station.set_window(2, "open").as_dict() == {"window": 2, "state": "open", "changed": True}
    n = len(events(station))
    assert station.set_window(2, "open").as_dict() == {"window": 2, "state": "open", "changed": False}
    assert len(events(station)) == n
    assert station.set_window(2, "paused").as_dict() == {"window": 2, "state": "paused", "changed": True}
    assert station.set_window(2, "closed").as_dict() == {"window": 2, "state": "closed", "changed": True}
    assert [(e["kind"], e["window"]) for e in events(station)] == [
        ("window_open", 2), ("window_pause", 2), ("window_close", 2)]
    refused(station, station.set_window, 2, "broken", match='not "broken"')
    refused(station, station.set_window, 7, "open", match="there is no window 7")


@pytest.mark.parametrize("state", ["paused", "closed"])
def test_pausing_or_closing_returns_the_called_ticket_to_its_place(station, clock, state):
    open_windows(station, 1, 2)
    t1 = station.issue(["id.apply"])
    clock.advance(minutes=1)
    t2 = station.issue(["id.apply"])
    call = station.call_next(2)
    assert call.ticket_id == t1.ticket_id
    assert station.set_window(2, state).changed is True
    r = request(station, call.request_id)
    assert (r["state"], r["window"], r["target_window"]) == ("waiting", None, None)
    assert window(station, 2)["current_request_id"] is None
    kind = {"paused": "window_pause", "closed": "window_close"}[state]
    assert [(e["kind"], e["request_id"], e["window"], e["detail"]) for e in events(station)[-2:]] == [
        ("returned", call.request_id, 2, {"reason": f"window {state}"}), (kind, None, 2, None)]
    assert station.call_next(1).ticket_id == t1.ticket_id
    station.complete(1)
    assert station.call_next(1).ticket_id == t2.ticket_id


@pytest.mark.parametrize("state", ["paused", "closed"])
def test_pausing_or_closing_while_serving_is_refused(station, state):
    open_windows(station, 2)
    station.issue(["id.apply"])
    station.call_next(2)
    station.start(2)
    refused(station, station.set_window, 2, state, match="is serving A001")


def test_call_refusals(station):
    station.issue(["id.apply"])
    refused(station, station.call_next, 2, match="window 2 is closed")
    station.set_window(2, "paused")
    refused(station, station.call_next, 2, match="window 2 is paused")
    refused(station, station.call_next, 8, match="there is no window 8")
    station.set_window(2, "open")
    station.issue(["id.apply"])
    station.call_next(2)
    refused(station, station.call_next, 2, match=r"window 2 still has A001 \(called\)")
    station.start(2)
    refused(station, station.call_next, 2, match=r"window 2 still has A001 \(serving\)")
    station.complete(2)
    station.call_next(2)
    station.complete(2)
    refused(station, station.call_next, 2, error=NothingToCall)
    assert issubclass(NothingToCall, CabinError)


# -- estimated wait -----------------------------------------------------------------------


def test_estimate_uses_config_minutes_and_all_windows_when_none_is_open(station, config):
    # id.apply: 7 minutes; served by windows 1, 2 and 3, none open: all three are expected
    assert config.services["id.apply"].minutes == 7
    assert config.windows_serving("id.apply") == [1, 2, 3]
    waits = [station.issue(["id.apply"]) for _ in range(4)]
    assert [(w.ahead, w.estimated_wait_min) for w in waits] == [(0, 0.0), (1, 2.3), (2, 4.7), (3, 7.0)]


def test_estimate_divides_by_the_open_windows_for_the_service(station, config):
    station.set_window(2, "open")
    station.set_window(4, "open")  # does not serve id.apply
    for _ in range(3):
        station.issue(["id.apply"])
    assert station.issue(["id.apply"]).estimated_wait_min == 21.0  # 3 ahead x 7 min / 1 window
    station.set_window(1, "open")
    assert station.issue(["id.apply"]).estimated_wait_min == 14.0  # 4 x 7 / 2
    assert station.queue_state().estimated_wait_min["id.apply"] == 17.5  # 5 waiting x 7 / 2
    assert station.queue_state().estimated_wait_min["ee.passport"] == 0.0
    station.set_window(1, "paused")  # a paused window does not count
    assert station.queue_state().estimated_wait_min["id.apply"] == 35.0  # 5 x 7 / 1


def test_estimate_uses_the_mean_of_recent_service_times_once_three_exist(station, clock):
    open_windows(station, 2)
    for _ in range(8):
        station.issue(["id.apply"])
    assert station.queue_state().waiting == {"id.apply": 8}
    serve(station, clock, 2, 3)
    assert station.queue_state().estimated_wait_min["id.apply"] == 49.0  # 7 x 7: config minutes
    serve(station, clock, 2, 5)
    assert station.queue_state().estimated_wait_min["id.apply"] == 42.0  # 6 x 7: still config
    clock.advance(minutes=30)  # the time between services does not count
    serve(station, clock, 2, 10)
    assert station.queue_state().estimated_wait_min["id.apply"] == 30.0  # 5 x mean(3, 5, 10) = 5 x 6
    # only the service's own times count
    with station.store.read() as conn:
        assert estimate.typical_minutes(conn, station.config, "id.apply", "2026-11-23") == 6.0
        assert estimate.typical_minutes(conn, station.config, "id.temporary", "2026-11-23") == 8.0
    # a second open window halves it
    station.set_window(3, "open")
    assert station.queue_state().estimated_wait_min["id.apply"] == 15.0
    assert station.issue(["id.apply"]).estimated_wait_min == 15.0  # 5 ahead x 6 / 2


def test_estimate_keeps_only_the_last_20_service_times_of_today(station, clock):
    open_windows(station, 2)
    for _ in range(22):
        station.issue(["id.apply"])
    serve(station, clock, 2, 60)     # the oldest: falls out of the window of 20
    for _ in range(20):
        serve(station, clock, 2, 4)
    with station.store.read() as conn:
        assert estimate.typical_minutes(conn, station.config, "id.apply", "2026-11-23") == 4.0
        assert estimate.typical_minutes(conn, station.config, "id.apply", "2026-11-24") == 7.0  # a new day


# -- events -------------------------------------------------------------------------------


def test_every_state_change_writes_its_event(station, clock):
    open_windows(station, 1, 2, 3, 4)                                     # window_open x4
    t1 = station.issue(["id.apply", "ee.passport", "tr.violation"])       # issued, queued, pending x2
    t2 = station.issue(["id.apply"])                                      # issued, queued
    t3 = station.issue(["tr.violation"])                                  # issued, queued
    station.call_next(2)                                                  # called (t1)
    station.recall(2)                                                     # recalled
    station.start(2)                                                      # started
    clock.advance(minutes=5)
    station.complete(2)                                                   # done; queued (t1 passport)
    station.call_next(3)                                                  # called (t1 passport)
    station.complete(3)                                                   # started, done; queued (t1 tr)
    station.call_next(4)                                                  # called (t1 tr)
    station.transfer(4, to_service="tr.license_renew")                    # transferred, queued
    station.call_next(2)                                                  # called (t2)
    station.no_show(2)                                                    # no_show
    station.reactivate("A002")                                            # reactivated
    station.cancel("A002")                                                # cancelled
    station.call_next(1)                                                  # called (t1 renew)
    station.set_window(1, "paused")                                       # returned, window_pause
    station.call_next(4)                                                  # called (t1 renew)
    station.complete(4)                                                   # started, done
    station.call_next(4)                                                  # called (t3)
    at_midnight = datetime(2026, 11, 24, 0, 1, tzinfo=station.tz)
    clock.set(at_midnight)
    station.issue(["id.apply"])                                           # expired (t3); window_close x4; issued, queued
    assert Counter(kinds(station)) == Counter({
        "window_open": 4, "issued": 4, "queued": 7, "pending": 2, "called": 7, "recalled": 1,
        "started": 3, "done": 3, "transferred": 1, "no_show": 1, "reactivated": 1, "cancelled": 1,
        "returned": 1, "window_pause": 1, "expired": 1, "window_close": 4,
    })
    assert states(station, t1.ticket_id) == [("id.apply", "done"), ("ee.passport", "done"),
                                             ("tr.violation", "transferred"), ("tr.license_renew", "done")]
    assert states(station, t2.ticket_id) == [("id.apply", "cancelled")]
    assert states(station, t3.ticket_id) == [("tr.violation", "expired")]
    # every event of the operation carries the operation's time and day
    assert {(e["at"], e["day"]) for e in events(station)[-7:]} == {(to_ms(at_midnight), "2026-11-24")}


def test_an_operation_is_one_transaction(station, monkeypatch):
    """If an operation fails halfway, neither its rows nor its events stay."""
    from cabin.queue import engine

    open_windows(station, 2)
    station.issue(["id.apply", "ee.passport"])
    station.call_next(2)

    def power_cut(self, tx, ticket_id):
        raise RuntimeError("power cut")

    # no_show has updated two requests and written two events when it gets there
    monkeypatch.setattr(engine.Station, "_close_ticket_if_finished", power_cut)
    before = counts(station)
    with pytest.raises(RuntimeError):
        station.no_show(2)
    assert counts(station) == before
    monkeypatch.undo()
    station.no_show(2)
    assert len(events(station)) == before["events"] + 2


def test_events_are_append_only(station):
    station.issue(["id.apply"])
    conn = sqlite3.connect(station.store.path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
        conn.execute("UPDATE events SET kind = 'done'")
    with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
        conn.execute("DELETE FROM events")
    conn.close()
    assert kinds(station) == ["issued", "queued"]


def test_service_without_a_start_is_timed_from_the_call(station, clock):
    """A clerk who never presses start must not drive the estimate (and the figures) to zero."""
    from cabin.queue.reports.figures import day_figures

    station.set_window(2, "open")
    for _ in range(3):
        station.issue(["id.found_card"])
    for _ in range(3):
        station.call_next(2)
        clock.advance(minutes=5)
        station.complete(2)  # no start
    with station.store.read() as conn:
        assert estimate.typical_minutes(conn, station.config, "id.found_card", "2026-11-23") == 5.0
        figures = day_figures(conn, station.config, "2026-11-23")
    assert figures["service_p50_min"] == 5.0
    assert figures["errands_done"] == 3


def test_ticket_references(station):
    a = station.issue(["id.apply"])
    assert station.show_ticket("ａ００１").ticket_id == a.ticket_id  # full-width, lower case
    assert station.show_ticket(f" {a.ticket_id} ").ticket == "A001"
    for bad in ["", "99999999999999999999999", "A1234567", "AB1", "A-1"]:
        with pytest.raises(CabinError, match="is not a ticket"):
            station.show_ticket(bad)
    with pytest.raises(CabinError, match="no ticket A002 today"):
        station.show_ticket("A002")


def test_queue_after_midnight_before_any_operation(station, clock):
    open_windows(station, 2)
    station.issue(["id.apply"])
    station.call_next(2)
    clock.set(datetime(2026, 11, 24, 0, 5, tzinfo=clock.tz))
    q = station.queue_state()
    assert q.day == "2026-11-24" and q.waiting == {}
    assert all(w.state == "closed" and w.current is None for w in q.windows)


def test_issue_runs_its_record_inside_the_ticket_s_transaction(station):
    """The record hook sees the ticket it is issued with; a refusal from it issues nothing."""
    seen = []

    def record(conn, issued, now):
        row = conn.execute("SELECT number, priority, channel FROM tickets WHERE id = ?", (issued["ticket_id"],)).fetchone()
        seen.append((tuple(row), issued["ticket"], issued["services"], now))

    t = station.issue(["id.apply"], priority="appointment", channel="appointment", record=record)
    assert seen == [((t.ticket, "appointment", "appointment"), t.ticket, ["id.apply"], station.clock.now_ms())]
    before = counts(station)

    def refuse(conn, issued, now):
        raise CabinError("not this one")

    with pytest.raises(CabinError, match="not this one"):
        station.issue(["id.apply"], record=refuse)
    assert counts(station) == before  # no ticket, errand or event
    assert station.issue(["id.apply"]).ticket == "A002"  # its number was not used
