"""The faces' benchmark: the board's lag behind a call made in another process, and the
dispenser's cold start to its first frame.

1. board lag   A real BoardApp (headless) watches a station database; another process calls
               citizens to window 1 one at a time, each time printing the moment its commit
               returned (CLOCK_MONOTONIC is one clock for every process of the machine). The lag
               is from that moment to the board's next frame after it showed the number.
               Goal: under 500 ms (issue 6); the floor is that budget, so the goal is ratio <= 1.
   on a server The same against a PostgreSQL server (tests/pgserver.py, started here; the caller
               speaks to it over TCP as another host's window would, here from this host): the
               board learns of the call by the NOTIFY every write sends, not by polling.
               Goal: median <= 100 ms (issue 15); the floor is that 100 ms. Skipped, saying
               why, where no server can be had.
2. cold start  `python` starting, importing Cabin and Textual, opening the station and drawing
               the dispenser's start screen, against the same for a one-label Textual app
               (information: what Cabin adds to Textual's own start).

`python -m tests.bench_faces` prints one JSON object a line; `bench_faces()` returns them for
tests/bench.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tests.benchtools import COLD_TEXTUAL, child_env, cold_start, log, result

LAG_GOAL_MS = 500.0
CALLS = 25

LAG_GOAL_SERVER_MS = 100.0

CALLER = textwrap.dedent("""
    import sys, time
    from cabin.config import load_config
    from cabin.queue.engine import Station
    if sys.argv[1].startswith("postgresql://"):
        from cabin.queue.pgstore import PgStore as Store
    else:
        from cabin.queue.store import Store
    station = Station(Store(sys.argv[1]), load_config())
    for line in sys.stdin:
        call = station.call_next(1)
        print(time.monotonic(), call.ticket, flush=True)
        station.complete(1)  # the next call finds the window free (its commit moves the board too)
""")

COLD_DISPENSER = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    from cabin.config import load_config
    from cabin.kiosk.faces.base import StationLink
    from cabin.kiosk.faces.dispenser import DispenserApp, HomeScreen
    app = DispenserApp(StationLink(Path(sys.argv[1]), load_config(), secret=lambda: b"x" * 32))
    async def main():
        async with app.run_test() as pilot:
            while not isinstance(app.screen, HomeScreen):
                await pilot.pause(0.001)
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await drawn.wait()
            print(time.monotonic(), flush=True)
    asyncio.run(main())
""")

def board_lag(tmp: Path, db: Path | str | None = None) -> list[float]:
    """The lags, in ms, on the file `tmp`/board.sqlite or on the server's database at URL `db`."""
    from cabin.config import load_config
    from cabin.kiosk.faces.base import StationLink
    from cabin.kiosk.faces.board.app import BoardApp
    from cabin.queue.engine import Station

    if db is None:
        from cabin.queue.store import Store

        db = tmp / "board.sqlite"
    else:
        from cabin.queue.pgstore import PgStore as Store
    config = load_config()
    station = Station(Store(db), config)
    station.set_window(1, "open")
    for i in range(CALLS):
        station.issue([list(config.services)[i % len(config.services)]])
    station.store.close()

    class TimedBoard(BoardApp):
        """The board, stamping the frame after each view it shows."""

        shown: dict[str, float] = {}
        read: dict[str, float] = {}  # when its view reached the event loop: woken and read

        def on_board_app_changed(self, message) -> None:
            if message.view.last_calls:
                self.read.setdefault(message.view.last_calls[0].ticket, time.monotonic())
            super().on_board_app_changed(message)
            if message.view.last_calls:  # the call announced (banner, last calls, its window)
                ticket = message.view.last_calls[0].ticket
                self.call_after_refresh(lambda: self.shown.setdefault(ticket, time.monotonic()))

    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=child_env(), cwd=tmp)
    lags: list[float] = []
    reads: list[float] = []

    async def run() -> None:
        app = TimedBoard(StationLink(db, config))
        rng = random.Random(5)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.view is None:
                await pilot.pause(0.01)
            for _ in range(CALLS):
                await asyncio.sleep(rng.uniform(0.15, 0.35))  # not in step with the board's polling
                caller.stdin.write("call\n")
                caller.stdin.flush()
                at, ticket = (await asyncio.to_thread(caller.stdout.readline)).split()
                deadline = time.monotonic() + 10
                while ticket not in app.shown:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the board did not show {ticket} within 10 s")
                    await pilot.pause(0.002)
                lags.append((app.shown[ticket] - float(at)) * 1000)
                reads.append((app.read[ticket] - float(at)) * 1000)

    try:
        asyncio.run(run())
    finally:
        caller.stdin.close()
        caller.wait(timeout=30)
    log(f"board on {'a server' if isinstance(db, str) else 'a file'}: its view read and on the event loop"
        f" {statistics.median(reads):.0f} ms (median) after the commit; the rest of the lag is the frame")
    return lags


def board_lag_on_server(tmp: Path) -> list[float] | None:
    """board_lag on a PostgreSQL server started for it; None (and why, logged) without one."""
    try:
        import psycopg  # noqa: F401 (the store's driver: the extra `cabin[postgres]`)

        from tests.pgserver import PgServer, ServerNotFound
    except ImportError as exc:
        log(f"board on a server: skipped, no PostgreSQL driver ({exc})")
        return None
    try:
        server = PgServer().start()
    except ServerNotFound as exc:
        log(f"board on a server: skipped, no PostgreSQL server binaries ({exc})")
        return None
    try:
        return board_lag(tmp, server.url(server.create_database("bench_board_lag")))
    finally:
        server.stop()


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def bench_faces() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="cabin-bench-faces-") as d:
        tmp = Path(d)
        lags = board_lag(tmp)
        log(f"board: lags {', '.join(f'{x:.0f}' for x in lags)} ms")
        server_lags = board_lag_on_server(tmp)
        if server_lags:
            log(f"board on a server: lags {', '.join(f'{x:.0f}' for x in server_lags)} ms")
        cold_cabin = cold_start(COLD_DISPENSER, tmp)
        cold_textual = cold_start(COLD_TEXTUAL, tmp)
    on_server = [] if not server_lags else [
        result("board_lag_server_ms", statistics.median(server_lags), "ms", LAG_GOAL_SERVER_MS, 1.0, "max",
               f"the same on a PostgreSQL server (the caller over TCP, the board woken by NOTIFY); median of"
               f" {len(server_lags)}; p90 {p90(server_lags):.0f} ms, max {max(server_lags):.0f} ms; file, polled:"
               f" median {statistics.median(lags):.0f} ms; floor = the 100 ms goal"),
    ]
    return [
        result("board_lag_ms", statistics.median(lags), "ms", LAG_GOAL_MS, 1.0, "max",
               f"a call committed by another process to the board's next frame showing it; median of {len(lags)};"
               f" p90 {p90(lags):.0f} ms, max {max(lags):.0f} ms; floor = the 500 ms budget"),
        result("board_lag_max_ms", max(lags), "ms", LAG_GOAL_MS, 1.0, "max",
               "the worst of the same calls, against the same budget"),
        *on_server,
        result("dispenser_cold_start_ms", cold_cabin, "ms", cold_textual,
               note="python start to the dispenser's first frame (headless), median of 5; floor = a one-label"
                    " Textual app the same way (information: Cabin's share of the start)"),
    ]


def main() -> int:
    lines = bench_faces()
    for line in lines:
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
