"""Appointments (预约): a day's bookings imported whole or not at all, checked in once as a ticket
whose priority depends on the time, no-shows computed, and the day's counts in the export."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.business.appointments import Appointments, day_counts
from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.business.retention import purge
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError

# Monday 2026-11-23; the clock fixture starts at 09:00
HEADER = "code,services,slot_start,slot_end,phone_last4\n"
DAY = [
    "YY-001,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234",
    "YY-002,ee.passport;ee.hkmo_permit,2026-11-23 10:00,2026-11-23 10:30,0042",
    "YY-003,tr.license_renew,2026-11-23 11:00,2026-11-23 11:30,9876",
    "YY-004,id.apply,2026-11-24 09:00,2026-11-24 09:30,5555",
]


@pytest.fixture
def station(kiosk_store, config, clock):
    return Station(kiosk_store, config, clock)


@pytest.fixture
def booked(station, tmp_path):
    """The day's file imported."""
    path = tmp_path / "day.csv"
    # with a BOM and Windows line ends, as a spreadsheet saves it
    path.write_bytes(("\ufeff" + HEADER.replace("\n", "\r\n") + "\r\n".join(DAY) + "\r\n").encode("utf-8"))
    Appointments(station).import_file(path)
    return Appointments(station)


def rows(station) -> list[dict]:
    with station.store.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM appointments ORDER BY code")]


def entries(station) -> list[dict]:
    """The audit log's entries, their detail read back, after checking the chain holds."""
    with station.store.read() as conn:
        assert audit.verify(conn) == (True, None, None)
        found = [dict(r) for r in conn.execute("SELECT actor, action, subject, detail FROM audit ORDER BY id")]
    return [{**e, "detail": json.loads(e["detail"]) if e["detail"] else None} for e in found]


def at(clock, hhmm: str, day: str = "2026-11-23") -> None:
    clock.set(datetime.fromisoformat(f"{day} {hhmm}").replace(tzinfo=clock.tz))


@pytest.mark.usefixtures("any_db")
def test_a_csv_with_a_bom_is_imported_whole(booked, station):
    got = rows(station)
    assert [r["code"] for r in got] == ["YY-001", "YY-002", "YY-003", "YY-004"]
    assert json.loads(got[1]["services"]) == ["ee.passport", "ee.hkmo_permit"]
    assert got[1]["phone_last4"] == "0042" and {r["state"] for r in got} == {"booked"}
    # 09:30 in Asia/Shanghai is 01:30 UTC
    assert got[0]["slot_start"] == int(datetime.fromisoformat("2026-11-23T01:30:00+00:00").timestamp() * 1000)
    assert got[0]["slot_end"] - got[0]["slot_start"] == 30 * 60_000


def test_the_record_has_no_place_for_a_name_or_an_id_number(kiosk_store):
    with kiosk_store.read() as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(appointments)")}
    assert columns == {"id", "code", "services", "slot_start", "slot_end", "phone_last4", "state", "ticket_id",
                       "on_time", "checked_in_at", "imported_at", "purged_at"}


def test_a_json_list_is_imported(station, tmp_path):
    path = tmp_path / "day.json"
    path.write_text(json.dumps([
        {"code": "j1", "services": ["id.apply", "id.temporary"], "slot_start": "2026-11-23 14:30",
         "slot_end": "2026-11-23 15:00", "phone_last4": "7777"},
        {"code": "J2", "services": "tr.violation", "slot_start": "2026-11-23 15:00",
         "slot_end": "2026-11-23 15:30", "phone_last4": "0001"}]), encoding="utf-8")
    assert Appointments(station).import_file(path) == {"file": str(path), "imported": 2, "days": ["2026-11-23"]}
    assert [(r["code"], json.loads(r["services"])) for r in rows(station)] == [
        ("J1", ["id.apply", "id.temporary"]), ("J2", ["tr.violation"])]


GOOD = "YY-009,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234"


