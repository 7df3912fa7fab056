"""The PostgreSQL store's connection layer (queue/pgstore.py) against a real server (pg_url):
sqlite3's SQL run unchanged, transactions whole or not at all, serialization retries, a restarted
server, a killed connection, NOTIFY's latency, and no password in any message."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from cabin.queue.errors import StoreError, Unreachable
from cabin.queue.migrations import migrations as queue_migrations

pgstore = pytest.importorskip("cabin.queue.pgstore", reason="psycopg not installed (pip install 'cabin[postgres]')")
PgStore = pgstore.PgStore

# printed by -s and kept in the report: the goal is a board lag of <= 100 ms (median)
MEASURED: dict[str, object] = {}


@pytest.fixture
def store(pg_url):
    with PgStore(pg_url) as s:
        with s.write() as conn:
            conn.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)")
            conn.execute("INSERT INTO counter VALUES (1, 0)")
            conn.execute("CREATE TABLE notes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, text TEXT)")
        yield s


def notes(store) -> list[str]:
    with store.read() as conn:
        return [r["text"] for r in conn.execute("SELECT text FROM notes ORDER BY id")]


def test_open_applies_the_queue_migrations_and_says_their_versions(pg_url):
    with PgStore(pg_url) as s:
        assert s.migration_sets == (queue_migrations,)
        assert s.schema_versions() == {"cabin.queue": queue_migrations.names[-1]}
        with s.read() as conn:
            assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 0
    with PgStore(pg_url) as again:  # a second open finds everything applied
        assert again.schema_versions() == {"cabin.queue": queue_migrations.names[-1]}


def test_question_marks_are_placeholders_outside_literals_and_percent_is_literal(store):
    with store.write() as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?), ('what? 100%'), (?)", ["a?b", "50%"])
    assert notes(store) == ["a?b", "what? 100%", "50%"]
    with store.read() as conn:
        row = conn.execute("SELECT count(*) AS n, '?' AS mark, ? AS given, 7 % ? AS rest FROM notes"
                           " WHERE text LIKE '%?%' OR text = ?", ["x", 4, "50%"]).fetchone()
    assert (row[0], row[1], row[2]) == (3, "?", "x")  # 'what? 100%' and 'a?b' (LIKE), '50%' (=)
    assert (row["n"], row["mark"], row["GIVEN"]) == (3, "?", "x")
    assert row.keys() == ["n", "mark", "given", "rest"]
    assert list(row) == [3, "?", "x", 3] and len(row) == 4
    with pytest.raises(IndexError):
        row["missing"]


def test_rows_iterate_and_fetch_as_sqlite3_rows_do(store):
    with store.write() as conn:
        conn.executemany("INSERT INTO notes (text) VALUES (?)", [["one"], ["two"]])
    with store.read() as conn:
        cur = conn.execute("SELECT id, text FROM notes ORDER BY id")
        first = cur.fetchone()
        rest = cur.fetchall()
    assert first["text"] == "one" and first[1] == "one"
    assert [r["text"] for r in rest] == ["two"]
    with store.write() as conn:
        new_id = conn.execute("INSERT INTO notes (text) VALUES (?) RETURNING id", ["three"]).fetchone()["id"]
        assert not hasattr(conn.execute("SELECT 1"), "lastrowid")  # not faked: RETURNING id is the way
    assert new_id == rest[-1]["id"] + 1


def test_a_write_commits_whole_and_an_exception_rolls_it_all_back(store):
    with store.write() as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?)", ["kept"])
    with pytest.raises(RuntimeError, match="clerk gave up"):
        with store.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", ["half"])
            conn.execute("UPDATE counter SET value = 99")
            raise RuntimeError("clerk gave up")
    assert notes(store) == ["kept"]
    with store.read() as conn:
        assert conn.execute("SELECT value FROM counter").fetchone()[0] == 0


def test_an_sql_error_is_a_store_error_and_the_store_goes_on(store):
    with pytest.raises(StoreError, match="database error in postgresql://"):
        with store.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", ["lost"])
            conn.execute("INSERT INTO nowhere VALUES (1)")
    with store.write() as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?)", ["after"])
    assert notes(store) == ["after"]


def test_a_read_is_a_read_only_snapshot(store, pg_url):
    with PgStore(pg_url) as other:
        with store.read() as conn:
            before = conn.execute("SELECT value FROM counter").fetchone()[0]
            with other.write() as w:
                w.execute("UPDATE counter SET value = value + 5")
            assert conn.execute("SELECT value FROM counter").fetchone()[0] == before  # the snapshot holds
        with pytest.raises(StoreError, match="refuses this change"):
            with store.read() as conn:
                conn.execute("UPDATE counter SET value = 0")
    with store.read() as conn:
        assert conn.execute("SELECT value FROM counter").fetchone()[0] == before + 5


def test_two_threads_incrementing_through_transaction_end_at_the_exact_total(store, pg_url):
    per_thread = 100
    forced = threading.Barrier(2, timeout=10)

    def run():
        with PgStore(pg_url) as mine:
            first = [True]

            def increment(conn):
                value = conn.execute("SELECT value FROM counter WHERE id = 1").fetchone()["value"]
                if first[0]:  # both read the same value once, then both write: one must be retried
                    first[0] = False
                    forced.wait()
                conn.execute("UPDATE counter SET value = ? WHERE id = 1", [value + 1])

            for _ in range(per_thread):
                mine.transaction(increment, retries=100)
            retries.append(mine.serialization_retries)

    retries: list[int] = []
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with store.read() as conn:
        assert conn.execute("SELECT value FROM counter").fetchone()[0] == 2 * per_thread
    assert len(retries) == 2 and sum(retries) >= 1
    MEASURED["serialization retries (2 threads x 100 increments)"] = retries


def test_retries_give_up_with_plain_words(store, pg_url):
    with PgStore(pg_url) as other:
        def conflicting(conn):
            conn.execute("SELECT value FROM counter").fetchone()
            other.transaction(lambda c: c.execute("UPDATE counter SET value = value + 1"))
            conn.execute("UPDATE counter SET value = value + 100")

        with pytest.raises(StoreError, match="changed by another window at the same moment: nothing was written"):
            store.transaction(conflicting, retries=2)
    assert store.serialization_retries == 2
    with store.read() as conn:
        assert conn.execute("SELECT value FROM counter").fetchone()[0] == 3  # each of the 3 runs' other write


def test_a_restarted_server_loses_nothing_and_the_store_reconnects(store, pg_server):
    with store.write() as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?)", ["before restart"])
    pg_server.restart()
    try:
        with store.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", ["after restart"])
        expected = ["before restart", "after restart"]
    except StoreError as e:
        assert "the database server cannot be reached" in str(e)
        expected = ["before restart"]
    with store.write() as conn:  # the next use connects again, whichever way the first went
        conn.execute("INSERT INTO notes (text) VALUES (?)", ["later"])
    assert notes(store) == [*expected, "later"]


def test_a_connection_killed_mid_transaction_writes_nothing(store, pg_url):
    with PgStore(pg_url) as admin:
        with pytest.raises(StoreError, match="the database server cannot be reached .*try again"):
            with store.write() as conn:
                conn.execute("INSERT INTO notes (text) VALUES (?)", ["half-written"])
                pid = conn.raw.info.backend_pid
                with admin.write() as a:
                    assert a.execute("SELECT pg_terminate_backend(?)", [pid]).fetchone()[0] is True
                conn.execute("UPDATE counter SET value = 1")
    assert notes(store) == []  # and the store connected again to say so
    with store.read() as conn:
        assert conn.execute("SELECT value FROM counter").fetchone()[0] == 0


def test_another_stores_commit_wakes_wait_for_change_quickly(store, pg_url):
    rounds = 20
    with PgStore(pg_url) as board:
        board.listen()
        with pytest.raises(RuntimeError):
            with store.write() as conn:
                conn.notify_changed()
                raise RuntimeError("rolled back: nobody is told")
        assert board.wait_for_change(0.3) is False
        latencies = []
        for i in range(rounds):
            woke = []
            waiter = threading.Thread(target=lambda: woke.append((board.wait_for_change(5), time.monotonic())))
            waiter.start()
            time.sleep(0.02)  # the waiter is waiting
            began = time.monotonic()
            with store.write() as conn:
                conn.execute("INSERT INTO notes (text) VALUES (?)", [f"call {i}"])
                conn.notify_changed()
                conn.notify_changed()  # one wake-up for the transaction, not two
            waiter.join(10)
            assert woke and woke[0][0] is True
            latencies.append(woke[0][1] - began)
        assert board.wait_for_change(0.2) is False  # nothing left over
    median = statistics.median(latencies)
    MEASURED["NOTIFY latency, write begun -> listener awake (median, max over 20), ms"] = (
        round(median * 1000, 2), round(max(latencies) * 1000, 2))
    assert median <= 0.1


def test_changes_yields_per_commit_and_ends_after_quiet(store, pg_url):
    with PgStore(pg_url) as board:
        board.listen()
        with store.write() as conn:
            conn.notify_changed()
        assert list(board.changes(timeout=0.3)) == [None]


def test_the_password_is_never_in_a_message(pg_server):
    from pgserver import free_port  # a port nothing listens on

    url = f"postgresql://clerk:Sup3rSecretPw@127.0.0.1:{free_port()}/station?connect_timeout=3"
    with pytest.raises(StoreError) as raised:
        PgStore(url)
    said = str(raised.value)
    assert "Sup3rSecretPw" not in said and "Sup3rSecretPw" not in repr(raised.value.said.values)
    assert "the database server cannot be reached (postgresql://clerk@127.0.0.1:" in said
    keywords = f"host=127.0.0.1 port={free_port()} user=clerk password=Sup3rSecretPw dbname=station"
    with pytest.raises(StoreError) as raised:
        PgStore(keywords, connect_timeout=3)
    assert "Sup3rSecretPw" not in str(raised.value) and "user=clerk" in str(raised.value)


def test_a_refusal_at_connect_says_what_to_fix_not_that_the_server_is_away(pg_server, pg_url):
    """libpq gives these as text only: a database that is not there, a wrong password, an account
    the server's pg_hba.conf keeps out. None is the network's fault, none is "cannot be reached"
    (which the faces show as offline, reconnecting for ever)."""
    from pgserver import PASSWORD_ROLE, REJECTED_ROLE

    with PgStore(pg_url) as owner, owner.write() as conn:
        conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'the-right-one'")
        conn.execute(f"CREATE ROLE {REJECTED_ROLE} LOGIN")
    try:
        refusals_at_connect(pg_url, PASSWORD_ROLE, REJECTED_ROLE)
    finally:  # roles are the server's, not the test's database's: none is left for the next test
        with PgStore(pg_url) as owner, owner.write() as conn:
            conn.execute(f"DROP ROLE {PASSWORD_ROLE}")
            conn.execute(f"DROP ROLE {REJECTED_ROLE}")


def refusals_at_connect(pg_url: str, password_role: str, rejected_role: str) -> None:
    base = pg_url.rsplit("/", 1)[0]
    host = base.split("@", 1)[1]

    def refusal(url: str) -> StoreError:
        with pytest.raises(StoreError) as raised:
            PgStore(url)
        assert not isinstance(raised.value, Unreachable), str(raised.value)
        return raised.value

    said = str(refusal(f"{base}/no_such_station"))
    assert said.startswith("the database server has no database no_such_station (postgresql://postgres@")
    said = str(refusal(f"postgresql://{password_role}:the-wrong-one@{host}/postgres"))
    assert said == f"the database server refused the password or account for postgresql://{password_role}@{host}/postgres"
    assert "the-wrong-one" not in said
    said = str(refusal(f"postgresql://{rejected_role}@{host}/postgres"))
    assert said.startswith("the database server does not let this account in from this PC")
    try:
        with PgStore(f"postgresql://{password_role}:the-right-one@{host}/postgres") as signed_in, signed_in.read() as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == password_role  # the right one gets in
    except StoreError as exc:  # in, then its own rights: enough that it was not refused at connect
        assert "refused the password" not in str(exc), str(exc)
    with pytest.raises(Unreachable):  # and a server that is not there is still "cannot be reached"
        from pgserver import free_port
        PgStore(f"postgresql://postgres@127.0.0.1:{free_port()}/x?connect_timeout=3")


def test_placeholder_conversion_leaves_quoted_text_and_comments_alone():
    convert = pgstore.to_psycopg
    assert convert("SELECT ? FROM t WHERE a = ?") == "SELECT %s FROM t WHERE a = %s"
    assert convert("SELECT 'it''s ?', \"we\"\"ird?\" -- why?\n, ?") == "SELECT 'it''s ?', \"we\"\"ird?\" -- why?\n, %s"
    assert convert("SELECT '5%' /* 1%? */ , 5 % ?") == "SELECT '5%%' /* 1%%? */ , 5 %% %s"


def test_shown_url_drops_the_password_only():
    shown = pgstore.shown_url
    assert shown("postgresql://clerk:pw@db:5432/station?sslmode=require&password=pw") == \
        "postgresql://clerk@db:5432/station?sslmode=require"
    assert shown("postgresql://db/station") == "postgresql://db/station"
    assert "pw" not in shown("host=db password=pw dbname=station")


def teardown_module():
    for what, value in MEASURED.items():
        print(f"\n{what}: {value}")
