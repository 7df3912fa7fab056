"""`cabin board --serve`: the board as a web page (textual-serve), opened in headless Chromium.

Chromium is driven over the DevTools protocol (a websocket; aiohttp comes with textual-serve).
The page draws the terminal on a canvas, so the test reads what the page shows from the
page's own xterm.js buffer: a script injected before the page's scripts keeps a reference to
the Terminal the page creates. A call made by `cabin call` must appear there.

Skipped when no Chromium is installed (`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cabin.config import load_config

import fontsetup
from test_faces_common import open_station

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# CI installs Chromium and sets CABIN_REQUIRE_CHROMIUM: there the proof must run, not skip
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CABIN_REQUIRE_CHROMIUM"),
                                reason="no Chromium on this machine (.ci/run installs it)")

# Runs before the page's scripts: the page keeps its xterm.js Terminal in `this.terminal` of an
# object of its own; a setter on Object.prototype sees that assignment and keeps the Terminal.
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer) { window.__cabinTerminal = value; }
  },
});
"""
SCREEN_TEXT = """
(() => {
  const t = window.__cabinTerminal;
  if (!t) return "";
  const b = t.buffer.active, lines = [];
  for (let i = 0; i < t.rows; i++) { const l = b.getLine(b.viewportY + i); lines.push(l ? l.translateToString(true) : ""); }
  return lines.join("\\n");
})()
"""


def cabin_argv() -> list[str]:
    script = Path(sys.executable).with_name("cabin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cabin.kiosk.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answered at {url}")
        time.sleep(0.2)


class DevTools:
    """The little of the DevTools protocol this test needs, over one page's websocket."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def send(self, method: str, **params) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def text(self) -> str:
        r = await self.send("Runtime.evaluate", expression=SCREEN_TEXT, returnByValue=True)
        return r.get("result", {}).get("value") or ""


async def until_page_shows(tools: DevTools, wanted: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = await tools.text()
        if wanted in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the page does not show {wanted!r}; it shows:\n{text}")
        await asyncio.sleep(0.2)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        # each was started in a session of its own: the whole group goes, so the board process the
        # server spawned for the browser's page does not outlive the test
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def test_the_served_board_shows_a_call_in_chromium(tmp_path, processes):
    import aiohttp

    assert CHROMIUM, "CABIN_REQUIRE_CHROMIUM is set but no chromium was found"
    db = tmp_path / "cabin.sqlite"
    station = open_station(db, load_config())
    station.set_window(2, "open")
    station.issue(["id.temporary"])
    station.store.close()
    env = dict(os.environ, CABIN_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*cabin_argv(), "board", "--lang", "en", "--serve", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    processes.append(server)
    wait_for_http(url, server)

    profile = tmp_path / "chromium"
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1280,800",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env=fontsetup.machine_env())  # the browser draws with the machine's own fonts
    processes.append(browser)
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not (active.exists() and active.read_text().count("\n") >= 1):
        assert time.monotonic() < deadline and browser.poll() is None, "Chromium did not start"
        time.sleep(0.1)
    devtools_port = int(active.read_text().split("\n")[0])

    async def scenario() -> str:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as r:
                page = next(t for t in await r.json() if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.send("Page.enable")
                await tools.send("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINAL)
                await tools.send("Page.navigate", url=url)
                await until_page_shows(tools, "Lobby board")
                await until_page_shows(tools, "1 waiting")
                call = await asyncio.to_thread(subprocess.run, [*cabin_argv(), "call", "--window", "2"], env=env,
                                               capture_output=True, text=True, timeout=60)
                assert call.returncode == 0, call.stderr
                text = await until_page_shows(tools, "A001, please go to window 2")
                assert "A001 → window 2" in text
                shot = await tools.send("Page.captureScreenshot", format="png")
                (tmp_path / "served-board.png").write_bytes(__import__("base64").b64decode(shot["data"]))
                return text

    text = asyncio.run(scenario())
    assert "Now serving" in text and "Last calls" in text
    print(f"screenshot: {tmp_path / 'served-board.png'}")
