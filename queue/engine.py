"""The queue engine: one ticket, several errands, no second queue.

Every operation is one write transaction of the store: it checks, changes the rows and appends
its events together, or refuses (CabinError) and changes nothing. On a PostgreSQL server an
operation that met another host's at the same rows is run again whole (queue/conflicts.py). The rules are written out in
the README ("Routing"); `routing.py` holds the pick, `estimate.py` the wait estimate.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from contextlib import contextmanager
from typing import Iterator

from cabin.config import DEFAULT_PRIORITY, StationConfig

from cabin.queue import estimate, routing
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.clock import SystemClock, local_day
from cabin.queue.errors import CabinError, Conflict, NothingToCall, Said
from cabin.queue.results import (
    AtWindow,
    Call,
    Cancelled,
    Completed,
    Errand,
    Issued,
    MarkedNoShow,
    Outlook,
    QueueState,
    Reactivated,
    Recalled,
    Started,
    Ticket,
    Transferred,
    WindowChanged,
    WindowState,
)
from cabin.queue.store import Store

CHANNELS = ("dispenser", "counter", "appointment")  # where a ticket was issued; the first by default
LIVE = ("pending", "waiting", "called", "serving")  # request states that are not final
AT_WINDOW = ("called", "serving")
# PostgreSQL advisory locks (key pair: this, the prefix's code point) serialising one prefix's
# numbering at READ COMMITTED; the pair's key space is apart from the single-key locks'
NUMBERING_LOCK = 0x4361624E  # "CabN"


class _Tx:
    """One open write transaction, its time and day, and the event writer."""

    def __init__(self, conn: sqlite3.Connection, now: int, day: str, clerk: str | None, claiming: bool = False):
        self.conn, self.now, self.day, self.clerk = conn, now, day, clerk
        # READ COMMITTED on a server, locking what is decided on (Station._tx): the one place
        # where the engine's SQL differs between the stores
        self.claiming = claiming
        self.events: list[tuple] = []

    def event(self, kind: str, *, ticket_id=None, request_id=None, service=None, window=None, detail=None) -> None:
        """Append an event; they are written together just before the commit."""
        self.events.append((self.now, self.day, kind, ticket_id, request_id, service, window, self.clerk,
                            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None))

    def flush(self) -> None:
        if self.events:
            self.conn.executemany(
                "INSERT INTO events (at, day, kind, ticket_id, request_id, service, \"window\", clerk, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.events)
            self.events.clear()

    def set_request(self, req: sqlite3.Row | dict, state: str, kind: str, *, at_window=None, detail=None, **columns) -> None:
        """Move a request to `state` and write the event that says so."""
        sets = ", ".join(f'"{c}" = ?' for c in columns)  # quoted: PostgreSQL reserves "window"
        self.conn.execute(
            f"UPDATE requests SET state = ?, updated_at = ?{', ' + sets if sets else ''} WHERE id = ?",
            (state, self.now, *columns.values(), req["id"]),
        )
        self.event(kind, ticket_id=req["ticket_id"], request_id=req["id"], service=req["service"],
                   window=at_window, detail=detail)


class Station:
    # On a server, operations that can lock what they decide on run at READ COMMITTED (see _tx).
    # False: every operation at SERIALIZABLE, run again on each conflict; `make bench` measures both.
    locks_on_server = True

    def __init__(self, store: Store, config: StationConfig, clock=None, clerk: str | None = None):
        self.store = store
        self.config = config
        self.tz = config.station.tz
        self.clock = clock or SystemClock(self.tz)
        self.clerk = clerk
        self._rolled_day: str | None = None  # a day this process has seen rolled: no check needed
        # The windows table follows the config, but only inside the first write transaction: a
        # command refused before it writes (an unknown service on a fresh database) leaves the
        # database as it found it.
        self._windows_synced = self._windows_in_step()

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def _tx(self, *, locks: bool = False) -> Iterator[_Tx]:
        """One write transaction of the store.

        locks: the operation takes a lock on what it decides on before deciding, so that on a
        server it may run at READ COMMITTED (tx.claiming), where each statement sees what others
        committed before it. Two kinds do so:
        - those reached through one window's row (what the window calls, starts, recalls,
          completes): they lock that row first, and whatever else changes their rows changes
          that window's row too (cancel, pause, close, the day's close-out); call_next passes
          over the errands other windows are claiming (routing.claim);
        - issue: the number is taken under a lock on the prefix's numbering.
        Windows and dispensers on several hosts then work side by side. At SERIALIZABLE they do
        not: PostgreSQL tracks reads by index page, so operations on neighbouring requests or
        numbers refuse each other and run again and again under load (make bench: 8 windows in
        8 processes ran out of reruns). Not before this process has rolled the day and put the
        windows in step with the config: those read and write rows without locking them, so
        they run at SERIALIZABLE, as every other operation does."""
        server = self.store.dialect == "postgresql"
        claiming = server and locks and self.locks_on_server and self._windows_synced and self._day_rolled()
        with (self.store.write("read committed", pipelined=True) if claiming else self.store.write()) as conn:
            now = self.clock.now_ms()
            tx = _Tx(conn, now, local_day(now, self.tz), self.clerk, claiming)
            if tx.day != self._rolled_day:
                if claiming:  # midnight passed since the check above: run again, at SERIALIZABLE
                    raise self._run_again()
                self._roll_day(tx)
            if not self._windows_synced:
                self._sync_windows(tx)
            yield tx
            tx.flush()
        self._rolled_day = tx.day
        self._windows_synced = True

    def _run_again(self) -> Conflict:
        """What an operation raises to be run again whole (rerun_on_conflict): nothing written."""
        return Conflict("the database {url} was changed by another window at the same moment: nothing was"
                        " written; try again", url=self.store.where)

    def _day_rolled(self) -> bool:
        """Has today's close-out been done, by this process or (a read tells) another? Days only
        move forward: once the database says today, nobody rolls it again before midnight."""
        today = self.today()
        if self._rolled_day != today:
            with self.store.read() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
            if row and row[0] == today:
                self._rolled_day = today
        return self._rolled_day == today

    def today(self) -> str:
        return local_day(self.clock.now_ms(), self.tz)

    def _roll_day(self, tx: _Tx) -> None:
        """At the first write of a new local day, close out what yesterday left open."""
        row = tx.conn.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        if row and row[0] >= tx.day:
            return
        if row:
            # ORDER BY wherever rows become events: without it PostgreSQL's order follows its
            # updates and SQLite's its query plan, and the event log would differ between them
            stale = tx.conn.execute(
                "SELECT r.* FROM requests r JOIN tickets t ON t.id = r.ticket_id"
                " WHERE t.state = 'open' AND t.day < ? AND r.state IN (?, ?, ?, ?)"
                " ORDER BY r.ticket_id, r.position, r.id", (tx.day, *LIVE)
            ).fetchall()
            for req in stale:
                tx.set_request(req, "expired", "expired", at_window=req["window"], detail={"reason": "day closed"})
            tx.conn.execute("UPDATE tickets SET state = 'closed' WHERE state = 'open' AND day < ?", (tx.day,))
            for (number,) in tx.conn.execute("SELECT number FROM windows WHERE state != 'closed' ORDER BY number").fetchall():
                tx.event("window_close", window=number, detail={"reason": "day closed"})
            tx.conn.execute("UPDATE windows SET state = 'closed', current_request_id = NULL, updated_at = ?", (tx.now,))
        tx.conn.execute("INSERT INTO meta (key, value) VALUES ('day', ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (tx.day,))

    def _wanted_windows(self) -> dict[int, str]:
        return {n: json.dumps(list(w.services)) for n, w in self.config.windows.items()}

    def _windows_in_step(self) -> bool:
        """Does the windows table already say what the config says?"""
        wanted = self._wanted_windows()
        with self.store.read() as conn:
            have = {r["number"]: r for r in conn.execute("SELECT * FROM windows")}
        return all(n in have and have[n]["services"] == s for n, s in wanted.items()) and all(
            n in wanted or have[n]["state"] == "closed" for n in have
        )

    def _sync_windows(self, tx: _Tx) -> None:
        """The config says which windows exist and what they serve; the table follows it."""
        have = {r["number"]: r for r in tx.conn.execute("SELECT * FROM windows ORDER BY number")}
        for number, services in self._wanted_windows().items():
            tx.conn.execute(
                "INSERT INTO windows (number, state, services, updated_at) VALUES (?, 'closed', ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET services = excluded.services",
                (number, services, tx.now),
            )
        for number, row in have.items():
            if number not in self.config.windows and row["state"] != "closed":
                self._set_window_state(tx, number, "closed", reason="removed from the configuration", force=True)

    # -- look-ups ------------------------------------------------------------------------
    def _window(self, tx: _Tx, number: int) -> sqlite3.Row:
        if number not in self.config.windows:
            raise CabinError("there is no window {window} (windows: {windows})",
                             window=number, windows=", ".join(map(str, sorted(self.config.windows))))
        # claiming (see _tx): locked, so that two hosts acting for one window take turns on it
        return tx.conn.execute("SELECT * FROM windows WHERE number = ?" + (" FOR UPDATE" if tx.claiming else ""),
                               (number,)).fetchone()

    def _current(self, tx: _Tx, number: int, states, doing: Said) -> tuple[sqlite3.Row, sqlite3.Row]:
        """The window and its called or served request; `doing` (what the clerk asked, a Said such
        as Said("recall")) words the refusal when there is none in one of `states`."""
        window = self._window(tx, number)
        if window["current_request_id"] is None:
            raise CabinError("window {window} has nobody called or being served: nothing to {doing}",
                             window=number, doing=doing)
        req = tx.conn.execute(
            "SELECT r.*, t.number AS ticket FROM requests r JOIN tickets t ON t.id = r.ticket_id WHERE r.id = ?",
            (window["current_request_id"],),
        ).fetchone()
        if req["state"] == "serving" and req["state"] not in states:
            raise CabinError("{ticket} at window {window} is already being served: cannot {doing}",
                             ticket=req["ticket"], window=number, doing=doing)
        if req["state"] not in states:
            raise CabinError("{ticket} at window {window} is {state}: cannot {doing}",
                             ticket=req["ticket"], window=number, state=req["state"], doing=doing)
        return window, req

    def _ticket(self, conn: sqlite3.Connection, ref: str, day: str) -> sqlite3.Row:
        """A ticket by today's number (A001) or by its id (17)."""
        text = unicodedata.normalize("NFKC", str(ref)).strip().upper()  # full-width input too
        row = None
        if re.fullmatch(r"[0-9]{1,12}", text):
            row = conn.execute("SELECT * FROM tickets WHERE id = ?", (int(text),)).fetchone()
        elif re.fullmatch(r"[A-Z][0-9]{1,6}", text):
            row = conn.execute(
                "SELECT * FROM tickets WHERE day = ? AND prefix = ? AND seq = ?", (day, text[0], int(text[1:]))
            ).fetchone()
        else:
            raise CabinError('"{ref}" is not a ticket: give today\'s number (A001) or a ticket id', ref=ref)
        if row is None and text.isdigit():
            raise CabinError("no ticket with id {id}", id=text)
        if row is None:
            raise CabinError("no ticket {ticket} today", ticket=text)
        return row

    def _label(self, service: str) -> str:
        s = self.config.services.get(service)  # a service since removed from the config has no name
        return f"{s.name} ({service})" if s else service

    # -- issuing -------------------------------------------------------------------------
    @rerun_on_conflict
    def issue(self, services: list[str], priority: str = DEFAULT_PRIORITY, channel: str = CHANNELS[0],
              record=None) -> Issued:
        """A new ticket for `services`, in that order.

        `record(conn, issued, now)`, if given, runs inside the same transaction once the ticket
        and its errands are written (`issued`: {"ticket", "ticket_id", "services", "priority",
        "channel"}): the record the ticket is issued for (a booking checked in, say) and the
        ticket are then one write, and a refusal from it (CabinError) issues nothing. As with
        complete's record, a server runs it at SERIALIZABLE."""
        services = list(services)
        limit = self.config.queue.max_errands
        if not services:
            raise CabinError("a ticket needs at least one errand")
        if len(services) > limit:
            raise CabinError("one ticket holds at most {limit} errands; {asked} were asked for",
                             limit=limit, asked=len(services))
        for code in services:
            if code not in self.config.services:
                raise CabinError('unknown service "{code}" (see `cabin config check --services`)', code=code)
        if len(set(services)) != len(services):
            raise CabinError("an errand is listed twice on one ticket")
        if priority not in self.config.priorities:
            raise CabinError('unknown priority class "{priority}" (classes: {classes})',
                             priority=priority, classes=", ".join(self.config.priorities))
        head_start = self.config.priorities[priority].head_start_min * 60_000
        prefix = self.config.prefix_for(services[0])
        with self._tx(locks=record is None) as tx:
            sort_key = tx.now - head_start
            # the number formatted here: printf() and numbered placeholders are SQLite's only.
            # MAX(seq) + 1 is unique under SQLite's lock. On a server at READ COMMITTED, under a
            # lock on the prefix's numbering held until the commit: the next holder's MAX sees
            # this ticket. At SERIALIZABLE (a process's first issue of the day) a number another
            # took after this snapshot makes ON CONFLICT refuse it (40001): it runs again.
            if tx.claiming:
                tx.conn.execute("SELECT pg_advisory_xact_lock(?, ?)", (NUMBERING_LOCK, ord(prefix)))
            seq = tx.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets WHERE day = ? AND prefix = ?", (tx.day, prefix)
            ).fetchone()[0]
            number = f"{prefix}{seq:03d}"
            inserted = tx.conn.execute(
                "INSERT INTO tickets (day, number, prefix, seq, priority, channel, issued_at, sort_key, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT (day, prefix, seq) DO NOTHING RETURNING id",
                (tx.day, number, prefix, seq, priority, channel, tx.now, sort_key),
            ).fetchone()
            if inserted is None:  # taken by another issuer after all: never so under the lock
                raise self._run_again()
            ticket_id = inserted[0]
            tx.event("issued", ticket_id=ticket_id, detail={"number": number, "priority": priority, "channel": channel,
                                                               "services": services})
            for position, code in enumerate(services, start=1):
                state = "waiting" if position == 1 else "pending"
                request_id = tx.conn.execute(
                    "INSERT INTO requests (ticket_id, position, service, state, sort_key, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (ticket_id, position, code, state, sort_key, tx.now),
                ).fetchone()[0]
                tx.event("queued" if state == "waiting" else "pending", ticket_id=ticket_id, request_id=request_id, service=code)
            if record is not None:
                record(tx.conn, {"ticket": number, "ticket_id": ticket_id, "services": services, "priority": priority,
                                 "channel": channel}, tx.now)
            ahead = routing.ahead_of(tx.conn, services[0], sort_key, ticket_id)
            wait = estimate.wait_minutes(tx.conn, self.config, services[0], ahead, tx.day)
        return Issued(number, ticket_id, services, priority, ahead, wait, tx.day)

    # -- at a window ---------------------------------------------------------------------
    @rerun_on_conflict
    def call_next(self, window: int) -> Call:
        with self._tx(locks=True) as tx:
            row = self._window(tx, window)
            if row["state"] != "open":
                raise CabinError("window {window} is {state}: open it first (`cabin window open {window}`)",
                                 window=window, state=row["state"])
            if row["current_request_id"] is not None:
                current = tx.conn.execute(
                    "SELECT t.number, r.state FROM requests r JOIN tickets t ON t.id = r.ticket_id WHERE r.id = ?",
                    (row["current_request_id"],),
                ).fetchone()
                raise CabinError("window {window} still has {ticket} ({state}): complete, transfer or mark it no-show first",
                                 window=window, ticket=current[0], state=current[1])
            services = self.config.windows[window].services
            if tx.claiming:  # passing over the errands other windows are claiming this instant
                req = routing.claim(tx.conn, services, window, windows=len(self.config.windows))
            else:
                req = routing.pick(tx.conn, services, window)
            if req is None:
                raise NothingToCall("nobody is waiting for window {window}", window=window)
            return self._claim(tx, req, window)

    def _claim(self, tx: _Tx, req: sqlite3.Row, window: int, continued: bool = False) -> Call:
        # recalls count per call: a citizen returned to the queue (window paused) starts afresh
        tx.set_request(req, "called", "called", at_window=window, detail={"continued": True} if continued else None,
                       window=window, target_window=None, recalls=0)
        tx.conn.execute("UPDATE windows SET current_request_id = ?, updated_at = ? WHERE number = ?", (req["id"], tx.now, window))
        number = tx.conn.execute("SELECT number FROM tickets WHERE id = ?", (req["ticket_id"],)).fetchone()[0]
        return Call(number, req["ticket_id"], req["id"], req["service"], window)

    @rerun_on_conflict
    def recall(self, window: int) -> Recalled:
        """Call the same citizen again; past the recall limit the errand becomes a no-show."""
        with self._tx(locks=True) as tx:
            _, req = self._current(tx, window, ("called",), Said("recall"))
            limit = self.config.queue.recall_limit
            if req["recalls"] >= limit:
                self._no_show(tx, req, window, automatic=True)
                return Recalled(req["ticket"], req["id"], window, req["recalls"], no_show=True)
            tx.set_request(req, "called", "recalled", at_window=window, detail={"count": req["recalls"] + 1},
                           recalls=req["recalls"] + 1)
            return Recalled(req["ticket"], req["id"], window, req["recalls"] + 1, no_show=False)

    @rerun_on_conflict
    def no_show(self, window: int) -> MarkedNoShow:
        with self._tx(locks=True) as tx:
            _, req = self._current(tx, window, ("called",), Said("mark no-show"))
            self._no_show(tx, req, window, automatic=False)
            return MarkedNoShow(req["ticket"], req["id"], window)

    def _no_show(self, tx: _Tx, req: sqlite3.Row, window: int, automatic: bool) -> None:
        """The citizen did not come: this errand and the ticket's later ones are no-shows."""
        tx.set_request(req, "no_show", "no_show", at_window=window, detail={"automatic": True} if automatic else None)
        for later in tx.conn.execute(
            "SELECT * FROM requests WHERE ticket_id = ? AND state = 'pending'", (req["ticket_id"],)
        ).fetchall():
            tx.set_request(later, "no_show", "no_show", detail={"with": req["id"]})
        tx.conn.execute("UPDATE windows SET current_request_id = NULL, updated_at = ? WHERE number = ?", (tx.now, window))
        self._close_ticket_if_finished(tx, req["ticket_id"])

    @rerun_on_conflict
    def start(self, window: int) -> Started:
        with self._tx(locks=True) as tx:
            _, req = self._current(tx, window, ("called",), Said("start"))
            tx.set_request(req, "serving", "started", at_window=window)
            return Started(req["ticket"], req["id"], window, req["service"])

    @rerun_on_conflict
    def complete(self, window: int, record=None) -> Completed:
        """Finish the errand at the window; the ticket's next errand continues here if this
        window serves it (the one-stop rule), else it joins the queue at the ticket's place.

        `record(conn, request, now)`, if given, runs inside the same transaction first: the
        counter's record of the errand (an intake, say) and its completion are then one write,
        and a refusal from it (CabinError) leaves the errand as it was. The counter's records ask
        for SERIALIZABLE on a server (the audit chain reads rows no window's lock guards): with
        a record, complete runs at that level."""
        with self._tx(locks=record is None) as tx:
            row, req = self._current(tx, window, AT_WINDOW, Said("complete"))
            if record is not None:
                record(tx.conn, dict(req), tx.now)
            if req["state"] == "called":  # the clerk served without pressing start: timed from the call
                tx.event("started", ticket_id=req["ticket_id"], request_id=req["id"], service=req["service"],
                         window=window, detail={"implicit": True})
            tx.set_request(req, "done", "done", at_window=window)
            tx.conn.execute("UPDATE windows SET current_request_id = NULL, updated_at = ? WHERE number = ?", (tx.now, window))
            continued = None
            nxt = tx.conn.execute(
                "SELECT * FROM requests WHERE ticket_id = ? AND state = 'pending' ORDER BY position, id LIMIT 1",
                (req["ticket_id"],),
            ).fetchone()
            if nxt is None:
                self._close_ticket_if_finished(tx, req["ticket_id"])
            elif row["state"] == "open" and nxt["service"] in self.config.windows[window].services:
                continued = self._claim(tx, nxt, window, continued=True)
                tx.set_request(nxt, "serving", "started", at_window=window)
            else:
                tx.set_request(nxt, "waiting", "queued", detail={"after": req["id"]})
            return Completed(req["id"], req["ticket"], continued)

    @rerun_on_conflict
    def transfer(self, window: int, to_window: int | None = None, to_service: str | None = None) -> Transferred:
        """Send the errand at the window to another window or turn it into another service.
        The citizen keeps the ticket's place in the queue."""
        if (to_window is None) == (to_service is None):
            raise CabinError("transfer needs exactly one of --to-window or --to-service")
        with self._tx() as tx:
            _, req = self._current(tx, window, AT_WINDOW, Said("transfer"))
            service = req["service"]
            if to_window is not None:
                target = self._window(tx, to_window)
                if to_window == window:
                    raise CabinError("{ticket} is already at window {window}", ticket=req["ticket"], window=window)
                if service not in self.config.windows[to_window].services:
                    raise CabinError("window {window} does not serve {service}", window=to_window, service=self._label(service))
                if target["state"] == "closed":
                    raise CabinError("window {window} is closed: open it first or choose another window", window=to_window)
            else:
                if to_service not in self.config.services:
                    raise CabinError('unknown service "{code}"', code=to_service)
                if to_service == service:
                    raise CabinError("{ticket} is already for {service}", ticket=req["ticket"], service=self._label(service))
                service = to_service
            new_id = tx.conn.execute(
                "INSERT INTO requests (ticket_id, position, service, state, sort_key, target_window,"
                " transferred_from, updated_at) VALUES (?, ?, ?, 'waiting', ?, ?, ?, ?) RETURNING id",
                (req["ticket_id"], req["position"], service, req["sort_key"], to_window, req["id"], tx.now),
            ).fetchone()[0]
            tx.set_request(req, "transferred", "transferred", at_window=window,
                           detail={"to_request": new_id, "to_window": to_window, "to_service": to_service})
            tx.event("queued", ticket_id=req["ticket_id"], request_id=new_id, service=service,
                     detail={"from_request": req["id"], "to_window": to_window})
            tx.conn.execute("UPDATE windows SET current_request_id = NULL, updated_at = ? WHERE number = ?", (tx.now, window))
            return Transferred(req["id"], new_id, req["ticket"], service, to_window)

    # -- tickets -------------------------------------------------------------------------
    @rerun_on_conflict
    def cancel(self, ticket_ref: str) -> Cancelled:
        with self._tx() as tx:
            ticket = self._ticket(tx.conn, ticket_ref, tx.day)
            live = tx.conn.execute(
                "SELECT * FROM requests WHERE ticket_id = ? AND state IN (?, ?, ?, ?) ORDER BY position, id",
                (ticket["id"], *LIVE),
            ).fetchall()
            if not live:
                raise CabinError("{ticket} has no errand left to cancel", ticket=ticket["number"])
            for req in live:
                tx.set_request(req, "cancelled", "cancelled", at_window=req["window"] if req["state"] in AT_WINDOW else None)
            tx.conn.execute(
                f"UPDATE windows SET current_request_id = NULL, updated_at = ?"
                f" WHERE current_request_id IN ({','.join('?' * len(live))})",
                (tx.now, *(r["id"] for r in live)),
            )
            self._close_ticket_if_finished(tx, ticket["id"])
            return Cancelled(ticket["number"], ticket["id"], [r["id"] for r in live])

    @rerun_on_conflict
    def reactivate(self, ticket_ref: str) -> Reactivated:
        """A no-show citizen turned up in time: the ticket returns to its old place."""
        with self._tx() as tx:
            ticket = self._ticket(tx.conn, ticket_ref, tx.day)
            missed = tx.conn.execute(
                "SELECT * FROM requests WHERE ticket_id = ? AND state = 'no_show' ORDER BY position, id",
                (ticket["id"],),
            ).fetchall()
            if not missed or ticket["state"] != "closed" or tx.conn.execute(
                "SELECT 1 FROM requests WHERE ticket_id = ? AND state IN (?, ?, ?, ?)", (ticket["id"], *LIVE)
            ).fetchone():
                raise CabinError("{ticket} was not marked no-show: nothing to reactivate", ticket=ticket["number"])
            if ticket["day"] != tx.day:
                raise CabinError("{ticket} is from {day}: issue a new ticket", ticket=ticket["number"], day=ticket["day"])
            since = max(r["updated_at"] for r in missed)
            limit = self.config.queue.reactivation_min
            if tx.now - since > limit * 60_000:
                minutes = (tx.now - since) // 60_000
                raise CabinError("{ticket} missed its call {minutes} minutes ago, more than {limit}: issue a new ticket",
                                 ticket=ticket["number"], minutes=minutes, limit=limit)
            for i, req in enumerate(missed):
                if i == 0:
                    tx.set_request(req, "waiting", "reactivated", recalls=0, window=None)
                else:
                    tx.set_request(req, "pending", "pending", detail={"reactivated": True}, window=None)
            tx.conn.execute("UPDATE tickets SET state = 'open' WHERE id = ?", (ticket["id"],))
            return Reactivated(ticket["number"], ticket["id"], missed[0]["id"], missed[0]["service"])

    def _close_ticket_if_finished(self, tx: _Tx, ticket_id: int) -> None:
        if not tx.conn.execute(
            "SELECT 1 FROM requests WHERE ticket_id = ? AND state IN (?, ?, ?, ?)", (ticket_id, *LIVE)
        ).fetchone():
            tx.conn.execute("UPDATE tickets SET state = 'closed' WHERE id = ?", (ticket_id,))

    # -- windows -------------------------------------------------------------------------
    @rerun_on_conflict
    def set_window(self, number: int, state: str) -> WindowChanged:
        if state not in ("open", "paused", "closed"):
            raise CabinError('a window can be open, paused or closed, not "{state}"', state=state)
        with self._tx() as tx:
            self._window(tx, number)
            changed = self._set_window_state(tx, number, state)
            return WindowChanged(number, state, changed)

    def _set_window_state(self, tx: _Tx, number: int, state: str, reason: str | None = None, force: bool = False) -> bool:
        row = tx.conn.execute("SELECT * FROM windows WHERE number = ?", (number,)).fetchone()
        if row["state"] == state:
            return False
        if state != "open" and row["current_request_id"] is not None:
            req = tx.conn.execute(
                "SELECT r.*, t.number AS ticket FROM requests r JOIN tickets t ON t.id = r.ticket_id WHERE r.id = ?",
                (row["current_request_id"],),
            ).fetchone()
            if req["state"] == "serving" and not force and state == "paused":
                raise CabinError("window {window} is serving {ticket}: complete or transfer it before pausing",
                                 window=number, ticket=req["ticket"])
            if req["state"] == "serving" and not force:
                raise CabinError("window {window} is serving {ticket}: complete or transfer it before closing",
                                 window=number, ticket=req["ticket"])
            # The called citizen goes back to the queue at the ticket's place.
            tx.set_request(req, "waiting", "returned", at_window=number, detail={"reason": f"window {state}"},
                           window=None, target_window=None)
            tx.conn.execute("UPDATE windows SET current_request_id = NULL WHERE number = ?", (number,))
        if state == "closed":
            # Errands transferred to this window must not wait for it forever.
            for req in tx.conn.execute(
                "SELECT * FROM requests WHERE state = 'waiting' AND target_window = ? ORDER BY id", (number,)
            ).fetchall():
                tx.conn.execute("UPDATE requests SET target_window = NULL, updated_at = ? WHERE id = ?", (tx.now, req["id"]))
                tx.event("retargeted", ticket_id=req["ticket_id"], request_id=req["id"], service=req["service"],
                         window=number, detail={"reason": "window closed"})
        tx.conn.execute("UPDATE windows SET state = ?, updated_at = ? WHERE number = ?", (state, tx.now, number))
        kind = {"open": "window_open", "paused": "window_pause", "closed": "window_close"}[state]
        tx.event(kind, window=number, detail={"reason": reason} if reason else None)
        return True

    # -- reading -------------------------------------------------------------------------
    def queue_state(self) -> QueueState:
        day = self.today()
        with self.store.read() as conn:
            # one pass: how many wait per service, and since when the longest-waiting has (the
            # request's updated_at: when it last became waiting)
            # sorted here, by code point as SQLite's BINARY sorts: a PostgreSQL database's collation
            # (en_US, say) may order "id.apply" and "id-x" otherwise
            counted = sorted(conn.execute(
                "SELECT r.service, COUNT(*), MIN(r.updated_at) FROM requests r JOIN tickets t ON t.id = r.ticket_id"
                " WHERE r.state = 'waiting' AND t.day = ? GROUP BY r.service", (day,)
            ).fetchall(), key=lambda row: row[0])
            waiting = {service: n for service, n, _ in counted}
            waiting_since = {service: since for service, _, since in counted}
            rolled = conn.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
            # Before the day's first operation, the windows are still as yesterday left them:
            # show them as the close-out will leave them.
            stale = rolled is None or rolled[0] < day
            windows: dict[int, WindowState] = {}
            for w in conn.execute("SELECT * FROM windows ORDER BY number"):
                number = w["number"]
                if number not in self.config.windows:
                    continue
                current = None
                if w["current_request_id"] is not None and not stale:
                    r = conn.execute(
                        "SELECT r.*, t.number AS ticket FROM requests r JOIN tickets t ON t.id = r.ticket_id"
                        " WHERE r.id = ? AND t.day = ?", (w["current_request_id"], day),
                    ).fetchone()
                    if r is not None:
                        current = AtWindow(r["ticket"], r["ticket_id"], r["id"], r["service"], number, r["state"])
                # before the first write, the config's services, as that write will record them
                services = (json.loads(w["services"]) if self._windows_synced
                            else list(self.config.windows[number].services))
                windows[number] = WindowState(number, "closed" if stale else w["state"], services, current)
            # a window of the config not yet in the table (no write since the config named it) is closed
            for number, w in self.config.windows.items():
                windows.setdefault(number, WindowState(number, "closed", list(w.services), None))
            estimates = {s: estimate.wait_minutes(conn, self.config, s, waiting.get(s, 0), day) for s in self.config.services}
        return QueueState(day, waiting, waiting_since, estimates, [windows[n] for n in sorted(windows)])

    def outlook(self, ticket_ref: str) -> Outlook:
        """People ahead of the ticket's waiting errand now, and the estimated wait."""
        day = self.today()
        with self.store.read() as conn:
            t = self._ticket(conn, ticket_ref, day)
            req = conn.execute(
                "SELECT * FROM requests WHERE ticket_id = ? AND state = 'waiting'", (t["id"],)
            ).fetchone()
            if req is None:
                return Outlook(0, 0.0)
            ahead = routing.ahead_of(conn, req["service"], req["sort_key"], t["id"])
            return Outlook(ahead, estimate.wait_minutes(conn, self.config, req["service"], ahead, day))

    def show_ticket(self, ticket_ref: str) -> Ticket:
        day = self.today()
        with self.store.read() as conn:
            t = self._ticket(conn, ticket_ref, day)
            errands = [
                Errand(r["id"], r["position"], r["service"], r["state"], r["window"], r["target_window"], r["recalls"],
                       r["transferred_from"])
                for r in conn.execute("SELECT * FROM requests WHERE ticket_id = ? ORDER BY position, id", (t["id"],))
            ]
        return Ticket(t["number"], t["id"], t["day"], t["priority"], t["channel"], t["state"], t["issued_at"], errands)
