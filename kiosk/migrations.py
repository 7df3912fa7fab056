"""The counter's schema (kiosk/), as named sqlite-utils migrations: the set "cabin.kiosk".

The queue's store applies it after the queue's own set: `Store(path, migration_sets=[migrations])`
(the queue never imports kiosk). `ensure_applied(store)` brings a store opened without it up to
date. Never edit a migration that has shipped: add a new one.

Times are integer milliseconds since the epoch (UTC), as in the queue.
"""

from __future__ import annotations

from sqlite_utils import Migrations

migrations = Migrations("cabin.kiosk")


def ensure_applied(store) -> None:
    """Apply this set's pending migrations to an open Store, in one write transaction."""
    if migrations.pending(store.db):
        with store.write():
            migrations.apply(store.db)


@migrations(name="0001_accounts_audit")
def m0001_accounts_audit(db):
    db.executescript(
        """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,   -- NFC; "Li" and "li" are one account
            role TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'admin')),
            pw_hash BLOB NOT NULL,                      -- scrypt(password, pw_salt, pw_params)
            pw_salt BLOB NOT NULL,                      -- 16 random bytes, new for every password
            pw_params TEXT NOT NULL,                    -- JSON {"alg": "scrypt", "n", "r", "p", "dklen"}
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            failed_attempts INTEGER NOT NULL DEFAULT 0, -- consecutive failed sign-ins
            locked_until INTEGER,                       -- ms, or NULL
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        -- The audit log: a hash chain. AUTOINCREMENT so an id is never reused and
        -- sqlite_sequence remembers the last one: entries removed from the end show as missing.
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT,                                 -- account name, NULL for the system
            action TEXT NOT NULL,
            subject TEXT,
            detail TEXT,                                -- canonical JSON, or NULL
            prev_hash TEXT NOT NULL,                    -- the previous entry's hash (64 zeros for the first)
            hash TEXT NOT NULL                          -- sha256(prev_hash + canonical JSON of the entry)
        );
        CREATE INDEX audit_actor ON audit(actor, id);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """
    )
