"""`cabin board --serve`: the board as a web page (textual-serve), opened in headless Chromium.

Chromium is driven over the DevTools protocol (a websocket; aiohttp comes with textual-serve).
The page draws the terminal on a canvas, so the test reads what the page shows from the
page's own xterm.js buffer: a script injected before the page's scripts keeps a reference to
the Terminal the page creates. A call made by `cabin call` must appear there.

Skipped when no Chromium is installed (`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
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


async def open_page(tools: DevTools, url: str) -> None:
    """The browser's page opens `url`, keeping the page's terminal where the test can read it."""
    await tools.send("Page.enable")
    await tools.send("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINAL)
    await tools.send("Page.navigate", url=url)


async def click(tools: DevTools, x: float, y: float) -> None:
    """A left click at (x, y) of the page, as a person's (a user activation for the browser)."""
    for kind in ("mousePressed", "mouseReleased"):
        await tools.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


async def until_page_shows(tools: DevTools, wanted: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = await tools.text()
        if wanted in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the page does not show {wanted!r}; it shows:\n{text}")
        await asyncio.sleep(0.2)


def start_chromium(tmp_path: Path, processes: list, *flags: str) -> int:
    """A headless Chromium of its own (profile in tmp_path); its DevTools port."""
    assert CHROMIUM, "CABIN_REQUIRE_CHROMIUM is set but no chromium was found"
    profile = tmp_path / "chromium"
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1280,800",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", *flags, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env=fontsetup.machine_env())  # the browser draws with the machine's own fonts
    processes.append(browser)
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not (active.exists() and active.read_text().count("\n") >= 1):
        assert time.monotonic() < deadline and browser.poll() is None, "Chromium did not start"
        time.sleep(0.1)
    return int(active.read_text().split("\n")[0])


@contextlib.asynccontextmanager
async def page_tools(http, devtools_port: int):
    """DevTools on the browser's page."""
    async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as r:
        page = next(t for t in await r.json() if t["type"] == "page")
    async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        yield DevTools(ws)


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

    devtools_port = start_chromium(tmp_path, processes)

    async def scenario() -> str:
        async with aiohttp.ClientSession() as http:
            async with page_tools(http, devtools_port) as tools:
                await open_page(tools, url)
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


def start_server(tmp_path: Path, processes: list, *args: str, viewers: int = 3,
                 board: dict[str, str] | None = None) -> tuple[str, subprocess.Popen, dict]:
    """`cabin board --serve` on a free port, with `[faces] served_viewers = viewers` and the
    `[board]` keys of `board` (TOML values)."""
    db = tmp_path / "cabin.sqlite"
    if not db.exists():
        station = open_station(db, load_config())
        station.set_window(1, "open")
        station.store.close()
    config = tmp_path / "station.toml"
    text = default_config_path().read_text(encoding="utf-8")
    assert "served_viewers = 8" in text
    text = text.replace("served_viewers = 8", f"served_viewers = {viewers}")
    for key, value in (board or {}).items():
        shipped = re.search(rf"(?m)^{key} = .*$", text[text.index("[board]"):])
        if shipped:
            text = text.replace(shipped.group(0), f"{key} = {value}", 1)
        else:
            text = text.replace("[board]\n", f"[board]\n{key} = {value}\n", 1)
    config.write_text(text, encoding="utf-8")
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
    assert out.stderr == f"cabin: port {port} on 127.0.0.1 is already in use (another program, or a board or" \
                         " rating screen served already): choose another port\n"


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


# -- the calls said by the browser (the served board's voice) ----------------------------------
# A voice of the station's own ([board] speech_command) that writes a tenth of a second of tone:
# a burst of calls plays in about a second, where espeak-ng's take three each.
SHORT_VOICE = [sys.executable, "-c", "import sys, wave; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1);"
               " w.setsampwidth(2); w.setframerate(8000); w.writeframes(b'\\x00\\x40' * 800); w.close()",
               "{out}", "{text}"]
