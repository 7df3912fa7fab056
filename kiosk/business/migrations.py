"""The counter's schema (kiosk/), as named sqlite-utils migrations: the set "cabin.kiosk".

The station's opener (cabin.kiosk.station) hands it to the queue's store, which applies it after
the queue's own set (the queue never imports kiosk). Never edit a migration that has shipped:
add a new one.

Times are integer milliseconds since the epoch (UTC), as in the queue.
"""

from __future__ import annotations

from cabin.queue.migrations import MigrationSet

migrations = MigrationSet("cabin.kiosk")


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


@migrations(name="0002_loss_found")
def m0002_loss_found(db):
    db.executescript(
        """
        -- Loss reports (挂失): in person only; receipt GS-YYYYMMDD-NNNN, unique per station and day
        -- (one database per station). ID numbers are kept whole here and shown masked everywhere.
        CREATE TABLE loss_reports (
            id INTEGER PRIMARY KEY,
            receipt TEXT NOT NULL UNIQUE,
            number TEXT NOT NULL,                        -- normalised 18-character ID number
            state TEXT NOT NULL CHECK (state IN ('reported', 'cancelled', 'replaced')),
            source TEXT NOT NULL CHECK (source IN ('reader', 'manual')),
            source_reason TEXT,                          -- why the number was typed, for 'manual'
            reported_by TEXT NOT NULL,                   -- the clerk's account name
            reported_at INTEGER NOT NULL,
            closed_by TEXT,                              -- who cancelled it or marked it replaced
            closed_at INTEGER,
            close_source TEXT CHECK (close_source IN ('reader', 'manual')),
            close_reason TEXT,
            CHECK (source = 'reader' OR source_reason IS NOT NULL)
        );
        CREATE UNIQUE INDEX loss_reports_one_open ON loss_reports(number) WHERE state = 'reported';
        CREATE INDEX loss_reports_number ON loss_reports(number, id);

        -- Found cards handed in (招领).
        CREATE TABLE found_cards (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('held', 'destroyed', 'returned')),
            finder_name TEXT NOT NULL,
            finder_phone TEXT NOT NULL,
            place TEXT NOT NULL,
            found_on TEXT NOT NULL,                      -- YYYY-MM-DD
            registered_by TEXT NOT NULL,
            registered_at INTEGER NOT NULL,
            destroyed_reason TEXT,
            destroyed_at INTEGER,
            returned_by TEXT,                            -- the clerk who handed it over
            returned_at INTEGER,
            returned_source TEXT CHECK (returned_source IN ('reader', 'manual')),
            returned_reason TEXT
        );
        CREATE INDEX found_cards_number ON found_cards(number, id);
        CREATE INDEX found_cards_state ON found_cards(state, id);

        -- "Tell the owner": the text to send; no messaging is done here (sent_at stays NULL).
        CREATE TABLE found_notifications (
            id INTEGER PRIMARY KEY,
            found_id INTEGER NOT NULL REFERENCES found_cards(id),
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            sent_at INTEGER
        );
        """
    )


@migrations(name="0003_intake")
def m0003_intake(db):
    """Exit-entry and traffic intake: one record per errand, with its receipt."""
    db.executescript(
        """
        CREATE TABLE intake_records (
            id INTEGER PRIMARY KEY,
            receipt TEXT NOT NULL UNIQUE,           -- EE-20261128-0001: category, day, sequence
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            ticket_id INTEGER NOT NULL,
            request_id INTEGER NOT NULL UNIQUE,     -- an errand is taken in once
            window INTEGER NOT NULL,
            clerk TEXT NOT NULL,
            id_number TEXT NOT NULL,                -- personal data: shown masked
            source TEXT NOT NULL CHECK (source IN ('reader', 'manual')),
            source_reason TEXT,
            fee_option TEXT,
            fee_yuan INTEGER,                       -- NULL: no fee was due
            documents TEXT NOT NULL,                -- JSON: the checklist the clerk confirmed
            created_at INTEGER NOT NULL
        );
        CREATE INDEX intake_day ON intake_records(day, receipt);
        """
    )


@migrations(name="0004_applications")
def m0004_applications(db):
    """Main ID-card applications: first, renewal (换领), replacement (补领), local or cross-region."""
    db.executescript(
        """
        CREATE TABLE applications (
            id INTEGER PRIMARY KEY,
            receipt TEXT NOT NULL UNIQUE,            -- SL-20261128-0001
            id_number TEXT NOT NULL,                 -- personal data: shown masked
            kind TEXT NOT NULL CHECK (kind IN ('first', 'renewal', 'replacement')),
            cross_region INTEGER NOT NULL CHECK (cross_region IN (0, 1)),
            state TEXT NOT NULL CHECK (state IN ('accepted', 'approved', 'received', 'collected', 'refused')),
            fee_yuan INTEGER NOT NULL,
            validity_years INTEGER,                  -- NULL: long-term (长期)
            accepted_on TEXT NOT NULL,
            due_on TEXT NOT NULL,
            approved_on TEXT,
            received_on TEXT,
            collected_on TEXT,
            refused_on TEXT,
            refused_reason TEXT,
            clerk TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('reader', 'manual')),
            source_reason TEXT,
            updated_at INTEGER NOT NULL
        );
        -- one open application per person, whatever the process
        CREATE UNIQUE INDEX applications_open ON applications(id_number)
            WHERE state IN ('accepted', 'approved', 'received');
        CREATE INDEX applications_due ON applications(state, due_on);
        """
    )


