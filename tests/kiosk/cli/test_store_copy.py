"""`cabin store copy`: a station's whole history moved from an SQLite file to a PostgreSQL server
and back, against a real server (tests/pgserver.py): every row with its ids, the ids handed out
next, the audit chain, the day's export; an occupied target refused; a copy killed midway leaves
the target as it was."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from datetime import datetime

import psycopg
import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.business.lostfound import LostFound
from cabin.kiosk.station import open_store
from cabin.queue.clock import ManualClock, to_ms
from cabin.queue.engine import Station
from cabin.queue.simulate import simulate_day
from clikit import CABIN, assert_refused, one_json, run_cli

DAY = "2026-11-23"
PW = "counter-pass-1"


def station_with_history(db, config, citizens: int = 40):
    """A simulated day of the queue, then the counter's records and audit entries on it."""
    store = open_store(db)
    try:
        simulate_day(store, config, DAY, citizens, seed=3)
        tz = config.station.tz
        clock = ManualClock(tz, datetime(2026, 11, 23, 18, 0, tzinfo=tz))
        accounts = Accounts(store, clock)
        accounts.add("root", "admin", PW)
        root = accounts.authenticate("root", PW)
        accounts.add("li", "clerk", PW, by=root)
        li = accounts.authenticate("li", PW)
        Applications(store, config, clock).accept("350206199001011239", "renewal", by=li)
        lostfound = LostFound(store, config, clock)
        lostfound.report_loss("350206198512314560", by=li)
        found = lostfound.register_found("440524188001010014", finder="张三丰", phone="13812345678",
                                         place="厦门市湖里区仙岳路88号", found_on="2026-11-22", by=li)
        lostfound.handover(found.id, number="440524188001010014", by=li)
        with store.write() as conn:
            audit.record(conn, "li", "tempcard.print", "LS-20261123-0001", {"reprint": False},
                         at=to_ms(datetime(2026, 11, 23, 18, 5, tzinfo=tz)))
        # a window serving someone: windows and requests name each other
        window = Station(store, config, clock, clerk="li")
        window.set_window(2, "open")
        window.issue(["id.apply"])
        window.call_next(2)
    finally:
        store.close()


def sqlite_rows(db) -> dict[str, list]:
    """Every table's rows, by key, and sqlite_sequence: what a copy must keep."""
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT IN ('_sqlite_migrations') ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in names}
    finally:
        conn.close()


