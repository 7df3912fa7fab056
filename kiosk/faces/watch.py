"""How a face follows the station: read again when another process (or host) commits, and say
so plainly while the station cannot be reached.

The store tells of a commit: `store.wait_for_change()` waits for a NOTIFY on a PostgreSQL
server (pushed: every write notifies) and polls `PRAGMA data_version` on an SQLite file. A read
now and then all the same (`refresh_seconds`) is the safety net: the day turns at midnight
without a commit, and a notification lost with a crashed server is made good.

While the station cannot be read (the server restarting, the network gone) the face is told
(`trouble(error)`) and the watch tries again every `retry_seconds`; the store reconnects by
itself, and the first read that works ends the trouble (`trouble(None)`).
"""

from __future__ import annotations

import time
from typing import Callable

from cabin.queue.errors import CabinError, Unreachable

WAIT_SECONDS = 0.5  # the longest one wait lasts: a cancelled watch (the face closing) ends within it


def follow_station(link, cancelled: Callable[[], bool], read: Callable[[], None],
                   trouble: Callable[[BaseException | None], None], *, poll_seconds: float,
                   refresh_seconds: float, retry_seconds: float = 1.0) -> None:
    """Run until `cancelled()`: read() at once, after each change, and at least every
    `refresh_seconds`; `poll_seconds` is how often SQLite's store looks for a change."""
    stale, read_at, troubled = True, 0.0, False
    while not cancelled():
        try:
            store = link.station().store
            if stale:
                store.listen()  # before the read: a commit after it is heard
                changed = True
            else:
                changed = store.wait_for_change(WAIT_SECONDS, poll_seconds=poll_seconds)
            if changed or time.monotonic() - read_at > refresh_seconds:
                read()
                stale, read_at = False, time.monotonic()
                if troubled:
                    troubled = False
                    trouble(None)
        except (CabinError, OSError) as exc:
            if cancelled():
                return
            stale, troubled = True, True
            trouble(exc)
            time.sleep(retry_seconds)


def offline(error: BaseException | None) -> bool:
    """The station's server cannot be reached (as opposed to a busy or refused database)."""
    return isinstance(error, Unreachable)