VOICE_STATE = "JSON.stringify(window.cabinVoice ? window.cabinVoice.state() : null)"


async def voice_state(tools: DevTools) -> dict | None:
    r = await tools.send("Runtime.evaluate", expression=VOICE_STATE, returnByValue=True)
    return json.loads(r.get("result", {}).get("value") or "null")


async def until_voice(tools: DevTools, holds, what: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = await voice_state(tools)
        if state is not None and holds(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the page's voice never got to {what}: {state}")
        await asyncio.sleep(0.1)


def test_the_served_board_says_a_burst_of_calls_in_the_browser_after_one_click(tmp_path, processes):
    """Ten calls in a burst, on a page Chromium may not play sound on until it is clicked (a TV's
    browser): the page says it needs a click and keeps the calls; after one click they are all
    played, one after the other, in the order they were made."""
    import aiohttp

    url, server, env = start_server(tmp_path, processes, board={"repeat": "1", "speech_command": json.dumps(SHORT_VOICE)})
    station = open_station(tmp_path / "cabin.sqlite", load_config())
    for _ in range(10):
        station.issue(["id.temporary"])
    devtools_port = start_chromium(tmp_path, processes, "--autoplay-policy=document-user-activation-required")

    async def scenario() -> tuple[dict, list[str]]:
        async with aiohttp.ClientSession() as http:
            async with page_tools(http, devtools_port) as tools:
                await open_page(tools, url)
                await until_page_shows(tools, "10 waiting")
                asked = await until_voice(tools, lambda v: v["asking"], "asking for a click")
                assert not asked["allowed"]
                r = await tools.send("Runtime.evaluate", returnByValue=True,
                                     expression="document.getElementById('voice-ask').innerText")
                assert "点击本页一次" in r["result"]["value"] and "one click on this page" in r["result"]["value"]
                called = []
                for _ in range(10):  # a burst: each call completes the one before, at one window
                    call = station.call_next(1)
                    called.append(call.ticket)
                    station.complete(1)
                held = await until_voice(tools, lambda v: len(v["waiting"]) == 10, "holding the ten calls")
                assert held["said"] == [] and held["dropped"] == []
                shot = await tools.send("Page.captureScreenshot", format="png")
                (tmp_path / "served-board-voice.png").write_bytes(__import__("base64").b64decode(shot["data"]))
                await click(tools, 640, 400)  # one click, as a person's
                done = await until_voice(tools, lambda v: len(v["said"]) + len(v["failed"]) == 10, "saying the ten calls")
                return done, called

    done, called = asyncio.run(scenario())
    assert done["allowed"] and not done["asking"]
    assert (done["said"], done["failed"], done["dropped"], done["waiting"]) == (called, [], [], [])
    assert called == [f"A{n:03d}" for n in range(1, 11)]
    print(f"screenshot: {tmp_path / 'served-board-voice.png'}")


@contextlib.asynccontextmanager
async def board_watched(http, url: str, shows: bytes):
    """A page watching the board (the board process runs while one does), once the board shows
    `shows`, something of the station it has read: calls made from then on are new to it."""
    async with http.ws_connect(f"{url.replace('http', 'ws')}/ws?width=120&height=40") as ws:
        got = bytearray()
        while shows not in got:
            msg = await ws.receive(timeout=30)
            assert msg.type == aiohttp_binary(), msg
            got += msg.data
        reader = asyncio.create_task(drain(ws))
        try:
            yield
        finally:
            reader.cancel()


async def drain(ws) -> None:
    async for _ in ws:
        pass


async def sound_events(http, url: str, count: int, last_event_id: str | None = None, after=None) -> list[tuple[str, dict]]:
    """The first `count` events a page gets from /sounds ((event, data)); `after()` runs once the
    stream is open (the calls to be told of)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    got: list[tuple[str, dict]] = []
    async with http.get(f"{url}/sounds", headers=headers, timeout=aiohttp_timeout(60)) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "text/event-stream"
        kind, opened = None, False
        async for raw in r.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("retry:") and not opened and after is not None:
                opened = True
                await asyncio.to_thread(after)
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                got.append((kind, json.loads(line.removeprefix("data: "))))
                if len(got) == count:
                    return got
    return got


def aiohttp_timeout(seconds: float):
    import aiohttp
    return aiohttp.ClientTimeout(total=seconds)


def test_the_calls_sounds_are_espeak_ng_wavs_kept_to_the_backlog(tmp_path, processes):
    """The real voice: each call's sound is a WAV of Mandarin speech, not silent; the newest
    `backlog` are kept (older ones 404), and a page reconnecting with Last-Event-ID gets what it
    missed, a new page nothing from before it came."""
    import aiohttp
    import wave

    url, server, env = start_server(tmp_path, processes, board={"repeat": "1", "backlog": "2"})
    station = open_station(tmp_path / "cabin.sqlite", load_config())
    for _ in range(3):
        station.issue(["id.temporary"])

    def three_calls() -> None:
        for _ in range(3):
            station.call_next(1)
            station.complete(1)

    async def scenario():
        async with aiohttp.ClientSession() as http, board_watched(http, url, b"3 waiting"):
            events = await sound_events(http, url, 3, after=three_calls)
            wavs = {}
            for n in (1, 2, 3):
                async with http.get(f"{url}/sounds/{n}.wav") as r:
                    wavs[n] = (r.status, await r.read())
            resumed = await sound_events(http, url, 1, last_event_id="2")
            return events, wavs, resumed

    events, wavs, resumed = asyncio.run(scenario())
    assert events == [("call", {"id": n, "ticket": f"A00{n}", "window": 1}) for n in (1, 2, 3)]
    assert wavs[1][0] == 404  # past the backlog of 2
    for n in (2, 3):
        status, body = wavs[n]
        assert status == 200 and body[:4] == b"RIFF"
        with wave.open(__import__("io").BytesIO(body)) as w:
            seconds = w.getnframes() / w.getframerate()
            samples = __import__("array").array("h", w.readframes(w.getnframes()))
        assert 1.0 < seconds < 6.0, seconds  # 请 A00n 号 到 1 号窗口 办理, said once
        assert max(abs(s) for s in samples) > 3000  # speech, not silence
    assert resumed == [("call", {"id": 3, "ticket": "A003", "window": 1})]


def test_a_voice_that_fails_is_told_to_the_pages_and_the_next_call_is_tried(tmp_path, processes):
    import aiohttp

    # the station's voice fails on A001 (零零一) and says A002
    failing = [sys.executable, "-c", "import sys\nif '零零一' in sys.argv[2]: sys.exit('no such voice')\n"
               + SHORT_VOICE[2], "{out}", "{text}"]
    url, server, env = start_server(tmp_path, processes, board={"repeat": "1", "speech_command": json.dumps(failing)})
    station = open_station(tmp_path / "cabin.sqlite", load_config())
    station.issue(["id.temporary"])
    station.issue(["id.temporary"])

    def two_calls() -> None:
        station.call_next(1)
        station.complete(1)
        station.call_next(1)

    async def scenario():
        async with aiohttp.ClientSession() as http, board_watched(http, url, b"2 waiting"):
            return await sound_events(http, url, 2, after=two_calls)

    [(kind, data), second] = asyncio.run(scenario())
    assert kind == "trouble" and "A001" in data["text"] and "no such voice" in data["text"]
    assert second == ("call", {"id": 1, "ticket": "A002", "window": 1})
    server.send_signal(signal.SIGINT)
    _, err = server.communicate(timeout=30)
    assert "the call of A001 to window 1 could not be said" in err


def test_without_announce_the_page_has_no_voice(tmp_path, processes):
    import urllib.error

    url, server, _ = start_server(tmp_path, processes, board={"announce": "false"})
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        page = r.read().decode()
    assert 'data-voice="off"' in page
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "/sounds", timeout=10)
    assert e.value.code == 404
    server.send_signal(signal.SIGINT)
    _, err = server.communicate(timeout=30)
    assert "the calls will be shown, not said: [board] announce = false" in err


# -- the rating face served to a tablet (`cabin rate --window N --serve`) -----------------------
def start_rating_server(tmp_path: Path, processes: list, *args: str) -> tuple[str, subprocess.Popen, dict]:
    db = tmp_path / "cabin.sqlite"
    env = dict(os.environ, CABIN_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    port = free_port()
    server = subprocess.Popen([*CABIN, "rate", "--window", "1", "--lang", "en", "--serve", f"127.0.0.1:{port}", *args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    processes.append(server)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url, server)
    return url, server, env


def completed_errand(db: Path) -> None:
    station = open_station(db, load_config())
    station.set_window(1, "open")
    station.issue(["id.temporary"])
    station.call_next(1)
    station.complete(1)
    station.store.close()


def recorded_ratings(db: Path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT window, level, reason FROM ratings ORDER BY id").fetchall()


def test_the_served_rating_face_takes_the_tablets_keys_one_screen_at_a_time(tmp_path, processes):
    """The browser's keys reach the rating face (a board's never do): "4" then the first reason
    records a 不满意 with that reason. A second screen gets the page saying it is in use."""
    import aiohttp

    completed_errand(tmp_path / "cabin.sqlite")
    url, server, env = start_rating_server(tmp_path, processes)

    async def scenario() -> tuple[bytes, int, str]:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{url.replace('http', 'ws')}/ws?width=100&height=30") as ws:
                got = bytearray()

                async def until(wanted: bytes) -> None:
                    deadline = time.monotonic() + 30
                    while wanted not in got:
                        assert time.monotonic() < deadline, f"never shown: {wanted!r}"
                        try:
                            msg = await ws.receive(timeout=1)
                        except asyncio.TimeoutError:
                            continue
                        if msg.type == aiohttp_binary():
                            got.extend(msg.data)

                await until(b"Very satisfied")
                async with http.get(url + "/") as second:  # the second screen's page
                    second_status, second_page = second.status, await second.text()
                await ws.send_str(json.dumps(["stdin", "4"]))
                await until(b"What went wrong")
                await ws.send_str(json.dumps(["stdin", "1"]))
                await until(b"Thank you")
                return bytes(got), second_status, second_page

    _, second_status, second_page = asyncio.run(scenario())
    reasons = load_config().ratings.reasons
    assert recorded_ratings(tmp_path / "cabin.sqlite") == [(1, 4, reasons[0][0])]
    assert second_status == 503 and "open on another screen" in second_page and "评价屏" in second_page


def test_a_served_board_takes_no_keys(tmp_path, processes):
    """The board is watched, not operated: keys sent as the page sends them change nothing
    (Ctrl+Q would end it)."""
    import aiohttp

    url, server, _ = start_server(tmp_path, processes)

    async def scenario() -> bytes:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{url.replace('http', 'ws')}/ws?width=120&height=40") as ws:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    msg = await ws.receive(timeout=30)
                    if msg.type == aiohttp_binary() and b"waiting" in msg.data:
                        break
                await ws.send_str(json.dumps(["stdin", "\x11"]))  # Ctrl+Q
                await asyncio.sleep(2)
                return b""

    asyncio.run(scenario())
    kids = children(server.pid)
    assert kids and all(alive(k) for k in kids), "the board process ended on a browser's Ctrl+Q"


def test_a_rating_face_on_the_network_needs_public_and_says_what_it_allows(tmp_path, processes):
    env = dict(os.environ, CABIN_DB=str(tmp_path / "cabin.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    refused = subprocess.run([*CABIN, "rate", "--window", "1", "--serve", f"0.0.0.0:{free_port()}"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "add --public to serve the rating screen" in refused.stderr
    port = free_port()
    server = subprocess.Popen([*CABIN, "rate", "--window", "1", "--serve", f"0.0.0.0:{port}", "--public"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    processes.append(server)
    wait_for_http(f"http://127.0.0.1:{port}", server)
    server.send_signal(signal.SIGINT)
    out, err = server.communicate(timeout=30)
    assert "anyone who can reach this machine can rate the errand last completed at that window" in err
    assert "serving the rating screen of window 1 at http://0.0.0.0:" in out and "at most 1 screen " in out


WHERE_ON_SCREEN = """
((wanted) => {
  const t = window.__cabinTerminal;
  if (!t) return null;
  const b = t.buffer.active;
  for (let row = 0; row < t.rows; row++) {
    const line = b.getLine(b.viewportY + row);
    const col = line ? line.translateToString(true).indexOf(wanted) : -1;
    if (col >= 0) {
      const box = t.element.querySelector(".xterm-screen").getBoundingClientRect();
      return {x: box.left + (col + wanted.length / 2) * box.width / t.cols, y: box.top + (row + 0.5) * box.height / t.rows};
    }
  }
  return null;
})
"""


def test_a_tap_in_chromium_rates_the_errand(tmp_path, processes):
    """A tablet's tap, as Chromium makes it on the served rating face: 非常满意 recorded."""
    import aiohttp

    completed_errand(tmp_path / "cabin.sqlite")
    url, server, env = start_rating_server(tmp_path, processes)
    devtools_port = start_chromium(tmp_path, processes)

    async def scenario() -> str:
        async with aiohttp.ClientSession() as http:
            async with page_tools(http, devtools_port) as tools:
                await open_page(tools, url)
                await until_page_shows(tools, "Very satisfied")
                r = await tools.send("Runtime.evaluate", returnByValue=True,
                                     expression=f"{WHERE_ON_SCREEN}({json.dumps('Very satisfied')})")
                spot = r["result"]["value"]
                await click(tools, spot["x"], spot["y"])
                text = await until_page_shows(tools, "Thank you")
                shot = await tools.send("Page.captureScreenshot", format="png")
                (tmp_path / "served-rating.png").write_bytes(__import__("base64").b64decode(shot["data"]))
                return text

    asyncio.run(scenario())
    assert recorded_ratings(tmp_path / "cabin.sqlite") == [(1, 1, None)]
    print(f"screenshot: {tmp_path / 'served-rating.png'}")


def test_a_page_that_may_not_play_keeps_the_newest_backlog_of_calls(tmp_path, processes):
    """Past [board] backlog the oldest waiting call is dropped, on the page as on the host: six
    calls on a page nobody has clicked, a backlog of four; after the click the four newest are
    said, in order."""
    import aiohttp

    url, server, env = start_server(tmp_path, processes,
                                    board={"repeat": "1", "backlog": "4", "speech_command": json.dumps(SHORT_VOICE)})
    station = open_station(tmp_path / "cabin.sqlite", load_config())
    for _ in range(6):
        station.issue(["id.temporary"])
    devtools_port = start_chromium(tmp_path, processes, "--autoplay-policy=document-user-activation-required")

    async def scenario() -> tuple[dict, dict]:
        async with aiohttp.ClientSession() as http:
            async with page_tools(http, devtools_port) as tools:
                await open_page(tools, url)
                await until_page_shows(tools, "6 waiting")
                await until_voice(tools, lambda v: v["asking"], "asking for a click")
                for _ in range(6):
                    station.call_next(1)
                    station.complete(1)
                held = await until_voice(tools, lambda v: len(v["waiting"]) + len(v["dropped"]) == 6, "hearing of six calls")
                await click(tools, 640, 400)
                done = await until_voice(tools, lambda v: len(v["said"]) + len(v["failed"]) == 4, "saying four calls")
                return held, done

    held, done = asyncio.run(scenario())
    assert (held["dropped"], held["waiting"]) == (["A001", "A002"], ["A003", "A004", "A005", "A006"])
    assert (done["said"], done["failed"], done["waiting"]) == (["A003", "A004", "A005", "A006"], [], [])
