"""Time for the queue: milliseconds since the epoch, and the station's local day.

The engine never reads the wall clock itself, so a simulated day runs through the same code
on a simulated clock, and tests set the time they need.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class SystemClock:
    """The wall clock: the one place Cabin reads it. `tz`, the station's time zone, for those who
    turn its time into a local day (None where no day is needed: an account's lock)."""

    def __init__(self, tz: ZoneInfo | None = None):
        self.tz = tz

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to: the simulated day and the tests use it."""

    def __init__(self, tz: ZoneInfo, start: datetime):
        self.tz = tz
        self._ms = to_ms(start)

    def now_ms(self) -> int:
        return self._ms

    def set(self, when: datetime | int) -> None:
        self._ms = when if isinstance(when, int) else to_ms(when)

    def advance(self, minutes: float = 0, seconds: float = 0) -> None:
        self._ms += round((minutes * 60 + seconds) * 1000)


def to_ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("a naive datetime has no time zone")
    return round(when.timestamp() * 1000)


# No station kept its queue, its found cards or its figures in Cabin before this day: a date
# earlier than it is a typing error (0001-01-01), refused where a date comes in.
EARLIEST_DAY = date(2000, 1, 1)


def local_day(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).date().isoformat()


def local_date(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz).date()


def local_time(ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


def day_start_ms(day: str, tz: ZoneInfo) -> int:
    return to_ms(datetime.combine(date.fromisoformat(day), datetime.min.time(), tz))


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def day_span(day: str, tz: ZoneInfo) -> tuple[int, int, bool]:
    """The day's first ms, the next day's first ms, and whether the day is plain: 24 hours under
    one UTC offset (no clock change), so a local time within it is arithmetic on its start."""
    start, end = day_start_ms(day, tz), day_start_ms(next_day(day), tz)
    plain = end - start == 86_400_000 and local_time(start, tz).utcoffset() == local_time(end - 1, tz).utcoffset()
    return start, end, plain
