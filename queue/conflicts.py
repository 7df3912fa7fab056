"""Running an operation again when the store refused it for a conflict.

SQLite never refuses so: its writers take turns on one lock. PostgreSQL lets writers from many
hosts run side by side and refuses, at SERIALIZABLE, the one whose reads another's commit made
stale (SQLSTATE 40001, or 40P01 for a deadlock): the store raises Conflict, having rolled it back.
An operation is one transaction whose every decision is read inside it, so running it again from
the start does nothing twice. It must have no effect outside the store before it commits: a
device is driven after the commit, never inside a rerun operation.
"""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from typing import Callable, TypeVar

from cabin.queue.errors import Conflict

F = TypeVar("F", bound=Callable)
T = TypeVar("T")

# Runs after the first. Two windows that call at the same instant conflict once; eight hammering
# one queue flat out (make bench) needed up to a handful. Past this the clerk sees "try again".
RERUNS = 20

# Runs again since the process started, by operation: what `make bench` reports beside throughput.
reruns: Counter = Counter()


def rerun(fn: Callable[[], T], *, times: int = RERUNS, name: str | None = None) -> T:
    """fn() run again (after a short random pause, longer each time, so that the runs that met
    stop meeting) while it raises Conflict, at most `times` more times; counted in `reruns` under
    `name` (default: the function's)."""
    for attempt in range(times + 1):
        try:
            return fn()
        except Conflict:
            if attempt == times:
                raise
            reruns[name or fn.__qualname__] += 1
            time.sleep(random.uniform(0, 0.001 * (attempt + 1)))
    raise AssertionError("unreachable")


def rerun_on_conflict(fn: F) -> F:
    """`fn` as an operation run again on a Conflict (see rerun), at most RERUNS more times."""

    @functools.wraps(fn)
    def rerunning(*args, **kwargs):
        return rerun(lambda: fn(*args, **kwargs), name=fn.__qualname__)

    return rerunning  # type: ignore[return-value]
