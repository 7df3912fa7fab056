"""Cabin's benchmark: `make bench` (not part of `make test`).

Three goals from the station-core spec, each measured against a floor taken in the same run,
on real SQLite files in a temporary directory, WAL with synchronous=FULL as the store uses:

1. issue      Station.issue with one errand, through the real engine, costs at most 1.5x a bare
              sqlite3 `BEGIN IMMEDIATE; INSERT one row; COMMIT` in the same mode.
2. call-next  call_next with 100,000 waiting errands over 12 services costs at most 1.5x
              call_next with 1,000 (a window serving all 13 services, and one serving 3).
3. windows    8 windows driven by 8 processes reach at least 70% of one process's call+complete
              throughput (errands completed per second) on the same queue; fairness is
              reported as the fewest and the most errands one process completed.

Lines without a goal are there to explain the others: issue_rows_only (the rows an issue
writes, by hand: the schema's share of the cost), pick_only_* (the pick query without its
commit), call_complete_2proc (one process a core).

The machine is shared and noisy (2 cores, fsync-bound), so the measured operation and its floor
are interleaved operation by operation (goals 1 and 2) or run by run in ABBA order (goal 3),
each figure is the median of several rounds, and every database is warmed until its WAL is
being rewritten from the start (a WAL still growing makes each commit dearer). Other load on the
machine slows the fsyncs and so narrows every ratio towards 1: the final line gives the load.

Every line of output is one JSON object: name, value, unit, floor, ratio (value/floor), goal
(the max or min ratio allowed; null for a figure given for information), goal_is ("max" or
"min"), ok, note; a table follows. Progress goes to stderr. The exit status is 0 even when a
goal is missed: this is a report.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cabin.config import default_config_path, load_config
from cabin.queue import routing
from cabin.queue.clock import local_day
from cabin.queue.engine import Station
from cabin.queue.errors import NothingToCall
from cabin.queue.store import Store

RESULTS: list[dict] = []


def _device_bench(module: str, function: str):
    def run() -> list[dict]:
        import importlib

        return getattr(importlib.import_module(module), function)()
    return run


# The devices' benchmarks live beside their tests; they return lines of the same shape.
DEVICE_BENCHES = {
    "reader": _device_bench("tests.bench_devices_reader", "bench_reader"),
    "card": _device_bench("tests.bench_devices_card", "bench_card"),
    "ticket": _device_bench("tests.bench_devices_ticket", "bench_ticket"),
    "export": _device_bench("tests.bench_export", "bench_export"),  # the daily export: a day, a year
    "faces": _device_bench("tests.bench_faces", "bench_faces"),  # the board's lag, the dispenser's start
    "counter": _device_bench("tests.bench_counter", "bench_counter"),  # start, key to frame, memory
    "served": _device_bench("tests.bench_served", "bench_served"),  # board --serve: 8 viewers, 30 trying
    "cli": _device_bench("tests.bench_cli", "bench_cli"),  # cabin id check, call, ticket issue as processes
    "postgres": _device_bench("tests.bench_pg", "bench_postgres"),  # 8 windows on a server vs SQLite, vs 1
}


def emit(name: str, value: float, unit: str, floor: float, goal: float | None = None,
         goal_is: str | None = None, note: str = "") -> dict:
    ratio = value / floor if floor else float("inf")
    ok = None
    if goal is not None:
        ok = ratio <= goal if goal_is == "max" else ratio >= goal
    line = {"name": name, "value": round(value, 3), "unit": unit, "floor": round(floor, 3),
            "ratio": round(ratio, 3), "goal": goal, "goal_is": goal_is, "ok": ok}
    if note:
        line["note"] = note
    RESULTS.append(line)
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def us(ns: float) -> float:
    return ns / 1000


# -- steady state --------------------------------------------------------------------------
WAL_PAGES = 1000  # SQLite's default wal_autocheckpoint


def warm_wal(path: Path, op, at_least: int = 20, limit: int = 20_000) -> int:
    """Run `op` until the database's WAL has been checkpointed and is being rewritten from its
    start, then a few more times. A WAL that is still growing makes every commit extend the
    file, and fdatasync then also writes the file's metadata: on this machine that made a
    bare commit cost ~380 us instead of ~200 us and flattered every ratio measured against it."""
    wal = Path(f"{path}-wal")
    full = WAL_PAGES * 4096
    n = 0
    while n < limit and (not wal.exists() or wal.stat().st_size < full):
        op()
        n += 1
    for _ in range(at_least):
        op()
    return n + at_least


# -- goal 1: issuing a ticket ---------------------------------------------------------------
def _sqlite(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def bench_issue(tmp: Path, rounds: int = 21, per_round: int = 60) -> None:
    config = load_config(default_config_path())
    services = list(config.services)

    floor_db = _sqlite(tmp / "floor.db")
    floor_db.execute("CREATE TABLE bare (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, note TEXT)")

    def bare() -> None:
        floor_db.execute("BEGIN IMMEDIATE")
        floor_db.execute("INSERT INTO bare (at, note) VALUES (?, ?)", (time.time_ns(), "issued"))
        floor_db.execute("COMMIT")

    store = Store(tmp / "issue.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    station = Station(store, config)
    n = 0

    def issue() -> None:
        nonlocal n
        station.issue([services[n % len(services)]])
        n += 1

    # For information: the rows issue() writes, written by hand in one transaction on the same
    # schema: what the schema and its indexes cost, without the engine's reads and Python.
    Store(tmp / "rows.db").close()
    rows_db = _sqlite(tmp / "rows.db")
    day = local_day(time.time_ns() // 1_000_000, config.station.tz)
    m = 0

    def rows() -> None:
        nonlocal m
        m += 1
        now = time.time_ns() // 1_000_000
        code = services[m % len(services)]
        rows_db.execute("BEGIN IMMEDIATE")
        tid = rows_db.execute(
            "INSERT INTO tickets (day, number, prefix, seq, priority, channel, issued_at, sort_key, state)"
            " VALUES (?, ?, 'Z', ?, 'normal', 'dispenser', ?, ?, 'open')", (day, f"Z{m:03d}", m, now, now)).lastrowid
        rows_db.execute("INSERT INTO events (at, day, kind, ticket_id, detail) VALUES (?, ?, 'issued', ?, ?)",
                        (now, day, tid, json.dumps({"number": f"Z{m:03d}", "priority": "normal"})))
        rid = rows_db.execute(
            "INSERT INTO requests (ticket_id, position, service, state, sort_key, updated_at)"
            " VALUES (?, 1, ?, 'waiting', ?, ?)", (tid, code, now, now)).lastrowid
        rows_db.execute("INSERT INTO events (at, day, kind, ticket_id, request_id, service) VALUES (?, ?, 'queued', ?, ?, ?)",
                        (now, day, tid, rid, code))
        rows_db.execute("COMMIT")

    warmed = [warm_wal(tmp / "floor.db", bare), warm_wal(tmp / "issue.db", issue), warm_wal(tmp / "rows.db", rows)]
    log(f"issue: warmed until each WAL was rewritten: {warmed[0]} bare commits, {warmed[1]} issues, {warmed[2]} row sets")
    ops = {"bare": bare, "issue": issue, "rows": rows}
    pc = time.perf_counter_ns
    spent: dict[str, list[float]] = {k: [] for k in ops}
    for r in range(rounds):
        total = dict.fromkeys(ops, 0)
        names = list(ops)
        for i in range(per_round):
            # Rotate the order, so none always follows another's fsync.
            k = (i + r) % len(names)
            for name in names[k:] + names[:k]:
                t0 = pc()
                ops[name]()
                total[name] += pc() - t0
        for name in ops:
            spent[name].append(us(total[name] / per_round))
    store.close()
    floor_db.close()
    rows_db.close()
    ratios = [i / b for i, b in zip(spent["issue"], spent["bare"])]
    log(f"issue: per-round ratios {', '.join(f'{x:.2f}' for x in ratios)}")
    floor = statistics.median(spent["bare"])
    emit("issue_one_errand", statistics.median(spent["issue"]), "us/op", floor, 1.5, "max",
         note=f"Station.issue, one errand; floor: bare BEGIN IMMEDIATE+INSERT+COMMIT, WAL, synchronous=FULL;"
              f" both WALs in steady state; {rounds}x{per_round} interleaved; median of per-round ratios"
              f" {statistics.median(ratios):.2f}")
    emit("issue_rows_only", statistics.median(spent["rows"]), "us/op", floor,
         note="the 4 rows issue() writes (ticket, request, 2 events) inserted by hand in one transaction on the"
              " same schema, no reads, no engine; same floor; for information: the part of issue's cost that"
              " is the schema's (about 9 pages a commit against the floor's 1)")


# -- building a big queue fast -------------------------------------------------------------
def build_queue(path: Path, config_path: Path, n_waiting: int, services: list[str], *,
                second_share: float = 0.2, seed: int = 7) -> None:
    """A station database with `n_waiting` waiting errands, written as the engine would
    (tickets, requests, their events; a share of tickets with a pending second errand), but
    in one bulk transaction instead of n issue() calls."""
    config = load_config(config_path)
    rng = random.Random(seed)
    store = Store(path)
    Station(store, config)  # windows rows, today's day in meta
    conn = store.conn
    tz = config.station.tz
    now = time.time_ns() // 1_000_000
    day = local_day(now, tz)
    gap = 25  # ms between tickets: all issued today, before now
    start = now - n_waiting * gap - 60_000
    if local_day(start, tz) != day:  # just after midnight: squeeze them into today
        gap, start = 0, now - 1000
    heads = {code: p.head_start_min * 60_000 for code, p in config.priorities.items()}
    classes = list(heads)
    weights = [0.85, 0.10, 0.05][: len(classes)] + [0.0] * max(0, len(classes) - 3)
    seqs: dict[str, int] = {}
    tickets, requests, events = [], [], []
    rid = 0
    for tid in range(1, n_waiting + 1):
        first = rng.choice(services)
        errands = [first]
        if rng.random() < second_share:
            errands.append(rng.choice([s for s in services if s != first]))
        prefix = config.prefix_for(first)
        seq = seqs[prefix] = seqs.get(prefix, 0) + 1
        number = f"{prefix}{seq:03d}"
        prio = rng.choices(classes, weights)[0]
        at = start + tid * gap
        sort_key = at - heads[prio]
        tickets.append((tid, day, number, prefix, seq, prio, "dispenser", at, sort_key, "open"))
        events.append((at, day, "issued", tid, None, None,
                       json.dumps({"channel": "dispenser", "number": number, "priority": prio, "services": errands},
                                  ensure_ascii=False, sort_keys=True)))
        for pos, code in enumerate(errands, start=1):
            rid += 1
            state = "waiting" if pos == 1 else "pending"
            requests.append((rid, tid, pos, code, state, sort_key, at))
            events.append((at, day, "queued" if pos == 1 else "pending", tid, rid, code, None))
    with store.write():
        conn.executemany(
            "INSERT INTO tickets (id, day, number, prefix, seq, priority, channel, issued_at, sort_key, state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tickets)
        conn.executemany(
            "INSERT INTO requests (id, ticket_id, position, service, state, sort_key, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", requests)
        conn.executemany(
            "INSERT INTO events (at, day, kind, ticket_id, request_id, service, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            events)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def send_back(station: Station, window: int) -> None:
    """Return the called errand to the queue at its place (pause, reopen): the queue keeps its length."""
    station.set_window(window, "paused")
    station.set_window(window, "open")


def drain_window(station: Station, window: int) -> int:
    """Complete what the window holds, and any errand that continues there. Returns the count."""
    done = 0
    result = station.complete(window)
    done += 1
    while result.continued:
        result = station.complete(window)
        done += 1
    return done


# -- goal 2: call-next on a long queue ------------------------------------------------------
def bench_call_next(tmp: Path, big: int = 100_000, small: int = 1_000, rounds: int = 15, per_round: int = 30) -> None:
    config_path = default_config_path()
    config = load_config(config_path)
    all_services = list(config.services)
    services = all_services[:-1]  # 12 of the 13: the comprehensive window also seeks an empty one
    assert len(services) == 12
    t0 = time.monotonic()
    build_queue(tmp / "big.db", config_path, big, services)
    build_queue(tmp / "small.db", config_path, small, services)
    log(f"call-next: built {big:,} and {small:,} waiting errands in {time.monotonic() - t0:.1f} s")

    stations = {}
    for label in ("big", "small"):
        st = Station(Store(tmp / f"{label}.db"), config)
        for w in config.windows:
            st.set_window(w, "open")
        stations[label] = st
        plan = st.store.conn.execute(
            "EXPLAIN QUERY PLAN " + routing._pick_sql(len(config.windows[1].services)),
            [x for s in config.windows[1].services for x in (s, 1)]).fetchall()
        if not all("requests_waiting" in row[3] for row in plan if "requests" in row[3]):
            log(f"call-next: the pick does not use requests_waiting on {label}: {[row[3] for row in plan]}")
    waiting_before = {label: st.store.conn.execute("SELECT COUNT(*) FROM requests WHERE state = 'waiting'").fetchone()[0]
                      for label, st in stations.items()}
    assert waiting_before == {"big": big, "small": small}, waiting_before

    windows = {1: "all 13 services", 4: f"{len(config.windows[4].services)} services"}
    pc = time.perf_counter_ns
    for window, what in windows.items():
        for label, st in stations.items():  # warm up, until each WAL is in its steady state

            def cycle(st=st, window=window) -> None:
                st.call_next(window)
                send_back(st, window)

            warm_wal(st.store.path, cycle, at_least=5)
        values, floors = [], []
        for r in range(rounds):
            spent = {"big": 0, "small": 0}
            for i in range(per_round):
                order = ("big", "small") if (i + r) % 2 == 0 else ("small", "big")
                for label in order:
                    st = stations[label]
                    t0 = pc()
                    st.call_next(window)
                    spent[label] += pc() - t0
                    send_back(st, window)
            values.append(us(spent["big"] / per_round))
            floors.append(us(spent["small"] / per_round))
        log(f"call-next w{window}: per-round ratios {', '.join(f'{v / f:.2f}' for v, f in zip(values, floors))}")
        emit(f"call_next_100k_w{window}", statistics.median(values), "us/op", statistics.median(floors), 1.5, "max",
             note=f"window {window} ({what}); floor: the same call with {small:,} waiting; includes the commit (fsync);"
                  f" the called errand is sent back (pause, reopen) after each call, so the queue keeps its length")

    # For information: the pick alone (no transaction to commit), where a queue-length effect
    # would show plainly instead of hiding under the fsync.
    for window in windows:
        svc = config.windows[window].services
        times = {"big": [], "small": []}
        for b in range(31):
            for label in (("big", "small") if b % 2 == 0 else ("small", "big")):
                with stations[label].store.read() as conn:
                    t0 = pc()
                    for _ in range(40):
                        routing.pick(conn, svc, window)
                    times[label].append(us((pc() - t0) / 40))
        emit(f"pick_only_100k_w{window}", statistics.median(times["big"]), "us/op", statistics.median(times["small"]),
             note=f"routing.pick alone, window {window}, in a read transaction; floor: {small:,} waiting (no goal)")
    for st in stations.values():
        st.store.close()


# -- goal 3: eight windows in eight processes -----------------------------------------------
def _window_worker(window: int, config_path: str, barriers: dict, tasks, results) -> None:
    """One window's clerk, kept for the whole benchmark: for each database it is handed, call
    and complete until nobody is left, starting with the others at the barrier."""
    config = load_config(config_path)
    while (task := tasks.get()) is not None:
        db, n_procs = task
        try:
            station = Station(Store(db), config)
            station.store.verify()  # the once-per-process quick_check before the first write: not timed
            barriers[n_procs].wait(timeout=120)
            started = time.monotonic()
            done = 0
            while True:
                try:
                    station.call_next(window)
                except NothingToCall:
                    break
                done += drain_window(station, window)
            ended = time.monotonic()
            station.store.close()
            results.put((window, done, started, ended, None))
        except BaseException as exc:  # report, never hang the parent or the other windows
            barriers[n_procs].abort()
            results.put((window, 0, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))


def write_config(tmp: Path, n_windows: int) -> Path:
    text = default_config_path().read_text(encoding="utf-8")
    head = text[: text.index("[[windows]]")]
    windows = "".join(
        f'[[windows]]\nnumber = {n}\nname = "综合窗口{n}"\nname_en = "Comprehensive {n}"\nservices = ["*"]\n\n'
        for n in range(1, n_windows + 1))
    path = tmp / f"station-{n_windows}w.toml"
    path.write_text(head + windows, encoding="utf-8")
    load_config(path)  # refuse a broken bench config here, not in eight children
    return path


class WindowPool:
    """n_max processes, one a window, started once (spawned: nothing inherited) and reused, so
    each timed run costs a database copy rather than eight interpreters starting."""

    def __init__(self, config_path: Path, n_max: int, sizes: tuple[int, ...]):
        ctx = mp.get_context("spawn")
        self.config_path = config_path
        self.barriers = {n: ctx.Barrier(n) for n in sizes}
        self.tasks = [ctx.Queue() for _ in range(n_max)]
        self.results = ctx.Queue()
        self.procs = [ctx.Process(target=_window_worker, daemon=True,
                                  args=(w, str(config_path), self.barriers, self.tasks[w - 1], self.results))
                      for w in range(1, n_max + 1)]
        for p in self.procs:
            p.start()

    def run(self, template: Path, db: Path, n_procs: int) -> tuple[float, list[int], int]:
        """Drain a copy of `template` with windows 1..n_procs; errands completed per second."""
        shutil.copy(template, db)
        station = Station(Store(db), load_config(self.config_path))
        for w in range(1, n_procs + 1):
            station.set_window(w, "open")
        total = station.store.conn.execute(
            "SELECT COUNT(*) FROM requests WHERE state IN ('waiting', 'pending')").fetchone()[0]
        station.store.close()
        for w in range(1, n_procs + 1):
            self.tasks[w - 1].put((str(db), n_procs))
        got = [self.results.get(timeout=300) for _ in range(n_procs)]
        errors = [g[4] for g in got if g[4]]
        if errors:
            raise RuntimeError(f"a window process failed: {errors[0]}")
        counts = [g[1] for g in sorted(got)]
        elapsed = max(g[3] for g in got) - min(g[2] for g in got)
        with Store(db) as store:
            done, once = store.conn.execute(
                "SELECT (SELECT COUNT(*) FROM requests WHERE state = 'done'),"
                " (SELECT COUNT(*) = COUNT(DISTINCT request_id) FROM events WHERE kind = 'done')").fetchone()
        if sum(counts) != total or done != total or not once:
            raise RuntimeError(f"errands lost or served twice: {total} queued, {sum(counts)} completed, {done} done")
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        return sum(counts) / elapsed, counts, total

    def close(self) -> None:
        for q in self.tasks:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)


def bench_windows(tmp: Path, queue: int = 800, rounds: int = 10, n_procs: int = 8) -> None:
    config_path = write_config(tmp, n_procs)
    services = list(load_config(config_path).services)
    template = tmp / "windows-template.db"
    # a fifth of the tickets hold a second errand, which continues at the same window
    build_queue(template, config_path, queue, services, second_share=0.2, seed=11)
    sizes = (1, 2, n_procs)  # 2: one process a core here, for information
    pool = WindowPool(config_path, n_procs, sizes)
    rates: dict[int, list[float]] = {n: [] for n in sizes}
    fair = []
    try:
        for r in range(rounds):
            for n in (sizes if r % 2 == 0 else sizes[::-1]):  # ABBA: drift hits all alike
                rate, counts, total = pool.run(template, tmp / f"windows-{r}-{n}.db", n)
                rates[n].append(rate)
                if n == n_procs:
                    fair.append(counts)
            log(f"windows: round {r + 1}: {total} errands; " + ", ".join(
                f"{n} process(es) {rates[n][-1]:.0f}/s" for n in sizes) + f"; per process {fair[-1]}")
    finally:
        pool.close()
    paired = [m / o for m, o in zip(rates[n_procs], rates[1])]
    log(f"windows: per-round ratios {n_procs}/1: {', '.join(f'{x:.2f}' for x in paired)}")
    one = statistics.median(rates[1])
    cores = os.cpu_count()
    emit(f"call_complete_{n_procs}proc", statistics.median(rates[n_procs]), "errands/s", one, 0.7, "min",
         note=f"{n_procs} processes, one window each, vs 1 process and 1 window, on {cores} cores; each run drains"
              f" the same {queue:,}-ticket queue (about 1.2 errands a ticket); median of {rounds} rounds, ABBA order;"
              f" median of per-round ratios {statistics.median(paired):.2f}")
    emit("call_complete_2proc", statistics.median(rates[2]), "errands/s", one,
         note=f"2 processes (one a core on this {cores}-core machine) vs 1, same rounds; for information")
    evenness = [min(c) / max(c) for c in fair]
    worst = min(range(len(fair)), key=evenness.__getitem__)
    emit(f"fairness_{n_procs}proc", min(fair[worst]), "errands", max(fair[worst]),
         note=f"fewest / most errands completed by one of the {n_procs} processes in the least even round;"
              f" median round {statistics.median(evenness):.2f}"
              f" (all rounds: {'; '.join(f'{min(c)}/{max(c)}' for c in fair)}); no goal")


# -- the report -----------------------------------------------------------------------------
def table() -> str:
    head = ("name", "value", "unit", "floor", "ratio", "goal", "ok")
    rows = []
    for x in RESULTS:
        goal = "" if x["goal"] is None else f"{'<=' if x['goal_is'] == 'max' else '>='} {x['goal']}"
        ok = "" if x["ok"] is None else ("ok" if x["ok"] else "MISSED")
        rows.append((x["name"], f"{x['value']:,.1f}", x["unit"], f"{x['floor']:,.1f}", f"{x['ratio']:.2f}", goal, ok))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {1, 3, 4}
    fmt = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, rows)])


def main() -> int:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cabin-bench-") as d:
        tmp = Path(d)
        log(f"temporary databases in {tmp}")
        wanted = sys.argv[1:] or ["issue", "call_next", "windows", "reader", "card", "ticket", "faces", "export", "served",
                                  "cli", "postgres"]
        for name in wanted:  # e.g. `python -m tests.bench issue`
            if name in DEVICE_BENCHES:
                for line in DEVICE_BENCHES[name]():
                    RESULTS.append(line)
                    print(json.dumps(line, ensure_ascii=False), flush=True)
            else:
                globals()[f"bench_{name}"](tmp)
    print()
    print(table())
    missed = [x["name"] for x in RESULTS if x["ok"] is False]
    print()
    if missed:
        print(f"GOALS MISSED: {', '.join(missed)}")
    else:
        print(f"All {sum(x['ok'] is not None for x in RESULTS)} goals met.")
    print(f"({time.monotonic() - started:.0f} s on {os.cpu_count()} cores; 1-minute load average"
          f" {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: other work on the machine"
          f" slows the fsyncs, which narrows every ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
