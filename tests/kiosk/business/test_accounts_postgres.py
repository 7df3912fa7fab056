"""Account names (kiosk/business/accounts.py) are found and listed alike on SQLite and PostgreSQL:
ASCII letters folded, every other character kept, whatever the PostgreSQL database's locale.

Accounts are written here with plain SQL, so that names the service itself would refuse (two
differing only by an accent's case) can be stored."""

from __future__ import annotations

import pytest

from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.migrations import migrations as kiosk_migrations
from cabin.queue.errors import CabinError

pgstore = pytest.importorskip("cabin.queue.pgstore", reason="psycopg not installed (pip install 'cabin[postgres]')")
psycopg = pytest.importorskip("psycopg")

STORED = ["Li", "Émile", "émile", "Zoë", "adam", "Ä", "Bob"]
ASKED = ["Li", "li", "LI", "Émile", "ÉMILE", "émile", "EMILE", "zoë", "ZOË", "Zoë", "ä", "Ä", "ADAM", "bob", "nobody"]


def names_as_found(store) -> tuple[list, list]:
    with store.write() as conn:
        for i, name in enumerate(STORED):
            conn.execute("INSERT INTO accounts (name, role, pw_hash, pw_salt, pw_params, created_at, updated_at)"
                         " VALUES (?, 'clerk', ?, ?, '{}', ?, ?) RETURNING id", [name, b"h", b"s", i, i]).fetchone()
    accounts = Accounts(store)
    found = []
    for name in ASKED:
        try:
            found.append(accounts.get(name).name)
        except CabinError as exc:
            found.append(str(exc))
    return found, [a.as_dict() for a in accounts.list()]


@pytest.fixture
def c_utf8_url(pg_server):
    """A database whose locale folds non-ASCII letters in lower() (C.UTF-8), unlike the suite's C."""
    name = "accounts_c_utf8"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.utf8'")
    try:
        yield pg_server.url(name)
    finally:
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_names_are_found_and_listed_alike_on_both_stores(kiosk_store, pg_url, c_utf8_url):
    on_sqlite = names_as_found(kiosk_store)
    assert on_sqlite[0][:9] == ["Li", "Li", "Li", "Émile", "Émile", "émile", "there is no account EMILE", "Zoë",
                               "there is no account ZOË"]
    for url in (pg_url, c_utf8_url):
        with pgstore.PgStore(url, migration_sets=(kiosk_migrations,)) as pg:
            assert names_as_found(pg) == on_sqlite, url
            with pg.read() as conn:  # the locale would fold É: the lookup must not
                folds = conn.execute("SELECT lower('É') = 'é'").fetchone()[0]
            assert folds == (url == c_utf8_url)
