"""The counter app, driven as a clerk would (Pilot): sign in (a wrong password, the lockout), open
the window, call, recall, no-show, start, transfer, complete; the ticket's errands; the queue at a
glance; the devices (real simulators on real pseudo-terminals, one with its cover open); the hand
scanner from another screen, and a forged code refused; the workflow contract; the supervisor's
key; the command palette. Real SQLite files in tmp_path."""

from __future__ import annotations

import sys
import types

import pytest
from textual.screen import Screen

from cabin.kiosk.faces.counter.app import CounterApp
from cabin.kiosk.faces.counter.desk import DeskScreen
from cabin.kiosk.faces.counter.dialogs import TicketCard, TransferScreen
from cabin.kiosk.faces.counter.login import LoginScreen
from cabin.kiosk.faces.counter.workflows.context import WorkflowContext, WorkflowResult

from clikit import STAFF_PASSWORD
from counterkit import device_config, devices, make_station, sign_in, token_for  # noqa: F401 (the fixture)
from facekit import fixed_clock, link, open_station, pilot_test, screen_text, until


def asking(app) -> bool:
    """The desk is asking a yes-or-no in its bottom bar."""
    return isinstance(app.screen, DeskScreen) and app.screen.question is not None


@pytest.fixture
def db(tmp_path, config, clock):
    path = tmp_path / "cabin.sqlite"
    make_station(path, config, clock).store.close()
    return path


def counter(db, config, clock, **kw) -> CounterApp:
    kw.setdefault("scan_gap", 2.0)  # Pilot types fast, but a loaded CI machine may pause
    return CounterApp(link(db, config, clock), kw.pop("window", 1), **kw)


async def press_and_wait(pilot, app, *keys) -> None:
    await pilot.press(*keys)
    await pilot.pause()
    await until(pilot, lambda: not app.op_running)
    await pilot.pause()


def events_of(db, config, clock, kind):
    with open_station(db, config, clock).store.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))]


# -- signing in ------------------------------------------------------------------------------------
@pilot_test
async def test_a_wrong_password_then_the_lockout_in_the_same_words(db, config, clock):
    """Every failed sign-in is said alike (a locked account too, the right password too): the
    name stands, the password is typed again; the lock itself is in the accounts' state."""
    from cabin.kiosk.business.accounts import Accounts

    refused = "账号或密码错误，或该账号现在不能登录"
    app = counter(db, config, clock)
    async with app.run_test() as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        password = app.screen.query_one("#login-password")
        assert password.password  # masked
        await pilot.press(*"li", "enter", *"not-the-password", "enter")
        await until(pilot, lambda: refused in screen_text(app))
        assert "not-the-password" not in screen_text(app) and password.value == ""
        for _ in range(4):
            await pilot.press(*"wrong-again", "enter")
            await pilot.pause(0.3)

        accounts = Accounts(open_station(db, config, clock).store, clock)
        await until(pilot, lambda: accounts.get("li").locked_until is not None)
        await until(pilot, lambda: password.value == "" and refused in screen_text(app))
        assert "锁定" not in screen_text(app)
        await pilot.press(*STAFF_PASSWORD, "enter")  # the right password, too late: the same words
        await pilot.pause(0.3)
        await until(pilot, lambda: password.value == "" and refused in screen_text(app))
        assert "锁定" not in screen_text(app) and "停用" not in screen_text(app)
        assert isinstance(app.screen, LoginScreen) and app.account is None
        assert app.screen.query_one("#login-name").value == "li" and app.focused is password


