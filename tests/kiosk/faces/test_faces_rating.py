"""The rating face (`cabin rate --window N`) driven by Pilot on a real SQLite file: a rating by
button and by keypad, a bad rating's reason, the refusals in the citizen's language."""

from __future__ import annotations

import pytest
from facekit import fixed_clock, link, open_station, pilot_test, screen_text, until

from cabin.kiosk.business.ratings import Ratings
from cabin.kiosk.faces.rating import RatingApp


@pytest.fixture
def clock(config):
    return fixed_clock(config)


@pytest.fixture
def db(tmp_path, config, clock):
    path = tmp_path / "station.sqlite"
    station = open_station(path, config, clock)
    station.set_window(2, "open")
    station.store.close()
    return path


def serve_one(db, config, clock, service="id.apply"):
    station = open_station(db, config, clock)
    try:
        station.issue([service])
        station.call_next(2)
        station.start(2)
        clock.advance(minutes=3)
        station.complete(2)
    finally:
        station.store.close()


def ratings(db, config, clock):
    station = open_station(db, config, clock)
    try:
        return [(r.level, r.reason) for r in Ratings(station.store, config, clock).list_ratings()]
    finally:
        station.store.close()


@pilot_test
async def test_a_citizen_rates_by_button_then_by_keypad(db, config, clock):
    serve_one(db, config, clock)
    app = RatingApp(link(db, config, clock), 2)
    async with app.run_test(size=(120, 30)) as pilot:
        text = screen_text(app)
        assert "请对本次服务进行评价" in text and "非常不满意" in text and "2号窗口" in text
        await pilot.click("#level-2")
        await until(pilot, lambda: "感谢您的评价" in screen_text(app))
        assert ratings(db, config, clock) == [(2, None)]
        await pilot.press("1")                       # the same errand again: refused, in Chinese
        await until(pilot, lambda: not app.busy)     # the thanks stay a few seconds first
        await pilot.press("1")
        await until(pilot, lambda: "已评价，不能重复评价" in screen_text(app))
        assert ratings(db, config, clock) == [(2, None)]


@pilot_test
async def test_a_bad_rating_asks_for_its_reason(db, config, clock):
    serve_one(db, config, clock)
    app = RatingApp(link(db, config, clock), 2, lang="en")
    async with app.run_test(size=(120, 30)) as pilot:
        assert "等候时间长" not in screen_text(app)   # the reasons come with a bad rating only
        await pilot.press("5")
        await until(pilot, lambda: "What went wrong?" in screen_text(app))
        assert "等候时间长" in screen_text(app) and ratings(db, config, clock) == []
        await pilot.press("escape")                  # changed their mind
        await until(pilot, lambda: "What went wrong?" not in screen_text(app))
        await pilot.press("4")
        await pilot.click("#reason-attitude")
        await until(pilot, lambda: "Thank you for your rating!" in screen_text(app))
        assert ratings(db, config, clock) == [(4, "attitude")]


@pilot_test
async def test_nothing_to_rate_yet_is_said(db, config, clock):
    app = RatingApp(link(db, config, clock), 2)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: "2号窗口尚未办结任何业务" in screen_text(app))
        assert ratings(db, config, clock) == []


@pilot_test
async def test_every_button_shows_on_a_tablet_of_80_columns(db, config, clock):
    """Five levels in one row and six reasons in rows of three, each button wide enough for its
    words: in a row that did not fit, the first button took the whole width and hid the rest."""
    serve_one(db, config, clock)
    app = RatingApp(link(db, config, clock), 2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "等候时间长" in screen_text(app))
        text = screen_text(app)
        buttons = list(app.screen.query("#rating-levels Button")) + list(app.screen.query("#rating-reasons Button"))
        assert len(buttons) == 11
        for button in buttons:
            region = button.region
            assert 0 <= region.x and region.right <= 80 and 0 <= region.y and region.bottom <= 24, (button.id, region)
            assert str(button.label) in text, button.id  # its words whole on the screen
