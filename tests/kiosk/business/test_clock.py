"""One clock (queue/clock.py): the services, the CLI's commands and the faces take the time from
the station's clock, so a fixed clock shows in what they say; only SystemClock reads the wall."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from cabin.kiosk.identity import check_character
from cabin.kiosk.business.intake import Intake
from cabin.kiosk.cli.app import Context, build_parser
from cabin.kiosk.faces.base import StationLink
from cabin.queue.clock import ManualClock, SystemClock, local_date
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError

# born on 2026-11-24, the day after the fixtures' Monday 2026-11-23
FIRST17 = "35020620261124001"
BORN_TOMORROW = FIRST17 + check_character(FIRST17)


def test_local_date_is_the_days_date_in_the_station_zone(config):
    tz = config.station.tz
    ms = round(datetime(2026, 11, 23, 23, 30, tzinfo=tz).timestamp() * 1000)
    assert local_date(ms, tz).isoformat() == "2026-11-23"
    assert SystemClock().tz is None and SystemClock(tz).tz is tz


def test_intake_checks_the_number_on_the_stations_day(kiosk_store, config, clock, staff):
    clerk = staff[0]
    station = Station(kiosk_store, config, clock)
    station.set_window(3, "open")
    station.issue(["ee.passport"])
    station.call_next(3)
    with pytest.raises(CabinError, match="future"):  # not born yet on the fixed clock's day
        Intake(station, config).record(3, by=clerk, number=BORN_TOMORROW, documents_checked=True)
    clock.advance(minutes=24 * 60 * 2)  # a new day: the queue starts afresh
    station.set_window(3, "open")
    station.issue(["ee.passport"])
    station.call_next(3)
    r = Intake(station, config).record(3, by=clerk, number=BORN_TOMORROW, documents_checked=True)
    assert r["receipt"] == "EE-20261125-0001"


def run_cli(argv: list[str], clock, capsys) -> tuple[int, dict]:
    args = build_parser().parse_args(argv)
    args.db, args.config = getattr(args, "db", None), getattr(args, "config", None)
    ctx = Context(args, clock=clock)
    try:
        code = args.func(ctx)
    finally:
        ctx.close()
    return code, json.loads(capsys.readouterr().out)


def test_the_cli_takes_today_from_the_contexts_clock(clock, capsys):
    code, out = run_cli(["id", "check", BORN_TOMORROW, "--json"], clock, capsys)
    assert code == 1 and out["valid"] is False and "future" in out["reason"]
    later = ManualClock(clock.tz, datetime(2026, 11, 25, 9, 0, tzinfo=clock.tz))
    code, out = run_cli(["id", "check", BORN_TOMORROW, "--json"], later, capsys)
    assert code == 0 and out["valid"] is True and out["birth"] == "2026-11-24"


def test_the_cli_context_runs_on_the_wall_clock_unless_given_one(clock):
    args = build_parser().parse_args(["id", "check", BORN_TOMORROW])
    assert isinstance(Context(args).clock, SystemClock)
    assert Context(args, clock=clock).clock is clock


def test_a_faces_link_runs_on_its_clock(tmp_path, config, clock):
    link = StationLink(tmp_path / "cabin.sqlite", config, clock)
    assert link.now_ms() == clock.now_ms()
    clock.advance(minutes=5)
    assert link.now_ms() == clock.now_ms()
    try:
        assert link.station().clock is clock and link.station().today() == "2026-11-23"
    finally:
        link.close()
    wall = StationLink(tmp_path / "cabin.sqlite", config)
    assert isinstance(wall.clock, SystemClock) and wall.clock.tz == config.station.tz
    assert abs(wall.now_ms() - SystemClock().now_ms()) < timedelta(minutes=1).total_seconds() * 1000
