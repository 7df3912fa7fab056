"""A realistic day run through the real engine on a simulated clock.

Citizens arrive by hour of the opening hours (mornings and early afternoons busiest), choose
their errands from a service mix (about one in five takes two or more), and behave as citizens
do: a few do not come when called (and some come back in time to be reactivated), a few give
up and cancel, a few errands turn out to be another service and are transferred. Windows call,
start and complete with service times drawn around each service's configured minutes. Every
step is an ordinary engine operation: the simulated day is indistinguishable in the database
from a real one, which is what the demo, the exports and the benchmarks need.

Same seed and day, same database contents.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from cabin.config import DEFAULT_PRIORITY, WEEKDAYS, StationConfig

from cabin.queue.clock import ManualClock
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, NothingToCall
from cabin.queue.reports.figures import day_figures
from cabin.queue.store import Store

if TYPE_CHECKING:  # a simulated day may go to a server too; psycopg is imported only then
    from cabin.queue.pgstore import PgStore

MINUTE = 60_000
# Relative arrivals per hour of the day (unlisted hours: 0.5).
HOURLY = {8: 0.7, 9: 1.0, 10: 1.0, 11: 0.7, 12: 0.3, 13: 0.4, 14: 0.8, 15: 1.0, 16: 0.8, 17: 0.4}
# Relative demand per service (unlisted services: 1).
MIX = {
    "id.temporary": 3, "id.apply": 4, "id.cross_region": 3, "id.loss_report": 1.5, "id.found_card": 0.5,
    "ee.passport": 2, "ee.hkmo_permit": 2, "ee.hkmo_endorse": 2.5, "ee.tw_permit": 0.8, "ee.tw_endorse": 0.8,
    "tr.license_renew": 1.5, "tr.license_replace": 0.7, "tr.violation": 1.5,
}
ERRANDS = {1: 80, 2: 15, 3: 4, 4: 1}  # percent of citizens by number of errands
P_PRIORITY, P_APPOINTMENT = 0.07, 0.05
P_NO_SHOW, P_COMES_BACK = 0.03, 0.4
P_CANCEL, P_TRANSFER = 0.02, 0.02
MAX_CITIZENS = 50_000
OVERTIME_MIN = 120  # windows keep calling this long after closing time; what is left expires


@dataclass
class Citizen:
    services: list[str]
    priority: str
    no_show: bool
    comes_back: bool
    cancels_after_ms: int | None
    transfer_to: str | None
    ticket_id: int | None = None
    missed: bool = field(default=False)


def last_open_day(config: StationConfig, day: str) -> str:
    """The latest day on or before `day` on which the station opens."""
    d = date.fromisoformat(day)
    for _ in range(7):
        if config.hours[WEEKDAYS[d.weekday()]]:
            return d.isoformat()
        d -= timedelta(days=1)
    raise CabinError("the configuration has no opening hours on any day")


def capacity_citizens(config: StationConfig, day: str, load: float = 0.85) -> int:
    """How many citizens the day's open windows can serve at the given load."""
    spans = config.hours[WEEKDAYS[date.fromisoformat(day).weekday()]]
    open_minutes = sum(end - start for start, end in spans)
    mean = sum(config.services[s].minutes * w for s, w in _mix(config).items()) / sum(_mix(config).values())
    errands = sum(k * p for k, p in ERRANDS.items()) / 100
    return max(1, int(open_minutes * len(config.windows) * load / (mean * errands)))


def _mix(config: StationConfig) -> dict[str, float]:
    return {code: MIX.get(code, 1.0) for code in config.services}


