"""A day's queue figures, derived from the event log alone.

Each request's history is replayed from its events (`Ledger`), so any figure here can be
recomputed from the raw events: the daily export writes them (`--with-events`) and the district
merge recomputes its percentiles from them. The same code serves `cabin simulate` (`day_figures`),
the export (`day_report`) and, later, the supervisor's "today" screen. Definitions are in the
README ("Figures" and "Daily exports").

An event here is the tuple (id, at, kind, ticket_id, request_id, service, window, clerk, detail):
`at` in ms UTC, `detail` the JSON text as stored (or None); the id only orders them.
"""

from __future__ import annotations

import json
import math
import sqlite3
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, iadd
from typing import Any, Callable, Iterable, NamedTuple
from zoneinfo import ZoneInfo

from cabin.config import StationConfig

from cabin.queue.clock import day_span, next_day

# The request state an event leaves behind; kinds not listed change no request state.
STATE_AFTER = {
    "queued": "waiting", "returned": "waiting", "reactivated": "waiting",
    "pending": "pending",
    "called": "called", "recalled": "called",
    "started": "serving",
    "done": "done", "no_show": "no_show", "cancelled": "cancelled",
    "transferred": "transferred", "expired": "expired",
}
REQUEUE = ("queued", "returned", "reactivated")  # the kinds that enter the queue: STATE_AFTER "waiting"
AT_WINDOW = ("called", "serving")
WINDOW_SHUT = ("window_pause", "window_close")
EVENT_COLUMNS = "e.at, e.kind, e.ticket_id, e.request_id, e.service, e.window, e.clerk, e.detail"
HOUR_MS = 3_600_000
FINAL_STATES = ("done", "no_show", "cancelled", "transferred", "expired")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    return _ranked(sorted(values), p)


def _ranked(ordered: list[float], p: float) -> float | None:
    """`percentile` of values already sorted."""
    if not ordered:
        return None
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


def _time_figures(values: list[int], prefix: str, sla_ms: int | None = None) -> dict:
    """p50 and p90 (and for waits the maximum and the share within the SLA) of ms values, in minutes."""
    ordered = sorted(values)
    figures = {f"{prefix}_p50_min": _minutes(_ranked(ordered, 0.5)), f"{prefix}_p90_min": _minutes(_ranked(ordered, 0.9))}
    if sla_ms is not None:
        figures[f"{prefix}_max_min"] = _minutes(ordered[-1] if ordered else None)
        figures["sla_share"] = _share(bisect_right(ordered, sla_ms), len(ordered))
    return figures


