"""What the lobby board shows, read from the station in one snapshot; no Textual here.

The board shows ticket numbers and window numbers only: it reads the queue's tables (tickets,
requests, events, windows) and never the counter's personal tables, so no name or ID number
can reach it.

Reads are cheap whatever the day's length: the last calls are the newest call events from
today's first ticket on (a backwards walk of the events' primary key that stops after a few
rows), the next numbers come from the waiting errands' partial index, and the board asks for
all this only when another process has committed (kiosk/faces/watch.py: `PRAGMA data_version`
on a file, a NOTIFY on a server).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cabin.queue.engine import Station

LAST_CALLS = 8
NEXT_NUMBERS = 10


@dataclass(frozen=True)
class WindowNow:
    window: int
    state: str               # open, paused, closed
    ticket: str | None       # the number called to it or being served there
    serving: bool = False    # the citizen has arrived


@dataclass(frozen=True)
class CallShown:
    """A call as the board announces it: a number, a window, and which event said so."""

    event_id: int
    ticket: str
    window: int
    at_ms: int
    recall: bool = False


@dataclass(frozen=True)
class BoardView:
    day: str
    windows: tuple[WindowNow, ...]
    last_calls: tuple[CallShown, ...]   # newest first
    next_numbers: tuple[str, ...]       # in the order they will be called (as of now)
    waiting: int

    @property
    def newest_call_id(self) -> int:
        return self.last_calls[0].event_id if self.last_calls else 0

    def calls_after(self, event_id: int) -> list[CallShown]:
        """Calls newer than `event_id`, oldest first: what a board that saw `event_id` must announce."""
        return [c for c in reversed(self.last_calls) if c.event_id > event_id]


# Portable SQL (`?` placeholders, "window" quoted: a keyword on PostgreSQL), run on either store.
# Calls of today: from the first event of today's first ticket on. A continuation (the next
# errand started at the same window, the citizen already there) is not announced.
_CALLS_SQL = """
SELECT e.id, e.at, e.kind, e."window", e.detail, t.number
FROM events e JOIN tickets t ON t.id = e.ticket_id
WHERE e.id >= (SELECT MIN(id) FROM events WHERE ticket_id = (SELECT MIN(id) FROM tickets WHERE day = ?))
  AND e.kind IN ('called', 'recalled') AND t.day = ?
ORDER BY e.id DESC LIMIT ?
"""

_NEXT_SQL = """
SELECT t.number FROM requests r JOIN tickets t ON t.id = r.ticket_id
WHERE r.state = 'waiting' AND t.day = ?
ORDER BY r.sort_key, r.ticket_id, r.position LIMIT ?
"""


def read_board(station: Station, last_calls: int = LAST_CALLS, next_numbers: int = NEXT_NUMBERS) -> BoardView:
    queue = station.queue_state()  # the windows as the engine sees them, the day's close-out included
    day = queue.day
    windows = tuple(
        WindowNow(w.window, w.state, w.current.ticket if w.current else None,
                  bool(w.current) and w.current.state == "serving")
        for w in queue.windows
    )
    calls: list[CallShown] = []
    with station.store.read() as conn:
        for row in conn.execute(_CALLS_SQL, (day, day, last_calls * 2)):
            detail = json.loads(row["detail"]) if row["detail"] else {}
            if detail.get("continued"):
                continue
            calls.append(CallShown(row["id"], row["number"], row["window"], row["at"], row["kind"] == "recalled"))
        upcoming = tuple(r[0] for r in conn.execute(_NEXT_SQL, (day, next_numbers)))
    return BoardView(day, windows, tuple(calls[:last_calls]), upcoming, sum(queue.waiting.values()))