@pytest.mark.parametrize("lines, where, why", [
    ([GOOD, "YY-010,id.apply,2026-11-31 09:30,2026-11-23 10:00,1234"], "line 3", "bad date 2026-11-31 09:30"),
    ([GOOD, "YY-010,id.apply,2026-11-23 9:30,2026-11-23 10:00,1234"], "line 3", "bad date 2026-11-23 9:30"),
    ([GOOD, "YY-010,id.apply,2026-11-23 10:30,2026-11-23 10:00,1234"], "line 3",
     r"the slot ends \(2026-11-23 10:00\) before it starts \(2026-11-23 10:30\)"),
    ([GOOD, "YY-010,id.apply;xx.nothing,2026-11-23 09:30,2026-11-23 10:00,1234"], "line 3",
     'unknown service "xx.nothing"'),
    ([GOOD, "yy-009,id.apply,2026-11-23 11:30,2026-11-23 12:00,1234"], "line 3",
     "the code YY-009 is already in the file, at line 2"),
    ([GOOD, "YY-010,id.apply,2026-11-23 09:30,2026-11-23 10:00,123"], "line 3",
     r"phone_last4 must be the last 4 digits of a phone number \(found 3 characters\)"),
    ([GOOD, "YY-010,id.apply,2026-11-23 09:30,2026-11-23 10:00,13812345678"], "line 3", r".*\(found 11 characters\)$"),
    ([GOOD, "YY-010,id.apply,2026-11-23 09:30,2026-11-23 10:00,12a4"], "line 3", r".*\(found 4 characters\)$"),
    ([GOOD, "tel 138 1234 5678,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234"], "line 3",
     r"a booking code cannot hold a phone number \(138\*\*\*\*5678\)$"),
    ([GOOD, "YY-010,id.apply,2026-11-23 09:30,2026-11-23 10:00"], "line 3", "4 values where the header has 5"),
    ([GOOD, "350206198503120019,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234"], "line 3",
     "a booking code cannot be an ID number"),
])
@pytest.mark.usefixtures("any_db")
def test_a_bad_booking_refuses_the_whole_file(station, tmp_path, lines, where, why):
    path = tmp_path / "day.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CabinError, match=f"^{path}, {where}: {why}"):
        Appointments(station).import_file(path)
    assert rows(station) == []  # not even the good line before it


@pytest.mark.parametrize("header, why", [
    ("code,services,slot_start,phone_last4", "missing column slot_end"),
    ("code,services,slot_start,slot_end,phone_last4,id_number", "unexpected column id_number"),
])
def test_a_bad_header_is_refused_on_line_1(station, tmp_path, header, why):
    path = tmp_path / "day.csv"
    path.write_text(header + "\nYY-1,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234,x\n", encoding="utf-8")
    with pytest.raises(CabinError, match=f"^{path}, line 1: {why}"):
        Appointments(station).import_file(path)
    assert rows(station) == []


def test_a_bad_json_booking_is_named_by_its_number(station, tmp_path):
    path = tmp_path / "day.json"
    good = {"code": "J1", "services": ["id.apply"], "slot_start": "2026-11-23 14:30", "slot_end": "2026-11-23 15:00",
            "phone_last4": "7777"}
    path.write_text(json.dumps([good, {**good, "code": "J2", "name": "张三"}]), encoding="utf-8")
    with pytest.raises(CabinError, match=f"^{path}, booking 2: unexpected key name"):
        Appointments(station).import_file(path)
    path.write_text(json.dumps([good, {k: v for k, v in good.items() if k != "slot_start"} | {"code": "J2"}]))
    with pytest.raises(CabinError, match=f"^{path}, booking 2: missing slot_start"):
        Appointments(station).import_file(path)
    assert rows(station) == []


@pytest.mark.usefixtures("any_db")
def test_a_code_already_imported_refuses_the_file(booked, station, tmp_path):
    path = tmp_path / "again.csv"
    path.write_text(HEADER + "YY-100,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234\n"
                    + DAY[2] + "\n", encoding="utf-8")
    with pytest.raises(CabinError, match=f"^{path}, line 3: the code YY-003 was already imported"):
        booked.import_file(path)
    assert len(rows(station)) == 4


