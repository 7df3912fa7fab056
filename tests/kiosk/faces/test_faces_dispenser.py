"""The ticket dispenser, driven as a citizen would (Pilot): keys and touches, one and several
errands, a priority ticket, the way back, the idle return, and the ticket printer — a real
simulator on a real pseudo-terminal, working and out of paper."""

from __future__ import annotations

import pytest

from cabin.config import default_config_path, load_config
from cabin.drivers.simhost import PtyHost
from cabin.drivers.ticketprinter.simulator import SimulatedTicketPrinter
from cabin.kiosk.faces.base import StationLink
from cabin.kiosk.faces.dispenser import DispenserApp, HomeScreen, ServicesScreen, Target, TicketScreen

from facekit import config_with, fixed_clock, link, open_station, pilot_test, screen_text, until


@pytest.fixture
def db(tmp_path):
    return tmp_path / "cabin.sqlite"


def dispenser(db, config, clock, **kw) -> DispenserApp:
    return DispenserApp(link(db, config, clock), **kw)


async def take(pilot, app) -> dict:
    await pilot.press("enter")
    await until(pilot, lambda: app.last_issued is not None or not app.issuing)
    await pilot.pause()
    return app.last_issued


@pilot_test
async def test_one_errand_by_number_keys(db, config, clock):
    app = dispenser(db, config, clock)
    async with app.run_test() as pilot:
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("1")                      # ID card
        assert isinstance(app.screen, ServicesScreen) and app.screen.category.code == "id"
        await pilot.press("1")                      # temporary card
        assert app.basket.services == ["id.temporary"]
        issued = await take(pilot, app)
        assert isinstance(app.screen, TicketScreen)
        assert issued["ticket"] == "A001" and issued["ahead"] == 0 and issued["priority"] == "normal"
        assert "printed" not in issued  # no printer configured
        text = screen_text(app)
        assert "您的号码" in text and "前面没有人" in text and "请记下您的号码" in text
    ticket = open_station(db, config, clock).show_ticket("A001")
    assert [e.service for e in ticket.errands] == ["id.temporary"] and ticket.channel == "dispenser"


@pilot_test
async def test_several_errands_of_several_categories_on_one_ticket(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["ee.passport"])                  # someone is ahead for passports
    app = dispenser(db, config, clock, lang="en")
    async with app.run_test() as pilot:
        await pilot.press("2", "1", "0")            # exit-entry: passport; back
        assert isinstance(app.screen, HomeScreen) and app.basket.services == ["ee.passport"]
        assert "Chosen (1): Ordinary passport" in screen_text(app)
        await pilot.press("3", "3")                 # traffic: violation
        assert app.basket.services == ["ee.passport", "tr.violation"]
        issued = await take(pilot, app)
    assert issued["ticket"] == "B002" and issued["services"] == ["ee.passport", "tr.violation"]
    assert issued["ahead"] == 1 and issued["estimated_wait_min"] > 0


