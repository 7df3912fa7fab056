"""The clerk's desk: the window, the citizen at it with all the ticket's errands, the queue at a
glance, the devices, and a key for every action (the key strip at the bottom wraps, so every key
is shown at 80 columns too; the command palette, Ctrl+P, lists them all again).

The app sets what the desk shows (attributes down: `view`, `log`, `devices`, `busy`, `question`);
the desk tells the app what the clerk asked for (messages up: `Operate`, `Handle`, `Transfer`,
...). It never reads the station itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Label

from cabin.kiosk.faces.base import WINDOW_STATE_KEYS, settle_memory
from cabin.kiosk.faces.counter.devices import DeviceBar, ShowsDevices
from cabin.kiosk.faces.counter.dialogs import REQUEST_STATE_KEYS, errand_lines, service_name
from cabin.kiosk.faces.counter.model import DeskView
from cabin.kiosk.faces.widgets import BigNumber, Pane, TitleBar

if TYPE_CHECKING:
    from cabin.kiosk.business.accounts import Account

# key, action, catalog keys of its name and of its line of help, who sees it ("all", "supervisor", "demo")
DESK_KEYS = (
    ("n", "call", "ctr_key_call", "ctr_help_call", "all"),
    ("r", "recall", "ctr_key_recall", "ctr_help_recall", "all"),
    ("m", "no_show", "ctr_key_no_show", "ctr_help_no_show", "all"),
    ("s", "start", "ctr_key_start", "ctr_help_start", "all"),
    ("enter", "handle", "ctr_key_handle", "ctr_help_handle", "all"),
    ("c", "complete", "ctr_key_complete", "ctr_help_complete", "all"),
    ("t", "transfer", "ctr_key_transfer", "ctr_help_transfer", "all"),
    ("o", "window_state('open')", "ctr_key_open", "ctr_help_open", "all"),
    ("p", "window_state('paused')", "key_pause", "ctr_help_pause", "all"),
    ("x", "window_state('closed')", "ctr_key_close", "ctr_help_close", "all"),
    ("d", "check_devices", "ctr_key_devices", "ctr_help_devices", "all"),
    ("u", "supervisor", "ctr_key_supervisor", "ctr_help_supervisor", "supervisor"),
    ("l", "sign_out", "ctr_key_sign_out", "ctr_help_sign_out", "all"),
    ("f3", "switch('dispenser')", "ctr_key_dispenser", "ctr_help_dispenser", "demo"),
    ("f4", "switch('board')", "ctr_key_board", "ctr_help_board", "demo"),
)
KEY_SHOWN = {"enter": "⏎", "escape": "Esc", "ctrl+p": "^P", "ctrl+q": "^Q", "f2": "F2", "f3": "F3", "f4": "F4"}


class KeyStrip(Pane):
    """The screen's keys and what they do, wrapped over as many lines as the width needs."""

    DEFAULT_CLASSES = "key-strip"

    def __init__(self, extra: tuple[tuple[str, str], ...] = ()):
        super().__init__("")
        self.extra = extra  # keys the app binds itself (the palette, quit): shown after the screen's

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.call_after_refresh(self.show_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen) -> None:
        self.show_keys()

    def on_resize(self) -> None:
        self.show_keys()

    def show_keys(self) -> None:
        """Each key with its name, wrapped by hand so a key never parts from its name."""
        items = []
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            label = KEY_SHOWN.get(key, key.upper() if len(key) == 1 else key)
            item = Text()
            item.append(f" {label} ", style="bold reverse" if active.enabled else "dim reverse")
            item.append(" " + binding.description, style="" if active.enabled else "dim")
            items.append(item)
        for label, description in self.extra:
            items.append(Text.assemble((f" {label} ", "bold reverse"), " " + description))
        width = max(20, (self.size.width or self.app.size.width) - 2)
        lines, line = [], Text()
        for item in items:
            if line and line.cell_len + 2 + item.cell_len > width:
                lines.append(line)
                line = Text()
            if line:
                line.append("  ")
            line.append_text(item)
        if line:
            lines.append(line)
        self.show(Text("\n").join(lines), shape=(len(lines), width))


class LogLine(NamedTuple):
    """The desk's last line: what was done, or what went wrong (error)."""

    text: str
    error: bool = False


