"""Running `cabin` in a test: in this process through `cabin.kiosk.cli.app.main` (run_cli), or as
the installed script in a process of its own (CABIN) where the process itself is the point: the
entry point, a closed stdout, a umask, dropped privileges, signals, several processes at once.

In-process, a run sees what a fresh process would: only the CABIN_* variables it is given (the
others are cleared), its own working directory, stdin, stdout and stderr, and no exception
escapes as argparse's SystemExit; all of it is put back after the run, so nothing leaks into the
next one (the CLI keeps no other state between runs: each opens its own Store and config).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cabin.config import default_config_path
from cabin.kiosk.cli.app import main


def cabin_argv() -> list[str]:
    """The installed console script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("cabin")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cabin.kiosk.cli.app"]


CABIN = cabin_argv()
DEFAULT_CONFIG = default_config_path()
TABLES = ("tickets", "requests", "windows", "events", "meta")
STAFF_PASSWORD = "counter-pass-1"  # every staff account the tests make signs in with it
BUSY_TIMEOUT_MS = "300"  # a locked database is refused in 0.3 s, not the default 10


def base_env(db: Path, data: Path, **extra: str) -> dict[str, str]:
    """The environment of a run on its own database and data dir: this process's, less its
    CABIN_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(db), XDG_DATA_HOME=str(data), CABIN_BUSY_TIMEOUT_MS=BUSY_TIMEOUT_MS)
    env.update(extra)
    return env


@dataclass
class Run:
    """A command's exit code and output; also under subprocess.CompletedProcess's names."""

    argv: list[str]
    code: int
    out: str
    err: str

    @property
    def returncode(self) -> int:
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err

    def __iter__(self):  # code, out, err = run_cli(...)
        return iter((self.code, self.out, self.err))

    def __str__(self) -> str:
        return f"cabin {' '.join(self.argv)} -> exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_cli(argv, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | str | None = None) -> Run:
    """`cabin ARGV` in this process. `env`: the CABIN_* (and other) variables to set for the run,
    on top of this process's environment less its CABIN_* ones; None leaves the environment as
    it is (a test's monkeypatch.setenv)."""
    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        if env is not None:
            for name in [n for n in os.environ if n.startswith("CABIN_")]:
                mp.delenv(name)
            for name, value in env.items():
                mp.setenv(name, str(value))
        if cwd is not None:
            mp.chdir(cwd)
        mp.setattr(sys, "stdin", io.StringIO(stdin))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: usage (2) or --help (0)
                code = exc.code if isinstance(exc.code, int) else 1
    return Run(argv, code, out.getvalue(), err.getvalue())


# -- one station in a folder, and what is checked of a run -----------------------------------
def run(argv, env, prefix=(), timeout=60, process=False, stdin: str = "") -> Run:
    """In this process; in a process of its own if asked or behind `prefix` (a umask, dropped
    privileges)."""
    if not prefix and not process:
        return run_cli(argv, stdin, env=env, cwd=env.get("XDG_DATA_HOME"))
    argv = [str(a) for a in argv]
    p = subprocess.run([*prefix, *CABIN, *argv], input=stdin, env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=env.get("XDG_DATA_HOME"))
    return Run(argv, p.returncode, p.stdout, p.stderr)


def one_json(r: Run) -> dict:
    """stdout is exactly one JSON object, on one line."""
    assert len(r.out.splitlines()) == 1, f"not one line of JSON:\n{r}"
    value = json.loads(r.out)
    assert isinstance(value, dict), r
    return value


def refusal_problems(r: Run, *needles: str, code: int = 1, quiet_stdout: bool = True) -> list[str]:
    """What is wrong with `r` as a refusal (empty if it is a proper one)."""
    problems = []
    if r.code != code:
        problems.append(f"exit {r.code}, expected {code}")
    lines = r.err.splitlines()
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected exactly one")
    elif not lines[0].startswith("cabin: "):
        problems.append("the stderr line does not start with 'cabin: '")
    if "Traceback" in r.err or "Traceback" in r.out:
        problems.append("a traceback")
    for needle in needles:
        if needle not in r.err:
            problems.append(f"{needle!r} is not in the message")
    if quiet_stdout and r.out:
        problems.append("output on stdout")
    return problems


def assert_refused(r: Run, *needles: str, code: int = 1, quiet_stdout: bool = True) -> str:
    problems = refusal_problems(r, *needles, code=code, quiet_stdout=quiet_stdout)
    assert not problems, f"{'; '.join(problems)}\n{r}"
    return r.err.strip()


def dump(db: Path) -> dict:
    """Every row of the station's tables, and the schema."""
    conn = sqlite3.connect(db)
    try:
        out = {"schema": conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()}
        for table in TABLES:
            out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        return out
    finally:
        conn.close()


class Cli:
    """`cabin` against one database in a temporary folder."""

    def __init__(self, folder: Path, db: Path | None = None):
        self.folder = folder
        self.db = db or folder / "cabin.sqlite"
        self.data = folder / "xdg"
        self.data.mkdir(exist_ok=True)
        self.env = base_env(self.db, self.data)

    def __call__(self, *argv, env: dict | None = None, prefix=(), process=False, stdin: str = "") -> Run:
        return run(argv, {**self.env, **(env or {})}, prefix=prefix, process=process, stdin=stdin)

    def ok(self, *argv) -> Run:
        r = self(*argv)
        assert r.code == 0, r
        assert "Traceback" not in r.err, r
        return r

    def json(self, *argv) -> dict:
        r = self(*argv, "--json")
        assert r.code == 0, r
        assert r.err == "", r
        return one_json(r)

    def dump(self) -> dict:
        return dump(self.db)

    def prepare(self, *steps) -> None:
        prepare(self.db, steps)



def prepare(db: Path, steps) -> None:
    """Set-up steps, in this process."""
    for argv in steps:
        r = run_cli(["--db", str(db), "--config", str(DEFAULT_CONFIG), *argv])
        assert r.code == 0, f"set-up step {argv} -> exit {r.code}: {r.err}"



def copy_station(template: Path, db: Path) -> None:
    """A copy of the template station, private as Cabin makes its own files (0600)."""
    shutil.copyfile(template, db)
    db.chmod(0o600)


def run_all(cli: Cli, commands, *, env=None, prefix=()) -> list[Run]:
    """Each command in turn in this process; processes (behind a prefix) four at a time."""
    if not prefix:
        return [cli(*argv, env=env) for argv in commands]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda argv: cli(*argv, env=env, prefix=prefix), commands))



# Dropping CAP_DAC_OVERRIDE (and friends) from the bounding set makes root obey file modes in
# the process it then execs; a non-root user needs nothing.
DROP_PRIVILEGE = """
import ctypes, os, sys
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            sys.exit(f"prctl(PR_CAPBSET_DROP, {cap}): {os.strerror(ctypes.get_errno())}")
os.execv(sys.argv[1], sys.argv[1:])
"""
UNPRIVILEGED = (sys.executable, "-c", DROP_PRIVILEGE)
