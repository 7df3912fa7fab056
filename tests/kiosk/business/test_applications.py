"""Main ID-card applications: recorded with the rules, one open per person, the flow, overdue."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime

import pytest

from cabin.kiosk.business.applications import Applications
from cabin.kiosk.business.audit import verify
from cabin.queue.errors import CabinError

from clikit import run_cli

PW = "counter-pass-1"
LOCAL = "350206198503120019"        # Fujian, born 1985: 41 at application -> 20 years
CROSS = "11010519491231002X"        # Beijing, born 1949: long-term


@pytest.fixture
def desk(kiosk_store, config, clock, staff):
    return Applications(kiosk_store, config, clock), staff[0], clock, kiosk_store


@pytest.mark.usefixtures("any_db")
def test_accept_applies_the_rules(desk):
    apps, clerk, _, _ = desk
    local = apps.accept(LOCAL, "replacement", by=clerk)
    assert local["receipt"] == "SL-20261123-0001" and local["number"] == "350206********0019"
    assert (local["fee_yuan"], local["validity"], local["due_on"], local["cross_region"]) == (40, "20 years", "2026-12-21", False)
    cross = apps.accept(CROSS, "renewal", by=clerk, source="manual", reason="reader broken")
    assert (cross["fee_yuan"], cross["validity"], cross["due_on"], cross["cross_region"]) == (20, "长期", "2027-01-22", True)


@pytest.mark.usefixtures("any_db")
def test_one_open_application_per_person(desk):
    apps, clerk, _, store = desk
    apps.accept(LOCAL, "renewal", by=clerk)
    with pytest.raises(CabinError, match="already has an open application"):
        apps.accept(LOCAL, "replacement", by=clerk)
    with store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM applications").fetchone()[0] == 1


@pytest.mark.usefixtures("any_db")
def test_the_flows_and_the_overdue_list(desk):
    apps, clerk, clock, store = desk
    cross = apps.accept(CROSS, "renewal", by=clerk)["receipt"]
    local = apps.accept(LOCAL, "renewal", by=clerk)["receipt"]
    with pytest.raises(CabinError, match="can go to approved or refused, not received"):
        apps.advance(cross, "received", by=clerk)
    assert apps.advance(cross, "approved", by=clerk)["approved_on"] == "2026-11-23"
    clock.set(datetime(2026, 12, 22, 9, 0, tzinfo=clock.tz))  # the local one is a day late
    assert [a["receipt"] for a in apps.list(overdue=True)] == [local]
    assert apps.advance(local, "received", by=clerk)["state"] == "received"
    assert apps.list(overdue=True) == []
    apps.advance(local, "collected", by=clerk)
    with pytest.raises(CabinError, match="needs a reason"):
        apps.advance(cross, "refused", by=clerk)
    refused = apps.advance(cross, "refused", by=clerk, reason="home police could not confirm the identity")
    assert refused["refused_reason"].startswith("home police") and refused["refused_on"] == "2026-12-22"
    apps.accept(LOCAL, "replacement", by=clerk)  # the earlier one is closed: a new one may open
    with store.read() as conn:
        assert verify(conn)[0]
        actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE action LIKE 'application.%' ORDER BY id")]
    assert actions == ["application.accept", "application.accept", "application.approved", "application.received",
                       "application.collected", "application.refused", "application.accept"]


@pytest.mark.usefixtures("any_db")
def test_bad_input(desk):
    apps, clerk, _, _ = desk
    for number, kind, why in [(LOCAL, "upgrade", "unknown kind"), ("350206198503120018", "first", "not valid")]:
        with pytest.raises(CabinError, match=why):
            apps.accept(number, kind, by=clerk)
    with pytest.raises(CabinError, match="there is no application"):
        apps.advance("SL-1", "approved", by=clerk)


@pytest.mark.usefixtures("any_db")
def test_a_refusal_reason_with_an_id_or_phone_number_is_refused(desk):
    apps, clerk, _, store = desk
    receipt = apps.accept(CROSS, "renewal", by=clerk, source="manual", reason="reader broken")["receipt"]
    with store.read() as conn:
        before = conn.execute("SELECT * FROM applications").fetchall(), conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    for reason, found in [(f"home police: not {LOCAL}", "an ID number (350206********0019)"),
                          ("home police, tel 010-62345678", "a phone number (010****5678)")]:
        with pytest.raises(CabinError, match=rf"the reason holds {re.escape(found)}: put it in its own field"):
            apps.advance(receipt, "refused", by=clerk, reason=reason)
    with pytest.raises(CabinError, match="holds an ID number"):
        apps.accept(LOCAL, "renewal", by=clerk, source="manual", reason=f"typed {LOCAL[:6]} {LOCAL[6:]}")
    with pytest.raises(CabinError, match="the reason was not accepted: it contains a terminal escape"):
        apps.advance(receipt, "refused", by=clerk, reason="no\x1b[2J")
    with store.read() as conn:
        assert (conn.execute("SELECT * FROM applications").fetchall(),
                conn.execute("SELECT count(*) FROM audit").fetchone()[0]) == before
    done = apps.advance(receipt, "refused", by=clerk, reason="home police could not confirm SL-20261123-0001")
    assert done["refused_reason"] == "home police could not confirm SL-20261123-0001"


def test_cli(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(tmp_path / "c.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def cabin(*args, stdin=""):
        return run_cli(args, stdin, env=env, cwd=tmp_path)

    cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n")
    cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n")
    r = cabin("application", "accept", CROSS, "--kind", "renewal", "--as", "li", "--json", stdin=f"{PW}\n")
    assert r.returncode == 0, r.stderr
    app = json.loads(r.stdout)
    assert app["number"] == "110105********002X" and CROSS not in r.stdout
    r = cabin("application", "advance", app["receipt"], "--to", "received", "--as", "li", stdin=f"{PW}\n")
    assert r.returncode == 1 and r.stderr.startswith("cabin: an application that is accepted can go to")
    assert "110105********002X" in cabin("application", "list").stdout