class DeskScreen(ShowsDevices, Screen):
    """The counter's desk: the window, the citizen at it, the queue, the keys.

    A yes-or-no (complete this errand?) is asked in the bottom bar, not in a dialog: the desk
    stays in view while the clerk decides, Enter says yes, Escape no, and the other keys rest
    until then. (A dialog also cost a repaint of the whole desk to open and another to close.)
    The only question is whether to complete the errand at the window: yes asks the app to.
    """

    # -- what the clerk asked for (handled by the app) ----------------------------------------
    @dataclass
    class Operate(Message):
        """A queue operation at this window: call, recall, no_show, start, complete, window."""

        op: str
        state: str | None = None  # the window's new state (op "window")

    @dataclass
    class Handle(Message):
        """Enter: the errand's workflow."""

    @dataclass
    class Transfer(Message):
        """The errand at the window goes to another window or service."""

    @dataclass
    class CheckDevices(Message):
        """Check the window's devices now."""

    @dataclass
    class OpenSupervisor(Message):
        """The supervisor's view (supervisor accounts)."""

    @dataclass
    class SignOut(Message):
        """Sign out, back to the sign-in."""

    # -- what the app sets ---------------------------------------------------------------------
    view: var[DeskView | None] = var(None, always_update=True)  # each read redraws (and re-checks the keys)
    log: var[LogLine] = var(LogLine(""), always_update=True)
    busy = var(False)                                         # a queue operation is under way
    question: var[str | None] = var(None, init=False)         # asked in the bottom bar until answered

    def __init__(self, account: Account, demo: bool = False, view: DeskView | None = None,
                 log: LogLine = LogLine(""), devices: dict | None = None):
        super().__init__()
        self.account, self.demo = account, demo
        # drawn once mounted (on_mount): set without the watchers, which draw on a mounted desk
        self.set_reactive(DeskScreen.view, view)
        self.set_reactive(DeskScreen.log, log)
        self.set_reactive(DeskScreen.devices, devices or {})
        t = self.app.strings
        for key, action, name, _, who in DESK_KEYS:
            if who == "demo" and not demo:
                continue
            self._bindings.bind(key, action, t(name), show=True)
        # after the desk's own: Enter is "handle" until a question is asked, then "yes"
        self._bindings.bind("enter,y", "answer(True)", show=False)
        self._bindings.bind("escape,n", "answer(False)", show=False)

    def compose(self) -> ComposeResult:
        app = self.app
        t = app.strings
        yield TitleBar(app.station_name(), app.face_name())
        yield DeviceBar("", id="device-bar")
        with Horizontal(id="desk-body"):
            with Vertical(id="desk-ticket"):
                yield Label("", id="window-line")
                yield Label(t("ctr_current_title"), classes="section-title")
                yield BigNumber("-", id="current-number")
                yield Pane("", id="current-state")
                yield Label(t("ctr_errands_title"), classes="section-title", id="errands-title")
                yield Pane("", id="current-errands")
            with Vertical(id="desk-queue"):
                yield Label(t("ctr_queue_title"), classes="section-title")
                yield Pane("", id="queue-summary")
                yield Pane("", id="queue-table")
        with Vertical(classes="bottom-bar"):
            yield Pane("", id="desk-question")
            yield Pane("", id="desk-log")
            yield KeyStrip(((KEY_SHOWN["ctrl+p"], t("ctr_key_palette")), (KEY_SHOWN["ctrl+q"], t("key_quit"))))

    def on_mount(self) -> None:
        self.call_after_refresh(settle_memory)
        self.watch_devices(self.devices)
        if self.view is not None:
            self.show_view(self.view)
        self.show_log(self.log.text)

    def watch_view(self, view: DeskView | None) -> None:
        if view is not None:
            self.show_view(view)
        self.refresh_bindings()

    def watch_log(self, line: LogLine) -> None:
        self.show_log(line.text, line.error)

    def watch_busy(self, busy: bool) -> None:
        # only at the end: the keys are not dimmed for the moment an operation takes
        if not busy:
            self.refresh_bindings()

    # -- which actions apply now ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if self.question is not None:
            return action == "answer"
        if action == "answer":
            return False
        return self.action_state(action, parameters)

    def action_state(self, action: str, parameters: tuple = ()) -> bool | None:
        """Whether a desk action applies now (the keys, the palette): True, None (shown, not
        now) or False (not for this account)."""
        if action == "supervisor":
            return self.account.role == "supervisor"
        if action == "switch":
            return self.demo
        if action in ("check_devices", "sign_out"):
            return True
        view = self.view
        if view is None or self.busy:
            return None
        current = view.current
        if action == "call":
            return (view.state == "open" and current is None) or None
        if action in ("recall", "no_show", "start"):
            return (current is not None and current.state == "called") or None
        if action in ("complete", "transfer", "handle"):
            return current is not None or None
        if action == "window_state":
            state = parameters[0] if parameters else None
            return state is None or view.state != state or None
        return True

    def palette_commands(self):
        """The command palette's entries: every desk action that applies now, with its key and
        a line of help."""
        t = self.app.strings
        for key, action, name, help, who in DESK_KEYS:
            if who == "demo" and not self.demo:
                continue
            if self.action_state(action, ()) is False:
                continue
            shown = KEY_SHOWN.get(key, key.upper())
            yield f"{t(name)}  [{shown}]", action, t(help)

    # -- the yes-or-no ---------------------------------------------------------------------------
    def watch_question(self, question: str | None) -> None:
        bar = self.query_one("#desk-question", Pane)
        if question is not None:
            bar.show(f"{question}　　{self.app.strings('ctr_dialog_confirm_hint')}")
        bar.display = question is not None
        self.refresh_bindings()

    def action_answer(self, yes: bool) -> None:
        self.question = None
        if yes:
            self.post_message(self.Operate("complete"))

    # -- actions: the app does them ---------------------------------------------------------
    def action_call(self) -> None:
        self.post_message(self.Operate("call"))

    def action_recall(self) -> None:
        self.post_message(self.Operate("recall"))

    def action_no_show(self) -> None:
        self.post_message(self.Operate("no_show"))

    def action_start(self) -> None:
        self.post_message(self.Operate("start"))

    def action_complete(self) -> None:
        """Asked here, at once: the Enter typed right after it answers the question."""
        current = self.view.current if self.view else None
        if current is not None:
            self.question = self.app.strings("ctr_confirm_complete", ticket=current.ticket,
                                              service=service_name(self.app.strings, self.app.config, current.service))

    def action_handle(self) -> None:
        self.post_message(self.Handle())

    def action_transfer(self) -> None:
        self.post_message(self.Transfer())

    def action_window_state(self, state: str) -> None:
        self.post_message(self.Operate("window", state))

    def action_check_devices(self) -> None:
        self.post_message(self.CheckDevices())

    def action_supervisor(self) -> None:
        self.post_message(self.OpenSupervisor())

    def action_sign_out(self) -> None:
        self.post_message(self.SignOut())

    def action_switch(self, face: str) -> None:
        self.app.exit(face)

    # -- drawing -------------------------------------------------------------------------------
    def show_log(self, text: str, error: bool = False) -> None:
        if not self.is_mounted:
            return
        log = self.query_one("#desk-log", Pane)
        log.show(text)
        log.set_class(error, "-error")

    def show_view(self, view: DeskView) -> None:
        if not self.is_mounted:
            return  # on_mount draws the app's latest view
        app = self.app
        t, config = app.strings, app.config
        window = config.windows[view.window]
        line = t("ctr_window_line", window=t("window_n", n=view.window), name=t.name(window),
                 state=t(WINDOW_STATE_KEYS[view.state]))
        window_line = self.query_one("#window-line", Label)
        if str(window_line.content) != line:
            window_line.update(line, layout=False)  # one line, the pane's width: its size never changes
        self.query_one("#window-line").set_classes(f"-{view.state}")
        number = self.query_one("#current-number", BigNumber)
        state = self.query_one("#current-state", Pane)
        errands = self.query_one("#current-errands", Pane)
        if view.current is None:
            number.show(None)
            state.show(t("ctr_no_current") if view.state == "open" else t("ctr_window_not_open"))
            errands.show("", shape="1fr")
        else:
            c = view.current
            number.show(c.ticket)
            what = service_name(t, config, c.service)
            lines = [f"[b]{t(REQUEST_STATE_KEYS[c.state])}[/]  {what}"]
            if view.ticket:
                errand = next((e for e in view.ticket.errands if e.request_id == c.request_id), None)
                if errand and errand.recalls:
                    lines.append(t("ctr_recalls", n=errand.recalls))
                errands.show("\n".join(errand_lines(t, config, view.ticket)), shape="1fr")  # its height is the layout's
            lines.append(t("ctr_hint_called") if c.state == "called" else t("ctr_hint_serving"))
            state.show("\n".join(lines))
        self.show_queue(view)

    def show_queue(self, view: DeskView) -> None:
        t, config = self.app.strings, self.app.config
        summary = self.query_one("#queue-summary", Pane)
        table_widget = self.query_one("#queue-table", Pane)
        if not view.waiting:
            summary.show(t("nobody_waiting"))
            table_widget.show("")
            return
        summary.show(t("ctr_queue_total", n=view.waiting, here=view.waiting_here, m=view.longest_min))
        table = Table(box=None, padding=(0, 1, 0, 0), expand=True, show_edge=False, header_style="bold")
        table.add_column(t("ctr_col_service"), ratio=1, no_wrap=True, overflow="ellipsis")
        for key in ("ctr_col_waiting", "ctr_col_longest", "ctr_col_estimate"):
            table.add_column(t(key), justify="right", no_wrap=True)
        rows = sorted((s for s in view.services if s.waiting), key=lambda s: (-s.longest_min, s.service))
        for s in rows:
            service = config.services[s.service]
            name = ("• " if s.here else "  ") + t.name(service)
            table.add_row(Text(name, style="" if s.here else "dim"), str(s.waiting), t("ctr_minutes", m=s.longest_min),
                          t("ctr_minutes", m=round(s.estimated_min)))
        legend = Text(t("ctr_here_legend"), style="dim") if any(s.here for s in rows) else Text("")
        shown = tuple((s.service, s.here, s.waiting, s.longest_min, round(s.estimated_min)) for s in rows)
        table_widget.show(Group(table, legend), key=(shown, legend.plain),
                          shape=(len(rows), legend.plain, table_widget.content_size.width))
