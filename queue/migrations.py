"""The queue's schema, as named migrations applied at start-up: each in its SQLite form (a
sqlite-utils migration) and its PostgreSQL form (SQL, for the shared store of a station of several
PCs, issue 15) side by side, so the two cannot drift apart.

Never edit a migration that has shipped: add a new one. The names are the schema's history and
`cabin doctor` shows the latest as the schema version.

Times are integer milliseconds since the epoch (UTC); `day` is the station's local date.
"""

from __future__ import annotations

import sqlite3
from typing import Iterable, NamedTuple

# The record of the migrations applied to a PostgreSQL database, every set's in one table.
POSTGRES_MIGRATIONS_TABLE = "cabin_migrations"
# pg_advisory_xact_lock's key while a migration is applied: processes that start together take
# their turns, and each finds what the one before it applied ("cabin" in ASCII).
POSTGRES_MIGRATION_LOCK = 0x636162696E


class Migration(NamedTuple):
    name: str
    sqlite: object          # the sqlite-utils migration: a function of a sqlite_utils.Database
    transactional: bool
    postgres: str           # the same migration for PostgreSQL: SQL statements, run as one


class MigrationSet:
    """A named set of migrations, declared with a decorator as with `sqlite_utils.Migrations`,
    each with its PostgreSQL form: `@migrations(name="0001_queue", postgres="CREATE TABLE ...")`.
    A migration without its PostgreSQL form is refused where it is declared, at import.

    SQLite: without importing sqlite-utils, which costs a command-line start more than the rest
    of the station together (it brings click, dateutil, pluggy). Whether the set is applied is
    read with plain SQL from sqlite-utils' own table; everything else (pending, applied, apply:
    each migration and its record in one transaction) is sqlite-utils' Migrations, built from
    the declarations on first use.

    PostgreSQL: `apply_postgres`, `applied_postgres`, `all_applied_postgres` on a psycopg 3
    connection, with the record in POSTGRES_MIGRATIONS_TABLE; psycopg is never imported here."""

    migrations_table = "_sqlite_migrations"  # sqlite-utils' record of the applied migrations

    def __init__(self, name: str):
        self.name = name
        self._declared: list[Migration] = []
        self._loaded = None

    def __call__(self, *, name: str | None = None, transactional: bool = True, postgres: str | None = None):
        def inner(func):
            migration = name or func.__name__
            if not isinstance(postgres, str) or not postgres.strip():
                raise TypeError(f"migration {migration} of {self.name} has no PostgreSQL form: declare it"
                                " with @migrations(name=..., postgres=\"SQL\") beside its SQLite form")
            if migration in self.names:
                raise ValueError(f"migration {migration} of {self.name} is declared twice")
            self._declared.append(Migration(migration, func, transactional, postgres))
            self._loaded = None
            return func

        return inner

    @property
    def names(self) -> list[str]:
        return [migration.name for migration in self._declared]

    @property
    def postgres_forms(self) -> list[tuple[str, str]]:
        """(name, SQL) of every migration, in order."""
        return [(migration.name, migration.postgres) for migration in self._declared]

    def all_applied(self, conn: sqlite3.Connection) -> bool:
        """Every migration of the set is recorded as applied in the database of `conn`."""
        try:
            # every column, as sqlite-utils' Migrations.applied reads them: the table itself, not
            # only its index, so a damaged page there refuses the database at open as it always did
            rows = conn.execute(f"SELECT name, * FROM [{self.migrations_table}] WHERE migration_set = ?"
                                " ORDER BY rowid", (self.name,))
            applied = {row[0] for row in rows}
        except sqlite3.OperationalError:  # no record table yet: nothing applied
            return False
        return set(self.names) <= applied

    def loaded(self):
        """The set as sqlite-utils' Migrations."""
        if self._loaded is None:
            from sqlite_utils import Migrations

            migrations = Migrations(self.name)
            for migration in self._declared:
                migrations(name=migration.name, transactional=migration.transactional)(migration.sqlite)
            self._loaded = migrations
        return self._loaded

    def __getattr__(self, attr: str):
        # pending, applied, apply, ...: sqlite-utils' own (a missing attribute of this class only)
        if attr.startswith("__") or attr in ("_declared", "_loaded"):
            raise AttributeError(attr)
        return getattr(self.loaded(), attr)

    # PostgreSQL: `conn` is a psycopg 3 connection outside a transaction.

    def applied_postgres(self, conn) -> list[str]:
        """The names of the set's migrations applied to the database of `conn`, in the order applied."""
        with conn.transaction():  # committed at once: no transaction left open, holding a snapshot
            if conn.execute("SELECT to_regclass(%s)", [POSTGRES_MIGRATIONS_TABLE]).fetchone()[0] is None:
                return []
            return [name for (name,) in conn.execute(
                f"SELECT name FROM {POSTGRES_MIGRATIONS_TABLE} WHERE migration_set = %s ORDER BY id", [self.name])]

    def all_applied_postgres(self, conn) -> bool:
        """Every migration of the set is recorded as applied in the database of `conn`."""
        return set(self.names) <= set(self.applied_postgres(conn))

    def apply_postgres(self, conn) -> list[str]:
        """Apply the set's pending migrations to the database of `conn`, in order, each with its
        record in one transaction; the names applied. Under a transaction-scoped advisory lock,
        so two processes starting together never apply a migration twice: the second waits, then
        finds it recorded."""
        if conn.info.transaction_status.name != "IDLE":
            raise ValueError("apply_postgres needs a connection outside a transaction: each migration commits on its own")
        if self.all_applied_postgres(conn):
            # read first, creating nothing: an account that may not create tables (a window PC's
            # role, README "A station of several PCs") opens a database that is up to date
            return []
        applied = []
        for name, sql in self.postgres_forms:
            with conn.transaction():
                # read committed whatever the connection's default: the record is read after the
                # lock is granted, and must show what the process that held it committed
                conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [POSTGRES_MIGRATION_LOCK])
                conn.execute(f"""
                    CREATE TABLE IF NOT EXISTS {POSTGRES_MIGRATIONS_TABLE} (
                        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        migration_set TEXT NOT NULL,
                        name TEXT NOT NULL,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                        UNIQUE (migration_set, name)
                    )""")
                done = conn.execute(f"SELECT 1 FROM {POSTGRES_MIGRATIONS_TABLE} WHERE migration_set = %s AND name = %s",
                                    [self.name, name]).fetchone()
                if done:
                    continue
                conn.execute(sql)  # no parameters: sent as one simple query, several statements
                conn.execute(f"INSERT INTO {POSTGRES_MIGRATIONS_TABLE} (migration_set, name) VALUES (%s, %s)",
                             [self.name, name])
                applied.append(name)
        return applied