def alter_audit_entry(db, entry: int) -> None:
    """What someone with the file and the sqlite3 shell can do: the chain then breaks there."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET actor = 'nobody' WHERE id = ?", (entry,))
    conn.commit()
    conn.close()


@pytest.fixture
def source(tmp_path, config):
    db = tmp_path / "station.sqlite"
    station_with_history(db, config)
    return db


def test_a_station_moves_to_a_server_and_back_whole(source, pg_url, tmp_path, env):
    before = sqlite_rows(source)
    r = run_cli(["--db", source, "store", "copy", "--to", pg_url, "--json"], env=env)
    assert r.code == 0, r
    report = one_json(r)
    assert report["copied"] == {t: len(rows) for t, rows in before.items() if t != "sqlite_sequence"}
    assert report["copied"]["events"] > 100 and report["copied"]["audit"] >= 6
    assert report["day"] == DAY and f"350206001_{DAY}.json" in report["export_files"]
    assert report["audit"]["entries"] == len(before["audit"])
    assert any(w[3] is not None for w in before["windows"])  # current_request_id: a cycle the copy breaks
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == len(before["events"])
        assert conn.execute("SELECT max(id) FROM tickets").fetchone()[0] == before["tickets"][-1][0]
    back = tmp_path / "back.sqlite"
    r = run_cli(["store", "copy", "--from", pg_url, "--to", back], env=env)
    assert r.code == 0, r
    assert "identical" in r.out
    after = sqlite_rows(back)
    # the server kept the audit log's last id in meta (kiosk/business/audit.py): one more row there
    assert [row for row in after.pop("meta") if row[0] != "audit_last_id"] == before.pop("meta")
    assert after == before  # every other table row for row, ids and all, and sqlite_sequence


def test_after_the_copy_the_server_hands_out_the_next_ids(source, pg_url, env):
    ids = sqlite_rows(source)
    assert run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env).code == 0
    with psycopg.connect(pg_url) as conn:  # every identity's next value is past the table's ids
        for table, sequence in conn.execute(
                "SELECT table_name, pg_get_serial_sequence(table_name, column_name) FROM information_schema.columns"
                " WHERE table_schema = 'public' AND is_identity = 'YES'").fetchall():
            top = conn.execute(f'SELECT max(id) FROM "{table}"').fetchone()[0]
            last = conn.execute("SELECT pg_sequence_last_value(%s)", [sequence]).fetchone()[0]
            assert top is None or (last is not None and last >= top), (table, top, last)
    issued = run_cli(["--db", pg_url, "ticket", "issue", "id.apply", "--json"], env=env)
    assert issued.code == 0, issued
    assert one_json(issued)["ticket_id"] == ids["tickets"][-1][0] + 1
    added = run_cli(["--db", pg_url, "user", "add", "wang", "--role", "clerk", "--as", "root"], env=env,
                    stdin=f"{PW}\nwang-pass-12\nwang-pass-12\n")
    assert added.code == 0, added
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT max(id) FROM accounts").fetchone()[0] == ids["accounts"][-1][0] + 1
        assert conn.execute("SELECT max(id) FROM audit").fetchone()[0] > ids["audit"][-1][0]
    verified = run_cli(["--db", pg_url, "audit", "verify", "--json"], env=env)
    assert verified.code == 0 and one_json(verified)["ok"] is True, verified


def test_a_database_holding_a_station_is_refused_and_left_as_it_was(source, pg_url, env, tmp_path):
    assert run_cli(["--db", pg_url, "ticket", "issue", "id.apply"], env=env).code == 0

    def held():
        with psycopg.connect(pg_url) as conn:
            return [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("tickets", "events", "meta")]

    before = held()
    r = run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env)
    assert_refused(r, "holds a station already", "tickets")
    assert held() == before and before[0] == 1
    other = tmp_path / "other.sqlite"
    assert run_cli(["--db", other, "ticket", "issue", "id.apply"], env=env).code == 0
    assert_refused(run_cli(["store", "copy", "--from", pg_url, "--to", other], env=env), "holds a station already")


def test_a_broken_audit_log_is_not_moved(source, pg_url, env):
    alter_audit_entry(source, 2)
    r = run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env)
    assert_refused(r, "audit log is broken at entry 2", "nothing was copied")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def kill_copy_midway(argv: list[str], env: dict, writing) -> None:
    """`cabin ARGV` as a process of its own, killed (SIGKILL) as soon as `writing()` says its
    transaction is putting rows in; refused if the copy ends first."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    child_env.update(env)
    copying = subprocess.Popen([*CABIN, *map(str, argv)], env=child_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and copying.poll() is None and not writing():
            time.sleep(0.002)
        assert copying.poll() is None, "the copy ended before it could be killed: make the station bigger"
        copying.send_signal(signal.SIGKILL)
        copying.wait(timeout=30)
    finally:
        if copying.poll() is None:
            copying.kill()
            copying.wait()


def test_a_copy_killed_midway_leaves_the_server_as_it_was(tmp_path, config, pg_url, env):
    big = tmp_path / "big.sqlite"
    station_with_history(big, config, citizens=1500)
    with psycopg.connect(pg_url, autocommit=True) as watch:
        # the copy's transaction has written rows: an INSERT of it is running
        kill_copy_midway(["--db", big, "store", "copy", "--to", pg_url], env, lambda: watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query LIKE 'INSERT INTO \"events\"%'").fetchone()[0])
        # the server ends the dead client's transaction: nothing of it stays
        deadline = time.monotonic() + 30
        while watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed copy's session is still there"
            time.sleep(0.05)
        for table in ("meta", "tickets", "requests", "events", "windows", "accounts", "audit"):
            assert watch.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0, table
    # and the copy, run again whole, goes through
    r = run_cli(["--db", big, "store", "copy", "--to", pg_url], env=env)
    assert r.code == 0, r


def test_store_grants_prints_the_sql_of_the_roles(env):
    r = run_cli(["store", "grants", "--clerk", "window_pcs", "--board", "tv"], env=env)
    assert r.code == 0, r
    assert "GRANT INSERT ON" in r.out and "TO window_pcs;" in r.out
    assert "DELETE ON audit" not in r.out and "UPDATE ON audit" not in r.out


def test_a_failed_copy_into_a_new_file_leaves_no_file(source, pg_url, tmp_path, env):
    alter_audit_entry(source, 2)
    target = tmp_path / "new.sqlite"
    assert_refused(run_cli(["store", "copy", "--from", source, "--to", target], env=env), "audit log is broken")
    assert not list(tmp_path.glob("*new.sqlite*"))  # nor the hidden file it was made in


def test_a_copy_into_a_new_file_killed_midway_leaves_no_station_there(tmp_path, config, env):
    big = tmp_path / "big.sqlite"
    station_with_history(big, config, citizens=3000)
    target = tmp_path / "new.sqlite"

    def writing() -> bool:  # rows going in: the hidden file's write-ahead log has grown past its first pages
        try:
            return any(p.stat().st_size > 1 << 20 for p in tmp_path.glob(".new.sqlite.copy-*-wal"))
        except FileNotFoundError:  # removed between the listing and the look
            return False

    kill_copy_midway(["store", "copy", "--from", big, "--to", target], env, writing)
    assert not target.exists()
    assert run_cli(["store", "copy", "--from", big, "--to", target], env=env).code == 0  # again, whole
    assert sqlite_rows(target) == sqlite_rows(big)


def test_the_tickets_signed_on_one_pc_are_read_on_the_server_after_the_move(source, pg_url, tmp_path, env):
    issued = run_cli(["--db", source, "ticket", "issue", "id.apply", "--json"], env=env)
    assert issued.code == 0, issued
    token = one_json(issued)["token"]
    assert run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env).code == 0
    window_pc = tmp_path / "window-pc"
    window_pc.mkdir(mode=0o700)
    read = run_cli(["--db", pg_url, "ticket", "verify", token, "--json"], env={"XDG_DATA_HOME": str(window_pc)})
    assert read.code == 0, read
    assert one_json(read)["ticket_id"] == one_json(issued)["ticket_id"]


def test_entries_removed_from_the_end_of_the_copied_log_still_show(source, pg_url, env):
    """The server keeps the audit log's last id in meta (kiosk/business/audit.py): the copy
    writes it, so entries deleted from the end on the server are found by `cabin audit verify`
    (and --day names a day to compare, here one without tickets)."""
    assert run_cli(["--db", source, "store", "copy", "--to", pg_url, "--day", "2026-11-22"], env=env).code == 0
    with psycopg.connect(pg_url, autocommit=True) as admin:  # the superuser, around the trigger
        admin.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_delete")
        admin.execute("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)")
        admin.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_delete")
    r = run_cli(["--db", pg_url, "audit", "verify"], env=env)
    assert_refused(r, "removed from the end", quiet_stdout=False)


def test_the_tickets_the_server_signed_are_read_on_the_pc_the_station_moves_back_to(source, pg_url, tmp_path, env):
    """A station on a server, then back in a file on a PC: the tickets issued on the server
    (signed with the server's secret) are still read there. A PC that already has another
    secret is refused before anything is copied, its secret left as it was."""
    assert run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env).code == 0
    window_pc = {"XDG_DATA_HOME": str(tmp_path / "window-pc")}
    (tmp_path / "window-pc").mkdir(mode=0o700)
    issued = run_cli(["--db", pg_url, "ticket", "issue", "id.apply", "--json"], env=window_pc)
    assert issued.code == 0, issued
    token = one_json(issued)["token"]

    other_pc = {"XDG_DATA_HOME": str(tmp_path / "other-pc")}
    (tmp_path / "other-pc").mkdir(mode=0o700)
    assert run_cli(["--db", tmp_path / "own.sqlite", "ticket", "issue", "id.apply"], env=other_pc).code == 0
    own_secret = secret_of(other_pc)  # made by its first ticket
    refused = run_cli(["store", "copy", "--from", pg_url, "--to", tmp_path / "refused.sqlite"], env=other_pc)
    assert refused.code != 0 and "this PC already has another station secret" in refused.err, refused
    assert not (tmp_path / "refused.sqlite").exists()

    back_pc = {"XDG_DATA_HOME": str(tmp_path / "back-pc")}
    (tmp_path / "back-pc").mkdir(mode=0o700)
    back = tmp_path / "back.sqlite"
    assert run_cli(["store", "copy", "--from", pg_url, "--to", back], env=back_pc).code == 0
    read = run_cli(["--db", back, "ticket", "verify", token, "--json"], env=back_pc)
    assert read.code == 0, read
    assert one_json(read)["ticket_id"] == one_json(issued)["ticket_id"]
    again = run_cli(["store", "copy", "--from", pg_url, "--to", tmp_path / "again.sqlite"], env=back_pc)
    assert again.code == 0, again  # the same secret already here: nothing to refuse
    assert secret_of(other_pc) == own_secret


def secret_of(env: dict) -> bytes:
    from cabin.kiosk import paths

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
        return paths.secret_file().read_bytes()


def test_a_damaged_secret_on_the_server_is_said_and_not_carried(source, pg_url, tmp_path, env):
    assert run_cli(["--db", source, "store", "copy", "--to", pg_url], env=env).code == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('station_secret', 'c0ffee')"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    pc = {"XDG_DATA_HOME": str(tmp_path / "pc")}
    (tmp_path / "pc").mkdir(mode=0o700)
    issued = run_cli(["--db", pg_url, "ticket", "issue", "id.apply"], env=pc)
    assert issued.code != 0 and "the station secret in the database" in issued.err and "is damaged" in issued.err
    back = run_cli(["store", "copy", "--from", pg_url, "--to", tmp_path / "back.sqlite"], env=pc)
    assert back.code != 0 and "the station secret on the server is damaged" in back.err, back
    assert not (tmp_path / "back.sqlite").exists() and not secret_exists(pc)


def secret_exists(env: dict) -> bool:
    from cabin.kiosk import paths

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
        return paths.secret_file().exists()
