"""The counter's small dialogs: the transfer picker and a ticket pulled up by the scanner. Each
is a modal screen: Enter confirms, Escape backs out, nothing needs a mouse. (A yes-or-no is asked
in the desk's own bottom bar: DeskScreen.ask.)"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from cabin.queue.results import Outlook, Ticket, WindowState
from cabin.kiosk.faces.base import WINDOW_STATE_KEYS

REQUEST_STATE_KEYS = {"pending": "ctr_req_pending", "waiting": "ctr_req_waiting", "called": "ctr_req_called",
                      "serving": "ctr_req_serving", "done": "ctr_req_done", "no_show": "ctr_req_no_show",
                      "cancelled": "ctr_req_cancelled", "transferred": "ctr_req_transferred",
                      "expired": "ctr_req_expired"}
TICKET_STATE_KEYS = {"open": "ctr_ticket_open", "closed": "ctr_ticket_closed"}


def service_name(strings, config, code: str) -> str:
    """A service's name in the face's language; its code when the config no longer has it."""
    service = config.services.get(code)
    return strings.name(service) if service else code



def errand_lines(strings, config, ticket: Ticket) -> list[str]:
    """A ticket's errands, one line each: position, service, state, where."""
    lines = []
    for e in ticket.errands:
        name = service_name(strings, config, e.service)
        where = ""
        if e.window and e.state in ("called", "serving", "done", "transferred", "no_show"):
            where = strings("ctr_errand_where", window=strings("window_n", n=e.window))
        elif e.target_window:
            where = strings("ctr_errand_for", window=strings("window_n", n=e.target_window))
        state = strings(REQUEST_STATE_KEYS[e.state])
        style = {"called": "b $accent", "serving": "b $success", "waiting": "", "pending": "dim"}.get(e.state, "dim")
        marker = f"[{style}]{state}[/]" if style else state
        lines.append(f"{e.position}. {name}  {marker}{where}")
    return lines


class TransferScreen(ModalScreen):
    """Where the errand at this window goes: another window that serves it (and is not closed),
    or another service. Dismisses with ("window", n), ("service", code) or None."""

    BINDINGS = [Binding("escape", "back", show=False)]

    def __init__(self, ticket: str, service: str, window: int, windows: tuple[WindowState, ...]):
        super().__init__()
        self.ticket, self.service, self.window, self.windows = ticket, service, window, windows

    def compose(self) -> ComposeResult:
        app = self.app
        t, config = app.strings, app.config
        options = []
        for w in self.windows:
            n = w.window
            if n == self.window or n not in config.windows or self.service not in config.windows[n].services:
                continue
            if w.state == "closed":
                continue
            options.append(Option(t("ctr_transfer_window", window=t("window_n", n=n), name=t.name(config.windows[n]),
                                    state=t(WINDOW_STATE_KEYS[w.state])), id=f"window:{n}"))
        for code, s in config.services.items():
            if code != self.service:
                options.append(Option(t("ctr_transfer_service", service=t.name(s)), id=f"service:{code}"))
        with Vertical(id="transfer-box", classes="dialog"):
            yield Label(t("ctr_transfer_title", ticket=self.ticket), classes="section-title")
            yield OptionList(*options, id="transfer-options")
            yield Label(t("ctr_dialog_pick_hint"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, _, value = event.option.id.partition(":")
        self.dismiss((kind, int(value) if kind == "window" else value))

    def action_back(self) -> None:
        self.dismiss(None)


class TicketCard(ModalScreen):
    """A ticket pulled up by the scanner: its number, state, errands, people ahead."""

    BINDINGS = [Binding("enter,escape", "close", show=False)]

    def __init__(self, ticket: Ticket, outlook: Outlook):
        super().__init__()
        self.ticket, self.outlook = ticket, outlook

    def compose(self) -> ComposeResult:
        app = self.app
        t = app.strings
        ticket = self.ticket
        lines = [t("ctr_scan_state", state=t(TICKET_STATE_KEYS[ticket.state]),
                   priority=t.name(app.config.priorities[ticket.priority])
                   if ticket.priority in app.config.priorities else ticket.priority)]
        if any(e.state == "waiting" for e in ticket.errands):
            ahead = self.outlook.ahead
            lines.append(t("ctr_scan_ahead", n=ahead, m=max(1, round(self.outlook.estimated_wait_min)))
                         if ahead else t("ctr_scan_next"))
        with Vertical(id="scan-box", classes="dialog"):
            yield Label(t("ctr_scan_title", ticket=ticket.ticket), classes="section-title", id="scan-title")
            yield Static("\n".join(lines), id="scan-summary")
            yield Static("\n".join(errand_lines(t, app.config, ticket)), id="scan-errands")
            yield Label(t("ctr_dialog_close_hint"), classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
