"""What the benches share: a result line of the shape tests/bench.py reports, progress on stderr, and
1 MB of random bytes through a simulator, timed and traced."""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
from typing import Callable

GARBAGE_BYTES = 1 << 20


def result(name, value, unit, floor, goal=None, goal_is=None, note=""):
    """One line of the report: the value, its floor measured in the same run, their ratio and the goal."""
    ratio = value / floor if floor else float("inf")
    ok = None if goal is None else (ratio <= goal if goal_is == "max" else ratio >= goal)
    return {"name": name, "value": round(value, 3), "unit": unit, "floor": round(floor, 3),
            "ratio": round(ratio, 3), "goal": goal, "goal_is": goal_is, "ok": ok, "note": note}


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def swallow_garbage(write: Callable[[bytes], object], taken: Callable[[], int], traced: bool) -> tuple[float, float]:
    """Write the garbage, wait until the simulator has taken every byte (`taken()` counts them):
    (seconds, tracemalloc's peak in MB over every thread meanwhile, or 0 when not traced)."""
    garbage = random.Random(13).randbytes(GARBAGE_BYTES)
    if traced:
        tracemalloc.start()
    try:
        start = time.perf_counter()
        write(garbage)
        while taken() < GARBAGE_BYTES:
            time.sleep(0.005)
        took = time.perf_counter() - start
        return took, tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    finally:
        if traced:
            tracemalloc.stop()
