"""The queue engine (queue/engine.py) on the PostgreSQL store gives what it gives on SQLite.

One flow of the counter's day — windows opened, tickets of several errands, calls, recalls up to a
no-show, the one-stop continuation, a transfer to a window and to a service, a cancel, a reactivation,
the wait estimates from served times and the close-out at midnight — runs on each store; every
result, the queue's state, each ticket and the event log must be the same, ids included."""

from __future__ import annotations

from datetime import datetime

import pytest

from cabin.kiosk.business.migrations import migrations as kiosk_migrations
from cabin.queue.clock import ManualClock
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, NothingToCall

pgstore = pytest.importorskip("cabin.queue.pgstore", reason="psycopg not installed (pip install 'cabin[postgres]')")

EVENT_COLUMNS = 'id, at, day, kind, ticket_id, request_id, service, "window", clerk, detail'


def refusal(fn, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
    except CabinError as exc:
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError(f"{fn.__name__} was not refused")


def flow(station: Station, clock: ManualClock) -> list:
    """The same operations on any store; what each returned (or refused), in order."""
    said: list = []

    def do(fn, *args, **kwargs):
        """A refusal is a result too: both stores must refuse alike."""
        try:
            said.append(fn(*args, **kwargs).as_dict())
        except CabinError as exc:
            said.append(f"{fn.__name__} refused: {exc}")

    for number in (1, 2, 3, 4):
        do(station.set_window, number, "open")
    do(station.issue, ["id.apply", "id.loss_report"])
    do(station.issue, ["tr.violation", "id.apply", "ee.passport"], priority="priority")
    do(station.issue, ["id.cross_region"], channel="counter")
    do(station.issue, ["id.temporary", "tr.license_renew"], priority="appointment")
    do(station.issue, ["ee.passport"])
    said.append(refusal(station.issue, ["no.such"]))
    # three id.apply tickets, served below: their service times make the estimate
    for _ in range(3):
        clock.advance(minutes=1)
        do(station.issue, ["id.apply"])
    clock.advance(minutes=1)
    do(station.call_next, 2)
    do(station.start, 2)
    clock.advance(minutes=5)
    do(station.complete, 2)  # window 2 does not serve the second errand: it joins the queue
    missed = station.call_next(4)
    said.append(missed.as_dict())
    do(station.recall, 4)
    do(station.recall, 4)
    do(station.recall, 4)
    do(station.recall, 4)  # past the limit: a no-show
    do(station.reactivate, str(missed.ticket_id))
    do(station.call_next, 3)
    do(station.no_show, 3)
    do(station.call_next, 1)
    do(station.transfer, 1, to_window=4)
    do(station.call_next, 3)
    do(station.transfer, 3, to_service="ee.passport")
    do(station.call_next, 1)
    do(station.start, 1)
    clock.advance(minutes=3)
    do(station.complete, 1)
    for minutes in (4, 6, 8):
        try:
            call = station.call_next(2)
        except NothingToCall as exc:
            said.append(str(exc))
            break
        said.append(call.as_dict())
        do(station.start, 2)
        clock.advance(minutes=minutes)
        do(station.complete, 2)
    # one-stop: the second errand continues at the window that served the first
    do(station.issue, ["id.found_card", "id.loss_report"])
    do(station.call_next, 2)
    do(station.complete, 2)
    clock.advance(minutes=2)
    do(station.complete, 2)
    # the estimate now from the three served times of id.apply, not the config's minutes
    do(station.issue, ["id.apply"])
    do(station.issue, ["id.apply", "tr.violation"])
    do(station.outlook, "A009")
    do(station.set_window, 4, "paused")
    do(station.cancel, "3")
    said.append(refusal(station.cancel, "3"))
    said.append(refusal(station.call_next, 4))
    do(station.queue_state)
    do(station.show_ticket, "C001")
    for ticket_id in range(1, 12):
        do(station.show_ticket, str(ticket_id))
        do(station.outlook, str(ticket_id))
    # midnight: what is left open expires, the windows close, numbering starts again
    clock.set(datetime(2026, 11, 24, 8, 30, tzinfo=station.tz))
    do(station.queue_state)
    do(station.issue, ["id.apply"])
    do(station.queue_state)
    do(station.show_ticket, "1")
    with station.store.read() as conn:
        said.append([tuple(r) for r in conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id")])
        said.append([tuple(r) for r in conn.execute("SELECT key, value FROM meta WHERE key = 'day'")])
    return said


def test_the_engine_gives_the_same_results_on_postgresql_as_on_sqlite(station, config, clock, pg_url):
    start = clock.now_ms()
    on_sqlite = flow(station, clock)
    clock.set(start)
    with pgstore.PgStore(pg_url, migration_sets=(kiosk_migrations,)) as pg:
        on_postgres = flow(Station(pg, config, clock), clock)
    assert len(on_postgres) == len(on_sqlite)
    for i, (pg_said, sqlite_said) in enumerate(zip(on_postgres, on_sqlite)):
        assert pg_said == sqlite_said, f"step {i} differs"
        assert repr(pg_said) == repr(sqlite_said), f"step {i} differs in order"  # a dict's keys too
    events = on_sqlite[-2]
    kinds = {e[3] for e in events}
    # the flow reached every rule it meant to
    assert {"issued", "called", "recalled", "no_show", "reactivated", "started", "done", "transferred",
            "cancelled", "expired", "window_open", "window_pause", "window_close"} <= kinds
    assert any('"continued": true' in (e[9] or "") for e in events)
