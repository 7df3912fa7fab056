"""`cabin appointment import / checkin / show`: the CLI's own clock, pinned to 10:00 of today in
the station's time zone (a slot three hours on must fall on the same day whenever the suite
runs), with a slot around then; the export's appointment figures after them."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cabin.queue.clock import SystemClock, to_ms

from clikit import assert_refused, base_env, dump, one_json, run_cli

TZ = ZoneInfo("Asia/Shanghai")  # the default config's


def bookings(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM appointments ORDER BY id").fetchall()


NOW = datetime.now(TZ).replace(hour=10, minute=0, second=0, microsecond=0)


def slot(minutes_from_now: int, length: int = 30) -> tuple[str, str]:
    start = NOW + timedelta(minutes=minutes_from_now)
    return start.strftime("%Y-%m-%d %H:%M"), (start + timedelta(minutes=length)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def env(tmp_path, monkeypatch):
    # the CLI's clock (SystemClock) at NOW, a millisecond more at each reading
    ticks = iter(range(to_ms(NOW), to_ms(NOW) + 10**9))
    monkeypatch.setattr(SystemClock, "now_ms", lambda self: next(ticks))
    data = tmp_path / "xdg"
    data.mkdir(mode=0o700)
    return base_env(tmp_path / "cabin.sqlite", data)


def test_import_checkin_show_and_export(tmp_path, env):
    now_start, now_end = slot(-5)
    far_start, far_end = slot(180)
    path = tmp_path / "day.csv"
    path.write_text("code,services,slot_start,slot_end,phone_last4\n"
                    f"YY-1,id.apply;id.temporary,{now_start},{now_end},1234\n"
                    f"YY-2,ee.passport,{far_start},{far_end},5678\n", encoding="utf-8-sig")
    r = run_cli(["appointment", "import", path, "--json"], env=env)
    assert r.code == 0, r.err
    assert one_json(r)["imported"] == 2

    r = run_cli(["appointment", "checkin", "yy-1", "--json"], env=env)
    first = one_json(r)
    assert r.code == 0 and first["priority"] == "appointment" and first["on_time"] is True and first["why"] is None
    assert first["code"] == "YY-1" and first["services"] == ["id.apply", "id.temporary"] and first["token"]

    r = run_cli(["appointment", "checkin", "YY-2", "--json"], env=env)  # three hours early
    early = one_json(r)
    assert r.code == 0 and (early["priority"], early["outside"], early["on_time"]) == ("normal", "early", False)
    assert early["why"].startswith("your appointment is from ") and "you get an ordinary ticket" in early["why"]

    before = dump(env["CABIN_DB"]), bookings(env["CABIN_DB"])
    r = run_cli(["appointment", "checkin", "YY-1", "--json"], env=env)
    assert_refused(r, f"the appointment YY-1 was already checked in: its ticket is {first['ticket']}",
                   quiet_stdout=False)
    assert json.loads(r.out)["exit"] == 1
    assert_refused(run_cli(["appointment", "checkin", "NOPE"], env=env), "no appointment NOPE")
    assert_refused(run_cli(["appointment", "import", path], env=env), "line 2: the code YY-1 was already imported")
    assert (dump(env["CABIN_DB"]), bookings(env["CABIN_DB"])) == before

    r = run_cli(["appointment", "show", "YY-1", "--json"], env=env)
    assert one_json(r)["state"] == "checked_in" and one_json(r)["ticket"] == first["ticket"]

    out = tmp_path / "out"
    r = run_cli(["export", "--day", "today", "--format", "json", "--out", out, "--json"], env=env)
    assert r.code == 0, r.err
    report = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert {k: report[k] for k in ("appointments_booked", "appointments_checked_in", "appointments_on_time",
                                   "appointments_no_show")} == {
        "appointments_booked": 2, "appointments_checked_in": 2, "appointments_on_time": 1, "appointments_no_show": 0}
