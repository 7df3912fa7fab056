"""Shared fixtures: the default station on a real SQLite file, at 09:00 on Monday 2026-11-23."""

from datetime import datetime

import pytest

from cabin.config import load_config
from cabin.queue.clock import ManualClock
from cabin.queue.engine import Station
from cabin.queue.store import Store


@pytest.fixture
def config():
    return load_config()


@pytest.fixture
def clock(config):
    tz = config.station.tz
    return ManualClock(tz, datetime(2026, 11, 23, 9, 0, tzinfo=tz))  # a Monday


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "cabin.sqlite")
    yield s
    s.close()


@pytest.fixture
def station(store, config, clock):
    return Station(store, config, clock)
