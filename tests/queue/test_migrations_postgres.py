"""The schema's PostgreSQL form (issue 15), declared beside its SQLite form in each migration set:
applied to a real server (the pg_url fixture), compared table by table with what the SQLite
migrations make through the station's own opener, and its constraints tried as SQLite's are.

Types are compared through TYPES below: SQLite's declared type and the PostgreSQL types that
keep the values the Python code reads (an SQLite INTEGER is 64 bits: BIGINT for ids, times and
counters, INTEGER for small numbers; BLOB is BYTEA; TEXT is TEXT, `day` included)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from cabin.kiosk.station import MIGRATION_SETS, open_store
from cabin.queue import migrations as queue_migrations
from cabin.queue.store import schema_version
from cabin.queue.migrations import (POSTGRES_MIGRATIONS_TABLE, MigrationSet, apply_postgres,
                                    postgres_schema_version)

try:
    import psycopg
    from psycopg import errors
except ImportError:  # the pg_url fixture skips, or fails where required, and says why
    psycopg = errors = None

SETS = (queue_migrations.migrations, *MIGRATION_SETS)

# SQLite's declared type -> the PostgreSQL types (information_schema's data_type) that may stand for it
TYPES = {"INTEGER": {"bigint", "integer"}, "TEXT": {"text"}, "BLOB": {"bytea"}}

# PostgreSQL indexes SQLite has as a column's constraint rather than a named index:
# accounts.name's UNIQUE COLLATE NOCASE
POSTGRES_ONLY_INDEXES = {"accounts_name_nocase"}


def connect(url: str, **kwargs):
    # a lock that is never released fails the test in seconds instead of hanging it
    return psycopg.connect(url, connect_timeout=10, options="-c lock_timeout=10s", **kwargs)


@pytest.fixture
def pg(pg_url):
    """A connection to a fresh database with every set applied."""
    with connect(pg_url, autocommit=True) as conn:
        apply_postgres(conn, MIGRATION_SETS)
        yield conn


@pytest.fixture(scope="module")
def sqlite_schema(tmp_path_factory):
    """A station database made by the station's opener: every SQLite migration applied."""
    path = tmp_path_factory.mktemp("schema") / "station.sqlite"
    open_store(path).close()
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def sqlite_tables(conn) -> list[str]:
    return sorted(name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?",
        [MigrationSet.migrations_table]))


def postgres_tables(conn) -> list[str]:
    return sorted(name for (name,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> %s",
        [POSTGRES_MIGRATIONS_TABLE]))


def test_every_migration_is_declared_with_its_postgres_form():
    sample = MigrationSet("cabin.sample")
    with pytest.raises(TypeError, match="0001_only_sqlite of cabin.sample has no PostgreSQL form"):
        @sample(name="0001_only_sqlite")
        def only_sqlite(db):
            pass
    with pytest.raises(TypeError, match="no PostgreSQL form"):
        @sample(name="0001_blank", postgres="  \n")
        def blank(db):
            pass
    assert sample.names == []

    @sample(name="0001_once", postgres="SELECT 1")
    def once(db):
        pass
    with pytest.raises(ValueError, match="0001_once of cabin.sample is declared twice"):
        sample(name="0001_once", postgres="SELECT 2")(once)
    assert sample.postgres_forms == [("0001_once", "SELECT 1")]
    for mset in SETS:
        assert [name for name, _ in mset.postgres_forms] == mset.names
        assert all(sql.strip() for _, sql in mset.postgres_forms)


def test_both_dialects_name_the_same_migrations_in_the_same_order(tmp_path):
    store = open_store(tmp_path / "station.sqlite")
    try:
        sqlite_applied = {mset.name: [m.name for m in mset.applied(store.db)] for mset in SETS}
    finally:
        store.close()
    assert sqlite_applied == {mset.name: [name for name, _ in mset.postgres_forms] for mset in SETS}
    assert sqlite_applied["cabin.kiosk"][-1] == "0011_appointments_purge"


