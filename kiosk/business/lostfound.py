"""Loss reports (挂失, 解挂) and found cards (招领): domain.md section 4. Textual-free.

- A loss report is made in person only: the number of the person at the counter (read from
  their card, or typed with a reason) must equal the reported card's number. One open
  ("reported") loss report per ID number. Its receipt is GS-YYYYMMDD-NNNN, numbered per day
  (the station's day; one database per station). Cancelling it (解挂) needs the person and the
  card: the number presented must equal the report's, and it must still be "reported".
  `mark_replaced` closes it when the owner has had the card replaced (补领).
- A found card is registered with its finder (name, phone), place and date. If the owner has
  already replaced the card (a loss report of that number marked "replaced", or the clerk says
  so) it is "destroyed" and logged; otherwise it is "held" and a notification row holds the text
  to send the owner; `notified` records that the owner was told (by phone, SMS or letter: the
  way goes to the audit log), and `list_found(to_notify=True)` lists the held cards whose owner
  has not been told yet. Handing it over checks the owner's number against the card's: "returned".
- A loss report and a found card of one ID number meet whichever comes first: each record
  carries the open records of the other kind (a loss report the held found cards of its number;
  a found card the latest reported-or-replaced loss report of its number).

Every operation is one write transaction with its audit entry, attributed to the clerk
(accounts.check_actor). ID numbers, finders' names and phones are stored whole; every output
(`public()`, repr, exceptions, audit entries) shows them masked (domain.md section 6).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date

from cabin.queue.clock import EARLIEST_DAY, SystemClock, local_date, local_day
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError

from cabin.kiosk import identity
from cabin.kiosk.business import audit
from cabin.kiosk.privacy import mask_id, mask_name, mask_phone
from cabin.kiosk.checks import check_source, clean_phone, clean_required
from cabin.kiosk.business.accounts import COUNTER_ROLES, Account, check_actor
from cabin.kiosk.business.receipts import next_receipt

LOSS_STATES = ("reported", "cancelled", "replaced")
FOUND_STATES = ("held", "destroyed", "returned")
NOTIFY_WAYS = ("phone", "sms", "letter")
RECEIPT_PREFIX = "GS"


# -- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossReport:
    id: int
    receipt: str
    number: str = field(repr=False)
    state: str
    source: str
    source_reason: str | None
    reported_by: str
    reported_at: int
    closed_by: str | None
    closed_at: int | None
    close_source: str | None
    close_reason: str | None
    found: tuple["FoundCard", ...] = ()   # held found cards of the same number

    @property
    def number_masked(self) -> str:
        return mask_id(self.number)

    def __repr__(self) -> str:
        return f"LossReport({self.receipt}, {self.number_masked}, {self.state}, found={[f.id for f in self.found]})"

    def public(self) -> dict:
        """For every output: the number masked."""
        return {
            "kind": "loss_report", "id": self.id, "receipt": self.receipt, "number": self.number_masked,
            "state": self.state, "source": self.source, "source_reason": self.source_reason,
            "reported_by": self.reported_by, "reported_at": self.reported_at,
            "closed_by": self.closed_by, "closed_at": self.closed_at,
            "close_source": self.close_source, "close_reason": self.close_reason,
            "found": [f.public(nested=True) for f in self.found],
        }


@dataclass(frozen=True)
class FoundCard:
    id: int
    number: str = field(repr=False)
    state: str
    finder_name: str = field(repr=False)
    finder_phone: str = field(repr=False)
    place: str
    found_on: str
    registered_by: str
    registered_at: int
    destroyed_reason: str | None
    destroyed_at: int | None
    returned_by: str | None
    returned_at: int | None
    returned_source: str | None
    returned_reason: str | None
    loss: LossReport | None = None         # the open or replaced loss report of the same number
    notification: str | None = None        # the text to send the owner, if one was written
    notified_at: int | None = None         # when the owner was told (None: not yet)

    @property
    def number_masked(self) -> str:
        return mask_id(self.number)

    def __repr__(self) -> str:
        return f"FoundCard({self.id}, {self.number_masked}, {self.state}, loss={self.loss.receipt if self.loss else None})"

    def public(self, nested: bool = False) -> dict:
        d = {
            "kind": "found_card", "id": self.id, "number": self.number_masked, "state": self.state,
            "finder_name": mask_name(self.finder_name), "finder_phone": mask_phone(self.finder_phone),
            "place": self.place, "found_on": self.found_on,
            "registered_by": self.registered_by, "registered_at": self.registered_at,
            "destroyed_reason": self.destroyed_reason, "destroyed_at": self.destroyed_at,
            "returned_by": self.returned_by, "returned_at": self.returned_at,
            "returned_source": self.returned_source, "returned_reason": self.returned_reason,
            "notification": self.notification, "notified_at": self.notified_at,
        }
        if not nested:
            d["loss"] = None if self.loss is None else {
                k: v for k, v in self.loss.public().items() if k != "found"}
        return d


_LOSS_COLS = ("id, receipt, number, state, source, source_reason, reported_by, reported_at,"
              " closed_by, closed_at, close_source, close_reason")
_FOUND_COLS = ("id, number, state, finder_name, finder_phone, place, found_on, registered_by, registered_at,"
               " destroyed_reason, destroyed_at, returned_by, returned_at, returned_source, returned_reason")


def _notification(conn: sqlite3.Connection, found_id: int) -> tuple[str | None, int | None]:
    """The latest notification's text and when it was sent (None, None: none written)."""
    row = conn.execute("SELECT text, sent_at FROM found_notifications WHERE found_id = ? ORDER BY id DESC LIMIT 1",
                       [found_id]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _found(conn: sqlite3.Connection, row, with_loss: bool = True) -> FoundCard:
    text, sent_at = _notification(conn, row[0])
    card = FoundCard(*tuple(row), notification=text, notified_at=sent_at)
    if with_loss:
        loss_row = conn.execute(
            f"SELECT {_LOSS_COLS} FROM loss_reports WHERE number = ? AND state IN ('reported', 'replaced')"
            " ORDER BY id DESC LIMIT 1", [card.number]).fetchone()
        if loss_row is not None:
            card = FoundCard(**{**card.__dict__, "loss": _loss(conn, loss_row, with_found=False)})
    return card


def _loss(conn: sqlite3.Connection, row, with_found: bool = True) -> LossReport:
    report = LossReport(*tuple(row))
    if with_found:
        found = tuple(_found(conn, r, with_loss=False) for r in conn.execute(
            f"SELECT {_FOUND_COLS} FROM found_cards WHERE number = ? AND state = 'held' ORDER BY id",
            [report.number]))
        report = LossReport(**{**report.__dict__, "found": found})
    return report


class LostFound:
    def __init__(self, store, config, clock=None):
        """`store`: a cabin.queue.store.Store as cabin.kiosk.station opens it;
        `config`: the station config (province for ID checks, time zone for the receipt day)."""
        self.store = store
        self.config = config
        self.tz = config.station.tz
        self.clock = clock or SystemClock(self.tz)

    # -- helpers ------------------------------------------------------------------------------
    def today(self) -> date:
        return local_date(self.clock.now_ms(), self.tz)

    def number(self, text: str, what: str = "ID number") -> str:
        """The normalised number, or CabinError naming it masked."""
        check = identity.check(text or "", province=self.config.station.province, today=self.today())
        if not check.valid:
            raise CabinError("the {what} {number} is not valid: {reason}",
                             what=what, number=mask_id(check.number), reason=check.reason)
        return check.number

    def _receipt(self, conn: sqlite3.Connection, now: int) -> str:
        return next_receipt(conn, "loss_reports", RECEIPT_PREFIX, local_day(now, self.tz))

    @staticmethod
    def _loss_row(conn, receipt: str):
        row = conn.execute(f"SELECT {_LOSS_COLS} FROM loss_reports WHERE receipt = ?",
                           [(receipt or "").strip().upper()]).fetchone()
        if row is None:
            raise CabinError("there is no loss report {receipt}", receipt=audit.printable(receipt))
        return row

    @staticmethod
    def _found_row(conn, found_id: int):
        row = conn.execute(f"SELECT {_FOUND_COLS} FROM found_cards WHERE id = ?", [found_id]).fetchone()
        if row is None:
            raise CabinError("there is no found card {found_id}", found_id=found_id)
        return row

    # -- loss reports -------------------------------------------------------------------------
    @rerun_on_conflict
    def report_loss(self, number: str, *, by: Account, applicant: str | None = None,
                    source: str = "reader", reason: str | None = None) -> LossReport:
        """A loss report of the card `number`, made in person by `applicant` (the number of the
        person at the counter; defaults to `number`). Returns it with any held found cards."""
        card = self.number(number, "reported card's number")
        person = self.number(applicant if applicant is not None else number, "applicant's ID number")
        source, reason = check_source(source, reason)
        if person != card:
            raise CabinError("a loss report is made in person only: the applicant {applicant}"
                             " is not the card's holder {holder}",
                             applicant=mask_id(person), holder=mask_id(card))
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            now = self.clock.now_ms()
            open_row = conn.execute("SELECT receipt FROM loss_reports WHERE number = ? AND state = 'reported'",
                                    [card]).fetchone()
            if open_row is not None:
                raise CabinError("{number} already has an open loss report, {receipt}",
                                 number=mask_id(card), receipt=open_row[0])
            receipt = self._receipt(conn, now)
            loss_id = conn.execute(
                "INSERT INTO loss_reports (receipt, number, state, source, source_reason, reported_by, reported_at)"
                " VALUES (?, ?, 'reported', ?, ?, ?, ?) RETURNING id", [receipt, card, source, reason, actor, now]
            ).fetchone()[0]
            report = _loss(conn, conn.execute(f"SELECT {_LOSS_COLS} FROM loss_reports WHERE id = ?",
                                              [loss_id]).fetchone())
            audit.record(conn, actor, "loss.report", receipt,
                         {"number": mask_id(card), "source": source, "reason": reason,
                          "found": [f.id for f in report.found]}, at=now)
            return report

    @rerun_on_conflict
    def cancel_loss(self, receipt: str, *, number: str, by: Account, source: str = "reader",
                    reason: str | None = None) -> LossReport:
        """解挂: the person brings the card; `number` (read from it or typed) must be the report's."""
        presented = self.number(number, "presented card's number")
        source, reason = check_source(source, reason)
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            now = self.clock.now_ms()
            row = self._loss_row(conn, receipt)
            report = LossReport(*tuple(row))
            if presented != report.number:
                raise CabinError("the card presented ({number}) is not the one reported in {receipt}",
                                 number=mask_id(presented), receipt=report.receipt)
            if report.state != "reported":
                raise CabinError("{receipt} is {state}, not reported: it cannot be cancelled",
                                 receipt=report.receipt, state=report.state)
            conn.execute("UPDATE loss_reports SET state = 'cancelled', closed_by = ?, closed_at = ?, close_source = ?,"
                         " close_reason = ? WHERE id = ?", [actor, now, source, reason, report.id])
            audit.record(conn, actor, "loss.cancel", report.receipt,
                         {"number": mask_id(report.number), "source": source, "reason": reason}, at=now)
            return _loss(conn, conn.execute(f"SELECT {_LOSS_COLS} FROM loss_reports WHERE id = ?",
                                            [report.id]).fetchone())

    @rerun_on_conflict
    def mark_replaced(self, receipt: str, *, by: Account) -> LossReport:
        """The owner has had the card replaced (补领): the report is closed as "replaced", and a
        found card of that number handed in later is destroyed."""
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            now = self.clock.now_ms()
            report = LossReport(*tuple(self._loss_row(conn, receipt)))
            if report.state != "reported":
                raise CabinError("{receipt} is {state}, not reported", receipt=report.receipt, state=report.state)
            conn.execute("UPDATE loss_reports SET state = 'replaced', closed_by = ?, closed_at = ? WHERE id = ?",
                         [actor, now, report.id])
            audit.record(conn, actor, "loss.replaced", report.receipt,
                         {"number": mask_id(report.number)}, at=now)
            return _loss(conn, conn.execute(f"SELECT {_LOSS_COLS} FROM loss_reports WHERE id = ?",
                                            [report.id]).fetchone())

    def get_loss(self, receipt: str) -> LossReport:
        with self.store.read() as conn:
            return _loss(conn, self._loss_row(conn, receipt))

    def list_losses(self, state: str | None = None) -> list[LossReport]:
        if state is not None and state not in LOSS_STATES:
            raise CabinError('unknown state "{state}" ({states})', state=audit.printable(state),
                             states=", ".join(LOSS_STATES))
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        with self.store.read() as conn:
            return [_loss(conn, r) for r in conn.execute(
                f"SELECT {_LOSS_COLS} FROM loss_reports {where} ORDER BY id", params).fetchall()]

    # -- found cards --------------------------------------------------------------------------
    @rerun_on_conflict
    def register_found(self, number: str, *, finder: str, phone: str, place: str, found_on: str | date,
                       by: Account, replaced: bool = False) -> FoundCard:
        """A card handed in. Destroyed (and logged) if the owner has replaced it (`replaced`, or a
        loss report of the number marked replaced); else held, with a notification for the owner.
        Returns it with the matching loss report, if any."""
        card = self.number(number, "found card's number")
        finder = clean_required(finder, "finder's name", max_length=64)
        phone = clean_phone(phone)
        place = clean_required(place, "place found")
        try:
            day = found_on if isinstance(found_on, date) else date.fromisoformat(str(found_on).strip())
        except ValueError:
            raise CabinError('the date found "{found_on}" is not a date (YYYY-MM-DD)',
                             found_on=audit.printable(found_on)) from None
        if day > self.today():
            raise CabinError("the date found {found_on} is in the future", found_on=day.isoformat())
        if day < EARLIEST_DAY:
            raise CabinError("the date found {found_on} is before {earliest}: check the year",
                             found_on=day.isoformat(), earliest=EARLIEST_DAY.isoformat())
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            now = self.clock.now_ms()
            replaced_by_report = conn.execute(
                "SELECT receipt FROM loss_reports WHERE number = ? AND state = 'replaced' ORDER BY id DESC LIMIT 1",
                [card]).fetchone()
            if replaced or replaced_by_report:
                why = ("the clerk says the owner has replaced the card" if replaced
                       else f"the owner has replaced the card (loss report {replaced_by_report[0]})")
                found_id = conn.execute(
                    "INSERT INTO found_cards (number, state, finder_name, finder_phone, place, found_on,"
                    " registered_by, registered_at, destroyed_reason, destroyed_at)"
                    " VALUES (?, 'destroyed', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [card, finder, phone, place, day.isoformat(), actor, now, why, now]).fetchone()[0]
            else:
                found_id = conn.execute(
                    "INSERT INTO found_cards (number, state, finder_name, finder_phone, place, found_on,"
                    " registered_by, registered_at) VALUES (?, 'held', ?, ?, ?, ?, ?, ?) RETURNING id",
                    [card, finder, phone, place, day.isoformat(), actor, now]).fetchone()[0]
                text = (f"您的居民身份证（{mask_id(card)}）已被拾获并交至{self.config.station.name}，"
                        f"请本人携带身份证明前来领取。 Your resident ID card ({mask_id(card)}) was handed in at"
                        f" {self.config.station.name_en}; please collect it in person.")
                conn.execute("INSERT INTO found_notifications (found_id, text, created_at) VALUES (?, ?, ?)",
                             [found_id, text, now])
            found = _found(conn, self._found_row(conn, found_id))
            detail = {"number": found.number_masked, "state": found.state,
                      "finder": mask_name(finder), "phone": mask_phone(phone), "place": place,
                      "found_on": found.found_on, "loss": found.loss.receipt if found.loss else None}
            audit.record(conn, actor, "found.register", f"found:{found.id}", detail, at=now)
            if found.state == "destroyed":
                audit.record(conn, actor, "found.destroy", f"found:{found.id}",
                             {"number": found.number_masked, "reason": found.destroyed_reason}, at=now)
            else:
                audit.record(conn, actor, "found.notify", f"found:{found.id}",
                             {"number": found.number_masked}, at=now)
            return found

    @rerun_on_conflict
    def handover(self, found_id: int, *, number: str, by: Account, source: str = "reader",
                 reason: str | None = None) -> FoundCard:
        """The owner collects a held card: `number` (read or typed) must be the card's."""
        presented = self.number(number, "owner's ID number")
        source, reason = check_source(source, reason)
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            now = self.clock.now_ms()
            card = FoundCard(*tuple(self._found_row(conn, found_id)))
            if presented != card.number:
                raise CabinError("the person's number ({number}) is not the card's ({card}): only the owner collects it",
                                 number=mask_id(presented), card=card.number_masked)
            if card.state != "held":
                raise CabinError("found card {found_id} is {state}, not held: it cannot be handed over",
                                 found_id=card.id, state=card.state)
            conn.execute("UPDATE found_cards SET state = 'returned', returned_by = ?, returned_at = ?,"
                         " returned_source = ?, returned_reason = ? WHERE id = ?",
                         [actor, now, source, reason, card.id])
            audit.record(conn, actor, "found.handover", f"found:{card.id}",
                         {"number": card.number_masked, "source": source, "reason": reason}, at=now)
            # the owner has the card back and is here in person: the loss report is cancelled (解挂)
            for loss in conn.execute("SELECT id, receipt FROM loss_reports WHERE number = ? AND state = 'reported'",
                                     [card.number]).fetchall():
                conn.execute("UPDATE loss_reports SET state = 'cancelled', closed_by = ?, closed_at = ?,"
                             " close_source = ?, close_reason = ? WHERE id = ?",
                             [actor, now, source, f"the card came back as found card {card.id}", loss["id"]])
                audit.record(conn, actor, "loss.cancel", loss["receipt"],
                             {"number": card.number_masked, "source": source, "found": card.id}, at=now)
            return _found(conn, self._found_row(conn, card.id))

    def get_found(self, found_id: int) -> FoundCard:
        with self.store.read() as conn:
            return _found(conn, self._found_row(conn, found_id))

    def list_found(self, state: str | None = None, *, to_notify: bool = False) -> list[FoundCard]:
        """Found cards, oldest first; `to_notify`: the held ones whose owner has not been told."""
        if state is not None and state not in FOUND_STATES:
            raise CabinError('unknown state "{state}" ({states})', state=audit.printable(state),
                             states=", ".join(FOUND_STATES))
        if to_notify:
            if state not in (None, "held"):
                return []  # only a held card's owner is told
            state = "held"
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        with self.store.read() as conn:
            cards = [_found(conn, r) for r in conn.execute(
                f"SELECT {_FOUND_COLS} FROM found_cards {where} ORDER BY id", params).fetchall()]
        return [c for c in cards if c.notification and c.notified_at is None] if to_notify else cards

    @rerun_on_conflict
    def notified(self, found_id: int, *, by: Account, how: str) -> FoundCard:
        """The owner of a held card has been told (`how`: phone, sms or letter), by the clerk."""
        if how not in NOTIFY_WAYS:
            raise CabinError('unknown way "{how}" (phone, sms or letter)', how=audit.printable(how))
        with self.store.write() as conn:
            actor = check_actor(conn, by, *COUNTER_ROLES).name
            found = _found(conn, self._found_row(conn, found_id), with_loss=False)
            if found.state != "held":
                raise CabinError("found card {found_id} is {state}: only a held card's owner is told",
                                 found_id=found_id, state=found.state)
            if found.notified_at is not None:
                raise CabinError("the owner of found card {found_id} has been told already", found_id=found_id)
            now = self.clock.now_ms()
            conn.execute("UPDATE found_notifications SET sent_at = ? WHERE id = (SELECT MAX(id) FROM"
                         " found_notifications WHERE found_id = ?) AND sent_at IS NULL", [now, found_id])
            audit.record(conn, actor, "found.notified", f"found:{found_id}",
                         {"number": found.number_masked, "how": how}, at=now)
            return _found(conn, self._found_row(conn, found_id))
