"""Loss reports and found cards on a real SQLite file: every rule, the meeting of a loss report
and a found card in both orders, masking in every output, the audit entry of every operation,
refusals that change nothing; and `cabin loss` / `cabin found` through the CLI's main."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import datetime

import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.lostfound import LostFound
from cabin.kiosk.identity import check_character
from cabin.kiosk.station import open_store
from cabin.queue.clock import ManualClock
from cabin.queue.errors import CabinError

from clikit import Run, run_cli

PW = "correct horse"
A = "350206199001011239"
B = "350206198512314560"
A_MASKED = "350206********1239"
B_MASKED = "350206********4560"


@pytest.fixture
def mclock(config):
    return ManualClock(config.station.tz, datetime(2026, 11, 28, 9, 0, tzinfo=config.station.tz))


@pytest.fixture
def clerk(kiosk_store, mclock):
    accts = Accounts(kiosk_store, mclock)
    accts.add("root", "admin", PW)
    root = accts.authenticate("root", PW)
    accts.add("li", "clerk", PW, by=root)
    return accts.authenticate("li", PW)


@pytest.fixture
def lf(kiosk_store, config, mclock):
    return LostFound(kiosk_store, config, mclock)


def snapshot(store):
    with store.read() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("loss_reports", "found_cards", "found_notifications", "audit")}


def refused(store, fn, *args, **kw) -> str:
    before = snapshot(store)
    with pytest.raises(CabinError) as info:
        fn(*args, **kw)
    assert snapshot(store) == before
    message = str(info.value)
    assert A not in message and B not in message
    return message


def lf_actions(store):
    with store.read() as conn:
        return [(e["actor"], e["action"], e["subject"]) for e in audit.show(conn, 1000)
                if e["action"].split(".")[0] in ("loss", "found")]


def finder(**kw):
    return {"finder": "张三丰", "phone": "13812345678", "place": "湖里公园", "found_on": "2026-11-27", **kw}


# -- loss reports -------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_loss_report_receipts_are_numbered_per_day(lf, clerk, kiosk_store, mclock, config):
    r1 = lf.report_loss(A, by=clerk)
    r2 = lf.report_loss(B, by=clerk, source="manual", reason="reader broken")
    assert (r1.receipt, r2.receipt) == ("GS-20261128-0001", "GS-20261128-0002")
    assert r1.state == "reported" and r1.source == "reader" and r1.reported_by == "li"
    assert r2.source_reason == "reader broken"
    lf.cancel_loss(r1.receipt, number=A, by=clerk)
    mclock.set(datetime(2026, 11, 29, 9, 0, tzinfo=config.station.tz))
    assert lf.report_loss(A, by=clerk).receipt == "GS-20261129-0001"
    assert lf_actions(kiosk_store) == [("li", "loss.report", "GS-20261128-0001"), ("li", "loss.report", "GS-20261128-0002"),
                                  ("li", "loss.cancel", "GS-20261128-0001"), ("li", "loss.report", "GS-20261129-0001")]


@pytest.mark.usefixtures("any_db")
def test_loss_report_is_in_person_only_and_one_open_per_number(lf, clerk, kiosk_store):
    assert "in person only" in refused(kiosk_store, lf.report_loss, A, applicant=B, by=clerk)
    assert "not valid" in refused(kiosk_store, lf.report_loss, "350206199001011238", by=clerk)
    assert "reason" in refused(kiosk_store, lf.report_loss, A, by=clerk, source="manual")
    assert "source" in refused(kiosk_store, lf.report_loss, A, by=clerk, source="phone")
    r = lf.report_loss(A, applicant="３５０２０６１９９００１０１１２３９", by=clerk)  # full-width digits
    assert "already has an open loss report" in refused(kiosk_store, lf.report_loss, A, by=clerk)
    lf.cancel_loss(r.receipt, number=A, by=clerk)
    assert lf.report_loss(A, by=clerk).state == "reported"  # a new one after the cancellation


@pytest.mark.usefixtures("any_db")
def test_cancel_needs_the_card_and_a_reported_state(lf, clerk, kiosk_store):
    r = lf.report_loss(A, by=clerk)
    assert "not the one reported" in refused(kiosk_store, lf.cancel_loss, r.receipt, number=B, by=clerk)
    assert "no loss report" in refused(kiosk_store, lf.cancel_loss, "GS-20261128-0099", number=A, by=clerk)
    done = lf.cancel_loss(r.receipt.lower(), number=A, by=clerk, source="manual", reason="chip unreadable")
    assert (done.state, done.closed_by, done.close_source, done.close_reason) == (
        "cancelled", "li", "manual", "chip unreadable")
    assert "cancelled, not reported" in refused(kiosk_store, lf.cancel_loss, r.receipt, number=A, by=clerk)


@pytest.mark.usefixtures("any_db")
def test_only_clerks_and_supervisors_and_enabled_accounts_act(lf, clerk, kiosk_store, mclock):
    accts = Accounts(kiosk_store, mclock)
    root = accts.authenticate("root", PW)
    assert "needs clerk or supervisor" in refused(kiosk_store, lf.report_loss, A, by=root)
    accts.disable("li", by=root)
    assert "disabled" in refused(kiosk_store, lf.report_loss, A, by=clerk)


# -- found cards --------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_found_card_held_with_notification_then_handed_over(lf, clerk, kiosk_store):
    card = lf.register_found(A, by=clerk, **finder())
    assert card.state == "held" and card.loss is None and A_MASKED in card.notification
    assert A not in card.notification
    assert "not the card's" in refused(kiosk_store, lf.handover, card.id, number=B, by=clerk)
    back = lf.handover(card.id, number=A, by=clerk)
    assert (back.state, back.returned_by, back.returned_source) == ("returned", "li", "reader")
    assert back.returned_at is not None
    assert "returned, not held" in refused(kiosk_store, lf.handover, card.id, number=A, by=clerk)
    with kiosk_store.read() as conn:
        assert conn.execute("SELECT count(*) FROM found_notifications").fetchone()[0] == 1
    assert [a for _, a, _ in lf_actions(kiosk_store)] == ["found.register", "found.notify", "found.handover"]


@pytest.mark.usefixtures("any_db")
def test_the_owner_told_is_recorded_once_and_only_for_a_held_card(lf, clerk, kiosk_store, mclock):
    held = lf.register_found(A, by=clerk, **finder())
    destroyed = lf.register_found(B, by=clerk, replaced=True, **finder())
    assert held.notified_at is None and [c.id for c in lf.list_found(to_notify=True)] == [held.id]
    assert 'unknown way "fax"' in refused(kiosk_store, lf.notified, held.id, by=clerk, how="fax")
    assert "destroyed: only a held card's owner is told" in refused(kiosk_store, lf.notified, destroyed.id, by=clerk,
                                                                    how="phone")
    mclock.advance(minutes=5)
    told = lf.notified(held.id, by=clerk, how="sms")
    assert told.notified_at == mclock.now_ms() and told.public()["notified_at"] == told.notified_at
    assert lf.list_found(to_notify=True) == []
    assert "has been told already" in refused(kiosk_store, lf.notified, held.id, by=clerk, how="phone")
    with kiosk_store.read() as conn:
        entry = [e for e in audit.show(conn, 100) if e["action"] == "found.notified"]
    assert len(entry) == 1 and entry[0]["detail"]["how"] == "sms" and A not in str(entry[0])
    lf.handover(held.id, number=A, by=clerk)
    assert "returned: only a held card's owner is told" in refused(kiosk_store, lf.notified, held.id, by=clerk,
                                                                   how="phone")


@pytest.mark.usefixtures("any_db")
def test_found_card_destroyed_when_the_owner_replaced_it(lf, clerk, kiosk_store):
    flagged = lf.register_found(A, by=clerk, replaced=True, **finder())
    assert flagged.state == "destroyed" and "clerk" in flagged.destroyed_reason
    r = lf.report_loss(B, by=clerk)
    lf.mark_replaced(r.receipt, by=clerk)
    by_report = lf.register_found(B, by=clerk, **finder())
    assert by_report.state == "destroyed" and r.receipt in by_report.destroyed_reason
    assert by_report.loss.receipt == r.receipt and by_report.loss.state == "replaced"
    assert "destroyed, not held" in refused(kiosk_store, lf.handover, by_report.id, number=B, by=clerk)
    with kiosk_store.read() as conn:
        assert conn.execute("SELECT count(*) FROM found_notifications").fetchone()[0] == 0
    assert [a for _, a, _ in lf_actions(kiosk_store)] == [
        "found.register", "found.destroy", "loss.report", "loss.replaced", "found.register", "found.destroy"]


@pytest.mark.usefixtures("any_db")
def test_found_card_input_is_checked(lf, clerk, kiosk_store):
    assert "not valid" in refused(kiosk_store, lf.register_found, "350206199001011238", by=clerk, **finder())
    assert "phone" in refused(kiosk_store, lf.register_found, A, by=clerk, **finder(phone="call me"))
    assert "in the future" in refused(kiosk_store, lf.register_found, A, by=clerk, **finder(found_on="2026-11-29"))
    assert "not a date" in refused(kiosk_store, lf.register_found, A, by=clerk, **finder(found_on="yesterday"))
    assert "escape sequence" in refused(kiosk_store, lf.register_found, A, by=clerk, **finder(place="park\x1b[2J"))
    assert "empty" in refused(kiosk_store, lf.register_found, A, by=clerk, **finder(finder="  "))
    card = lf.register_found(A, by=clerk, **finder(finder="𠀀明"))  # beyond the BMP, kept
    assert card.finder_name == "𠀀明" and card.public()["finder_name"] == "𠀀*"


# -- the meeting --------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_loss_report_first_then_found_card(lf, clerk):
    r = lf.report_loss(A, by=clerk)
    assert r.found == ()
    card = lf.register_found(A, by=clerk, **finder())
    assert card.state == "held" and card.loss.receipt == r.receipt
    assert [f.id for f in lf.get_loss(r.receipt).found] == [card.id]
    assert [f.id for f in lf.list_losses()[0].found] == [card.id]
    assert lf.get_found(card.id).loss.receipt == r.receipt
    assert lf.list_found("held")[0].loss.receipt == r.receipt


@pytest.mark.usefixtures("any_db")
def test_found_card_first_then_loss_report(lf, clerk, kiosk_store):
    card = lf.register_found(A, by=clerk, **finder())
    lf.register_found(B, by=clerk, **finder())  # another number does not meet it
    r = lf.report_loss(A, by=clerk)
    assert [f.id for f in r.found] == [card.id]
    assert lf.get_found(card.id).loss.receipt == r.receipt
    with kiosk_store.read() as conn:
        assert audit.show(conn, 1)[0]["detail"]["found"] == [card.id]
    lf.handover(card.id, number=A, by=clerk)
    assert lf.get_loss(r.receipt).found == ()  # only held cards are pending for the report


# -- masking ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_every_output_is_masked(lf, clerk, kiosk_store):
    r = lf.report_loss(A, by=clerk)
    card = lf.register_found(A, by=clerk, **finder())
    lf.handover(card.id, number=A, by=clerk)
    outputs = [json.dumps(x, ensure_ascii=False) for x in (
        r.public(), lf.get_loss(r.receipt).public(), lf.get_found(card.id).public(),
        [c.public() for c in lf.list_found()], [x.public() for x in lf.list_losses()])]
    outputs += [repr(r), repr(card), repr(lf.get_loss(r.receipt))]
    with kiosk_store.read() as conn:
        outputs.append(json.dumps(audit.show(conn, 1000), ensure_ascii=False))
        stored = conn.execute("SELECT number, finder_name, finder_phone FROM found_cards").fetchone()
    assert tuple(stored) == (A, "张三丰", "13812345678")  # stored whole
    for text in outputs:
        assert A not in text and "张三丰" not in text and "13812345678" not in text, text
    assert A_MASKED in outputs[2] and "张*" in outputs[2] and "138****5678" in outputs[2]


@pytest.mark.usefixtures("any_db")
def test_audit_chain_stays_intact(lf, clerk, kiosk_store):
    r = lf.report_loss(A, by=clerk)
    lf.register_found(A, by=clerk, **finder())
    lf.cancel_loss(r.receipt, number=A, by=clerk)
    with kiosk_store.read() as conn:
        assert audit.verify(conn) == (True, None, None)


@pytest.mark.usefixtures("any_db")
def test_a_reason_with_an_id_or_phone_number_is_refused_and_nothing_is_written(lf, clerk, kiosk_store):
    """A reason stays whole in its record and for ever in the audit log: no ID number, no phone."""
    report = lf.report_loss(B, by=clerk)
    found = lf.register_found(B, **finder(), by=clerk)
    for reason, shown in [(f"… 王五 {B}", B_MASKED), ("350206 19851231 4560", B_MASKED),
                          ("the owner, 138-1234-5678", "138****5678"), ("0592-1234567 called", "059****4567")]:
        for fn, args, kw in [(lf.report_loss, (A,), {}), (lf.cancel_loss, (report.receipt,), {"number": B}),
                             (lf.handover, (found.id,), {"number": B})]:
            message = refused(kiosk_store, fn, *args, by=clerk, source="manual", reason=reason, **kw)
            assert f"holds an ID number ({shown})" in message or f"holds a phone number ({shown})" in message
            assert "put it in its own field, not in the reason" in message
            assert "13812345678" not in message and "1234567" not in message
    # with the card read, a reason is optional, and checked all the same when given
    assert "holds an ID number" in refused(kiosk_store, lf.report_loss, A, by=clerk, reason=f"for {B}")


@pytest.mark.usefixtures("any_db")
def test_a_reason_naming_a_ticket_or_a_receipt_is_kept(lf, clerk):
    reason = "reader broken at A001; see GS-20261128-0001 and LS-20261202-0001"
    report = lf.report_loss(A, by=clerk, source="manual", reason=reason)
    assert report.source_reason == reason and lf.get_loss(report.receipt).source_reason == reason


# -- the CLI ------------------------------------------------------------------------------------
@pytest.fixture
def cabin(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(tmp_path / "cabin.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"),
               CABIN_BUSY_TIMEOUT_MS="300")

    def run(*args: str, stdin: str = "") -> Run:  # in this process, the real parser (tests/clikit.py)
        return run_cli(args, stdin, env=env, cwd=tmp_path)
    return run


def test_cli_loss_and_found(cabin):
    assert cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n").returncode == 0
    assert cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n").returncode == 0
    outs = []

    def ok(*args, stdin=f"{PW}\n"):
        r = cabin(*args, stdin=stdin)
        assert r.returncode == 0, r
        outs.append(r.stdout)
        return r

    def no(*args, words, stdin=f"{PW}\n"):
        r = cabin(*args, stdin=stdin)
        assert r.returncode == 1, r
        assert r.stderr.startswith("cabin: ") and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        outs.append(r.stdout + r.stderr)

    found = json.loads(ok("found", "register", A, "--finder", "张三丰", "--phone", "13812345678", "--place",
                          "湖里公园", "--date", "2026-01-02", "--as", "li", "--json").stdout)
    assert found["state"] == "held" and found["number"] == A_MASKED and found["finder_name"] == "张*"
    report = json.loads(ok("loss", "report", A, "--as", "li", "--json").stdout)
    assert report["receipt"].startswith("GS-") and [f["id"] for f in report["found"]] == [found["id"]]
    no("loss", "report", A, "--as", "li", words="already has an open loss report")
    no("loss", "report", A, "--applicant", B, "--as", "li", words="in person only")
    no("loss", "report", A, "--as", "li", words="wrong name or password", stdin="nope\n")
    no("found", "handover", str(found["id"]), "--number", B, "--as", "li", words="not the card's")
    shown = json.loads(ok("found", "show", str(found["id"]), "--json", stdin="").stdout)
    assert shown["loss"]["receipt"] == report["receipt"]
    assert "held" in ok("found", "list", "--state", "held", stdin="").stdout
    to_tell = json.loads(ok("found", "list", "--to-notify", "--json", stdin="").stdout)["found_cards"]
    assert [c["id"] for c in to_tell] == [found["id"]] and "tell the owner" in ok("found", "show", str(found["id"]),
                                                                                    stdin="").stdout
    told = json.loads(ok("found", "notified", str(found["id"]), "--how", "phone", "--as", "li", "--json").stdout)
    assert told["notified_at"] is not None
    assert "the owner was told" in ok("found", "show", str(found["id"]), stdin="").stdout
    assert json.loads(ok("found", "list", "--to-notify", "--json", stdin="").stdout)["found_cards"] == []
    no("found", "notified", str(found["id"]), "--how", "phone", "--as", "li", words="has been told already")
    ok("found", "handover", str(found["id"]), "--number", A, "--as", "li")
    no("loss", "cancel", report["receipt"], "--number", A, "--as", "li", words="is cancelled, not reported")
    ok("loss", "list", stdin="")
    assert json.loads(ok("loss", "show", report["receipt"], "--json", stdin="").stdout)["state"] == "cancelled"
    destroyed = json.loads(ok("found", "register", B, "--finder", "Wang", "--phone", "13900001111", "--place", "bus",
                              "--date", "2026-01-03", "--replaced", "--as", "li", "--json").stdout)
    assert destroyed["state"] == "destroyed"
    ok("found", "list")
    ok("audit", "show", "--as", "root")
    no("audit", "show", "--as", "li", words="only an admin or a supervisor reads the audit log")
    for text in outs:
        assert A not in text and B not in text and "张三丰" not in text and "13812345678" not in text, text


@pytest.mark.usefixtures("any_db")
def test_the_owner_collecting_the_card_cancels_the_loss_report(kiosk_store, config, clock, staff):
    clerk, _ = staff
    lf = LostFound(kiosk_store, config, clock)
    receipt = lf.report_loss(A, by=clerk).receipt
    found = lf.register_found(A, finder="张三", phone="13812345678", place="公交站",
                              found_on="2026-11-22", by=clerk)
    lf.handover(found.id, number=A, by=clerk)
    report = lf.get_loss(receipt)
    assert (report.state, report.close_reason) == ("cancelled", f"the card came back as found card {found.id}")


@pytest.mark.usefixtures("any_db")
def test_a_replacement_application_marks_the_loss_report_replaced(kiosk_store, config, clock, staff):
    from cabin.kiosk.business.applications import Applications

    clerk, _ = staff
    lf = LostFound(kiosk_store, config, clock)
    receipt = lf.report_loss(A, by=clerk).receipt
    Applications(kiosk_store, config, clock).accept(A, "replacement", by=clerk)
    assert lf.get_loss(receipt).state == "replaced"
    later = lf.register_found(A, finder="张三", phone="13812345678", place="公交站",
                              found_on="2026-11-23", by=clerk)
    assert later.state == "destroyed"


def test_cli_a_reason_with_an_id_number_is_refused_and_never_stored(cabin):
    """The issue's case: `--reason "… 王五 350206199001010017"` was shown whole in `loss show` and
    kept for ever in the audit log."""
    assert cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n").returncode == 0
    assert cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n").returncode == 0
    audit_before = cabin("audit", "show", "--json", "--as", "root", stdin=f"{PW}\n").stdout
    for reason, found in [("… 王五 350206199001010017", "an ID number (350206********0017)"),
                          ("王五 １３８ １２３４ ５６７８", "a phone number (138****5678)")]:
        r = cabin("loss", "report", A, "--source", "manual", "--reason", reason, "--as", "li", stdin=f"{PW}\n")
        assert r.returncode == 1 and r.stdout == "", r
        assert r.stderr == (f"cabin: the reason for typing the number by hand holds {found}: put it in its own field,"
                            " not in the reason; a reason says why, never who\n"), r.stderr
        r = cabin("loss", "report", A, "--source", "manual", "--reason", reason, "--as", "li", "--json",
                  stdin=f"{PW}\n")
        assert r.returncode == 1 and found in json.loads(r.stdout)["error"], r
    assert json.loads(cabin("loss", "list", "--json").stdout)["loss_reports"] == []
    after = json.loads(cabin("audit", "show", "--json", "--as", "root", stdin=f"{PW}\n").stdout)["entries"]
    assert [e["action"] for e in after if e["action"] != "login"] == \
        [e["action"] for e in json.loads(audit_before)["entries"] if e["action"] != "login"]
    assert "350206199001010017" not in cabin("audit", "show", "--as", "root", stdin=f"{PW}\n").stdout
    # a ticket and a receipt number are no one's: kept, and shown as typed
    r = cabin("loss", "report", A, "--source", "manual", "--reason", "reader broken at A001, see LS-20261202-0001",
              "--as", "li", "--json", stdin=f"{PW}\n")
    assert r.returncode == 0, r
    shown = cabin("loss", "show", json.loads(r.stdout)["receipt"], "--json").stdout
    assert json.loads(shown)["source_reason"] == "reader broken at A001, see LS-20261202-0001"


# -- windows reporting at once --------------------------------------------------------------------

REPORTERS, REPORTS = 3, 8


def numbers_of(window: int) -> list[str]:
    """REPORTS valid ID numbers of Huli, born on distinct days, for one window's citizens."""
    first17 = [f"35020619900{window}{day:02d}12{3 + window}" for day in range(1, REPORTS + 1)]
    return [n + check_character(n) for n in first17]


