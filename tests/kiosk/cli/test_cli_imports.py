"""What a quick command imports: `cabin id check`, `cabin call` and `cabin ticket issue` (no ticket
printer) start in a fraction of the time the faces, the export or the card printer would cost, so
none of Textual, Pillow or openpyxl may be imported by them, nor sqlite-utils (with click and
dateutil) to open a database that is up to date. Each runs as a process through the real entry
(cabin.kiosk.cli.app.main), and its sys.modules is read when the command is done.
(tests/bench_cli.py measures the start itself.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = {"textual", "PIL", "openpyxl", "sqlite_utils", "click"}

WRAPPER = textwrap.dedent("""
    import json, sys
    from cabin.kiosk.cli.app import main
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
""")


@pytest.fixture
def cabin(tmp_path):
    """Run `cabin ARGS...` on a station database of its own; (exit code, top-level modules imported)."""
    data = tmp_path / "xdg"
    data.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_") and k != "PYTHONPATH"}
    env.update(XDG_DATA_HOME=str(data), CABIN_DB=str(tmp_path / "cabin.sqlite"))

    def run(*args: str) -> tuple[int, set[str]]:
        r = subprocess.run([sys.executable, "-c", WRAPPER, *args], env=env, capture_output=True, text=True,
                           timeout=120, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        found = json.loads(r.stdout.splitlines()[-1])
        return found["exit"], {name.split(".")[0] for name in found["modules"]}

    return run


def test_id_check_imports_nothing_heavy(cabin):
    code, modules = cabin("id", "check", "350206198507150012")
    assert code == 0
    assert not modules & HEAVY, modules & HEAVY


def test_call_imports_nothing_heavy(cabin):
    assert cabin("window", "open", "1")[0] == 0  # the database exists, up to date, before the call
    code, modules = cabin("call", "--window", "1")
    assert code == 3  # nobody waiting
    assert not modules & HEAVY, modules & HEAVY


def test_ticket_issue_without_a_printer_imports_nothing_heavy(cabin):
    assert cabin("queue")[0] == 0  # the database exists
    code, modules = cabin("ticket", "issue", "id.apply")
    assert code == 0
    assert not modules & HEAVY, modules & HEAVY


def test_commands_that_need_them_are_seen_importing_them(cabin, tmp_path):
    # the check can fail: making a new database applies the migrations through sqlite-utils, and
    # the export writes its workbook with openpyxl
    code, modules = cabin("queue")
    assert code == 0 and "sqlite_utils" in modules
    code, modules = cabin("export", "--day", "today", "--format", "xlsx", "--out", str(tmp_path / "out"))
    assert code == 0 and "openpyxl" in modules