# -- check-in ----------------------------------------------------------------------------------
# YY-001's slot is 09:30-10:00; the default tolerance is 15 minutes early, 10 late (09:15 to 10:10)
@pytest.mark.parametrize("time, priority, outside", [
    ("09:14", "normal", "early"),
    ("09:15", "appointment", None),      # early, inside the tolerance
    ("09:40", "appointment", None),      # inside the slot
    ("10:10", "appointment", None),      # late, inside the tolerance
    ("10:11", "normal", "late"),         # past it
])
@pytest.mark.usefixtures("any_db")
def test_checkin_gives_the_appointment_priority_inside_the_slot(booked, station, clock, time, priority, outside):
    at(clock, time)
    checked = booked.checkin("yy-001")  # typed in lower case
    ticket = station.show_ticket(checked.ticket["ticket"])
    assert (ticket.priority, ticket.channel, checked.outside, checked.on_time) == (
        priority, "appointment", outside, outside is None)
    assert [e.service for e in ticket.errands] == ["id.apply"]
    assert (checked.why is None) == (outside is None)
    if outside == "early":
        assert str(checked.why) == ("your appointment is from 09:30 to 10:00; it can be checked in from 09:15:"
                                    " you get an ordinary ticket")
    if outside == "late":
        assert "it could be checked in until 10:10" in str(checked.why)
    row = rows(station)[0]
    assert (row["state"], row["ticket_id"], row["on_time"], row["checked_in_at"]) == (
        "checked_in", ticket.ticket_id, int(outside is None), clock.now_ms())
    assert booked.show("YY-001")["state"] == "checked_in"


@pytest.mark.usefixtures("any_db")
def test_a_code_is_used_once(booked, station, clock):
    at(clock, "09:40")
    first = booked.checkin("YY-001")
    with pytest.raises(CabinError, match=f"the appointment YY-001 was already checked in: its ticket is"
                                         f" {first.ticket['ticket']} \\(2026-11-23\\)"):
        booked.checkin("YY-001")
    with station.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1


@pytest.mark.usefixtures("any_db")
def test_two_check_ins_of_one_code_at_once_issue_one_ticket(booked, station, clock):
    """The second dispenser read the booking before the first checked it in: its update, inside
    its ticket's transaction, finds the booking used and refuses: its ticket is not issued."""
    at(clock, "09:40")
    other = Appointments(station)

    def issue_after_the_other(services, **kw):
        other.checkin("YY-001")  # the other dispenser, between this one's read and its write
        return station.issue(services, **kw).as_dict()

    with pytest.raises(CabinError, match="already checked in"):
        Appointments(station, issue=issue_after_the_other).checkin("YY-001")
    with station.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'issued'").fetchone()[0] == 1


@pytest.mark.usefixtures("any_db")
def test_an_unknown_code_or_another_day_s_booking_uses_nothing(booked, station, clock):
    with pytest.raises(CabinError, match="^no appointment YY-999$"):
        booked.checkin("YY-999")
    with pytest.raises(CabinError, match="is not a booking code"):
        booked.checkin("YY 001")
    with pytest.raises(CabinError, match="the appointment YY-004 is for 2026-11-24, not today"):
        booked.checkin("YY-004")
    assert {r["state"] for r in rows(station)} == {"booked"}
    with station.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


@pytest.mark.usefixtures("any_db")
def test_an_appointment_is_called_before_ordinary_tickets_issued_a_little_earlier(booked, station, clock):
    at(clock, "09:35")
    station.set_window(2, "open")
    ordinary = station.issue(["id.apply"])
    clock.advance(minutes=5)
    appointment = booked.checkin("YY-001").ticket["ticket"]
    assert station.call_next(2).ticket == appointment
    station.complete(2)
    assert station.call_next(2).ticket == ordinary.ticket