def schema_version_text(versions: dict[str, str | None], *, queue_alone: bool) -> str | None:
    """The schema version as `cabin doctor` shows it, from the latest migration of each set (the
    queue's first): the queue's alone, or "cabin.queue 0001_queue; cabin.kiosk 0001_accounts_audit"."""
    if queue_alone:
        return versions[migrations.name]
    return "; ".join(f"{name} {latest or '(none)'}" for name, latest in versions.items())


def postgres_schema_versions(conn, migration_sets: Iterable[MigrationSet] = ()) -> dict[str, str | None]:
    """The latest applied migration of each set in the PostgreSQL database of `conn`, the queue's first."""
    versions = {}
    for mset in (migrations, *migration_sets):
        applied = mset.applied_postgres(conn)
        versions[mset.name] = applied[-1] if applied else None
    return versions


def postgres_schema_version(conn, migration_sets: Iterable[MigrationSet] = ()) -> str | None:
    """As queue.store.schema_version, for a PostgreSQL database."""
    migration_sets = tuple(migration_sets)
    return schema_version_text(postgres_schema_versions(conn, migration_sets), queue_alone=not migration_sets)


def apply_postgres(conn, migration_sets: Iterable[MigrationSet] = ()) -> list[str]:
    """The queue's set, then each of `migration_sets`, applied to a PostgreSQL database (as the
    SQLite store applies them); "set name" of each migration applied."""
    return [f"{mset.name} {name}" for mset in (migrations, *migration_sets) for name in mset.apply_postgres(conn)]


migrations = MigrationSet("cabin.queue")


