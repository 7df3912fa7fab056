"""The counter app (`cabin counter --window N`): the clerk's screen at one window.

Sign in (a clerk or supervisor account), then the desk (counter_desk.py): open the window, call,
recall, no-show, start, handle the errand (its workflow screen, kiosk/faces/workflows/),
complete, transfer; the ticket at the window with all its errands; the queue at a glance; the
devices. Queue operations are attributed to the clerk signed in (`Station(..., clerk=name)`).

Every database and device call runs in a thread worker that posts a message back; the screen
never waits. Three workers run all the time: the station watch (kiosk/faces/watch.py: a NOTIFY
from the PostgreSQL server, or PRAGMA data_version every WATCH_SECONDS on SQLite, so calls made
at other windows show at once; "offline — reconnecting" across the top while the server cannot
be reached), the device check (every
CHECK_SECONDS, sooner while one is at fault) and the scanner's tick. A hand scanner's token
(`CABIN1:...` + Enter) pulls the ticket up from any screen (counter_scanner.py).

The screens never call the app: the sign-in and the desk post what the clerk asked for
(`LoginScreen.SignIn`, `DeskScreen.Operate`, ...), and the app sets what they show on the
screens it made (`self.login`, `self.desk`: `refusal`, `view`, `log`, `devices`, `busy`,
`question`).
"""

from __future__ import annotations

import threading
import time
from functools import partial

from textual import events, work
from textual.command import DiscoveryHit, Hit, Provider
from textual.message import Message
from textual.reactive import var
from textual.worker import get_current_worker

from cabin.queue.errors import CabinError, NothingToCall
from cabin.queue.results import AtWindow, Outlook, Ticket

from cabin.kiosk.faces.base import ROLE_KEYS, WINDOW_STATE_KEYS, FaceApp, Refusal, StationLink, name_stands
from cabin.kiosk.faces.counter.desk import KEY_SHOWN, DeskScreen, LogLine
from cabin.kiosk.faces.counter.devices import (
    CHECK_SECONDS,
    FAULT_CHECK_SECONDS,
    window_devices,
)
from cabin.kiosk.faces.counter.dialogs import TicketCard, TransferScreen, service_name
from cabin.kiosk.faces.counter.login import COUNTER_ROLES, LoginScreen
from cabin.kiosk.faces.counter.model import DeskView, read_desk
from cabin.kiosk.faces.counter.scanner import GAP_SECONDS, ScanBuffer
from cabin.kiosk.faces.watch import follow_station, offline

WATCH_SECONDS = 0.2     # SQLite: other windows' calls show within this
REFRESH_SECONDS = 30.0  # the longest wait grows with the clock, without any commit
RETRY_SECONDS = 1.0


class CounterCommands(Provider):
    """The command palette (Ctrl+P): every action of the screen it is opened on, by name, with
    its key — the desk's with a line of help each; a workflow's or the supervisor's view's are
    the keys its footer shows (enabled ones only) and those of its PALETTE_ALSO actions."""

    def _commands(self):
        screen = self.screen
        palette = getattr(screen, "palette_commands", None)  # the desk's own, with help
        if palette is None:
            yield from self._screen_keys(screen)
            return
        for text, action, help in palette():
            yield text, partial(self.app.call_later, screen.run_action, action), help

    def _screen_keys(self, screen):
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            offered = binding.show or binding.action.partition("(")[0] in getattr(screen, "PALETTE_ALSO", ())
            if not (offered and binding.description and active.enabled) or binding.action in seen:
                continue
            seen.add(binding.action)
            shown = KEY_SHOWN.get(key, key.upper() if len(key) == 1 or key.startswith("f") else key)
            run = partial(self.app.call_later, active.node.run_action, binding.action)
            yield f"{binding.description}  [{shown}]", run, None

    async def discover(self):
        for text, command, help in self._commands():
            yield DiscoveryHit(text, command, help=help)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for text, command, help in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help)