@pilot_test
async def test_only_clerks_and_supervisors_sign_in_at_a_counter(db, config, clock):
    app = counter(db, config, clock, lang="en")
    async with app.run_test() as pilot:
        await pilot.press(*"root", "enter", *STAFF_PASSWORD, "enter")
        await until(pilot, lambda: "the counter takes clerk and supervisor accounts" in screen_text(app))
        # another person signs: the name is cleared and has the focus
        assert app.screen.query_one("#login-name").value == "" and app.focused.id == "login-name"
        await pilot.press(*"li", "enter", *"not-the-password", "enter")
        await until(pilot, lambda: "Wrong name or password" in screen_text(app) or "wrong name" in screen_text(app))
        # only the password was wrong: the name stands, the password is typed again
        assert app.screen.query_one("#login-name").value == "li" and app.focused.id == "login-password"
        await pilot.press("escape")
        assert app.screen.query_one("#login-name").value == ""
        await sign_in(pilot, app, "li")
        assert "Counter · Window 1 · li" in screen_text(app)


# -- the call flow -----------------------------------------------------------------------------------
@pilot_test
async def test_open_call_start_complete_attributed_to_the_clerk(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["id.temporary"])
    station.issue(["ee.passport"])
    app = counter(db, config, clock)
    async with app.run_test() as pilot:
        await sign_in(pilot, app)
        assert app.view.state == "closed" and "窗口未开放" in screen_text(app)
        await press_and_wait(pilot, app, "n")                 # closed: the key does nothing
        assert app.view.current is None
        await press_and_wait(pilot, app, "o")
        assert app.view.state == "open" and "1号窗口已开放" in screen_text(app)
        await press_and_wait(pilot, app, "n")
        assert app.view.current.ticket == "A001" and app.view.current.state == "called"
        assert app.screen.query_one("#current-number").value == "A001"
        assert "已叫 A001 到本窗口（临时居民身份证）" in screen_text(app)
        await press_and_wait(pilot, app, "s")
        assert app.view.current.state == "serving" and "办理中" in screen_text(app)
        await pilot.press("c")
        await until(pilot, lambda: asking(app))
        await press_and_wait(pilot, app, "enter")
        assert app.view.current is None and "A001 的临时居民身份证已办结" in screen_text(app)
    assert {e["clerk"] for e in events_of(db, config, clock, "done")} == {"li"}
    assert [e["clerk"] for e in events_of(db, config, clock, "window_open") if e["window"] == 1] == ["li"]
    assert open_station(db, config, clock).show_ticket("A001").state == "closed"


@pilot_test
async def test_escape_backs_out_of_a_completion(db, config, clock):
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.apply"])
    app = counter(db, config, clock)
    async with app.run_test() as pilot:
        await sign_in(pilot, app)
        await press_and_wait(pilot, app, "n")
        await pilot.press("c")
        await until(pilot, lambda: asking(app))
        assert "办结 A001 的" in screen_text(app)
        await pilot.press("x")                           # the desk's keys rest while it asks
        await pilot.pause(0.2)
        assert asking(app) and app.view.state == "open" and app.view.current.ticket == "A001"
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not asking(app) and app.view.current.state == "called"
        assert "回车确认" not in screen_text(app)


@pilot_test
async def test_recall_then_no_show(db, config, clock):
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.apply"])
    station.issue(["id.loss_report"])
    app = counter(db, config, clock, lang="en")
    async with app.run_test() as pilot:
        await sign_in(pilot, app)
        await press_and_wait(pilot, app, "n")
        await press_and_wait(pilot, app, "r")
        await press_and_wait(pilot, app, "r")
        assert "Recalled A001 (2)" in screen_text(app) and "recalled 2×" in screen_text(app)
        await press_and_wait(pilot, app, "m")
        assert app.view.current is None and "A001 marked no-show" in screen_text(app)
        await press_and_wait(pilot, app, "n")
        assert app.view.current.ticket == "A002"
    assert open_station(db, config, clock).show_ticket("A001").errands[0].state == "no_show"


