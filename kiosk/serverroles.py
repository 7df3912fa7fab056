"""The accounts of a station on a PostgreSQL server, with least privilege (README "A station of
several PCs"): what each one may do to each table, declared once here. `cabin store grants`
prints the SQL from it, `cabin doctor` checks the connected account against it, and the tests run
a window's operations under exactly these grants.

- the owner owns the database and its tables: it applies the migrations (a new Cabin's first
  start) and nothing else connects as it;
- a clerk (the window PCs, the dispenser, the supervisor) reads every table and inserts and
  updates what the counter's operations change, but may not change the schema, and may neither
  update nor delete the audit log or the queue's events: those only grow;
- the board reads the queue's tables (no personal data is in them), and nothing more: not the
  counter's records, not the accounts, not the station secret (a row of meta, kiosk/station.py
  station_secret, hidden from it by a row-level policy).
"""

from __future__ import annotations

import re

from cabin.kiosk.station import SECRET_ROW

# What a clerk's account does to each table beyond reading it. A table of the schema missing here
# is caught by tests/kiosk/cli/test_server_roles.py: every new table gets its line.
CLERK_WRITES: dict[str, tuple[str, ...]] = {
    "meta": ("INSERT", "UPDATE"),                 # the day's roll-over, the station secret
    "tickets": ("INSERT", "UPDATE"),
    "windows": ("INSERT", "UPDATE"),              # synchronised from the config
    "requests": ("INSERT", "UPDATE"),
    "events": ("INSERT",),                        # append-only
    "accounts": ("INSERT", "UPDATE"),             # sign-in counts failures; supervisors manage staff
    "audit": ("INSERT",),                         # append-only
    "loss_reports": ("INSERT", "UPDATE"),
    "found_cards": ("INSERT", "UPDATE"),
    "found_notifications": ("INSERT", "UPDATE", "DELETE"),  # a purged card's notices go
    "intake_records": ("INSERT", "UPDATE"),
    "applications": ("INSERT", "UPDATE"),
    "temp_cards": ("INSERT", "UPDATE"),
    "card_jobs": ("INSERT", "UPDATE", "DELETE"),  # a job is removed once its card is settled
    "appointments": ("INSERT", "UPDATE"),         # imported, then checked in
    "ratings": ("INSERT", "UPDATE"),              # a rating, then its follow-up (整改)
    "cabin_migrations": (),                       # read at start: is the schema up to date
}
# What the board reads: the queue and the record of migrations.
BOARD_READS = ("meta", "tickets", "windows", "requests", "events", "cabin_migrations")

DEFAULT_ROLES = {"owner": "cabin_owner", "clerk": "cabin_clerk", "board": "cabin_board"}


def _name(role: str) -> str:
    """A role's name as SQL: as it is when it is a plain lower-case name, else quoted."""
    return role if re.fullmatch(r"[a-z_][a-z0-9_]*", role) else '"' + role.replace('"', '""') + '"'


def grants_sql(clerk: str = DEFAULT_ROLES["clerk"], board: str = DEFAULT_ROLES["board"]) -> str:
    """What the database's owner runs after the migrations, and again after an upgrade that adds
    a table: a clerk's and a board's privileges, nothing more. Runs again without error."""
    c, b = _name(clerk), _name(board)
    lines = [f"GRANT USAGE ON SCHEMA public TO {c}, {b};",
             f"GRANT SELECT ON {', '.join(CLERK_WRITES)} TO {c};",
             f"GRANT SELECT ON {', '.join(BOARD_READS)} TO {b};"]
    for privilege in ("INSERT", "UPDATE", "DELETE"):
        tables = [t for t, privileges in CLERK_WRITES.items() if privilege in privileges]
        lines.append(f"GRANT {privilege} ON {', '.join(tables)} TO {c};")
    lines += ["ALTER TABLE meta ENABLE ROW LEVEL SECURITY;",
              "DROP POLICY IF EXISTS clerk_meta ON meta;",
              f"CREATE POLICY clerk_meta ON meta TO {c} USING (true);",
              "DROP POLICY IF EXISTS board_meta ON meta;",
              f"CREATE POLICY board_meta ON meta FOR SELECT TO {b} USING (key <> '{SECRET_ROW}');"]
    return "\n".join(lines) + "\n"


def privileges_check(conn) -> dict:
    """What the connection's account may do, against what a station's PC needs: {"access":
    "read-write" (a clerk's or the owner's), "read-only" (a board's: the queue's tables, no
    write) or "insufficient" (a table it cannot read, or some writes and not others), "missing":
    ["INSERT on audit", ...]}. has_table_privilege is PostgreSQL's: for a server only."""

    def lacking(wanted: dict[str, tuple[str, ...]]) -> list[str]:
        return [f"{p} on {t}" for t, privileges in wanted.items() for p in privileges
                if not conn.execute("SELECT has_table_privilege(current_user, ?, ?)", (t, p)).fetchone()[0]]

    unreadable = lacking({t: ("SELECT",) for t in BOARD_READS})
    if unreadable:
        return {"access": "insufficient", "missing": unreadable}
    missing = lacking({t: ("SELECT",) for t in CLERK_WRITES if t not in BOARD_READS}) + lacking(CLERK_WRITES)
    if not missing:
        return {"access": "read-write", "missing": []}
    everything = len(CLERK_WRITES) - len(BOARD_READS) + sum(len(privileges) for privileges in CLERK_WRITES.values())
    # some of a clerk's privileges and not others: a window's operations would fail half-way
    return {"access": "read-only" if len(missing) == everything else "insufficient", "missing": missing}
