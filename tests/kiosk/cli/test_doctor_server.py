"""`cabin doctor`, `init`, `backup` and `restore` on a station whose database is on a PostgreSQL
server (a real one: tests/pgserver.py), in this process through the CLI's main."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from cabin.queue.migrations import migrations as queue_migrations
from cabin.kiosk.business.migrations import migrations as kiosk_migrations
from clikit import assert_refused, one_json, run_cli


def with_password(url: str, password: str) -> str:
    """The test server trusts its clients: a password in the URL is sent, and ignored."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")


def test_doctor_on_a_server_reports_backend_version_schema_and_checks(pg_url, env):
    url = with_password(pg_url, "hunter2-secret")
    assert run_cli(["--db", url, "window", "open", "1"], env=env).code == 0
    r = run_cli(["--db", url, "doctor", "--json"], env=env)
    assert r.code == 0 and r.err == "", r
    report = one_json(r)
    assert "hunter2-secret" not in r.out
    assert report["database"] == pg_url  # the URL without its password
    assert report["backend"] == "PostgreSQL"
    assert report["server_version"].split(".")[0].isdigit()
    assert report["schema_versions"] == {"cabin.queue": queue_migrations.names[-1],
                                         "cabin.kiosk": kiosk_migrations.names[-1]}
    assert report["access"] == "read-write"
    assert {name: c["ok"] for name, c in report["checks"].items()} == {
        "reachable": True, "version": True, "schema": True, "privileges": True, "audit_chain": True}
    text = run_cli(["--db", url, "doctor"], env=env)
    assert text.code == 0, text
    assert "PostgreSQL" in text.out and "check audit_chain" in text.out and "hunter2-secret" not in text.out


def test_doctor_names_a_server_it_cannot_reach_without_the_password(env):
    url = "postgresql://cabin:hunter2-secret@127.0.0.1:1/cabin?connect_timeout=2"
    r = run_cli(["--db", url, "doctor", "--json"], env=env)
    assert_refused(r, "cannot be reached", quiet_stdout=False)
    report = one_json(r)
    assert report["ok"] is False and report["checks"]["reachable"]["ok"] is False
    assert "hunter2-secret" not in r.out + r.err
    assert report["database"] == "postgresql://cabin@127.0.0.1:1/cabin?connect_timeout=2"


def test_doctor_finds_an_altered_audit_entry_on_a_server(pg_url, env):
    assert run_cli(["--db", pg_url, "user", "add", "boss", "--role", "admin"], env=env,
                   stdin="a-good-password\na-good-password\n").code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the superuser, around the triggers
        conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET actor = 'someone else' WHERE id = 1")
        conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_update")
    r = run_cli(["--db", pg_url, "doctor", "--json"], env=env)
    assert_refused(r, "audit_chain", "entry 1", quiet_stdout=False)
    assert one_json(r)["checks"]["audit_chain"]["ok"] is False


def test_init_brings_a_servers_schema_up_to_date(pg_url, env):
    r = run_cli(["--db", pg_url, "init", "--json"], env=env)
    assert r.code == 0, r
    assert kiosk_migrations.names[-1] in one_json(r)["schema_version"]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM cabin_migrations").fetchone()[0] == (
            len(queue_migrations.names) + len(kiosk_migrations.names))
    assert_refused(run_cli(["--db", pg_url, "init", "--replace-empty"], env=env), "administrator")


@pytest.mark.parametrize("argv", [["backup", "--to", "copy.sqlite"], ["restore", "copy.sqlite"]])
def test_backup_and_restore_refer_a_server_to_its_own_tools(pg_url, env, tmp_path, argv):
    url = with_password(pg_url, "hunter2-secret")
    r = run_cli(["--db", url, *argv], env=env, cwd=tmp_path)
    message = assert_refused(r, "PostgreSQL server", "pg_dump")
    assert "hunter2-secret" not in message
    assert not (tmp_path / "copy.sqlite").exists()


def test_doctor_tells_a_server_reached_from_a_database_it_cannot_open(pg_url, env):
    """An account that may not create the tables of a database nobody has made a station in."""
    role = "no_ddl_" + psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"][:50]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        r = run_cli(["--db", pg_url.replace("postgres@", f"{role}@", 1), "doctor", "--json"], env=env)
        assert_refused(r, "holds no station yet, or one made by an older Cabin", quiet_stdout=False)
        report = one_json(r)
        assert report["checks"]["reachable"]["ok"] is True and report["ok"] is False, report
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
