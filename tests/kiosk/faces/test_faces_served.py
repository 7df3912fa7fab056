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
import time
import urllib.request
from pathlib import Path

import pytest

from cabin.config import load_config

import fontsetup
from clikit import CABIN
from facekit import open_station

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


PASSWORD = "NeverInAnyCommandLine"


def test_the_served_board_shows_a_call_in_chromium(any_db, tmp_path, processes):
    """On a file and on a PostgreSQL server (its URL with a password, which no command line of
    the server or its board process may show)."""
    import aiohttp

    assert CHROMIUM, "CABIN_REQUIRE_CHROMIUM is set but no chromium was found"
    db = any_db.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    station = open_station(db, load_config())
    station.set_window(2, "open")
    station.issue(["id.temporary"])
    station.store.close()
    env = dict(os.environ, CABIN_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*CABIN, "board", "--lang", "en", "--serve", f"127.0.0.1:{port}"], env=env,
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
                call = await asyncio.to_thread(subprocess.run, [*CABIN, "call", "--window", "2"], env=env,
                                               capture_output=True, text=True, timeout=60)
                assert call.returncode == 0, call.stderr
                text = await until_page_shows(tools, "A001, please go to window 2")
                assert "A001 → window 2" in text
                for pid in [server.pid, *children(server.pid)]:
                    assert PASSWORD.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
                assert children(server.pid), "the board process"
                shot = await tools.send("Page.captureScreenshot", format="png")
                (tmp_path / "served-board.png").write_bytes(__import__("base64").b64decode(shot["data"]))
                return text

    text = asyncio.run(scenario())
    assert "Now serving" in text and "Last calls" in text
    print(f"screenshot: {tmp_path / 'served-board.png'}")


# -- the served board under many viewers and hostile requests (issue 12, point 7) -------------------
# These talk to the server with aiohttp directly, no browser: a websocket is what a page opens.
import re

from cabin.config import default_config_path
from cabin.kiosk.faces.board import served

