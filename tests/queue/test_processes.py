"""The queue shared by several processes, and killed in the middle of its work.

Issue 2 "Proof":
- Several processes: 8 processes each drive one window through call/complete over 2,000
  errands; every errand is done exactly once (single-errand tickets, and a variant with 2-3
  errand tickets so one-stop continuations and re-queues cross process boundaries).
- Crash: kill -9 processes in the middle of an issue/call storm, round after round, against one
  database; after each kill the file is intact, no acknowledged ticket or completion is lost,
  no number is duplicated, the rows and the event history agree, and nothing is stuck: a fresh
  process drains the whole queue with ordinary commands.

Both on each backend (`any_db`): one SQLite file, and one database on a real PostgreSQL server
that every child reaches by its URL as a window's PC would (on the server, windows do not take
turns on a lock: they run side by side and the engine's operations settle who got what).

The children are separate interpreters running a small script (WORKER below) written to
tmp_path, so each has its own connection (and on SQLite its own flock), exactly like the
station's apps. Every process uses the same clock: real elapsed time on a fixed day (2024-05-06, a
Monday), so the tests never straddle the station's midnight.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest

from cabin.config.loader import default_config_path, load_config
from cabin.queue.engine import Station
from cabin.queue.errors import NothingToCall

from backends import is_server, open_queue_store

TZ = ZoneInfo("Asia/Shanghai")
DAY = "2024-05-06"
BASE_MS = round(datetime(2024, 5, 6, 9, 0, tzinfo=TZ).timestamp() * 1000)

LIVE = ("pending", "waiting", "called", "serving")
TERMINAL = ("done", "no_show", "cancelled", "transferred", "expired")
# The state an event leaves its request in; kinds mapped to None change no request state.
EVENT_STATE = {
    "queued": "waiting", "returned": "waiting", "reactivated": "waiting",
    "pending": "pending",
    "called": "called", "recalled": "called",
    "started": "serving",
    "done": "done", "no_show": "no_show", "cancelled": "cancelled",
    "transferred": "transferred", "expired": "expired",
    "retargeted": None,
}
TICKET_KINDS = {"issued"}
WINDOW_KINDS = {"window_open", "window_pause", "window_close"}


class OffsetClock:
    """Real elapsed time since t0, on the fixed test day; the same in every process."""

    def __init__(self, t0: float, base_ms: int = BASE_MS):
        self.t0, self.base_ms = t0, base_ms

    def now_ms(self) -> int:
        return self.base_ms + int((time.time() - self.t0) * 1000)


WORKER = r'''
import json, os, random, sys, time, traceback

from cabin.config.loader import load_config
from cabin.queue import conflicts
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, NothingToCall, StoreError
from cabin.queue.store import Store

LIVE = ("pending", "waiting", "called", "serving")


class OffsetClock:
    def __init__(self, t0, base_ms):
        self.t0, self.base_ms = t0, base_ms

    def now_ms(self):
        return self.base_ms + int((time.time() - self.t0) * 1000)


def open_store(db):
    """The station's store at a file's path or a postgresql:// URL, as `cabin --db` takes either."""
    if "://" in db:
        from cabin.queue.pgstore import PgStore
        return PgStore(db)
    return Store(db)


def live_count(st):
    with st.store.read() as conn:
        return conn.execute("SELECT COUNT(*) FROM requests WHERE state IN (?, ?, ?, ?)", LIVE).fetchone()[0]


def current(st, window):
    with st.store.read() as conn:
        return conn.execute(
            "SELECT r.id, r.state, r.service FROM windows w JOIN requests r ON r.id = w.current_request_id"
            " WHERE w.number = ?", (window,)).fetchone()


DRAINED = object()


def call_or_wait(st, w, idle):
    """The window's next call; None, after a short pause counted in `idle` (a list), when nobody
    waits for it but errands are live elsewhere (others may still hold errands whose next errand
    this window would take); DRAINED when nothing is live in the whole station."""
    try:
        return st.call_next(w)
    except NothingToCall:
        if live_count(st) == 0:
            return DRAINED
        idle.append(1)
        time.sleep(0.005)
        return None


def drive(a):
    """Drive one window: call, (start), complete, following one-stop continuations, until the
    whole station has nothing live left."""
    st = Station(open_store(a["db"]), load_config(a["config"]), clock=OffsetClock(a["t0"], a["base_ms"]))
    w = a["window"]
    open(a["ready"], "w").close()
    deadline = time.time() + 30
    while not os.path.exists(a["go"]):
        if time.time() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.002)
    called, done, continued, idle = [], [], [], []
    deadline = time.time() + a["deadline_s"]
    while True:
        if time.time() > deadline:
            raise SystemExit(f"window {w}: still not drained after {a['deadline_s']} s")
        call = call_or_wait(st, w, idle)
        if call is DRAINED:
            break
        if call is None:
            continue
        called.append(call.request_id)
        if call.request_id % 3 == 0:
            st.start(w)
        rid = call.request_id
        while True:
            result = st.complete(w)
            assert result.completed == rid, (result, rid)
            done.append(rid)
            nxt = result.continued
            if nxt is None:
                break
            assert nxt.window == w, nxt
            continued.append(nxt.request_id)
            rid = nxt.request_id
    with open(a["out"] + ".tmp", "w") as f:
        json.dump({"window": w, "pid": os.getpid(), "called": called, "done": done,
                   "continued": continued, "idle_polls": len(idle), "reruns": dict(conflicts.reruns)}, f)
    os.replace(a["out"] + ".tmp", a["out"])


