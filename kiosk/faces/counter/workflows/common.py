"""What every workflow screen shares: the frame (title, the errand, a status line, the footer),
the thread worker that runs one service call at a time, the identity fields (read from the
window's card reader, or typed with a reason), the audited reveal, and a few small widgets.

No rule lives here: a screen gathers what the clerk gives, calls the service layer
(cabin.kiosk.*) in a thread worker, and shows what comes back — a refusal in the service's own
words, a device fault in plain words with what to do next.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Footer, Input, Label, Static

from cabin.drivers.errors import DeviceError
from cabin.kiosk.privacy import mask_card
from cabin.queue.errors import CabinError

from cabin.kiosk.faces.base import enter_in_fields
from cabin.kiosk.faces.faults import FAULT_KEYS
from cabin.kiosk.faces.strings import CATALOG
from cabin.kiosk.faces.widgets import TitleBar
from cabin.kiosk.faces.counter.workflows.context import WorkflowContext, WorkflowResult

READER_TIMEOUT = 10.0  # seconds the reader waits for a card to be placed
# why a temporary card is asked for while the main card is pending (TempCards' basis)
BASIS_KEYS = {"application": "basis_application", "household_register": "basis_household_register",
              "pending_receipt": "basis_pending_receipt"}


# -- bindings in the face's language ---------------------------------------------------------------
class Localised:
    """A screen whose bindings' descriptions are catalog keys: the footer shows them in the
    face's language (Textual's bindings are declared once per class, in one language)."""

    @property
    def active_bindings(self):  # type: ignore[override]
        shown = super().active_bindings  # type: ignore[misc]
        t = self.app.strings  # type: ignore[attr-defined]
        return {key: ab._replace(binding=dataclasses.replace(ab.binding, description=t(ab.binding.description)))
                if ab.binding.description in CATALOG else ab for key, ab in shown.items()}


# -- small widgets -----------------------------------------------------------------------------------
class Choice(Static, can_focus=True):
    """One of a few options, changed with ← → or Space; Enter is left to the screen (confirm)."""

    BINDINGS = [Binding("left", "step(-1)", show=False), Binding("right,space", "step(1)", show=False)]

    class Changed(Message):
        def __init__(self, choice: "Choice"):
            super().__init__()
            self.choice = choice

    index = reactive(0, layout=True)  # the width follows the option shown

    def __init__(self, options: list[tuple[str, str]], *, id: str, value: str | None = None):
        super().__init__("", id=id, classes="choice")
        self.options = options
        if value is not None:
            self.index = [v for _, v in options].index(value)

    @property
    def value(self) -> str:
        return self.options[self.index][1]

    @value.setter
    def value(self, value: str) -> None:
        self.index = [v for _, v in self.options].index(value)

    def render(self) -> str:
        return f"‹ {self.options[self.index][0]} ›"

    def action_step(self, by: int) -> None:
        self.index = (self.index + by) % len(self.options)

    def watch_index(self) -> None:
        self.post_message(self.Changed(self))

    def on_click(self, event: events.Click) -> None:
        self.action_step(1)


class Tick(Checkbox, inherit_bindings=False):
    """A checkbox ticked with Space only: Enter stays the screen's confirm."""

    BINDINGS = [Binding("space", "toggle_button", show=False)]


def field(label: str, widget, id: str | None = None) -> Horizontal:
    """One line: a label and its input."""
    return Horizontal(Label(label, classes="field-label"), widget, classes="field", id=id)


def text_input(id: str, placeholder: str = "", password: bool = False, value: str = "") -> Input:
    return Input(value=value, placeholder=placeholder, password=password, id=id, compact=True)


