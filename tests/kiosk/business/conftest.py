"""The counter's tests: a test that exercises the counter's SQL runs on both stores, one body.

It says so with `@pytest.mark.usefixtures("any_db")`: its kiosk_store (and so staff and every
fixture built on them) is then a SQLite file, then a fresh PostgreSQL database (tests/conftest.py
any_db). Every other test keeps the suite's SQLite file."""

from __future__ import annotations

import pytest

from cabin.kiosk.station import open_store


@pytest.fixture
def kiosk_store(request, tmp_path):
    """The station's store as kiosk/station.py opens it, on each backend for a test using any_db."""
    db = request.getfixturevalue("any_db") if "any_db" in request.fixturenames else tmp_path / "cabin.sqlite"
    with open_store(db) as s:
        yield s
