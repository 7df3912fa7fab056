"""Main ID-card applications at the counter: accept, follow through the flow, list the overdue.

The rules are cardrules.py's (validity by age, fee, deadline, the flow); this module records
them: one application per person open at a time (the database refuses a second too), every
step dated and in the audit log, the ID number stored in full and shown masked.
"""

from __future__ import annotations

from datetime import date

from cabin.config import StationConfig
from cabin.queue.clock import SystemClock, local_date
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError

from cabin.kiosk import identity
from cabin.kiosk.business import audit, cardrules
from cabin.kiosk.privacy import mask_id
from cabin.kiosk.business.accounts import COUNTER_ROLES, Account, check_actor
from cabin.kiosk.business.receipts import next_receipt
from cabin.kiosk.checks import check_source, clean_reason

_DATE_OF = {cardrules.State.APPROVED: "approved_on", cardrules.State.RECEIVED: "received_on",
            cardrules.State.COLLECTED: "collected_on", cardrules.State.REFUSED: "refused_on"}
_COLUMNS = ("receipt", "id_number", "kind", "cross_region", "state", "fee_yuan", "validity_years", "accepted_on",
            "due_on", "approved_on", "received_on", "collected_on", "refused_on", "refused_reason", "clerk",
            "source")


def public(row) -> dict:
    """An application as any screen or export may show it: the number masked."""
    d = {c: row[c] for c in _COLUMNS}
    d["number"] = mask_id(d.pop("id_number"))
    d["cross_region"] = bool(d["cross_region"])
    d["validity"] = "长期" if d["validity_years"] is None else f"{d['validity_years']} years"
    return d


class Applications:
    def __init__(self, store, config: StationConfig, clock=None):
        self.store, self.config = store, config
        self.tz = config.station.tz
        self.clock = clock or SystemClock(self.tz)

    def today(self) -> date:
        return local_date(self.clock.now_ms(), self.tz)

    @rerun_on_conflict
    def accept(self, number: str, kind: str, *, by: Account, source: str = "reader", reason: str | None = None) -> dict:
        try:
            kind = cardrules.Kind(kind)
        except ValueError:
            raise CabinError('unknown kind "{kind}" (first, renewal or replacement)', kind=kind) from None
        source, reason = check_source(source, reason)
        today = self.today()
        checked = identity.check(number, self.config.station.province, today=today)
        if not checked.valid:
            raise CabinError("the ID number {number} is not valid: {reason}",
                             number=mask_id(checked.number), reason=checked.reason)
        policy = self.config.id_card
        cardrules.check_allowed(kind, checked.cross_region, policy)
        validity = cardrules.validity_years(checked.birth, today)
        due = cardrules.deadline(today, checked.cross_region, policy)
        with self.store.write() as conn:
            clerk = check_actor(conn, by, *COUNTER_ROLES)
            if conn.execute("SELECT receipt FROM applications WHERE id_number = ? AND state IN ('accepted',"
                            " 'approved', 'received')", (checked.number,)).fetchone():
                raise CabinError("{number} already has an open application", number=mask_id(checked.number))
            now = self.clock.now_ms()
            receipt = next_receipt(conn, "applications", "SL", today.isoformat())
            conn.execute(
                "INSERT INTO applications (receipt, id_number, kind, cross_region, state, fee_yuan, validity_years,"
                " accepted_on, due_on, clerk, source, source_reason, updated_at)"
                " VALUES (?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?, ?, ?, ?)",
                (receipt, checked.number, kind.value, int(checked.cross_region), cardrules.fee(kind, policy),
                 validity, today.isoformat(), due.isoformat(), clerk.name, source, reason, now))
            audit.record(conn, clerk.name, "application.accept", receipt,
                         {"number": mask_id(checked.number), "kind": kind.value,
                          "cross_region": checked.cross_region, "source": source}, at=now)
            if kind is cardrules.Kind.REPLACEMENT:
                # 补领: the lost card is being replaced, so a found one handed in later is destroyed
                for loss in conn.execute("SELECT id, receipt FROM loss_reports WHERE number = ? AND state = 'reported'",
                                         (checked.number,)).fetchall():
                    conn.execute("UPDATE loss_reports SET state = 'replaced', closed_by = ?, closed_at = ? WHERE id = ?",
                                 (clerk.name, now, loss["id"]))
                    audit.record(conn, clerk.name, "loss.replaced", loss["receipt"],
                                 {"number": mask_id(checked.number), "application": receipt}, at=now)
            return public(self._row(conn, receipt))

    @rerun_on_conflict
    def advance(self, receipt: str, to: str, *, by: Account, reason: str | None = None) -> dict:
        try:
            target = cardrules.State(to)
        except ValueError:
            raise CabinError('unknown state "{state}" (approved, received, collected or refused)', state=to) from None
        # a refusal needs its reason (cardrules.advance); any reason given is checked as every reason is
        reason = clean_reason(reason, "reason") if reason is not None and reason.strip() else None
        with self.store.write() as conn:
            clerk = check_actor(conn, by, *COUNTER_ROLES)
            row = self._row(conn, receipt)
            cardrules.advance(cardrules.State(row["state"]), target, bool(row["cross_region"]), reason)
            now = self.clock.now_ms()
            column = _DATE_OF[target]
            conn.execute(f"UPDATE applications SET state = ?, {column} = ?, refused_reason = ?, updated_at = ?"
                         " WHERE receipt = ?",
                         (target.value, self.today().isoformat(), reason if target is cardrules.State.REFUSED
                          else row["refused_reason"], now, row["receipt"]))
            audit.record(conn, clerk.name, f"application.{target.value}", row["receipt"],
                         {"reason": reason} if reason else None, at=now)
            return public(self._row(conn, row["receipt"]))

    def show(self, receipt: str) -> dict:
        with self.store.read() as conn:
            return public(self._row(conn, receipt))

    def list(self, state: str | None = None, overdue: bool = False) -> list[dict]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM applications ORDER BY due_on, receipt").fetchall()
        today = self.today()
        return [public(r) for r in rows
                if (state is None or r["state"] == state)
                and (not overdue or cardrules.is_overdue(cardrules.State(r["state"]), date.fromisoformat(r["due_on"]), today))]

    @staticmethod
    def _row(conn, receipt: str):
        row = conn.execute("SELECT * FROM applications WHERE receipt = ?", ((receipt or "").strip().upper(),)).fetchone()
        if row is None:
            raise CabinError("there is no application {receipt}", receipt=audit.printable(receipt or ""))
        return row
