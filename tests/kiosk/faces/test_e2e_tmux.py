"""End to end: the real `cabin counter` in a real terminal (tmux), typed at as a clerk would
(send-keys), read back with capture-pane: sign in, open the window, call, complete; and `cabin`
alone, the demo station, up to its sign-in screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cabin.config import load_config
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.station import open_store
from cabin.queue.engine import Station

from clikit import STAFF_PASSWORD

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CABIN_REQUIRE_TMUX"),
                                reason="tmux is not installed (.ci/run installs it)")
CABIN = str(Path(sys.executable).with_name("cabin"))


class Tmux:
    def __init__(self, command: str, env: dict, width: int = 120, height: int = 40):
        self.name = f"cabin-e2e-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        # COLUMNS/LINES may hold the pane's size before -x/-y applied (80x24): the app
                        # must ask the terminal itself
                        f"env -u COLUMNS -u LINES {exports} {command}; sleep 60"], check=True)

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys], check=True)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], check=True, capture_output=True,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def env(tmp_path):
    return {"XDG_DATA_HOME": str(tmp_path / "xdg"), "CABIN_DB": str(tmp_path / "cabin.sqlite"), "TERM": "xterm-256color",
            "LANG": "C.UTF-8"}


def test_a_clerk_signs_in_opens_calls_and_completes(env):
    config = load_config()
    with open_store(Path(env["CABIN_DB"])) as store:
        accounts = Accounts(store)
        root = accounts.add("root", "admin", STAFF_PASSWORD)
        accounts.add("li", "clerk", STAFF_PASSWORD, by=root)
        station = Station(store, config)
        station.issue(["id.apply", "ee.passport"])
    tmux = Tmux(f"{CABIN} counter --window 1 --lang en", env)
    try:
        tmux.wait_for("Staff sign-in")
        tmux.type("li")
        tmux.keys("Enter")
        tmux.type(STAFF_PASSWORD)
        tmux.keys("Enter")
        screen = tmux.wait_for("Counter · Window 1 · li")
        assert STAFF_PASSWORD not in screen
        tmux.wait_for("The window is not open")
        tmux.keys("o")
        tmux.wait_for("Window 1 is open")
        tmux.keys("n")
        tmux.wait_for("Called A001 to this window")
        # the ticket's errands are read in a worker after the call: wait for them, don't race them
        screen = tmux.wait_for("1. ID card application, renewal, replacement  called (Window")
        assert "2. Ordinary passport  later" in screen
        tmux.keys("c")
        tmux.wait_for("Complete ID card application, renewal, replacement for A001?")
        tmux.keys("Enter")
        screen = tmux.wait_for("A001: ID card application, renewal, replacement done")
        assert "the next errand, Ordinary passport, continues here" in " ".join(screen.split())
        tmux.wait_for("2. Ordinary passport  being served (Window 1)")
        tmux.keys("C-q")
        time.sleep(0.5)
    finally:
        tmux.close()
    with open_store(Path(env["CABIN_DB"])) as store:
        with store.read() as conn:
            kinds = [(r[0], r[1]) for r in conn.execute("SELECT kind, clerk FROM events WHERE window = 1 ORDER BY id")]
    assert ("called", "li") in kinds and ("done", "li") in kinds and ("window_open", "li") in kinds


def test_cabin_alone_is_the_demo_station(env):
    tmux = Tmux(CABIN, {k: v for k, v in env.items() if k != "CABIN_DB"})
    try:
        screen = tmux.wait_for("demo-clerk-1", timeout=90)
        assert "xiaoli" in screen
        tmux.type("xiaoli")
        tmux.keys("Enter")
        tmux.type("demo-clerk-1")
        tmux.keys("Enter")
        tmux.wait_for("· xiaoli")
        tmux.wait_for("就绪")             # the demo's simulated devices answer
        tmux.keys("F3")                   # the dispenser, a key away
        tmux.wait_for("欢迎")
        tmux.keys("F2")                   # back at the counter, still signed in
        tmux.wait_for("· xiaoli")
        tmux.keys("C-q")
        time.sleep(0.5)
    finally:
        tmux.close()


def test_cabin_alone_without_a_terminal_prints_the_help():
    r = subprocess.run([CABIN], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "usage: cabin" in r.stdout
