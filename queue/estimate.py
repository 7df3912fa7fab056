"""Estimated wait per service.

wait = errands ahead x typical service minutes / windows that serve the service.
- typical minutes: the mean of the last RECENT service times (start to done; from the call
  when the clerk completed without pressing start) of the service today, or the config's `minutes` until RECENT_MIN of them exist;
- windows: those open for the service now, or, when none is open, all configured for it
  (they are expected to open).
It is a guide for the citizen, not a promise: a window shared by several services is counted
in full for each.
"""

from __future__ import annotations

import sqlite3

from cabin.config import StationConfig

RECENT = 20
RECENT_MIN = 3


def typical_minutes(conn: sqlite3.Connection, config: StationConfig, service: str, day: str) -> float:
    rows = conn.execute(
        # service time: from the start, or from the call when the start was implicit
        "SELECT d.at - (SELECT s.at FROM events s WHERE s.ticket_id = d.ticket_id AND s.request_id = d.request_id"
        " AND (s.kind = 'called' OR (s.kind = 'started' AND s.detail IS NULL)) ORDER BY s.id DESC LIMIT 1)"
        " FROM events d WHERE d.kind = 'done' AND d.service = ? AND d.day = ? ORDER BY d.id DESC LIMIT ?",
        (service, day, RECENT),
    ).fetchall()
    times = [r[0] for r in rows if r[0] is not None]
    if len(times) < RECENT_MIN:
        return config.services[service].minutes
    return sum(times) / len(times) / 60_000


def open_windows_for(conn: sqlite3.Connection, config: StationConfig, service: str) -> int:
    serving = config.windows_serving(service)
    if not serving:
        return 0
    marks = ",".join("?" * len(serving))
    n = conn.execute(f"SELECT COUNT(*) FROM windows WHERE state = 'open' AND number IN ({marks})", serving).fetchone()[0]
    return n or len(serving)


def wait_minutes(conn: sqlite3.Connection, config: StationConfig, service: str, ahead: int, day: str) -> float:
    if ahead <= 0:
        return 0.0
    windows = open_windows_for(conn, config, service)
    return round(ahead * typical_minutes(conn, config, service, day) / max(windows, 1), 1)
