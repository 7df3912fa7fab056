"""Benchmark: reading an ID card at 115200 baud costs at most 1.10x the time its bytes need on the
wire plus the radio exchange the simulator models (issues 3 and 13), and a megabyte of random
bytes costs the reader's simulator at most 5 s and 64 MB, the next request answered after it.
Run standalone: `python -m tests.bench_devices_reader`.

The simulator serves a pseudo-terminal whose host paces the reader's replies at 115200 baud
(10 bits a byte, 8N1). A pseudo-terminal delivers the driver's requests at once, where a real
line takes their wire time too, so the device here is wrapped to answer each request only once
its bytes would have arrived: the measurement then pays for every byte the floor counts.

floor = (request + reply bytes of the whole find -> select -> read cycle) x 10 / 115200, taken
per read from the simulator's byte counters, plus RADIO_S (0.5 s) for each read command the
simulator answered after its radio exchange; value = the wall time of `read_card`; the figure is
the median over the reads. Every line is one JSON object: name, value, unit, floor, ratio, goal,
goal_is, ok, note.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from cabin.drivers.idreader import IdCardReader, SimulatedReader, sample_cards
from cabin.drivers.idreader import codec
from cabin.drivers.idreader.simulator import RADIO_S
from cabin.drivers.simhost import PtyHost, Reply

from tests import benchtools

READS = (codec.READ_BASE_CMD, codec.READ_FINGERPRINT_CMD, codec.READ_NEW_ADDRESS_CMD)
GARBAGE_MAX_S, GARBAGE_MAX_MB = 5.0, 64

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


def measure(reads: int, fingerprint: bool) -> tuple[list[float], list[float]]:
    # with a fingerprint: the sample that has one, every time
    sim = SimulatedReader(sample_cards()[:1] if fingerprint else None, radio_s=RADIO_S)
    times, floors = [], []
    with PtyHost(InboundLine(sim, BAUD), baud=BAUD) as host, IdCardReader(host.path, timeout=2) as reader:
        reader.read_card(timeout=2, fingerprint=fingerprint)  # warm-up: port settings, first imports
        for _ in range(reads):
            before, asked = sim.bytes_in + sim.bytes_out, len(sim.requests)
            start = time.perf_counter()
            reader.read_card(timeout=2, fingerprint=fingerprint)
            times.append((time.perf_counter() - start) * 1000)
            radio = sum(cmd in READS for cmd in sim.requests[asked:]) * RADIO_S
            floors.append(((sim.bytes_in + sim.bytes_out - before) * 10 / BAUD + radio) * 1000)
    return times, floors


def swallow_garbage(traced: bool) -> tuple[float, float]:
    """1 MB of random bytes written to the simulator's pty, then, after a silence, one find card:
    (seconds until the simulator has taken every byte, tracemalloc's peak in MB or 0)."""
    sim = SimulatedReader()
    with PtyHost(sim) as host, IdCardReader(host.path, timeout=2) as reader:
        took, peak = benchtools.swallow_garbage(reader.link.write, lambda: sim.bytes_in, traced)
        time.sleep(sim.idle_drop_s * 2)
        if not reader.find_card():
            raise AssertionError("the request after the garbage was not answered: card found")
    return took, peak


def bench_garbage() -> list[dict]:
    took, _ = swallow_garbage(traced=False)
    _, peak = swallow_garbage(traced=True)
    note = "1 MB of random bytes through the pty, then a find card answered; the floor is the bound set for it"
    return [benchtools.result("reader_garbage_1mb_s", took, "s", GARBAGE_MAX_S, 1.0, "max", note),
            benchtools.result("reader_garbage_1mb_peak_mb", peak, "MB", GARBAGE_MAX_MB, 1.0, "max",
                              note + " (tracemalloc's peak over every thread while the bytes went through)")]


def bench_reader(reads: int = 15) -> list[dict]:
    out = []
    for name, fingerprint, goal in (("reader_read_card", False, 1.10), ("reader_read_card_fingerprint", True, None)):
        times, floors = measure(reads, fingerprint)
        ratios = sorted(t / f for t, f in zip(times, floors))
        out.append(benchtools.result(
            name, statistics.median(times), "ms", statistics.median(floors), goal, "max" if goal else None,
            f"find+select+read{' with fingerprint' if fingerprint else ''} at {BAUD} baud over a paced pty,"
            f" {(statistics.median(floors) / 1000 - RADIO_S) * BAUD / 10:.0f} bytes a read; median of {reads} reads;"
            f" per-read ratios {ratios[0]:.3f}..{ratios[-1]:.3f}; the floor includes {RADIO_S:g} s of radio"))
    return out + bench_garbage()


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
