"""Exit-entry and traffic intake: checklist, fee, receipt, and the errand completed — atomically."""

from __future__ import annotations

import json
import os

import pytest

from cabin.kiosk.business.audit import verify
from cabin.kiosk.business.intake import Intake, checklist, fee_for
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError

from clikit import run_cli

PW = "counter-pass-1"
NUMBER = "350206198503120019"


@pytest.fixture
def setup(kiosk_store, config, clock, staff):
    station = Station(kiosk_store, config, clock)
    return station, Intake(station, config), *staff


def dump(store):
    with store.read() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")]
                for t in ("requests", "windows", "intake_records", "audit", "events")}


def test_checklists_and_fees(config):
    c = checklist(config, "tr.license_renew")
    assert c["documents"] == ["居民身份证", "机动车驾驶证", "身体条件证明"] and c["fees"] == {"fee": 10}
    assert checklist(config, "tr.violation")["assessed"] is True
    assert fee_for(config, "ee.passport", None, None) == (None, 120)
    assert fee_for(config, "ee.tw_endorse", "多次（80元）", None) == ("多次（80元）", 80)
    assert fee_for(config, "tr.violation", None, 200) == (None, 200)
    for service, option, fine, why in [("ee.tw_endorse", None, None, "needs a fee option"),
                                       ("ee.passport", "x", None, "one fee"),
                                       ("ee.passport", None, 50, "fixed fee"),
                                       ("tr.violation", None, None, "no fixed fee")]:
        with pytest.raises(CabinError, match=why):
            fee_for(config, service, option, fine)


@pytest.mark.usefixtures("any_db")
def test_record_completes_the_errand_with_a_receipt(setup):
    station, intake, clerk, _ = setup
    station.set_window(3, "open")
    t = station.issue(["ee.hkmo_endorse", "ee.passport"])
    station.call_next(3)
    r = intake.record(3, by=clerk, number=NUMBER, fee_option="一年多次（80元）", documents_checked=True)
    assert r["receipt"] == "EE-20261123-0001" and r["fee_yuan"] == 80 and r["number"] == "350206********0019"
    assert r["continued"]["service"] == "ee.passport"  # one-stop: window 3 serves it too
    r2 = intake.record(3, by=clerk, number=NUMBER, documents_checked=True)
    assert r2["receipt"] == "EE-20261123-0002" and r2["fee_yuan"] == 120 and r2["continued"] is None
    assert [e.state for e in station.show_ticket(t.ticket).errands] == ["done", "done"]
    with station.store.read() as conn:
        assert verify(conn)[0]
        actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE action = 'intake.record'")]
        assert actions == ["intake.record", "intake.record"]
        assert conn.execute("SELECT id_number FROM intake_records").fetchall()[0][0] == NUMBER  # stored in full


@pytest.mark.parametrize("kwargs,why", [
    ({"documents_checked": False}, "check the documents first"),
    ({"number": "350206198503120018"}, "not valid"),
    ({"source": "manual"}, "reason"),
    ({"source": "manual", "reason": "reader broken, 350206198503120019"}, r"holds an ID number \(350206\*{8}0019\)"),
    ({"source": "manual", "reason": "reader broken, +86 138 1234 5678"}, r"holds a phone number \(138\*{4}5678\)"),
    ({"fee_option": "nope"}, "needs a fee option"),
])
@pytest.mark.usefixtures("any_db")
def test_refusals_change_nothing(setup, kwargs, why):
    station, intake, clerk, _ = setup
    station.set_window(3, "open")
    station.issue(["ee.hkmo_endorse"])
    station.call_next(3)
    before = dump(station.store)
    args = {"by": clerk, "number": NUMBER, "documents_checked": True, "fee_option": "一次（15元）"} | kwargs
    with pytest.raises(CabinError, match=why):
        intake.record(3, **args)
    assert dump(station.store) == before


@pytest.mark.usefixtures("any_db")
def test_id_errands_and_admins_are_refused(setup):
    station, intake, clerk, admin = setup
    station.set_window(2, "open")
    station.set_window(4, "open")
    station.issue(["id.apply"])
    station.call_next(2)
    with pytest.raises(CabinError, match="ID cards have their own workflows"):
        intake.record(2, by=clerk, number=NUMBER, documents_checked=True)
    station.issue(["tr.violation"])
    station.call_next(4)
    with pytest.raises(CabinError, match="root is a admin: this needs clerk or supervisor"):
        intake.record(4, by=admin, number=NUMBER, fine=100, documents_checked=True)
    assert intake.record(4, by=clerk, number=NUMBER, fine=100, documents_checked=True)["receipt"] == "TR-20261123-0001"


def test_cli(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(tmp_path / "c.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def cabin(*args, stdin=""):
        return run_cli(args, stdin, env=env, cwd=tmp_path)

    assert cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n").returncode == 0
    assert cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n").returncode == 0
    assert json.loads(cabin("intake", "checklist", "ee.passport", "--json").stdout)["fees"] == {"fee": 120}
    cabin("ticket", "issue", "ee.passport")
    cabin("window", "open", "3")
    cabin("call", "--window", "3")
    r = cabin("intake", "record", "--window", "3", "--as", "li", "--number", NUMBER, stdin=f"{PW}\n")
    assert r.returncode == 1 and r.stderr.startswith("cabin: check the documents first")
    r = cabin("intake", "record", "--window", "3", "--as", "li", "--number", NUMBER, "--documents-checked",
              "--json", stdin=f"{PW}\n")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["receipt"].startswith("EE-") and out["number"] == "350206********0019" and NUMBER not in r.stdout
