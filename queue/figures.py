"""A day's queue figures, derived from the event log alone.

Each request's history is replayed from its events, so any figure here can be recomputed from
the raw events (the daily export, issue 5, builds on this). Definitions are in the README
("Figures").
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict

from cabin.config import StationConfig

# The request state an event leaves behind; kinds not listed change no request state.
STATE_AFTER = {
    "queued": "waiting", "returned": "waiting", "reactivated": "waiting",
    "pending": "pending",
    "called": "called", "recalled": "called",
    "started": "serving",
    "done": "done", "no_show": "no_show", "cancelled": "cancelled",
    "transferred": "transferred", "expired": "expired",
}
REQUEUE = ("queued", "returned", "reactivated")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


def _minutes(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 60_000, 1)


def day_figures(conn: sqlite3.Connection, config: StationConfig, day: str) -> dict:
    requests: dict[int, dict] = {}
    tickets: dict[int, dict] = {}
    waits: list[int] = []
    services: list[int] = []
    # The day's tickets and everything that happened to them, including the close-out of
    # what they left open, which is written at the next day's first operation.
    for e in conn.execute(
        "SELECT e.at, e.kind, e.ticket_id, e.request_id, e.detail FROM events e"
        " JOIN tickets t ON t.id = e.ticket_id WHERE t.day = ? ORDER BY e.id", (day,)
    ):
        kind = e["kind"]
        detail = json.loads(e["detail"]) if e["detail"] else {}
        if kind == "issued":
            tickets[e["ticket_id"]] = {"errands": len(detail.get("services", [])), "requeued": False, "done": 0}
            continue
        rid = e["request_id"]
        if rid is None or kind not in STATE_AFTER:
            continue
        r = requests.setdefault(rid, {"ticket": e["ticket_id"], "since": None, "started": None, "from_transfer": False})
        if kind == "queued" and "from_request" in detail:
            r["from_transfer"] = True
        if kind in REQUEUE:
            r["since"] = e["at"]
            if kind == "queued" and "after" in detail and e["ticket_id"] in tickets:
                tickets[e["ticket_id"]]["requeued"] = True
        elif kind == "called":
            if r["since"] is not None:
                waits.append(e["at"] - r["since"])
                r["since"] = None
            r["started"] = e["at"]  # until an explicit start says otherwise
        elif kind == "started" and not detail.get("implicit"):
            r["started"] = e["at"]
        elif kind == "done":
            if r["started"] is not None:
                services.append(e["at"] - r["started"])
            if e["ticket_id"] in tickets:
                tickets[e["ticket_id"]]["done"] += 1
        r["state"] = STATE_AFTER[kind]

    final = defaultdict(int)
    for r in requests.values():
        final[r["state"]] += 1
    multi = [t for t in tickets.values() if t["errands"] >= 2]
    one_stop = [t for t in multi if t["done"] == t["errands"] and not t["requeued"]]
    sla_ms = config.queue.sla_target_min * 60_000
    return {
        "station": config.station.code,
        "day": day,
        "tickets_issued": len(tickets),
        "errands_requested": sum(t["errands"] for t in tickets.values()),
        "errands_done": final["done"],
        "errands_no_show": final["no_show"],
        "errands_cancelled": final["cancelled"],
        "errands_transferred": final["transferred"],
        "errands_expired": final["expired"],
        "errands_open": final["pending"] + final["waiting"] + final["called"] + final["serving"],
        "calls": len(waits),
        "wait_p50_min": _minutes(percentile(waits, 0.5)),
        "wait_p90_min": _minutes(percentile(waits, 0.9)),
        "wait_max_min": _minutes(max(waits) if waits else None),
        "sla_target_min": config.queue.sla_target_min,
        "sla_share": round(sum(w <= sla_ms for w in waits) / len(waits), 4) if waits else None,
        "service_p50_min": _minutes(percentile(services, 0.5)),
        "service_p90_min": _minutes(percentile(services, 0.9)),
        "multi_errand_tickets": len(multi),
        "one_stop_tickets": len(one_stop),
        "one_stop_share": round(len(one_stop) / len(multi), 4) if multi else None,
    }
