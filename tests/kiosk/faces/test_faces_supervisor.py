"""The supervisor's view, driven by keys (Pilot): windows opened, paused, closed; a temporary card
approved and refused by the signed-in supervisor (never the one who took it); today's figures by
the export's code with the hourly sparkline; accounts added and disabled by an admin; the bad
ratings followed up (整改) with a note; and `cabin supervisor`'s own sign-in, which takes only a
supervisor or admin account."""

from __future__ import annotations

from textual import events

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.faces.supervisor import SupervisorApp, SupervisorLogin, SupervisorScreen, read_view
from cabin.kiosk.business.ratings import Ratings
from cabin.kiosk.business.tempcards import TempCards
from cabin.kiosk.faces.counter.workflows.common import AskScreen
from cabin.queue.engine import Station

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
async def test_a_sign_in_typed_in_one_burst_signs_in(rig):
    """The name, Enter, the password and Enter arriving at once (a script, a paste, a fast
    typist: the terminal hands them over together), not one at a time as Pilot's press does:
    the password must land in its own field, not after the name."""
    app = SupervisorApp(rig.link, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorLogin))
        burst = [*"wang", "enter", *PW, "enter"]
        for key in burst:  # all queued before the app handles the first, as the driver does
            app.post_message(events.Key(key, None if key == "enter" else key))
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen) or "wrong name" in screen_text(app))
        assert isinstance(app.screen, SupervisorScreen) and app.account.name == "wang"
        await until(pilot, lambda: app.screen.view is not None)  # mounted and read: the app may close


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


# -- bad ratings (好差评) awaiting the follow-up (整改) -----------------------------------------------------
def rated(rig, window: int, level: int, reason: str | None = None) -> int:
    """An errand of 出入境 served by li at `window`, completed, then rated by the citizen: its rating's id."""
    with rig.services() as store:
        station = Station(store, rig.config, rig.clock, clerk="li")
        station.set_window(window, "open")
        station.issue(["ee.passport"])
        station.call_next(window)
        station.start(window)
        rig.clock.advance(minutes=4)
        station.complete(window)
        return Ratings(store, rig.config, rig.clock).record(window, level, reason).id


def ratings_of(rig) -> dict:
    with rig.services() as store:
        return {r.id: r for r in Ratings(store, rig.config, rig.clock).list_ratings()}


async def asking_the_note(pilot, app) -> tuple[SupervisorScreen, str]:
    """wang signed in, on tab 4 (its text), the first bad rating's follow-up asked for (f)."""
    await signed_in(pilot, app, "wang")
    await pilot.press("4")
    screen, text = app.screen, screen_text(app)
    await pilot.press("f")
    await until(pilot, lambda: isinstance(app.screen, AskScreen))
    return screen, text


@pilot_test
async def test_a_bad_rating_shows_until_its_follow_up_with_a_note(rig):
    good = rated(rig, 3, 1)
    bad = rated(rig, 3, 5, "attitude")
    app = SupervisorApp(rig.link)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, text = await asking_the_note(pilot, app)
        assert "4 差评待整改（1）" in text
        row = next(line for line in text.splitlines() if "非常不满意" in line)
        assert all(w in row for w in ("普通护照", "3号窗口", "li", "服务态度不好", "11-23 09:08")), row
        assert [r.id for r in screen.view.bad_ratings] == [bad] and good != bad  # 非常满意 never shows
        await pilot.press("enter")                               # an empty note: refused, the dialog stays
        await pilot.press(*"   ", "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, AskScreen) and ratings_of(rig)[bad].followed_up_at is None
        await pilot.press(*"talked to the clerk", "enter")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        await settled(pilot, screen)
        assert f"评价 {bad} 已整改" in screen_text(app) and "4 差评待整改（0）" in screen_text(app)
        assert screen.view.bad_ratings == []
    followed = ratings_of(rig)[bad]
    assert (followed.followed_up_by, followed.follow_up_note) == ("wang", "talked to the clerk")
    with rig.services() as store, store.read() as conn:
        entry = audit.show(conn, limit=1)[0]
    assert (entry["actor"], entry["action"], entry["subject"], entry["detail"]) == (
        "wang", "rating.follow_up", f"rating {bad}", {"note": "talked to the clerk"})


@pilot_test
async def test_a_follow_up_already_recorded_elsewhere_is_refused_in_the_faces_language(rig):
    bad = rated(rig, 3, 4, "wait")
    app = SupervisorApp(rig.link)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, text = await asking_the_note(pilot, app)
        assert "4 差评待整改（1）" in text and "不满意" in text
        with rig.services() as store:                           # zhao, at another PC, first
            Ratings(store, rig.config, rig.clock).record_follow_up(bad, "apologised", by=rig.accounts["zhao"])
        await pilot.press(*"me too", "enter")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        await settled(pilot, screen)
        assert f"评价 {bad} 已由 zhao 整改" in screen_text(app)
        assert screen.view.bad_ratings == []
    assert ratings_of(rig)[bad].follow_up_note == "apologised"
