"""Retention: personal fields removed once a record has been closed for longer than the period.

domain.md 6: keep personal data only as long as the errand needs it, then purge the personal
fields and keep anonymous statistics. `purge(store, days)` takes every CLOSED record whose
closing is more than `days` days old and, in one transaction:
- replaces the ID number by its region code and stars (`350206************`): the region
  (local or cross-region) still counts, the person is gone;
- empties names, phones, addresses, places, birth dates, photos, agents, document references and
  every free-text reason typed at the counter (they may name people);
- stamps `purged_at`.
Bookings (预约, kiosk/business/appointments.py) are closed once their slot has ended, checked in
or not: their phone_last4 becomes PHONE_GONE; their state, on_time and times stay, so the
export's booked/checked-in/on-time/no-show of a purged day are what they were.
Open records (a loss report still reported, a card held, an application or a temporary card in
progress, a printed temporary card still valid) are never touched, whatever their age. The
queue (tickets, errands, events) holds no personal data, and the audit log holds masked numbers
(but also the reasons clerks typed, as they typed them: it is append-only evidence and is never
rewritten, so a reason must not name anyone), so both stay whole: every export figure can still be
recomputed and `cabin audit verify` still holds. The purge itself is one audit entry with the counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError

from cabin.kiosk.business import audit
from cabin.kiosk.business.sqldialect import POSTGRESQL, SQLITE, dialect_of

DAY_MS = 86_400_000
GONE = "(purged)"
PHONE_GONE = "****"  # a purged booking's phone_last4: its table's CHECK allows it with purged_at alone

# Where SQLite and PostgreSQL spell it differently
_LARGER = {SQLITE: "max", POSTGRESQL: "greatest"}  # the larger of two values
_DAY_AFTER_MS = {  # ms since the epoch at 00:00 UTC of the day after the ISO date {day}
    SQLITE: "(julianday({day}, '+1 day') - 2440587.5) * 86400000",
    POSTGRESQL: "EXTRACT(EPOCH FROM CAST({day} AS DATE) + 1) * 1000",
}
_NO_BYTES = {SQLITE: "x''", POSTGRESQL: "CAST('' AS BYTEA)"}


def anonymous(number_column: str, dialect: str) -> str:
    """SQL: the region code kept, the rest starred, whatever the length."""
    return (f"substr({number_column}, 1, 6) ||"
            f" substr('******************', 1, {_LARGER[dialect]}(length({number_column}) - 6, 0))")


@dataclass(frozen=True)
class Rule:
    table: str
    closed: str        # SQL: the record is closed (its ? are `closed_params`, by name)
    closed_at: str     # SQL: ms since the epoch when it was closed
    sets: str          # SQL SET clause for the personal fields
    closed_params: tuple[str, ...] = ()


@functools.cache
def rules(dialect: str) -> tuple[Rule, ...]:
    """What is purged, table by table, in the SQL of `dialect`."""
    def anon(column: str) -> str:
        return anonymous(column, dialect)

    return (
        Rule("loss_reports", "state IN ('cancelled', 'replaced')", "closed_at",
             f"number = {anon('number')}, source_reason = CASE WHEN source_reason IS NULL THEN NULL ELSE '{GONE}' END,"
             f" close_reason = CASE WHEN close_reason IS NULL THEN NULL ELSE '{GONE}' END"),
        Rule("found_cards", "state IN ('destroyed', 'returned')", "coalesce(returned_at, destroyed_at)",
             f"number = {anon('number')}, finder_name = '{GONE}', finder_phone = '{GONE}', place = '{GONE}',"
             f" returned_reason = CASE WHEN returned_reason IS NULL THEN NULL ELSE '{GONE}' END,"
             f" destroyed_reason = CASE WHEN destroyed_reason IS NULL THEN NULL ELSE '{GONE}' END"),
        Rule("intake_records", "1 = 1", "created_at",
             f"id_number = {anon('id_number')},"
             f" source_reason = CASE WHEN source_reason IS NULL THEN NULL ELSE '{GONE}' END"),
        Rule("applications", "state IN ('collected', 'refused')", "updated_at",
             f"id_number = {anon('id_number')}, source_reason = CASE WHEN source_reason IS NULL THEN NULL ELSE '{GONE}' END,"
             f" refused_reason = CASE WHEN refused_reason IS NULL THEN NULL ELSE '{GONE}' END"),
        # a printed temporary card is in use until it expires: its closing is the day after valid_to
        Rule("temp_cards", "(state IN ('refused', 'voided') OR (state = 'printed' AND valid_to < ?))",
             f"CASE WHEN state = 'printed' THEN {_DAY_AFTER_MS[dialect].format(day='valid_to')} ELSE updated_at END",
             f"id_number = {anon('id_number')}, name = '', birth = '', address = '', photo = {_NO_BYTES[dialect]},"
             f" agent_number = NULL, agent_name = NULL, agent_document = NULL, basis_ref = '{GONE}',"
             f" source_reason = CASE WHEN source_reason IS NULL THEN NULL ELSE '{GONE}' END,"
             f" refused_reason = CASE WHEN refused_reason IS NULL THEN NULL ELSE '{GONE}' END,"
             f" void_reason = CASE WHEN void_reason IS NULL THEN NULL ELSE '{GONE}' END",
             closed_params=("today",)),
        Rule("appointments", "1 = 1", "slot_end", f"phone_last4 = '{PHONE_GONE}'"),
    )


def purge(store, older_than_days: int, now_ms: int, today: str) -> dict:
    """Purge what closed more than `older_than_days` days before `now_ms`; the counts per table."""
    if older_than_days < 1:
        raise CabinError("--older-than must be at least 1 day")
    cutoff = now_ms - older_than_days * DAY_MS
    return {"older_than_days": older_than_days, "purged": _purged(store, older_than_days, cutoff, now_ms, today)}


@rerun_on_conflict
def _purged(store, older_than_days: int, cutoff: int, now_ms: int, today: str) -> dict:
    """The purge in one transaction with its audit entry: the counts per table."""
    counts = {}
    with store.write() as conn:
        values = {"today": today}
        for rule in rules(dialect_of(conn)):
            where = f"purged_at IS NULL AND {rule.closed} AND {rule.closed_at} < ?"
            cur = conn.execute(f"UPDATE {rule.table} SET {rule.sets}, purged_at = ? WHERE {where}",
                               [now_ms, *(values[name] for name in rule.closed_params), cutoff])
            counts[rule.table] = cur.rowcount
        notes = conn.execute(
            "DELETE FROM found_notifications WHERE found_id IN (SELECT id FROM found_cards WHERE purged_at = ?)",
            (now_ms,)).rowcount
        counts["found_notifications"] = notes
        audit.record(conn, None, "purge", None, {"older_than_days": older_than_days, "counts": counts}, at=now_ms)
    return counts
