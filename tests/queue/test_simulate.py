"""The simulated day and the day's figures."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from cabin.queue.errors import CabinError
from cabin.queue.reports.figures import STATE_AFTER, day_figures, percentile
from cabin.queue.simulate import capacity_citizens, last_open_day, simulate_day, simulate_into
from cabin.queue.store import Store

from clikit import run_cli

MONDAY = "2026-11-23"


def dump(store: Store) -> dict:
    with store.read() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")]
                for t in ("tickets", "requests", "events", "windows")}


def test_same_seed_same_day(tmp_path, config):
    a, b, c = (Store(tmp_path / f"{n}.sqlite", durable=False) for n in "abc")
    fa = simulate_day(a, config, MONDAY, 120, seed=7)
    fb = simulate_day(b, config, MONDAY, 120, seed=7)
    simulate_day(c, config, MONDAY, 120, seed=8)
    assert fa == fb
    assert dump(a) == dump(b)
    assert dump(a)["events"] != dump(c)["events"]


def test_a_day_looks_like_a_day(tmp_path, config):
    store = Store(tmp_path / "day.sqlite", durable=False)
    citizens = capacity_citizens(config, MONDAY)
    f = simulate_day(store, config, MONDAY, citizens, seed=1)
    assert f["tickets_issued"] == citizens
    # about one ticket in five has two or more errands
    assert 0.12 <= f["multi_errand_tickets"] / citizens <= 0.30
    # requests by their last state: the errands asked for, plus one more per transfer
    finals = (f["errands_done"] + f["errands_no_show"] + f["errands_cancelled"] + f["errands_transferred"]
              + f["errands_expired"] + f["errands_open"])
    assert finals == f["errands_requested"] + f["errands_transferred"]
    assert f["errands_open"] == 0  # at 85 % load the windows finish the day
    assert f["errands_done"] > 0.9 * f["errands_requested"]
    with store.read() as conn:
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM events")}
        hours = sorted({datetime.fromtimestamp(at / 1000, config.station.tz).hour
                        for (at,) in conn.execute("SELECT at FROM events WHERE kind = 'issued'")})
    assert {"issued", "queued", "pending", "called", "started", "done", "recalled", "no_show",
            "cancelled", "transferred", "window_open", "window_close"} <= kinds
    assert hours[0] == 8 and hours[-1] == 17  # Monday opens 08:30-12:00 and 14:30-17:30
    assert 12 not in hours and 13 not in hours
    # every window closed at the end, nobody left at a window
    assert all(w["state"] == "closed" and w["current_request_id"] is None
               for w in map(dict, Store(tmp_path / "day.sqlite").conn.execute("SELECT * FROM windows")))


def test_refusals(tmp_path, config):
    store = Store(tmp_path / "r.sqlite", durable=False)
    simulate_day(store, config, MONDAY, 20, seed=1)
    with pytest.raises(CabinError, match="already has tickets"):
        simulate_day(store, config, MONDAY, 20, seed=1)
    with pytest.raises(CabinError, match="already reached"):
        simulate_day(store, config, "2026-11-20", 20, seed=1)
    with pytest.raises(CabinError, match="closed on 2026-11-29"):
        simulate_day(store, config, "2026-11-29", 20, seed=1)  # a Sunday
    with pytest.raises(CabinError, match="between 1 and"):
        simulate_day(store, config, "2026-11-24", 0, seed=1)
    assert last_open_day(config, "2026-11-29") == "2026-11-28"  # Saturday opens in the morning


def test_overload_leaves_the_rest_to_the_close_out(tmp_path, config):
    store = Store(tmp_path / "o.sqlite", durable=False)
    f = simulate_day(store, config, MONDAY, 900, seed=2)
    assert f["errands_open"] > 0  # more than four windows can serve, even with two hours overtime
    simulate_day(store, config, "2026-11-24", 10, seed=2)
    with store.read() as conn:
        again = day_figures(conn, config, MONDAY)
    assert again["errands_open"] == 0
    assert again["errands_expired"] == f["errands_open"]


def test_figures_of_a_hand_computed_day(station, clock):
    """Three tickets with known times; every figure checked by hand."""
    station.set_window(2, "open")
    station.set_window(3, "open")
    a = station.issue(["id.temporary", "id.apply"])          # 09:00
    clock.advance(minutes=2)
    b = station.issue(["id.apply", "ee.passport"])           # 09:02
    clock.advance(minutes=1)
    station.issue(["id.loss_report"])                        # 09:03 (C)
    clock.advance(minutes=2)
    station.call_next(2)                                     # 09:05 A: waited 5
    station.start(2)
    station.call_next(3)                                     # 09:05 B id.apply: waited 3
    station.start(3)
    clock.advance(minutes=6)
    r = station.complete(2)                                  # 09:11 A temporary done (6); A apply continues at 2
    assert r.continued.ticket == a.ticket
    clock.advance(minutes=4)
    station.complete(2)                                      # 09:15 A apply done (4)
    r = station.complete(3)                                  # 09:15 B apply done (10); passport continues at 3
    assert r.continued.ticket == b.ticket
    clock.advance(minutes=25)
    station.call_next(2)                                     # 09:40 C: waited 37
    clock.advance(minutes=3)
    station.complete(2)                                      # 09:43 C done (3, from the call)
    station.transfer(3, to_service="ee.hkmo_permit")         # 09:43 B passport -> hkmo permit
    clock.advance(minutes=1)
    station.call_next(3)                                     # 09:44 B hkmo: waited 1
    station.no_show(3)
    with station.store.read() as conn:
        f = day_figures(conn, station.config, "2026-11-23")
    assert f["tickets_issued"] == 3
    assert f["errands_requested"] == 5
    assert f["errands_done"] == 4 and f["errands_no_show"] == 1 and f["errands_transferred"] == 1
    assert f["calls"] == 4  # waits 5, 3, 37, 1
    assert f["wait_p50_min"] == 3.0 and f["wait_p90_min"] == 37.0 and f["wait_max_min"] == 37.0
    assert f["sla_share"] == 0.75
    # service times 6, 4, 10, 3 (and the continuation at 3 was transferred, not done)
    assert f["service_p50_min"] == 4.0 and f["service_p90_min"] == 10.0
    assert f["multi_errand_tickets"] == 2
    assert f["one_stop_tickets"] == 1 and f["one_stop_share"] == 0.5  # A; B did not finish


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([4], 0.9) == 4
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile([1, 2, 3, 4], 0.9) == 4
    assert percentile(list(range(1, 11)), 0.9) == 9


def test_every_request_event_kind_has_a_state():
    assert set(STATE_AFTER.values()) == {"pending", "waiting", "called", "serving", "done", "no_show",
                                         "cancelled", "transferred", "expired"}


def cabin(*args, env):
    return run_cli(args, env=env, cwd=Path(__file__).parent)


def test_cli_simulate_and_demo(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), CABIN_DB=str(tmp_path / "s.sqlite"))
    r = cabin("simulate", "--day", MONDAY, "--citizens", "40", "--seed", "3", "--json", env=env)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["day"] == MONDAY and f["tickets_issued"] == 40
    r = cabin("simulate", "--day", MONDAY, "--citizens", "40", env=env)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "already has tickets" in r.stderr
    r = cabin("simulate", "--day", "23/11/2026", "--citizens", "40", env=env)
    assert r.returncode == 1 and "not a date" in r.stderr
    r = cabin("demo", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "xdg" / "cabin" / "demo.sqlite").exists()
    assert "tickets" in r.stdout and "wait p50" in r.stdout


def test_a_real_station_database_is_never_simulated_into(station, config):
    station.issue(["id.apply"])  # a real ticket
    with pytest.raises(CabinError, match="holds a real station's tickets"):
        simulate_day(station.store, config, "2026-11-24", 10, seed=1)


def test_a_day_simulated_on_a_server_is_the_day_simulated_in_a_file(tmp_path, pg_url, config):
    """`cabin simulate` into a PostgreSQL store: the same seed and day give the same rows, ids and
    all, as into an SQLite file; its refusals name the server by its URL."""
    pgstore = pytest.importorskip("cabin.queue.pgstore")
    with Store(tmp_path / "day.sqlite", durable=False) as file, pgstore.PgStore(pg_url) as server:
        simulate_into(server, config, MONDAY, 60, seed=3)
        simulate_into(file, config, MONDAY, 60, seed=3)
        assert dump(server) == dump(file)
        with pytest.raises(CabinError, match=f"already has tickets in {server.where}"):
            simulate_into(server, config, MONDAY, 10, seed=3)
        simulate_into(server, config, "2026-11-24", 10, seed=3)  # marked simulated: a second day goes in
        with server.read() as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()[0] == "1"
