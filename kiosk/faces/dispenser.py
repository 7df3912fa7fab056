"""The ticket dispenser (`cabin dispenser`): the citizen's screen.

Start: the categories as large targets (1-3). A category: its services (1-9), each a toggle,
so one ticket can hold errands of several categories. `*` asks for a priority ticket, Enter
(or the button) takes the ticket, 0 / Escape goes back. Then the number, the people ahead and
the estimated wait, and what became of the printed ticket. Nothing needs typing, every screen
has a way back, and after IDLE_SECONDS without a touch (TICKET_SECONDS on the ticket) the
dispenser clears the choice and returns to the start by itself.

The ticket is issued, signed and printed by the TicketDesk in a thread worker (a printer at
9600 baud takes a quarter of a second, a faulty one its timeout): the screen shows "issuing"
meanwhile and never freezes. A printer fault never undoes the ticket: the number is shown with
a plain message.

The screens never call the app: they post what the citizen did (`ChoiceScreen.Toggle`,
`HomeScreen.Chosen`, `ChoiceScreen.Take`, `TicketScreen.Done`, ...); the app keeps the basket
and binds it to the choice screens (`data_bind`), and sets the outcome on the ticket screen it
shows (`issued`, `failed`, `countdown`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static
from textual.worker import get_current_worker

from cabin.config import DEFAULT_PRIORITY, Category
from cabin.drivers.errors import DeviceError
from cabin.queue.errors import CabinError

from cabin.kiosk.faces.base import FaceApp, StationLink, settle_memory
from cabin.kiosk.faces.basket import Basket, dispenser_priority
from cabin.kiosk.faces.refusals import say
from cabin.kiosk.faces.watch import follow_station, offline
from cabin.kiosk.faces.widgets import BigNumber, Notice, TitleBar

IDLE_SECONDS = 30.0    # a citizen choosing who walks away: the next one finds a clean start
TICKET_SECONDS = 15.0  # long enough to read the number, short enough for the next in line
WATCH_SECONDS = 1.0    # SQLite: how often the watch looks (a file is never offline: it only looks)


class Target(Button, can_focus=False):
    """A large touch target. Not focusable: keys act through the screen's number bindings,
    so Enter always means "take the ticket", whatever was touched last."""

    def __init__(self, label: str, value: str, classes: str = ""):
        super().__init__(label, classes=f"target {classes}".strip())
        self.value = value


NUMBER_KEYS = [Binding(str(n), f"choose({n})", show=False) for n in range(1, 10)]


class ChoiceScreen(Screen):
    """What the start and a category's screen share: the choice so far and the actions."""

    BINDINGS = [
        *NUMBER_KEYS,
        Binding("enter", "take", show=False),
        Binding("asterisk", "priority", show=False),
        Binding("0,escape,backspace", "back", show=False),
    ]

    # -- what the citizen did (the app changes the basket) -------------------------------------
    @dataclass
    class Toggle(Message):
        service: str

    @dataclass
    class TogglePriority(Message):
        """Ask for a priority ticket, or not."""

    @dataclass
    class Clear(Message):
        """Clear the choice."""

    @dataclass
    class Take(Message):
        """Take the ticket for the errands chosen."""

    basket: var[Basket | None] = var(None, always_update=True)  # bound to the app's (data_bind)

    @property
    def face(self) -> "DispenserApp":
        return self.app  # type: ignore[return-value]

    def choice_bar(self) -> ComposeResult:
        t = self.face.strings
        yield Static("", classes="basket")
        with Horizontal(classes="actions"):
            if self.face.priority_class is not None:
                yield Target(t("priority_off"), "priority", classes="priority")
            if self.offers_checkin:
                yield Target(t("checkin_appointment"), "checkin", classes="checkin")
            yield Target(t("back") if self.can_go_back else t("clear"), "back", classes="back")
            yield Target(t("take_ticket"), "take", classes="take")

    can_go_back = False
    offers_checkin = False

    def watch_basket(self, basket: Basket | None) -> None:
        if basket is not None:
            self.refresh_choice(basket)

    def refresh_choice(self, basket: Basket) -> None:
        """Show the basket as it is (after every change: the app's basket is bound to it)."""
        t = self.face.strings
        names = "、" if t.lang == "zh" else ", "
        text = (t("basket", n=len(basket.services),
                  names=names.join(t.name(self.face.config.services[c]) for c in basket.services))
                if basket.services else t("basket_empty"))
        if basket.full:
            text += "\n" + t("basket_full", n=basket.limit)
        self.query_one(".basket", Static).update(text)
        self.query_one(".take", Target).disabled = not basket.services
        for target in self.query(".priority").results(Target):
            target.label = t("priority_on") if basket.priority else t("priority_off")
            target.set_class(basket.priority, "-on")
        for target in self.query(".service").results(Target):
            chosen = target.value in basket.services
            target.set_class(chosen, "-chosen")
            target.label = self.service_label(target.value, basket)
            target.disabled = not chosen and basket.full

    def service_label(self, code: str, basket: Basket) -> str:
        return code

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        value = getattr(event.button, "value", "")
        if value == "take":
            self.action_take()
        elif value == "back":
            self.action_back()
        elif value == "priority":
            self.action_priority()
        else:
            self.pressed(value)

    def pressed(self, value: str) -> None:
        raise NotImplementedError

    def action_choose(self, n: int) -> None:
        targets = [t for t in self.query(".numbered").results(Target)]
        if 1 <= n <= len(targets) and not targets[n - 1].disabled:
            self.pressed(targets[n - 1].value)

    def action_take(self) -> None:
        self.post_message(self.Take())

    def action_priority(self) -> None:
        if self.face.priority_class is not None:
            self.post_message(self.TogglePriority())

    def action_back(self) -> None:
        self.post_message(self.Clear())


