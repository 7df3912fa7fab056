"""The rating face (`cabin rate --window N`): the citizen's screen at a window — a second screen
or a tablet — where the errand just completed there is rated (好差评, kiosk/business/ratings.py).

Five big buttons, 非常满意 to 非常不满意 (keys 1 to 5 from a keypad); 不满意 or worse then asks for a
reason from the configured list (its buttons, or keys 1 to N; Esc goes back). The rating is
recorded in a worker thread; the screen thanks the citizen, or says in their language why it was
refused (nothing completed yet, rated already, too late), and is ready again a few seconds later.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from cabin.queue.errors import CabinError

from cabin.kiosk.business.ratings import LEVELS, NEEDS_REASON, Ratings
from cabin.kiosk.faces.base import FaceApp, StationLink
from cabin.kiosk.faces.widgets import TitleBar

# the catalog's words for the five levels (kiosk/business/ratings.py LEVELS are the stored ones)
LEVEL_KEYS = {1: "rating_level_1", 2: "rating_level_2", 3: "rating_level_3", 4: "rating_level_4", 5: "rating_level_5"}
READY_AGAIN_S = 5.0  # how long the thanks (or the refusal) stays before the next citizen's screen


class RatingApp(FaceApp):
    BINDINGS = [*((str(n), f"press({n})", "") for n in range(1, 10)), ("escape", "back", "")]

    def __init__(self, link: StationLink, window: int, lang: str | None = None, theme: str | None = None):
        super().__init__(link, lang=lang, theme=theme)
        self.window = window
        self.reasons = list(link.config.ratings.reasons)  # (code, text), in the config's order
        self.level: int | None = None  # a bad level waiting for its reason
        self.busy = False

    def compose(self) -> ComposeResult:
        s = self.strings
        yield TitleBar(self.station_name(), f"{s('rating_title')} · {s('window_n', n=self.window)}")
        with Vertical():
            yield Label(s("rating_prompt"), id="rating-prompt")
            with Horizontal(id="rating-levels"):
                for level in LEVELS:
                    variant = "error" if level in NEEDS_REASON else "success" if level == 1 else "primary"
                    yield Button(f"{level} {s(LEVEL_KEYS[level])}", id=f"level-{level}", variant=variant)
            with Vertical(id="rating-reason-panel"):
                yield Label(s("rating_reason_prompt"), id="rating-reason-prompt")
                with Horizontal(id="rating-reasons"):
                    for n, (code, text) in enumerate(self.reasons, 1):
                        yield Button(f"{n} {text}", id=f"reason-{code}")
            yield Label("", id="rating-status")
            yield Label(s("rating_privacy"), id="rating-privacy")

    # -- the citizen's choices ----------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        kind, _, value = (event.button.id or "").partition("-")
        if kind == "level":
            self.choose_level(int(value))
        elif kind == "reason":
            self.choose_reason(value)

    def action_press(self, n: int) -> None:
        if self.level is not None:
            if n <= len(self.reasons):
                self.choose_reason(self.reasons[n - 1][0])
        elif n in LEVELS:
            self.choose_level(n)

    def action_back(self) -> None:
        self.ask_reason(None)

    def choose_level(self, level: int) -> None:
        if self.busy:
            return
        if level in NEEDS_REASON:
            self.ask_reason(level)
        else:
            self.send(level, None)

    def choose_reason(self, code: str) -> None:
        if self.level is not None and not self.busy:
            self.send(self.level, code)

    def ask_reason(self, level: int | None) -> None:
        self.level = level
        self.query_one("#rating-reason-panel").set_class(level is not None, "asking")

    # -- recording ------------------------------------------------------------------------------
    def send(self, level: int, reason: str | None) -> None:
        self.busy = True
        self.status(self.strings("rating_saving"))
        self.record(level, reason)

    @work(thread=True, exclusive=True)
    def record(self, level: int, reason: str | None) -> None:
        try:
            Ratings(self.link.station().store, self.config, self.link.clock).record(self.window, level, reason)
        except CabinError as exc:  # nothing completed here yet, rated already, too late
            self.call_from_thread(self.done, self.strings.refusal(exc))
        except Exception:  # noqa: BLE001 - the database in trouble: said, never raised at a citizen
            self.call_from_thread(self.done, self.strings("database_trouble"))
        else:
            self.call_from_thread(self.done, self.strings("rating_thanks"))

    def done(self, text: str) -> None:
        self.ask_reason(None)
        self.status(text)
        self.set_timer(READY_AGAIN_S, self.ready_again)

    def ready_again(self) -> None:
        self.busy = False
        self.status("")

    def status(self, text: str) -> None:
        self.query_one("#rating-status", Label).update(text)
