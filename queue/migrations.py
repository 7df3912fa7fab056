"""The queue's schema, as named sqlite-utils migrations applied at start-up.

Never edit a migration that has shipped: add a new one. The names are the schema's history and
`cabin doctor` shows the latest as the schema version.

Times are integer milliseconds since the epoch (UTC); `day` is the station's local date.
"""

from __future__ import annotations

import sqlite3


class MigrationSet:
    """A named set of sqlite-utils migrations, declared as with `sqlite_utils.Migrations` (the
    decorator) but without importing sqlite-utils, which costs a command-line start more than
    the rest of the station together (it brings click, dateutil, pluggy). Whether the set is
    applied is read with plain SQL from sqlite-utils' own table; everything else (pending,
    applied, apply: each migration and its record in one transaction) is sqlite-utils'
    Migrations, built from the declarations on first use."""

    migrations_table = "_sqlite_migrations"  # sqlite-utils' record of the applied migrations

    def __init__(self, name: str):
        self.name = name
        self._declared: list[tuple[str, object, bool]] = []
        self._loaded = None

    def __call__(self, *, name: str | None = None, transactional: bool = True):
        def inner(func):
            self._declared.append((name or func.__name__, func, transactional))
            self._loaded = None
            return func

        return inner

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._declared]

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
            for name, func, transactional in self._declared:
                migrations(name=name, transactional=transactional)(func)
            self._loaded = migrations
        return self._loaded

    def __getattr__(self, attr: str):
        # pending, applied, apply, ...: sqlite-utils' own (a missing attribute of this class only)
        if attr.startswith("__") or attr in ("_declared", "_loaded"):
            raise AttributeError(attr)
        return getattr(self.loaded(), attr)


migrations = MigrationSet("cabin.queue")


@migrations(name="0001_queue")
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
