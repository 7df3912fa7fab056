"""The audited reveal and the retention purge (domain.md 6)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from cabin.drivers.idreader import SimulatedReader
from cabin.drivers.idreader.simphoto import decode
from cabin.drivers.idreader.simulator import placeholder
from cabin.drivers.simhost import PtyHost
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.business.audit import verify
from cabin.kiosk.business.intake import Intake
from cabin.kiosk.business.lostfound import LostFound
from cabin.kiosk.station import open_store
from cabin.kiosk.business.retention import purge
from cabin.kiosk.business.reveal import reveal
from cabin.kiosk.business.tempcards import Person, TempCards
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError

from clikit import run_cli

PW = "counter-pass-1"
A = "350206198503120019"     # Huli, male
B = "350203195807260026"     # Siming, female
C = "11010519491231002X"     # Beijing, female


@pytest.fixture
def records(kiosk_store, config, clock, staff):
    """One record of every kind, some closed and some open, made on 2026-11-23."""
    clerk, _ = staff
    lf = LostFound(kiosk_store, config, clock)
    apps = Applications(kiosk_store, config, clock)
    station = Station(kiosk_store, config, clock)
    closed_loss = lf.report_loss(A, by=clerk).receipt
    lf.cancel_loss(closed_loss, number=A, by=clerk)
    open_loss = lf.report_loss(B, by=clerk).receipt
    returned = lf.register_found(C, finder="张三", phone="13812345678", place="地铁站", found_on="2026-11-22", by=clerk).id
    lf.handover(returned, number=C, by=clerk, source="manual", reason="card is the one handed in")
    held = lf.register_found(B, finder="李四", phone="13987654321", place="公交", found_on="2026-11-22", by=clerk).id
    collected = apps.accept(A, "replacement", by=clerk)["receipt"]
    apps.advance(collected, "received", by=clerk)
    apps.advance(collected, "collected", by=clerk)
    pending = apps.accept(B, "renewal", by=clerk)["receipt"]
    station.set_window(3, "open")
    station.issue(["ee.passport"])
    station.call_next(3)
    intake = Intake(station, config).record(3, by=clerk, number=C, documents_checked=True, source="manual",
                                            reason="reader broken")["receipt"]
    cards = TempCards(kiosk_store, config, clock)
    voided = cards.request(Person(B, "王秀英", "2", "03", "福建省厦门市思明区中山路88号之二",
                                  decode(placeholder(b"PHOTO", B))), by=clerk)["receipt"]
    cards.void(voided, by=clerk, reason="陈大明 (father) says the main card came in time")
    return {"closed_loss": closed_loss, "open_loss": open_loss, "returned": returned, "held": held,
            "collected": collected, "pending": pending, "intake": intake, "voided": voided}


@pytest.mark.usefixtures("any_db")
def test_reveal_shows_everything_and_writes_the_audit_entry(records, kiosk_store, staff):
    clerk, admin = staff
    r = reveal(kiosk_store, "loss", records["open_loss"], by=clerk, reason="citizen disputes the receipt", now_ms=1)
    assert r["number"] == B
    found = reveal(kiosk_store, "found", str(records["held"]), by=clerk, reason="call the finder", now_ms=2)
    assert (found["number"], found["finder_name"], found["finder_phone"]) == (B, "李四", "13987654321")
    assert reveal(kiosk_store, "application", records["pending"], by=clerk, reason="x", now_ms=3)["id_number"] == B
    assert reveal(kiosk_store, "intake", records["intake"], by=clerk, reason="x", now_ms=4)["id_number"] == C
    card = reveal(kiosk_store, "tempcard", records["voided"], by=clerk, reason="x", now_ms=5)
    assert card["name"] == "王秀英" and card["address"].startswith("福建省") and card["photo_png"]
    with kiosk_store.read() as conn:
        entries = conn.execute("SELECT actor, subject, detail FROM audit WHERE action = 'reveal' ORDER BY id").fetchall()
        assert verify(conn)[0]
    assert [e["subject"] for e in entries] == [records["open_loss"], f"found:{records['held']}", records["pending"],
                                               records["intake"], records["voided"]]
    assert all(e["actor"] == "li" for e in entries)
    assert json.loads(entries[0]["detail"]) == {"record": "loss", "number": "350203********0026",
                                                "reason": "citizen disputes the receipt"}
    for kwargs, why in [({"reason": " "}, "reason for showing"), ({"by": admin}, "admin: this needs clerk"),
                        ({"reason": f"citizen {B} disputes it"}, r"holds an ID number \(350203\*{8}0026\)"),
                        ({"reason": "finder 139-8765-4321 asked"}, r"holds a phone number \(139\*{4}4321\)")]:
        with pytest.raises(CabinError, match=why):
            reveal(kiosk_store, "loss", records["open_loss"], **{"by": clerk, "reason": "x", **kwargs}, now_ms=6)
    with kiosk_store.read() as conn:
        assert conn.execute("SELECT count(*) FROM audit WHERE action = 'reveal'").fetchone()[0] == len(entries)
    with pytest.raises(CabinError, match="no loss record LS-0"):
        reveal(kiosk_store, "loss", "ls-0", by=clerk, reason="x", now_ms=7)


@pytest.mark.usefixtures("any_db")
def test_purge_removes_closed_personal_fields_and_keeps_the_rest(records, kiosk_store, config, clock):
    def dump():
        with kiosk_store.read() as conn:
            return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
                    for t in ("loss_reports", "found_cards", "applications", "intake_records", "temp_cards",
                              "found_notifications", "events", "tickets", "requests")}

    before = dump()
    now = clock.now_ms()
    assert purge(kiosk_store, 30, now, "2026-11-23")["purged"] == dict.fromkeys(
        ("loss_reports", "found_cards", "intake_records", "applications", "temp_cards", "appointments",
         "found_notifications"), 0)
    later = now + 31 * 86_400_000
    result = purge(kiosk_store, 30, later, "2026-12-24")
    assert result["purged"] == {"loss_reports": 1, "found_cards": 1, "intake_records": 1, "applications": 1,
                                "temp_cards": 1, "appointments": 0, "found_notifications": 1}
    after = dump()
    text = json.dumps(after, default=lambda b: b.hex(), ensure_ascii=False)
    for secret in (A, C, "张三", "13812345678", "王秀英", "中山路", "reader broken", "陈大明", "地铁站"):
        assert secret not in text, secret
    for still in (B, "李四", "13987654321"):                     # open records keep theirs
        assert still in text, still
    loss = {r["receipt"]: r for r in after["loss_reports"]}
    assert loss[records["closed_loss"]]["number"] == "350206************"   # the region stays
    assert loss[records["open_loss"]]["purged_at"] is None
    card = after["temp_cards"][0]
    assert (card["name"], card["address"], card["photo"], card["state"]) == ("", "", b"", "voided")
    for t in ("events", "tickets", "requests"):                  # the queue is untouched
        assert after[t] == before[t]
    assert purge(kiosk_store, 30, later, "2026-12-24")["purged"]["loss_reports"] == 0   # once
    with kiosk_store.read() as conn:
        assert verify(conn)[0]
        entry = conn.execute("SELECT actor, detail FROM audit WHERE action = 'purge' ORDER BY id DESC LIMIT 1 OFFSET 1").fetchone()
    assert entry["actor"] is None and json.loads(entry["detail"])["counts"]["temp_cards"] == 1
    with pytest.raises(CabinError, match="was purged"):
        reveal(kiosk_store, "loss", records["closed_loss"], by=Accounts(kiosk_store, clock).authenticate("li", PW),
               reason="x", now_ms=later)


@pytest.mark.usefixtures("any_db")
def test_a_printed_temporary_card_is_kept_until_it_expires(kiosk_store, config, clock, staff):
    clerk, _ = staff
    with kiosk_store.write() as conn:  # a card printed on 2026-11-23, valid to 2027-02-23
        conn.execute("INSERT INTO temp_cards (receipt, state, id_number, name, sex, nation_code, birth, address,"
                     " photo, basis, basis_ref, cross_region, fee_yuan, source, photo_source, requested_by,"
                     " requested_at, valid_from, valid_to, cards_printed, updated_at) VALUES ('LS-20261123-0009',"
                     " 'printed', ?, '陈小明', '1', '01', '1985-03-12', 'x', ?, 'household_register', 'HR',"
                     " 0, 10, 'reader', 'reader', 'li', 0, '2026-11-23', '2027-02-23', 1, ?)", (A, b"\x00", clock.now_ms()))
        # and one valid to 2027-01-10: it closes at 2027-01-11 00:00 UTC, the day after, to the ms
        conn.execute("INSERT INTO temp_cards (receipt, state, id_number, name, sex, nation_code, birth, address,"
                     " photo, basis, basis_ref, cross_region, fee_yuan, source, photo_source, requested_by,"
                     " requested_at, valid_from, valid_to, cards_printed, updated_at) VALUES ('LS-20261123-0010',"
                     " 'printed', ?, '王秀英', '2', '01', '1958-07-26', 'x', ?, 'household_register', 'HR',"
                     " 0, 10, 'reader', 'reader', 'li', 0, '2026-11-23', '2027-01-10', 1, ?)", (B, b"\x00", clock.now_ms()))
    day = 86_400_000
    closed = int(datetime(2027, 1, 11, tzinfo=timezone.utc).timestamp() * 1000)
    assert purge(kiosk_store, 1, closed + day, "2027-01-12")["purged"]["temp_cards"] == 0      # closed a day ago, not more
    assert purge(kiosk_store, 1, closed + day + 1, "2027-01-12")["purged"]["temp_cards"] == 1
    jan = datetime(2027, 1, 30, tzinfo=clock.tz).timestamp() * 1000
    assert purge(kiosk_store, 1, int(jan), "2027-01-30")["purged"]["temp_cards"] == 0       # in use
    mar = int(datetime(2027, 3, 1, tzinfo=clock.tz).timestamp() * 1000)
    assert purge(kiosk_store, 30, mar, "2027-03-01")["purged"]["temp_cards"] == 0           # expired 5 days ago
    assert purge(kiosk_store, 30, mar + 30 * day, "2027-03-31")["purged"]["temp_cards"] == 1


def test_cli_reveal_purge_and_the_unmasked_card_read(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(tmp_path / "c.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def cabin(*args, stdin=f"{PW}\n"):
        return run_cli(args, stdin, env=env)

    with open_store(tmp_path / "c.sqlite") as store:
        accounts = Accounts(store)
        accounts.add("li", "clerk", PW, by=accounts.add("root", "admin", PW))
    receipt = json.loads(cabin("loss", "report", A, "--as", "li", "--json").stdout)["receipt"]
    r = cabin("reveal", "loss", receipt, "--reason", "the owner asks", "--as", "li", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["number"] == A
    r = cabin("reveal", "loss", receipt, "--as", "li")
    assert r.returncode == 2 and "--reason" in r.stderr
    r = cabin("purge", "--older-than", "30", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["purged"]["loss_reports"] == 0    # still open
    assert cabin("purge", "--older-than", "0").returncode == 1

    with PtyHost(SimulatedReader()) as reader:
        masked = json.loads(cabin("devices", "read-id", "--reader", reader.path, "--json").stdout)
        assert masked["id_number"] == "350206********0019" and masked["photo_bytes"] == 1024
        r = cabin("devices", "read-id", "--reader", reader.path, "--reveal", "--json")
        assert r.returncode == 1 and "--as" in r.stderr and "--reason" in r.stderr
        r = cabin("devices", "read-id", "--reader", reader.path, "--reveal", "--as", "li", "--reason", "check the photo",
                  "--json")
        assert r.returncode == 0, r.stderr
        full = json.loads(r.stdout)
        assert full["name"] == "陈𠮷" and full["address"] and len(full["photo"]) == 1368   # the same card, still there
        assert full["id_number"] == "350206198503120019"
    log = json.loads(cabin("audit", "show", "--json", "--as", "root").stdout)
    reveals = [e for e in log["entries"] if e["action"] == "reveal"]
    assert [e["subject"] for e in reveals][-1] == "card read"