class DaySimulation:
    def __init__(self, store: Store | PgStore, config: StationConfig, day: str, citizens: int, seed: int):
        self.config, self.day = config, day
        self.rng = random.Random(f"{seed}:{day}")
        self.spans = config.hours[WEEKDAYS[date.fromisoformat(day).weekday()]]
        if not self.spans:
            raise CabinError(f"the station is closed on {day} ({WEEKDAYS[date.fromisoformat(day).weekday()]}); choose an open day")
        tz = config.station.tz
        self.midnight = datetime.combine(date.fromisoformat(day), datetime.min.time(), tz)
        self.clock = ManualClock(tz, self.midnight + timedelta(minutes=self.spans[0][0]))
        self.station = Station(store, config, self.clock)
        self.citizens = [self._citizen() for _ in range(citizens)]
        self.by_ticket: dict[int, Citizen] = {}
        self.heap: list = []
        self.seq = itertools.count()
        self.idle: set[int] = set()
        self.busy: dict[int, Citizen] = {}
        last_call = min(self.spans[-1][1] + OVERTIME_MIN, 24 * 60 - 30)
        self.last_call_ms = int(self.midnight.timestamp() * 1000) + last_call * MINUTE

    # -- the population --------------------------------------------------------------------
    def _citizen(self) -> Citizen:
        rng = self.rng
        mix = _mix(self.config)
        k = rng.choices(list(ERRANDS), weights=list(ERRANDS.values()))[0]
        k = min(k, self.config.queue.max_errands, len(mix))
        services: list[str] = []
        while len(services) < k:
            s = rng.choices(list(mix), weights=list(mix.values()))[0]
            if s not in services:
                services.append(s)
        r = rng.random()
        priority = DEFAULT_PRIORITY
        if r < P_PRIORITY and "priority" in self.config.priorities:
            priority = "priority"
        elif r < P_PRIORITY + P_APPOINTMENT and "appointment" in self.config.priorities:
            priority = "appointment"
        same_category = [s for s in mix if s != services[0]
                         and self.config.services[s].category == self.config.services[services[0]].category]
        return Citizen(
            services=services,
            priority=priority,
            no_show=rng.random() < P_NO_SHOW,
            comes_back=rng.random() < P_COMES_BACK,
            cancels_after_ms=round(rng.uniform(5, 30) * MINUTE) if rng.random() < P_CANCEL else None,
            transfer_to=rng.choice(same_category) if same_category and rng.random() < P_TRANSFER else None,
        )

    def _arrival_times(self) -> list[int]:
        minutes = [m for start, end in self.spans for m in range(start, max(start + 1, end - 5))]
        weights = [HOURLY.get(m // 60, 0.5) for m in minutes]
        picks = self.rng.choices(minutes, weights=weights, k=len(self.citizens))
        base = int(self.midnight.timestamp() * 1000)
        return sorted(base + m * MINUTE + self.rng.randrange(MINUTE) for m in picks)

    def _service_ms(self, service: str) -> int:
        mean = self.config.services[service].minutes
        sigma = 0.4  # lognormal: most close to the mean, a few much longer
        return max(MINUTE // 2, round(self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma) * MINUTE))

    # -- the event loop --------------------------------------------------------------------
    def push(self, at: int, action: str, *data) -> None:
        heapq.heappush(self.heap, (at, next(self.seq), action, data))

    def wake_idle(self, now: int) -> None:
        for w in sorted(self.idle):
            self.push(now, "try_call", w)
        self.idle.clear()

    def run(self, progress=None) -> None:
        for citizen, at in zip(self.citizens, self._arrival_times()):
            self.push(at, "arrive", citizen)
        for w in sorted(self.config.windows):  # at the first opening time (the clock's start)
            self.station.set_window(w, "open")
            self.idle.add(w)
        while self.heap:
            at, _, action, data = heapq.heappop(self.heap)
            self.clock.set(max(at, self.clock.now_ms()))
            getattr(self, f"on_{action}")(*data)
            if action == "arrive" and progress:
                progress()
        self.clock.advance(minutes=1)
        for w in sorted(self.config.windows):
            self.station.set_window(w, "closed")

    def on_arrive(self, citizen: Citizen) -> None:
        issued = self.station.issue(citizen.services, priority=citizen.priority)
        citizen.ticket_id = issued.ticket_id
        self.by_ticket[issued.ticket_id] = citizen
        if citizen.cancels_after_ms is not None:
            self.push(self.clock.now_ms() + citizen.cancels_after_ms, "cancel", citizen)
        self.wake_idle(self.clock.now_ms())

    def on_try_call(self, window: int) -> None:
        if window in self.busy or self.clock.now_ms() > self.last_call_ms:
            return
        try:
            call = self.station.call_next(window)
        except NothingToCall:
            self.idle.add(window)
            return
        citizen = self.by_ticket[call.ticket_id]
        self.busy[window] = citizen
        now = self.clock.now_ms()
        if citizen.no_show and not citizen.missed:
            self.push(now + MINUTE, "recall", window)
        else:
            self.push(now + self.rng.randrange(15_000, 60_000), "start", window, call.service)

    def on_recall(self, window: int) -> None:
        result = self.station.recall(window)
        now = self.clock.now_ms()
        if not result.no_show:
            self.push(now + MINUTE, "recall", window)
            return
        citizen = self.busy.pop(window)
        citizen.missed = True
        if citizen.comes_back:
            limit = self.config.queue.reactivation_min
            self.push(now + round(self.rng.uniform(3, max(3, limit - 5)) * MINUTE), "reactivate", citizen)
        self.push(now, "try_call", window)

    def on_start(self, window: int, service: str) -> None:
        self.station.start(window)
        citizen = self.busy[window]
        now = self.clock.now_ms()
        if citizen.transfer_to and service == citizen.services[0]:
            self.push(now + self.rng.randrange(MINUTE, 3 * MINUTE), "transfer", window)
        else:
            self.push(now + self._service_ms(service), "complete", window)

    def on_transfer(self, window: int) -> None:
        citizen = self.busy.pop(window)
        self.station.transfer(window, to_service=citizen.transfer_to)
        citizen.transfer_to = None
        self.push(self.clock.now_ms(), "try_call", window)
        self.wake_idle(self.clock.now_ms())

    def on_complete(self, window: int) -> None:
        result = self.station.complete(window)
        now = self.clock.now_ms()
        if result.continued:
            self.push(now + self._service_ms(result.continued.service), "complete", window)
            return
        self.busy.pop(window)
        self.push(now, "try_call", window)
        self.wake_idle(now)

    def on_cancel(self, citizen: Citizen) -> None:
        ticket = self.station.show_ticket(str(citizen.ticket_id))
        if ticket.state == "open" and all(e.state in ("waiting", "pending") for e in ticket.errands):
            self.station.cancel(str(citizen.ticket_id))

    def on_reactivate(self, citizen: Citizen) -> None:
        if self.clock.now_ms() > self.last_call_ms:
            return
        self.station.reactivate(str(citizen.ticket_id))
        self.wake_idle(self.clock.now_ms())


def simulate_day(store: Store | PgStore, config: StationConfig, day: str, citizens: int, seed: int = 0,
                 progress: bool = False) -> dict:
    """Run one day into `store` (simulate_into) and return its figures."""
    simulate_into(store, config, day, citizens, seed, progress)
    with store.read() as conn:
        return day_figures(conn, config, day)


def simulate_into(store: Store | PgStore, config: StationConfig, day: str, citizens: int, seed: int = 0,
                  progress: bool = False) -> None:
    """Run one day into `store`, a file or a server's database. Refuses a database holding real
    tickets (one not made by simulations), a day that already has tickets, and a day before the
    database's current day (the engine closes days in order)."""
    if not 1 <= citizens <= MAX_CITIZENS:
        raise CabinError(f"--citizens must be between 1 and {MAX_CITIZENS}")
    with store.read() as conn:
        marked = conn.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()
        if not marked and conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone():
            raise CabinError(f"{store.where} holds a real station's tickets: simulate into another database (--db PATH)")
        if conn.execute("SELECT 1 FROM tickets WHERE day = ? LIMIT 1", (day,)).fetchone():
            raise CabinError(f"{day} already has tickets in {store.where}: choose another day or database")
        current = conn.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        if current and current[0] > day:
            raise CabinError(f"{store.where} has already reached {current[0]}: simulate a later day or use another database")
    with store.write() as conn:  # a simulated database is never taken for a station's real one
        conn.execute("INSERT INTO meta (key, value) VALUES ('simulated', '1')"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    sim = DaySimulation(store, config, day, citizens, seed)
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(f"simulating {day}", total=citizens)
            sim.run(progress=lambda: bar.advance(task))
    else:
        sim.run()
