"""SVG snapshots of the counter app's screens: the desk with a three-errand ticket at the window and
the devices (real simulators on pseudo-terminals, the card printer's cover open) at 80x24 and
120x40, in Chinese and English; in one look (Chinese at 80x24, where a layout breaks first) the
sign-in (with the demo accounts), the transfer picker, the desk asking to complete (in its
bottom bar) and a ticket pulled up by the scanner; one desk in the light theme. The clock is
fixed."""

from __future__ import annotations

import pytest

from cabin.kiosk.demo import DEMO_ACCOUNTS
from cabin.kiosk.faces.counter.app import CounterApp
from cabin.kiosk.faces.counter.dialogs import TicketCard, TransferScreen

from facekit import fixed_clock, link, open_station, until
from counterkit import device_config, devices, make_station, sign_in, token_for  # noqa: F401 (fixture)

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
LOOKS = [(lang, size) for lang in ("zh", "en") for size in SIZES]
IDS = [f"{lang}-{size}" for lang, size in LOOKS]
ONE_LOOK, ONE_ID = LOOKS[:1], IDS[:1]  # zh-80x24: the screens other than the desk itself


@pytest.fixture
def desk_db(tmp_path, devices):
    """Window 1 with its devices, a busy morning, a three-errand ticket called to window 1."""
    sims, hosts = devices
    config = device_config(tmp_path, hosts)
    clock = fixed_clock(config)
    db = tmp_path / "counter.sqlite"
    station = make_station(db, config, clock, open_windows=(1, 2, 3, 4))
    for services in (["id.loss_report", "ee.passport", "tr.violation"], ["id.temporary"], ["ee.hkmo_permit"],
                     ["tr.license_renew"], ["id.apply"]):
        station.issue(services)
        clock.advance(minutes=4)
    station.store.close()
    return db, config, clock


def app_for(desk_db, lang, theme=None):
    db, config, clock = desk_db
    return CounterApp(link(db, config, clock), 1, lang=lang, theme=theme, demo_accounts=DEMO_ACCOUNTS, scan_gap=2.0,
                      device_seconds=3600)


async def devices_checked(pilot, app):
    await until(pilot, lambda: "checking" not in app.devices.values())


@pytest.mark.parametrize("lang, size", ONE_LOOK, ids=ONE_ID)
def test_sign_in(snap_compare, desk_db, lang, size):
    app = app_for(desk_db, lang)

    async def ready(pilot):
        await devices_checked(pilot, app)
        await pilot.press(*"xiaoli")

    assert snap_compare(app, terminal_size=SIZES[size], run_before=ready)


async def at_the_desk(pilot, app):
    await devices_checked(pilot, app)
    await sign_in(pilot, app)
    await pilot.press("n")
    await until(pilot, lambda: app.view.current is not None and not app.op_running)
    await pilot.pause(0.2)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_desk(snap_compare, desk_db, lang, size):
    app = app_for(desk_db, lang)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=lambda pilot: at_the_desk(pilot, app))


@pytest.mark.parametrize("lang, size", ONE_LOOK, ids=ONE_ID)
def test_transfer_picker(snap_compare, desk_db, lang, size):
    app = app_for(desk_db, lang)

    async def picking(pilot):
        await at_the_desk(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=picking)


@pytest.mark.parametrize("lang, size", ONE_LOOK, ids=ONE_ID)
def test_desk_asks_to_complete(snap_compare, desk_db, lang, size):
    app = app_for(desk_db, lang)

    async def asking(pilot):
        await at_the_desk(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: app.screen.question is not None)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=asking)


@pytest.mark.parametrize("lang, size", ONE_LOOK, ids=ONE_ID)
def test_scanned_ticket(snap_compare, desk_db, lang, size):
    db, config, clock = desk_db
    app = app_for(desk_db, lang)

    async def scanned(pilot):
        await at_the_desk(pilot, app)
        day = open_station(db, config, clock).today()
        await pilot.press(*token_for(config, day, 4), "enter")
        await until(pilot, lambda: isinstance(app.screen, TicketCard))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=scanned)


def test_desk_light_theme(snap_compare, desk_db):
    app = app_for(desk_db, "zh", theme="light")
    assert snap_compare(app, terminal_size=(120, 40), run_before=lambda pilot: at_the_desk(pilot, app))
