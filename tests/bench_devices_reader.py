"""Benchmark: reading an ID card at 115200 baud costs at most 1.10x the time its bytes need on the
wire (issue 3). Run standalone: `python -m tests.bench_devices_reader`.

The simulator serves a pseudo-terminal whose host paces the reader's replies at 115200 baud
(10 bits a byte, 8N1). A pseudo-terminal delivers the driver's requests at once, where a real
line takes their wire time too, so the device here is wrapped to answer each request only once
its bytes would have arrived: the measurement then pays for every byte the floor counts.

floor = (request + reply bytes of the whole find -> select -> read cycle) x 10 / 115200, taken
per read from the simulator's byte counters; value = the wall time of `read_card`; the figure is
the median over the reads. Every line is one JSON object: name, value, unit, floor, ratio, goal,
goal_is, ok, note.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from cabin.drivers.idreader import IdCardReader, SimulatedReader, sample_cards
from cabin.drivers.simhost import PtyHost, Reply

BAUD = 115200


class InboundLine:
    """A device behind a line that also paces what is sent to it (the host paces only replies)."""

    def __init__(self, device, baud: int):
        self.device, self.byte_time = device, 10 / baud

    def receive(self, data: bytes) -> list[Reply]:
        replies = self.device.receive(data)
        if replies:
            replies[0] = Reply(replies[0].data, replies[0].delay + len(data) * self.byte_time)
        return replies


def result(name: str, value: float, unit: str, floor: float, goal: float | None, note: str) -> dict:
    ratio = value / floor
    return {"name": name, "value": round(value, 3), "unit": unit, "floor": round(floor, 3), "ratio": round(ratio, 3),
            "goal": goal, "goal_is": "max" if goal else None, "ok": (ratio <= goal) if goal else None, "note": note}


def measure(reads: int, fingerprint: bool) -> tuple[list[float], list[float]]:
    # with a fingerprint: the sample that has one, every time
    sim = SimulatedReader(sample_cards()[:1] if fingerprint else None)
    times, floors = [], []
    with PtyHost(InboundLine(sim, BAUD), baud=BAUD) as host, IdCardReader(host.path, timeout=2) as reader:
        reader.read_card(timeout=2, fingerprint=fingerprint)  # warm-up: port settings, first imports
        for _ in range(reads):
            before = sim.bytes_in + sim.bytes_out
            start = time.perf_counter()
            reader.read_card(timeout=2, fingerprint=fingerprint)
            times.append((time.perf_counter() - start) * 1000)
            floors.append((sim.bytes_in + sim.bytes_out - before) * 10 / BAUD * 1000)
    return times, floors


def bench_reader(reads: int = 15) -> list[dict]:
    out = []
    for name, fingerprint, goal in (("reader_read_card", False, 1.10), ("reader_read_card_fingerprint", True, None)):
        times, floors = measure(reads, fingerprint)
        ratios = sorted(t / f for t, f in zip(times, floors))
        out.append(result(
            name, statistics.median(times), "ms", statistics.median(floors), goal,
            f"find+select+read{' with fingerprint' if fingerprint else ''} at {BAUD} baud over a paced pty,"
            f" {statistics.median(floors) * BAUD / 10000:.0f} bytes a read; median of {reads} reads;"
            f" per-read ratios {ratios[0]:.3f}..{ratios[-1]:.3f}"))
    return out


def main() -> None:
    results = bench_reader()
    for line in results:
        print(json.dumps(line, ensure_ascii=False), flush=True)
    for x in results:
        goal = "" if x["goal"] is None else f"<= {x['goal']}"
        print(f"# {x['name']:<30} {x['value']:>8} {x['unit']}  floor {x['floor']:>8}  ratio {x['ratio']:<6}"
              f" {goal:<8} {'' if x['ok'] is None else ('ok' if x['ok'] else 'MISSED')}", file=sys.stderr)


if __name__ == "__main__":
    main()
