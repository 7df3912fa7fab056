"""SVG snapshots of every screen of the board and the dispenser, at 80x24 and 120x40, in Chinese
and English (pytest-textual-snapshot; the SVGs are in tests/__snapshots__). The station's clock
and the dispenser's idle clock are fixed, so a snapshot changes only when the screen does.
`pytest --snapshot-update` rewrites them: look at the new ones before committing."""

from __future__ import annotations

import pytest

from cabin.config import load_config
from cabin.kiosk.faces.board.app import BoardApp
from cabin.kiosk.faces.dispenser import DispenserApp, TicketScreen

from facekit import busy_morning, fixed_clock, link, open_station, until

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
LOOKS = [(lang, size) for lang in ("zh", "en") for size in SIZES]
IDS = [f"{lang}-{size}" for lang, size in LOOKS]


@pytest.fixture
def station_db(tmp_path):
    """The default station on a busy morning, at a fixed time."""
    config = load_config()
    clock = fixed_clock(config)
    station = open_station(tmp_path / "cabin.sqlite", config, clock)
    busy_morning(station, clock)
    station.store.close()
    return tmp_path / "cabin.sqlite", config, clock


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_board(snap_compare, station_db, lang, size):
    db, config, clock = station_db
    app = BoardApp(link(db, config, clock), lang=lang)

    async def loaded(pilot):
        await until(pilot, lambda: app.view is not None)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=loaded)


def dispenser(station_db, lang: str) -> DispenserApp:
    db, config, clock = station_db
    return DispenserApp(link(db, config, clock), lang=lang, now=lambda: 0.0)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_dispenser_start(snap_compare, station_db, lang, size):
    assert snap_compare(dispenser(station_db, lang), terminal_size=SIZES[size])


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_dispenser_services(snap_compare, station_db, lang, size):
    # exit-entry, two errands chosen, a priority ticket asked for
    assert snap_compare(dispenser(station_db, lang), terminal_size=SIZES[size], press=["asterisk", "2", "1", "3"])


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_dispenser_ticket(snap_compare, station_db, lang, size):
    app = dispenser(station_db, lang)

    async def issued(pilot):
        await pilot.press("1", "2", "0", "2", "1", "enter")
        await until(pilot, lambda: app.last_issued is not None and isinstance(app.screen, TicketScreen))
        await pilot.pause(0.6)  # the countdown line is drawn by the idle check

    assert snap_compare(app, terminal_size=SIZES[size], run_before=issued)


def test_board_light_theme(snap_compare, station_db):
    db, config, clock = station_db
    app = BoardApp(link(db, config, clock), theme="light")

    async def loaded(pilot):
        await until(pilot, lambda: app.view is not None)

    assert snap_compare(app, terminal_size=(120, 40), run_before=loaded)
