"""What the counter app shows, read from the station in one go; no Textual here.

`read_desk` gathers, for one window: its state, the errand at it with the ticket's errands,
and the queue at a glance (waiting per service, how long the longest has waited, the estimated
waits). It runs in a thread worker; the screen only draws the `DeskView` it is handed.

The longest wait of a service is measured from the moment its oldest waiting errand entered the
queue (the request's `updated_at`: set when it became waiting — issued, queued after a previous
errand, returned, transferred or reactivated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cabin.queue.engine import Station
from cabin.queue.results import AtWindow, Ticket, WindowState


@dataclass(frozen=True)
class ServiceGlance:
    service: str
    waiting: int
    longest_min: int            # minutes the oldest waiting errand has waited
    estimated_min: float        # the station's estimate for one more citizen
    here: bool                  # this window serves it


@dataclass(frozen=True)
class DeskView:
    day: str
    now_ms: int
    window: int
    state: str                                  # open, paused, closed
    current: AtWindow | None                    # the errand at the window
    ticket: Ticket | None                       # Station.show_ticket of the current ticket
    services: tuple[ServiceGlance, ...]         # every configured service
    windows: tuple[WindowState, ...] = field(default=())  # queue_state().windows

    @property
    def waiting(self) -> int:
        return sum(s.waiting for s in self.services)

    @property
    def waiting_here(self) -> int:
        return sum(s.waiting for s in self.services if s.here)

    @property
    def longest_min(self) -> int:
        return max((s.longest_min for s in self.services if s.waiting), default=0)

    def window_state(self, number: int) -> str:
        for w in self.windows:
            if w.window == number:
                return w.state
        return "closed"


def read_desk(station: Station, window: int) -> DeskView:
    now = station.clock.now_ms()
    state = station.queue_state()
    day = state.day
    mine = next((w for w in state.windows if w.window == window), None)
    current = mine.current if mine else None
    ticket = station.show_ticket(str(current.ticket_id)) if current else None
    since = state.waiting_since  # counted in the same pass as the waiting (queue_state)
    serves = set(station.config.windows[window].services)
    services = tuple(
        ServiceGlance(code, state.waiting.get(code, 0),
                      max(0, (now - since[code]) // 60_000) if code in since else 0,
                      state.estimated_wait_min.get(code, 0.0), code in serves)
        for code in station.config.services)
    return DeskView(day, now, window, mine.state if mine else "closed", current, ticket, services,
                    tuple(state.windows))