@pilot_test
async def test_transfer_to_a_window_and_to_a_service(db, config, clock):
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.apply"])
    station.issue(["id.temporary"])
    app = counter(db, config, clock, lang="en")
    async with app.run_test() as pilot:
        await sign_in(pilot, app)
        await press_and_wait(pilot, app, "n")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        text = screen_text(app)
        assert "Window 2  ID cards (open)" in text and "Window 4" not in text  # 4 does not serve it
        await pilot.press("escape")                                            # backs out
        await until(pilot, lambda: isinstance(app.screen, DeskScreen))
        assert app.view.current.ticket == "A001"
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        await press_and_wait(pilot, app, "enter")                              # the first: window 2
        assert "A001 transferred to Window 2, keeping its place" in screen_text(app)
        await press_and_wait(pilot, app, "n")                                  # A002 (A001 is window 2's now)
        assert app.view.current.ticket == "A002"
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        options = app.screen.query_one("#transfer-options")
        index = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == "service:id.apply")
        options.highlighted = index
        await press_and_wait(pilot, app, "enter")
        assert "A002 now for ID card application, renewal, replacement" in screen_text(app)
    ticket = open_station(db, config, clock).show_ticket("A001")
    assert [(e.state, e.target_window) for e in ticket.errands] == [("transferred", None), ("waiting", 2)]