class HomeScreen(ChoiceScreen):
    """The start: the categories, and the check-in of an appointment."""

    offers_checkin = True

    @dataclass
    class Chosen(Message):
        """A category: its services' screen comes next."""

        category: str

    @dataclass
    class CheckIn(Message):
        """The citizen has a booking: the code's screen comes next."""

    def compose(self) -> ComposeResult:
        t = self.face.strings
        yield TitleBar(self.face.station_name(), t("dispenser_title"))
        yield Label(t("welcome"), classes="prompt")
        with Grid(id="categories", classes="targets"):
            for n, category in enumerate(self.face.categories, start=1):
                services = " · ".join(t.name(s) for s in self.face.config.services.values() if s.category == category.code)
                yield Target(f"{n}  {t.name(category)}\n[dim]{services}[/]", category.code, classes="numbered category")
        yield from self.choice_bar()
        priority = self.face.priority_class
        yield Notice(t("keys_home") + (("\n" + t("priority_hint", name=t.name(priority))) if priority else ""))

    def pressed(self, value: str) -> None:
        self.post_message(self.CheckIn() if value == "checkin" else self.Chosen(value))


class CheckInScreen(Screen):
    """An appointment's code, typed or scanned (a scanner types it and Enter); a refusal (an
    unknown code, one already used) is said here, in the face's language, to try again."""

    BINDINGS = [Binding("escape", "back", show=False)]

    @dataclass
    class Submitted(Message):
        code: str

    def compose(self) -> ComposeResult:
        t = self.app.strings
        yield TitleBar(self.app.station_name(), t("dispenser_title"))
        yield Label(t("checkin_prompt"), classes="prompt")
        yield Input(id="checkin-code", max_length=40)
        yield Label("", id="checkin-refused")
        with Horizontal(classes="actions"):
            yield Target(t("back"), "back", classes="back")
        yield Notice(t("keys_checkin"))

    def on_mount(self) -> None:
        self.query_one("#checkin-code", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.post_message(self.Submitted(event.value.strip()))

    def refused(self, text: str) -> None:
        self.query_one("#checkin-refused", Label).update(text)
        self.query_one("#checkin-code", Input).clear()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()


class ServicesScreen(ChoiceScreen):
    """One category's services, each a toggle."""

    can_go_back = True

    def __init__(self, category: Category):
        super().__init__()
        self.category = category

    def compose(self) -> ComposeResult:
        t, config = self.face.strings, self.face.config
        yield TitleBar(self.face.station_name(), t("dispenser_title"))
        yield Label(t("choose_services", category=t.name(self.category)), classes="prompt")
        with Grid(id="services", classes="targets"):
            for s in config.services.values():
                if s.category == self.category.code:
                    yield Target(s.code, s.code, classes="numbered service")
        yield from self.choice_bar()
        yield Notice(t("keys_services"))

    def service_label(self, code: str, basket: Basket) -> str:
        t = self.face.strings
        n = [s for s in self.face.config.services.values() if s.category == self.category.code].index(
            self.face.config.services[code]) + 1
        mark = ("  " + t("chosen_mark")) if code in basket.services else ""
        return f"{n}  {t.name(self.face.config.services[code])}{mark}"

    def pressed(self, value: str) -> None:
        self.post_message(self.Toggle(value))

    def action_back(self) -> None:
        self.app.pop_screen()


class TicketScreen(Screen):
    """The issued ticket: number, people ahead, estimated wait, and whether it was printed.
    The app sets the outcome (`issued` or `failed`) and the seconds left (`countdown`)."""

    BINDINGS = [Binding("enter,escape,0,space", "done", show=False)]

    @dataclass
    class Done(Message):
        """The citizen has read it: back to the start."""

    issued: var[dict | None] = var(None, init=False)
    failed = var(False, init=False)
    countdown: var[float | None] = var(None, always_update=True, init=False)

    def compose(self) -> ComposeResult:
        t = self.app.strings
        yield TitleBar(self.app.station_name(), t("dispenser_title"))
        with Vertical(id="ticket"):
            yield Label(t("your_number"), id="ticket-caption")
            yield BigNumber("", id="ticket-number")
            yield Label(t("issuing"), id="ticket-ahead")
            yield Label("", id="ticket-wait")
            yield Label("", id="ticket-errands")
            yield Static("", id="ticket-print")
        with Horizontal(classes="actions"):
            yield Target(t("done"), "done", classes="done")
        yield Notice("", id="ticket-countdown")

    def watch_issued(self, issued: dict | None) -> None:
        if issued is not None:
            self.show_issued(issued)

    def watch_failed(self, failed: bool) -> None:
        if failed:
            self.show_failure()

    def watch_countdown(self, seconds: float | None) -> None:
        self.show_countdown(seconds)

    def show_issued(self, issued: dict) -> None:
        t, config = self.app.strings, self.app.config
        self.query_one("#ticket-number", BigNumber).show(issued["ticket"])
        self.query_one("#ticket-ahead", Label).update(
            t("ahead", n=issued["ahead"]) if issued["ahead"] else t("ahead_none"))
        # nobody ahead: no estimate to give ("about 0 minutes" reads like a promise)
        wait = t("wait", m=max(1, math.ceil(issued["estimated_wait_min"]))) if issued["ahead"] else ""
        self.query_one("#ticket-wait", Label).update(wait)
        sep = "、" if t.lang == "zh" else ", "
        errands = t("errands", names=sep.join(t.name(config.services[c]) for c in issued["services"]))
        # an appointment checked in outside its slot: why the ticket is an ordinary one
        self.query_one("#ticket-errands", Label).update(errands + (f"\n{issued['why']}" if issued.get("why") else ""))
        if "printed" not in issued:
            status, css = t("no_printer"), "-note"
        elif issued["printed"]:
            status, css = t("printed"), "-ok"
        else:
            status, css = t("not_printed"), "-fault"
        printed = self.query_one("#ticket-print", Static)
        printed.update(status)
        printed.set_classes(css)

    def show_failure(self) -> None:
        self.query_one("#ticket-number", BigNumber).show(None)
        self.query_one("#ticket-ahead", Label).update(self.app.strings("issue_failed"))
        self.query_one("#ticket-print", Static).set_classes("-fault")

    def show_countdown(self, seconds: float | None) -> None:
        text = "" if seconds is None else self.app.strings("returning", s=max(0, math.ceil(seconds)))
        # the idle timer can fire between push_screen and this screen's compose: nothing to show yet
        for notice in self.query("#ticket-countdown").results(Notice):
            notice.update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_done()

    def on_key(self, event: events.Key) -> None:
        self.action_done()  # any key: the citizen has read it

    def action_done(self) -> None:
        self.post_message(self.Done())


class IdleClock:
    """Seconds since the citizen last touched the screen; `now` is fixed in snapshot tests."""

    def __init__(self, now: Callable[[], float] = time.monotonic):
        self.now = now
        self.last = now()

    def touch(self) -> None:
        self.last = self.now()

    def idle(self) -> float:
        return self.now() - self.last


class DispenserApp(FaceApp):
    TITLE = "Cabin"

    basket: var[Basket | None] = var(None)  # the choice so far, bound to the choice screens

    class Issued(Message):
        def __init__(self, issued: dict):
            super().__init__()
            self.issued = issued

    class IssueFailed(Message):
        def __init__(self, reason: str):
            super().__init__()
            self.reason = reason

    class CheckInRefused(Message):
        def __init__(self, said: str):
            super().__init__()
            self.said = said

    def __init__(self, link: StationLink, lang: str | None = None, theme: str | None = None, *,
                 idle_seconds: float = IDLE_SECONDS, ticket_seconds: float = TICKET_SECONDS,
                 now: Callable[[], float] = time.monotonic):
        super().__init__(link, lang, theme)
        self.basket = Basket(self.config)
        self.priority_class = dispenser_priority(self.config)
        self.categories = [c for c in self.config.categories.values()
                           if any(s.category == c.code for s in self.config.services.values())]
        self.idle_seconds, self.ticket_seconds = idle_seconds, ticket_seconds
        self.idle = IdleClock(now)
        self.issuing = False
        self.last_issued: dict | None = None
        self.home: HomeScreen | None = None
        self.ticket_screen: TicketScreen | None = None  # while a ticket is shown

    def on_mount(self) -> None:  # FaceApp.on_mount runs too (Textual calls each class's handler)
        self.title = self.strings("dispenser_title")
        self.home = HomeScreen().data_bind(DispenserApp.basket)
        self.push_screen(self.home)
        self.set_interval(0.5, self._check_idle)
        self.call_after_refresh(settle_memory)
        self.watch_station()

    @work(thread=True, exclusive=True, group="dispenser-watch")
    def watch_station(self) -> None:
        """Nothing to show of the queue here: the watch only finds out, and says across the top,
        when the station's server cannot be reached, and when it can again."""
        worker = get_current_worker()
        follow_station(self.link, lambda: worker.is_cancelled, lambda: None,
                       lambda error: self.post_message(self.StationTrouble(error)),
                       poll_seconds=WATCH_SECONDS, refresh_seconds=30.0)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.idle.touch()
        await super().on_event(event)

    # -- the citizen's choice ---------------------------------------------------------------
    def _basket_changed(self) -> None:
        self.mutate_reactive(DispenserApp.basket)  # the choice screens show it again

    def on_home_screen_chosen(self, message: HomeScreen.Chosen) -> None:
        self.push_screen(ServicesScreen(self.config.categories[message.category]).data_bind(DispenserApp.basket))

    def on_home_screen_check_in(self) -> None:
        self.push_screen(CheckInScreen())

    def on_choice_screen_toggle(self, message: ChoiceScreen.Toggle) -> None:
        self.basket.toggle(message.service)
        self._basket_changed()

    def on_choice_screen_toggle_priority(self) -> None:
        self.basket.priority = not self.basket.priority
        self._basket_changed()

    def on_choice_screen_clear(self) -> None:
        self.basket.clear()
        self._basket_changed()

    # -- the ticket ------------------------------------------------------------------------
    def on_choice_screen_take(self) -> None:
        if self.issuing or not self.basket.services:
            return
        self.issuing = True
        self.ticket_screen = TicketScreen()
        self.push_screen(self.ticket_screen)
        priority = self.priority_class.code if self.basket.priority and self.priority_class else DEFAULT_PRIORITY
        self.issue_ticket(list(self.basket.services), priority)

    @work(thread=True, exclusive=True, group="issue")
    def issue_ticket(self, services: list[str], priority: str) -> None:
        try:
            issued = self.link.desk().issue(services, priority=priority, channel="dispenser")
        except (CabinError, DeviceError, OSError, RuntimeError) as exc:
            if offline(exc):  # said at once, before the watch finds it too
                self.post_message(self.StationTrouble(exc))
            self.post_message(self.IssueFailed(str(exc)))
        else:
            if self.offline:
                self.post_message(self.StationTrouble(None))
            self.post_message(self.Issued(issued))

    def on_check_in_screen_submitted(self, message: CheckInScreen.Submitted) -> None:
        if self.issuing:
            return
        self.issuing = True
        self.ticket_screen = TicketScreen()
        self.push_screen(self.ticket_screen)
        self.check_in(message.code)

    @work(thread=True, exclusive=True, group="issue")
    def check_in(self, code: str) -> None:
        """The booking's ticket, issued, signed and printed as any other (the ticket desk)."""
        from cabin.kiosk.business.appointments import Appointments

        try:
            desk = self.link.desk()
            checked = Appointments(desk.station, issue=desk.issue).checkin(code)
        except CabinError as exc:
            if offline(exc):
                self.post_message(self.StationTrouble(exc))
                self.post_message(self.IssueFailed(str(exc)))
            else:  # the code's own refusal: said to the citizen, who may type it again
                self.post_message(self.CheckInRefused(say(exc, self.strings.lang)))
        except (DeviceError, OSError, RuntimeError) as exc:
            self.post_message(self.IssueFailed(str(exc)))
        else:
            issued = checked.public(self.config.station.tz)
            issued["why"] = say(checked.why, self.strings.lang) if checked.why else None
            self.post_message(self.Issued(issued))

    def on_dispenser_app_check_in_refused(self, message: CheckInRefused) -> None:
        self.issuing = False
        self.ticket_screen = None
        self.pop_screen()  # the ticket screen: back to the code
        self.idle.touch()
        if isinstance(self.screen, CheckInScreen):
            self.screen.refused(message.said)

    def on_dispenser_app_issued(self, message: Issued) -> None:
        self.issuing = False
        self.last_issued = message.issued
        if message.issued.get("printed") is False:
            self.log.warning(f"dispenser: {message.issued['ticket']} not printed: {message.issued['print_error']}")
        self.basket.clear()
        self._basket_changed()
        self.idle.touch()
        if self.ticket_screen is not None:
            self.ticket_screen.issued = message.issued

    def on_dispenser_app_issue_failed(self, message: IssueFailed) -> None:
        self.issuing = False
        self.log.error(f"dispenser: no ticket issued: {message.reason}")
        self.idle.touch()
        if self.ticket_screen is not None:
            self.ticket_screen.failed = True

    # -- back to the start -----------------------------------------------------------------
    def on_ticket_screen_done(self) -> None:
        self.back_to_start()

    def back_to_start(self) -> None:
        if self.issuing:
            return  # the ticket is on its way: show it first
        self.basket.clear()
        self._basket_changed()  # while every choice screen is still up
        self.ticket_screen = None
        while len(self.screen_stack) > 2:  # the default screen, then HomeScreen
            self.pop_screen()
        self.idle.touch()

    def _check_idle(self) -> None:
        if self.ticket_screen is not None:
            left = None if self.issuing else self.ticket_seconds - self.idle.idle()
            self.ticket_screen.countdown = left
            if left is not None and left <= 0:
                self.back_to_start()
        elif self.idle.idle() >= self.idle_seconds and (
                self.screen is not self.home or self.basket.services or self.basket.priority):
            self.back_to_start()
