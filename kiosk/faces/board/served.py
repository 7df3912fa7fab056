"""`cabin board --serve HOST:PORT`: the lobby board as a web page, one board for every browser.

textual-serve starts a Textual app per websocket (a board process of ~65 MB and a CPU-second
for each browser, without a limit). A board is the same for everybody, so this server (aiohttp,
with textual-serve's page scripts) starts ONE board process, under textual's web driver, and
sends what it draws to every browser watching:

- the board is drawn at the size of the smallest screen watching, so every screen shows all of
  it; each browser's size is clamped to COLUMNS x ROWS, whatever its URL or messages say;
- a browser that joins a board already running gets the whole screen drawn again (Ctrl+L to the
  board process, see served_board.py); the browsers' keys and mouse never reach the board;
- at most `[faces] served_viewers` browsers watch at once (default 8); the next one gets a plain
  page in Chinese and English saying the board is full, which tries again every 30 s;
- the board process starts with the first browser and stops LINGER_SECONDS after the last one
  left; it runs in a process group of its own and is killed by the kernel if the server dies
  (PR_SET_PDEATHSIG), so no board process outlives the server;
- the calls are said by the browsers (a TV's speakers), through `/sounds` and `/sounds/N.wav`
  (served_voice.py); a page says that a TV's browser needs one click to allow sound;
- the server answers only `/`, `/ws`, `/sounds`, `/sounds/N.wav` and the four files the page
  uses under `/static/` (no listing); the page loads nothing from any other host (its font
  included) and says so to the browser (Content-Security-Policy).

`cabin rate --window N --serve HOST:PORT` serves the rating face the same way, one process for
one tablet ([faces] served_viewers does not apply: at most RATING_VIEWERS), and that face is
operated: the browser's keys and taps (the "stdin" of textual-serve's page) reach it.

This module imports neither Textual nor the station: the board process does.
"""

from __future__ import annotations

import asyncio
import errno
import html
import ipaddress
import json
import os
import signal
import socket
import string
from dataclasses import dataclass, field
from pathlib import Path

from cabin.queue.errors import CabinError

COLUMNS = (40, 250)   # a browser's terminal size is clamped to these ranges: a URL asking for
ROWS = (12, 80)       # 8000 x 4000 cells got 165 MB of frames from textual-serve
DEFAULT_SIZE = (120, 40)
FONT_SIZES = (8, 64)
LINGER_SECONDS = 10.0          # a page reloaded finds its board still running
REDRAW_DELAY = 0.05            # browsers joining together get one redraw
RESIZE_DELAY = 0.25            # the board follows browsers' sizes at most four times a second
VIEWER_BACKLOG = 4 * 1024**2   # bytes waiting for one browser; beyond, it is too slow and dropped
FULL_RETRY_SECONDS = 30
WS_MAX_MESSAGE = 64 * 1024     # a browser sends sizes, pings and (to an operated face) keys, nothing big
STDIN_MAX = 4096               # one message of keys or taps to an operated face
RATING_VIEWERS = 1             # a rating face is one citizen's screen at one window

PAGE = Path(__file__).with_name("served_page.html")
START_OF_SCREEN = "\x1b[?1049h\x1b[?25l"  # what a browser joining late missed: alternate screen, no cursor
CLEAR = "\x1b[2J"
REDRAW_KEY = "\x0c"  # Ctrl+L

# The page's only files (textual-serve's static folder). Anything else is 404; no listing.
STATIC = {
    "css/xterm.css": "text/css",
    "js/textual.js": "application/javascript",
    "fonts/RobotoMono-VariableFont_wght.ttf": "font/ttf",
    "images/background.png": "image/png",
}
CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'")

