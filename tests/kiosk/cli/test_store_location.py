"""Where the CLI finds the station's database: --db, then CABIN_DB, then the config's [store] url,
then the default file in the user data dir; a server's password is never shown, and libpq's own
ways of naming a server (service files) work as libpq does them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from cabin.config import default_config_path
from clikit import assert_refused, one_json, run_cli

UNREACHABLE = "postgresql://cabin:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2"


def config_with_store(folder: Path, url: str) -> Path:
    """The shipped station.toml with a [store] url."""
    path = folder / "station.toml"
    path.write_text(default_config_path().read_text(encoding="utf-8") + f'\n[store]\nurl = "{url}"\n',
                    encoding="utf-8")
    return path


def windows_on_server(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT number, state FROM windows ORDER BY number").fetchall()


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "xdg"
    folder.mkdir(mode=0o700)
    return folder


def test_the_configured_url_is_used_when_neither_db_nor_cabin_db_names_one(pg_url, tmp_path, data):
    config = config_with_store(tmp_path, pg_url)
    r = run_cli(["--config", config, "window", "open", "1"], env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r
    assert windows_on_server(pg_url)[0] == (1, "open")
    assert not (data / "cabin" / "cabin.sqlite").exists()  # the default file was not made


def test_cabin_db_wins_over_the_configured_url_and_db_over_both(tmp_path, data):
    config = config_with_store(tmp_path, UNREACHABLE)  # used, it would be refused
    env = {"XDG_DATA_HOME": str(data), "CABIN_DB": str(tmp_path / "env.sqlite")}
    r = run_cli(["--config", config, "window", "open", "1"], env=env)
    assert r.code == 0, r
    assert (tmp_path / "env.sqlite").exists()
    r = run_cli(["--config", config, "--db", tmp_path / "flag.sqlite", "window", "open", "2"], env=env)
    assert r.code == 0, r
    assert (tmp_path / "flag.sqlite").exists()


def test_the_default_file_when_nothing_names_a_database(data):
    r = run_cli(["window", "open", "1"], env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r
    assert (data / "cabin" / "cabin.sqlite").exists()


def test_a_configured_url_that_cannot_be_reached_is_refused_without_its_password(tmp_path, data):
    config = config_with_store(tmp_path, UNREACHABLE)
    r = run_cli(["--config", config, "queue"], env={"XDG_DATA_HOME": str(data)})
    message = assert_refused(r, "cannot be reached", "postgresql://cabin@127.0.0.1:1/nowhere")
    assert "s3cret-pw" not in message


def test_a_file_path_in_store_url_is_refused_by_the_config(tmp_path, data):
    config = config_with_store(tmp_path, "/var/lib/cabin/cabin.sqlite")
    r = run_cli(["--config", config, "config", "check"], env={"XDG_DATA_HOME": str(data)})
    assert_refused(r, "store.url", "postgresql://")


def test_a_command_given_db_reads_no_config_for_it(tmp_path, data):
    # a broken config does not stop `cabin init --db`, which reads no config of its own
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n", encoding="utf-8")
    r = run_cli(["--config", broken, "--db", tmp_path / "x.sqlite", "init"], env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r


def test_a_libpq_service_file_names_the_server(pg_url, pg_server, tmp_path, data):
    """`url = "postgresql://?service=cabin"`: host, port, database and user in the PC's service
    file (PGSERVICEFILE, else ~/.pg_service.conf), as libpq reads it."""
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[cabin]\nhost={info['host']}\nport={info['port']}\ndbname={info['dbname']}\n"
                        f"user={info['user']}\n", encoding="utf-8")
    config = config_with_store(tmp_path, "postgresql://?service=cabin")
    env = {"XDG_DATA_HOME": str(data), "PGSERVICEFILE": str(services)}
    r = run_cli(["--config", config, "window", "open", "3", "--json"], env=env)
    assert r.code == 0, r
    assert one_json(r)
    assert (3, "open") in windows_on_server(pg_url)


def test_the_shipped_config_names_no_server():
    shipped = tomllib.loads(default_config_path().read_text(encoding="utf-8"))
    assert "store" not in shipped  # one PC: the SQLite file


@pytest.fixture
def password_role(pg_server, pg_url):
    """A role that signs in with a password (scram-sha-256; the test server trusts every other
    one), owning the test's database; its name and password. pg_hba.conf is put back after."""
    name = f"pw_{psycopg.conninfo.conninfo_to_dict(pg_url)['dbname']}"[:63]
    password = f"Pw-{os.urandom(8).hex()}"
    hba = pg_server.data / "pg_hba.conf"
    original = hba.read_bytes()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(admin.info.dbname), sql.Identifier(name)))
        hba.write_bytes(f"host all {name} 127.0.0.1/32 scram-sha-256\n".encode() + original)
        admin.execute("SELECT pg_reload_conf()")
    try:
        yield name, password
    finally:
        hba.write_bytes(original)
        with psycopg.connect(pg_server.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_reload_conf()")


def test_the_password_comes_from_pgpassfile_and_is_never_shown(password_role, pg_url, tmp_path, data):
    name, password = password_role
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    url = f"postgresql://{name}@{info['host']}:{info['port']}/{info['dbname']}"
    config = config_with_store(tmp_path, url)
    env = {"XDG_DATA_HOME": str(data), "PGPASSFILE": str(tmp_path / "none")}
    r = run_cli(["--config", config, "window", "open", "1"], env=env)
    assert_refused(r, url)  # no password: the server refuses the role
    wrong = config_with_store(tmp_path, url.replace(f"{name}@", f"{name}:{password}-not@"))
    r = run_cli(["--config", wrong, "window", "open", "1"], env=env)
    assert_refused(r, url)
    assert password not in r.err
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{info['host']}:{info['port']}:{info['dbname']}:{name}:{password}\n", encoding="utf-8")
    passfile.chmod(0o600)  # libpq ignores a password file others may read
    env["PGPASSFILE"] = str(passfile)
    config = config_with_store(tmp_path, url)  # the same file: the URL without a password again
    r = run_cli(["--config", config, "window", "open", "1"], env=env)
    assert r.code == 0, r
    doctor = run_cli(["--config", config, "doctor"], env=env)
    assert doctor.code == 0, doctor
    assert f"connected as {name}" in doctor.out and password not in doctor.out + doctor.err
