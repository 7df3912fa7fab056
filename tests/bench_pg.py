"""The queue on a PostgreSQL server against the same on SQLite (`make bench`, `python -m tests.bench
postgres`).

Goals (issue 15), in one run: 8 windows in 8 processes on PostgreSQL drain a queue at least 1.5x
as fast as the same 8 on SQLite (which has one writer lock), and at least 70% as fast as one
process on PostgreSQL. For information: the same 8 with every operation at SERIALIZABLE and run
again on each conflict (Station.locks_on_server = False, the design before READ COMMITTED with
locks), and 8 processes issuing tickets at once, both ways (the numbering).

A real server, started here from the machine's binaries (tests/pgserver.py) with fsync on: a
commit waits for its WAL on the disk as SQLite's synchronous=FULL waits for its own. Each run
drains a fresh copy of one queue (800 tickets, a fifth with a second errand): SQLite's a file
copy, PostgreSQL's CREATE DATABASE ... TEMPLATE; runs are in ABBA order over the rounds; the
figure is the median. Server and clients share the machine's cores: on 2 cores, 8 clients and
their 8 server backends take turns on them, which is what limits the ratios here.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from cabin.config import load_config
from cabin.queue import conflicts
from cabin.queue.engine import Station
from cabin.queue.errors import Conflict, NothingToCall
from cabin.queue.store import Store

from tests.bench import build_queue, write_config
from tests.benchtools import log, result
from tests import pgserver

TABLES = ("meta", "windows", "tickets", "requests", "events")  # in an order their references allow


def open_store(db: str):
    if "://" in db:
        from cabin.queue.pgstore import PgStore

        return PgStore(db)
    return Store(db)


def _worker(window: int, config_path: str, barriers: dict, tasks, results) -> None:
    """One window's process, kept for the whole bench: for each task, drain the queue (call and
    complete) or issue tickets, starting with the others at the barrier. An operation refused
    for a conflict past its reruns is pressed again, as a clerk would, and counted."""
    config = load_config(config_path)
    services = sorted(config.services)
    # psycopg warns of each pipelined batch a conflict aborted (the rerun follows): not news here
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    while (task := tasks.get()) is not None:
        db, n_procs, locks, job = task
        try:
            Station.locks_on_server = locks
            station = Station(open_store(db), config)
            station.store.verify()
            station.queue_state()  # connected, warmed: not timed
            reruns_before, refused = sum(conflicts.reruns.values()), 0
            barriers[n_procs].wait(timeout=120)
            started = time.monotonic()
            done = 0
            if job == "issue":
                while done < 150:
                    try:
                        station.issue([services[(window + done) % len(services)]])
                        done += 1
                    except Conflict:
                        refused += 1
            else:
                while True:
                    try:
                        station.call_next(window)
                    except NothingToCall:
                        break
                    except Conflict:
                        refused += 1
                        continue
                    while True:
                        try:
                            completed = station.complete(window)
                        except Conflict:
                            refused += 1
                            continue
                        done += 1
                        if completed.continued is None:
                            break
            ended = time.monotonic()
            station.store.close()
            results.put((window, done, started, ended, sum(conflicts.reruns.values()) - reruns_before, refused, None))
        except BaseException as exc:  # report, never hang the parent or the other windows
            barriers[n_procs].abort()
            results.put((window, 0, 0.0, 0.0, 0, 0, f"{type(exc).__name__}: {exc}"))


class Pool:
    def __init__(self, config_path: Path, n_max: int, sizes: tuple[int, ...]):
        ctx = mp.get_context("spawn")
        self.barriers = {n: ctx.Barrier(n) for n in sizes}
        self.tasks = [ctx.Queue() for _ in range(n_max)]
        self.results = ctx.Queue()
        self.procs = [ctx.Process(target=_worker, daemon=True,
                                  args=(w, str(config_path), self.barriers, self.tasks[w - 1], self.results))
                      for w in range(1, n_max + 1)]
        for p in self.procs:
            p.start()

    def run(self, db: str, n_procs: int, locks: bool, job: str) -> dict:
        for w in range(1, n_procs + 1):
            self.tasks[w - 1].put((db, n_procs, locks, job))
        got = [self.results.get(timeout=600) for _ in range(n_procs)]
        errors = [g[6] for g in got if g[6]]
        if errors:
            raise RuntimeError(f"a window process failed: {errors[0]}")
        elapsed = max(g[3] for g in got) - min(g[2] for g in got)
        done = sum(g[1] for g in got)
        return {"rate": done / elapsed, "done": done, "reruns": sum(g[4] for g in got), "refused": sum(g[5] for g in got)}

    def close(self) -> None:
        for q in self.tasks:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)


def copy_to_server(template: Path, url: str) -> None:
    """The SQLite template's queue rows into an empty PostgreSQL database, ids and all."""
    src = sqlite3.connect(template)
    store = open_store(url)
    try:
        with store.write() as conn:
            for table in TABLES:
                cur = src.execute(f"SELECT * FROM {table}")
                columns = ", ".join(f'"{d[0]}"' for d in cur.description)
                rows = cur.fetchall()
                if table == "windows":  # no requests yet: their current errand is set after
                    conn.execute("DELETE FROM windows")
                conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(cur.description))})",
                                 rows)
            for table in ("tickets", "requests", "events"):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    finally:
        store.close()
        src.close()