FULL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry}">
<title>看板已满 · The board is full</title>
<style>body{{background:#0c181f;color:#eee;font:24px sans-serif;text-align:center;padding-top:20vh}}</style>
</head><body>
<p>看板观看人数已满（{cap} 个屏幕）。本页每 {retry} 秒自动重试。</p>
<p>The board is full ({cap} screens are watching). This page tries again every {retry} seconds.</p>
</body></html>
"""
RATING_FULL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry}">
<title>评价屏使用中 · The rating screen is in use</title>
<style>body{{background:#0c181f;color:#eee;font:24px sans-serif;text-align:center;padding-top:20vh}}</style>
</head><body>
<p>这个窗口的评价屏已在另一个屏幕上打开。本页每 {retry} 秒自动重试。</p>
<p>This window's rating screen is open on another screen. This page tries again every {retry} seconds.</p>
</body></html>
"""


# -- the address -------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True when only this machine can reach `host`: a loopback address, or a name that resolves
    to loopback addresses only (`localhost`). 0.0.0.0 and :: listen on every interface: False."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise CabinError("cannot find the address of {host!r} in --serve: {why}", host=host, why=exc.strerror or str(exc)) from None
    return bool(found) and all(ipaddress.ip_address(a[4][0].split("%")[0]).is_loopback for a in found)


def exposure(host: str, port: int) -> str:
    """What a public board shows, said when it starts (stderr)."""
    shown = f"[{host}]" if ":" in host else host
    return (f"cabin: the lobby board is served to the network at http://{shown}:{port}: anyone who can reach this "
            "machine sees the queue numbers, the windows and their states, the last calls and how many are "
            "waiting (never a name or an ID number)")


def rating_exposure(host: str, port: int, window: int) -> str:
    """What a public rating face lets the network do, said when it starts (stderr)."""
    shown = f"[{host}]" if ":" in host else host
    return (f"cabin: the rating screen of window {window} is served to the network at http://{shown}:{port}: "
            "anyone who can reach this machine can rate the errand last completed at that window "
            "(once each; it shows no name or ID number)")


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A browser's terminal size within COLUMNS x ROWS; what is not a number (in ASCII digits) gets
    the default. A number of a thousand digits is not converted: it is the largest size."""
    def one(value: object, bounds: tuple[int, int], default: int) -> int:
        text = str(value).strip()
        if not text or any(c not in "0123456789" for c in text):
            return default
        return bounds[1] if len(text) > 6 else max(bounds[0], min(bounds[1], int(text)))

    return one(width, COLUMNS, DEFAULT_SIZE[0]), one(height, ROWS, DEFAULT_SIZE[1])


# -- the one board, many browsers ------------------------------------------------------------
def _packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


@dataclass(eq=False)
class Viewer:
    """One browser's websocket, with what is still to be sent to it (sent in order by its own
    task, so a slow browser never holds up the others)."""

    ws: object
    size: tuple[int, int]
    backlog: int = 0
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    dropped: bool = False

    def send(self, data: bytes) -> None:
        if self.dropped:
            return
        if self.backlog + len(data) > VIEWER_BACKLOG:
            self.dropped = True  # it cannot keep up; its page offers to reconnect
            self.outbox.put_nowait(None)
            return
        self.backlog += len(data)
        self.outbox.put_nowait(data)

    async def pump(self) -> None:
        try:
            while (data := await self.outbox.get()) is not None:
                self.backlog -= len(data)
                await self.ws.send_bytes(data)
        except (ConnectionError, RuntimeError):  # the browser went away mid-frame
            self.dropped = True
        finally:
            await self.ws.close()


class SharedBoard:
    """The board process and the browsers watching it."""

    def __init__(self, argv: list[str], on_call=None):
        self.argv = argv
        self.on_call = on_call  # a call the board would say: {"type": "cabin_call", "ticket", "window"}
        self.viewers: list[Viewer] = []
        self.process: asyncio.subprocess.Process | None = None
        self.size: tuple[int, int] | None = None
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._linger: asyncio.TimerHandle | None = None
        self._redraw: asyncio.TimerHandle | None = None
        self._refit: asyncio.TimerHandle | None = None

    async def join(self, viewer: Viewer) -> None:
        async with self._lock:
            if self._linger:
                self._linger.cancel()
                self._linger = None
            self.viewers.append(viewer)
            if self.process is None:
                await self._start(viewer.size)  # its first frame is the whole screen
            else:
                viewer.send(START_OF_SCREEN.encode())
                if not await self._fit():
                    self._redraw_soon()

    async def leave(self, viewer: Viewer) -> None:
        async with self._lock:
            if viewer in self.viewers:
                self.viewers.remove(viewer)
            viewer.dropped = True
            viewer.outbox.put_nowait(None)
            if not self.viewers and self.process is not None:
                loop = asyncio.get_running_loop()
                self._linger = loop.call_later(LINGER_SECONDS, lambda: asyncio.ensure_future(self._stop_if_unwatched()))
            elif self.viewers:
                await self._fit()

    def resize(self, viewer: Viewer, size: tuple[int, int]) -> None:
        """A browser's new size; the board follows at most every RESIZE_DELAY (each resize lays
        the whole board out again: a browser sending sizes in a loop must not keep it busy)."""
        viewer.size = size
        if self._refit is None:
            async def refit() -> None:
                async with self._lock:
                    self._refit = None
                    if self.viewers:
                        await self._fit()

            self._refit = asyncio.get_running_loop().call_later(RESIZE_DELAY, lambda: asyncio.ensure_future(refit()))

    async def _fit(self) -> bool:
        """Size the board to the smallest screen watching; True when that changed it."""
        want = (min(v.size[0] for v in self.viewers), min(v.size[1] for v in self.viewers))
        if want == self.size or self.process is None:
            return False
        self.size = want
        self._broadcast(CLEAR.encode())  # a larger screen keeps no piece of the larger board
        await self._write(_packet(b"M", json.dumps({"type": "resize", "width": want[0], "height": want[1]}).encode()))
        return True

    async def type(self, keys: str) -> None:
        """A browser's keys and taps (terminal input, as xterm.js sends it) to an operated face."""
        await self._write(_packet(b"D", keys.encode("utf-8", errors="replace")))

    def _redraw_soon(self) -> None:
        if self._redraw is None:
            def press() -> None:
                self._redraw = None
                asyncio.ensure_future(self._write(_packet(b"D", REDRAW_KEY.encode())))
            self._redraw = asyncio.get_running_loop().call_later(REDRAW_DELAY, press)

    async def _start(self, size: tuple[int, int]) -> None:
        env = dict(os.environ, TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver", TEXTUAL_FPS="30",
                   TEXTUAL_COLOR_SYSTEM="truecolor", TERM_PROGRAM="textual",
                   COLUMNS=str(size[0]), ROWS=str(size[1]))
        env.pop("TEXTUAL", None)  # no devtools from the environment into a public board
        self.size = size
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, "--parent", str(os.getpid()), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=None, env=env,
            process_group=0)  # its own group: the server ends it with everything it may start
        self._reader = asyncio.create_task(self._read(self.process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        """Everything the board draws, to every browser; when the board ends, the pages say so."""
        out = process.stdout
        try:
            for _ in range(10):  # textual's web driver starts with this line
                if await out.readline() == b"__GANGLION__\n":
                    break
            while True:
                kind = await out.readexactly(1)
                payload = await out.readexactly(int.from_bytes(await out.readexactly(4), "big"))
                if kind == b"D":
                    self._broadcast(payload)
                elif kind == b"M":
                    meta = json.loads(payload)
                    if meta.get("type") == "exit":
                        break
                    if meta.get("type") == "cabin_call" and self.on_call is not None:
                        self.on_call(meta)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            if self.process is process:
                self.process, self.size = None, None
                for v in self.viewers:  # nothing more to draw: each page closes once it has what was sent
                    v.dropped = True
                    v.outbox.put_nowait(None)
            await self._end(process)

    def _broadcast(self, data: bytes) -> None:
        for v in self.viewers:
            v.send(data)

    async def _write(self, packet: bytes) -> None:
        process = self.process
        if process is None or process.stdin is None:
            return
        try:
            process.stdin.write(packet)
            await process.stdin.drain()
        except (ConnectionError, RuntimeError):
            pass  # the board has ended; _read notices

    async def _stop_if_unwatched(self) -> None:
        async with self._lock:
            self._linger = None
            if not self.viewers:
                await self.stop()

    async def stop(self) -> None:
        """Ask the board to quit; after 5 s its whole process group is killed."""
        process, reader = self.process, self._reader
        if process is None:
            return
        await self._write(_packet(b"M", json.dumps({"type": "quit"}).encode()))
        self.process, self.size = None, None
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            pass
        await self._end(process)
        if reader is not None:
            reader.cancel()

    @staticmethod
    async def _end(process: asyncio.subprocess.Process) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        await process.wait()


# -- the web server ----------------------------------------------------------------------------
class BoardServer:
    def __init__(self, board_argv: list[str], title: str, viewers: int, voice=None, operated: bool = False,
                 full_page: str = FULL_PAGE):
        """`voice`: a ServedVoice when the calls are said ([board] announce), else None;
        `operated`: the browsers' keys and taps reach the face (the rating face), else it is only
        watched (the board); `full_page`: what the browser past `viewers` is shown."""
        self.operated = operated
        self.full_page = full_page
        from textual_serve import server as textual_serve_server

        self.voice = voice
        self.board = SharedBoard(board_argv, on_call=voice.call if voice is not None else None)
        self.title = title
        self.cap = viewers
        self.watching = 0  # browsers admitted, counted at once: many may arrive while the board starts
        self.listening = 0  # pages following /sounds, as many as may watch
        self.static = Path(textual_serve_server.__file__).with_name("static")
        self.page = string.Template(PAGE.read_text(encoding="utf-8"))

    def app(self):
        from aiohttp import web

        app = web.Application(client_max_size=4096)  # nothing is posted here
        app.add_routes([web.get("/", self.index), web.get("/ws", self.websocket),
                        web.get("/sounds", self.sounds), web.get("/sounds/{number}.wav", self.sound),
                        web.get("/static/{name:.+}", self.static_file)])
        app.on_shutdown.append(self._on_shutdown)
        return app

    def full(self) -> bool:
        return self.watching >= self.cap

    def _full_page(self):
        from aiohttp import web

        return web.Response(status=503, text=self.full_page.format(cap=self.cap, retry=FULL_RETRY_SECONDS),
                            content_type="text/html", headers={"Retry-After": str(FULL_RETRY_SECONDS),
                                                               "Content-Security-Policy": CSP})

    async def index(self, request):
        from aiohttp import web

        if self.full():
            return self._full_page()
        font = request.query.get("fontsize", "16")
        font_size = int(font) if font.isascii() and font.isdigit() and len(font) < 3 else 16
        font_size = max(FONT_SIZES[0], min(FONT_SIZES[1], font_size))
        # the websocket is on the host the browser reached, whatever address the server bound
        body = self.page.substitute(title=html.escape(self.title), font_size=font_size,
                                    websocket_url=html.escape(f"ws://{request.host}/ws", quote=True),
                                    voice="on" if self.voice is not None else "off",
                                    backlog=self.voice.board.backlog if self.voice is not None else 0)
        return web.Response(text=body, content_type="text/html", headers={"Content-Security-Policy": CSP})

    async def static_file(self, request):
        from aiohttp import web

        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.FileResponse(self.static / name, headers={"Content-Type": STATIC[name]})

    async def sounds(self, request):
        """The calls' sounds as they are made, to one page (server-sent events)."""
        from aiohttp import web

        if self.voice is None:
            raise web.HTTPNotFound()
        if self.listening >= self.cap:
            return self._full_page()
        self.listening += 1
        try:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                                   "Content-Security-Policy": CSP})
            await response.prepare(request)
            await self.voice.stream(response, request.headers.get("Last-Event-ID"))
            return response
        finally:
            self.listening -= 1

    async def sound(self, request):
        from aiohttp import web

        wav = self.voice.wav(request.match_info["number"]) if self.voice is not None else None
        if wav is None:
            raise web.HTTPNotFound()  # never made, or dropped past the backlog
        return web.Response(body=wav, content_type="audio/wav", headers={"Cache-Control": "no-store"})

    async def websocket(self, request):
        if self.full():
            return self._full_page()
        self.watching += 1
        try:
            return await self._watch(request)
        finally:
            self.watching -= 1

    async def _watch(self, request):
        from aiohttp import WSMsgType, web

        viewer = Viewer(web.WebSocketResponse(heartbeat=15, max_msg_size=WS_MAX_MESSAGE),
                        clamp_size(request.query.get("width", ""), request.query.get("height", "")))
        ws = viewer.ws
        await ws.prepare(request)
        pump = asyncio.create_task(viewer.pump())
        try:
            await self.board.join(viewer)
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    envelope = json.loads(message.data)
                    kind = envelope[0]
                except (ValueError, TypeError, IndexError, KeyError):
                    continue
                if kind == "resize" and isinstance(envelope[1], dict):
                    size = clamp_size(envelope[1].get("width", ""), envelope[1].get("height", ""))
                    self.board.resize(viewer, size)
                elif kind == "ping" and len(envelope) > 1 and isinstance(envelope[1], str) and len(envelope[1]) < 32:
                    await ws.send_str(json.dumps(["pong", envelope[1]]))
                elif (kind == "stdin" and self.operated and len(envelope) > 1 and isinstance(envelope[1], str)
                      and len(envelope[1]) <= STDIN_MAX):
                    await self.board.type(envelope[1])
                # "focus", "blur"; and "stdin" to a board: a served board is watched, not operated
        finally:
            await self.board.leave(viewer)
            try:
                await asyncio.wait_for(pump, 5)
            except asyncio.TimeoutError:
                pass  # wait_for has cancelled it
        return ws

    async def _on_shutdown(self, app) -> None:
        if self.voice is not None:
            await self.voice.stop()
        for v in list(self.board.viewers):
            await v.ws.close()
        await self.board.stop()


def serve(board_argv: list[str], host: str, port: int, *, title: str, viewers: int,
          ready=lambda url: None, voice=None, operated: bool = False, full_page: str = FULL_PAGE) -> None:
    """Serve until SIGINT or SIGTERM. `ready(url)` is called once the port is bound; `voice`: a
    ServedVoice, or None when the calls are not said; `operated`, `full_page`: BoardServer's."""
    asyncio.run(_serve(BoardServer(board_argv, title, viewers, voice, operated, full_page), host, port, ready))


async def _serve(server: BoardServer, host: str, port: int, ready) -> None:
    from aiohttp import web

    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise CabinError(_bind_refusal(exc), host=host, port=port, why=exc.strerror or str(exc)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{port}")
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _bind_refusal(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return ("port {port} on {host} is already in use (another program, or a board or rating screen served"
                " already): choose another port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return "{host} is not an address of this machine: serve the page on one of its own addresses"
    if exc.errno == errno.EACCES:
        return "port {port} needs administrator rights: choose a port above 1023, like 8000"
    return "cannot serve the page on {host} port {port}: {why}"


__all__ = ["is_loopback", "exposure", "rating_exposure", "clamp_size", "serve", "SharedBoard", "BoardServer"]
