"""The roles of README "A station of several PCs", tested: its SQL run as written on a real server
(tests/pgserver.py), the schema made by the owner, the grants `cabin store grants` prints (the
README's own copy of them included), then a window's operations as the clerk's role, the clerk
refused what it must not do, and the board's role refused every write."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from cabin.config import load_config
from cabin.kiosk.serverroles import CLERK_WRITES, grants_sql
from cabin.kiosk.station import open_station
from clikit import assert_refused, one_json, run_cli

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n## A station of several PCs\n", 1)[1].split("\n## ", 1)[0]
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", SECTION, re.S)
PW = "root-pass-123"
CITIZEN = "350206199001011239"  # a valid ID number


def statements(block: str) -> list[str]:
    return [s.strip() for s in block.split(";") if s.strip()]


@pytest.fixture
def roles(pg_server, request, tmp_path):
    """The README's roles and database, under names of this test's own (roles are the server's,
    not a database's); their URLs, the database dropped and the roles removed afterwards."""
    tag = f"r{abs(hash(request.node.name)) % 10**8}"
    names = {"cabin_owner": f"{tag}_owner", "cabin_clerk": f"{tag}_clerk", "cabin_board": f"{tag}_board"}

    def named(block: str) -> str:
        for old, new in names.items():
            block = re.sub(rf"\b{old}\b", new, block)
        return re.sub(r"\bDATABASE cabin\b", f"DATABASE {tag}_cabin", block)

    setup, in_database, _grants = SQL_BLOCKS
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        for statement in statements(named(setup)):
            admin.execute(statement)
    try:
        with psycopg.connect(pg_server.url(f"{tag}_cabin"), autocommit=True) as admin:
            for statement in statements(named(in_database)):
                admin.execute(statement)
        urls = {role: pg_server.url(f"{tag}_cabin").replace("postgres@", f"{name}@", 1)
                for role, name in (("owner", names["cabin_owner"]), ("clerk", names["cabin_clerk"]),
                                   ("board", names["cabin_board"]))}
        urls["names"] = names
        yield urls
    finally:
        with psycopg.connect(pg_server.url(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(f"{tag}_cabin")))
            for name in names.values():
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def station(roles, env):
    """The schema made by the owner, then the grants as `cabin store grants` prints them."""
    assert run_cli(["--db", roles["owner"], "init"], env=env).code == 0
    printed = run_cli(["store", "grants", "--clerk", roles["names"]["cabin_clerk"],
                       "--board", roles["names"]["cabin_board"]], env=env)
    assert printed.code == 0, printed
    with psycopg.connect(roles["owner"], autocommit=True) as owner:
        for statement in statements(printed.out):
            owner.execute(statement)
    return roles


def test_the_readme_shows_the_grants_cabin_prints():
    assert len(SQL_BLOCKS) == 3
    assert SQL_BLOCKS[2] == grants_sql()


def test_every_table_of_the_schema_has_its_clerk_privileges(station):
    with psycopg.connect(station["owner"]) as owner:
        found = {r[0] for r in owner.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert found == set(CLERK_WRITES)


def test_a_window_works_as_the_clerk_role(station, env):
    clerk = station["clerk"]

    def ok(*argv, stdin: str = ""):
        r = run_cli(["--db", clerk, *argv], env=env, stdin=stdin)
        assert r.code == 0, r
        return r

    ok("user", "add", "boss", "--role", "admin", stdin=f"{PW}\n{PW}\n")
    ok("user", "add", "li", "--role", "clerk", "--as", "boss", stdin=f"{PW}\nli-pass-1234\nli-pass-1234\n")
    ok("window", "open", "2")
    issued = one_json(ok("ticket", "issue", "id.apply", "id.loss_report", "--json"))
    assert issued["ticket"] == "A001"
    ok("call", "--window", "2")
    ok("start", "--window", "2")
    ok("complete", "--window", "2")  # the second errand continues at window 2
    ok("complete", "--window", "2")
    assert one_json(ok("audit", "verify", "--json"))["ok"] is True
    doctor = one_json(ok("doctor", "--json"))
    assert doctor["access"] == "read-write" and all(c["ok"] for c in doctor["checks"].values()), doctor
    shown = one_json(ok("ticket", "show", "1", "--json"))
    assert [e["state"] for e in shown["errands"]] == ["done", "done"]
    receipt = one_json(ok("loss", "report", CITIZEN, "--as", "li", "--json", stdin="li-pass-1234\n"))["receipt"]
    assert receipt.startswith("GS-")
    assert one_json(ok("audit", "verify", "--json"))["ok"] is True  # the loss report's entry chained on


def test_the_clerk_role_may_not_change_the_schema_nor_rewrite_the_audit_log(station, env):
    assert run_cli(["--db", station["clerk"], "user", "add", "boss", "--role", "admin"], env=env,
                   stdin=f"{PW}\n{PW}\n").code == 0
    refused = {
        "CREATE TABLE notes (a int)": errors.InsufficientPrivilege,
        "DROP TABLE tickets": errors.InsufficientPrivilege,
        "ALTER TABLE audit DISABLE TRIGGER audit_no_delete": errors.InsufficientPrivilege,
        "DELETE FROM audit": errors.InsufficientPrivilege,
        "UPDATE audit SET actor = 'someone'": errors.InsufficientPrivilege,
        "TRUNCATE audit": errors.InsufficientPrivilege,
        "DELETE FROM events": errors.InsufficientPrivilege,
        "UPDATE events SET kind = 'x'": errors.InsufficientPrivilege,
        "DELETE FROM tickets": errors.InsufficientPrivilege,
    }
    with psycopg.connect(station["clerk"], autocommit=True) as clerk:
        for statement, error in refused.items():
            with pytest.raises(error):
                clerk.execute(statement)
        assert clerk.execute("SELECT count(*) FROM audit").fetchone()[0] == 1


def test_the_board_role_reads_the_queue_and_writes_nothing(station, env):
    clerk, board = station["clerk"], station["board"]
    assert run_cli(["--db", clerk, "window", "open", "1"], env=env).code == 0
    assert run_cli(["--db", clerk, "ticket", "issue", "id.apply"], env=env).code == 0  # makes the secret
    assert run_cli(["--db", clerk, "call", "--window", "1"], env=env).code == 0
    station_ = open_station(board, config=load_config())  # what the board face reads through
    try:
        state = station_.queue_state().as_dict()
        assert [w["current"]["ticket"] for w in state["windows"] if w["window"] == 1] == ["A001"]
    finally:
        station_.store.close()
    queue = run_cli(["--db", board, "queue", "--json"], env=env)
    assert queue.code == 0, queue
    doctor = run_cli(["--db", board, "doctor", "--json"], env=env)
    assert doctor.code == 0, doctor  # the board PC's doctor finds nothing wrong
    assert one_json(doctor)["access"] == "read-only"
    for argv in (["ticket", "issue", "id.apply"], ["window", "open", "2"], ["start", "--window", "1"]):
        assert_refused(run_cli(["--db", board, *argv], env=env), "refuses this change to this account")
    with psycopg.connect(board, autocommit=True) as conn:
        for statement in ("INSERT INTO meta (key, value) VALUES ('x', 'y')", "UPDATE windows SET state = 'closed'",
                          "DELETE FROM requests", "SELECT count(*) FROM accounts", "SELECT count(*) FROM audit",
                          "SELECT count(*) FROM temp_cards", "CREATE TABLE notes (a int)"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
        # the station secret's row of meta is hidden from the board; the clerk's PCs read it
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'station_secret'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'day'").fetchone()[0] == 1
    with psycopg.connect(clerk) as conn:
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'station_secret'").fetchone()[0] == 1


def test_a_ticket_issued_at_one_pc_is_read_at_another(station, tmp_path):
    """Two PCs: two data dirs, one database. The code the dispenser's ticket carries is checked
    with the secret both read from the server."""
    dispenser, window = tmp_path / "dispenser", tmp_path / "window"
    for folder in (dispenser, window):
        folder.mkdir(mode=0o700)
    issued = run_cli(["--db", station["clerk"], "ticket", "issue", "id.apply", "--json"],
                     env={"XDG_DATA_HOME": str(dispenser)})
    assert issued.code == 0, issued
    token = one_json(issued)["token"]
    read = run_cli(["--db", station["clerk"], "ticket", "verify", token, "--json"], env={"XDG_DATA_HOME": str(window)})
    assert read.code == 0, read
    assert one_json(read)["ticket"] == "A001"
    assert not list(dispenser.rglob("station.secret")) and not list(window.rglob("station.secret"))


def test_doctor_names_a_privilege_the_clerk_role_lacks(station, env):
    with psycopg.connect(station["owner"], autocommit=True) as owner:
        owner.execute(sql.SQL("REVOKE INSERT ON audit FROM {}").format(sql.Identifier(station["names"]["cabin_clerk"])))
    r = run_cli(["--db", station["clerk"], "doctor", "--json"], env=env)
    assert_refused(r, "privileges", "INSERT on audit", quiet_stdout=False)
    report = one_json(r)
    assert report["access"] == "insufficient" and report["checks"]["privileges"]["ok"] is False


def test_a_clerk_pc_before_the_owner_made_the_station_is_told_to_run_init_as_the_owner(roles, env):
    """A window PC started before the owner ran `cabin init` (or after an upgrade, before the
    owner's): not the server's "permission denied for schema public", but what to do."""
    refused = run_cli(["--db", roles["clerk"], "queue"], env=env)
    assert_refused(refused, "holds no station yet, or one made by an older Cabin")
    assert "cabin init" in refused.err and "owner" in refused.err and "permission denied" not in refused.err


def test_appointments_are_imported_and_checked_in_as_the_clerk_role(station, env, tmp_path):
    import json
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0) - timedelta(minutes=5)
    booking = tmp_path / "day.json"
    booking.write_text(json.dumps([{"code": "YY-1", "services": ["id.apply"], "phone_last4": "1234",
                                    "slot_start": start.strftime("%Y-%m-%d %H:%M"),
                                    "slot_end": (start + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")}]))
    clerk = station["clerk"]
    r = run_cli(["--db", clerk, "appointment", "import", booking, "--json"], env=env)
    assert r.code == 0 and one_json(r)["imported"] == 1, r
    r = run_cli(["--db", clerk, "appointment", "checkin", "YY-1", "--json"], env=env)
    assert r.code == 0 and one_json(r)["ticket"] == "A001", r
    assert one_json(run_cli(["--db", clerk, "appointment", "show", "YY-1", "--json"], env=env))["state"] == "checked_in"
