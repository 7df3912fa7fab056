"""The served board's benchmark (issue 12): `cabin board --serve` with many browsers.

Every browser here is a websocket opened with aiohttp to 127.0.0.1, as the page opens it; a
browser has its first frame when a whole screen has arrived (drawn from the top-left corner,
down its rows). Each measurement starts a fresh server (`[faces] served_viewers = 8`).

1. memory        The resident sets (VmRSS) of the server and its board process(es), summed, with
                 8 browsers watching, against the same with 1. Goal: at most 1.5x (textual-serve
                 started a ~65 MB board per browser: 8x).
2. first frame   8 browsers open the page at once on a server nobody watches yet: the time to the
                 slowest one's first frame, against one browser's alone. Goal: at most 1.5x.
3. queue         `cabin queue` on the same machine (a fresh process, as a clerk runs it), the median
                 of several runs while 30 browsers try to watch (8 admitted; the other 22 refused,
                 and retrying every half second), against the same with nobody watching (runs
                 before and after). Goal: at most
                 2x (textual-serve: 17 s against about 0.3 s).

`python -m tests.bench_served` prints one JSON object a line; `bench_served()` returns them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cabin.kiosk.faces.board.served import LINGER_SECONDS
from tests.benchtools import child_env, log, result

VIEWERS = 8
TRYING = 30
ROUNDS = 3
QUEUE_RUNS = 7
CUP = re.compile(rb"\x1b\[(\d+);(\d+)H")


def _cabin() -> list[str]:
    script = Path(sys.executable).with_name("cabin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cabin.kiosk.cli.app"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drawn(data: bytes) -> bool:
    return b"\x1b[1;1H" in data and len(CUP.findall(data)) > 10


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += [c for c, pp in parents.items() if pp == p]
    return found


class Served:
    """A `cabin board --serve` on a free port of 127.0.0.1, for one measurement."""

    def __init__(self, tmp: Path):
        self.env = dict(child_env(), CABIN_DB=str(tmp / "cabin.sqlite"), XDG_DATA_HOME=str(tmp / "xdg"))
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([*_cabin(), "board", "--serve", f"127.0.0.1:{port}"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {self.proc.stderr.read()!r}")
                time.sleep(0.1)

    def rss_mb(self) -> float:
        return sum(_rss_kb(p) for p in _tree(self.proc.pid)) / 1024

    def close(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def _first_frame(http, url: str, drawn_at: list[float], keep: asyncio.Event | None = None) -> None:
    """One browser: connect, wait for a whole screen (its time goes to `drawn_at`), then keep
    watching until `keep` is set."""
    import aiohttp

    started = time.monotonic()
    got = bytearray()
    async with http.ws_connect(f"{url.replace('http', 'ws')}/ws?width=120&height=40") as ws:
        while not _drawn(bytes(got)):
            msg = await ws.receive(timeout=60)
            if msg.type != aiohttp.WSMsgType.BINARY:
                raise RuntimeError(f"the board closed before its first frame: {msg}")
            got += msg.data
        drawn_at.append(time.monotonic() - started)
        if keep is not None:
            while not keep.is_set():
                try:
                    await ws.receive(timeout=0.2)
                except asyncio.TimeoutError:
                    pass


def watching(tmp: Path, n: int) -> tuple[float, float]:
    """A fresh server, `n` browsers opening it at once: (the slowest first frame in s, MB of the
    server and its board processes while all `n` watch)."""
    import aiohttp

    served = Served(tmp)
    try:
        async def run() -> tuple[float, float]:
            drawn_at: list[float] = []
            keep = asyncio.Event()
            async with aiohttp.ClientSession() as http:
                tasks = [asyncio.create_task(_first_frame(http, served.url, drawn_at, keep)) for _ in range(n)]
                while len(drawn_at) < n:
                    if any(t.done() and t.exception() for t in tasks):
                        raise next(t.exception() for t in tasks if t.done() and t.exception())
                    await asyncio.sleep(0.02)
                await asyncio.sleep(1.0)  # settled: every board drawn, the frames sent
                rss = served.rss_mb()
                keep.set()
                await asyncio.gather(*tasks)
            return max(drawn_at), rss

        return asyncio.run(run())
    finally:
        served.close()


def queue_runs(env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        out = subprocess.run([*_cabin(), "queue"], env=env, capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(out.stderr)
        times.append(time.monotonic() - started)
    return times


def queue_under_viewers(tmp: Path) -> tuple[list[float], list[float], int, int]:
    """`cabin queue` idle, then while TRYING browsers try to watch: (idle s, loaded s, admitted,
    refusals)."""
    import aiohttp

    served = Served(tmp)
    env = served.env
    idle = queue_runs(env, QUEUE_RUNS // 2 + 1)  # nobody watching, before and after (the machine drifts)
    refusals = 0
    try:
        async def run() -> tuple[list[float], int]:
            nonlocal refusals
            stop = asyncio.Event()
            admitted: list[float] = []

            async def browser(http) -> None:
                nonlocal refusals
                while not stop.is_set():
                    try:
                        await _first_frame(http, served.url, admitted, stop)
                    except aiohttp.WSServerHandshakeError:
                        refusals += 1
                        await asyncio.sleep(0.5)

            async with aiohttp.ClientSession() as http:
                tasks = [asyncio.create_task(browser(http)) for _ in range(TRYING)]
                await asyncio.sleep(0.2)  # they are knocking
                loaded = await asyncio.to_thread(queue_runs, env, QUEUE_RUNS)
                stop.set()
                await asyncio.gather(*tasks)
            return loaded, len(admitted)

        loaded, admitted = asyncio.run(run())
        time.sleep(LINGER_SECONDS + 1)  # the board process gone with its last viewer
        idle += queue_runs(env, QUEUE_RUNS // 2)
    finally:
        served.close()
    return idle, loaded, admitted, refusals


def bench_served() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="cabin-bench-served-") as d:
        tmp = Path(d)
        subprocess.run([*_cabin(), "queue"], env=dict(child_env(), CABIN_DB=str(tmp / "cabin.sqlite"),
                                                       XDG_DATA_HOME=str(tmp / "xdg")), capture_output=True, check=True)
        one, many = [], []
        for r in range(ROUNDS):  # ABBA: drift hits both alike
            for n in ((1, VIEWERS) if r % 2 == 0 else (VIEWERS, 1)):
                (one if n == 1 else many).append(watching(tmp, n))
            log(f"served: round {r + 1}: 1 viewer {one[-1][0]:.2f} s, {one[-1][1]:.0f} MB;"
                f" {VIEWERS} viewers {many[-1][0]:.2f} s, {many[-1][1]:.0f} MB")
        idle, loaded, admitted, refusals = queue_under_viewers(tmp)
        log(f"served: cabin queue idle {', '.join(f'{x:.2f}' for x in idle)} s;"
            f" with {TRYING} viewers trying {', '.join(f'{x:.2f}' for x in loaded)} s")
    frame_1, frame_n = statistics.median(x[0] for x in one), statistics.median(x[0] for x in many)
    mem_1, mem_n = statistics.median(x[1] for x in one), statistics.median(x[1] for x in many)
    return [
        result(f"served_memory_{VIEWERS}_viewers", mem_n, "MB", mem_1, 1.5, "max",
               f"VmRSS of the server and its board process(es) with {VIEWERS} browsers watching; floor: the same"
               f" with 1; median of {ROUNDS} fresh servers"),
        result(f"served_first_frame_{VIEWERS}_viewers", frame_n * 1000, "ms", frame_1 * 1000, 1.5, "max",
               f"{VIEWERS} browsers opening the page at once on a fresh server: the slowest one's first whole"
               f" screen; floor: one browser alone; median of {ROUNDS}"),
        result("served_queue_latency_30_viewers", statistics.median(loaded) * 1000, "ms",
               statistics.median(idle) * 1000, 2.0, "max",
               f"`cabin queue` (a fresh process) while {TRYING} browsers try to watch ({admitted} admitted in all,"
               f" {refusals} refusals: the rest retry every 0.5 s); floor: the same with nobody watching, before"
               f" and after; median of {QUEUE_RUNS} each"),
    ]


def main() -> int:
    for line in bench_served():
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
