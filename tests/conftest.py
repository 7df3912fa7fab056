"""Shared fixtures: the default station on a real SQLite file, at 09:00 on Monday 2026-11-23.

The whole suite runs as on a fresh machine: fontconfig finds no font at all, so everything Cabin
draws uses the font its dependencies bring, whatever this machine has installed (tests that want
a system font set one up: tests/fontsetup.py)."""

import os
from datetime import datetime

import pytest

import fontsetup
import pgserver
from clikit import STAFF_PASSWORD

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
    """The queue's store alone, as the queue's own tests want it."""
    with Store(tmp_path / "cabin.sqlite") as s:
        yield s


@pytest.fixture
def station(store, config, clock):
    return Station(store, config, clock)




@pytest.fixture
def kiosk_store(tmp_path):
    """The station's store as kiosk/station.py opens it: the counter's tables too."""
    from cabin.kiosk.station import open_store

    with open_store(tmp_path / "cabin.sqlite") as s:
        yield s


@pytest.fixture
def staff(kiosk_store, clock):
    """(clerk "li", admin "root"), signed in; both with STAFF_PASSWORD."""
    from cabin.kiosk.business.accounts import Accounts

    accounts = Accounts(kiosk_store, clock)
    accounts.add("root", "admin", STAFF_PASSWORD)
    accounts.add("li", "clerk", STAFF_PASSWORD, by=accounts.authenticate("root", STAFF_PASSWORD))
    return accounts.authenticate("li", STAFF_PASSWORD), accounts.authenticate("root", STAFF_PASSWORD)


@pytest.fixture(autouse=True)
def steady_cursor(request, monkeypatch):
    """In the faces' tests, a focused field's cursor stays lit instead of blinking every 0.5 s:
    a snapshot taken on a loaded machine half a second later than usual would otherwise catch
    it dark and differ for no reason of Cabin's."""
    if request.module.__name__.startswith("test_faces"):
        from textual.widgets import Input

        monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(autouse=True, scope="session")
def own_data_dir(tmp_path_factory):
    """The suite never reads or writes the user's real data dir (its secret, its databases): a
    test that does not choose one gets a fresh one, 0700 as Cabin makes it."""
    import os

    folder = tmp_path_factory.mktemp("xdg-data")
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(folder)
    yield
    if previous is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = previous


# scrypt at the product's parameters (kiosk/business/accounts.py SCRYPT_PARAMS: 16 MiB, ~0.1 s a
# hash) would cost the suite minutes: every account made, every sign-in, every refused one. The
# suite hashes at the cheapest parameters scrypt takes instead; the product's defaults are not
# touched, only this process's module attribute. Each hash stores its parameters, so a database
# made here verifies anywhere. Processes a test starts hash at the real ones; so does a test that
# asks for the fixture real_scrypt (test_accounts checks them).
CHEAP_SCRYPT = {"alg": "scrypt", "n": 2, "r": 1, "p": 1, "dklen": 32}


@pytest.fixture(autouse=True, scope="session")
def cheap_scrypt():
    from cabin.kiosk.business import accounts

    real = accounts.SCRYPT_PARAMS
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "SCRYPT_PARAMS", CHEAP_SCRYPT)
        yield real


@pytest.fixture
def real_scrypt(cheap_scrypt, monkeypatch):
    """Passwords hashed at the product's own scrypt parameters in this test."""
    from cabin.kiosk.business import accounts

    monkeypatch.setattr(accounts, "SCRYPT_PARAMS", cheap_scrypt)
    return cheap_scrypt


@pytest.fixture(autouse=True, scope="session")
def no_system_fonts(tmp_path_factory):
    fontsetup.use(fontsetup.fontconfig(tmp_path_factory.mktemp("fontconfig")))
    yield
    fontsetup.use(fontsetup.MACHINE_FONTCONFIG)


@pytest.fixture
def procs():
    """Processes a test started (simulators: tests/simprocess.py), stopped when it ends."""
    started = []
    yield started
    for p in started:
        p.terminate()
        p.wait(timeout=10)


def postgres_unavailable(reason: str):
    """Skip a test that needs PostgreSQL, or fail it where it must run (CI sets
    CABIN_REQUIRE_POSTGRES=1 after installing the server: there a skip would hide a broken
    store)."""
    if os.environ.get("CABIN_REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (CABIN_REQUIRE_POSTGRES is set: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_bindir():
    """The folder of the machine's PostgreSQL server binaries, and psycopg importable: else the
    test is skipped, or failed where PostgreSQL is required."""
    try:
        import psycopg  # noqa: F401  (the tests and the store speak to the server through it)
    except ImportError as e:
        postgres_unavailable(f"psycopg not installed: {e} (pip install 'cabin[postgres]')")
    try:
        return pgserver.find_bindir()
    except pgserver.ServerNotFound as e:
        postgres_unavailable(f"PostgreSQL server binaries not found: {e}")


@pytest.fixture(scope="session")
def pg_server(pg_bindir):
    """A real PostgreSQL server (tests/pgserver.py) for this process: one per xdist worker, and
    none in a worker whose tests never ask for it. Stopped when the session ends, whatever the
    tests did (and at interpreter exit should the session die)."""
    server = pgserver.PgServer(pg_bindir).start()
    yield server
    server.stop()


PG_LOG_START = pytest.StashKey[int]()


@pytest.fixture
def pg_url(pg_server, request):
    """A libpq URL to a database of this test's own, created empty and dropped after it."""
    with pg_server.fresh_database(request.node.name) as url:
        request.node.stash[PG_LOG_START] = pg_server.log_size()
        yield url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the server shows what the server logged meanwhile."""
    report = yield
    server = getattr(item, "funcargs", {}).get("pg_server")
    if report.failed and server is not None:
        said = server.log(since=item.stash.get(PG_LOG_START, 0)) or "(nothing logged during the test)"
        report.sections.append(("PostgreSQL server log", said))
    return report


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, tmp_path):
    """Where a station's database is, once per backend: a file's path, then a PostgreSQL URL (a
    fresh database on the test server). One test body proves both stores keep the same promise;
    the PostgreSQL run skips, saying why, where no server can be had (CI requires one)."""
    if request.param == "sqlite":
        return str(tmp_path / "cabin.sqlite")
    return request.getfixturevalue("pg_url")
