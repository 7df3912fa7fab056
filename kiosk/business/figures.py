"""The counter's business figures of a day, counted from the audit log (the business's own event
log), for the daily export: temporary cards, main-card applications, loss reports, found cards;
and citizens' ratings, counted from their own table (kiosk/business/ratings.py).

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
from cabin.kiosk.business.ratings import LEVELS, SATISFIED, ratings_of_days

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


# citizens' ratings (kiosk/business/ratings.py), per day and per service, window and clerk
RATINGS = {**{f"ratings_{level}": f"评价：{text}" for level, text in LEVELS.items()}, "ratings_unrated": "未评价"}
RATING_SHARES = {
    "ratings_satisfied_share": ((tuple(f"ratings_{level}" for level in SATISFIED)), tuple(RATINGS)[:5]),  # 满意率
    "ratings_unrated_share": (("ratings_unrated",), tuple(RATINGS)),
}
RATING_LABELS = {**RATINGS, "ratings_satisfied_share": "满意率", "ratings_unrated_share": "未评价率"}
RATING_SECTION = {"by_level": {str(level): f"ratings_{level}" for level in LEVELS}, "unrated": "ratings_unrated",
                  "satisfied_share": "ratings_satisfied_share", "unrated_share": "ratings_unrated_share"}
RATED_BY = {"by_service": 1, "by_window": 2, "by_clerk": 3}  # the breakdown and its key's place in a row


def rating_figures(conn, config: StationConfig, days: list[str], now_ms: int | None) -> dict[str, Extra]:
    """Each day's ratings: counts per level and 未评价, and per service, window and clerk."""
    per_day = {day: Counter() for day in days}
    rows: dict[str, dict[str, dict]] = {day: {name: defaultdict(Counter) for name in RATED_BY} for day in days}
    for rating in ratings_of_days(conn, config, days, now_ms):
        figure = "ratings_unrated" if rating[4] is None else f"ratings_{rating[4]}"
        per_day[rating[0]][figure] += 1
        for name, place in RATED_BY.items():
            rows[rating[0]][name][rating[place]][figure] += 1
    return {day: Extra(figures={name: per_day[day][name] for name in RATINGS},
                       breakdowns={name: {k: dict(n) for k, n in by.items()} for name, by in rows[day].items()},
                       columns={name: list(RATINGS) for name in RATED_BY}, labels=dict(RATING_LABELS),
                       shares=dict(RATING_SHARES), sections={"ratings": RATING_SECTION})
            for day in days}


def business_figures(conn: sqlite3.Connection, config: StationConfig, days: list[str],
                     now_ms: int | None = None) -> dict[str, Extra]:
    """Each day's business figures as the queue export's extra figures: {day: Extra}. `now_ms`:
    the export's time, when a booking not checked in becomes a no-show (None: every slot is over)
    and errands past their rating's timeout count as 未评价 even before a settle records them."""
    if not days:
        return {}
    booked = appointments.day_counts(conn, config, days, now_ms if now_ms is not None else EVERY_SLOT_OVER)
    ratings = rating_figures(conn, config, days, now_ms)
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
    return {day: _with_ratings(per_day[day], per_clerk[day], ratings[day], booked[day]) for day in days}


def _with_ratings(counts: Counter, by_clerk: dict[str, Counter], rated: Extra, booked: dict[str, int]) -> Extra:
    """A day's business figures, its bookings and its ratings as one Extra; a clerk's row has the
    business figures and the ratings."""
    rated_by_clerk = rated.breakdowns["by_clerk"]
    clerks = sorted(set(by_clerk) | set(rated_by_clerk), key=lambda clerk: clerk or "")
    return Extra(figures={**{name: counts[name] for name in FIGURES},
                          **{f"appointments_{name}": n for name, n in booked.items()}, **rated.figures},
                 breakdowns={**rated.breakdowns, "by_clerk": {
                     clerk: {**{c: by_clerk.get(clerk, Counter())[c] for c in PER_CLERK}, **rated_by_clerk.get(clerk, {})}
                     for clerk in clerks}},
                 columns={**rated.columns, "by_clerk": [*PER_CLERK, *RATINGS]}, labels={**FIGURES, **rated.labels},
                 shares=rated.shares, sections=rated.sections)
