"""The signed ticket code: sign, verify, refuse forgeries; the secret file."""

import json
import os
import stat

import pytest

from cabin.kiosk.business import tokens
from cabin.queue.errors import CabinError

from clikit import run_cli

SECRET = bytes(range(32))


def test_sign_and_verify():
    token = tokens.sign(SECRET, "350206001", "2026-11-28", 123)
    assert token.startswith("CABIN1:350206001:2026-11-28:123:") and len(token.rsplit(":", 1)[1]) == 22
    assert tokens.verify(SECRET, "350206001", token) == tokens.TokenClaims("350206001", "2026-11-28", 123)
    assert tokens.verify(SECRET, "350206001", f"  {token}\n").ticket_id == 123  # a scanner's Enter


@pytest.mark.parametrize("change", ["ticket", "day", "mac", "secret"])
def test_forgeries_are_refused(change):
    token = tokens.sign(SECRET, "350206001", "2026-11-28", 123)
    if change == "ticket":
        token = token.replace(":123:", ":124:")
    elif change == "day":
        token = token.replace("2026-11-28", "2026-11-29")
    elif change == "mac":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(CabinError, match="forged or damaged"):
        tokens.verify(SECRET if change != "secret" else b"x" * 32, "350206001", token)


def test_another_station_and_garbage():
    token = tokens.sign(SECRET, "350203001", "2026-11-28", 5)
    with pytest.raises(CabinError, match="another station"):
        tokens.verify(SECRET, "350206001", token)
    for junk in ["", "hello", "CABIN2:350206001:2026-11-28:1:" + "A" * 22, token + "x"]:
        with pytest.raises(CabinError, match="not a Cabin ticket code|forged"):
            tokens.verify(SECRET, "350206001", junk)


def test_secret_is_created_once_mode_0600(tmp_path):
    path = tmp_path / "data" / "station.secret"
    first = tokens.load_secret(path)
    assert len(first) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tokens.load_secret(path) == first


def test_cli_issue_then_verify(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), CABIN_DB=str(tmp_path / "c.sqlite"))

    def cabin(*args):
        return run_cli(args, env=env, cwd=tmp_path)

    issued = json.loads(cabin("ticket", "issue", "id.apply", "--json").stdout)
    r = cabin("ticket", "verify", issued["token"], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"valid": True, "station": "350206001", "day": issued["token"].split(":")[2],
                                    "ticket_id": issued["ticket_id"], "ticket": "A001", "state": "open"}
    forged = issued["token"].replace(f":{issued['ticket_id']}:", ":99:")
    r = cabin("ticket", "verify", forged)
    assert r.returncode == 1 and "forged" in r.stderr and r.stderr.count("\n") == 1
    other = tokens.sign(tokens.load_secret(tmp_path / "xdg" / "cabin" / "station.secret"), "350206001",
                        issued["token"].split(":")[2], 99)
    r = cabin("ticket", "verify", other)
    assert r.returncode == 1 and "no ticket with id 99" in r.stderr


def test_a_damaged_or_exposed_secret_is_refused(tmp_path):
    path = tmp_path / "station.secret"
    path.write_bytes(b"")
    os.chmod(path, 0o600)
    with pytest.raises(CabinError, match="damaged \\(0 bytes"):
        tokens.load_secret(path)
    path.write_bytes(bytes(32))
    os.chmod(path, 0o644)
    with pytest.raises(CabinError, match="can be read by others"):
        tokens.load_secret(path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CabinError, match="cannot read or create the station secret"):
        tokens.load_secret(tmp_path / "file" / "station.secret")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_no_ticket_is_issued_without_a_usable_secret(tmp_path):
    (tmp_path / "xdg").write_text("not a folder")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), CABIN_DB=str(tmp_path / "c.sqlite"))
    r = run_cli(["ticket", "issue", "id.apply", "--json"], env=env, cwd=tmp_path)
    assert r.returncode == 1 and "station secret" in r.stderr and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["exit"] == 1
    import sqlite3
    assert not (tmp_path / "c.sqlite").exists() or \
        sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0
