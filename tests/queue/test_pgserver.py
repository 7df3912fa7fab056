"""The suite's own PostgreSQL server (tests/pgserver.py, the pg_server and pg_url fixtures of
tests/conftest.py), proved with real work: the behaviours the PostgreSQL store of a station of
several PCs (issue 15) will rely on. Each test is written so that a server, a fixture or a
client that did not behave so would fail it: what must be absent is looked for from another
connection after the event, and what must not block is asked with a lock timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pgserver

try:
    import psycopg
    from psycopg import errors
except ImportError:  # the pg_server fixture skips, or fails where required, and says why
    psycopg = errors = None

TESTS = Path(__file__).resolve().parents[1]


def connect(url: str, **kwargs):
    # a lock that is never released fails the test in seconds instead of hanging it
    return psycopg.connect(url, connect_timeout=10, options="-c lock_timeout=10s", **kwargs)


def make_calls_table(url: str, *rows: tuple[int, str]) -> None:
    with connect(url) as conn:
        conn.execute("CREATE TABLE calls (id int PRIMARY KEY, ticket text NOT NULL, window_no int)")
        for row in rows:
            conn.execute("INSERT INTO calls (id, ticket) VALUES (%s, %s)", row)


def tickets(url: str) -> list[str]:
    """What a connection opened now sees committed."""
    with connect(url) as conn:
        return [t for (t,) in conn.execute("SELECT ticket FROM calls ORDER BY id")]


def test_pg_url_is_an_empty_database_of_this_test_alone(pg_url):
    with connect(pg_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert name != "postgres" and "test_pg_url_is_an_empty_database" in name
    assert tables == 0


def test_fresh_databases_are_separate_and_dropped_after(pg_server):
    with pg_server.fresh_database("first") as first:
        make_calls_table(first, (1, "A001"))
        with pg_server.fresh_database("second") as second:
            assert second != first
            with connect(second) as conn:
                assert conn.execute("SELECT to_regclass('calls')").fetchone()[0] is None
        assert tickets(first) == ["A001"]
    names = {first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]}
    with connect(pg_server.url()) as admin:
        left = [n for (n,) in admin.execute("SELECT datname FROM pg_database") if n in names]
    assert left == [], "a fresh database outlived its test"


def test_a_commit_is_seen_by_others_and_a_rollback_leaves_nothing(pg_url):
    make_calls_table(pg_url)
    with connect(pg_url) as clerk:
        with clerk.transaction():
            clerk.execute("INSERT INTO calls (id, ticket) VALUES (1, 'A001')")
            assert tickets(pg_url) == [], "another connection saw an uncommitted row"
        assert tickets(pg_url) == ["A001"]

        with clerk.transaction(force_rollback=True):
            clerk.execute("INSERT INTO calls (id, ticket) VALUES (2, 'A002')")
            clerk.execute("UPDATE calls SET window_no = 2 WHERE id = 1")
        assert tickets(pg_url) == ["A001"]
        with connect(pg_url) as other:
            assert other.execute("SELECT window_no FROM calls WHERE id = 1").fetchone() == (None,)


def test_skip_locked_hands_the_second_caller_the_next_row(pg_url):
    make_calls_table(pg_url, (1, "A001"), (2, "A002"), (3, "A003"))
    next_waiting = "SELECT id FROM calls WHERE window_no IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with connect(pg_url) as window_1, connect(pg_url) as window_2:
        assert window_1.execute(next_waiting).fetchone() == (1,)
        assert window_2.execute(next_waiting).fetchone() == (2,)
        # row 1 really is held: without SKIP LOCKED the second window could not have it now
        with pytest.raises(errors.LockNotAvailable):
            window_2.execute("SELECT id FROM calls WHERE id = 1 FOR UPDATE NOWAIT")
        window_2.rollback()

        window_1.execute("UPDATE calls SET window_no = 1 WHERE id = 1")
        window_1.commit()
        # once committed, row 1 is no longer waiting: the next call finds row 2 again
        assert window_2.execute(next_waiting).fetchone() == (2,)
        window_2.rollback()


def test_notify_reaches_another_connection_when_its_transaction_commits(pg_url):
    with connect(pg_url, autocommit=True) as board, connect(pg_url) as counter:
        board.execute("LISTEN calls")
        counter_pid = counter.info.backend_pid
        counter.execute("NOTIFY calls, 'never: rolled back'")
        counter.rollback()
        counter.execute("NOTIFY calls, 'A001 to window 2'")
        assert list(board.notifies(timeout=0.3)) == [], "delivered before the commit"
        counter.commit()
        heard = list(board.notifies(timeout=10, stop_after=1))
    assert [(n.channel, n.payload, n.pid) for n in heard] == [("calls", "A001 to window 2", counter_pid)]


def test_a_restart_keeps_what_was_committed_and_breaks_open_connections(pg_server, pg_url):
    make_calls_table(pg_url, (1, "A001"))
    idle = connect(pg_url, autocommit=True)
    idle.execute("SELECT 1")
    midway = connect(pg_url)
    midway.execute("INSERT INTO calls (id, ticket) VALUES (2, 'A002')")  # never committed

    pg_server.restart()

    # what a reconnecting store must handle: psycopg reports the lost connection as an
    # OperationalError on the next statement, and the connection stays broken
    for conn in (idle, midway):
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        assert conn.broken
        conn.close()
    assert tickets(pg_url) == ["A001"]


def test_a_terminated_connection_rolls_its_transaction_back(pg_url):
    make_calls_table(pg_url, (1, "A001"))
    victim = connect(pg_url)
    victim.execute("UPDATE calls SET window_no = 3 WHERE id = 1")
    victim.execute("INSERT INTO calls (id, ticket) VALUES (2, 'A002')")
    with connect(pg_url, autocommit=True) as supervisor:
        # the timeout makes pg_terminate_backend wait until the backend has gone
        ended = supervisor.execute("SELECT pg_terminate_backend(%s, 10000)", [victim.info.backend_pid]).fetchone()
        assert ended == (True,)
        # the victim's row lock and its key 2 are free: a live transaction would hold both
        supervisor.execute("SET lock_timeout = '2s'")
        supervisor.execute("UPDATE calls SET window_no = 5 WHERE id = 1")
        supervisor.execute("INSERT INTO calls (id, ticket) VALUES (2, 'B001')")
        assert supervisor.execute("SELECT id, ticket, window_no FROM calls ORDER BY id").fetchall() == [
            (1, "A001", 5), (2, "B001", None)]
    with pytest.raises(psycopg.OperationalError):
        victim.execute("SELECT 1")
    assert victim.broken
    victim.close()


def test_the_log_shows_what_the_server_said_during_a_test(pg_server, pg_url):
    since = pg_server.log_size()
    with connect(pg_url) as conn, pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM no_such_table_here")
    assert 'relation "no_such_table_here" does not exist' in pg_server.log(since=since)


def status_of(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_the_server_runs_unprivileged_in_a_folder_of_its_own(pg_server):
    expected = pgserver.server_user()
    uid = expected.pw_uid if expected else os.getuid()
    folder = os.stat(pg_server.folder)
    assert (folder.st_uid, folder.st_mode & 0o777) == (uid, 0o700)
    real_uid = int(status_of(pg_server.postmaster_pid())["Uid"].split()[0])
    assert real_uid == uid != 0


def alive(pid: int) -> bool:
    # a zombie is dead: in a container, PID 1 may never reap the orphaned server
    return status_of(pid).get("State", "Z")[0] not in "ZX"


@pytest.mark.slow
def test_a_process_that_exits_without_stopping_takes_its_server_down(pg_bindir):
    code = ("import json, pgserver\n"
            "s = pgserver.PgServer().start()\n"
            "print(json.dumps({'pid': s.postmaster_pid(), 'folder': str(s.folder)}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=TESTS, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert not alive(started["pid"]), "the server outlived the interpreter that started it"
    assert not Path(started["folder"]).exists()