def storm(a):
    """Issue and work one window as fast as possible, writing an acknowledgement line after each
    operation returned (i.e. committed), until killed."""
    cfg = load_config(a["config"])
    st = Station(open_store(a["db"]), cfg, clock=OffsetClock(a["t0"], a["base_ms"]))
    rng = random.Random(a["seed"])
    w = a["window"]
    fd = os.open(a["ack"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def ack(line):
        os.write(fd, (line + "\n").encode())

    def soft(fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except StoreError:
            raise
        except CabinError:
            return None

    services = list(cfg.services)
    windows = sorted(cfg.windows)
    mine = []
    # Started while the parent still checks and drains the previous round: wait for the go.
    deadline = time.time() + 60
    while not os.path.exists(a["go"]):
        if time.time() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.002)
    soft(st.set_window, w, "open")
    ack("R")

    def transfer(cur):
        if rng.random() < 0.5:
            others = [n for n in windows if n != w and cur["service"] in cfg.windows[n].services]
            if others:
                soft(st.transfer, w, to_window=rng.choice(others))
        else:
            soft(st.transfer, w, to_service=rng.choice([s for s in services if s != cur["service"]]))

    def window_step():
        cur = current(st, w)
        if cur is None:
            try:
                call = st.call_next(w)
            except NothingToCall:
                return
            except StoreError:
                raise
            except CabinError:  # paused by someone: open it again
                soft(st.set_window, w, "open")
                return
            ack(f"C {call.request_id}")
            return
        y = rng.random()
        if cur["state"] == "called":
            if y < 0.10:
                soft(st.recall, w)
            elif y < 0.14:
                soft(st.no_show, w)
            elif y < 0.40:
                soft(st.start, w)
            elif y < 0.46:
                transfer(cur)
            else:
                r = soft(st.complete, w)
                if r:
                    ack(f"D {r.completed}")
        else:
            if y < 0.05:
                transfer(cur)
            else:
                r = soft(st.complete, w)
                if r:
                    ack(f"D {r.completed}")

    while True:
        k = rng.choice((2, 2, 3)) if rng.random() < 0.3 else 1
        errands = rng.sample(services, k)
        priority = rng.choices(("normal", "appointment", "priority"), (8, 1, 1))[0]
        t = st.issue(errands, priority)
        ack(f"T {t.ticket_id} {t.ticket} {len(errands)}")
        mine.append(t.ticket_id)
        for _ in range(rng.randint(0, 2)):
            window_step()
        x = rng.random()
        if x < 0.03:
            soft(st.cancel, str(rng.choice(mine)))
        elif x < 0.06:
            soft(st.reactivate, str(rng.choice(mine)))
        elif x < 0.08:
            soft(st.set_window, w, "paused")
            soft(st.set_window, w, "open")


def steadfast(a):
    """A window's PC through a server's restart: issue this window's share of the tickets, wait
    until every window has issued its share, then call and complete until nothing is left. An
    operation the server could not be reached for is waited out and the loop goes on from the
    window's state as the database has it: a call or completion whose COMMIT lost its answer
    may have been done, and the window's current errand says whether (never call again while
    the window still has one; what the window holds is what to complete). Acknowledges what
    returned, as the storm does."""
    cfg = load_config(a["config"])
    st = Station(open_store(a["db"]), cfg, clock=OffsetClock(a["t0"], a["base_ms"]))
    w = a["window"]
    fd = os.open(a["ack"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    outages = crossed = 0
    idle = []

    def ack(line):
        os.write(fd, (line + "\n").encode())

    def unreachable(exc):
        nonlocal outages
        if "cannot be reached" not in str(exc):
            raise exc
        outages += 1
        time.sleep(0.05)

    with open(a["tickets"]) as f:
        share = json.load(f)
    for errands, priority in share:  # before the restart: an issue's COMMIT never loses its answer here
        t = st.issue(errands, priority)
        ack(f"T {t.ticket_id} {t.ticket} {len(errands)}")
    open(a["issued"], "w").close()
    while not all(os.path.exists(f) for f in a["all_issued"]):
        time.sleep(0.01)
    deadline = time.time() + a["deadline_s"]
    while time.time() < deadline:
        try:
            holds = current(st, w)
            if holds is None:
                call = call_or_wait(st, w, idle)
                if call is DRAINED:
                    break
                if call is None:
                    continue
                ack(f"C {call.request_id}")
            else:
                done = st.complete(w)
                ack(f"D {done.completed}")
        except StoreError as exc:
            unreachable(exc)
        except CabinError:
            # another PC of this window called or completed between the read and the operation
            # ("still has", "nobody called"): the window's state is read again
            if not a.get("shared"):
                raise
            crossed += 1
    else:
        raise SystemExit(f"window {w}: still not drained after {a['deadline_s']} s")
    with open(a["out"] + ".tmp", "w") as f:
        json.dump({"window": w, "outages": outages, "idle_polls": len(idle), "crossed": crossed,
                   "reruns": dict(conflicts.reruns)}, f)
    os.replace(a["out"] + ".tmp", a["out"])


if __name__ == "__main__":
    args = json.loads(sys.argv[2])
    try:
        {"drive": drive, "storm": storm, "steadfast": steadfast}[sys.argv[1]](args)
    except BaseException:
        traceback.print_exc()
        raise
'''


# -- helpers ----------------------------------------------------------------------------------
def eight_window_config(tmp_path: Path) -> Path:
    """The default station plus windows 5..8, each serving a broad set of services."""
    extra = """
[[windows]]
number = 5
name = "综合窗口二"
name_en = "Comprehensive 2"
services = ["*"]

[[windows]]
number = 6
name = "身份证、交管窗口"
name_en = "ID cards, traffic"
services = ["id.temporary", "id.apply", "id.cross_region", "id.loss_report", "id.found_card",
            "tr.license_renew", "tr.license_replace", "tr.violation"]

[[windows]]
number = 7
name = "出入境、交管窗口"
name_en = "Exit-entry, traffic"
services = ["ee.passport", "ee.hkmo_permit", "ee.hkmo_endorse", "ee.tw_permit", "ee.tw_endorse",
            "tr.license_renew", "tr.license_replace", "tr.violation"]

[[windows]]
number = 8
name = "综合窗口三"
name_en = "Comprehensive 3"
services = ["*"]
"""
    path = tmp_path / "station8.toml"
    path.write_text(default_config_path().read_text(encoding="utf-8") + extra, encoding="utf-8")
    cfg = load_config(path)
    assert sorted(cfg.windows) == list(range(1, 9))
    return path


def worker_script(tmp_path: Path) -> Path:
    path = tmp_path / "cabin_worker.py"
    path.write_text(WORKER, encoding="utf-8")
    return path


def spawn(script: Path, mode: str, args: dict, stderr_path: Path) -> subprocess.Popen:
    # cwd is tmp_path, never the repository root (whose queue/ would shadow the stdlib's).
    with open(stderr_path, "wb") as err:
        return subprocess.Popen(
            [sys.executable, str(script), mode, json.dumps(args)],
            cwd=script.parent, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )


def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def integrity(db: Path) -> str:
    conn = connect(db)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


@contextmanager
def reading(db: str) -> Iterator:
    """A connection to read the station's rows with (sqlite3's, or the server store's snapshot)."""
    if is_server(db):
        with open_queue_store(db) as store, store.read() as conn:
            yield conn
        return
    conn = connect(db)
    try:
        yield conn
    finally:
        conn.close()


def check_events_match_rows(conn: sqlite3.Connection) -> None:
    """Replay: the last state-changing event of every request is the request's state, every
    event kind is known, and every ticket has exactly one 'issued' event."""
    requests = {r["id"]: r["state"] for r in conn.execute("SELECT id, state FROM requests")}
    last: dict[int, str] = {}
    issued = Counter()
    for e in conn.execute("SELECT kind, ticket_id, request_id FROM events ORDER BY id"):
        kind = e["kind"]
        if kind in TICKET_KINDS:
            issued[e["ticket_id"]] += 1
            continue
        if kind in WINDOW_KINDS:
            continue
        assert kind in EVENT_STATE, f"unknown event kind {kind!r}"
        assert e["request_id"] in requests, f"event {kind} for unknown request {e['request_id']}"
        if EVENT_STATE[kind] is not None:
            last[e["request_id"]] = EVENT_STATE[kind]
    wrong = {rid: (state, last.get(rid)) for rid, state in requests.items() if last.get(rid) != state}
    assert not wrong, f"request state != replayed events (request: (row, events)): {dict(list(wrong.items())[:10])}"
    tickets = [r[0] for r in conn.execute("SELECT id FROM tickets")]
    assert all(issued[t] == 1 for t in tickets), "a ticket without exactly one 'issued' event"
    assert sum(issued.values()) == len(tickets)


def check_nothing_stuck_shape(conn: sqlite3.Connection, config) -> None:
    """Structural 'can be moved' invariants, read straight from the rows:
    - every called/serving request is the current request of exactly the window it names,
      and every window's current request is called/serving (so complete/recall/no-show/transfer
      on that window reach it);
    - a ticket with live errands is open and has exactly one active errand (waiting, called or
      serving) at the lowest live position, the rest pending (so completing the active one
      moves the next); a ticket without live errands is closed;
    - every waiting errand is served by some window of the configuration (targeted: by its window).
    """
    windows = {w["number"]: w for w in conn.execute("SELECT * FROM windows")}
    currents = [w["current_request_id"] for w in windows.values() if w["current_request_id"] is not None]
    assert len(currents) == len(set(currents)), f"one request is current at two windows: {currents}"
    req = {r["id"]: r for r in conn.execute("SELECT * FROM requests")}
    for number, w in windows.items():
        rid = w["current_request_id"]
        if rid is not None:
            r = req[rid]
            assert r["state"] in ("called", "serving"), f"window {number} points at request {rid} in state {r['state']}"
            assert r["window"] == number, f"request {rid} is current at window {number} but names window {r['window']}"
    at_window = {w["current_request_id"]: n for n, w in windows.items() if w["current_request_id"] is not None}
    by_ticket = defaultdict(list)
    for r in req.values():
        if r["state"] in ("called", "serving"):
            assert at_window.get(r["id"]) == r["window"], (
                f"request {r['id']} is {r['state']} at window {r['window']} but no window has it as current: stuck")
        if r["state"] == "waiting":
            if r["target_window"] is not None:
                assert r["service"] in config.windows[r["target_window"]].services
                assert windows[r["target_window"]]["state"] != "closed", f"request {r['id']} waits for a closed window"
            else:
                assert config.windows_serving(r["service"]), r["service"]
        by_ticket[r["ticket_id"]].append(r)
    for t in conn.execute("SELECT id, number, state FROM tickets"):
        live = sorted((r for r in by_ticket[t["id"]] if r["state"] in LIVE), key=lambda r: (r["position"], r["id"]))
        if not live:
            assert t["state"] == "closed", f"ticket {t['number']} has no live errand but is {t['state']}"
            continue
        assert t["state"] == "open", f"ticket {t['number']} has live errands but is closed"
        active = [r for r in live if r["state"] != "pending"]
        assert len(active) == 1, f"ticket {t['number']}: {len(active)} active errands {[(r['id'], r['state']) for r in live]}"
        assert active[0] is live[0], f"ticket {t['number']}: a pending errand comes before the active one"


def check_numbers(conn: sqlite3.Connection) -> None:
    dup = conn.execute("SELECT day, number, COUNT(*) FROM tickets GROUP BY day, number HAVING COUNT(*) > 1").fetchall()
    assert not dup, f"duplicated ticket numbers: {[tuple(d) for d in dup]}"
    for day, prefix, n, top in conn.execute("SELECT day, prefix, COUNT(*), MAX(seq) FROM tickets GROUP BY day, prefix"):
        assert n == top, f"{day} {prefix}: {n} tickets but the highest number is {top} (a gap or a repeat)"


def drain(db: str, config_path: Path, t0: float) -> int:
    """A fresh process's view: open every window, complete what windows hold, call until
    nothing is live. Returns how many errands it completed."""
    with open_queue_store(db) as store:
        st = Station(store, load_config(config_path), clock=OffsetClock(t0))
        for n in st.config.windows:
            st.set_window(n, "open")
        completed = 0
        for _ in range(100_000):
            progress = False
            for n in st.config.windows:
                with store.read() as conn:
                    cur = conn.execute("SELECT current_request_id FROM windows WHERE number = ?", (n,)).fetchone()[0]
                if cur is not None:
                    st.complete(n)
                    completed += 1
                    progress = True
                    continue
                try:
                    st.call_next(n)
                    progress = True
                except NothingToCall:
                    pass
            if not progress:
                break
        else:
            raise AssertionError("the drain does not end")
        return completed


# -- several processes ------------------------------------------------------------------------
def run_eight_windows(tmp_path: Path, db: str, multi: bool) -> dict:
    cfg_path = eight_window_config(tmp_path)
    cfg = load_config(cfg_path)
    script = worker_script(tmp_path)
    t0 = time.time()
    rng = random.Random(2 if multi else 1)
    services = list(cfg.services)
    target = 2000
    tickets: list[list[str]] = []
    with open_queue_store(db) as store:
        st = Station(store, cfg, clock=OffsetClock(t0))
        total = 0
        while total < target:
            k = rng.choice((2, 2, 3)) if multi and rng.random() < 0.35 else 1
            k = min(k, target - total)
            errands = rng.sample(services, k)
            priority = rng.choices(("normal", "appointment", "priority"), (8, 1, 1))[0]
            st.issue(errands, priority)
            tickets.append(errands)
            total += k
        for n in cfg.windows:
            st.set_window(n, "open")
    assert sum(map(len, tickets)) == target

    procs = {}
    for n in sorted(cfg.windows):
        args = {"db": str(db), "config": str(cfg_path), "window": n, "t0": t0, "base_ms": BASE_MS,
                "ready": str(tmp_path / f"ready{n}"), "go": str(tmp_path / "go"),
                "out": str(tmp_path / f"out{n}.json"), "deadline_s": 60}
        procs[n] = spawn(script, "drive", args, tmp_path / f"err{n}.txt")
    try:
        deadline = time.time() + 30
        while not all((tmp_path / f"ready{n}").exists() for n in procs):
            dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
            assert not dead, f"workers died before starting: {dead}: " + (tmp_path / f"err{min(dead)}.txt").read_text()
            assert time.time() < deadline, "workers did not start"
            time.sleep(0.01)
        started = time.time()
        (tmp_path / "go").touch()
        for n, p in procs.items():
            rc = p.wait(timeout=90)
            assert rc == 0, f"window {n}'s process failed: " + (tmp_path / f"err{n}.txt").read_text()
        elapsed = time.time() - started
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    outs = {n: json.loads((tmp_path / f"out{n}.json").read_text()) for n in procs}

    with reading(db) as conn:
        if not is_server(db):
            assert integrity(db) == "ok"
        n_req = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        assert n_req == target
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == len(tickets)
        states = dict(conn.execute("SELECT state, COUNT(*) FROM requests GROUP BY state").fetchall())
        assert states == {"done": target}, states
        assert conn.execute("SELECT COUNT(*) FROM tickets WHERE state != 'closed'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM windows WHERE current_request_id IS NOT NULL").fetchone()[0] == 0

        # Exactly one 'called' and one 'done' per errand, all at one window, the one in the row.
        per = defaultdict(lambda: defaultdict(list))
        for e in conn.execute("SELECT id, kind, request_id, \"window\" FROM events WHERE request_id IS NOT NULL ORDER BY id"):
            per[e["request_id"]][e["kind"]].append((e["id"], e["window"]))
        rows = {r["id"]: r for r in conn.execute("SELECT * FROM requests")}
        for rid, r in rows.items():
            kinds = per[rid]
            assert len(kinds["done"]) == 1, f"request {rid}: {len(kinds['done'])} done events"
            assert len(kinds["called"]) == 1, f"request {rid}: {len(kinds['called'])} called events"
            assert len(kinds["started"]) == 1, f"request {rid}: {len(kinds['started'])} started events"
            at = {w for kind in ("called", "started", "done") for _, w in kinds[kind]}
            assert at == {r["window"]}, f"request {rid} was at windows {at}, row says {r['window']}"
            assert r["service"] in cfg.windows[r["window"]].services
            assert kinds["called"][0][0] < kinds["started"][0][0] < kinds["done"][0][0]
        check_events_match_rows(conn)
        check_numbers(conn)

        # A ticket's errands were done in order, one at a time: errand k+1 is called only
        # after errand k is done.
        by_ticket = defaultdict(list)
        for r in rows.values():
            by_ticket[r["ticket_id"]].append(r)
        cross_window_tickets = 0
        for reqs in by_ticket.values():
            reqs.sort(key=lambda r: r["position"])
            for a, b in zip(reqs, reqs[1:]):
                assert per[a["id"]]["done"][0][0] < per[b["id"]]["called"][0][0], (a["id"], b["id"])
            cross_window_tickets += len({r["window"] for r in reqs}) > 1

        # What the processes say they did agrees with the database, and each did some of it.
        done_by = {n: o["done"] for n, o in outs.items()}
        all_done = [rid for d in done_by.values() for rid in d]
        assert len(all_done) == len(set(all_done)) == target, "an errand completed twice, or one never"
        assert set(all_done) == set(rows)
        for n, d in done_by.items():
            assert all(rows[rid]["window"] == n for rid in d)
            assert len(d) > 0, f"window {n}'s process did no work: {dict((k, len(v)) for k, v in done_by.items())}"
        continued = sum(len(o["continued"]) for o in outs.values())
        requeued = conn.execute(
            "SELECT COUNT(*) FROM events WHERE kind = 'queued' AND detail LIKE '%\"after\"%'").fetchone()[0]
        if multi:
            assert continued > 0, "no one-stop continuation happened"
            assert requeued > 0, "no second errand was re-queued"
            assert cross_window_tickets > 0, "no ticket was served at two windows"
            assert continued + requeued == target - len(tickets)
        else:
            assert continued == requeued == cross_window_tickets == 0
    return {"per_window": {n: len(d) for n, d in done_by.items()},
            "continued": continued, "requeued": requeued, "cross_window_tickets": cross_window_tickets,
            "idle_polls": {n: o["idle_polls"] for n, o in outs.items()},
            "reruns": sum(sum(o["reruns"].values()) for o in outs.values()),
            "tickets": len(tickets), "seconds": round(elapsed, 2)}


@pytest.mark.slow
@pytest.mark.parametrize("multi", [False, True], ids=["single-errand", "multi-errand"])
def test_eight_processes_each_errand_done_exactly_once(tmp_path, any_db, multi, record_property, monkeypatch):
    monkeypatch.setenv("CABIN_BUSY_TIMEOUT_MS", "10000")  # the children inherit it
    report = run_eight_windows(tmp_path, any_db, multi)
    record_property("work", json.dumps(report))
    print(f"\n8 processes, {'multi' if multi else 'single'}-errand: {json.dumps(report)}")


# -- crash ------------------------------------------------------------------------------------
ROUNDS = 24


def read_acks(path: Path) -> tuple[list[tuple[int, str, int]], list[int], bool]:
    """(tickets (id, number, errands), completed request ids, ready) from an ack file; a torn
    last line (no newline) is ignored."""
    text = path.read_text() if path.exists() else ""
    lines = text.split("\n")[:-1]
    tickets, done, ready = [], [], False
    for line in lines:
        parts = line.split()
        if parts[0] == "R":
            ready = True
        elif parts[0] == "T":
            tickets.append((int(parts[1]), parts[2], int(parts[3])))
        elif parts[0] == "D":
            done.append(int(parts[1]))
    return tickets, done, ready


@pytest.mark.slow
def test_kill_9_during_issue_and_call_storm(tmp_path, any_db, record_property, monkeypatch):
    monkeypatch.setenv("CABIN_BUSY_TIMEOUT_MS", "10000")  # the children inherit it
    cfg_path = default_config_path()
    cfg = load_config(cfg_path)
    db = any_db
    script = worker_script(tmp_path)
    t0 = time.time()
    with open_queue_store(db) as store:
        st = Station(store, cfg, clock=OffsetClock(t0))
        for n in cfg.windows:
            st.set_window(n, "open")
    rng = random.Random(20240506)
    acked_tickets: dict[int, tuple[str, int]] = {}
    acked_done: set[int] = set()
    stats = Counter()
    spawned: list[subprocess.Popen] = []

    def start_round(rnd: int) -> list:
        """Two storm children on windows 1 and 3, importing and opening the store at once but
        writing only after the round's go file appears."""
        children = []
        for j, window in enumerate((1, 3)):
            ack = tmp_path / f"ack{rnd}_{j}.txt"
            args = {"db": str(db), "config": str(cfg_path), "window": window, "t0": t0, "base_ms": BASE_MS,
                    "ack": str(ack), "go": str(tmp_path / f"go{rnd}"), "seed": rng.randrange(2**32)}
            p = spawn(script, "storm", args, tmp_path / f"err{rnd}_{j}.txt")
            spawned.append(p)
            children.append((p, ack, j))
        return children

    def err(rnd: int, j: int) -> str:
        return (tmp_path / f"err{rnd}_{j}.txt").read_text()

    try:
        following = start_round(0)
        for rnd in range(ROUNDS):
            children = following
            (tmp_path / f"go{rnd}").touch()
            deadline = time.time() + 30
            while not all(read_acks(ack)[2] for _, ack, _ in children):
                for p, _, j in children:
                    assert p.poll() is None, f"round {rnd}: child {j} died: " + err(rnd, j)
                assert time.time() < deadline, "storm children did not start"
                time.sleep(0.002)
            start = time.time()
            for delay, (p, _, j) in sorted((rng.uniform(0.05, 0.4), c) for c in children):
                time.sleep(max(0.0, start + delay - time.time()))
                assert p.poll() is None, f"round {rnd}: child {j} died before the kill: " + err(rnd, j)
                os.kill(p.pid, signal.SIGKILL)
                assert p.wait(timeout=10) == -signal.SIGKILL
            if rnd + 1 < ROUNDS:
                following = start_round(rnd + 1)
            for _, ack, _ in children:
                tickets, done, _ = read_acks(ack)
                for tid, number, n in tickets:
                    acked_tickets[tid] = (number, n)
                acked_done.update(done)
                stats["tickets acknowledged"] += len(tickets)
                stats["completions acknowledged"] += len(done)

            if not is_server(db):  # the server checks its own pages
                assert integrity(db) == "ok", f"round {rnd}"
            with reading(db) as conn:
                rows = {t["id"]: t for t in conn.execute("SELECT * FROM tickets")}
                for tid, (number, n) in acked_tickets.items():
                    assert tid in rows, f"round {rnd}: acknowledged ticket {number} (id {tid}) is lost"
                    assert rows[tid]["number"] == number and rows[tid]["day"] == DAY
                    positions = {r[0] for r in conn.execute("SELECT position FROM requests WHERE ticket_id = ?", (tid,))}
                    assert positions == set(range(1, n + 1)), f"round {rnd}: ticket {number} lost errands"
                if acked_done:
                    marks = ",".join("?" * len(acked_done))
                    not_done = conn.execute(
                        f"SELECT id, state FROM requests WHERE id IN ({marks}) AND state != 'done'", tuple(acked_done)).fetchall()
                    assert not not_done, f"round {rnd}: acknowledged completions lost: {[tuple(r) for r in not_done]}"
                stats["killed holding an errand at a window"] += conn.execute(
                    "SELECT COUNT(*) FROM windows WHERE current_request_id IS NOT NULL").fetchone()[0]
                stats["live before drain"] += conn.execute(
                    "SELECT COUNT(*) FROM requests WHERE state IN (?, ?, ?, ?)", LIVE).fetchone()[0]
                check_numbers(conn)
                check_nothing_stuck_shape(conn, cfg)
                check_events_match_rows(conn)

            # Nothing is stuck: a fresh process moves every live errand to an end with commands.
            stats["drained"] += drain(db, cfg_path, t0)
            with reading(db) as conn:
                live = conn.execute(
                    "SELECT r.id, r.state FROM requests r JOIN tickets t ON t.id = r.ticket_id"
                    " WHERE t.day = ? AND r.state NOT IN (?, ?, ?, ?, ?)", (DAY, *TERMINAL)).fetchall()
                assert not live, f"round {rnd}: still live after the drain: {[tuple(r) for r in live][:10]}"
                assert conn.execute("SELECT COUNT(*) FROM tickets WHERE state != 'closed'").fetchone()[0] == 0
                assert conn.execute("SELECT COUNT(*) FROM windows WHERE current_request_id IS NOT NULL").fetchone()[0] == 0
                check_events_match_rows(conn)
                check_nothing_stuck_shape(conn, cfg)
                multi_done = conn.execute(
                    "SELECT request_id FROM events WHERE kind = 'done' GROUP BY request_id HAVING COUNT(*) > 1").fetchall()
                assert not multi_done, f"round {rnd}: errands done twice: {[r[0] for r in multi_done]}"
    finally:
        for p in spawned:
            if p.poll() is None:
                p.kill()
                p.wait()

    with reading(db) as conn:
        stats["tickets in db"] = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        for state, n in conn.execute("SELECT state, COUNT(*) FROM requests GROUP BY state"):
            stats[f"requests {state}"] = n
    assert stats["tickets acknowledged"] >= ROUNDS, stats
    record_property("crash", json.dumps(stats))
    print(f"\ncrash, {ROUNDS} rounds x 2 children: {json.dumps(stats, ensure_ascii=False)}")



# -- a server's restart under sixteen windows --------------------------------------------------
SIXTEEN_ERRANDS = 5_000


def sixteen_window_config(tmp_path: Path) -> Path:
    """The default station's four windows and twelve more: every fourth serves everything, the
    others one category each, so second errands continue at a window or queue for another."""
    base = load_config(default_config_path())
    categories = sorted({s.category for s in base.services.values()})
    extra = ""
    for n in range(5, 17):
        kind = (n - 5) % (len(categories) + 1)
        services = ["*"] if kind == len(categories) else sorted(
            code for code, s in base.services.items() if s.category == categories[kind])
        extra += (f'\n[[windows]]\nnumber = {n}\nname = "窗口{n}"\nname_en = "Window {n}"\n'
                  f'services = {json.dumps(services)}\n')
    path = tmp_path / "station16.toml"
    path.write_text(default_config_path().read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert sorted(load_config(path).windows) == list(range(1, 17))
    return path


def serve_in_processes(tmp_path: Path, db: str, cfg_path: Path, errands: int, pcs_per_window: int = 1,
                       midway=None) -> dict:
    """Every window of the config driven by `pcs_per_window` processes (steadfast: each issues its
    share of tickets holding `errands` errands in all, then all call and complete until nothing
    is left); `midway()` is called once half the errands are done. Then every errand must have
    been served exactly once, the numbers unique and gapless, every acknowledged ticket there."""
    cfg = load_config(cfg_path)
    script = worker_script(tmp_path)
    t0 = time.time()
    rng = random.Random(errands)
    services = list(cfg.services)
    tickets, total = [], 0
    while total < errands:
        k = min(rng.choice((2, 2, 3)) if rng.random() < 0.3 else 1, errands - total)
        tickets.append((rng.sample(services, k), rng.choices(("normal", "appointment", "priority"), (8, 1, 1))[0]))
        total += k
    with open_queue_store(db) as store:
        st = Station(store, cfg, clock=OffsetClock(t0))
        for n in cfg.windows:
            st.set_window(n, "open")

    pcs = [(n, k) for n in sorted(cfg.windows) for k in range(pcs_per_window)]
    issued = [str(tmp_path / f"issued{n}-{k}") for n, k in pcs]
    procs = {}
    for i, (n, k) in enumerate(pcs):
        share = tmp_path / f"tickets{n}-{k}.json"
        share.write_text(json.dumps(tickets[i::len(pcs)]))
        args = {"db": db, "config": str(cfg_path), "window": n, "t0": t0, "base_ms": BASE_MS,
                "tickets": str(share), "issued": issued[i], "all_issued": issued, "shared": pcs_per_window > 1,
                "ack": str(tmp_path / f"ack{n}-{k}.txt"), "out": str(tmp_path / f"out{n}-{k}.json"),
                "deadline_s": 240}
        procs[n, k] = spawn(script, "steadfast", args, tmp_path / f"err{n}-{k}.txt")

    def failed(pc) -> str:
        return f"window {pc[0]}'s process {pc[1]} failed: " + (tmp_path / f"err{pc[0]}-{pc[1]}.txt").read_text()

    midway_at = None
    try:
        deadline = time.time() + 180
        while midway is not None:
            for pc, p in procs.items():
                assert p.poll() in (None, 0), failed(pc)
            with reading(db) as conn:
                done = conn.execute("SELECT COUNT(*) FROM requests WHERE state = 'done'").fetchone()[0]
            if done >= errands // 2:
                midway()
                midway_at = done
                break
            assert time.time() < deadline, f"only {done} errands done after 180 s"
            time.sleep(0.1)
        for pc, p in procs.items():
            assert p.wait(timeout=240) == 0, failed(pc)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    outs = {pc: json.loads((tmp_path / f"out{pc[0]}-{pc[1]}.json").read_text()) for pc in procs}
    acked_tickets, acked_done = {}, set()
    for n, k in pcs:
        got, done_ids, _ = read_acks(tmp_path / f"ack{n}-{k}.txt")
        acked_tickets.update({tid: (number, e) for tid, number, e in got})
        acked_done.update(done_ids)

    with reading(db) as conn:
        rows = {r["id"]: r for r in conn.execute("SELECT * FROM requests")}
        # nothing lost, nothing added: every ticket issued and acknowledged, with all its errands
        assert len(acked_tickets) == len(tickets)
        ticket_rows = {t["id"]: t for t in conn.execute("SELECT * FROM tickets")}
        assert set(ticket_rows) == set(acked_tickets)
        assert all(ticket_rows[tid]["number"] == number for tid, (number, _) in acked_tickets.items())
        assert len(rows) == errands
        states = dict(conn.execute("SELECT state, COUNT(*) FROM requests GROUP BY state").fetchall())
        assert states == {"done": errands}, states
        assert acked_done <= set(rows)
        assert conn.execute("SELECT COUNT(*) FROM tickets WHERE state != 'closed'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM windows WHERE current_request_id IS NOT NULL").fetchone()[0] == 0
        # served exactly once: one call, one start, one completion per errand, all at its window
        per = defaultdict(Counter)
        for e in conn.execute('SELECT kind, request_id, "window" FROM events WHERE request_id IS NOT NULL'):
            per[e["request_id"]][e["kind"], e["window"]] += 1
        twice = {rid: dict(c) for rid, c in per.items()
                 if c != Counter({(kind, rows[rid]["window"]): 1 for kind in ("called", "started", "done")})
                 | Counter({(k, w): n for (k, w), n in c.items() if k in ("queued", "pending")})}
        assert not twice, f"errands not served exactly once: {dict(list(twice.items())[:5])}"
        check_events_match_rows(conn)
        check_numbers(conn)
        check_nothing_stuck_shape(conn, cfg)
    return {"errands": errands, "tickets": len(tickets), "midway_after_done": midway_at,
            "outages": sum(o["outages"] for o in outs.values()), "crossed": sum(o["crossed"] for o in outs.values()),
            "reruns": sum(sum(o["reruns"].values()) for o in outs.values()), "seconds": round(time.time() - t0, 1)}


@pytest.mark.slow
def test_sixteen_windows_through_a_server_restart(tmp_path, pg_server, pg_url, record_property):
    """16 windows in 16 processes issue 5,000 errands and serve them on one PostgreSQL server,
    which is restarted once while they serve: every errand is served exactly once, numbers are
    unique per day, and nothing acknowledged is lost."""
    report = serve_in_processes(tmp_path, pg_url, sixteen_window_config(tmp_path), SIXTEEN_ERRANDS,
                                midway=pg_server.restart)
    assert report["outages"] > 0, "no window met the restart: the test proved nothing"
    record_property("restart", json.dumps(report))
    print(f"\n16 windows through a restart: {json.dumps(report)}")


@pytest.mark.slow
def test_two_pcs_for_each_window(tmp_path, any_db, record_property):
    """Two processes drive each of 8 windows at once (a clerk's PC and `cabin call` on another,
    say): what one calls the other may complete, and one's call is refused while the window
    has a citizen, but no errand is called twice and none is left at a window nobody sees."""
    report = serve_in_processes(tmp_path, any_db, eight_window_config(tmp_path), 1_200, pcs_per_window=2)
    assert report["crossed"] > 0, "the two processes of a window never met: the test proved nothing"
    record_property("two_pcs", json.dumps(report))
    print(f"\ntwo PCs a window: {json.dumps(report)}")
