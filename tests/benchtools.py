"""What the device benches share: 1 MB of random bytes through a simulator, timed and traced."""

from __future__ import annotations

import random
import time
import tracemalloc
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
