"""Issue 12: the CLI under out-of-range and hostile input, one test per defect found.

In-process through `cabin.kiosk.cli.app.main` (tests/clikit.py's run_cli) where a traceback
would show as an exception; in a subprocess where the process itself is the point (a closed
stdout, a port in use: a simulator that served instead would never end).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from cabin.kiosk.cli import args as cli_args
from cabin.kiosk.business import tokens
from cabin.kiosk.business.intake import fee_for
from cabin.queue.errors import CabinError, Said, shown

from clikit import CABIN, base_env, run_cli

PASSWORD = "hostile-pass-1"
TOO_BIG = str(2**63)
ARABIC_ONE, FULLWIDTH_ONE = "\u0661", "\uff11"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A station database with accounts (root admin, li clerk) for in-process runs."""
    monkeypatch.setenv("CABIN_DB", str(tmp_path / "cabin.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CABIN_BUSY_TIMEOUT_MS", "300")
    monkeypatch.chdir(tmp_path)
    assert run_cli(["user", "add", "root", "--role", "admin"], f"{PASSWORD}\n").code == 0
    assert run_cli(["user", "add", "li", "--role", "clerk", "--as", "root"], f"{PASSWORD}\n{PASSWORD}\n").code == 0
    return tmp_path


def one_object(out: str) -> dict:
    lines = out.splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def tables(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names}
    finally:
        conn.close()


# -- point 6: ticket codes in ASCII only ---------------------------------------------------------------
@pytest.mark.parametrize("digit", [ARABIC_ONE, FULLWIDTH_ONE])
def test_a_token_with_a_non_ascii_digit_is_not_a_cabin_code(digit):
    for token in (f"CABIN1:350206001:2026-12-02:{digit}:AAAAAAAAAAAAAAAAAAAAAA",
                  f"CABIN1:350206001:2026-12-0{digit}:1:AAAAAAAAAAAAAAAAAAAAAA"):
        with pytest.raises(CabinError, match="not a Cabin ticket code"):
            tokens.verify(b"s" * 32, "350206001", token)


def test_ticket_verify_with_a_non_ascii_digit_is_one_json_refusal(env):
    code, out, err = run_cli(["--json", "ticket", "verify", f"CABIN1:350206001:2026-12-02:{ARABIC_ONE}:" + "A" * 22])
    assert code == 1 and one_object(out) == {"error": "not a Cabin ticket code", "exit": 1}
    assert err == "cabin: not a Cabin ticket code\n"


# -- point 5: bounded reads ------------------------------------------------------------------------------
def test_export_merge_refuses_dev_zero_without_reading_it(env):
    r = run_cli(["--json", "export", "merge", "/dev/zero", "--out", str(env / "m")])
    assert r.returncode == 1 and "not a regular file" in one_object(r.stdout)["error"], r
    assert not (env / "m").exists()


def test_export_merge_refuses_a_file_over_the_limit_before_reading_it(env):
    from cabin.queue.reports.merge import JSON_LIMIT

    big = env / "big.json"
    with open(big, "wb") as f:
        f.truncate(JSON_LIMIT + 1)  # sparse: refused on its size, never read
    code, out, _ = run_cli(["--json", "export", "merge", str(big), "--out", str(env / "m")])
    assert code == 1 and "more than the" in one_object(out)["error"]


def test_config_check_refuses_dev_zero_and_a_fifo(env):
    code, out, err = run_cli(["--json", "config", "check", "--config", "/dev/zero"])
    assert code == 1 and "not a regular file" in one_object(out)["error"], err
    fifo = env / "station.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, out, _ = run_cli(["--json", "config", "check", "--config", str(fifo)])  # no writer: must not wait
    assert code == 1 and "not a regular file" in one_object(out)["error"]
    assert time.monotonic() - started < 10


# -- point 8: integers to their domain, dates to a range, addresses parsed --------------------------------
@pytest.mark.parametrize("argv", [
    ["found", "show", TOO_BIG],
    ["found", "handover", TOO_BIG, "--number", "350206199001011239", "--as", "li"],
    ["found", "notified", TOO_BIG, "--how", "phone", "--as", "li"],
    ["found", "show", ARABIC_ONE],
    ["audit", "show", "--limit", TOO_BIG],
    ["audit", "show", "--limit", "100001"],
    ["purge", "--older-than", TOO_BIG],
    ["purge", "--older-than", "36501"],
    ["intake", "record", "--window", "1", "--as", "li", "--number", "350206199001011239", "--fine", TOO_BIG],
    ["call", "--window", TOO_BIG],
    ["window", "open", FULLWIDTH_ONE],
    ["devices", "read-id", "--reader", "/nonexistent", "--timeout", "1e309"],
    ["simulate", "--day", "2026-11-23", "--citizens", "100000000"],
    ["board", "--serve", "127.0.0.1:99999"],
    ["board", "--serve", "256.1.1.1:8000"],
    ["board", "--serve", "[::1]:99999"],
    ["board", "--serve", "::1:8000"],
    ["sim", "reader", "--tcp", "127.0.0.1:99999"],
    ["export", "--day", "today", "--out", ""],
    ["export", "merge", "x.json", "--out", ""],
], ids=lambda a: " ".join(a)[:60])
def test_out_of_range_arguments_are_usage_errors_in_one_json_object(env, argv):
    before = tables(env / "cabin.sqlite")
    code, out, err = run_cli(["--json", *argv], f"{PASSWORD}\n")
    assert code == 2, (code, out, err)
    assert one_object(out)["exit"] == 2
    assert "Traceback" not in err and tables(env / "cabin.sqlite") == before


def test_reveal_found_with_an_id_beyond_sqlite_is_refused(env):
    code, out, err = run_cli(["--json", "reveal", "found", TOO_BIG, "--reason", "checking", "--as", "root"],
                             f"{PASSWORD}\n")
    assert code == 1 and "named by its number" in one_object(out)["error"], err


def test_host_port_takes_ipv6_in_brackets_and_names():
    assert cli_args.host_port("[::1]:8000") == ("::1", 8000)
    assert cli_args.host_port("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert cli_args.host_port("board.local:80") == ("board.local", 80)
    assert cli_args.host_any_port("127.0.0.1:0") == ("127.0.0.1", 0)
    for bad in ("127.0.0.1:0", "256.1.1.1:80", "[::1]:99999", ":8000", "host", "1.2.3.4:８０", "[zz]:80",
                "127.0.0.1:٨٠٠٠", "::1:8000", "[nope]:80", "a b:80", "[::1]8000", "[::1]:", "localhost:65536"):
        with pytest.raises(Exception, match="HOST:PORT|out of range|not an IP address|not a host name"):
            cli_args.host_port(bad)


@pytest.mark.parametrize("fine", [0, -100, 9_223_372_036_854_775_807])
def test_an_assessed_fine_is_from_1_to_the_configured_maximum(config, fine):
    with pytest.raises(CabinError, match="the fine must be from 1 to 20000 yuan"):
        fee_for(config, "tr.violation", None, fine)
    assert fee_for(config, "tr.violation", None, 200) == (None, 200)


def test_export_of_a_day_out_of_range_is_refused(env):
    for day in ("9999-12-31", "2099-01-01", "1999-12-31"):
        code, out, err = run_cli(["--json", "export", "--day", day])
        assert code == 1 and "out of range" in one_object(out)["error"], (day, err)


def test_a_card_found_before_2000_is_refused(kiosk_store, config, clock, staff):
    from cabin.kiosk.business.lostfound import LostFound

    clerk, _ = staff
    with pytest.raises(CabinError, match="before 2000-01-01"):
        LostFound(kiosk_store, config, clock).register_found(
            "350206199001011239", finder="张三", phone="13800138000", place="lobby", found_on="0001-01-01", by=clerk)


def test_sim_on_a_port_in_use_says_so(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = subprocess.run([*CABIN, "--json", "sim", "reader", "--tcp", f"127.0.0.1:{port}"],
                           env=base_env(tmp_path / "c.sqlite", tmp_path), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert one_object(r.stdout)["error"] == (f"the port {port} on 127.0.0.1 is in use: stop what serves there,"
                                             " or choose another (--tcp HOST:PORT)")


# -- point 9: a closed stdout after the commit --------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--json", "call", "--window", "1"], ["window", "pause", "2"]])
def test_a_closed_stdout_after_the_work_is_done_exits_0(tmp_path, argv):
    env = base_env(tmp_path / "cabin.sqlite", tmp_path)
    for setup in (["window", "open", "1"], ["window", "open", "2"], ["ticket", "issue", "id.apply"]):
        assert run_cli(setup, env=env).code == 0
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the command writes a byte: as `| true`, but certain
    try:
        r = subprocess.run([*CABIN, *argv], env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    state = run_cli(["--json", "queue"], env=env)
    windows = {w["window"]: w for w in json.loads(state.stdout)["windows"]}
    if argv[1] == "call":
        assert windows[1]["current"]["ticket"] == "A001"  # the citizen was called: the exit 0 is true
    else:
        assert windows[2]["state"] == "paused"


# -- point 12 ----------------------------------------------------------------------------------------------
def test_tempcard_print_of_an_unknown_card_says_so_before_touching_the_printer(env):
    code, out, err = run_cli(["--json", "tempcard", "print", "LS-NOPE", "--as", "li", "--printer", "/nonexistent/tty"],
                             f"{PASSWORD}\n")
    assert code == 1, err
    assert one_object(out)["error"] == "there is no temporary card LS-NOPE"


def test_a_refused_first_ticket_leaves_a_fresh_database_empty(tmp_path, monkeypatch):
    db = tmp_path / "fresh.sqlite"
    monkeypatch.setenv("CABIN_DB", str(db))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    code, out, err = run_cli(["--json", "ticket", "issue", "no.such.service"])
    assert code == 1 and "unknown service" in one_object(out)["error"]
    assert all(not rows for name, rows in tables(db).items() if name in ("windows", "meta", "tickets", "events"))
    assert run_cli(["ticket", "issue", "id.apply"]).code == 0  # the first accepted one writes them
    assert len(tables(db)["windows"]) == 4 and tables(db)["meta"]


def test_the_queue_of_a_fresh_database_shows_the_configured_windows(tmp_path, monkeypatch):
    monkeypatch.setenv("CABIN_DB", str(tmp_path / "fresh.sqlite"))
    code, out, _ = run_cli(["--json", "queue"])
    assert code == 0 and [(w["window"], w["state"]) for w in one_object(out)["windows"]] == [
        (1, "closed"), (2, "closed"), (3, "closed"), (4, "closed")]


# -- the one sanitiser ---------------------------------------------------------------------------------------
def test_a_refusal_never_echoes_escape_sequences_or_10kB(env):
    hostile = "\x1b]0;owned\x07\x1b[2J\u202e" + "x" * 10_000
    for argv in (["ticket", "show", hostile], ["loss", "show", hostile], ["tempcard", "show", hostile],
                 ["found", "list", "--state", hostile], ["export", "merge", "/nonexistent/" + hostile, "--out", "o"]):
        code, out, err = run_cli(argv)
        assert code in (1, 2), (argv[:2], err[:300])
        assert "\x1b" not in err and "\u202e" not in err, err[:300]
        assert len(err) < 1500, (argv[:2], len(err))
        assert "\\x1b]0;owned\\x07" in err or "\\x1b" in err


def test_said_values_go_through_the_one_sanitiser():
    said = Said("there is no ticket {ref}", ref="\x1b[31m" + "y" * 500)
    assert "\x1b" not in said and said.values["ref"].startswith("\\x1b[31m")
    assert said.endswith("…[cut, 508 characters]") and len(said) < 260
    assert Said("{n} and {what}", n=3, what=Said("{x}", x="ok")).values["n"] == 3
    assert shown(shown("z" * 300)) == shown("z" * 300)  # cut once


def test_argparse_choices_echo_is_cut_too(env):
    code, out, err = run_cli(["--json", "loss", "list", "--state", "q" * 10_000])
    assert code == 2 and len(err) < 1200 and "…[cut," in one_object(out)["error"]


def test_an_undecodable_byte_on_the_command_line_is_a_usage_error_shown_escaped(env):
    code, out, err = run_cli(["--json", "loss", "show", "A\udcff"])
    assert code == 2 and "\\udcff" in one_object(out)["error"] and "\\udcff" in err and "not UTF-8" in err


def test_a_password_line_is_bounded(env):
    code, out, err = run_cli(["user", "list", "--as", "root", "--json"], "x" * 5000 + "\n")
    assert code == 1 and "too long for a password (at most 1024 characters)" in err
    assert json.loads(out)["error"].startswith("line 1 of standard input is too long")


def test_the_busy_timeout_is_read_in_ascii_digits_only(env, monkeypatch):
    for bad in ("\u0661\u0660", "\uff11\uff10", "-5", "1e3", "9" * 20):
        monkeypatch.setenv("CABIN_BUSY_TIMEOUT_MS", bad)
        code, _, err = run_cli(["queue"])
        assert code == 1 and "CABIN_BUSY_TIMEOUT_MS=" in err and "whole number of milliseconds" in err, (bad, err)


def test_a_reveal_whose_reason_will_be_refused_reads_no_card(env):
    from cabin.drivers.idreader import SimulatedReader
    from cabin.drivers.simhost import PtyHost

    reader = SimulatedReader()
    with PtyHost(reader) as host:
        code, _, err = run_cli(["devices", "read-id", "--reader", host.path, "--reveal", "--as", "li", "--reason",
                                "王五 13812345678 asked"], f"{PASSWORD}\n")
    assert code == 1 and "a phone number (138****5678)" in err
    assert reader.reads == 0 and reader.bytes_in == 0   # the card was never asked for