# -- modal prompts --------------------------------------------------------------------------------------
class AskScreen(Localised, ModalScreen):
    """Asks for one or more lines of text (a reason, a name and password); Enter confirms,
    Escape cancels (dismissed with None). Returns {field id: text}. A field with the id "why"
    is a reason: under the fields, after any `hint`, the screen says what a reason must not
    hold (names, ID numbers, phones: kept for ever in the audit log; kiosk/text.clean_reason)."""

    BINDINGS = [Binding("escape", "cancel", "key_cancel"), Binding("enter", "ok", "key_ok", priority=True)]

    def __init__(self, title: str, fields: list[tuple[str, str, bool]], hint: str = ""):
        super().__init__()
        self._title, self._fields, self._hint = title, fields, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="ask"):
            yield Label(self._title, classes="section-title")
            for fid, label, secret in self._fields:
                yield field(label, text_input(fid, password=secret))
            if self._hint:
                yield Static(self._hint, classes="ask-hint")
            if any(fid == "why" for fid, _, _ in self._fields):
                yield Static(self.app.strings("hint_reason"), classes="ask-hint")
            yield Footer()

    def action_ok(self) -> None:
        """Enter: on to the next line at once; on the last line, done once every line is given."""
        enter_in_fields(self, list(self.query(Input)), self._finish)

    def _finish(self) -> None:
        inputs = list(self.query(Input))
        empty = [i for i in inputs if not i.value.strip()]
        if empty:
            empty[0].focus()
        else:
            self.dismiss({i.id: i.value for i in inputs})

    def action_cancel(self) -> None:
        self.dismiss(None)


class ShowScreen(Localised, ModalScreen):
    """Shows lines (a revealed record) until Enter or Escape."""

    BINDINGS = [Binding("escape,enter", "close", "key_close")]

    def __init__(self, title: str, lines: list[str]):
        super().__init__()
        self._title, self._lines = title, lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="ask"):
            yield Label(self._title, classes="section-title")
            yield Static("\n".join(self._lines), classes="shown", markup=False)
            yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


# -- the worker's answers -----------------------------------------------------------------------------
class JobDone(Message):
    def __init__(self, tag: str, result):
        super().__init__()
        self.tag, self.result = tag, result


class JobFailed(Message):
    def __init__(self, tag: str, error: Exception):
        super().__init__()
        self.tag, self.error = tag, error


REVEAL_LABELS = {"number": "f_number", "id_number": "f_number", "name": "f_name", "sex": "f_sex",
                 "nation_code": "f_nation", "birth": "f_birth", "address": "f_address",
                 "agent_kind": "f_agent", "agent_number": "f_agent_number", "agent_name": "f_agent_name",
                 "agent_document": "f_attorney", "source_reason": "f_reason", "finder_name": "f_finder",
                 "finder_phone": "f_phone", "close_reason": "f_reason", "returned_reason": "f_reason"}