class CounterApp(FaceApp):
    TITLE = "Cabin"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {CounterCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"

    # -- messages from the workers ---------------------------------------------------------
    class SignedIn(Message):
        def __init__(self, account):
            super().__init__()
            self.account = account

    class SignInRefused(Message):
        def __init__(self, text: str, keep_name: bool = False):
            super().__init__()
            self.text, self.keep_name = text, keep_name

    class ViewRead(Message):
        def __init__(self, seq: int, view: DeskView):
            super().__init__()
            self.seq, self.view = seq, view

    class OpDone(Message):
        def __init__(self, text: str, error: bool, then: str | None = None):
            super().__init__()
            self.text, self.error, self.then = text, error, then

    class DevicesChecked(Message):
        def __init__(self, statuses: dict):
            super().__init__()
            self.statuses = statuses

    class Scanned(Message):
        def __init__(self, ticket: Ticket | None, outlook: Outlook | None, text: str = ""):
            super().__init__()
            self.ticket, self.outlook, self.text = ticket, outlook, text

    op_running = var(False)  # a queue operation is under way (the desk's keys wait for it)

    def __init__(self, link: StationLink, window: int, lang: str | None = None, theme: str | None = None, *,
                 demo: bool = False, demo_accounts=(), account=None, scan_gap: float = GAP_SECONDS,
                 watch_seconds: float = WATCH_SECONDS, device_seconds: float = CHECK_SECONDS):
        super().__init__(link, lang, theme)
        if window not in self.config.windows:
            raise CabinError(f"there is no window {window} in the station config (windows: "
                             f"{', '.join(map(str, sorted(self.config.windows)))})")
        self.window_number = window
        self.demo, self.demo_accounts = demo, tuple(demo_accounts)
        self.account = account
        self.view: DeskView | None = None
        self.last_log = ""
        self.login: LoginScreen | None = None  # the screens this app shows state on, while they are up
        self.desk: DeskScreen | None = None
        self.card: TicketCard | None = None
        self.scanner = ScanBuffer(scan_gap)
        self.watch_seconds, self.device_seconds = watch_seconds, device_seconds
        self.device_config = window_devices(self.config, window)
        self.devices: dict = {role: ("checking" if d else None) for role, d in self.device_config.items()}
        self._devices_checked_at = 0.0
        self._devices_checking = False
        self._read_lock = threading.Lock()
        self._read_seq = 0
        self._shown_seq = -1
        self.frames = 0  # views drawn (the benchmark waits on it)
        if demo:
            for key, face in (("f3", "dispenser"), ("f4", "board")):
                self._bindings.bind(key, f"switch('{face}')", show=False)

    def face_name(self) -> str:
        t = self.strings
        who = f" · {self.account.name}" if self.account else ""
        return f"{t('ctr_counter_title')} · {t('window_n', n=self.window_number)}{who}"

    # -- start -----------------------------------------------------------------------------
    def on_mount(self) -> None:  # FaceApp.on_mount runs too (Textual calls each class's handler)
        self.title = self.strings("ctr_counter_title")
        self.set_interval(0.1, self._scan_tick)
        self.set_interval(1.0, self._device_tick)
        self.push_screen(self._new_desk() if self.account is not None else self._new_login())
        self.check_devices()
        self.watch_station()

    # -- the scanner: every key passes through it first ---------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            fed = self.scanner.feed(event.key, event.character, event)
            await self._after_scan(fed)
            return
        await super().on_event(event)

    async def _after_scan(self, fed) -> None:
        for held in fed.release:
            intercept = getattr(self.screen, "intercept_key", None)
            if intercept is not None and intercept(held):
                continue
            await super().on_event(held)
        if fed.incomplete:
            self.notify(self.strings("ctr_scan_incomplete"), severity="warning")
        if fed.token:
            self.pull_up(fed.token)

    async def _scan_tick(self) -> None:
        fed = self.scanner.expire()
        if fed.release or fed.incomplete:
            await self._after_scan(fed)

    @work(thread=True, group="scan")
    def pull_up(self, token: str) -> None:
        t = self.strings
        try:
            desk = self.link.desk()
            found = desk.verify(token)
            station = self.link.station()
            ticket = station.show_ticket(str(found["ticket_id"]))
            outlook = station.outlook(str(found["ticket_id"]))
        except (CabinError, RuntimeError) as exc:
            self.post_message(self.Scanned(None, None, t("ctr_scan_refused", reason=t.refusal(exc))))
        except OSError as exc:
            self.post_message(self.Scanned(None, None, t("database_trouble") + f" ({exc})"))
        else:
            self.post_message(self.Scanned(ticket, outlook))

    def on_counter_app_scanned(self, message: Scanned) -> None:
        if message.ticket is None:
            self.notify(message.text, severity="error", timeout=8)
            self.log_line(message.text, error=True)
            return
        if self.screen is self.card:  # a ticket pulled up before: the new one takes its place
            self.pop_screen()
        self.card = TicketCard(message.ticket, message.outlook)
        self.push_screen(self.card)

    # -- the screens this app shows state on ----------------------------------------------------
    def _new_login(self) -> LoginScreen:
        self.desk = None
        self.login = LoginScreen(self.demo_accounts, self.devices)
        return self.login

    def _new_desk(self) -> DeskScreen:
        self.login = None
        self.desk = DeskScreen(self.account, self.demo, self.view, LogLine(self.last_log), self.devices)
        return self.desk

    def watch_op_running(self, running: bool) -> None:
        if self.desk is not None:
            self.desk.busy = running

    # -- signing in and out ---------------------------------------------------------------------
    def on_login_screen_sign_in(self, message: LoginScreen.SignIn) -> None:
        self.sign_in(message.name, message.password)

    @work(thread=True, exclusive=True, group="sign-in")
    def sign_in(self, name: str, password: str) -> None:
        from cabin.kiosk.business.accounts import Accounts

        t = self.strings
        try:
            account = Accounts(self.link.station().store, self.link.clock).authenticate(name, password)
        except CabinError as exc:
            self.post_message(self.SignInRefused(t.refusal(exc), keep_name=name_stands(exc)))
        except OSError as exc:
            self.post_message(self.SignInRefused(t("database_trouble") + f" ({exc})", keep_name=True))
        else:
            if account.role not in COUNTER_ROLES:
                self.post_message(self.SignInRefused(t("ctr_login_not_counter", name=account.name,
                                                       role=t(ROLE_KEYS[account.role]))))
            else:
                self.post_message(self.SignedIn(account))

    def on_counter_app_signed_in(self, message: SignedIn) -> None:
        self.account = message.account
        self.last_log = self.strings("ctr_signed_in", name=self.account.name, role=self.strings(ROLE_KEYS[self.account.role]))
        self.switch_screen(self._new_desk())
        self.read_view()

    def on_counter_app_sign_in_refused(self, message: SignInRefused) -> None:
        if self.login is not None:
            self.login.refusal = Refusal(message.text, message.keep_name)

    def on_desk_screen_sign_out(self) -> None:
        self.account = None
        self.last_log = ""
        while len(self.screen_stack) > 2:  # the default screen, then the desk: back to the desk
            self.pop_screen()
        self.switch_screen(self._new_login())

    # -- the view ---------------------------------------------------------------------------------
    def _read(self) -> tuple[int, DeskView]:
        with self._read_lock:  # reads are numbered in the order they read: a late one never wins
            self._read_seq += 1
            return self._read_seq, read_desk(self.link.station(), self.window_number)

    @work(thread=True, exclusive=True, group="watch")
    def watch_station(self) -> None:
        worker = get_current_worker()

        def read() -> None:
            self.post_message(self.ViewRead(*self._read()))

        def trouble(error: BaseException | None) -> None:
            if error is not None:
                self.log.warning(f"counter: cannot read the station: {error}")
            self.post_message(self.StationTrouble(error))

        follow_station(self.link, lambda: worker.is_cancelled, read, trouble, poll_seconds=self.watch_seconds,
                       refresh_seconds=REFRESH_SECONDS, retry_seconds=RETRY_SECONDS)

    @work(thread=True, group="read")
    def read_view(self) -> None:
        try:
            seq, view = self._read()
        except (CabinError, OSError) as exc:
            self.log.warning(f"counter: cannot read the station: {exc}")
            return
        self.post_message(self.ViewRead(seq, view))

    def on_counter_app_view_read(self, message: ViewRead) -> None:
        if message.seq < self._shown_seq:
            return
        self._shown_seq = message.seq
        if self.offline:  # read: the server is back, whichever worker found it first
            self.show_offline(False)
        self.view = message.view
        self.frames += 1
        if self.desk is not None:
            self.desk.view = message.view

    def log_line(self, text: str, error: bool = False) -> None:
        self.last_log = text
        if self.desk is not None:
            self.desk.log = LogLine(text, error)

    # -- queue operations (a thread each; the result comes back as OpDone) ------------------------------
    def on_desk_screen_operate(self, message: DeskScreen.Operate) -> None:
        self.queue_op(message.op, **({"state": message.state} if message.op == "window" else {}))

    def queue_op(self, op: str, then: str | None = None, **kw) -> None:
        if self.account is None or self.op_running:
            return
        self.op_running = True
        self._queue_op(op, then, kw)

    @work(thread=True, group="op")
    def _queue_op(self, op: str, then: str | None, kw: dict) -> None:
        t = self.strings
        n = self.window_number
        error = False
        try:
            station = self.link.station_as(self.account.name)
            text = self._do(station, op, n, kw)
        except NothingToCall:
            text = t("ctr_did_call_none")
        except CabinError as exc:
            text, error, then = t("ctr_refused", reason=t.refusal(exc)), True, None
            if offline(exc):  # said at once, before the watch finds it too
                self.post_message(self.StationTrouble(exc))
        except OSError as exc:
            text, error, then = t("database_trouble") + f" ({exc})", True, None
        try:
            seq, view = self._read()
            self.post_message(self.ViewRead(seq, view))
        except (CabinError, OSError) as exc:
            self.log.warning(f"counter: cannot read the station: {exc}")
        self.post_message(self.OpDone(text, error, then))

    def _service(self, code: str) -> str:
        return service_name(self.strings, self.config, code)

    def _do(self, station, op: str, n: int, kw: dict) -> str:
        t = self.strings
        if op == "call":
            c = station.call_next(n)
            return t("ctr_did_call", ticket=c.ticket, service=self._service(c.service))
        if op == "recall":
            r = station.recall(n)
            if r.no_show:
                return t("ctr_did_recall_no_show", ticket=r.ticket, n=r.recalls)
            return t("ctr_did_recall", ticket=r.ticket, n=r.recalls)
        if op == "no_show":
            return t("ctr_did_no_show", ticket=station.no_show(n).ticket)
        if op == "start":
            return t("ctr_did_start", ticket=station.start(n).ticket)
        if op == "complete":
            service = self.view.current.service if self.view and self.view.current else ""
            r = station.complete(n)
            text = t("ctr_did_complete", ticket=r.ticket, service=self._service(service))
            if r.continued:
                text += t("ctr_did_continue", service=self._service(r.continued.service))
            return text
        if op == "transfer":
            r = station.transfer(n, to_window=kw.get("to_window"), to_service=kw.get("to_service"))
            if r.to_window:
                return t("ctr_did_transfer_window", ticket=r.ticket, window=t("window_n", n=r.to_window))
            return t("ctr_did_transfer_service", ticket=r.ticket, service=self._service(r.service))
        if op == "window":
            r = station.set_window(n, kw["state"])
            key = WINDOW_STATE_KEYS[kw["state"]]
            return t("ctr_did_window", window=t("window_n", n=n), state=t(key)) if r.changed else \
                t("ctr_did_window_same", window=t("window_n", n=n), state=t(key))
        raise ValueError(op)

    def on_counter_app_op_done(self, message: OpDone) -> None:
        self.op_running = False  # the desk's keys are checked again (DeskScreen.watch_busy)
        self.log_line(message.text, message.error)
        if message.then == "workflow":
            self.open_workflow()

    # -- complete, handle, transfer ------------------------------------------------------------------
    def _current(self) -> AtWindow | None:
        current = self.view.current if self.view else None
        if current is None:
            self.log_line(self.strings("ctr_need_current"), error=True)
        return current

    def ask_complete(self, question: str) -> None:
        """Ask the desk's yes-or-no; yes comes back as DeskScreen.Operate("complete")."""
        if self.desk is not None:
            self.desk.question = question

    def on_desk_screen_handle(self) -> None:
        """Enter: the errand's workflow (started first if the citizen was only called)."""
        current = self._current()
        if current is None:
            return
        if current.state == "called":
            self.queue_op("start", then="workflow")
        else:
            self.open_workflow()

    def open_workflow(self) -> None:
        current = self.view.current if self.view else None
        if current is None or self.account is None:
            return
        # imported when first needed: the workflow screens are not part of the desk's cold start
        from cabin.kiosk.faces.counter.workflows.context import WorkflowContext
        from cabin.kiosk.faces.counter.workflows.registry import screen_for

        context = WorkflowContext(self.link, self.account, self.config.windows[self.window_number], current.as_dict())
        screen = screen_for(context)
        if screen is None:
            self.ask_complete(self.strings("ctr_confirm_no_workflow", ticket=current.ticket,
                                           service=self._service(current.service)))
            return
        self.push_screen(screen, callback=self._workflow_done)

    def _workflow_done(self, result) -> None:
        t = self.strings
        current = self.view.current if self.view else None
        if result is not None and result.completed:
            self.log_line(result.message or t("ctr_workflow_completed"))
            self.read_view()
        elif result is not None and result.recorded:
            self.log_line(result.message or t("ctr_workflow_recorded", receipt=result.receipt or ""))
            if current is not None:
                self.ask_complete(t("ctr_confirm_complete_recorded", ticket=current.ticket,
                                    receipt=result.receipt or "", service=self._service(current.service)))
        else:
            self.log_line(t("ctr_workflow_back"))

    def on_desk_screen_transfer(self) -> None:
        current = self._current()
        if current is None:
            return

        def chosen(choice) -> None:
            if choice is None:
                return
            kind, value = choice
            self.queue_op("transfer", **({"to_window": value} if kind == "window" else {"to_service": value}))

        self.push_screen(TransferScreen(current.ticket, current.service, self.window_number,
                                        self.view.windows), callback=chosen)

    def on_desk_screen_open_supervisor(self) -> None:
        if self.account is None or self.account.role != "supervisor":
            return
        from cabin.kiosk.faces.supervisor import SupervisorScreen  # when first needed, as the workflows

        self.push_screen(SupervisorScreen(self.account), callback=lambda _: self.read_view())

    def action_switch(self, face: str) -> None:
        if self.demo:
            self.exit(face)

    # -- devices ---------------------------------------------------------------------------------------
    def on_desk_screen_check_devices(self) -> None:
        self.check_devices()

    def check_devices(self) -> None:
        if self._devices_checking:
            return
        self._devices_checking = True
        self._check_devices()

    @work(thread=True, group="devices")
    def _check_devices(self) -> None:
        from cabin.kiosk.devices import check

        statuses = {role: check(device) if device else None for role, device in self.device_config.items()}
        self.post_message(self.DevicesChecked(statuses))

    def on_counter_app_devices_checked(self, message: DevicesChecked) -> None:
        self._devices_checking = False
        self._devices_checked_at = time.monotonic()
        self.devices = message.statuses
        for screen in (self.login, self.desk):
            if screen is not None:
                screen.devices = self.devices

    def any_device_fault(self) -> bool:
        return any(isinstance(s, dict) and s["status"] != "ready" for s in self.devices.values())

    def _device_tick(self) -> None:
        every = FAULT_CHECK_SECONDS if self.any_device_fault() else self.device_seconds
        if time.monotonic() - self._devices_checked_at >= every:
            self.check_devices()

