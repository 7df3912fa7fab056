"""The supervisor's view, driven by keys (Pilot): windows opened, paused, closed; a temporary card
approved and refused by the signed-in supervisor (never the one who took it); today's figures by
the export's code with the hourly sparkline; accounts added and disabled by an admin; and
`cabin supervisor`'s own sign-in, which takes only a supervisor or admin account."""

from __future__ import annotations

from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.faces.supervisor import SupervisorApp, SupervisorLogin, SupervisorScreen, read_view
from cabin.kiosk.business.tempcards import TempCards

from facekit import busy_morning, pilot_test, screen_text, until
from workflowkit import ADULT, PW, request_card, rig  # noqa: F401 (the fixture)


def card_state(rig, receipt: str) -> dict:
    with rig.services() as store:
        return TempCards(store, rig.config, rig.clock).show(receipt)


async def signed_in(pilot, app, name: str, password: str = PW) -> None:
    login = app.screen
    login.query_one("#login-name").value = ""
    login.query_one("#login-name").focus()
    login.say("", "")
    await pilot.press(*name, "enter", *password, "enter")
    await until(pilot, lambda: isinstance(app.screen, SupervisorScreen) or "未办理" in screen_text(app)
                or "Not done" in screen_text(app))
    if isinstance(app.screen, SupervisorScreen):
        await until(pilot, lambda: app.screen.view is not None)


async def settled(pilot, screen) -> None:
    await until(pilot, lambda: not screen.busy)
    await pilot.pause()


@pilot_test
async def test_sign_in_takes_a_supervisor_or_admin_only(rig):
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "li")
        assert isinstance(app.screen, SupervisorLogin) and "li is a clerk" in screen_text(app)
        await signed_in(pilot, app, "wang", "wrong-password")
        assert isinstance(app.screen, SupervisorLogin) and "wrong name or password" in screen_text(app)
        await signed_in(pilot, app, "wang")
        assert isinstance(app.screen, SupervisorScreen) and app.account.name == "wang"
        await pilot.press("escape")                             # signs out
        await until(pilot, lambda: isinstance(app.screen, SupervisorLogin))


@pilot_test
async def test_windows_open_pause_close(rig):
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "wang")
        screen = app.screen
        assert [w.state for w in screen.view.windows] == ["closed"] * 4
        await pilot.press("down", "o")                           # window 2 opens
        await settled(pilot, screen)
        assert "Window 2: open" in screen_text(app)
        await pilot.press("p")
        await settled(pilot, screen)
        await pilot.press("down", "o")                           # window 3
        await settled(pilot, screen)
        assert [w.state for w in screen.view.windows] == ["closed", "paused", "open", "closed"]
    queue = rig.station().queue_state()
    assert [w.state for w in queue.windows] == ["closed", "paused", "open", "closed"]


@pilot_test
async def test_approvals_by_the_signed_in_supervisor_never_the_requester(rig):
    mine = request_card(rig, by="wang")                          # wang took this one at a counter
    app = SupervisorApp(rig.link)
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "wang")
        screen = app.screen
        await pilot.press("2", "a")
        await settled(pilot, screen)
        assert "此申请由 wang 受理：须由另一人审批" in screen_text(app) and card_state(rig, mine)["state"] == "requested"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorLogin))
        await signed_in(pilot, app, "zhao")
        screen = app.screen
        await pilot.press("2")
        assert "待审批（1）" in screen_text(app)
        await pilot.press("a")
        await settled(pilot, screen)
        assert "已批准" in screen_text(app)
        assert screen.view.approvals == []
    card = card_state(rig, mine)
    assert (card["state"], card["decided_by"]) == ("approved", "zhao")


@pilot_test
async def test_refuse_with_a_reason(rig):
    receipt = request_card(rig)
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, app, "wang")
        screen = app.screen
        await pilot.press("2", "r")
        await pilot.press(*"no proof", "enter")
        await settled(pilot, screen)
    card = card_state(rig, receipt)
    assert (card["state"], card["decided_by"], card["refused_reason"]) == ("refused", "wang", "no proof")


@pilot_test
async def test_accounts_an_admin_adds_and_disables_a_supervisor_only_sees(rig):
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "wang")
        await pilot.press("3")
        assert "li" in screen_text(app) and "Add account" not in screen_text(app)
        await pilot.press("n")                                   # not an admin: nothing
        assert isinstance(app.screen, SupervisorScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorLogin))
        await signed_in(pilot, app, "root")
        screen = app.screen
        await pilot.press("3", "n")
        await pilot.press(*"chen", "enter", *"clerk", "enter", *"new-pass-123", "enter")
        await settled(pilot, screen)
        assert "Account chen (clerk) added" in screen_text(app)
        names = [a.name for a in screen.view.accounts]
        screen.query_one("#sv-accounts").move_cursor(row=names.index("chen"))
        await pilot.press("d")
        await settled(pilot, screen)
        assert "Account chen disabled" in screen_text(app)
    with rig.services() as store:
        assert Accounts(store).get("chen").disabled


def test_the_figures_are_the_exports(rig):
    from cabin.queue.reports.figures import day_figures

    station = rig.station()
    busy_morning(station, rig.clock)
    rig.clock.advance(minutes=30)
    view = read_view(rig.link)
    with station.store.read() as conn:
        expected = day_figures(conn, rig.config, view.day)
    station.store.close()
    for key in ("tickets_issued", "errands_done", "calls", "sla_share", "wait_max_min"):
        assert view.figures[key] == expected[key], key
    assert sum(view.hourly) == 6 and view.hourly[9] == 6
    assert view.waiting_now == 3 and view.longest_waiting_min >= 30


@pilot_test
async def test_the_open_applications_from_the_supervisors_view(rig):
    with rig.services() as store:
        receipt = Applications(store, rig.config, rig.clock).accept(ADULT, "replacement", by=rig.accounts["li"])["receipt"]
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "wang")
        await pilot.press("f6")
        await until(pilot, lambda: type(app.screen).__name__ == "ApplicationsScreen" and app.screen.rows)
        assert receipt in screen_text(app)
        await pilot.press("v")                                   # the card has come from the maker
        await until(pilot, lambda: f"{receipt}: card received" in str(app.screen.query_one("#wf-status").render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
    with rig.services() as store:
        shown = Applications(store, rig.config, rig.clock).show(receipt)
    assert shown["state"] == "received"


@pilot_test
async def test_another_windows_commit_shows_at_once_not_at_the_next_refresh(rig):
    app = SupervisorApp(rig.link, lang="en", refresh_seconds=3600)  # no periodic read in this test
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(pilot, app, "wang")
        screen = app.screen
        assert screen.view.windows[2].state == "closed"
        station = rig.station()  # a connection of its own, as another window's process
        station.set_window(3, "open")
        station.store.close()
        await until(pilot, lambda: screen.view.windows[2].state == "open")