class WorkflowScreen(Localised, Screen):
    """The frame of a workflow: the errand on top, the form in the middle, the status line and
    the footer at the bottom. Subclasses give `title_key`, `body()` and `action_confirm()`.

    `result` is what Escape hands back: nothing (WorkflowResult()) until a record is made."""

    BINDINGS = [
        Binding("escape", "back", "back"),
        # priority: Enter confirms the step whichever field has the focus (an Input would take it)
        Binding("enter", "enter", "key_confirm", priority=True),
        Binding("f2", "read_card", "key_read_card"),
        Binding("f4", "type_by_hand", "key_type_by_hand"),
        Binding("f5", "reveal", "key_reveal"),
    ]
    title_key = ""
    reveal_kind = ""     # cabin.kiosk.business.reveal kind of the record this screen makes
    uses_reader = True

    def __init__(self, context: WorkflowContext, *, reader_timeout: float = READER_TIMEOUT):
        super().__init__(classes="workflow")
        self.context = context
        self.reader_timeout = reader_timeout
        self.busy = False
        self.card = None            # the IdCard just read (unmasked: never shown as it is)
        self.result = WorkflowResult()
        self.reveal_ref: str | None = None
        self.done = False           # the record is made: the identity is closed, Enter finishes

    # -- frame ----------------------------------------------------------------------------------
    @property
    def t(self):
        return self.app.strings

    @property
    def config(self):
        return self.context.link.config

    def compose(self) -> ComposeResult:
        t, ctx = self.t, self.context
        yield TitleBar(self.app.station_name(), t(self.title_key))
        service = self.config.services.get(ctx.request.get("service", ""))
        yield Label(t("wf_errand", ticket=ctx.request.get("ticket", "-"),
                      service=t.name(service) if service else ctx.request.get("service", ""),
                      window=ctx.window.number, clerk=ctx.clerk.name), id="wf-errand")
        with VerticalScroll(id="wf-body"):
            yield from self.body()
        yield Static("", id="wf-status", markup=False)
        yield Footer()

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.say(self.t(self.hint_key()))
        first = next((w for w in self.query("#wf-body Input, #wf-body Choice, #wf-body Tick")
                      if not w.disabled and w.display), None)
        if first is not None:
            first.focus()

    def hint_key(self) -> str:
        return "wf_hint"

    def say(self, text: str, kind: str = "") -> None:
        """The status line: a hint, what was done (-ok), or what went wrong (-fault)."""
        status = self.query_one("#wf-status", Static)
        status.update(text)
        status.set_classes(kind)

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("read_card", "type_by_hand"):
            return self.uses_reader and self.identity_open()
        if action == "reveal":
            return self.reveal_ref is not None
        return True

    def identity_open(self) -> bool:
        """Whether the identity can still be read or typed (not once the record is made)."""
        return not self.done

    # -- the one job at a time ---------------------------------------------------------------------
    def run_job(self, tag: str, fn: Callable[[], object], working_key: str = "wf_working") -> None:
        if self.busy:
            return
        self.busy = True
        self.say(self.t(working_key))
        self._job(tag, fn)

    @work(thread=True, exclusive=True, group="workflow")
    def _job(self, tag: str, fn: Callable[[], object]) -> None:
        try:
            result = fn()
        except Exception as exc:  # a refusal, a device fault, a busy database: shown, never a crash
            self.post_message(JobFailed(tag, exc))
        else:
            self.post_message(JobDone(tag, result))

    def on_job_done(self, message: JobDone) -> None:
        self.busy = False
        getattr(self, f"done_{message.tag}")(message.result)
        self.refresh_bindings()

    def on_job_failed(self, message: JobFailed) -> None:
        self.busy = False
        handler = getattr(self, f"failed_{message.tag}", None)
        if handler is None or not handler(message.error):
            self.say(self.explain(message.error), "-fault")
        self.refresh_bindings()

    def explain(self, error: Exception) -> str:
        t = self.t
        if isinstance(error, CabinError):
            return t("wf_refused", reason=t.refusal(error))
        if isinstance(error, DeviceError):
            return self.device_words(error)
        self.log.error(f"workflow: {error!r}")
        return t("wf_trouble", reason=str(error) or type(error).__name__)

    def device_words(self, error: DeviceError) -> str:
        """A device fault in the face's language (the driver's own sentence goes to the log)."""
        from cabin.kiosk.devices import fault_kind

        self.log.warning(f"workflow: device: {error}")
        key = FAULT_KEYS.get(fault_kind(error))
        return self.t(key) if key else self.t("dev_other", reason=str(error))

    # -- services (called in the worker thread) -------------------------------------------------------
    def store(self):
        return self.context.link.station().store

    def clock(self):
        return self.context.link.clock

    # -- the identity: read from the card, or typed with a reason -------------------------------------
    def identity_fields(self) -> ComposeResult:
        t = self.t
        yield field(t("f_number"), text_input("number", t("ph_number")))
        # the reason and, under it, what it must not hold: shown and hidden together
        yield Vertical(field(t("f_reason"), text_input("reason", t("ph_reason"))),
                       Horizontal(Label("", classes="field-label"), Static(t("hint_reason"), classes="hint"),
                                  classes="field-hint"),
                       id="reason-row", classes="field-group")

    def action_read_card(self) -> None:
        if not (self.uses_reader and self.identity_open()):
            return
        reader = self.context.window.reader
        if reader is None:
            self.say(self.t("wf_no_reader"), "-fault")
            return
        from cabin.kiosk.devices import read_card

        timeout = self.reader_timeout
        self.run_job("read", lambda: read_card(reader.url, reader.baud, timeout), "wf_reading")

    def done_read(self, card) -> None:
        self.card = card
        shown = mask_card(card)
        self.fill_from_card(shown)
        self.say(self.t("wf_card_read", kind=card.card_type.label, name=shown.name, number=shown.id_number), "-ok")

    def fill_from_card(self, shown) -> None:
        number = self.query_one("#number", Input)
        number.value = shown.id_number
        number.disabled = True
        self.query_one("#reason-row").display = False

    def action_type_by_hand(self) -> None:
        if not (self.uses_reader and self.identity_open()):
            return
        self.card = None
        for i in self.query("#wf-body .from-card").results(Input):
            i.value = ""
        for i in self.query("#wf-body .from-card, #number"):
            i.disabled = False
        number = self.query_one("#number", Input)
        number.value = ""
        self.query_one("#reason-row").display = True
        number.focus()
        self.say(self.t("wf_typing"))

    def identity(self) -> tuple[str, str, str | None]:
        """(number, source, reason) as the service layer takes them."""
        if self.card is not None:
            return self.card.id_number, "reader", None
        reason = self.query_one("#reason", Input).value.strip() or None
        return self.query_one("#number", Input).value.strip(), "manual", reason

    # -- reveal (audited) ---------------------------------------------------------------------------------
    def action_reveal(self) -> None:
        if self.reveal_ref is None or self.busy:
            return
        t = self.t
        self.app.push_screen(AskScreen(t("reveal_title", ref=self.reveal_ref), [("why", t("f_reveal_reason"), False)],
                                       t("reveal_hint")), self._reveal_reason)

    def _reveal_reason(self, values: dict | None) -> None:
        if not values:
            return
        from cabin.kiosk.business.reveal import reveal

        kind, ref, clerk, link = self.reveal_kind, self.reveal_ref, self.context.clerk, self.context.link
        reason = values["why"]
        self.run_job("reveal", lambda: reveal(self.store(), kind, ref, by=clerk, reason=reason,
                                              now_ms=link.now_ms()))

    def done_reveal(self, shown: dict) -> None:
        t = self.t
        lines = []
        for key, value in shown.items():
            if key in ("kind", "ref", "revealed_by") or value in (None, ""):
                continue
            if key == "photo_png":
                lines.append(f"{t('f_photo')}: {t('photo_bytes', n=len(value) * 3 // 4)}")
                continue
            lines.append(f"{t(REVEAL_LABELS[key]) if key in REVEAL_LABELS else key}: {value}")
        self.say(t("reveal_logged", ref=shown["ref"]), "-ok")
        self.app.push_screen(ShowScreen(t("reveal_title", ref=shown["ref"]), lines))

    # -- leaving ---------------------------------------------------------------------------------------------
    def action_enter(self) -> None:
        """Enter arrives here before the focused field has taken the keys typed just before it
        (each widget has its own queue: a fast typist, a scanner, tmux), so the step runs from
        that field's queue, after them. `enter_now` may act at once instead (moving the focus,
        so the keys typed after Enter go to the next field)."""
        if self.enter_now():
            return
        (self.focused or self).call_later(self._step)

    def _step(self) -> None:
        """Enter's step: nothing while a device or database call is under way; once the record
        is made, back to the counter; otherwise the screen's own step (`action_confirm`)."""
        if self.busy:
            return
        if self.done:
            self.finish()
            return
        self.action_confirm()

    def enter_now(self) -> bool:
        return False

    def action_confirm(self) -> None:
        raise NotImplementedError

    def action_back(self) -> None:
        if not self.busy:  # a device or database call is under way: its answer must be seen
            self.dismiss(self.result)

    def show_done(self, summary_id: str, lines: list[str]) -> None:
        """The record is made: the form goes (what was typed is not left on the screen in full)
        and the record, masked, takes its place."""
        summary = self.query_one(f"#{summary_id}", Static)
        for child in self.query_one("#wf-body").children:
            child.display = child is summary
        summary.update("\n".join(lines))
        summary.display = True
        for i in self.query("#wf-body Input").results(Input):
            i.value = ""
        self.set_focus(None)

    def finish(self) -> None:
        self.dismiss(self.result)