def reporting_window(db: str, config, clerk, window: int, ready, go, results) -> None:
    """One window's process: its own store, its citizens' loss reports one after the other."""
    clock = ManualClock(config.station.tz, datetime(2026, 11, 28, 9, 0, tzinfo=config.station.tz))
    with open_store(db) as store:
        lf = LostFound(store, config, clock)
        ready.wait()
        go.wait()
        results.put([lf.report_loss(number, by=clerk).receipt for number in numbers_of(window)])


@pytest.mark.usefixtures("any_db")
def test_windows_reporting_at_once_take_distinct_receipts(kiosk_store, clerk, config):
    """Three windows (processes) report losses flat out at once: every report is there once, the
    day's receipts run 0001..N without a repeat or a gap, and the audit chain is one chain (on
    PostgreSQL the conflicting reports ran again, as the service does by itself)."""
    context = multiprocessing.get_context("forkserver")  # fresh processes: no SQLite state of this one
    ready, go, results = context.Barrier(REPORTERS + 1), context.Event(), context.Queue()
    processes = [context.Process(target=reporting_window, args=(kiosk_store.where, config, clerk, w, ready, go, results))
                 for w in range(1, REPORTERS + 1)]
    for process in processes:
        process.start()
    ready.wait(timeout=60)  # every window's store open: they start together
    go.set()
    receipts = [r for _ in processes for r in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    total = REPORTERS * REPORTS
    assert sorted(receipts) == [f"GS-20261128-{n:04d}" for n in range(1, total + 1)]
    with kiosk_store.read() as conn:
        assert conn.execute("SELECT count(*) FROM loss_reports").fetchone()[0] == total
        assert audit.verify(conn) == (True, None, None)
    assert [a for _, a, _ in lf_actions(kiosk_store)].count("loss.report") == total