def test_every_set_applies_to_a_fresh_database_once(pg_url):
    with connect(pg_url, autocommit=True) as conn:
        assert postgres_schema_version(conn, MIGRATION_SETS) == "cabin.queue (none); cabin.kiosk (none)"
        assert not any(mset.all_applied_postgres(conn) for mset in SETS)
        first = apply_postgres(conn, MIGRATION_SETS)
        assert first == [f"{mset.name} {name}" for mset in SETS for name in mset.names]
        assert all(mset.all_applied_postgres(conn) for mset in SETS)
        tables = postgres_tables(conn)
        assert apply_postgres(conn, MIGRATION_SETS) == []  # idempotent: nothing pending, nothing run twice
        assert postgres_tables(conn) == tables
        records = conn.execute(f"SELECT migration_set, name FROM {POSTGRES_MIGRATIONS_TABLE} ORDER BY id").fetchall()
        assert records == [(mset.name, name) for mset in SETS for name in mset.names]
        assert postgres_schema_version(conn, MIGRATION_SETS) == "cabin.queue 0001_queue; cabin.kiosk 0011_appointments_purge"
        assert postgres_schema_version(conn) == "0001_queue"


def test_the_schema_version_reads_as_sqlites_does(tmp_path, pg):
    store = open_store(tmp_path / "station.sqlite")
    try:
        assert schema_version(store.db, MIGRATION_SETS) == postgres_schema_version(pg, MIGRATION_SETS)
        assert schema_version(store.db) == postgres_schema_version(pg) == "0001_queue"
    finally:
        store.close()


def test_a_failed_migration_leaves_neither_its_tables_nor_its_record(pg_url):
    broken = MigrationSet("cabin.broken")

    @broken(name="0001_half", postgres="CREATE TABLE half (id BIGINT); CREATE TABLE half (id BIGINT);")
    def half(db):
        pass

    with connect(pg_url, autocommit=True) as conn:
        with pytest.raises(errors.DuplicateTable):
            broken.apply_postgres(conn)
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
        assert broken.applied_postgres(conn) == []


def test_a_connection_outside_autocommit_commits_each_migration(pg_url):
    with connect(pg_url) as conn:
        assert not conn.autocommit
        assert len(apply_postgres(conn, MIGRATION_SETS)) == sum(len(mset.names) for mset in SETS)
        assert conn.info.transaction_status.name == "IDLE"
        with connect(pg_url) as other:  # committed: another connection sees it all
            assert postgres_schema_version(other, MIGRATION_SETS) == "cabin.queue 0001_queue; cabin.kiosk 0011_appointments_purge"


def test_the_applier_refuses_a_connection_inside_a_transaction(pg_url):
    with connect(pg_url) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="outside a transaction"):
            queue_migrations.migrations.apply_postgres(conn)


def test_the_schemas_agree_column_by_column(sqlite_schema, pg):
    tables = sqlite_tables(sqlite_schema)
    assert postgres_tables(pg) == tables
    assert {"tickets", "requests", "events", "accounts", "audit", "temp_cards", "card_jobs"} <= set(tables)
    for table in tables:
        sqlite_columns = [(name, type_.upper(), bool(notnull or pk), None if pk else dflt)
                          for _, name, type_, notnull, dflt, pk in sqlite_schema.execute(f"PRAGMA table_info([{table}])")]
        postgres_columns = pg.execute(
            "SELECT column_name, data_type, is_nullable = 'NO', column_default, is_identity = 'YES'"
            " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s"
            " ORDER BY ordinal_position", [table]).fetchall()
        assert [c[0] for c in postgres_columns] == [c[0] for c in sqlite_columns], table
        for (name, sqlite_type, sqlite_notnull, sqlite_default), (_, pg_type, pg_notnull, pg_default, identity) in zip(
                sqlite_columns, postgres_columns):
            where = f"{table}.{name}"
            assert pg_type in TYPES[sqlite_type], f"{where}: {sqlite_type} as {pg_type}"
            assert pg_notnull == sqlite_notnull, where
            assert pg_default == sqlite_default, where
            if identity:  # only an SQLite rowid alias may be generated
                assert sqlite_type == "INTEGER" and sqlite_default is None and name == "id", where


