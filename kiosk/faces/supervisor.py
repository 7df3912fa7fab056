"""The supervisor's view: `SupervisorScreen(account)` (the counter app pushes it for supervisor
accounts) and `SupervisorApp` (`cabin supervisor`: its own sign-in, supervisor or admin).

- today's figures across the top — tickets, served, waiting, SLA %, longest wait — and the
  tickets issued per hour as a sparkline: computed by the export's own code
  (`cabin.queue.reports.report.day_report`, its `by_hour` breakdown); the wait still going on
  from `Station.queue_state()`;
- 1 windows: open / pause / close the highlighted one (`Station.set_window`), with the services
  each serves (from the config) and who is at it;
- 2 approvals: temporary cards waiting for the second person; approve or refuse (with a reason)
  as the signed-in account (TempCards refuses the one who took the request);
- 3 accounts: the staff accounts; an admin adds (n) and disables (d) them (Accounts);
- 4 bad ratings: the citizens' 不满意 / 非常不满意 not followed up yet (kiosk/business/ratings.py),
  each of an errand — service, window, clerk, level, reason, when — never of a person; f records
  the follow-up (整改) with a note as the signed-in account, and the rating leaves the list.

Everything is read in a thread worker when another process or host commits (kiosk/faces/watch.py:
NOTIFY on a PostgreSQL server, PRAGMA data_version on SQLite), at least every REFRESH_SECONDS (the
waits grow with the clock) and after each action; the screen itself never touches the database.
While the server cannot be reached, the title bar says "offline — reconnecting".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Sparkline, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from cabin.queue.results import QueueState, WindowState

from cabin.kiosk.business.accounts import Account
from cabin.kiosk.business.ratings import Rating

from cabin.kiosk.faces.base import ROLE_KEYS, WINDOW_STATE_KEYS, FaceApp, Refusal, StationLink, enter_in_fields, name_stands, sign_again
from cabin.kiosk.faces.widgets import TitleBar
from cabin.kiosk.faces.counter.workflows.common import (
    BASIS_KEYS,
    AskScreen,
    JobDone,
    JobFailed,
    Localised,
    field as form_field,
    text_input,
)

REFRESH_SECONDS = 3.0
POLL_SECONDS = 0.2  # SQLite: another window's commit shows within this
SUPERVISOR_ROLES = ("supervisor", "admin")
TABS = ("windows", "approvals", "accounts", "ratings")
DONE_KEYS = {"window": "sv_done_window", "approve": "sv_done_approve", "refuse": "receipt_refused",
             "add": "sv_done_add", "disable": "sv_done_disable", "follow_up": "sv_done_follow_up"}  # what each action says once done


# -- what the screen shows, read in one go (thread side) -----------------------------------------------
@dataclass
class SupervisorView:
    day: str
    figures: dict
    hourly: list[int]                  # tickets issued per hour, 0-23
    waiting_now: int
    longest_waiting_min: float | None  # the longest wait of someone still waiting
    windows: list[WindowState]
    approvals: list[dict]
    accounts: list[Account] = field(default_factory=list)
    bad_ratings: list[Rating] = field(default_factory=list)  # awaiting the follow-up, oldest first


def today_figures(conn, config, day: str, now_ms: int) -> tuple[dict, list[int]]:
    """(the day's summary figures, tickets issued per hour), by the code the daily export uses."""
    from cabin.queue.reports.report import day_report

    figures = day_report(conn, config, day, now_ms=now_ms)
    hourly = [0] * 24
    for row in figures["by_hour"]:
        hourly[row["hour"]] = row["tickets_issued"]
    return figures, hourly


def longest_wait_min(queue: QueueState, now_ms: int) -> float | None:
    """The longest wait still going on, from `Station.queue_state()`: since when the
    longest-waiting errand of each service has waited."""
    since = queue.waiting_since.values()
    return (now_ms - min(since)) / 60_000 if since else None


def read_view(link: StationLink, with_accounts: bool = True) -> SupervisorView:
    from cabin.kiosk.business.accounts import Accounts
    from cabin.kiosk.business.ratings import awaiting_follow_up
    from cabin.kiosk.business.tempcards import TempCards

    station = link.station()
    queue = station.queue_state()
    now_ms = link.now_ms()
    with station.store.read() as conn:
        figures, hourly = today_figures(conn, link.config, queue.day, now_ms)
        bad_ratings = awaiting_follow_up(conn)  # read only: the view writes nothing (see there)
    approvals = TempCards(station.store, link.config, link.clock).list("requested")
    accounts = Accounts(station.store, link.clock).list() if with_accounts else []
    return SupervisorView(queue.day, figures, hourly, sum(queue.waiting.values()),
                          longest_wait_min(queue, now_ms), queue.windows, approvals, accounts, bad_ratings)


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


class SupervisorScreen(Localised, Screen):
    PALETTE_ALSO = ("tab",)  # actions the command palette offers though the footer does not show them
    BINDINGS = [
        Binding("escape", "back", "back"),
        # the tabs' titles show their keys ("1 窗口"): the footer has room for the tab's own keys
        # at 80 columns, and the command palette still offers them (PALETTE_ALSO)
        Binding("1", "tab('windows')", "sv_tab_windows", show=False),
        Binding("2", "tab('approvals')", "sv_tab_approvals", show=False),
        Binding("3", "tab('accounts')", "sv_tab_accounts", show=False),
        Binding("4", "tab('ratings')", "sv_tab_ratings", show=False),
        Binding("o", "window('open')", "key_sv_open"),
        Binding("p", "window('paused')", "key_pause"),
        Binding("c", "window('closed')", "key_close"),
        Binding("a", "approve", "key_sv_approve"),
        Binding("r", "refuse", "key_refuse"),
        Binding("n", "add_account", "key_sv_add"),
        Binding("d", "disable_account", "key_sv_disable"),
        Binding("f", "follow_up", "key_sv_follow_up"),
        Binding("f5", "refresh", "key_sv_refresh"),
        Binding("f6", "applications", "key_applications"),
    ]

    def __init__(self, account: Account, link: StationLink | None = None, *, refresh_seconds: float = REFRESH_SECONDS):
        super().__init__(classes="supervisor")
        self.account = account
        self._link = link
        self.refresh_seconds = refresh_seconds
        self.view: SupervisorView | None = None
        self.busy = False

    @property
    def link(self) -> StationLink:
        return self._link or self.app.link

    @property
    def t(self):
        return self.app.strings

    # -- layout -------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        t = self.t
        yield TitleBar(self.app.station_name(), t("sv_title"))
        with Horizontal(id="sv-figures"):
            yield Static("", id="sv-numbers")
            with Vertical(id="sv-hourly"):
                yield Label(t("sv_hourly"), id="sv-hourly-label")
                yield Sparkline([0], id="sv-spark")
        with TabbedContent(id="sv-tabs", initial="windows"):
            with TabPane(t("sv_tab_windows_title"), id="windows"):
                yield DataTable(id="sv-windows", cursor_type="row", zebra_stripes=True)
            with TabPane(t("sv_tab_approvals_title"), id="approvals"):
                yield DataTable(id="sv-approvals", cursor_type="row", zebra_stripes=True)
            with TabPane(t("sv_tab_accounts_title"), id="accounts"):
                yield DataTable(id="sv-accounts", cursor_type="row", zebra_stripes=True)
            with TabPane(t("sv_tab_ratings_title"), id="ratings"):
                yield DataTable(id="sv-ratings", cursor_type="row", zebra_stripes=True)
        yield Static(t("sv_signed_in", name=self.account.name, role=t(ROLE_KEYS[self.account.role])),
                     id="wf-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#sv-windows", DataTable).add_columns(
            t("sv_col_window"), t("col_state"), t("sv_col_current"), t("sv_col_services"))
        self.query_one("#sv-approvals", DataTable).add_columns(
            t("col_receipt"), t("f_number"), t("f_name"), t("f_basis"), t("sv_col_requested_by"))
        self.query_one("#sv-accounts", DataTable).add_columns(
            t("account"), t("sv_col_role"), t("col_state"))
        self.query_one("#sv-ratings", DataTable).add_columns(
            t("ctr_col_service"), t("sv_col_window"), t("sv_col_clerk"), t("sv_col_level"), t("sv_col_reason"),
            t("sv_col_completed"))
        self.query_one("#sv-windows", DataTable).focus()
        self.watch_station()

    def tab(self) -> str:
        return self.query_one("#sv-tabs", TabbedContent).active or "windows"

    def check_action(self, action: str, parameters) -> bool | None:
        tab = self.tab() if self.is_mounted else "windows"
        if action == "window":
            return tab == "windows"
        if action in ("approve", "refuse"):
            return tab == "approvals"
        if action in ("add_account", "disable_account"):
            return tab == "accounts" and self.account.role == "admin"
        if action == "follow_up":
            return tab == "ratings"
        return True

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        table = event.pane.query(DataTable).first(DataTable)
        table.focus()

    def action_tab(self, tab: str) -> None:
        self.query_one("#sv-tabs", TabbedContent).active = tab
        self.refresh_bindings()

    # -- reading ------------------------------------------------------------------------------------------
    def load(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="supervisor-watch")
    def watch_station(self) -> None:
        from cabin.kiosk.faces.watch import follow_station, offline
        from cabin.queue.errors import CabinError

        worker = get_current_worker()
        app = self.app

        def read() -> None:
            try:
                view = read_view(self.link)
            except (CabinError, OSError):
                raise  # the watch's: offline, or tried again
            except Exception as exc:  # a fault of this view's own: said on its status line, as before
                self.post_message(JobFailed("read", exc))
                return
            self.post_message(JobDone("read", view))

        def trouble(error: BaseException | None) -> None:
            if error is not None and not offline(error):
                self.post_message(JobFailed("read", error))
            app.post_message(FaceApp.StationTrouble(error))

        follow_station(self.link, lambda: worker.is_cancelled, read, trouble,
                       poll_seconds=POLL_SECONDS, refresh_seconds=self.refresh_seconds)

    @work(thread=True, exclusive=True, group="supervisor-read")
    def _read(self) -> None:
        try:
            view = read_view(self.link)
        except Exception as exc:
            self.post_message(JobFailed("read", exc))
        else:
            self.post_message(JobDone("read", view))

    def action_refresh(self) -> None:
        self.load()

    def show(self, view: SupervisorView) -> None:
        t = self.t
        self.view = view
        f = view.figures
        sla = f.get("sla_share")
        longest = max((v for v in (f.get("wait_max_min"), view.longest_waiting_min) if v is not None), default=None)
        self.query_one("#sv-numbers", Static).update(t(
            "sv_numbers", day=view.day, tickets=f.get("tickets_issued", 0), served=f.get("errands_done", 0),
            waiting=view.waiting_now, sla="-" if sla is None else f"{sla * 100:.0f}",
            target=f.get("sla_target_min", 20), longest=minutes(longest)))
        hours = self.opening_hours()
        self.query_one("#sv-spark", Sparkline).data = [view.hourly[h] for h in hours] or [0]
        self.query_one("#sv-hourly-label", Label).update(
            t("sv_hourly_range", first=hours[0], last=hours[-1] + 1, peak=max(view.hourly)))
        self._fill("#sv-windows", [(str(w.window), (
            t("window_n", n=w.window), t(WINDOW_STATE_KEYS[w.state]),
            self.current_text(w), self.services_text(w.services))) for w in view.windows])
        self._fill("#sv-approvals", [(a["receipt"], (
            a["receipt"], a["number"], a["name"], t(BASIS_KEYS[a["basis"]]) if a["basis"] else "-", a["requested_by"]))
            for a in view.approvals])
        self._fill("#sv-accounts", [(a.name, (
            a.name, t(ROLE_KEYS[a.role]), t("sv_disabled") if a.disabled else (
                t("sv_locked") if a.locked_until and a.locked_until > self.link.now_ms() else t("sv_enabled"))))
            for a in view.accounts])
        self._fill("#sv-ratings", [(str(r.id), self.rating_cells(r)) for r in view.bad_ratings])
        pane = self.query_one("#sv-tabs", TabbedContent)
        pane.get_tab("approvals").label = t("sv_tab_approvals_n", n=len(view.approvals))
        pane.get_tab("ratings").label = t("sv_tab_ratings_n", n=len(view.bad_ratings))

    def rating_cells(self, r: Rating) -> tuple:
        """A bad rating's row: the errand's, nothing of a person (a rating holds none)."""
        from cabin.queue.clock import local_time

        from cabin.kiosk.faces.rating import LEVEL_KEYS

        config = self.link.config
        service = config.services.get(r.service)
        reasons = dict(config.ratings.reasons)
        completed = local_time(r.completed_at, config.station.tz).strftime("%m-%d %H:%M")
        return (self.t.name(service) if service else r.service, self.t("window_n", n=r.window), r.clerk or "-",
                self.t(LEVEL_KEYS[r.level]), reasons.get(r.reason, r.reason or "-"), completed)

    def opening_hours(self) -> list[int]:
        spans = [s for day in self.link.config.hours.values() for s in day]
        if not spans:
            return list(range(8, 18))
        first = min(s for s, _ in spans) // 60
        last = max(max(e for _, e in spans) - 1, 0) // 60
        return list(range(first, last + 1))

    def current_text(self, w: WindowState) -> str:
        c = w.current
        if not c:
            return "-"
        service = self.link.config.services.get(c.service)
        return f"{c.ticket} {self.t.name(service) if service else c.service}"

    def services_text(self, services: list[str]) -> str:
        if services == ["*"] or set(services) >= set(self.link.config.services):
            return self.t("sv_all_services")
        names = [self.t.name(self.link.config.services[s]) for s in services if s in self.link.config.services]
        return ("、" if self.t.lang == "zh" else ", ").join(names)

    def _fill(self, selector: str, rows: list[tuple[str, tuple]]) -> None:
        table = self.query_one(selector, DataTable)
        keep = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if rows:
            table.move_cursor(row=min(keep or 0, len(rows) - 1))

    def selected(self, selector: str) -> str | None:
        table = self.query_one(selector, DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    # -- acting ---------------------------------------------------------------------------------------------
    def act(self, tag: str, fn) -> None:
        if self.busy:
            return
        self.busy = True
        self._act(tag, fn)

    @work(thread=True, exclusive=True, group="supervisor-act")
    def _act(self, tag: str, fn) -> None:
        try:
            result = fn()
            view = read_view(self.link)
        except Exception as exc:
            self.post_message(JobFailed(tag, exc))
        else:
            self.post_message(JobDone(tag, (result, view)))

    def on_job_done(self, message: JobDone) -> None:
        if message.tag == "read":
            self.show(message.result)
            return
        self.busy = False
        result, view = message.result
        self.show(view)
        self.say(self.t(DONE_KEYS[message.tag], **result), "-ok")

    def on_job_failed(self, message: JobFailed) -> None:
        from cabin.queue.errors import CabinError

        if message.tag != "read":
            self.busy = False
        error = message.error
        text = self.t("wf_refused", reason=self.t.refusal(error)) if isinstance(error, CabinError) else \
            self.t("wf_trouble", reason=str(error) or type(error).__name__)
        self.say(text, "-fault")

    def say(self, text: str, kind: str = "") -> None:
        status = self.query_one("#wf-status", Static)
        status.update(text)
        status.set_classes(kind)

    def station(self):
        accessor = getattr(self.link, "station_as", None)
        return accessor(self.account.name) if callable(accessor) else self.link.station()

    def action_window(self, state: str) -> None:
        number = self.selected("#sv-windows")
        if number is None or self.tab() != "windows":
            return
        self.act("window", lambda: {**self.station().set_window(int(number), state).as_dict(),
                                    "state_text": self.t(WINDOW_STATE_KEYS[state])})

    def action_approve(self) -> None:
        from cabin.kiosk.business.tempcards import TempCards

        receipt = self.selected("#sv-approvals")
        if receipt is None or self.tab() != "approvals":
            return
        link, account = self.link, self.account
        self.act("approve", lambda: TempCards(link.station().store, link.config, link.clock).approve(
            receipt, by=account))

    def action_refuse(self) -> None:
        receipt = self.selected("#sv-approvals")
        if receipt is None or self.tab() != "approvals":
            return
        t = self.t
        self.app.push_screen(AskScreen(t("sv_refuse_title", receipt=receipt), [("why", t("f_refuse_reason"), False)]),
                             lambda v: v and self._refuse(receipt, v["why"]))

    def _refuse(self, receipt: str, reason: str) -> None:
        from cabin.kiosk.business.tempcards import TempCards

        link, account = self.link, self.account
        self.act("refuse", lambda: TempCards(link.station().store, link.config, link.clock).refuse(
            receipt, by=account, reason=reason))

    def action_follow_up(self) -> None:
        rating_id = self.selected("#sv-ratings")
        if rating_id is None or self.tab() != "ratings":
            return
        t = self.t
        # the note is kept in the audit log for ever: the reason's hint (no names, IDs, phones) holds
        self.app.push_screen(AskScreen(t("sv_follow_up_title", rating=rating_id), [("why", t("f_follow_up_note"), False)]),
                             lambda v: v and self._follow_up(int(rating_id), v["why"]))

    def _follow_up(self, rating_id: int, note: str) -> None:
        from cabin.kiosk.business.ratings import Ratings

        link, account = self.link, self.account
        self.act("follow_up", lambda: Ratings(link.station().store, link.config, link.clock).record_follow_up(
            rating_id, note, by=account).public())

    def action_add_account(self) -> None:
        if self.account.role != "admin" or self.tab() != "accounts":
            return
        t = self.t
        self.app.push_screen(AskScreen(t("sv_add_title"), [("name", t("account"), False),
                                                           ("role", t("sv_role_prompt"), False),
                                                           ("password", t("sv_new_password"), True)]),
                             self._add)

    def _add(self, values: dict | None) -> None:
        if not values:
            return
        from cabin.kiosk.business.accounts import Accounts

        link, account = self.link, self.account
        role = values["role"].strip().lower()
        self.act("add", lambda: Accounts(link.station().store, link.clock).add(
            values["name"], role, values["password"], by=account).as_dict())

    def action_disable_account(self) -> None:
        name = self.selected("#sv-accounts")
        if name is None or self.account.role != "admin" or self.tab() != "accounts":
            return
        from cabin.kiosk.business.accounts import Accounts

        link, account = self.link, self.account
        self.act("disable", lambda: Accounts(link.station().store, link.clock).disable(name, by=account)[0].as_dict())

    def action_applications(self) -> None:
        from cabin.kiosk.faces.counter.workflows.application import ApplicationsScreen

        self.app.push_screen(ApplicationsScreen(self.link, self.account))

    def action_back(self) -> None:
        self.dismiss(None)


# -- `cabin supervisor`: its own app, with a sign-in -----------------------------------------------------------
class SupervisorLogin(Localised, Screen):
    """The sign-in: it asks the app to sign in (`SignIn`); the app sets the refusal on it, or
    None when the supervisor signs out (the fields are cleared for the next one)."""

    BINDINGS = [Binding("enter", "sign_in", "key_sign_in", priority=True), Binding("ctrl+q", "app.quit", "key_quit")]

    @dataclass
    class SignIn(Message):
        name: str
        password: str

    refusal: var[Refusal | None] = var(None, always_update=True, init=False)

    def compose(self) -> ComposeResult:
        t = self.app.strings
        yield TitleBar(self.app.station_name(), t("sv_title"))
        with Vertical(id="sv-login", classes="ask"):
            yield Label(t("sv_login_title"), classes="section-title")
            yield form_field(t("account"), text_input("login-name"))
            yield form_field(t("f_password"), text_input("login-password", password=True))
            yield Static("", id="wf-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-name", Input).focus()

    def action_sign_in(self) -> None:
        """Enter: on to the password at once, or the sign-in once both fields have their keys."""
        enter_in_fields(self, [self.query_one("#login-name", Input), self.query_one("#login-password", Input)],
                        self._sign_in_with_the_fields)

    def _sign_in_with_the_fields(self) -> None:
        name = self.query_one("#login-name", Input)
        password = self.query_one("#login-password", Input)
        if not name.value.strip():
            self.set_focus(name)
        elif not password.value:
            self.set_focus(password)
        else:
            self.say(self.app.strings("checking"), "")
            self.post_message(self.SignIn(name.value.strip(), password.value))

    def say(self, text: str, kind: str = "-fault") -> None:
        status = self.query_one("#wf-status", Static)
        status.update(text)
        status.set_classes(kind)

    def watch_refusal(self, refusal: Refusal | None) -> None:
        if refusal is not None:
            sign_again(self, self.query_one("#login-name", Input), self.query_one("#login-password", Input),
                       refusal.keep_name)
            self.say(refusal.text)
            return
        for i in self.query(Input):
            i.value = ""
        self.query_one("#login-name", Input).focus()
        self.say("", "")


class SupervisorApp(FaceApp):
    TITLE = "Cabin"

    def __init__(self, link: StationLink, lang: str | None = None, theme: str | None = None, **screen_options):
        super().__init__(link, lang, theme)
        self.screen_options = screen_options
        self.account: Account | None = None
        self.login = SupervisorLogin()

    def on_mount(self) -> None:  # FaceApp.on_mount runs too
        self.title = self.strings("sv_title")
        self.push_screen(self.login)

    def on_supervisor_login_sign_in(self, message: SupervisorLogin.SignIn) -> None:
        self.sign_in(message.name, message.password)

    @work(thread=True, exclusive=True, group="sign-in")
    def sign_in(self, name: str, password: str) -> None:
        from cabin.kiosk.business.accounts import Accounts
        from cabin.queue.errors import CabinError

        try:
            account = Accounts(self.link.station().store, self.link.clock).authenticate(name, password)
            if account.role not in SUPERVISOR_ROLES:
                raise CabinError(self.strings("sv_not_supervisor", name=account.name,
                                              role=self.strings(ROLE_KEYS[account.role])))
        except Exception as exc:
            self.call_from_thread(self._refused, self.strings.refusal(exc), name_stands(exc))
        else:
            self.call_from_thread(self._signed_in, account)

    def _refused(self, reason: str, keep_name: bool) -> None:
        self.login.refusal = Refusal(self.strings("wf_refused", reason=reason), keep_name)

    def _signed_in(self, account: Account) -> None:
        self.account = account
        self.push_screen(SupervisorScreen(account, **self.screen_options), callback=self._signed_out)

    def _signed_out(self, _=None) -> None:
        self.account = None
        self.login.refusal = None  # a fresh sign-in for the next one