@migrations(name="0005_temp_cards")
def m0005_temp_cards(db):
    """Temporary resident ID cards (临时居民身份证) and the card printer's unconfirmed job."""
    db.executescript(
        """
        CREATE TABLE temp_cards (
            id INTEGER PRIMARY KEY,
            receipt TEXT NOT NULL UNIQUE,            -- LS-20261128-0001
            state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'refused', 'printed', 'voided')),
            id_number TEXT NOT NULL,                 -- personal data from here to photo: shown masked
            name TEXT NOT NULL,
            sex TEXT NOT NULL CHECK (sex IN ('1', '2')),
            nation_code TEXT NOT NULL,
            birth TEXT NOT NULL,
            address TEXT NOT NULL,
            photo BLOB NOT NULL,                     -- the black-and-white photo as printed, PNG
            basis TEXT NOT NULL CHECK (basis IN ('application', 'household_register', 'pending_receipt')),
            basis_ref TEXT NOT NULL,                 -- the application's receipt or the document's number
            agent_kind TEXT CHECK (agent_kind IN ('guardian', 'proxy')),
            agent_number TEXT,                       -- the guardian's or proxy's ID number
            agent_name TEXT,
            agent_document TEXT,                     -- a proxy's power of attorney
            cross_region INTEGER NOT NULL CHECK (cross_region IN (0, 1)),
            fee_yuan INTEGER NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('reader', 'manual')),
            source_reason TEXT,
            photo_source TEXT NOT NULL CHECK (photo_source IN ('reader', 'file')),
            requested_by TEXT NOT NULL,
            requested_at INTEGER NOT NULL,
            decided_by TEXT,                         -- the supervisor who approved or refused
            decided_at INTEGER,
            refused_reason TEXT,
            valid_from TEXT,                         -- the issue date, set by the first card printed
            valid_to TEXT,
            cards_printed INTEGER NOT NULL DEFAULT 0,
            printed_by TEXT,
            printed_at INTEGER,
            voided_by TEXT,
            voided_at INTEGER,
            void_reason TEXT,
            purged_at INTEGER,                       -- personal fields removed (cabin purge)
            updated_at INTEGER NOT NULL,
            CHECK (source = 'reader' OR source_reason IS NOT NULL),
            CHECK (state <> 'printed' OR (cards_printed > 0 AND valid_from IS NOT NULL))
        );
        -- one temporary card in the making per person, whatever the process
        CREATE UNIQUE INDEX temp_cards_open ON temp_cards(id_number) WHERE state IN ('requested', 'approved');
        CREATE INDEX temp_cards_number ON temp_cards(id_number, id);

        -- A card job sent to a printer and not yet confirmed, one per printer at most. Written
        -- before the first byte goes out; removed when the card is confirmed or found not
        -- printed. The printer's card counter at the start tells later, after a lost answer or a
        -- restart, whether that card came out (see kiosk/tempcards.py).
        CREATE TABLE card_jobs (
            printer TEXT PRIMARY KEY,                -- the printer's URL
            job_id TEXT NOT NULL UNIQUE,             -- LS-20261128-0001/1: the card's receipt and its nth card
            card_id INTEGER NOT NULL REFERENCES temp_cards(id),
            counter_before INTEGER NOT NULL,
            valid_from TEXT NOT NULL,                -- the face's dates, so a retry prints the same face
            valid_to TEXT NOT NULL,
            reprint_reason TEXT,
            clerk TEXT NOT NULL,
            started_at INTEGER NOT NULL
        );
        """
    )


@migrations(name="0006_purge")
def m0006_purge(db):
    """When a record's personal fields were removed by `cabin purge` (temp_cards has it already)."""
    for table in ("loss_reports", "found_cards", "intake_records", "applications"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN purged_at INTEGER")


@migrations(name="0007_card_job_serial")
def m0007_card_job_serial(db):
    """The card printer's serial number (`Rsn`) with each job, read with its counter: a counter
    read later on another printer (a swapped or reset one) says nothing about this job's card.
    NULL for a job sent before: it is settled by a supervisor (kiosk/tempcards.py)."""
    db.execute("ALTER TABLE card_jobs ADD COLUMN printer_serial TEXT")


@migrations(name="0008_card_counters")
def m0008_card_counters(db):
    """The guide's counters (domain.md 7.2): `counter_before` is the cards-inserted counter
    (`Rco;c`: a card counts when it leaves the feeder, even if it then jams); with it the panels
    printed (`Rco;p`, NULL for a job sent before: one card inserted is then settled by a
    supervisor) and the panels the job prints. A temporary card keeps how many of its cards were
    spoiled (left the feeder, came out or were taken out unprinted)."""
    db.execute("ALTER TABLE card_jobs ADD COLUMN panels_before INTEGER")
    db.execute("ALTER TABLE card_jobs ADD COLUMN panels INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE temp_cards ADD COLUMN cards_spoiled INTEGER NOT NULL DEFAULT 0")