def _minutes(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 60_000, 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Wait(NamedTuple):
    """One call: how long the errand waited for it, what for, where and by whom it was called."""

    ms: int
    service: str | None
    window: int | None
    clerk: str | None
    began: int | None   # the local hour the wait began (None: outside the day)
    called: int | None  # the local hour of the call


class Served(NamedTuple):
    """One errand done: how long it took from its start, what, where and by whom."""

    ms: int
    service: str | None
    window: int | None
    clerk: str | None


class _Request:
    __slots__ = ("ticket", "service", "state", "since", "started", "busy_since", "busy_window", "busy_clerk",
                 "final_window", "final_clerk")

    def __init__(self, ticket: int, service: str | None):
        self.ticket, self.service = ticket, service
        self.state = None
        self.since = self.started = self.busy_since = self.busy_window = self.busy_clerk = None
        self.final_window = self.final_clerk = None


class _Ticket:
    __slots__ = ("first_service", "errands", "hour", "done", "requeued")

    def __init__(self, services: list[str], hour: int | None):
        self.first_service = services[0] if services else None
        self.errands, self.hour, self.done, self.requeued = len(services), hour, 0, False


class Ledger:
    """One station's day replayed from its events: the facts every figure is computed from.

    Feed it the events of the day's tickets (including the close-out written the next day) and
    the day's window events, each stream in the order they were written. `until_ms` ends what is
    still going on (a window still open, a citizen still at a window): the end of the day, or
    the moment of the export while the day is not over.
    """

    def __init__(self, station: str, day: str, tz: ZoneInfo, until_ms: int | None = None):
        self.station, self.day, self.tz = station, day, tz
        # on a plain day the local hour is arithmetic (no zoneinfo per event)
        self.start_ms, self.end_ms, self._plain_hours = day_span(day, tz)
        self.until_ms = self.end_ms if until_ms is None else max(self.start_ms, min(until_ms, self.end_ms))
        self.tickets: dict[int, _Ticket] = {}
        self.requested: Counter = Counter()          # service -> errands asked for at issue
        self.requests: dict[int, _Request] = {}
        self.waits: list[Wait] = []
        self.service_times: list[Served] = []
        self.done_hours: Counter = Counter()
        self.busy_ms: Counter = Counter()            # window -> ms with a citizen called or served there
        self.clerk_busy_ms: Counter = Counter()      # clerk -> the same, by the clerk who called
        self.open_ms: Counter = Counter()            # window -> ms open
        self._open_since: dict[int, int] = {}
        self.windows_seen: set[int] = set()
        self._finished = False

    def hour(self, at: int) -> int | None:
        """The local hour 0-23 of the day, or None outside it (a close-out the next day)."""
        if not self.start_ms <= at < self.end_ms:
            return None
        if self._plain_hours:
            return (at - self.start_ms) // HOUR_MS
        return datetime.fromtimestamp(at / 1000, self.tz).hour

    def _clip(self, begin: int, end: int) -> int:
        return max(0, min(end, self.until_ms) - max(begin, self.start_ms))

    def feed(self, events: Iterable[tuple]) -> "Ledger":
        """Take events (id, at, kind, ticket_id, request_id, service, window, clerk, detail): each
        ticket's in the order written, window events likewise (the two streams may interleave
        any way; the id is not used)."""
        # The hot loop of every export: locals, and the hour by arithmetic on a plain day.
        requests, tickets = self.requests, self.tickets
        hour, state_after, at_window = self.hour, STATE_AFTER, AT_WINDOW
        waits, service_times, done_hours = self.waits, self.service_times, self.done_hours
        requested: list[str] = []
        start, end, until = self.start_ms, self.end_ms, self.until_ms
        busy_ms, clerk_busy_ms = self.busy_ms, self.clerk_busy_ms
        plain = self._plain_hours
        for _, at, kind, tid, rid, service, window, clerk, detail in events:
            if tid is None:
                if kind.startswith("window_"):
                    self._window_event(at, kind, window)
                continue
            after = state_after.get(kind)
            if after is None:
                if kind == "issued":
                    services = json.loads(detail).get("services", []) if detail else []
                    tickets[tid] = _Ticket(services, (at - start) // HOUR_MS if plain and start <= at < end
                                           else hour(at))
                    requested.extend(services)
                continue
            if rid is None:
                continue
            r = requests.get(rid)
            if r is None:
                r = requests[rid] = _Request(tid, service)
            if kind == "called":
                since = r.since
                if since is not None:
                    if plain and start <= since and at < end:
                        waits.append(Wait(at - since, r.service, window, clerk, (since - start) // HOUR_MS,
                                          (at - start) // HOUR_MS))
                    else:
                        waits.append(Wait(at - since, r.service, window, clerk, hour(since), hour(at)))
                    r.since = None
                r.started = at  # until an explicit start says otherwise
                r.busy_since, r.busy_window, r.busy_clerk = at, window, clerk
                if window is not None:
                    self.windows_seen.add(window)
            elif kind == "done":
                if r.started is not None:
                    service_times.append(Served(at - r.started, r.service, window, clerk))
                done_hours[(at - start) // HOUR_MS if plain and start <= at < end else hour(at)] += 1
                t = tickets.get(tid)
                if t is not None:
                    t.done += 1
            elif kind == "started":
                if detail is None or not json.loads(detail).get("implicit"):
                    r.started = at
            elif after == "waiting":  # queued, returned, reactivated
                r.since = at
                # a later errand queueing again after the previous one: not one-stop
                if kind == "queued" and detail and "after" in json.loads(detail) and tid in tickets:
                    tickets[tid].requeued = True
            if r.busy_since is not None and after not in at_window:  # the citizen leaves the window
                ms = min(at, until) - max(r.busy_since, start)
                if ms > 0:
                    if r.busy_window is not None:
                        busy_ms[r.busy_window] += ms
                    clerk_busy_ms[r.busy_clerk] += ms
                elif r.busy_clerk not in clerk_busy_ms:
                    clerk_busy_ms[r.busy_clerk] = 0
                r.busy_since = None
            r.state = after
            r.final_window = window
            r.final_clerk = clerk
        self.requested.update(Counter(requested))
        return self

    def _busy(self, r: _Request, at: int) -> None:
        """As feed does inline: the time at the window, within the day and up to `until_ms`."""
        ms = self._clip(r.busy_since, at)
        if r.busy_window is not None:
            self.busy_ms[r.busy_window] += ms
        self.clerk_busy_ms[r.busy_clerk] += ms
        r.busy_since = None

    def _window_event(self, at: int, kind: str, window: int | None) -> None:
        if window is None:
            return
        self.windows_seen.add(window)
        if kind == "window_open":
            self._open_since.setdefault(window, at)
        elif kind in WINDOW_SHUT and window in self._open_since:
            self.open_ms[window] += self._clip(self._open_since.pop(window), at)

    def finish(self) -> "Ledger":
        """Close what is still going on at `until_ms`; idempotent."""
        if not self._finished:
            self._finished = True
            for window, since in self._open_since.items():
                self.open_ms[window] += self._clip(since, self.until_ms)
            for r in self.requests.values():
                if r.busy_since is not None:
                    self._busy(r, self.until_ms)
        return self


# -- the summary ---------------------------------------------------------------------------
def summary(ledgers: list[Ledger], sla_target_min: int) -> dict:
    """The day's figures over one or several stations' ledgers, as `cabin simulate` prints them."""
    final: Counter = Counter()
    waits: list[int] = []
    services: list[int] = []
    tickets: list[_Ticket] = []
    for ledger in ledgers:
        final.update(map(attrgetter("state"), ledger.requests.values()))
        waits.extend(map(attrgetter("ms"), ledger.waits))
        services.extend(map(attrgetter("ms"), ledger.service_times))
        tickets.extend(ledger.tickets.values())
    multi = [t for t in tickets if t.errands >= 2]
    one_stop = [t for t in multi if t.done == t.errands and not t.requeued]
    wait = _time_figures(waits, "wait", sla_target_min * 60_000)
    service = _time_figures(services, "service")
    return {
        "tickets_issued": len(tickets),
        "errands_requested": sum(t.errands for t in tickets),
        "errands_done": final["done"],
        "errands_no_show": final["no_show"],
        "errands_cancelled": final["cancelled"],
        "errands_transferred": final["transferred"],
        "errands_expired": final["expired"],
        "errands_open": final["pending"] + final["waiting"] + final["called"] + final["serving"],
        "calls": len(waits),
        "wait_p50_min": wait["wait_p50_min"],
        "wait_p90_min": wait["wait_p90_min"],
        "wait_max_min": wait["wait_max_min"],
        "sla_target_min": sla_target_min,
        "sla_share": wait["sla_share"],
        "service_p50_min": service["service_p50_min"],
        "service_p90_min": service["service_p90_min"],
        "multi_errand_tickets": len(multi),
        "one_stop_tickets": len(one_stop),
        "one_stop_share": _share(len(one_stop), len(multi)),
    }


def window_minutes(ledgers: list[Ledger]) -> dict:
    opened = sum(sum(ledger.finish().open_ms.values()) for ledger in ledgers)
    busy = sum(sum(ledger.busy_ms.values()) for ledger in ledgers)
    return {"windows_open_min": _minutes(opened), "windows_busy_min": _minutes(busy),
            "windows_idle_min": _minutes(max(0, opened - busy))}


# -- the breakdowns ------------------------------------------------------------------------
@dataclass
class _Group:
    """The raw material of one breakdown row; each figure grows by `+=` (`add`)."""

    tickets: int = 0
    requested: int = 0
    final: Counter = field(default_factory=Counter)   # final state -> errands
    waits: list = field(default_factory=list)         # ms
    services: list = field(default_factory=list)      # ms
    calls: int = 0
    done: int = 0
    open_ms: int = 0
    busy_ms: int = 0

    def add(self, name: str, amount) -> None:
        setattr(self, name, iadd(getattr(self, name), amount))

    def errand_figures(self) -> dict:
        return {
            "errands_done": self.final["done"], "errands_no_show": self.final["no_show"],
            "errands_cancelled": self.final["cancelled"], "errands_transferred": self.final["transferred"],
            "errands_expired": self.final["expired"],
            "errands_open": sum(n for s, n in self.final.items() if s not in FINAL_STATES),
        }

    def wait_figures(self, sla_ms: int) -> dict:
        return _time_figures(self.waits, "wait", sla_ms)

    def service_figures(self) -> dict:
        return _time_figures(self.services, "service")


@dataclass
class Catalogue:
    """What the breakdowns are keyed by: the station's services, categories and windows.

    A merge builds it from the stations' exports instead of a config."""

    services: dict[str, tuple[str | None, str]]       # code -> (category, name)
    categories: dict[str, str]                          # code -> name
    windows: dict[str, list[int]]                       # station -> its windows

    @classmethod
    def of(cls, config: StationConfig) -> "Catalogue":
        return cls({s.code: (s.category, s.name) for s in config.services.values()},
                   {c.code: c.name for c in config.categories.values()},
                   {config.station.code: sorted(config.windows)})


def _count(facts: Iterable, key: Callable) -> Counter:
    return Counter(map(key, facts))


def _times(facts: Iterable[Wait | Served], key: Callable) -> dict[Any, list[int]]:
    grouped: dict[Any, list[int]] = defaultdict(list)
    for fact in facts:
        grouped[key(fact)].append(fact.ms)
    return grouped


def _finals(requests: Iterable[_Request], key: Callable, states: tuple | None = None) -> dict[Any, Counter]:
    grouped: dict[Any, Counter] = defaultdict(Counter)
    for (k, state), n in Counter((key(r), r.state) for r in requests).items():
        if states is None or state in states:
            grouped[k][state] += n
    return grouped


_SERVICE, _WINDOW, _CLERK = attrgetter("service"), attrgetter("window"), attrgetter("clerk")
CLERK_STATES = ("done", "no_show", "transferred")  # what a clerk's row counts: the errands the clerk ended


@dataclass(frozen=True)
class _Dimension:
    """One breakdown: which of a ledger's facts it counts, by which key."""

    facts: Callable[[Ledger], dict[str, dict]]   # a group's figure -> {key: what to add to it}
    seed: Callable[[Catalogue], Iterable] = lambda catalogue: ()  # keys with a row even when idle, first
    none_is_a_key: bool = False  # None is a row (a clerk not recorded), else outside (a close-out's hour)
    per_station: bool = False    # keyed (station, key): a window or a clerk is one station's own


_DIMENSIONS = {
    "by_service": _Dimension(
        lambda ledger: {"tickets": _count(ledger.tickets.values(), attrgetter("first_service")),
                        "requested": ledger.requested,
                        "final": _finals(ledger.requests.values(), _SERVICE),
                        "waits": _times(ledger.waits, _SERVICE), "calls": _count(ledger.waits, _SERVICE),
                        "services": _times(ledger.service_times, _SERVICE)},
        seed=lambda catalogue: catalogue.services, none_is_a_key=True),
    "by_window": _Dimension(
        lambda ledger: {"final": _finals(ledger.requests.values(), attrgetter("final_window")),
                        "waits": _times(ledger.waits, _WINDOW), "calls": _count(ledger.waits, _WINDOW),
                        "services": _times(ledger.service_times, _WINDOW),
                        # every window the events name has a row, even an idle one
                        "open_ms": {w: ledger.open_ms.get(w, 0) for w in ledger.windows_seen},
                        "busy_ms": ledger.busy_ms},
        seed=lambda catalogue: [(st, w) for st, ws in catalogue.windows.items() for w in ws], per_station=True),
    "by_clerk": _Dimension(
        lambda ledger: {"final": _finals(ledger.requests.values(), attrgetter("final_clerk"), CLERK_STATES),
                        "calls": _count(ledger.waits, _CLERK),
                        "services": _times(ledger.service_times, _CLERK),
                        "busy_ms": ledger.clerk_busy_ms},
        none_is_a_key=True, per_station=True),
    "by_hour": _Dimension(
        # a wait counts in the hour it began, a call in the hour it was made
        lambda ledger: {"tickets": _count(ledger.tickets.values(), attrgetter("hour")),
                        "waits": _times(ledger.waits, attrgetter("began")),
                        "calls": _count(ledger.waits, attrgetter("called")),
                        "done": ledger.done_hours},
        seed=lambda catalogue: range(24)),
}


def _file(groups: dict[Any, _Group], dimension: _Dimension, ledger: Ledger) -> None:
    """Add one ledger's facts to a breakdown's groups; a key not seen before gets a group at the end."""
    for name, by_key in dimension.facts(ledger).items():
        for key, amount in by_key.items():
            if key is not None or dimension.none_is_a_key:
                groups[(ledger.station, key) if dimension.per_station else key].add(name, amount)


def breakdowns(ledgers: list[Ledger], catalogue: Catalogue, sla_target_min: int) -> dict[str, list[dict]]:
    """Rows per category, service, window, clerk and hour (each row keyed, without station/day)."""
    sla_ms = sla_target_min * 60_000
    # seeded in the catalogue's order; a key it does not know (a service since removed from the
    # configuration, a clerk) is added at the end
    groups = {name: defaultdict(_Group, {key: _Group() for key in d.seed(catalogue)})
              for name, d in _DIMENSIONS.items()}
    for ledger in ledgers:
        ledger.finish()
        for name, dimension in _DIMENSIONS.items():
            _file(groups[name], dimension, ledger)
    # a category is the sum of its services
    by_category: dict[str | None, _Group] = defaultdict(_Group, {code: _Group() for code in catalogue.categories})
    for code, g in groups["by_service"].items():
        c = by_category[catalogue.services.get(code, (None, ""))[0]]
        for name in ("tickets", "requested", "final", "waits", "calls", "services"):
            c.add(name, getattr(g, name))

    by_window, by_clerk = groups["by_window"], groups["by_clerk"]
    return {
        "by_category": [category_row(code, catalogue, g, sla_ms) for code, g in by_category.items()],
        "by_service": [service_row(code, catalogue, g, sla_ms) for code, g in groups["by_service"].items()],
        "by_window": [window_row(st, window, by_window[(st, window)], sla_ms) for (st, window) in sorted(by_window)],
        "by_clerk": [clerk_row(st, clerk, g)
                     for (st, clerk), g in sorted(by_clerk.items(),
                                                  key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or ""))],
        "by_hour": [hour_row(h, g, sla_ms) for h, g in groups["by_hour"].items()],
    }


def _errand_row(g: _Group, sla_ms: int) -> dict:
    return {"tickets_issued": g.tickets, "errands_requested": g.requested, **g.errand_figures(),
            "calls": g.calls, **g.wait_figures(sla_ms), **g.service_figures()}


def category_row(code, catalogue: Catalogue, g: _Group, sla_ms: int) -> dict:
    return {"category": code, "name": catalogue.categories.get(code, ""), **_errand_row(g, sla_ms)}


def service_row(code, catalogue: Catalogue, g: _Group, sla_ms: int) -> dict:
    category, name = catalogue.services.get(code, (None, ""))
    return {"service": code, "category": category, "name": name, **_errand_row(g, sla_ms)}


def window_row(station: str, window: int, g: _Group, sla_ms: int) -> dict:
    return {"station": station, "window": window, "calls": g.calls, "errands_done": g.final["done"],
            "errands_no_show": g.final["no_show"], "errands_transferred": g.final["transferred"],
            **g.wait_figures(sla_ms), **g.service_figures(), "open_min": _minutes(g.open_ms),
            "busy_min": _minutes(g.busy_ms), "idle_min": _minutes(max(0, g.open_ms - g.busy_ms))}


def clerk_row(station: str, clerk: str | None, g: _Group) -> dict:
    return {"station": station, "clerk": clerk, "calls": g.calls, "errands_done": g.final["done"],
            "errands_no_show": g.final["no_show"], "errands_transferred": g.final["transferred"],
            **g.service_figures(), "busy_min": _minutes(g.busy_ms)}


def hour_row(hour: int, g: _Group, sla_ms: int) -> dict:
    return {"hour": hour, "tickets_issued": g.tickets, "errands_done": g.done, "calls": g.calls,
            **g.wait_figures(sla_ms)}


def blank_row(breakdown: str, station: str, key) -> dict:
    """A row with nothing in it (counts 0, times and shares empty), for a key only the caller's
    extra figures know (a clerk who took applications but called nobody)."""
    g, empty = _Group(), Catalogue({}, {}, {})
    return {"by_category": lambda: category_row(key, empty, g, 0), "by_service": lambda: service_row(key, empty, g, 0),
            "by_window": lambda: window_row(station, key, g, 0), "by_clerk": lambda: clerk_row(station, key, g),
            "by_hour": lambda: hour_row(key, g, 0)}[breakdown]()


# -- reading a day from the store ----------------------------------------------------------
def _tuples(conn, query: str, params: tuple) -> list[tuple]:
    """Every row as a plain tuple: the events are many, and rows by name cost more to build. An
    SQLite connection gives them so through a cursor without a row factory; PostgreSQL's
    (queue/pgstore.py) rows are read by name or index, and are made tuples here."""
    if isinstance(conn, sqlite3.Connection):
        cur = conn.cursor()
        cur.row_factory = None
        return cur.execute(query, params).fetchall()
    return [tuple(row) for row in conn.execute(query, params)]


def ticket_events(conn: sqlite3.Connection, day: str) -> list[tuple]:
    """The events of the day's tickets, including the close-out written the next day."""
    return _tuples(conn, f"SELECT e.id, {EVENT_COLUMNS} FROM events e JOIN tickets t ON t.id = e.ticket_id"
                         " WHERE t.day = ? ORDER BY e.id", (day,))


def window_events(conn: sqlite3.Connection, day: str) -> list[tuple]:
    """The day's window events (opened, paused, closed), found without an index on the day.

    Events are written in time order (every write reads the clock under the writer's lock), so
    the day's events are one run of ids, found by bisecting the ids on the `day` column."""
    first = _first_id_on_or_after(conn, day)
    after = _first_id_on_or_after(conn, next_day(day))
    return _tuples(conn, f"SELECT e.id, {EVENT_COLUMNS} FROM events e WHERE e.id >= ? AND e.id < ?"
                         " AND e.ticket_id IS NULL AND e.kind LIKE 'window~_%' ESCAPE '~' ORDER BY e.id",
                   (first, after))


def _first_id_on_or_after(conn: sqlite3.Connection, day: str) -> int:
    # two statements: SQLite finds a lone MIN or MAX of the rowid in one step, both at once by a scan
    lo = conn.execute("SELECT MIN(id) FROM events").fetchone()[0] or 0
    hi = (conn.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute("SELECT id, day FROM events WHERE id >= ? ORDER BY id LIMIT 1", (mid,)).fetchone()
        if row is None or row[1] >= day:
            hi = mid
        else:
            lo = row[0] + 1
    return lo


def day_events(conn: sqlite3.Connection, day: str) -> list[tuple]:
    """Every event the day's figures are derived from: the tickets' events, then the windows'
    (each in the order written; sort them to interleave)."""
    return ticket_events(conn, day) + window_events(conn, day)


def day_figures(conn: sqlite3.Connection, config: StationConfig, day: str) -> dict:
    """The day's summary figures (README "Figures"), as `cabin simulate` prints them."""
    ledger = Ledger(config.station.code, day, config.station.tz).feed(ticket_events(conn, day))
    return {"station": config.station.code, "day": day, **summary([ledger], config.queue.sla_target_min)}