@pilot_test
async def test_touch_targets_toggle_and_a_second_touch_unchooses(db, config, clock):
    app = dispenser(db, config, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#categories Target.category")          # the first category
        assert isinstance(app.screen, ServicesScreen)
        first, second = list(app.screen.query(Target).filter(".service"))[:2]
        await pilot.click(first)
        await pilot.click(second)
        await pilot.click(first)                                  # changed their mind
        assert app.basket.services == ["id.apply"]
        assert second.has_class("-chosen") and not first.has_class("-chosen")
        await pilot.click(".actions .take")
        await until(pilot, lambda: app.last_issued is not None)
        assert app.last_issued["services"] == ["id.apply"]


@pilot_test
async def test_priority_ticket_on_request(db, config, clock):
    station = open_station(db, config, clock)
    station.issue(["id.temporary"])
    clock.advance(minutes=1)
    app = dispenser(db, config, clock)
    async with app.run_test() as pilot:
        await pilot.press("asterisk")
        assert app.basket.priority
        await pilot.press("1", "1")
        issued = await take(pilot, app)
    assert issued["priority"] == "priority"
    assert issued["ahead"] == 0  # placed ahead of the ordinary ticket issued a minute before


@pilot_test
async def test_no_ticket_without_an_errand_and_no_dead_end(db, config, clock):
    app = dispenser(db, config, clock)
    async with app.run_test() as pilot:
        await pilot.press("enter")                  # nothing chosen: nothing happens
        assert isinstance(app.screen, HomeScreen) and app.last_issued is None
        assert app.screen.query_one(".take", Target).disabled
        await pilot.press("9")                      # no ninth category: nothing happens
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("1", "escape")            # in and out again
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("1", "2", "backspace")
        assert isinstance(app.screen, HomeScreen) and app.basket.services == ["id.apply"]
        await pilot.press("0")                      # on the start, 0 clears the choice
        assert app.basket.services == [] and not app.basket.priority


@pilot_test
async def test_a_full_ticket_offers_no_more_errands(tmp_path, db):
    path = tmp_path / "two.toml"
    path.write_text(default_config_path().read_text(encoding="utf-8").replace("max_errands = 5", "max_errands = 2"),
                    encoding="utf-8")
    config = load_config(path)
    app = dispenser(db, config, fixed_clock(config))
    async with app.run_test() as pilot:
        await pilot.press("1", "1", "2", "3")       # the third is refused by the screen
        assert app.basket.services == ["id.temporary", "id.apply"]
        services = list(app.screen.query(Target).filter(".service"))
        assert services[2].disabled and not services[0].disabled
        assert "一张号最多办理 2 项业务" in screen_text(app)


@pilot_test
async def test_back_to_the_start_by_itself(db, config, clock):
    now = [0.0]
    app = dispenser(db, config, clock, idle_seconds=5, ticket_seconds=3, now=lambda: now[0])
    async with app.run_test() as pilot:
        await pilot.press("2", "1")
        now[0] = 4.0
        await pilot.pause(0.6)
        assert isinstance(app.screen, ServicesScreen)  # not yet
        now[0] = 5.5
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.basket.services == []
        await pilot.press("1", "4")
        await take(pilot, app)
        assert isinstance(app.screen, TicketScreen)
        await until(pilot, lambda: "3 秒后返回首页" in screen_text(app))
        now[0] = 9.0
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("1", "5")
        await take(pilot, app)
        await pilot.press("x")                          # any key: done reading
        assert isinstance(app.screen, HomeScreen) and app.basket.services == []


def printer_config(tmp_path, url: str):
    return load_config(config_with(tmp_path, f'[dispenser]\nticket_printer = {{ url = "{url}", baud = 9600 }}\n'))


@pilot_test
async def test_the_ticket_is_printed(tmp_path, db):
    sim = SimulatedTicketPrinter()
    with PtyHost(sim, link=tmp_path / "ticketprinter") as host:
        config = printer_config(tmp_path, host.path)
        app = dispenser(db, config, fixed_clock(config))
        async with app.run_test() as pilot:
            await pilot.press("2", "2")
            issued = await take(pilot, app)
            assert issued["printed"] is True
            assert "请取走号票" in screen_text(app)
            assert app.screen.query_one("#ticket-print").has_class("-ok")
    assert sim.printed == 1 and sim.tickets and "B001" in str(sim.tickets[0])


@pilot_test
async def test_a_printer_fault_shows_a_plain_message_and_the_ticket_stands(tmp_path, db):
    sim = SimulatedTicketPrinter(["paper_out"])
    with PtyHost(sim, link=tmp_path / "ticketprinter") as host:
        config = printer_config(tmp_path, host.path)
        clock = fixed_clock(config)
        app = dispenser(db, config, clock, lang="en")
        async with app.run_test() as pilot:
            await pilot.press("1", "1")
            issued = await take(pilot, app)
            assert issued["printed"] is False and "paper" in issued["print_error"]
            assert "could not be printed, but your number is registered" in screen_text(app)
            assert app.screen.query_one("#ticket-print").has_class("-fault")
            assert app.screen.query_one("#ticket-number").value == "A001"
            await pilot.press("enter")
            assert isinstance(app.screen, HomeScreen)
    assert sim.printed == 0
    assert open_station(db, config, clock).show_ticket("A001").state == "open"


@pilot_test
async def test_a_refused_ticket_says_so_and_goes_back(tmp_path, db, config, clock):
    app = DispenserApp(StationLink(db, config, clock, secret=None))  # no secret: the desk refuses
    async with app.run_test() as pilot:
        await pilot.press("1", "1", "enter")
        await until(pilot, lambda: not app.issuing)
        await pilot.pause()
        assert "暂时无法出号" in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, HomeScreen)
