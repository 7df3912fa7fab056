"""SVG snapshots of the workflow screens and the supervisor's view, each in one look: Chinese at
80x24, the station's language in the smallest terminal, where a long label or a wide character
is first to break a layout (all four looks are kept for the desk, the board and the dispenser;
pytest-textual-snapshot; the SVGs are in __snapshots__ beside this file). The clock is
fixed (ManualClock), so receipts, dates and figures are the same on every run.
`pytest --snapshot-update` rewrites them: look at the new ones (as PNG) before committing."""

from __future__ import annotations

import pytest

from cabin.kiosk.faces.supervisor import SupervisorApp, SupervisorScreen

from facekit import busy_morning, until
from workflowkit import ADULT, PW, WANG, Host, request_card, rig, test_printer  # noqa: F401 (fixture)

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
LOOKS = [("zh", "80x24")]
IDS = [f"{lang}-{size}" for lang, size in LOOKS]


def quiet(pilot):
    return until(pilot, lambda: not getattr(pilot.app.screen, "busy", False))


async def keys_settled(pilot, *keys) -> None:
    """Each key, then the screen's work done."""
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.1)
        await quiet(pilot)


async def approved_by_wang(pilot) -> None:
    """The temporary card read and requested, wang's name and password typed in (not yet sent)."""
    await keys_settled(pilot, "f2", "enter")
    pilot.app.screen.query_one("#supervisor").value = "wang"
    pilot.app.screen.query_one("#password").value = PW


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_tempcard_card_read(snap_compare, rig, lang, size):
    """The applicant read from the card: the fields filled, masked."""
    app = Host(rig, "id.temporary", lang=lang, reader_timeout=2.0, printer=test_printer)

    async def read(pilot):
        await keys_settled(pilot, "f2")

    assert snap_compare(app, terminal_size=SIZES[size], run_before=read)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_tempcard_approval(snap_compare, rig, lang, size):
    """Requested: the record, masked, and the supervisor's approval step."""
    rig.wang_applied()
    app = Host(rig, "id.temporary", lang=lang, reader_timeout=2.0, printer=test_printer)

    async def requested(pilot):
        await keys_settled(pilot, "f2", "enter")
        await pilot.press(*"wang")

    assert snap_compare(app, terminal_size=SIZES[size], run_before=requested)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_tempcard_printer_fault(snap_compare, rig, lang, size):
    """Approved, then the printer's ribbon runs out mid-job: plain words, fix and print again."""
    rig.wang_applied()
    app = Host(rig, "id.temporary", lang=lang, reader_timeout=2.0, printer=test_printer)

    async def fault(pilot):
        await approved_by_wang(pilot)
        rig.printer.inject("ribbon_out", "Se")
        await keys_settled(pilot, "enter", "enter")             # approve, print

    assert snap_compare(app, terminal_size=SIZES[size], run_before=fault)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_intake(snap_compare, rig, lang, size):
    """A Hong Kong/Macau endorsement: checklist, fee options, the citizen."""
    assert snap_compare(Host(rig, "ee.hkmo_endorse", lang=lang), terminal_size=SIZES[size])


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_application_accepted(snap_compare, rig, lang, size):
    """A main-card application typed by hand, accepted: fee, validity, deadline."""
    app = Host(rig, "id.apply", lang=lang)

    async def accepted(pilot):
        app.screen.query_one("#number").value = ADULT
        app.screen.query_one("#reason").value = "card damaged"
        await pilot.press("enter")
        await pilot.pause(0.1)
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=accepted)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_loss_report_meets_a_found_card(snap_compare, rig, lang, size):
    from cabin.kiosk.business.lostfound import LostFound

    with rig.services() as store:
        LostFound(store, rig.config, rig.clock).register_found(
            WANG["id_number"], finder="张三", phone="13812345678", place="地铁1号线吕厝站", found_on="2026-11-20",
            by=rig.accounts["li"])
    app = Host(rig, "id.loss_report", lang=lang, reader_timeout=2.0)

    async def reported(pilot):
        await keys_settled(pilot, "f2", "enter")

    assert snap_compare(app, terminal_size=SIZES[size], run_before=reported)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_found_card_form(snap_compare, rig, lang, size):
    assert snap_compare(Host(rig, "id.found_card", lang=lang), terminal_size=SIZES[size])


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_supervisor(snap_compare, rig, lang, size):
    """A busy morning half an hour on, one temporary card waiting for approval."""
    station = rig.station()
    busy_morning(station, rig.clock)
    rig.clock.advance(minutes=25)
    station.store.close()
    request_card(rig)
    app = SupervisorApp(rig.link, lang=lang)

    async def signed_in(pilot):
        await pilot.press(*"wang", "enter", *PW, "enter")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen) and app.screen.view is not None)
        await pilot.press("2")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=signed_in)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_tempcard_reprint_sign_off(snap_compare, rig, lang, size):
    """Printed, then F7: the supervisor signs for one more card, with the reason."""
    rig.wang_applied()
    app = Host(rig, "id.temporary", lang=lang, reader_timeout=2.0, printer=test_printer)

    async def signing(pilot):
        await approved_by_wang(pilot)
        await keys_settled(pilot, "enter", "enter")             # approve, print
        await pilot.press("f7", *"zhao", "enter")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=signing)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_open_applications(snap_compare, rig, lang, size):
    """The supervisor's F6: open applications by deadline, one cross-region and overdue."""
    from cabin.kiosk.business.applications import Applications

    with rig.services() as store:
        apps = Applications(store, rig.config, rig.clock)
        apps.accept(WANG["id_number"], "replacement", by=rig.accounts["li"])
        apps.accept(ADULT, "renewal", by=rig.accounts["li"])
    rig.clock.advance(minutes=60 * 24 * 70)                  # past the deadlines
    app = SupervisorApp(rig.link, lang=lang)

    async def listed(pilot):
        await pilot.press(*"wang", "enter", *PW, "enter")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen) and app.screen.view is not None)
        await pilot.press("f6")
        await until(pilot, lambda: getattr(app.screen, "rows", None))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=listed)


@pytest.mark.parametrize("lang, size", LOOKS, ids=IDS)
def test_supervisor_sign_in_refused(snap_compare, rig, lang, size):
    """`cabin supervisor`'s sign-in, a clerk's account refused in the face's language."""
    app = SupervisorApp(rig.link, lang=lang)

    async def refused(pilot):
        await pilot.press(*"li", "enter", *PW, "enter")
        await until(pilot, lambda: "li" in str(app.screen.query_one("#wf-status").render()))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=refused)
