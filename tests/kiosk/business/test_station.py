"""The station's one opener (cabin.kiosk.station): a fresh file, an existing station, the
migrations applied once, the config and the clock it hands on, and the store's own refusals kept."""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime

import pytest

from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.migrations import migrations as kiosk_migrations
from cabin.kiosk.station import MIGRATION_SETS, open_station, open_store, station_clock
from cabin.queue.clock import ManualClock, SystemClock
from cabin.queue.errors import StoreError
from cabin.queue.migrations import migrations as queue_migrations

PW = "station-pass-1"


def applied(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT migration_set FROM _sqlite_migrations ORDER BY id")]
    finally:
        conn.close()


def every_migration() -> int:
    return len(queue_migrations._migrations) + len(kiosk_migrations._migrations)


def test_a_fresh_file_is_made_private_with_both_migration_sets(tmp_path):
    path = tmp_path / "new" / "cabin.sqlite"
    with open_store(path) as store:
        assert set(store.schema_versions()) == {"cabin.queue", "cabin.kiosk"}
        assert not kiosk_migrations.pending(store.db)
        assert store.migration_sets[1:] == MIGRATION_SETS
        assert Accounts(store).count() == 0  # the counter's tables are there: no service has to check
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(applied(path)) == every_migration()


def test_an_existing_station_opens_as_it_was_and_the_migrations_run_once(tmp_path, clock):
    path = tmp_path / "cabin.sqlite"
    with open_store(path) as store:
        Accounts(store, clock).add("root", "admin", PW)
    for _ in range(2):
        with open_store(path, create=False) as store:
            assert [a.name for a in Accounts(store, clock).list()] == ["root"]
    assert len(applied(path)) == every_migration()
    assert applied(path).count("cabin.kiosk") == len(kiosk_migrations._migrations)


def test_db_none_is_cabin_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CABIN_DB", str(tmp_path / "env.sqlite"))
    with open_store() as store:
        assert store.path == tmp_path / "env.sqlite"
    assert (tmp_path / "env.sqlite").is_file()


def test_the_stores_refusals_stand(tmp_path):
    with pytest.raises(StoreError, match="there is no database"):
        open_store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    foreign.chmod(0o600)
    with pytest.raises(StoreError, match="not a Cabin database"):
        open_store(foreign)


def test_open_station_hands_on_the_config_and_the_clock(tmp_path, config, clock):
    station = open_station(tmp_path / "cabin.sqlite", config=config, clock=clock)
    try:
        assert station.config is config and station.clock is clock
        assert not kiosk_migrations.pending(station.store.db)
        assert station.today() == "2026-11-23"  # the fixed clock's day, not the machine's
    finally:
        station.store.close()


def test_open_station_defaults_to_the_configured_station_on_the_wall_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("CABIN_DB", str(tmp_path / "cabin.sqlite"))
    station = open_station()
    try:
        assert isinstance(station.clock, SystemClock)
        assert station.clock.tz == station.config.station.tz
        assert station.store.path == tmp_path / "cabin.sqlite"
    finally:
        station.store.close()


def test_station_clock_keeps_a_given_clock(config):
    fixed = ManualClock(config.station.tz, datetime(2030, 1, 1, tzinfo=config.station.tz))
    assert station_clock(config, fixed) is fixed
    wall = station_clock(config)
    assert isinstance(wall, SystemClock) and wall.tz == config.station.tz
