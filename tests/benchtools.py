"""What the benches share: a result line, the log, a child process's environment and cold start,
and 1 MB of random bytes through a simulator, timed and traced."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Callable

GARBAGE_BYTES = 1 << 20


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


def result(name, value, unit, floor, goal=None, goal_is=None, note="", digits=3):
    """One line of the report: the value, its floor measured in the same run, their ratio and the goal."""
    ratio = value / floor if floor else float("inf")
    ok = None if goal is None else (ratio <= goal if goal_is == "max" else ratio >= goal)
    return {"name": name, "value": round(value, digits), "unit": unit, "floor": round(floor, digits),
            "ratio": round(ratio, digits), "goal": goal, "goal_is": goal_is, "ok": ok, "note": note}


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def child_env() -> dict:
    """The environment of a process a bench starts: this one's, less PYTHONPATH."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


COLD_TEXTUAL = textwrap.dedent("""
    import asyncio, time
    from textual.app import App
    from textual.widgets import Label
    class One(App):
        def compose(self):
            yield Label("A001")
    app = One()
    async def main():
        async with app.run_test() as pilot:
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await drawn.wait()
            print(time.monotonic(), flush=True)
    asyncio.run(main())
""")


def cold_start(script: str, tmp: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", script, str(tmp / "cold.sqlite")], capture_output=True, text=True,
                             env=child_env(), cwd=tmp, timeout=120)
        if out.returncode:
            raise RuntimeError(out.stderr)
        times.append((float(out.stdout.split()[-1]) - started) * 1000)
    return statistics.median(times)
