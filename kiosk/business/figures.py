"""The counter's business figures of a day, counted from the audit log (the business's own event
log), for the daily export: temporary cards, main-card applications, loss reports, found cards.

Only counts leave this module, per day and per clerk (the acting account): never a receipt, an
ID number (not even masked), a name or anything else from an entry's detail. A day is the
station's local day of the entry's time. Definitions: README "Daily exports".
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict

from cabin.config import StationConfig
from cabin.queue.clock import day_start_ms, local_day, next_day
from cabin.queue.reports.report import Extra

from cabin.kiosk.business import appointments

# name -> Chinese header, in the order the export shows them
FIGURES = {
    "temp_cards_printed": "临时身份证制证（首次打印）",
    "temp_cards_reprinted": "临时身份证重新打印",
    "temp_cards_voided": "临时身份证作废",
    "applications_accepted": "身份证申领受理",
    "applications_first": "首次申领",
    "applications_renewal": "换领",
    "applications_replacement": "补领",
    "applications_local": "本地受理",
    "applications_cross_region": "异地受理",
    "loss_reports": "挂失申报",
    "found_registered": "招领登记",
    "found_returned": "招领发还",
    # from the appointments table, not the audit log (kiosk/business/appointments.py day_counts)
    "appointments_booked": "预约人数",
    "appointments_checked_in": "预约签到",
    "appointments_on_time": "预约按时签到",
    "appointments_no_show": "预约爽约",
}
ACTIONS = ("tempcard.print", "tempcard.void", "application.accept", "loss.report", "found.register", "found.handover")
EVERY_SLOT_OVER = 2**62  # a time after every booking's slot (ms)
# the per-clerk columns (the rest are details of applications_accepted)
PER_CLERK = ("temp_cards_printed", "temp_cards_reprinted", "temp_cards_voided", "applications_accepted",
             "loss_reports", "found_registered", "found_returned")


def counted(action: str, detail: dict) -> list[str]:
    """The figures one audit entry adds 1 to."""
    if action == "tempcard.print":
        return ["temp_cards_reprinted" if detail.get("reprint") else "temp_cards_printed"]
    if action == "tempcard.void":
        return ["temp_cards_voided"]
    if action == "application.accept":
        kind = detail.get("kind")
        names = ["applications_accepted", "applications_cross_region" if detail.get("cross_region") else "applications_local"]
        if f"applications_{kind}" in FIGURES:
            names.append(f"applications_{kind}")
        return names
    return {"loss.report": ["loss_reports"], "found.register": ["found_registered"],
            "found.handover": ["found_returned"]}.get(action, [])


def business_figures(conn: sqlite3.Connection, config: StationConfig, days: list[str],
                     now_ms: int | None = None) -> dict[str, Extra]:
    """Each day's business figures as the queue export's extra figures: {day: Extra}. `now_ms`:
    the export's time, when a booking not checked in becomes a no-show (None: every slot is over)."""
    if not days:
        return {}
    booked = appointments.day_counts(conn, config, days, now_ms if now_ms is not None else EVERY_SLOT_OVER)
    tz = config.station.tz
    wanted = set(days)
    per_day: dict[str, Counter] = {day: Counter() for day in days}
    per_clerk: dict[str, dict[str, Counter]] = {day: defaultdict(Counter) for day in days}
    # one pass over the range (the audit table has no index on time; its ids follow time)
    rows = conn.execute(
        f"SELECT at, actor, action, detail FROM audit WHERE at >= ? AND at < ?"
        f" AND action IN ({', '.join('?' * len(ACTIONS))})",
        (day_start_ms(min(days), tz), day_start_ms(next_day(max(days)), tz), *ACTIONS))
    for at, actor, action, detail in rows:
        day = local_day(at, tz)
        if day not in wanted:
            continue
        try:
            parsed = json.loads(detail) if detail else {}
        except ValueError:  # an altered entry (`cabin audit verify` names it): counted by its action
            parsed = {}
        for name in counted(action, parsed if isinstance(parsed, dict) else {}):
            per_day[day][name] += 1
            if name in PER_CLERK:
                per_clerk[day][actor][name] += 1
    return {day: Extra(figures={name: per_day[day][name] for name in FIGURES}
                       | {f"appointments_{name}": n for name, n in booked[day].items()},
                       breakdowns={"by_clerk": {clerk: {c: n[c] for c in PER_CLERK}
                                                for clerk, n in sorted(per_clerk[day].items(), key=lambda kv: kv[0] or "")}},
                       columns={"by_clerk": list(PER_CLERK)}, labels=dict(FIGURES))
            for day in days}