def test_the_schemas_agree_on_foreign_keys_and_indexes(sqlite_schema, pg):
    sqlite_keys = {(table, key[3], key[2], key[4]) for table in sqlite_tables(sqlite_schema)
                   for key in sqlite_schema.execute(f"PRAGMA foreign_key_list([{table}])")}
    postgres_keys = set(pg.execute("""
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, r.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace""").fetchall())
    assert postgres_keys == sqlite_keys
    assert ("windows", "current_request_id", "requests", "id") in postgres_keys

    named = {name for (name,) in sqlite_schema.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name <> ?",
        [MigrationSet.migrations_table])}
    postgres_named = {name for (name,) in pg.execute(
        "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")}
    assert postgres_named == named | POSTGRES_ONLY_INDEXES

    sqlite_triggers = {name for (name,) in sqlite_schema.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    postgres_triggers = {name for (name,) in pg.execute(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND right(tgname, 12) <> '_no_truncate'")}
    assert postgres_triggers == sqlite_triggers


ACCOUNT = ("INSERT INTO accounts (name, role, pw_hash, pw_salt, pw_params, created_at, updated_at)"
           " VALUES (%s, %s, %s, %s, '{}', 0, 0)")


def both(sqlite_schema, pg, sql: str, params=(), *, refused_by):
    """Run `sql` on each backend (SQLite's placeholders are ?): each refuses it, nothing written."""
    sqlite_schema.execute("SAVEPOINT attempt")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            sqlite_schema.execute(sql.replace("%s", "?"), params)
    finally:
        sqlite_schema.execute("ROLLBACK TO attempt")
        sqlite_schema.execute("RELEASE attempt")
    with pytest.raises(refused_by), pg.transaction():
        pg.execute(sql, params)


def test_an_account_name_differing_only_in_case_is_refused(sqlite_schema, pg):
    pg.execute(ACCOUNT, ["Li", "clerk", b"h", b"s"])
    sqlite_schema.execute("SAVEPOINT li")
    sqlite_schema.execute(ACCOUNT.replace("%s", "?"), ["Li", "clerk", b"h", b"s"])
    try:
        both(sqlite_schema, pg, ACCOUNT, ["li", "clerk", b"h", b"s"], refused_by=errors.UniqueViolation)
        # NOCASE folds ASCII letters alone: an accented capital is another name on both backends
        pg.execute(ACCOUNT, ["Émile", "clerk", b"h", b"s"])
        pg.execute(ACCOUNT, ["émile", "clerk", b"h", b"s"])
        sqlite_schema.execute(ACCOUNT.replace("%s", "?"), ["Émile", "clerk", b"h", b"s"])
        sqlite_schema.execute(ACCOUNT.replace("%s", "?"), ["émile", "clerk", b"h", b"s"])
    finally:
        sqlite_schema.execute("ROLLBACK TO li")
        sqlite_schema.execute("RELEASE li")
    assert pg.execute("SELECT pw_hash FROM accounts WHERE name = 'Li'").fetchone() == (b"h",)


def test_account_names_fold_as_sqlite_folds_them_whatever_the_databases_locale(pg_server, pg_url):
    # the suite's server runs in the C locale, where lower() folds ASCII alone anyway; a
    # station's server may not: in an ICU database lower() folds "É" too, and the index must not
    name = pg_url.rsplit("/", 1)[1][:55] + "_icu"  # PostgreSQL cuts names at 63 bytes
    with connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
                      " LOCALE_PROVIDER icu ICU_LOCALE 'und'")
    try:
        with connect(pg_server.url(name), autocommit=True) as conn:
            assert conn.execute("SELECT lower('É')").fetchone() == ("é",)  # the locale folds it
            apply_postgres(conn, MIGRATION_SETS)
            conn.execute(ACCOUNT, ["Émile", "clerk", b"h", b"s"])
            conn.execute(ACCOUNT, ["émile", "clerk", b"h", b"s"])
            conn.execute(ACCOUNT, ["Li", "clerk", b"h", b"s"])
            with pytest.raises(errors.UniqueViolation):
                conn.execute(ACCOUNT, ["LI", "clerk", b"h", b"s"])
    finally:
        pg_server.drop_database(name)


def test_a_check_on_a_role_or_a_state_is_refused(sqlite_schema, pg):
    both(sqlite_schema, pg, ACCOUNT, ["Wang", "janitor", b"h", b"s"], refused_by=errors.CheckViolation)
    both(sqlite_schema, pg, "INSERT INTO tickets (day, number, prefix, seq, priority, channel, issued_at, sort_key, state)"
         " VALUES ('2026-12-02', 'A001', 'A', 1, 'normal', 'kiosk', 0, 0, 'lost')", refused_by=errors.CheckViolation)
    # a table-wide CHECK: a manual source needs its reason
    both(sqlite_schema, pg, "INSERT INTO loss_reports (receipt, number, state, source, reported_by, reported_at)"
         " VALUES ('GS-20261202-0001', '350206198507150012', 'reported', 'manual', 'li', 0)",
         refused_by=errors.CheckViolation)


def test_a_foreign_key_is_refused(sqlite_schema, pg):
    sqlite_schema.execute("PRAGMA foreign_keys = ON")  # as the Store sets it
    both(sqlite_schema, pg, "INSERT INTO found_notifications (found_id, text, created_at) VALUES (404, 'hello', 0)",
         refused_by=errors.ForeignKeyViolation)
    both(sqlite_schema, pg, "INSERT INTO requests (ticket_id, position, service, state, sort_key, updated_at)"
         " VALUES (404, 1, 'id.apply', 'waiting', 0, 0)", refused_by=errors.ForeignKeyViolation)


def test_the_audit_log_and_the_events_are_append_only(sqlite_schema, pg):
    for table, entry in (("audit", "INSERT INTO audit (at, action, prev_hash, hash) VALUES (1, 'login', 'p', 'h')"),
                         ("events", "INSERT INTO events (at, day, kind) VALUES (1, '2026-12-02', 'issued')")):
        pg.execute(entry)
        message = "the audit log is append-only" if table == "audit" else "events are append-only"
        for change in (f"UPDATE {table} SET at = 2", f"DELETE FROM {table}"):
            sqlite_schema.execute("SAVEPOINT attempt")
            try:
                sqlite_schema.execute(entry)
                with pytest.raises(sqlite3.IntegrityError, match=message):
                    sqlite_schema.execute(change)
            finally:
                sqlite_schema.execute("ROLLBACK TO attempt")
                sqlite_schema.execute("RELEASE attempt")
            with pytest.raises(errors.RestrictViolation, match=message), pg.transaction():
                pg.execute(change)
        with pytest.raises(errors.RestrictViolation, match=message), pg.transaction():
            pg.execute(f"TRUNCATE {table} CASCADE")
        assert pg.execute(f"SELECT count(*), min(at) FROM {table}").fetchone() == (1, 1)


def test_an_audit_id_comes_from_its_sequence_alone(pg):
    with pytest.raises(errors.GeneratedAlways):
        pg.execute("INSERT INTO audit (id, at, action, prev_hash, hash) VALUES (7, 1, 'login', 'p', 'h')")
    with pg.transaction(force_rollback=True):
        (taken,) = pg.execute("INSERT INTO audit (at, action, prev_hash, hash) VALUES (1, 'login', 'p', 'h') RETURNING id").fetchone()
    # rolled back, and its id is gone for good: the next entry never has it
    (later,) = pg.execute("INSERT INTO audit (at, action, prev_hash, hash) VALUES (2, 'login', 'p', 'h') RETURNING id").fetchone()
    assert later > taken


def test_two_processes_starting_together_apply_each_migration_once(pg_url):
    starters = 4
    barrier = threading.Barrier(starters)
    results: list = [None] * starters

    def start(i: int) -> None:
        try:
            with connect(pg_url, autocommit=True) as conn:
                barrier.wait(timeout=30)
                results[i] = apply_postgres(conn, MIGRATION_SETS)
        except BaseException as exc:  # reported below, in the test's own thread
            results[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors_seen = [r for r in results if isinstance(r, BaseException)]
    assert not errors_seen, errors_seen
    everything = [f"{mset.name} {name}" for mset in SETS for name in mset.names]
    # each migration applied by exactly one of them, whoever it was
    assert sorted(m for r in results for m in r) == sorted(everything)
    with connect(pg_url) as conn:
        counted = conn.execute(f"SELECT count(*), count(DISTINCT (migration_set, name)) FROM {POSTGRES_MIGRATIONS_TABLE}").fetchone()
        assert counted == (len(everything), len(everything))
        assert postgres_schema_version(conn, MIGRATION_SETS) == "cabin.queue 0001_queue; cabin.kiosk 0011_appointments_purge"


BOOKING = ("INSERT INTO appointments (code, services, slot_start, slot_end, phone_last4, state, imported_at, purged_at)"
           " VALUES (%s, '[\"id.apply\"]', 0, 1, %s, 'booked', 0, %s)")


def test_a_booking_s_phone_is_4_digits_or_starred_once_purged(sqlite_schema, pg):
    # 0011: '****' only with purged_at, which only the purge stamps; any other text still refused
    for phone, purged_at in (("****", None), ("12a4", 5), ("***", 5), ("*234", 5), ("12345", None)):
        both(sqlite_schema, pg, BOOKING, ["YY-1", phone, purged_at], refused_by=errors.CheckViolation)
    sqlite_schema.execute("SAVEPOINT fine")
    try:
        for code, phone, purged_at in (("YY-2", "****", 5), ("YY-3", "0042", None), ("YY-4", "0042", 5)):
            sqlite_schema.execute(BOOKING.replace("%s", "?"), [code, phone, purged_at])
            pg.execute(BOOKING, [code, phone, purged_at])
    finally:
        sqlite_schema.execute("ROLLBACK TO fine")
        sqlite_schema.execute("RELEASE fine")


def test_0011_keeps_the_bookings_of_a_station_made_before_it(tmp_path, pg_url):
    from sqlite_utils import Database

    from cabin.kiosk.business.migrations import migrations as kiosk

    row = ("YY-1", '["id.apply"]', 10, 20, "0042", "booked", 5)
    insert = ("INSERT INTO appointments (code, services, slot_start, slot_end, phone_last4, state, imported_at)"
              " VALUES (%s, %s, %s, %s, %s, %s, %s)")
    read = "SELECT code, services, slot_start, slot_end, phone_last4, state, imported_at, purged_at FROM appointments"
    db = Database(tmp_path / "old.sqlite")
    queue_migrations.migrations.apply(db)
    kiosk.apply(db, stop_before="0011_appointments_purge")
    db.execute(insert.replace("%s", "?"), row)
    db.conn.commit()
    kiosk.apply(db)
    assert db.execute(read).fetchall() == [(*row, None)]
    assert [r[1] for r in db.execute("PRAGMA index_list(appointments)") if not r[1].startswith("sqlite_")] == [
        "appointments_slot"]
    with connect(pg_url, autocommit=True) as conn:
        for mset in SETS:
            for name, sql in mset.postgres_forms:
                if name != "0011_appointments_purge":
                    conn.execute(sql)
        conn.execute(insert, row)
        conn.execute(dict(kiosk.postgres_forms)["0011_appointments_purge"])
        assert conn.execute(read).fetchall() == [(*row, None)]