CUP = re.compile(rb"\x1b\[(\d+);(\d+)H")  # a cursor position: where the board draws


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command (state, ppid, pgrp, ...), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := proc_stat(int(entry.name))) and int(st[1]) == pid and st[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"  # a zombie has ended; its reaper is not ours to hurry


def start_server(tmp_path: Path, processes: list, *args: str, viewers: int = 3) -> tuple[str, subprocess.Popen, dict]:
    """`cabin board --serve` on a free port, with `[faces] served_viewers = viewers`."""
    db = tmp_path / "cabin.sqlite"
    if not db.exists():
        station = open_station(db, load_config())
        station.set_window(1, "open")
        station.store.close()
    config = tmp_path / "station.toml"
    text = default_config_path().read_text(encoding="utf-8")
    assert "served_viewers = 8" in text
    config.write_text(text.replace("served_viewers = 8", f"served_viewers = {viewers}"), encoding="utf-8")
    env = dict(os.environ, CABIN_DB=str(db), CABIN_CONFIG=str(config), XDG_DATA_HOME=str(tmp_path / "xdg"))
    port = free_port()
    server = subprocess.Popen([*CABIN, "board", "--lang", "en", "--serve", f"127.0.0.1:{port}", *args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    processes.append(server)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url, server)
    return url, server, env


async def watch(http, url: str, width: int = 120, height: int = 40, seconds: float = 30, until=None,
                resize=None) -> bytes:
    """What one browser receives over its websocket: until `until(data)` holds or `seconds` pass;
    `resize`: a resize message it sends first, as the page does when its window changes."""
    got = bytearray()
    async with http.ws_connect(f"{url.replace('http', 'ws')}/ws?width={width}&height={height}") as ws:
        if resize is not None:
            await ws.send_str(json.dumps(["resize", resize]))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until(bytes(got))):
            try:
                msg = await ws.receive(timeout=0.5)
            except asyncio.TimeoutError:
                continue
            if msg.type != aiohttp_binary():
                if msg.type in (aiohttp_closed(), aiohttp_closing()):
                    break
                continue
            got += msg.data
    return bytes(got)


def aiohttp_binary():
    import aiohttp
    return aiohttp.WSMsgType.BINARY


def aiohttp_closed():
    import aiohttp
    return aiohttp.WSMsgType.CLOSED


def aiohttp_closing():
    import aiohttp
    return aiohttp.WSMsgType.CLOSE


def drawn(data: bytes) -> bool:
    """A whole screen has arrived: drawn from its top-left corner and down to its last rows."""
    return b"\x1b[1;1H" in data and len(CUP.findall(data)) > 10


def test_loopback_is_told_from_the_network():
    assert served.is_loopback("127.0.0.1") and served.is_loopback("::1") and served.is_loopback("localhost")
    assert not any(map(served.is_loopback, ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5"]))


def test_sizes_are_clamped():
    assert served.clamp_size("8000", "4000") == (250, 80)
    assert served.clamp_size("1", "1") == (40, 12)
    assert served.clamp_size("-5", "x") == (120, 40)
    assert served.clamp_size("١٢٠", "9" * 5000) == (120, 80)  # not ASCII digits; beyond int()'s 4300 digits


def test_a_network_address_needs_public_and_says_what_it_shows(tmp_path, processes):
    env = dict(os.environ, CABIN_DB=str(tmp_path / "cabin.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    for host in ("0.0.0.0", "[::]"):
        out = subprocess.run([*CABIN, "board", "--serve", f"{host}:{free_port()}"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, out
        assert out.stderr.count("\n") == 1 and "--public" in out.stderr and "Traceback" not in out.stderr
    port = free_port()
    server = subprocess.Popen([*CABIN, "board", "--serve", f"0.0.0.0:{port}", "--public"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    processes.append(server)
    wait_for_http(f"http://127.0.0.1:{port}", server)
    os.killpg(server.pid, signal.SIGTERM)
    out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "served to the network" in err and "queue numbers" in err and "never a name or an ID number" in err


def test_a_port_in_use_is_one_clear_line(tmp_path):
    env = dict(os.environ, CABIN_DB=str(tmp_path / "cabin.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([*CABIN, "board", "--serve", f"127.0.0.1:{port}"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr == f"cabin: port {port} on 127.0.0.1 is already in use (another program, or a board served" \
                         " already): choose another port\n"


def test_viewers_are_capped_and_share_one_board(tmp_path, processes):
    import aiohttp

    url, server, _ = start_server(tmp_path, processes, viewers=3)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            sockets = [await http.ws_connect(f"{url.replace('http', 'ws')}/ws?width=100&height=30") for _ in range(3)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{url.replace('http', 'ws')}/ws")
            assert refused.value.status == 503
            async with http.get(url) as r:  # the page itself says so, in both languages
                page = await r.text()
                assert r.status == 503 and r.headers["Retry-After"] == "30"
            assert "看板观看人数已满" in page and "The board is full (3 screens are watching)" in page
            # every admitted browser gets the whole board, from the one board process
            for ws in sockets:
                got = bytearray()
                while not drawn(bytes(got)):
                    msg = await ws.receive(timeout=30)
                    assert msg.type == aiohttp.WSMsgType.BINARY, msg
                    got += msg.data
            board = children(server.pid)
            assert len(board) == 1, board
            st = proc_stat(board[0])
            assert int(st[2]) == board[0]  # a process group of its own
            await sockets.pop().close()  # one leaves: a place is free again
            deadline = time.monotonic() + 10
            while True:
                async with http.get(url) as r:
                    if r.status == 200:
                        break
                assert time.monotonic() < deadline, "the freed place was not offered again"
                await asyncio.sleep(0.1)
            again = await http.ws_connect(f"{url.replace('http', 'ws')}/ws")
            got = bytearray()
            while not drawn(bytes(got)):  # a browser joining a running board gets the whole screen
                got += (await again.receive(timeout=30)).data
            assert children(server.pid) == board
            for ws in [*sockets, again]:
                await ws.close()

    asyncio.run(scenario())


def test_a_huge_size_in_the_url_is_clamped(tmp_path, processes):
    import aiohttp

    url, server, _ = start_server(tmp_path, processes)

    async def scenario() -> tuple[bytes, bytes]:
        async with aiohttp.ClientSession() as http:
            huge = await watch(http, url, 8000, 4000, until=drawn)
            small = asyncio.create_task(watch(http, url, 60, 20, seconds=4))
            # the big screen stays while a small one joins: the board takes the smaller size
            both = await watch(http, url, 8000, 4000, seconds=4)
            small = await small
            await asyncio.sleep(0.5)
            # a resize message is clamped too; a flood of them is followed at most 4 times a second
            tiny = await watch(http, url, resize={"width": 1, "height": 10**30}, seconds=3)
            return huge, both, small, tiny

    huge, both, small, tiny = asyncio.run(scenario())
    last = [part for part in tiny.split(b"\x1b[1;1H") if len(CUP.findall(part)) > 10][-1]
    assert max(int(r) for r, _ in CUP.findall(last)) == 80 and max(int(c) for _, c in CUP.findall(last)) <= 40
    rows = max(int(r) for r, _ in CUP.findall(huge))
    cols = max(int(c) for _, c in CUP.findall(huge))
    assert rows == 80 and cols <= 250, (rows, cols)
    assert len(huge) < 2_000_000
    for screen in (small, both):  # the last whole screen each got (frames in flight at the join are older)
        last = [part for part in screen.split(b"\x1b[1;1H") if len(CUP.findall(part)) > 10][-1]
        assert max(int(r) for r, _ in CUP.findall(last)) == 20
        assert max(int(c) for _, c in CUP.findall(last)) <= 60


def test_the_board_process_dies_with_a_killed_server(tmp_path, processes):
    import aiohttp

    url, server, _ = start_server(tmp_path, processes)

    async def one_viewer() -> list[int]:
        async with aiohttp.ClientSession() as http:
            await watch(http, url, until=drawn)
            return children(server.pid)

    board = asyncio.run(one_viewer())  # the board lingers a few seconds after its viewer left
    assert board and all(alive(p) for p in board)
    server.kill()  # kill -9, no chance to clean up
    server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in board):
        assert time.monotonic() < deadline, f"board processes {board} outlived the server"
        time.sleep(0.05)


def test_no_listing_and_nothing_from_other_hosts(tmp_path, processes):
    import urllib.error

    url, server, _ = start_server(tmp_path, processes)
    for path in ("/static/", "/static/js/", "/static/fonts", "/static/../server.py", "/download/x", "/static/js/../js/"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + path, timeout=10)
        assert e.value.code in (403, 404), path

    with urllib.request.urlopen(url + "/", timeout=10) as r:
        csp = r.headers["Content-Security-Policy"]
        page = r.read().decode()
    assert "default-src 'none'" in csp and "http" not in csp
    assets = re.findall(r'(?:src|href)="([^"]+)"|url\("?([^")]+)"?\)', page)
    paths = {a or b for a, b in assets}
    assert "/static/js/textual.js" in paths and "/static/fonts/RobotoMono-VariableFont_wght.ttf" in paths
    texts = {"/": page}
    for path in paths:
        assert path.startswith("/static/"), path  # on this server
        with urllib.request.urlopen(url + path, timeout=10) as r:
            body = r.read()
            if path.endswith((".css", ".js")):
                texts[path] = body.decode("utf-8")
                texts[path] += "".join(f"{a}{b}" for a, b in re.findall(r'url\("?([^")]+)"?\)|@import\s+"([^"]+)"', texts[path]))
    for path, text in texts.items():
        text = re.sub(r"/\*.*?\*/|<!--.*?-->", "", text, flags=re.S)  # licence comments name their homes
        hosts = {h for h in re.findall(r"(?:https?|wss?):/+([^/\"'\s)]*)", text)}
        assert hosts <= {url.removeprefix("http://")}, (path, hosts)
