"""What every face shares: the stylesheet, the two themes, the language, the station link.

A face is built from a `StationLink` (how to reach the station's store, engine and ticket desk)
and a language; it opens the link in a thread worker, never on the event loop, because opening
the store may wait on another process's write lock.
"""

from __future__ import annotations

import functools
import gc

import html
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from rich.cells import cell_len
from textual.app import App
from textual.message import Message
from textual.theme import Theme

from cabin.config import StationConfig
from cabin.queue.clock import local_time
from cabin.queue.engine import Station
from cabin.queue.store import Store

from cabin.kiosk.faces.strings import Strings
from cabin.kiosk.station import open_station, station_clock

STYLESHEET = Path(__file__).with_name("faces.tcss")

# the catalog's words for an account's role and a window's state, by their value in the store
ROLE_KEYS = {"clerk": "role_clerk", "supervisor": "role_supervisor", "admin": "role_admin"}
WINDOW_STATE_KEYS = {"open": "state_open", "paused": "state_paused", "closed": "state_closed"}

# Two themes of our own, so a station's look does not move with Textual's defaults.
# Dark for a lobby TV and a dim hall; light for a bright hall or a sunny dispenser.
THEMES = {
    "dark": Theme(name="cabin-dark", dark=True, primary="#2F7FD8", secondary="#4BA3C3", accent="#F2B233",
                  warning="#F2B233", error="#E5534B", success="#3FB950",
                  background="#0B1622", surface="#12212F", panel="#1A2D3F", foreground="#E8EEF4"),
    "light": Theme(name="cabin-light", dark=False, primary="#0B5CAD", secondary="#1F7A99", accent="#B35C00",
                   warning="#B35C00", error="#C62828", success="#1B7F3B",
                   background="#F4F6F8", surface="#FFFFFF", panel="#E3E9EF", foreground="#12202E"),
}


@dataclass
class StationLink:
    """How a face reaches the station: the database (a file's Path, or a postgresql:// URL as
    kiosk.paths.resolve_db gives it), the config, the clock (a fixed one in tests) and, for faces
    that issue tickets, the station secret. Opened once, lazily, from a worker thread; the store
    serialises its own use across threads."""

    db: Path | str
    config: StationConfig
    clock: object | None = None
    secret: Callable[[], bytes] | None = None  # read on first use: a bad secret refuses then
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _station: Station | None = field(default=None, repr=False)
    _desk: object | None = field(default=None, repr=False)
    _clerk_stations: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.clock = station_clock(self.config, self.clock)

    def station(self) -> Station:
        with self._lock:
            if self._station is None:
                self._station = open_station(self.db, config=self.config, clock=self.clock)
                self._store = self._station.store
            return self._station

    def station_as(self, clerk: str | None) -> Station:
        """A Station over the same store whose queue operations (and their events) are
        attributed to `clerk`, the account signed in at a counter."""
        station = self.station()
        with self._lock:
            if clerk is None:
                return station
            if clerk not in self._clerk_stations:
                self._clerk_stations[clerk] = Station(station.store, self.config, self.clock, clerk=clerk)
            return self._clerk_stations[clerk]

    def desk(self):
        """The ticket desk (issue, sign, print): the same rules as `cabin ticket issue`."""
        from cabin.kiosk.business.tickets import TicketDesk

        station = self.station()
        with self._lock:
            if self._desk is None:
                if self.secret is None:
                    raise RuntimeError("this face was built without the station secret")
                self._desk = TicketDesk(station, self.config, self.secret())
            return self._desk

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                # under the store's own lock: a worker thread may be halfway through a read
                # (the PostgreSQL store's close takes its own locks)
                lock = getattr(self._store, "_thread_lock", None)
                if lock is None:
                    self._store.close()
                else:
                    with lock:
                        self._store.close()
                self._store = self._station = self._desk = None
                self._clerk_stations.clear()


def name_stands(error: BaseException) -> bool:
    """After a refusal: does the name typed stand? Yes when the sign-in itself was refused
    (SignInRefused: a wrong name or password, a locked or a disabled account are said alike, so
    the face cannot tell them apart either: the name stays for the clerk to check, the password
    is typed again); no when it was refused for who signed (another role, the requester): another
    person signs."""
    from cabin.kiosk.business.accounts import SignInRefused

    return isinstance(error, SignInRefused)


class Refusal(NamedTuple):
    """A refused sign-in, as a sign-in screen shows it: the words, and whether the name stands."""

    text: str
    keep_name: bool