@pilot_test
async def test_the_tickets_errands_and_the_one_stop_continuation(db, config, clock):
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.loss_report", "ee.passport", "tr.violation"])
    app = counter(db, config, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        await press_and_wait(pilot, app, "n")
        text = screen_text(app)
        assert "1. 身份证挂失  已叫号（1号窗口）" in text
        assert "2. 普通护照  待办" in text and "3. 非现场交通违法处理  待办" in text
        await pilot.press("c")
        await until(pilot, lambda: asking(app))
        await press_and_wait(pilot, app, "enter")
        text = screen_text(app)
        assert "下一项“普通护照”接着在本窗口办理" in text
        assert "1. 身份证挂失  已办结（1号窗口）" in text and "2. 普通护照  办理中（1号窗口）" in text
        assert app.view.current.service == "ee.passport"


@pilot_test
async def test_the_queue_at_a_glance(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["tr.violation"])
    clock.advance(minutes=12)
    station.issue(["id.temporary"])
    station.issue(["id.temporary"])
    clock.advance(minutes=3)
    app = counter(db, config, clock, window=2, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        view = app.view
        assert view.waiting == 3 and view.waiting_here == 2 and view.longest_min == 15
        glance = {s.service: s for s in view.services}
        assert glance["id.temporary"].waiting == 2 and glance["id.temporary"].longest_min == 3
        assert glance["tr.violation"].here is False and glance["tr.violation"].longest_min == 15
        text = screen_text(app)
        assert "3 waiting (2 for this window), longest 15 min" in text
        assert "• Temporary resident" in text and "  Traffic violation" in text
        station.issue(["id.apply"])           # another process: the glance follows
        await until(pilot, lambda: app.view.waiting == 4)


# -- devices -------------------------------------------------------------------------------------------
@pilot_test
async def test_device_status_ready_and_a_fault_with_what_to_do(tmp_path, devices):
    sims, hosts = devices
    config = device_config(tmp_path, hosts)
    clock = fixed_clock(config)
    db = tmp_path / "dev.sqlite"
    make_station(db, config, clock).store.close()
    app = counter(db, config, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "checking" not in app.devices.values())
        await sign_in(pilot, app)
        text = screen_text(app)
        assert "读卡器 ● 就绪" in text and "号票机 ● 就绪" in text
        assert "制证机 ✖ 故障" in text and "制证机：机盖开着：合上机盖后重试" in text
        sims["card"].clear("cover_open")
        await pilot.press("d")
        await until(pilot, lambda: app.devices["card-printer"]["status"] == "ready")
        await pilot.pause()
        assert "制证机 ● 就绪" in screen_text(app) and "机盖开着" not in screen_text(app)


@pilot_test
async def test_a_device_that_does_not_answer(tmp_path, devices):
    sims, hosts = devices
    config = device_config(tmp_path, hosts)
    hosts["reader"].__exit__(None, None, None)  # the reader unplugged
    clock = fixed_clock(config)
    db = tmp_path / "dev.sqlite"
    make_station(db, config, clock).store.close()
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        await until(pilot, lambda: "checking" not in app.devices.values())
        await pilot.pause()
        assert app.devices["reader"]["status"] == "fault"
        assert app.devices["reader"]["kind"] == "link"         # the port itself: plain words, not the driver's
        assert "Reader ✖ fault" in screen_text(app) and "Reader: The device cannot be reached" in screen_text(app)


# -- the scanner -------------------------------------------------------------------------------------------
@pilot_test
async def test_a_scanned_ticket_is_pulled_up_from_any_screen(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["id.apply", "ee.passport"])
    station.issue(["id.temporary"])
    token = token_for(config, station.today(), 2)
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.press(*"Chen")                      # a capital C typed by hand still arrives
        await until(pilot, lambda: app.screen.query_one("#login-name").value == "Chen", timeout=5)
        await pilot.press(*token, "enter")              # the scanner, on the sign-in screen
        await until(pilot, lambda: isinstance(app.screen, TicketCard))
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Scanned: A002" in text and "Nobody ahead" in text and "1. Temporary resident ID card  waiting" in text
        assert app.screen_stack[-2].query_one("#login-name").value == "Chen"   # nothing leaked into the field
        await pilot.press("escape")
        assert isinstance(app.screen, LoginScreen)
        await pilot.press("ctrl+a")
        app.screen.action_clear()
        await sign_in(pilot, app)
        await pilot.press(*token_for(config, station.today(), 1), "enter")   # and on the desk
        await until(pilot, lambda: isinstance(app.screen, TicketCard) and app.screen.ticket.ticket == "A001")
        await pilot.pause(0.2)
        assert "2. Ordinary passport  later" in screen_text(app)


@pilot_test
async def test_a_forged_or_foreign_code_is_refused(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["id.apply"])
    day = station.today()
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        forged = token_for(config, day, 1, secret=b"another-station-secret-0123456789")
        await pilot.press(*forged, "enter")
        await until(pilot, lambda: "Ticket code refused" in screen_text(app))
        assert isinstance(app.screen, DeskScreen)
        await pilot.press(*token_for(config, day, 99), "enter")          # signed, but no such ticket
        await until(pilot, lambda: "does not exist" in screen_text(app) or "not a ticket" in screen_text(app)
                    or "no ticket" in screen_text(app).lower())
        assert isinstance(app.screen, DeskScreen) and app.view.current is None


@pilot_test
async def test_a_forged_code_with_non_ascii_digits_is_refused_and_the_app_stays(db, config, clock):
    """Issue 12: an Arabic-Indic or full-width digit in a scanned code made the worker fail and
    the app exit 1; it is a plain "not a Cabin ticket code", and the clerk carries on."""
    station = open_station(db, config, clock)
    station.issue(["id.apply"])
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        for digit in ("\u0661", "\uff11"):  # ١, １
            await pilot.press(*f"CABIN1:{config.station.code}:{station.today()}:{digit}:AAAAAAAAAAAAAAAAAAAAAA", "enter")
            await until(pilot, lambda: "Ticket code refused: not a Cabin ticket code" in screen_text(app))
            assert app.is_running and isinstance(app.screen, DeskScreen)
            await pilot.pause(0.3)
            assert not any(w.state.name == "ERROR" for w in app.workers)
        await pilot.press(*token_for(config, station.today(), 1), "enter")   # a real code still works
        await until(pilot, lambda: isinstance(app.screen, TicketCard) and app.screen.ticket.ticket == "A001")


@pilot_test
async def test_a_refusal_is_said_whole_in_the_faces_language(db, config, clock):
    """Not a Chinese lead-in before the service's English: the refusal itself, from the catalog."""
    station = open_station(db, config, clock)
    station.issue(["id.apply"])
    day = station.today()
    app = counter(db, config, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        forged = token_for(config, day, 1, secret=b"another-station-secret-0123456789")
        await pilot.press(*forged, "enter")
        await until(pilot, lambda: "号票二维码无效" in screen_text(app))
        text = screen_text(app)
        assert "号票码是伪造的或已损坏（签名不符）" in text and "signature" not in text


# -- workflows, the supervisor, the palette ----------------------------------------------------------------
class FakeWorkflow(Screen):
    def __init__(self, context: WorkflowContext, result: WorkflowResult):
        super().__init__()
        self.context, self.result = context, result

    def on_mount(self) -> None:
        if self.result.completed:  # as an intake does: its record and the completion, one write
            self.context.link.station_as(self.context.clerk.name).complete(self.context.window.number)
        self.dismiss(self.result)


@pytest.fixture
def registry(monkeypatch):
    """A stand-in for kiosk/faces/workflows/registry.py: what the counter app relies on is the contract."""
    seen = []
    module = types.ModuleType("cabin.kiosk.faces.counter.workflows.registry")

    def screen_for(context):
        seen.append(context)
        result = module.results.get(context.request["service"])
        return FakeWorkflow(context, result) if result else None

    module.screen_for = screen_for
    module.results = {}
    monkeypatch.setitem(sys.modules, "cabin.kiosk.faces.counter.workflows.registry", module)
    return module, seen


@pilot_test
async def test_enter_runs_the_errands_workflow_then_completes(db, config, clock, registry):
    module, seen = registry
    module.results = {"id.temporary": WorkflowResult(recorded=True, receipt="LS-20261123-0001", message="printed"),
                      "ee.passport": WorkflowResult(completed=True, receipt="EE-20261123-0001", message="taken in")}
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.temporary", "ee.passport", "id.found_card"])
    app = counter(db, config, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        await press_and_wait(pilot, app, "n")
        await pilot.press("enter")                        # start, then the workflow
        await until(pilot, lambda: asking(app))
        assert seen[0].clerk.name == "li" and seen[0].window.number == 1
        assert seen[0].request["service"] == "id.temporary" and seen[0].request["ticket"] == "A001"
        assert "LS-20261123-0001 已登记" in screen_text(app)
        await press_and_wait(pilot, app, "enter")          # complete: the passport continues here
        assert app.view.current.service == "ee.passport"
        await pilot.press("enter")                        # the intake completes the errand itself
        await until(pilot, lambda: app.last_log == "taken in")
        await pilot.press("enter")                        # no workflow for a found card: ask, then complete
        await until(pilot, lambda: asking(app))
        await pilot.pause(0.2)
        assert "没有办理页面" in screen_text(app)
        await press_and_wait(pilot, app, "enter")
        assert app.view.current is None
    assert open_station(db, config, clock).show_ticket("A001").state == "closed"


@pilot_test
async def test_the_supervisor_key_is_only_for_supervisors(db, config, clock):
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app, "li")
        assert "Supervisor" not in screen_text(app) and app.screen.action_state("supervisor") is False
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app, "boss")
        assert " U  Supervisor" in screen_text(app)


@pilot_test
async def test_every_action_is_in_the_command_palette(db, config, clock):
    station = open_station(db, config, clock)
    station.set_window(1, "open")
    station.issue(["id.apply"])
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"call next")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: app.view is not None and app.view.current is not None)
        assert app.view.current.ticket == "A001"


@pilot_test
async def test_the_palette_offers_the_keys_of_the_screen_it_is_opened_on(db, config, clock):
    app = counter(db, config, clock, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, app, "boss")
        await pilot.press("u")                                   # the supervisor's view
        await until(pilot, lambda: type(app.screen).__name__ == "SupervisorScreen" and app.screen.view is not None)
        screen = app.screen
        assert screen.tab() == "windows"
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"approvals")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: screen.tab() == "approvals")


@pilot_test
async def test_sign_out_back_to_the_sign_in(db, config, clock):
    app = counter(db, config, clock)
    async with app.run_test() as pilot:
        await sign_in(pilot, app)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert app.account is None