# -- no-shows and the day's counts ---------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_no_shows_and_the_export_s_counts_against_a_hand_count(booked, station, clock, config):
    at(clock, "09:40")
    booked.checkin("YY-001")                 # on time
    at(clock, "11:50")
    late = booked.checkin("YY-003")          # slot 11:00-11:30, tolerance to 11:40: late
    assert late.outside == "late"
    # YY-002 (10:00-10:30, to 10:40) was not checked in: a no-show by now
    assert booked.show("YY-002")["state"] == "no_show"
    assert booked.show("YY-004")["state"] == "booked"  # tomorrow's
    # by hand, 2026-11-23: booked 3 (001, 002, 003), checked in 2, on time 1 (001), no-show 1 (002)
    with station.store.read() as conn:
        counts = day_counts(conn, config, ["2026-11-23", "2026-11-24"], clock.now_ms())
        extra = business_figures(conn, config, ["2026-11-23"], now_ms=clock.now_ms())["2026-11-23"]
    assert counts == {"2026-11-23": {"booked": 3, "checked_in": 2, "on_time": 1, "no_show": 1},
                      "2026-11-24": {"booked": 1, "checked_in": 0, "on_time": 0, "no_show": 0}}
    assert {k: v for k, v in extra.figures.items() if k.startswith("appointments_")} == {
        "appointments_booked": 3, "appointments_checked_in": 2, "appointments_on_time": 1, "appointments_no_show": 1}
    assert extra.labels["appointments_no_show"] == "预约爽约"
    # at 10:40 YY-002 could still check in on time: not yet a no-show
    with station.store.read() as conn:
        assert day_counts(conn, config, ["2026-11-23"], at_ms(clock, "10:40"))["2026-11-23"]["no_show"] == 0
        assert day_counts(conn, config, ["2026-11-23"], at_ms(clock, "10:41"))["2026-11-23"]["no_show"] == 1


def at_ms(clock, hhmm: str) -> int:
    return int(datetime.fromisoformat(f"2026-11-23 {hhmm}").replace(tzinfo=clock.tz).timestamp() * 1000)


@pytest.mark.parametrize("content, why", [
    (HEADER.encode() + "业务,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234\n".encode("gbk"), "is not UTF-8 text"),
    (b'{"code": "YY-1"}', "must be a JSON list of objects"),
    (b'[{"code": "YY-1"} ', "is not valid JSON"),
    (b"[]", "holds no bookings"),
    (HEADER.encode(), "holds no bookings"),
])
def test_a_file_that_is_not_a_booking_list_is_refused(station, tmp_path, content, why):
    path = tmp_path / "day.txt"
    path.write_bytes(content)
    with pytest.raises(CabinError, match=why):
        Appointments(station).import_file(path)
    assert rows(station) == []


# -- the audit log -----------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_an_import_and_each_check_in_are_audited_without_a_phone_s_digits(booked, station, clock):
    imported = entries(station)
    assert imported == [{"actor": None, "action": "appointment.import", "subject": "day.csv",
                         "detail": {"imported": 4, "days": ["2026-11-23", "2026-11-24"]}}]
    at(clock, "09:40")
    on_time = booked.checkin("YY-001").ticket["ticket"]
    at(clock, "11:50")
    late = booked.checkin("YY-003").ticket["ticket"]
    at(clock, "09:00", day="2026-11-24")
    early = booked.checkin("YY-004").ticket["ticket"]  # slot 09:00 next day: from 08:45
    assert entries(station)[1:] == [
        {"actor": None, "action": "appointment.checkin", "subject": "YY-001",
         "detail": {"ticket": on_time, "on_time": True, "outside": None}},
        {"actor": None, "action": "appointment.checkin", "subject": "YY-003",
         "detail": {"ticket": late, "on_time": False, "outside": "late"}},
        {"actor": None, "action": "appointment.checkin", "subject": "YY-004",
         "detail": {"ticket": early, "on_time": True, "outside": None}},
    ]
    with station.store.read() as conn:
        logged = " ".join(" ".join(map(str, r)) for r in conn.execute("SELECT * FROM audit"))
    assert not any(digits in logged for digits in ("1234", "0042", "9876", "5555"))


@pytest.mark.usefixtures("any_db")
def test_a_refused_import_or_check_in_leaves_no_entry(booked, station, clock, tmp_path):
    before = entries(station)
    path = tmp_path / "again.csv"
    path.write_text(HEADER + "YY-100,id.apply,2026-11-23 09:30,2026-11-23 10:00,1234\n" + DAY[2] + "\n",
                    encoding="utf-8")
    with pytest.raises(CabinError, match="already imported"):
        booked.import_file(path)
    with pytest.raises(CabinError, match="not today"):
        booked.checkin("YY-004")
    at(clock, "09:40")
    other = Appointments(station)

    def issue_after_the_other(services, **kw):
        other.checkin("YY-001")
        return station.issue(services, **kw).as_dict()

    with pytest.raises(CabinError, match="already checked in"):  # refused inside the ticket's transaction
        Appointments(station, issue=issue_after_the_other).checkin("YY-001")
    with pytest.raises(CabinError, match="already checked in"):
        booked.checkin("YY-001")
    after = entries(station)
    assert after[:len(before)] == before
    assert [(e["action"], e["subject"]) for e in after[len(before):]] == [("appointment.checkin", "YY-001")]  # the other's