def sign_again(screen, name, password, keep_name: bool) -> None:
    """After a refused sign-in (`name`, `password`: its two Inputs on `screen`): the password is
    typed again, never kept; so is the name unless `keep_name` (name_stands). The focus moves
    at once (Screen.set_focus), so keys typed next land in the field they are meant for."""
    password.value = ""
    if not keep_name:
        name.value = ""
    screen.set_focus(password if keep_name else name)


def enter_in_fields(screen, inputs: list, done: Callable[[], None]) -> None:
    """Enter in a form of text fields (`inputs`, in order), bound with priority on `screen`.

    A priority binding sees Enter as the key arrives, before the focused field has taken the
    keys typed just before it (each widget has its own queue): keys sent in one burst (a
    script, a paste, a fast typist) are already on their way. So Enter moves on to the next
    field at once (Screen.set_focus, unlike Widget.focus()), and the keys after it land there;
    on the last field `done` runs once every field has taken the keys sent to it before."""
    if screen.focused in inputs[:-1]:
        screen.set_focus(inputs[inputs.index(screen.focused) + 1])
        return
    after = done
    for field_ in reversed(inputs):  # the first field's queue, then the next's, ..., then done
        after = functools.partial(field_.call_later, after)
    after()


def settle_memory() -> None:
    """Once a face's working screen is up: collect, then set what lives now aside from the
    cyclic garbage collector (gc.freeze). Textual, the stylesheet and the screen are tens of
    thousands of objects that live as long as the app; a full collection walked them all,
    46 ms in the middle of a key's frame at the counter. The earlier freeze is undone first,
    so a screen left since (the desk of a clerk who signed out) is still collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class FaceApp(App):
    """The base of every face: one stylesheet, the station's two themes, one language."""

    CSS_PATH = STYLESHEET
    ENABLE_COMMAND_PALETTE = False  # a citizen's screen offers nothing beyond what it shows
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    class StationTrouble(Message):
        """The station could not be read (`error`), or can be again (None): from a watch thread."""

        def __init__(self, error: BaseException | None):
            super().__init__()
            self.error = error

    def __init__(self, link: StationLink, lang: str | None = None, theme: str | None = None):
        super().__init__()
        self.offline: str | None = None  # what the title bars say while the server cannot be reached
        self.link = link
        self.config = link.config
        self.strings = Strings(lang or link.config.faces.lang)
        for t in THEMES.values():
            self.register_theme(t)
        self.theme = THEMES[theme or link.config.faces.theme].name

    def station_name(self) -> str:
        return self.strings.name(self.config.station)

    def clock_text(self) -> str:
        """The station's local time (the link's clock: a fixed one in snapshot tests)."""
        return local_time(self.link.now_ms(), self.config.station.tz).strftime("%H:%M")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_clock)

    def _tick_clock(self) -> None:
        from cabin.kiosk.faces.widgets import TitleBar

        for bar in self.screen.query(TitleBar):
            bar.show_clock(self.clock_text())
            bar.show_offline(self.offline)  # a screen pushed meanwhile says it too

    def on_face_app_station_trouble(self, message: StationTrouble) -> None:
        """Offline (the server cannot be reached) across the top of every screen until a read
        works again; other trouble (a busy database) is each face's to say."""
        from cabin.kiosk.faces.watch import offline

        self.show_offline(offline(message.error))

    def show_offline(self, now: bool) -> None:
        """Say (or stop saying) across the top that the station's server cannot be reached."""
        from cabin.kiosk.faces.widgets import TitleBar

        self.offline = self.strings("offline_reconnecting") if now else None
        for bar in self.screen.query(TitleBar):
            bar.show_offline(self.offline)

    def on_unmount(self) -> None:
        self.link.close()

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """An SVG of the screen, with Chinese text as wide as the terminal shows it."""
        return widen_svg_text(super().export_screenshot(title=title, simplify=simplify))


_SVG_TEXT = re.compile(r'(<text [^>]*?textLength=")([0-9.]+)("[^>]*>)([^<]*)(</text>)')


def widen_svg_text(svg: str) -> str:
    """Rich's SVG export sizes each run of text by its characters, not by its terminal cells
    (rich issue #2742), so a hanzi, two cells wide, is squeezed into one and Chinese text
    overlaps itself. Each run's textLength is scaled from characters to cells."""

    def fix(m: re.Match) -> str:
        text = html.unescape(m[4])
        if not text or cell_len(text) == len(text):
            return m[0]
        width = float(m[2]) / len(text) * cell_len(text)
        return f"{m[1]}{width:g}{m[3]}{m[4]}{m[5]}"

    return _SVG_TEXT.sub(fix, svg)
