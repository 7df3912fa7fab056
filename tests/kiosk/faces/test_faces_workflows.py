"""The counter's workflow screens, driven as a clerk would (Pilot): each screen pushed by a small
host app with a WorkflowContext for the errand at window 2, over a real SQLite file, with the
simulated card reader and card printer on real pseudo-terminals — including the reader with no
card, and a card printer fault struck mid-job then cleared: exactly one card."""

from __future__ import annotations

from cabin.config import load_config
from cabin.drivers.idreader.simulator import sample_cards
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.faces.counter.workflows.common import AskScreen
from cabin.kiosk.faces.counter.workflows.context import WorkflowResult

from facekit import pilot_test, screen_text, until
from workflowkit import ADULT, PW, WANG, Host, rig, test_printer  # noqa: F401 (the fixture)


async def typed(pilot, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


async def settled(pilot, screen) -> None:
    await until(pilot, lambda: not screen.busy)
    await pilot.pause()


def status(app) -> str:
    return str(app.screen.query_one("#wf-status").render())


# -- the temporary card ------------------------------------------------------------------------------------
@pilot_test
async def test_temporary_card_read_request_approve_print_with_a_fault_mid_job(rig):
    rig.wang_applied()
    app = Host(rig, "id.temporary", reader_timeout=2.0, printer=test_printer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("f2")
        await settled(pilot, screen)
        assert screen.card is not None and screen.card.id_number == WANG["id_number"]
        text = screen_text(app)
        assert "王*" in text and WANG["id_number"] not in text and WANG["address"] not in text  # masked
        await pilot.press("enter")                              # the request
        await settled(pilot, screen)
        assert screen.stage == "approve", status(app)
        receipt = screen.receipt
        assert receipt.startswith("LS-20261123-") and "10" in status(app)

        # the requester cannot approve their own request; a wrong password is refused
        await typed(pilot, "li")
        await pilot.press("tab")
        await typed(pilot, PW)
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "approve" and "li 是窗口民警账号：此操作需要主管账号" in status(app)   # in the face's language
        # the wrong person: the name is cleared and has the focus, so the next one just types
        assert screen.query_one("#supervisor").value == "" and app.focused.id == "supervisor"
        await typed(pilot, "wang")
        await pilot.press("tab")
        await typed(pilot, "not-the-password")
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "approve" and "账号或密码错误" in status(app)
        assert screen.query_one("#password").value == ""          # never kept
        assert app.focused.id == "password" and screen.query_one("#supervisor").value == "wang"  # the name stands
        await typed(pilot, PW)
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "print", status(app)

        # the printer's cover opens mid-job: nothing recorded, plain words, fix and print again
        rig.printer.inject("cover_open", "Sr")
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "print" and rig.printer.printed == []
        assert "上盖打开" in status(app) and "不会重复打印" in status(app)
        rig.printer.clear()
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "printed", status(app)
        assert len(rig.printer.printed) == 1
        assert "已打印" in status(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    assert app.result.recorded and not app.result.completed and app.result.receipt == receipt
    with rig.services() as store:
        from cabin.kiosk.business.tempcards import TempCards

        card = TempCards(store, rig.config, rig.clock).show(receipt)
    assert (card["state"], card["cards_printed"], card["decided_by"]) == ("printed", 1, "wang")


@pilot_test
async def test_a_supervisor_at_the_counter_cannot_approve_their_own_request(rig):
    rig.accounts["li"] = rig.accounts["wang"]             # wang serves the counter and takes the request
    with rig.services() as store:
        Applications(store, rig.config, rig.clock).accept(WANG["id_number"], "replacement", by=rig.accounts["wang"])
    app = Host(rig, "id.temporary", lang="en", reader_timeout=2.0, printer=test_printer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("f2")
        await settled(pilot, screen)
        await pilot.press("enter")
        await settled(pilot, screen)
        await typed(pilot, "wang")
        await pilot.press("enter")                          # Enter after the name: on to the password
        assert app.focused.id == "password"
        await typed(pilot, PW)
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "approve" and "wang took this request: a second person approves it" in status(app)
        screen.query_one("#supervisor").value = "zhao"
        screen.query_one("#password").focus()
        await typed(pilot, PW)
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "print"
        await pilot.press("f8")                              # void, with the reason
        await typed(pilot, "citizen changed their mind")
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "voided" and "voided" in status(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not None)
    assert not app.result.recorded and app.result.receipt == screen.receipt


async def supervisor_signs(pilot, app, name: str, reason: str) -> None:
    """The F6/F7 sign-off: a supervisor's name, password and the reason, Enter after each."""
    await until(pilot, lambda: isinstance(app.screen, AskScreen))
    for text in (name, PW, reason):
        await typed(pilot, text)
        await pilot.press("enter")


async def requested_by_reader(pilot, screen) -> None:
    await pilot.press("f2")
    await settled(pilot, screen)
    await pilot.press("enter")
    await settled(pilot, screen)
    assert screen.stage == "approve"


@pilot_test
async def test_a_supervisor_refuses_the_request_on_the_same_screen(rig):
    rig.wang_applied()
    app = Host(rig, "id.temporary", lang="en", reader_timeout=2.0, printer=test_printer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await requested_by_reader(pilot, screen)
        await pilot.press("f6")
        await supervisor_signs(pilot, app, "li", "the application was withdrawn")   # a clerk cannot
        await settled(pilot, screen)
        assert screen.stage == "approve" and "li is a clerk" in status(app)
        await pilot.press("f6")
        await supervisor_signs(pilot, app, "wang", "the application was withdrawn")
        await settled(pilot, screen)
        assert screen.stage == "refused" and "refused by wang" in status(app)
        assert "Refused because: the application was withdrawn" in screen_text(app)
        await pilot.press("f7")                                  # nothing to print again
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    assert not app.result.recorded and rig.printer.printed == []
    with rig.services() as store:
        from cabin.kiosk.business.tempcards import TempCards

        card = TempCards(store, rig.config, rig.clock).show(screen.receipt)
    assert (card["state"], card["decided_by"], card["cards_printed"]) == ("refused", "wang", 0)


@pilot_test
async def test_a_spoiled_card_printed_again_by_a_supervisor_with_the_reason(rig):
    rig.wang_applied()
    app = Host(rig, "id.temporary", lang="en", reader_timeout=2.0, printer=test_printer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await requested_by_reader(pilot, screen)
        await typed(pilot, "wang")
        await pilot.press("enter")
        await typed(pilot, PW)
        await pilot.press("enter")
        await settled(pilot, screen)
        await pilot.press("enter")                               # print
        await settled(pilot, screen)
        assert screen.stage == "printed" and len(rig.printer.printed) == 1
        rig.printer.inject("ribbon_out", "Se")                   # the reprint meets a fault first
        await pilot.press("f7")
        await supervisor_signs(pilot, app, "zhao", "the card came out smudged")
        await settled(pilot, screen)
        assert "ribbon" in status(app).lower() and "F7" in status(app)
        rig.printer.clear()
        await pilot.press("f7")
        await supervisor_signs(pilot, app, "zhao", "the card came out smudged")
        await settled(pilot, screen)
        assert "one more card printed" in status(app), status(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    assert app.result.recorded
    with rig.services() as store:
        from cabin.kiosk.business.tempcards import TempCards

        card = TempCards(store, rig.config, rig.clock).show(screen.receipt)
    assert card["cards_printed"] == 2 == len(rig.printer.printed)   # one first card, exactly one more


@pilot_test
async def test_the_reader_with_no_card_then_typed_by_hand_with_a_reason(rig, tmp_path):
    rig.reader.set_fault("no_card")
    from cabin.drivers.idreader.simphoto import decode
    from cabin.drivers.idreader.simulator import placeholder

    decode(placeholder(b"PHOTO", ADULT)).save(tmp_path / "photo.png")
    app = Host(rig, "id.temporary", reader_timeout=0.3, printer=test_printer)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("f2")
        await settled(pilot, screen)
        assert screen.card is None and "读卡器上没有身份证" in status(app)
        # typed by hand: the reason is asked for; the proof is the household register
        for fid, value in (("number", ADULT), ("name", "陈小明"), ("address", "福建省厦门市湖里区云顶北路101号"),
                           ("photo", str(tmp_path / "photo.png")), ("basis_ref", "HR-2026-001")):
            screen.query_one(f"#{fid}").value = value
        screen.query_one("#basis").value = "household_register"
        await pilot.press("enter")
        assert "录入原因" in status(app) and screen.stage == "request"
        screen.query_one("#reason").value = "reader fault"
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.stage == "approve", status(app)
        # the reveal: a reason, an audit entry, the whole record
        await pilot.press("f5")
        await until(pilot, lambda: "不要在原因中填写姓名、身份证号或电话" in screen_text(app))  # under the reason
        await typed(pilot, "citizen checks the spelling")
        await pilot.press("enter")
        await settled(pilot, screen)
        assert "陈小明" in screen_text(app) and ADULT in screen_text(app)
        await pilot.press("escape")                          # closes the revealed record
        await pilot.pause()
        await pilot.press("escape")                          # leaves the workflow: requested, not recorded
        await until(pilot, lambda: app.result is not None)
    assert not app.result.recorded and app.result.receipt.startswith("LS-")
    with rig.services() as store:
        from cabin.kiosk.business.tempcards import TempCards

        card = TempCards(store, rig.config, rig.clock).show(app.result.receipt)
        actions = [r[0] for r in store.read().__enter__().execute("SELECT action FROM audit ORDER BY id")]
    assert (card["source"], card["basis"], card["state"]) == ("manual", "household_register", "requested")
    assert "reveal" in actions


@pilot_test
async def test_a_name_the_font_cannot_draw_is_refused_with_the_message(rig):
    from cabin.drivers.fonts import cjk_font, missing_characters

    chen = sample_cards()[0]                                  # 陈𠮷
    font = cjk_font(chen.name)
    assert missing_characters(chen.name, font.path, font.index) == ["𠮷"]  # no font in the suite has it
    rig.reader.cards[:] = [chen]
    with rig.services() as store:
        Applications(store, rig.config, rig.clock).accept(chen.id_number, "replacement", by=rig.accounts["li"])
    app = Host(rig, "id.temporary", lang="en", reader_timeout=2.0, printer=test_printer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        for key in ("f2", "enter"):
            await pilot.press(key)
            await settled(pilot, screen)
        screen.query_one("#supervisor").value = "wang"
        screen.query_one("#password").value = PW
        await pilot.press("enter")
        await settled(pilot, screen)
        await pilot.press("enter")                            # print: refused before anything is sent
        await settled(pilot, screen)
        assert screen.stage == "print" and "U+20BB7" in status(app)
    assert rig.printer.printed == []


# -- intake -------------------------------------------------------------------------------------------------
@pilot_test
async def test_intake_with_a_fee_option_completes_the_errand(rig):
    app = Host(rig, "ee.hkmo_endorse", lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert app.focused.id == "checked" or app.focused.id == "option"
        screen.query_one("#number").value = ADULT
        screen.query_one("#reason").value = "no card reader at window 3"
        await pilot.press("enter")                            # documents not ticked: refused, nothing done
        await settled(pilot, screen)
        assert "check the documents first" in status(app) and not screen.done
        screen.query_one("#checked").focus()
        await pilot.press("space")
        screen.query_one("#option").focus()
        await pilot.press("right")                            # 二次（30元）
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done and "recorded" in status(app)
        assert "350206********0019" in screen_text(app) and ADULT not in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    r = app.result
    assert r.recorded and r.completed and r.receipt.startswith("EE-20261123-") and "30 yuan" in r.message
    station = rig.station()
    ticket = station.show_ticket("B001")
    station.store.close()
    assert ticket.errands[0].state == "done"


@pilot_test
async def test_intake_of_a_traffic_fine(rig):
    app = Host(rig, "tr.violation")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert "不要在原因中填写姓名、身份证号或电话" in screen_text(app)  # beside the reason
        screen.query_one("#number").value = ADULT
        screen.query_one("#reason").value = "证件损坏，本人电话 138 1234 5678"
        screen.query_one("#fine").value = "200"
        screen.query_one("#checked").value = True
        await pilot.press("enter")                            # a phone in the reason: refused, in Chinese
        await settled(pilot, screen)
        assert not screen.done
        assert "手工录入号码的原因中含有电话号码（138****5678）" in status(app) and "13812345678" not in status(app)
        screen.query_one("#reason").value = "证件损坏"
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done, status(app)
        await pilot.press("escape")                           # recorded: Escape hands the record back too
        await until(pilot, lambda: app.result is not None)
    assert app.result.completed and app.result.receipt.startswith("TR-")


@pilot_test
async def test_escape_before_anything_changes_nothing(rig):
    app = Host(rig, "id.apply")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not None)
    assert app.result == WorkflowResult()


def test_the_registry():
    from cabin.kiosk.faces.counter.workflows.registry import screen_class

    config = load_config()
    names = {s: (screen_class(s, config).__name__ if screen_class(s, config) else None) for s in config.services}
    assert names["id.temporary"] == "TempCardScreen" and names["id.cross_region"] == "ApplicationScreen"
    assert names["id.loss_report"] == "LossReportScreen" and names["id.found_card"] == "FoundCardScreen"
    assert all(names[s] == "IntakeScreen" for s in config.services if not s.startswith("id."))
    assert screen_class("no.such", config) is None


# -- applications ------------------------------------------------------------------------------------------
@pilot_test
async def test_application_read_from_the_card_and_its_next_steps(rig):
    app = Host(rig, "id.cross_region", lang="en", reader_timeout=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("f2")
        await settled(pilot, screen)
        assert screen.query_one("#kind").value == "replacement"
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done, status(app)
        text = screen_text(app)
        assert "Fee 40 yuan" in text and "due 2026-12-21" in text  # 20 working days in the province
        await pilot.press("f6")                                      # the open applications
        await until(pilot, lambda: app.screen.rows)
        assert len(app.screen.rows) == 1
        await pilot.press("a")                                       # a local one skips the home police
        await until(pilot, lambda: not app.screen.busy)
        assert "cannot" in screen_text(app) or "can go to" in screen_text(app)
        await pilot.press("v")                                       # the card arrived
        await until(pilot, lambda: not app.screen.busy and app.screen.rows[0]["state"] == "received")
        await pilot.press("escape", "enter")
        await until(pilot, lambda: app.result is not None)
    assert app.result.recorded and app.result.receipt.startswith("SL-")


# -- loss reports and found cards ------------------------------------------------------------------------------
@pilot_test
async def test_a_loss_report_shows_the_found_card_of_its_number(rig):
    from cabin.kiosk.business.lostfound import LostFound

    with rig.services() as store:
        LostFound(store, rig.config, rig.clock).register_found(
            WANG["id_number"], finder="张三", phone="13812345678", place="地铁1号线", found_on="2026-11-20",
            by=rig.accounts["li"])
    app = Host(rig, "id.loss_report", reader_timeout=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("f2")
        await settled(pilot, screen)
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done, status(app)
        assert "有 1 张同号证件已被拾获待领" in status(app) and "地铁1号线" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    assert app.result.recorded and app.result.receipt.startswith("GS-")


@pilot_test
async def test_a_found_card_registered_then_handed_over(rig):
    app = Host(rig, "id.found_card", lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        for fid, value in (("number", ADULT), ("reason", "found card, no reader"), ("finder", "Zhang San"),
                           ("phone", "13812345678"), ("place", "bus 25")):
            screen.query_one(f"#{fid}").value = value
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done and "held" in status(app)
        text = screen_text(app)
        assert "138****5678" in text and "13812345678" not in text and "Z*" in text
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not None)
    found_id = app.result.receipt
    station = rig.station()
    station.complete(2)                      # the counter app completes the recorded errand
    station.store.close()
    app = Host(rig, "id.found_card", lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        screen.query_one("#action").value = "handover"
        screen.query_one("#found_id").value = found_id
        screen.query_one("#number").value = ADULT
        screen.query_one("#reason").value = "the owner's card is the found one"
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.done and "handed over" in status(app), status(app)