def check_served_once(db: str, total: int) -> None:
    with open_store(db) as store, store.read() as conn:
        done, once = conn.execute(
            "SELECT (SELECT COUNT(*) FROM requests WHERE state = 'done'),"
            " (SELECT COUNT(*) = COUNT(DISTINCT request_id) FROM events WHERE kind = 'done')").fetchone()
    if done != total or not once:
        raise RuntimeError(f"errands lost or served twice: {total} queued, {done} done")


def bench_postgres(queue: int = 800, rounds: int = 4, n_procs: int = 8) -> list[dict]:
    try:
        import psycopg

        pgserver.find_bindir()
    except (ImportError, pgserver.ServerNotFound) as exc:
        log(f"postgres: skipped, no server to measure: {exc}")
        return []
    lines = []
    with tempfile.TemporaryDirectory(prefix="cabin-bench-pg-") as d, pgserver.PgServer() as server:
        tmp = Path(d)
        with psycopg.connect(server.url(), autocommit=True) as admin:  # durable as a station's server
            admin.execute("ALTER SYSTEM SET fsync = on")
            admin.execute("SELECT pg_reload_conf()")
        config_path = write_config(tmp, n_procs)
        services = list(load_config(config_path).services)
        template = tmp / "template.db"
        build_queue(template, config_path, queue, services, second_share=0.2, seed=11)
        with sqlite3.connect(template) as conn:
            total = conn.execute("SELECT COUNT(*) FROM requests WHERE state IN ('waiting', 'pending')").fetchone()[0]
        tmpl = server.create_database("template")
        copy_to_server(template, server.url(tmpl))
        st = Station(open_store(server.url(tmpl)), load_config(config_path))
        for w in range(1, n_procs + 1):
            st.set_window(w, "open")
        st.store.close()
        opened = tmp / "opened.db"
        shutil.copy(template, opened)
        st = Station(Store(opened), load_config(config_path))
        for w in range(1, n_procs + 1):
            st.set_window(w, "open")
        st.store.close()

        runs = {"pg_1": ("pg", 1, True, "drain"), "pg_8": ("pg", n_procs, True, "drain"),
                "sqlite_8": ("sqlite", n_procs, True, "drain"), "pg_8_serializable": ("pg", n_procs, False, "drain"),
                "issue_pg_8": ("pg", n_procs, True, "issue"), "issue_pg_8_serializable": ("pg", n_procs, False, "issue")}
        got: dict[str, list[dict]] = {k: [] for k in runs}
        pool = Pool(config_path, n_procs, (1, n_procs))
        try:
            for r in range(rounds):
                for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                    backend, n, locks, job = runs[name]
                    if backend == "sqlite":
                        db = str(tmp / f"run-{r}-{name}.db")
                        shutil.copy(opened, db)
                    else:
                        dbname = f"run_{r}_{name}"
                        with psycopg.connect(server.url(), autocommit=True) as admin:
                            admin.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{tmpl}"')
                        db = server.url(dbname)
                    got[name].append(pool.run(db, n, locks, job))
                    if job == "drain":
                        check_served_once(db, total)
                    if backend == "sqlite":
                        for f in tmp.glob(Path(db).name + "*"):
                            f.unlink()
                    else:
                        server.drop_database(dbname)
                log(f"postgres: round {r + 1}: " + ", ".join(f"{k} {v[-1]['rate']:.0f}/s" for k, v in got.items()))
        finally:
            pool.close()

    def rate(name: str) -> float:
        return statistics.median(x["rate"] for x in got[name])

    def conflicts_of(name: str) -> str:
        return (f"{sum(x['reruns'] for x in got[name])} runs again and {sum(x['refused'] for x in got[name])}"
                f" operations refused past {conflicts.RERUNS} reruns (pressed again) over {rounds} runs")

    cores = mp.cpu_count()
    lines.append(result(f"pg_call_complete_{n_procs}proc_vs_sqlite", rate("pg_8"), "errands/s", rate("sqlite_8"), 1.5, "min",
                        note=f"{n_procs} windows in {n_procs} processes draining {total} errands, PostgreSQL (fsync on)"
                             f" vs the same on SQLite (synchronous=FULL); {cores} cores shared by clients and server;"
                             f" median of {rounds} ABBA rounds; PostgreSQL: {conflicts_of('pg_8')}", digits=1))
    lines.append(result(f"pg_call_complete_{n_procs}proc", rate("pg_8"), "errands/s", rate("pg_1"), 0.7, "min",
                        note=f"{n_procs} processes vs 1 process, both on PostgreSQL; same rounds", digits=1))
    lines.append(result(f"pg_call_complete_{n_procs}proc_serializable", rate("pg_8_serializable"), "errands/s",
                        rate("pg_8"), note="every operation at SERIALIZABLE, run again on conflict (the design"
                        f" before), vs READ COMMITTED with locks; {conflicts_of('pg_8_serializable')}; no goal",
                        digits=1))
    lines.append(result(f"pg_issue_{n_procs}proc_serializable", rate("issue_pg_8_serializable"), "tickets/s",
                        rate("issue_pg_8"), note=f"{n_procs} processes issuing 150 tickets each: MAX(seq)+1 at"
                        f" SERIALIZABLE, run again on conflict ({conflicts_of('issue_pg_8_serializable')}) vs READ"
                        f" COMMITTED under the prefix's advisory lock ({conflicts_of('issue_pg_8')}); no goal",
                        digits=1))
    for line in lines:
        log(f"{line['name']}: {line['value']} vs {line['floor']} = {line['ratio']} (goal {line['goal']}) {line['note']}")
    return lines


if __name__ == "__main__":
    import json

    for line in bench_postgres():
        print(json.dumps(line, ensure_ascii=False))