# PostgreSQL: BIGINT identities where SQLite has INTEGER PRIMARY KEY (BY DEFAULT: an id may be
# given, as SQLite allows), "window" quoted (a reserved word there), and the forward reference of
# windows to requests added once requests exists. The append-only rule is a plpgsql trigger
# function, append_only(message), shared with the counter's set, which is applied after this one;
# it refuses TRUNCATE too, which bypasses row triggers in PostgreSQL.
@migrations(name="0001_queue", postgres="""
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE tickets (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        day TEXT NOT NULL,
        number TEXT NOT NULL,
        prefix TEXT NOT NULL,
        seq INTEGER NOT NULL,
        priority TEXT NOT NULL,
        channel TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        sort_key BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        UNIQUE (day, prefix, seq)
    );

    CREATE TABLE windows (
        number INTEGER PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('open', 'paused', 'closed')),
        services TEXT NOT NULL,
        current_request_id BIGINT,              -- REFERENCES requests(id), added below
        clerk TEXT,
        updated_at BIGINT NOT NULL
    );

    CREATE TABLE requests (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        ticket_id BIGINT NOT NULL REFERENCES tickets(id),
        position INTEGER NOT NULL,
        service TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'waiting', 'called', 'serving',
            'done', 'no_show', 'cancelled', 'transferred', 'expired')),
        sort_key BIGINT NOT NULL,
        target_window INTEGER REFERENCES windows(number),
        "window" INTEGER REFERENCES windows(number),
        recalls INTEGER NOT NULL DEFAULT 0,
        transferred_from BIGINT REFERENCES requests(id),
        updated_at BIGINT NOT NULL
    );
    ALTER TABLE windows ADD FOREIGN KEY (current_request_id) REFERENCES requests(id);
    CREATE INDEX requests_ticket ON requests(ticket_id, position, id);
    CREATE INDEX requests_waiting ON requests(service, sort_key, ticket_id, position)
        WHERE state = 'waiting';

    CREATE TABLE events (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        ticket_id BIGINT REFERENCES tickets(id),
        request_id BIGINT REFERENCES requests(id),
        service TEXT,
        "window" INTEGER,
        clerk TEXT,
        detail TEXT
    );
    CREATE INDEX events_ticket ON events(ticket_id, id);
    CREATE INDEX events_done ON events(service, day, id) WHERE kind = 'done';

    CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
    END
    $$;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        FOR EACH ROW EXECUTE FUNCTION append_only('events are append-only');
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION append_only('events are append-only');
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION append_only('events are append-only');
""")
def m0001_queue(db):
    db.executescript(
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            number TEXT NOT NULL,
            prefix TEXT NOT NULL,
            seq INTEGER NOT NULL,
            priority TEXT NOT NULL,
            channel TEXT NOT NULL,
            issued_at INTEGER NOT NULL,
            sort_key INTEGER NOT NULL,          -- issued_at minus the class's head start
            state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
            UNIQUE (day, prefix, seq)           -- number = prefix + seq: unique with it
        );

        CREATE TABLE windows (
            number INTEGER PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('open', 'paused', 'closed')),
            services TEXT NOT NULL,             -- JSON list, synchronised from the config
            current_request_id INTEGER REFERENCES requests(id),
            clerk TEXT,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            position INTEGER NOT NULL,          -- the errand's place on its ticket, from 1
            service TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'waiting', 'called', 'serving',
                'done', 'no_show', 'cancelled', 'transferred', 'expired')),
            sort_key INTEGER NOT NULL,          -- the ticket's: a later errand keeps its place
            target_window INTEGER REFERENCES windows(number),
            window INTEGER REFERENCES windows(number),
            recalls INTEGER NOT NULL DEFAULT 0,
            transferred_from INTEGER REFERENCES requests(id),
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX requests_ticket ON requests(ticket_id, position, id);
        -- call-next: one index seek per service, however long the queue.
        CREATE INDEX requests_waiting ON requests(service, sort_key, ticket_id, position)
            WHERE state = 'waiting';

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            ticket_id INTEGER REFERENCES tickets(id),
            request_id INTEGER REFERENCES requests(id),
            service TEXT,
            window INTEGER,
            clerk TEXT,
            detail TEXT                         -- JSON, or NULL
        );
        -- Few indexes on purpose: each one is another page written by every operation.
        -- A request's events are found through its ticket, a day's through its tickets.
        CREATE INDEX events_ticket ON events(ticket_id, id);
        -- recent service times per service, for the wait estimate
        CREATE INDEX events_done ON events(service, day, id) WHERE kind = 'done';
        -- Every figure is derived from events: they are never changed or removed.
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        """
    )
