"""Random operations from several windows against one Station; the queue's invariants hold
after every step.

A hypothesis RuleBasedStateMachine drives the engine with a ManualClock that moves forward by
random minutes and now and then across local midnight, on each backend (`any_db`): a real SQLite
file, then a database on a real PostgreSQL server; each example starts from an empty store. A refused
operation (CabinError, NothingToCall) is allowed, but must leave the database exactly as it was.

The store is the station's (the counter's tables too): a few bookings (预约) are imported at the
start, with slots around the clock and some across midnight, and checked in through
Appointments.checkin as the clock moves; the invariants then hold for their tickets as for any.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter, defaultdict
from datetime import datetime

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from cabin.config import load_config
from cabin.kiosk.business.appointments import Appointments
from cabin.queue.clock import ManualClock, day_start_ms, local_day, local_time, next_day, to_ms
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, NothingToCall

from backends import fresh_station_store

CONFIG = load_config()
TZ = CONFIG.station.tz
SERVICES = sorted(CONFIG.services)
WINDOWS = sorted(CONFIG.windows)
PRIORITIES = sorted(CONFIG.priorities)
LIVE = {"pending", "waiting", "called", "serving"}
ACTIVE = {"waiting", "called", "serving"}
AT_WINDOW = {"called", "serving"}
MINUTE = 60_000
EARLY, LATE = CONFIG.appointments.early_min * MINUTE, CONFIG.appointments.late_min * MINUTE

# event kind -> the request state it leaves behind
REPLAY = {
    "queued": "waiting", "returned": "waiting", "reactivated": "waiting",
    "pending": "pending",
    "called": "called", "recalled": "called",
    "started": "serving",
    "done": "done", "no_show": "no_show", "cancelled": "cancelled", "transferred": "transferred",
    "expired": "expired",
}
NO_REQUEST_STATE = {"issued", "retargeted", "window_open", "window_pause", "window_close"}

window_numbers = st.sampled_from(WINDOWS * 3 + [9])  # 9 does not exist: always refused
errands = st.lists(st.sampled_from(SERVICES), min_size=1, max_size=CONFIG.queue.max_errands, unique=True)
# the operations, weighted so that the queue keeps moving
OPS = (["issue"] * 5 + ["call_next"] * 5 + ["complete"] * 4 + ["start"] * 2 + ["recall"] * 3 + ["no_show"] * 2
       + ["advance"] * 3 + ["set_window"] * 3 + ["transfer_to_window"] * 2
       + ["cancel", "reactivate", "reactivate", "transfer_to_service", "issue_invalid"] + ["checkin"] * 3)
# a booking's slot: its start in minutes from the machine's start (09:00), mostly around it
# (inside its check-in window or near it), now and then late in the evening so that it ends
# after midnight; its length
slots = st.tuples(st.one_of(st.integers(-30, 45), st.integers(14 * 60 - 30, 15 * 60 + 30)),
                  st.sampled_from([15, 30, 60]))


class StationMachine(RuleBasedStateMachine):
    def __init__(self, db: str):
        super().__init__()
        self.clock = ManualClock(TZ, datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
        self.store = fresh_station_store(db)
        self.station = Station(self.store, CONFIG, self.clock)
        self.appointments = Appointments(self.station)
        self.bookings: dict[str, tuple[int, int]] = {}  # code -> (slot_start, slot_end), ms
        self.folder = tempfile.mkdtemp(prefix="cabin-bookings-")
        self.tickets: list[tuple[int, str]] = []  # (id, number) of every ticket issued
        self.seen_events: list[tuple] = []

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- reading the database ---------------------------------------------------------------
    def rows(self, sql, *params):
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]

    def dump(self) -> dict:
        with self.store.read() as conn:
            return {
                "tickets": [dict(r) for r in conn.execute("SELECT * FROM tickets ORDER BY id")],
                "requests": [dict(r) for r in conn.execute("SELECT * FROM requests ORDER BY id")],
                "windows": [dict(r) for r in conn.execute("SELECT * FROM windows ORDER BY number")],
                "meta": [dict(r) for r in conn.execute("SELECT * FROM meta ORDER BY key")],
                "events": conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
            }

    @staticmethod
    def states(dump: dict) -> tuple:
        """The state-bearing columns of a dump: all but updated_at (the day close touches the
        updated_at of windows that were already closed, which is no change of state)."""
        return tuple([{k: v for k, v in row.items() if k != "updated_at"} for row in dump[table]]
                     for table in ("tickets", "requests", "windows"))

    def attempt(self, fn, *args, **kwargs):
        """Run an operation; a refusal must change nothing, a change must write events."""
        before = self.dump()
        try:
            result = fn(*args, **kwargs)
        except CabinError:
            assert self.dump() == before, f"refused {fn.__name__}{args}{kwargs} changed the database"
            event(f"{fn.__name__}: refused")
            return None
        event(f"{fn.__name__}: done")
        after = self.dump()
        if self.states(after) != self.states(before):
            assert after["events"] > before["events"], f"{fn.__name__} changed states without an event"
        return result

    # -- set-up -----------------------------------------------------------------------------
    @initialize(windows=st.sets(st.sampled_from(WINDOWS), min_size=1),
                tickets=st.lists(st.tuples(errands, st.sampled_from(PRIORITIES)), max_size=8),
                bookings=st.lists(st.tuples(slots, errands), min_size=1, max_size=4))
    def open_the_station(self, windows, tickets, bookings):
        """The day's bookings imported, some windows open and some citizens already in the hall."""
        self.import_bookings(bookings)
        for number in sorted(windows):
            assert self.station.set_window(number, "open").changed is True
        for services, priority in tickets:
            self.issue(services, priority)
            self.clock.advance(seconds=30)

    # -- one step: a weighted choice of operation, its arguments drawn as needed ------------
    # (One rule rather than one per operation: hypothesis would switch whole rules off for a
    # run, and with ~60 runs too many of them would never call anybody.)
    @rule(op=st.sampled_from(OPS), data=st.data())
    def step(self, op, data):
        draw = data.draw
        if op == "advance":
            # mostly a few minutes (around the reactivation limit too); now and then up to a
            # day, or to 23:45 so that what happens next happens around midnight
            minutes = draw(st.sampled_from([0, 1, 2, 5, 10, 20, 29, 30, 31, "long", "late"]), label="minutes")
            if minutes == "long":
                self.clock.advance(minutes=draw(st.integers(0, 24 * 60), label="long"))
            elif minutes == "late":
                late = local_time(self.clock.now_ms(), TZ).replace(hour=23, minute=45, second=0, microsecond=0)
                self.clock.set(max(to_ms(late), self.clock.now_ms()))
            else:
                self.clock.advance(minutes=minutes)
        elif op == "issue":
            self.issue(draw(errands, label="services"), draw(st.sampled_from(PRIORITIES), label="priority"))
        elif op == "checkin":
            code = draw(st.sampled_from(sorted(self.bookings)), label="code")
            # now, or first on to a minute where its check-in window opens or closes (or its slot
            # starts, or the first day it does not touch begins) when that is still ahead: the
            # boundaries are where a rule goes wrong
            start, end = self.bookings[code]
            after = day_start_ms(next_day(local_day(end + LATE, TZ)), TZ)
            when = draw(st.sampled_from([None, start - EARLY - MINUTE, start - EARLY, start, end + LATE,
                                         end + LATE + MINUTE, after]), label="when")
            if when is not None:
                self.clock.set(max(when, self.clock.now_ms()))
            self.checkin(code)
        elif op == "issue_invalid":
            self.issue_invalid(draw(st.sampled_from(["none", "too_many", "unknown", "twice", "priority"]), label="kind"))
        elif op == "set_window":
            state = draw(st.sampled_from(["open", "open", "paused", "closed"]), label="state")
            self.set_window(self.aim_window(state, draw(window_numbers, label="window"), draw(st.integers(0, 3), label="aim")), state)
        elif op in ("cancel", "reactivate"):
            ref = self.ticket_ref(draw(st.integers(0, 10_000), label="pick"), draw(st.booleans(), label="by_number"),
                                  aim="no_show" if op == "reactivate" else "waiting")
            if op == "cancel":
                self.attempt(self.station.cancel, ref)
            else:
                self.reactivate(ref)
        else:
            window = self.aim_window(op, draw(window_numbers, label="window"), draw(st.integers(0, 3), label="aim"))
            if op == "call_next":
                self.call_next(window)
            elif op == "complete":
                self.complete(window)
            elif op == "transfer_to_window":
                to_window = self.aim_target(window, draw(window_numbers, label="to_window"), draw(st.integers(0, 3), label="aim_to"))
                self.attempt(self.station.transfer, window, to_window=to_window)
            elif op == "transfer_to_service":
                self.attempt(self.station.transfer, window, to_service=draw(st.sampled_from(SERVICES), label="to_service"))
            elif op == "recall":
                self.recall(window)
            else:  # no_show, start
                self.attempt(getattr(self.station, op), window)

    def recall(self, window):
        before = self.rows("SELECT r.* FROM windows w JOIN requests r ON r.id = w.current_request_id WHERE w.number = ?",
                           window)
        res = self.attempt(self.station.recall, window)
        if res is None:
            return
        limit = CONFIG.queue.recall_limit
        after = self.rows("SELECT * FROM requests WHERE id = ?", res.request_id)[0]
        if res.no_show:  # the recall past the limit
            assert before[0]["recalls"] == limit and after["state"] == "no_show", (before, after)
        else:
            assert after["recalls"] == before[0]["recalls"] + 1 <= limit and after["state"] == "called", (before, after)

    def reactivate(self, ref):
        res = self.attempt(self.station.reactivate, ref)
        if res is None:
            return
        # only within reactivation_min of the no-show, on the ticket's own day
        missed = self.rows("SELECT MAX(at) AS at FROM events WHERE kind = 'no_show' AND ticket_id = ?", res.ticket_id)
        now = self.clock.now_ms()
        assert now - missed[0]["at"] <= CONFIG.queue.reactivation_min * 60_000
        assert self.rows("SELECT day FROM tickets WHERE id = ?", res.ticket_id)[0]["day"] == self.station.today()
        assert self.rows("SELECT state FROM requests WHERE id = ?", res.request_id)[0]["state"] == "waiting"

    def aim_window(self, op: str, window: int, aim: int) -> int:
        """Mostly (aim != 0) a window where `op` can apply, so that the queue moves."""
        if aim:
            windows = self.rows("SELECT w.number, w.state, r.state AS current FROM windows w"
                                " LEFT JOIN requests r ON r.id = w.current_request_id ORDER BY w.number")
            fit = [w["number"] for w in windows if {
                "call_next": w["state"] == "open" and w["current"] is None,
                "recall": w["current"] == "called", "no_show": w["current"] == "called", "start": w["current"] == "called",
                "open": w["state"] != "open",
                # pausing or closing a window with a called citizen sends them back to the queue
                "paused": w["current"] == "called", "closed": w["current"] == "called",
            }.get(op, w["current"] is not None)]
            if not fit and op in ("paused", "closed"):
                fit = [w["number"] for w in windows if w["state"] == "open"]
            if fit:
                return fit[aim % len(fit)]
        return window

    def aim_target(self, window: int, to_window: int, aim: int) -> int:
        """Mostly (aim != 0) a window that may take the errand at `window`: another one, not
        closed, that serves its service."""
        current = self.rows("SELECT r.service FROM windows w JOIN requests r ON r.id = w.current_request_id"
                            " WHERE w.number = ?", window)
        if aim and current:
            fit = [w["number"] for w in self.rows("SELECT * FROM windows WHERE state != 'closed' ORDER BY number")
                   if w["number"] != window and current[0]["service"] in CONFIG.windows[w["number"]].services]
            if fit:
                return fit[aim % len(fit)]
        return to_window

    def set_window(self, window, state):
        current = self.rows("SELECT r.state FROM windows w JOIN requests r ON r.id = w.current_request_id"
                            " WHERE w.number = ?", window)
        rolls = self.rows("SELECT value FROM meta WHERE key = 'day'")[0]["value"] < self.station.today()
        res = self.attempt(self.station.set_window, window, state)
        if current and current[0]["state"] == "serving" and state != "open" and not rolls:
            assert res is None, f"window {window} was {state} while serving"
        if res is not None:
            assert self.rows("SELECT state FROM windows WHERE number = ?", window)[0]["state"] == state

    def ticket_ref(self, pick: int, by_number: bool, aim: str) -> str:
        """A ticket's number or id; mostly (3 in 4) one with an errand in state `aim`."""
        if not self.tickets:
            return "A001"
        if pick % 4:
            fit = self.rows("SELECT DISTINCT ticket_id FROM requests WHERE state = ? ORDER BY ticket_id", aim)
            if fit:
                ids = [t for t, _ in self.tickets]
                pick = ids.index(fit[pick % len(fit)]["ticket_id"])
        ticket_id, number = self.tickets[pick % len(self.tickets)]
        return number if by_number else str(ticket_id)

    def issue(self, services, priority):
        issued = self.station.issue(services, priority)  # a valid ticket is never refused
        event("issue: done")
        self.tickets.append((issued.ticket_id, issued.ticket))
        row = self.rows("SELECT * FROM tickets WHERE id = ?", issued.ticket_id)[0]
        assert (row["day"], row["priority"], row["state"]) == (self.station.today(), priority, "open")
        assert row["sort_key"] == row["issued_at"] - CONFIG.priorities[priority].head_start_min * 60_000
        assert row["number"] == f"{CONFIG.prefix_for(services[0])}{row['seq']:03d}"
        reqs = self.rows("SELECT * FROM requests WHERE ticket_id = ? ORDER BY position", issued.ticket_id)
        assert [(r["service"], r["state"]) for r in reqs] == [
            (s, "waiting" if i == 0 else "pending") for i, s in enumerate(services)]

    def import_bookings(self, bookings):
        start = self.clock.now_ms()
        lines = ["code,services,slot_start,slot_end,phone_last4"]
        for i, ((offset, length), services) in enumerate(bookings, start=1):
            slot = (start + offset * MINUTE, start + (offset + length) * MINUTE)
            self.bookings[f"YY-{i}"] = slot
            shown = [local_time(ms, TZ).strftime("%Y-%m-%d %H:%M") for ms in slot]
            lines.append(f"YY-{i},{';'.join(services)},{shown[0]},{shown[1]},{1000 + i}")
        path = os.path.join(self.folder, "day.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        assert self.appointments.import_file(path)["imported"] == len(bookings)

    def with_bookings(self) -> dict:
        return {**self.dump(), "appointments": self.rows("SELECT * FROM appointments ORDER BY id"),
                "audit": self.rows("SELECT COUNT(*) AS n FROM audit")[0]["n"]}

    def checkin(self, code):
        """A booking checked in: the appointment priority inside its window, placed its head
        start ahead; an ordinary ticket outside it on a day the window touches; refused (nothing
        changed) on any other day, and for a booking already checked in."""
        start, end = self.bookings[code]
        opens, closes, now = start - EARLY, end + LATE, self.clock.now_ms()
        used = self.rows("SELECT ticket_id FROM appointments WHERE code = ?", code)[0]["ticket_id"] is not None
        touched = local_day(opens, TZ) <= local_day(now, TZ) <= local_day(closes, TZ)
        before = self.with_bookings()
        try:
            checked = self.appointments.checkin(code)
        except CabinError:
            assert used or not touched, f"{code} refused at {local_time(now, TZ)}"
            assert self.with_bookings() == before, f"a refused check-in of {code} changed the database"
            event(f"checkin: refused ({'used' if used else 'not today'})")
            return
        assert not used and touched, f"{code} checked in (used: {used}) at {local_time(now, TZ)}"
        inside = opens <= now <= closes
        event(f"checkin: {checked.outside or 'inside'}")
        priority = "appointment" if inside else "normal"
        ticket_id = checked.ticket["ticket_id"]
        self.tickets.append((ticket_id, checked.ticket["ticket"]))
        row = self.rows("SELECT * FROM tickets WHERE id = ?", ticket_id)[0]
        assert (row["priority"], row["channel"], row["issued_at"], row["day"]) == (
            priority, "appointment", now, self.station.today())
        assert row["sort_key"] == row["issued_at"] - CONFIG.priorities[priority].head_start_min * MINUTE
        booking = self.rows("SELECT * FROM appointments WHERE code = ?", code)[0]
        assert (booking["state"], booking["ticket_id"], booking["on_time"], checked.on_time) == (
            "checked_in", ticket_id, int(inside), inside)
        # a second check-in is refused and changes nothing
        after = self.with_bookings()
        try:
            self.appointments.checkin(code)
        except CabinError:
            pass
        else:
            raise AssertionError(f"{code} was checked in twice")
        assert self.with_bookings() == after

    def issue_invalid(self, kind):
        services = {
            "none": [], "too_many": SERVICES[:CONFIG.queue.max_errands + 1], "unknown": ["id.nope"],
            "twice": [SERVICES[0], SERVICES[1], SERVICES[0]], "priority": [SERVICES[0]],
        }[kind]
        priority = "vip" if kind == "priority" else "normal"
        before = self.dump()
        try:
            self.station.issue(services, priority)
        except CabinError:
            pass
        else:
            raise AssertionError(f"issue({services}, {priority}) was accepted")
        assert self.dump() == before

    def call_next(self, window):
        requests = self.rows(
            "SELECT r.*, t.priority FROM requests r JOIN tickets t ON t.id = r.ticket_id WHERE r.state = 'waiting'")
        before = self.dump()
        w = self.rows("SELECT * FROM windows WHERE number = ?", window)
        meta_day = self.rows("SELECT value FROM meta WHERE key = 'day'")[0]["value"]
        try:
            call = self.station.call_next(window)
        except NothingToCall:
            assert self.dump() == before
            # the window was open and free, so the day did not roll: nobody it may call waits
            assert not self.callable(requests, window), f"window {window} found nobody, yet errands wait"
            event("call_next: nobody")
            return
        except CabinError:
            assert self.dump() == before
            rolled = meta_day < self.station.today()
            assert window not in CONFIG.windows or rolled or w[0]["state"] != "open" or w[0]["current_request_id"]
            event("call_next: refused")
            return
        event("call_next: called")
        # A successful call means the day did not roll (rolling closes every window), so the
        # waiting errands read before the call are the ones it chose from.
        candidates = self.callable(requests, window)
        picked = next(r for r in candidates if r["id"] == call.request_id)
        key = lambda r: (r["sort_key"], r["ticket_id"], r["position"])  # noqa: E731
        assert key(picked) == min(map(key, candidates))
        # so a second errand is never overtaken by a ticket of its class issued later
        assert not any(
            (r["sort_key"], r["ticket_id"]) < (picked["sort_key"], picked["ticket_id"])
            for r in candidates if r["priority"] == picked["priority"])
        now = self.rows("SELECT * FROM requests WHERE id = ?", call.request_id)[0]
        assert (now["state"], now["window"], now["target_window"], now["recalls"]) == ("called", window, None, 0)
        assert (call.service, call.ticket_id, call.window) == (picked["service"], picked["ticket_id"], window)

    @staticmethod
    def callable(requests, window):
        served = CONFIG.windows[window].services if window in CONFIG.windows else ()
        return [r for r in requests if r["service"] in served and r["target_window"] in (None, window)]

    def complete(self, window):
        pending = [r["id"] for r in self.rows("SELECT id FROM requests WHERE state = 'pending'")]
        res = self.attempt(self.station.complete, window)
        if res is None:
            return
        done = self.rows("SELECT * FROM requests WHERE id = ?", res.completed)[0]
        assert done["state"] == "done"
        nxt = [r for r in self.rows("SELECT * FROM requests WHERE ticket_id = ? ORDER BY position, id", done["ticket_id"])
               if r["id"] in pending]
        if res.continued:
            event("complete: continued")
            cont = self.rows("SELECT * FROM requests WHERE id = ?", res.continued.request_id)[0]
            assert cont["id"] == nxt[0]["id"] and cont["service"] in CONFIG.windows[window].services
            assert (cont["state"], cont["window"]) == ("serving", window)
        elif nxt:
            assert nxt[0]["service"] not in CONFIG.windows[window].services
            assert nxt[0]["state"] == "waiting"

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def events_are_append_only_and_in_time(self):
        events = [tuple(r.values()) for r in self.rows("SELECT * FROM events ORDER BY id")]
        assert events[: len(self.seen_events)] == self.seen_events
        self.seen_events = events
        ats = [e[1] for e in events]
        assert ats == sorted(ats)
        assert all(e[2] == local_day(e[1], TZ) for e in events)
        assert {e[3] for e in events} <= set(REPLAY) | NO_REQUEST_STATE

    @invariant()
    def request_states_replay_from_events(self):
        requests = self.rows("SELECT * FROM requests ORDER BY id")
        replayed: dict[int, str] = {}
        history: dict[int, list[str]] = defaultdict(list)
        for e in self.rows("SELECT kind, request_id FROM events WHERE request_id IS NOT NULL ORDER BY id"):
            history[e["request_id"]].append(e["kind"])
            if e["kind"] in REPLAY:
                replayed[e["request_id"]] = REPLAY[e["kind"]]
        for r in requests:
            assert replayed.get(r["id"]) == r["state"], (r, history[r["id"]])
            kinds = history[r["id"]]
            # done at most once, only via a start, and final
            assert kinds.count("done") == (1 if r["state"] == "done" else 0), kinds
            if r["state"] == "done":
                assert kinds[-1] == "done" and kinds[-2] == "started", kinds
        waiting = Counter(r["service"] for r in requests if r["state"] == "waiting")
        assert waiting == Counter(
            next(r["service"] for r in requests if r["id"] == rid) for rid, s in replayed.items() if s == "waiting")

    @invariant()
    def errands_keep_the_tickets_place_and_recalls_count_per_call(self):
        tickets = {t["id"]: t for t in self.rows("SELECT * FROM tickets")}
        kinds: dict[int, list[str]] = defaultdict(list)
        for e in self.rows("SELECT kind, request_id FROM events WHERE request_id IS NOT NULL ORDER BY id"):
            kinds[e["request_id"]].append(e["kind"])
        for r in self.rows("SELECT * FROM requests"):
            assert r["sort_key"] == tickets[r["ticket_id"]]["sort_key"], r
            if r["state"] in AT_WINDOW:
                history = kinds[r["id"]]
                since_call = history[len(history) - 1 - history[::-1].index("called"):]
                assert r["recalls"] == since_call.count("recalled"), (r, history)

    @invariant()
    def errands_go_in_order(self):
        by_ticket: dict[int, list[dict]] = defaultdict(list)
        for r in self.rows("SELECT * FROM requests ORDER BY position, id"):
            by_ticket[r["ticket_id"]].append(r)
        tickets = {t["id"]: t for t in self.rows("SELECT * FROM tickets")}
        for ticket_id, reqs in by_ticket.items():
            states = [r["state"] for r in reqs]
            active = [i for i, s in enumerate(states) if s in ACTIVE]
            pending = [i for i, s in enumerate(states) if s == "pending"]
            assert len(active) <= 1, states
            if pending:  # a ticket with errands to come has exactly one under way, before them
                assert len(active) == 1 and active[0] < pending[0], states
            assert (tickets[ticket_id]["state"] == "open") == any(s in LIVE for s in states), (tickets[ticket_id], states)

    @invariant()
    def windows_and_their_current_errands_agree(self):
        windows = self.rows("SELECT * FROM windows")
        requests = {r["id"]: r for r in self.rows("SELECT * FROM requests")}
        current = {}
        for w in windows:
            if w["current_request_id"] is not None:
                r = requests[w["current_request_id"]]
                assert r["state"] in AT_WINDOW and r["window"] == w["number"], (w, r)
                assert w["state"] == "open", w
                current[r["id"]] = w["number"]
        at_window = {r["id"] for r in requests.values() if r["state"] in AT_WINDOW}
        assert at_window == set(current), (at_window, current)
        states = {w["number"]: w["state"] for w in windows}
        for r in requests.values():
            if r["state"] == "waiting" and r["target_window"] is not None:
                assert states[r["target_window"]] != "closed", r
                assert r["service"] in CONFIG.windows[r["target_window"]].services, r

    @invariant()
    def numbers_run_without_gaps_per_day_and_prefix(self):
        seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for t in self.rows("SELECT * FROM tickets ORDER BY id"):
            assert t["number"] == f"{t['prefix']}{t['seq']:03d}", t
            seqs[t["day"], t["prefix"]].append(t["seq"])
        assert all(s == list(range(1, len(s) + 1)) for s in seqs.values()), seqs

    @invariant()
    def nothing_of_a_previous_day_is_live(self):
        day = self.rows("SELECT value FROM meta WHERE key = 'day'")[0]["value"]
        assert day <= self.station.today()
        live = self.rows(
            "SELECT r.id, t.day FROM requests r JOIN tickets t ON t.id = r.ticket_id"
            " WHERE r.state IN ('pending', 'waiting', 'called', 'serving')")
        assert all(r["day"] == day for r in live), (day, live)
        assert not self.rows("SELECT id FROM tickets WHERE day < ? AND state = 'open'", day)


SETTINGS = settings(
    # ~10 s on SQLite; CABIN_STATEFUL_EXAMPLES=2000 for a deeper search before a release
    max_examples=int(os.environ.get("CABIN_STATEFUL_EXAMPLES", "60")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_station_machine(any_db):
    run_state_machine_as_test(lambda: StationMachine(any_db), settings=SETTINGS)
