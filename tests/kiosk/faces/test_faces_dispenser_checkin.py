"""The dispenser's appointment check-in, driven as a citizen would (Pilot): the code typed (a
scanner types it too, then Enter), the ticket shown; an ordinary ticket outside the slot and
why, in Chinese; a code used twice or unknown refused on the code's screen, to try again."""

from __future__ import annotations

import pytest

from cabin.kiosk.business.appointments import Appointments
from cabin.kiosk.faces.dispenser import CheckInScreen, DispenserApp, HomeScreen, TicketScreen

from facekit import link, open_station, pilot_test, screen_text, until


@pytest.fixture
def db(tmp_path, config, clock):
    """Two bookings of Monday 2026-11-23 (the clock's day, 09:00): 09:00-09:30 and 11:00-11:30."""
    path, db = tmp_path / "day.csv", tmp_path / "cabin.sqlite"
    path.write_text("code,services,slot_start,slot_end,phone_last4\n"
                    "YY-1,id.apply,2026-11-23 09:00,2026-11-23 09:30,1234\n"
                    "YY-2,ee.passport,2026-11-23 11:00,2026-11-23 11:30,5678\n", encoding="utf-8")
    station = open_station(db, config, clock)
    Appointments(station).import_file(path)
    station.store.close()
    return db


async def check_in(pilot, app, code: str) -> None:
    await pilot.click(".checkin")
    assert isinstance(app.screen, CheckInScreen)
    await pilot.press(*code, "enter")
    await until(pilot, lambda: not app.issuing)
    await pilot.pause()


@pilot_test
async def test_a_booking_checked_in_in_its_slot_gets_the_appointment_priority(db, config, clock):
    app = DispenserApp(link(db, config, clock))
    async with app.run_test(size=(120, 40)) as pilot:
        await check_in(pilot, app, "yy-1")
        assert isinstance(app.screen, TicketScreen)
        assert app.last_issued["ticket"] == "A001" and app.last_issued["priority"] == "appointment"
        assert "您的号码" in screen_text(app) and "普通号" not in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, HomeScreen)
    ticket = open_station(db, config, clock).show_ticket("A001")
    assert (ticket.priority, ticket.channel) == ("appointment", "appointment")


@pilot_test
async def test_too_early_an_ordinary_ticket_and_why(db, config, clock):
    app = DispenserApp(link(db, config, clock))
    async with app.run_test(size=(120, 40)) as pilot:
        await check_in(pilot, app, "YY-2")
        assert app.last_issued["priority"] == "normal" and app.last_issued["outside"] == "early"
        assert "您的预约时段为 11:00 至 11:30，10:45 起方可签到：现为您取普通号" in screen_text(app)


@pilot_test
async def test_a_used_or_unknown_code_is_refused_on_the_code_s_screen(db, config, clock):
    app = DispenserApp(link(db, config, clock))
    async with app.run_test(size=(120, 40)) as pilot:
        await check_in(pilot, app, "YY-1")
        await pilot.press("enter")                   # the ticket read: back to the start
        await check_in(pilot, app, "YY-1")
        assert isinstance(app.screen, CheckInScreen)
        assert "预约 YY-1 已签到过：号票为 A001（2026-11-23）" in screen_text(app)
        await pilot.press(*"NOPE", "enter")
        await until(pilot, lambda: not app.issuing)
        await pilot.pause()
        assert isinstance(app.screen, CheckInScreen) and "没有预约 NOPE" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    station = open_station(db, config, clock)
    with station.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1