# -- slots across midnight ---------------------------------------------------------------------
# NIGHT's slot is 23:30-00:30, its window 23:15 (Monday) to 00:40 (Tuesday); DAWN's is 00:05-00:35
# on Tuesday, its window from 23:50 on Monday
NIGHT = "YY-N,id.apply,2026-11-23 23:30,2026-11-24 00:30,1234"
DAWN = "YY-D,id.apply,2026-11-24 00:05,2026-11-24 00:35,4321"


@pytest.fixture
def night(station, tmp_path):
    path = tmp_path / "night.csv"
    path.write_text(HEADER + NIGHT + "\n" + DAWN + "\n", encoding="utf-8")
    Appointments(station).import_file(path)
    return Appointments(station)


@pytest.mark.parametrize("code, day, time, priority, outside", [
    ("YY-N", "2026-11-23", "08:00", "normal", "early"),        # its own day, hours early: as any slot
    ("YY-N", "2026-11-23", "23:14", "normal", "early"),
    ("YY-N", "2026-11-23", "23:15", "appointment", None),
    ("YY-N", "2026-11-24", "00:00", "appointment", None),       # just past midnight
    ("YY-N", "2026-11-24", "00:10", "appointment", None),       # the issue's case
    ("YY-N", "2026-11-24", "00:40", "appointment", None),
    ("YY-N", "2026-11-24", "00:41", "normal", "late"),          # the next day is touched: late, not refused
    ("YY-N", "2026-11-24", "18:00", "normal", "late"),
    ("YY-D", "2026-11-23", "23:49", "normal", "early"),         # the day before its start, touched at 23:50
    ("YY-D", "2026-11-23", "23:50", "appointment", None),
])
@pytest.mark.usefixtures("any_db")
def test_a_booking_checks_in_on_every_day_its_window_touches(night, station, clock, code, day, time, priority,
                                                              outside):
    at(clock, time, day=day)
    checked = night.checkin(code)
    ticket = station.show_ticket(checked.ticket["ticket"])
    assert (ticket.priority, checked.outside, checked.on_time) == (priority, outside, outside is None)
    assert ticket.day == day  # the ticket is the day's it was issued on


@pytest.mark.parametrize("code, day, time, for_day", [
    ("YY-N", "2026-11-22", "23:59", "2026-11-23"),
    ("YY-N", "2026-11-25", "00:00", "2026-11-23"),   # its window ended on the 24th
    ("YY-D", "2026-11-22", "23:59", "2026-11-24"),
    ("YY-D", "2026-11-25", "00:00", "2026-11-24"),
])
@pytest.mark.usefixtures("any_db")
def test_a_booking_is_refused_on_a_day_its_window_does_not_touch(night, station, clock, code, day, time, for_day):
    at(clock, time, day=day)
    with pytest.raises(CabinError, match=f"the appointment {code} is for {for_day}, not today"):
        night.checkin(code)
    assert {r["state"] for r in rows(station)} == {"booked"}
    with station.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


@pytest.mark.usefixtures("any_db")
def test_a_booking_checked_in_after_midnight_counts_on_its_slot_s_day(night, station, clock, config):
    at(clock, "00:10", day="2026-11-24")
    night.checkin("YY-N")
    at(clock, "01:00", day="2026-11-24")  # YY-D (to 00:45) not checked in: a no-show of the 24th
    with station.store.read() as conn:
        counts = day_counts(conn, config, ["2026-11-23", "2026-11-24"], clock.now_ms())
    assert counts == {"2026-11-23": {"booked": 1, "checked_in": 1, "on_time": 1, "no_show": 0},
                      "2026-11-24": {"booked": 1, "checked_in": 0, "on_time": 0, "no_show": 1}}


