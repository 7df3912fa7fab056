"""The lobby board (`cabin board`): now serving per window in large digits, the last calls,
the next numbers; a new call flashes.

A thread worker follows the station (kiosk/faces/watch.py): it reads a new BoardView when
another process or host has committed — told by the server's NOTIFY on PostgreSQL, by polling
`PRAGMA data_version` every POLL_SECONDS on SQLite — and posts it to the event loop; the screen
itself never touches the database. While the server cannot be reached the board says it is
offline and reconnecting (the title bar and the notice) and keeps what it showed.

With `speak` (`cabin board` and the served board, not the demo) each new call and recall is also
said, a continued errand not: on this host's speakers (kiosk/faces/board/speakers.py), or, on
the served board, by the browsers (served_app.py, served_voice.py); when nothing can be said
(announce = false, no player, quiet hours) a small line says why, once.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Static
from textual.worker import get_current_worker

from cabin.kiosk.business.announce import is_quiet
from cabin.kiosk.faces.base import FaceApp, StationLink, settle_memory
from cabin.kiosk.faces.board.model import LAST_CALLS, BoardView, CallShown, read_board
from cabin.kiosk.faces.watch import follow_station, offline
from cabin.kiosk.faces.widgets import BigNumber, Notice, TitleBar
from cabin.queue.clock import local_time

POLL_SECONDS = 0.1        # SQLite: a call shows within this plus a read and a frame: well under 0.5 s
REFRESH_SECONDS = 30.0    # read anyway now and then: the day turns at midnight without a commit
RETRY_SECONDS = 1.0       # after a failed read (the database busy or missing, the server unreachable)
FLASH_TIMES = 6           # a new call blinks three times ...
FLASH_SECONDS = 0.4       # ... over 2.4 s, then stays marked (-called) until the next call


class WindowCard(Vertical):
    """One window: its number and name, and the ticket at it in large digits."""

    def __init__(self, number: int, title: str, name: str):
        super().__init__(id=f"window-{number}", classes="window-card")
        self.number, self._title, self._name = number, title, name

    def compose(self) -> ComposeResult:
        with Horizontal(classes="window-head"):
            yield Label(self._title, classes="window-number")
            yield Label(self._name, classes="window-name")
        yield BigNumber("-")
        yield Label("", classes="window-state")

    def show(self, ticket: str | None, state_text: str, state: str) -> None:
        self.query_one(BigNumber).show(ticket)
        self.query_one(".window-state", Label).update(state_text)
        for s in ("open", "paused", "closed"):
            self.set_class(state == s, f"-{s}")
        self.set_class(ticket is not None, "-busy")


class BoardApp(FaceApp):
    """The lobby board. `poll_seconds` is the watch interval (tests shorten nothing: it is
    already short); `clock` in the link fixes the time shown, for snapshots."""

    TITLE = "Cabin"
    DEFAULT_CSS = """
    #voice-notice { width: 100%; height: auto; padding: 0 1; color: $text-muted; }
    """

    class Changed(Message):
        """The station changed: here is the board as it is now."""

        def __init__(self, view: BoardView):
            super().__init__()
            self.view = view

    class Trouble(Message):
        """The station could not be read; the board keeps what it showed and says so."""

        def __init__(self, text: str):
            super().__init__()
            self.text = text

    class VoiceTrouble(Message):
        """An announcement could not be said (from the speakers' thread)."""

        def __init__(self, error: BaseException):
            super().__init__()
            self.error = error

    def __init__(self, link: StationLink, lang: str | None = None, theme: str | None = None, speak: bool = False):
        super().__init__(link, lang, theme)
        self.speak = speak
        self.speakers = None  # Speakers, while this board says its calls
        self._voice_told: str | None = None  # the key of what the voice notice says
        self.view: BoardView | None = None
        self.announced_call_id: int | None = None  # None until the first view: no flash at start
        self._flash_left = 0
        self._flash_windows: set[int] = set()

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        t = self.strings
        yield TitleBar(self.station_name(), t("board_title"))
        yield Static("", id="call-banner")
        with Horizontal(id="board-body"):
            with Vertical(id="now-serving"):
                yield Label(t("now_serving"), classes="section-title")
                with Grid(id="window-grid"):
                    for w in self.config.windows.values():
                        yield WindowCard(w.number, t("window_n", n=w.number), t.name(w))
            with Vertical(id="board-side"):
                yield Label(t("last_calls"), classes="section-title")
                yield Static(t("no_calls_yet"), id="last-calls")
                yield Label(t("next_numbers"), classes="section-title")
                yield Static(t("nobody_waiting"), id="next-numbers")
                yield Label("", id="waiting-total")
        voice_notice = Label("", id="voice-notice", markup=False)  # it names [board] keys
        voice_notice.display = False  # shown only when the calls are not said
        yield voice_notice
        yield Notice(t("board_notice"), id="board-notice")

    def on_mount(self) -> None:  # FaceApp.on_mount runs too (Textual calls each class's handler)
        self.title = self.strings("board_title")
        if self.speak:
            self._start_speakers()
        self.watch_station()
        self.call_after_refresh(settle_memory)

    def _start_speakers(self) -> None:
        if not self.config.board.announce:
            self._tell_voice("voice_off")
            return
        self.speakers = self.open_speakers()
        if self.speakers is not None:
            self.speakers.start()

    def open_speakers(self):
        """What says the calls: this host's speakers through its player program (None, and a
        line saying why, when it has none). The served board says them in the browsers instead."""
        from cabin.kiosk.faces.board.speakers import Speakers
        from cabin.kiosk.player import find_player

        player = find_player(self.config.board.player_command)
        if player is None:
            self._tell_voice("voice_no_player")
            return None
        return Speakers(self.config.board, player, lambda error: self.post_message(self.VoiceTrouble(error)))

    def on_unmount(self) -> None:  # FaceApp.on_unmount runs too
        if self.speakers is not None:
            self.speakers.stop()

    def _tell_voice(self, key: str, **values) -> None:
        self._voice_told = key
        notice = self.query_one("#voice-notice", Label)
        notice.update(self.strings(key, **values))
        notice.display = True

    def _say(self, calls: list[CallShown]) -> None:
        """Queue the new calls' announcements, oldest first; in quiet hours say why instead."""
        quiet_hours = self.config.board.quiet_hours
        for call in calls:
            at = local_time(call.at_ms, self.config.station.tz)
            if is_quiet(quiet_hours, at.hour * 60 + at.minute):
                self._tell_voice("voice_quiet")
            else:
                if self._voice_told == "voice_quiet":  # the quiet hours are over
                    self.query_one("#voice-notice", Label).display = False
                    self._voice_told = None
                self.speakers.say(call.ticket, call.window)

    def on_board_app_voice_trouble(self, message: VoiceTrouble) -> None:
        self._tell_voice("voice_trouble", reason=self.strings.refusal(message.error))

    # -- the watch (a thread) --------------------------------------------------------------
    @work(thread=True, exclusive=True, group="board-watch")
    def watch_station(self) -> None:
        worker = get_current_worker()

        def trouble(error: BaseException | None) -> None:
            if error is not None:
                self.log.warning(f"board: cannot read the station: {error}")
                self.post_message(self.Trouble(self.strings("board_offline" if offline(error) else "database_trouble")))
            self.post_message(self.StationTrouble(error))

        # saying the calls, a burst longer than the calls shown between two reads is said whole
        calls = LAST_CALLS + (self.config.board.backlog if self.speakers is not None else 0)
        follow_station(self.link, lambda: worker.is_cancelled,
                       lambda: self.post_message(self.Changed(read_board(self.link.station(), last_calls=calls))), trouble,
                       poll_seconds=POLL_SECONDS, refresh_seconds=REFRESH_SECONDS, retry_seconds=RETRY_SECONDS)

    # -- showing a view (the event loop) ---------------------------------------------------
    def on_board_app_changed(self, message: Changed) -> None:
        if not self.query("#last-calls"):
            return  # a view read as the board closes: its widgets are gone
        view = message.view
        self.view = view
        t = self.strings
        for window in view.windows:
            cards = self.query(f"#window-{window.window}")
            if not cards:
                continue
            if window.ticket:
                state_text = t("window_serving") if window.serving else t("window_calling")
            else:
                state_text = {"open": t("window_ready"), "paused": t("window_paused")}.get(window.state, t("window_closed"))
            cards.first(WindowCard).show(window.ticket, state_text, window.state)
        self.query_one("#last-calls", Static).update(
            "\n".join(t("call_arrow", ticket=c.ticket, window=c.window) for c in view.last_calls[:LAST_CALLS]) or t("no_calls_yet"))
        self.query_one("#next-numbers", Static).update("  ".join(view.next_numbers) or t("nobody_waiting"))
        self.query_one("#waiting-total", Label).update(t("waiting_total", n=view.waiting))
        self.query_one("#board-notice", Notice).update(t("board_notice"))
        fresh = view.calls_after(self.announced_call_id) if self.announced_call_id is not None else []
        self.announced_call_id = view.newest_call_id
        if view.last_calls:
            self._show_banner(view.last_calls[0])
        if fresh:
            self._flash({c.window for c in fresh})
            if self.speakers is not None:
                self._say(fresh)

    def on_board_app_trouble(self, message: Trouble) -> None:
        self.query_one("#board-notice", Notice).update(message.text)

    def _show_banner(self, call: CallShown) -> None:
        self.query_one("#call-banner", Static).update(self.strings("call_line", ticket=call.ticket, window=call.window))

    def _flash(self, windows: set[int]) -> None:
        for card in self.query(WindowCard):
            card.set_class(card.number in windows, "-called")
        self._flash_windows = windows
        first = self._flash_left == 0
        self._flash_left = FLASH_TIMES
        if first:
            self._flash_step()

    def _flash_step(self) -> None:
        """Blink the banner and the called windows (lit, dark, lit, ...); they end unblinking but
        marked (-called) until the next call."""
        self._flash_left -= 1
        lit = self._flash_left % 2 == 1
        for banner in self.query("#call-banner"):  # a timer's step may come as the board leaves
            banner.set_class(lit, "-flash")
        for card in self.query(WindowCard):
            card.set_class(lit and card.number in self._flash_windows, "-flash")
        if self._flash_left > 0:
            self.set_timer(FLASH_SECONDS, self._flash_step)

    @property
    def flashing(self) -> bool:
        return self._flash_left > 0
