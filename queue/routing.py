"""Who a window calls next.

Among the waiting errands whose service the window serves (and that were not transferred to
another window), the smallest (sort_key, ticket_id, position) wins. A ticket's sort_key is its
issue time minus its priority class's head start, and every errand of the ticket carries it, so:
- a priority ticket goes ahead of ordinary tickets issued up to head_start minutes after it,
  and no further: an ordinary ticket that has waited head_start minutes is never overtaken
  again (aging without a background job);
- a second errand, or a transferred or reactivated one, keeps the ticket's place instead of
  going to the back.

The query is one index seek per service (the partial index `requests_waiting`), merged: its
cost grows with the number of services a window serves, not with the length of the queue.

On a PostgreSQL server, windows on several hosts call at the same moment without a lock to take
turns on: `claim` picks and locks in one statement, passing over an errand another window is
claiming right now (FOR UPDATE SKIP LOCKED) and taking the next one instead of failing on it.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache

_ONE = (
    "SELECT * FROM (SELECT * FROM requests WHERE state = 'waiting' AND service = ?"
    " AND (target_window IS NULL OR target_window = ?) ORDER BY sort_key, ticket_id, position LIMIT 1) AS one"  # PostgreSQL < 16 needs the alias
)


@lru_cache(maxsize=64)
def _pick_sql(n_services: int) -> str:
    return " UNION ALL ".join([_ONE] * n_services) + " ORDER BY sort_key, ticket_id, position LIMIT 1"


# The ids of the first `among` waiting errands of each service, the first of them (in pick's
# order) that no other transaction holds locked, locked. SKIP LOCKED on the outer query alone: in
# each service's subquery it would lock that service's head even when another service's comes
# first, and keep every other window from it until this call commits. The state is checked again
# on the row's newest version once it is locked (READ COMMITTED), so an errand another window
# called and committed meanwhile is never taken twice.
_ONE_ID = (
    "SELECT id FROM (SELECT id FROM requests WHERE state = 'waiting' AND service = ?"
    " AND (target_window IS NULL OR target_window = ?) ORDER BY sort_key, ticket_id, position LIMIT ?) AS one"
)


@lru_cache(maxsize=64)
def _claim_sql(n_services: int) -> str:
    # = ANY(ARRAY(...)): the candidates' ids computed first, then looked up by primary key. With
    # IN (...) the planner, once it has statistics, joins against every waiting errand instead
    # (3.5 ms against 0.5 ms with 20,000 waiting): the cost would grow with the queue.
    return (f"SELECT * FROM requests WHERE id = ANY(ARRAY({' UNION ALL '.join([_ONE_ID] * n_services)}))"
            " AND state = 'waiting' ORDER BY sort_key, ticket_id, position LIMIT 1 FOR UPDATE SKIP LOCKED")


# How many errands of each service claim looks at first. Most calls find the first free: few
# windows call at the very same instant. Each errand looked at is an index entry and a row read:
# starting with every window's worth (a 13-service window among 8: 221 rows) cost the server
# 1.1 ms of CPU for a call and a completion, against 1.0 ms so.
FIRST_LOOK = 3


def claim(conn, services: tuple[str, ...], window: int, windows: int):
    """PostgreSQL, at READ COMMITTED: the errand `pick` would choose, or, while other windows'
    transactions hold it, the next one they do not; locked until this transaction ends. None
    when nobody is waiting, or when every waiting errand is being claimed by another window.

    It looks at the first few of each service, then, when those are all held and there are
    more, at more of them: up to one more than twice the station's `windows` (each window's
    call holds at most one errand)."""
    among = FIRST_LOOK
    while True:
        params: list = []
        for service in services:
            params += [service, window, among]
        found = conn.execute(_claim_sql(len(services)), params).fetchone()
        if found is not None or among > 2 * windows or pick(conn, services, window) is None:
            return found
        among = min(4 * among, 2 * windows + 1)


def pick(conn: sqlite3.Connection, services: tuple[str, ...], window: int) -> sqlite3.Row | None:
    params: list = []
    for service in services:
        params += [service, window]
    return conn.execute(_pick_sql(len(services)), params).fetchone()


def ahead_of(conn: sqlite3.Connection, service: str, sort_key: int, ticket_id: int) -> int:
    """Waiting errands of the same service that will be called before this ticket."""
    return conn.execute(
        "SELECT COUNT(*) FROM requests WHERE state = 'waiting' AND service = ?"
        " AND (sort_key, ticket_id) < (?, ?)",
        (service, sort_key, ticket_id),
    ).fetchone()[0]