# -- retention ---------------------------------------------------------------------------------
DAY_MS = 86_400_000


@pytest.mark.usefixtures("any_db")
def test_purge_stars_a_past_booking_s_phone_and_keeps_the_day_s_counts(booked, station, clock, config):
    at(clock, "09:40")
    booked.checkin("YY-001")                 # on time
    at(clock, "11:50")
    booked.checkin("YY-003")                 # late; YY-002 a no-show
    days = ["2026-11-23", "2026-11-24"]

    def figures(now):
        with station.store.read() as conn:
            return (day_counts(conn, config, days, now),
                    {d: {k: v for k, v in f.figures.items() if k.startswith("appointments_")}
                     for d, f in business_figures(conn, config, days).items()})

    slot_end = {r["code"]: r["slot_end"] for r in rows(station)}
    # 30 days after YY-001's slot (09:30-10:00 on the 23rd) ended: not yet more than 30
    now = slot_end["YY-001"] + 30 * DAY_MS
    counted = figures(now)
    before = rows(station)
    assert purge(station.store, 30, now, "2026-12-23")["purged"]["appointments"] == 0
    assert rows(station) == before
    now += 1
    assert purge(station.store, 30, now, "2026-12-23")["purged"]["appointments"] == 1
    after = {r["code"]: r for r in rows(station)}
    assert (after["YY-001"]["phone_last4"], after["YY-001"]["purged_at"]) == ("****", now)
    assert [after[c]["phone_last4"] for c in ("YY-002", "YY-003", "YY-004")] == ["0042", "9876", "5555"]
    # a week on, every slot of the file ended more than 30 days ago: checked in or not, all go
    later = slot_end["YY-004"] + 30 * DAY_MS + 1
    result = purge(station.store, 30, later, "2026-12-24")["purged"]
    assert result["appointments"] == 3
    gone = {r["code"]: r for r in rows(station)}
    assert {r["phone_last4"] for r in gone.values()} == {"****"}
    assert gone["YY-001"]["purged_at"] == now  # purged once: its stamp stays
    # nothing but the phone and the stamp changed, and so the day's counts (as of `now`) are the same
    keep = lambda r: {k: v for k, v in r.items() if k not in ("phone_last4", "purged_at")}  # noqa: E731
    assert [keep(r) for r in rows(station)] == [keep(r) for r in before]
    assert figures(now) == counted
    assert counted[0]["2026-11-23"] == {"booked": 3, "checked_in": 2, "on_time": 1, "no_show": 1}
    assert booked.show("YY-002")["phone_last4"] == "****" and booked.show("YY-002")["state"] == "no_show"
    assert purge(station.store, 30, later + 1, "2026-12-24")["purged"]["appointments"] == 0  # once
    with station.store.read() as conn:
        assert audit.verify(conn) == (True, None, None)
        logged = [json.loads(r[0])["counts"]["appointments"] for r in conn.execute(
            "SELECT detail FROM audit WHERE action = 'purge' ORDER BY id")]
    assert logged == [0, 1, 3, 0]


def test_a_purged_booking_is_not_checked_in(station, clock, config, tmp_path):
    """A late_min of a whole day keeps YY-001's window (09:30-10:00 on the 23rd) open until 10:00
    on the 24th, past a one-day purge at 10:01 on the 24th: the purged booking is refused, and
    the 23rd's counts stay as they were."""
    late = dataclasses.replace(config, appointments=dataclasses.replace(config.appointments, late_min=24 * 60 - 1))
    path = tmp_path / "day.csv"
    path.write_text(HEADER + DAY[0] + "\n", encoding="utf-8")
    Appointments(Station(station.store, late, clock)).import_file(path)
    at(clock, "10:01", day="2026-11-24")
    assert purge(station.store, 1, clock.now_ms(), "2026-11-24")["purged"]["appointments"] == 1
    before = rows(station), dump_tickets(station)
    with pytest.raises(CabinError, match="the appointment YY-001 is past its retention and was purged"):
        Appointments(Station(station.store, late, clock)).checkin("YY-001")
    assert (rows(station), dump_tickets(station)) == before


def dump_tickets(station) -> list[tuple]:
    with station.store.read() as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM tickets ORDER BY id")]
