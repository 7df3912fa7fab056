"""Citizens' ratings (好差评) on both stores: a rating is of the errand last completed at the window,
with that errand's service, window, clerk and time; once only; a reason from the list for 不满意
or worse; 未评价 past the timeout; a supervisor's follow-up of a bad rating; every step audited,
every refusal changing nothing, and no personal data in the table."""

from __future__ import annotations

import threading
from dataclasses import fields, replace

import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.ratings import SETTLED, Ratings
from cabin.kiosk.station import open_store
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError

from clikit import STAFF_PASSWORD

pytestmark = pytest.mark.usefixtures("any_db")
TIMEOUT_MS = 120_000  # the shipped [ratings] timeout_seconds


@pytest.fixture
def ratings(kiosk_store, config, clock):
    return Ratings(kiosk_store, config, clock)


@pytest.fixture
def counter(kiosk_store, config, clock):
    """Serve one errand at a window: issue, call, start, complete; by the clerk "li"."""
    station = Station(kiosk_store, config, clock, clerk="li")

    def serve(window: int, service: str) -> int:
        if next(w for w in station.queue_state().windows if w.window == window).state != "open":  # a new day closes them
            station.set_window(window, "open")
        station.issue([service])
        station.call_next(window)
        station.start(window)
        clock.advance(minutes=3)
        station.complete(window)
        with kiosk_store.read() as conn:
            return conn.execute("SELECT request_id FROM events WHERE kind = 'done' ORDER BY id DESC LIMIT 1").fetchone()[0]
    return serve


@pytest.fixture
def supervisor(kiosk_store, clock, staff):
    accounts = Accounts(kiosk_store, clock)
    accounts.add("wang", "supervisor", STAFF_PASSWORD, by=staff[1])
    return accounts.authenticate("wang", STAFF_PASSWORD)


def snapshot(store):
    with store.read() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("ratings", "audit", "meta")}


def refused(store, fn, *args, **kw) -> str:
    before = snapshot(store)
    with pytest.raises(CabinError) as info:
        fn(*args, **kw)
    assert snapshot(store) == before
    return str(info.value)


def test_a_rating_is_of_the_errand_last_completed_at_the_window(ratings, counter, kiosk_store, clock):
    counter(2, "id.apply")
    counter(4, "tr.violation")
    last = counter(2, "id.temporary")
    counter(4, "tr.violation")  # done later, at another window: not this one (within 3 min of service)
    clock.set(clock.now_ms() - 180_000)  # back to when the window's errand was completed
    clock.advance(seconds=30)
    r = ratings.record(2, 1)
    assert (r.request_id, r.service, r.window, r.clerk, r.level, r.reason) == (last, "id.temporary", 2, "li", 1, None)
    assert r.recorded_at == clock.now_ms() and r.completed_at == clock.now_ms() - 30_000
    assert r.public()["level_text"] == "非常满意" and not r.public()["bad"]
    with kiosk_store.read() as conn:
        entry = audit.show(conn, limit=1)[0]
        assert audit.verify(conn)[0]
    assert (entry["actor"], entry["action"], entry["subject"]) == (None, "rating.record", f"rating {r.id}")
    assert entry["detail"] == {"request": last, "window": 2, "level": 1, "reason": None}


def test_a_second_rating_of_the_same_errand_is_refused(ratings, counter, kiosk_store):
    counter(1, "id.apply")
    ratings.record(1, 2)
    assert "rated already" in refused(kiosk_store, ratings.record, 1, 3)
    counter(1, "id.apply")  # the next errand there may be rated
    assert ratings.record(1, 3).level == 3


def test_dissatisfied_needs_a_reason_from_the_list(ratings, counter, kiosk_store):
    counter(3, "id.apply")
    assert "needs a reason" in refused(kiosk_store, ratings.record, 3, 4)
    assert "needs a reason" in refused(kiosk_store, ratings.record, 3, 5)
    assert 'unknown rating reason "rude"' in refused(kiosk_store, ratings.record, 3, 5, "rude")
    for level in (0, 6, True, "1"):
        assert "1 (very satisfied) to 5" in refused(kiosk_store, ratings.record, 3, level)
    assert "there is no window 9" in refused(kiosk_store, ratings.record, 9, 1)
    assert "no errand has been completed at window 4" in refused(kiosk_store, ratings.record, 4, 1)
    r = ratings.record(3, 5, "attitude")
    assert (r.level, r.reason, r.bad, r.public()["level_text"]) == (5, "attitude", True, "非常不满意")


def test_an_errand_not_rated_within_the_timeout_is_recorded_unrated(kiosk_store, config, counter, clock):
    ratings = Ratings(kiosk_store, replace(config, ratings=replace(config.ratings, timeout_seconds=600)), clock)
    first = counter(1, "id.apply")          # completed at t
    clock.advance(seconds=100)
    second = counter(2, "id.apply")         # completed at t + 280 s (100 s, then 3 min of service)
    clock.advance(seconds=600 - 280)        # exactly the timeout after the first
    assert ratings.settle() == 1            # the first: 未评价; the second is still within its time
    assert "can no longer be rated" in refused(kiosk_store, ratings.record, 1, 1)
    with kiosk_store.read() as conn:
        level, recorded = conn.execute("SELECT level, recorded_at FROM ratings WHERE request_id = ?", [first]).fetchone()
        entry = audit.show(conn, limit=1)[0]
    assert (level, recorded) == (None, clock.now_ms())
    assert (entry["action"], entry["detail"]) == ("rating.unrated", {"requests": [first]})
    assert ratings.record(2, 2).request_id == second
    counter(3, "id.apply")
    clock.advance(seconds=600 - 0.001)      # a millisecond before its timeout: still rated
    assert ratings.record(3, 1).level == 1
    clock.advance(minutes=60)
    assert ratings.settle() == 0            # nothing else was left without a rating
    assert [(r.request_id, r.level) for r in ratings.list_ratings()][:2] == [(first, None), (second, 2)]


def test_the_settled_mark_stops_before_an_errand_still_within_its_time(ratings, counter, kiosk_store, clock):
    counter(1, "id.apply")
    clock.advance(seconds=90)
    later = counter(2, "id.apply")          # done 270 s after the first
    clock.advance(seconds=TIMEOUT_MS / 1000 - 1)
    assert ratings.settle() == 1
    with kiosk_store.read() as conn:
        mark = int(conn.execute("SELECT value FROM meta WHERE key = ?", [SETTLED]).fetchone()[0])
        done_id = conn.execute("SELECT id FROM events WHERE kind = 'done' AND request_id = ?", [later]).fetchone()[0]
    assert mark < done_id                   # the later errand is looked at again next time
    clock.advance(seconds=2)
    assert ratings.settle() == 1 and ratings.list_ratings()[-1].request_id == later


def test_a_bad_rating_waits_for_a_supervisors_follow_up(ratings, counter, kiosk_store, staff, supervisor):
    counter(1, "id.apply")
    good = ratings.record(1, 3)
    counter(1, "id.apply")
    bad = ratings.record(1, 4, "wait")
    assert [r.id for r in ratings.list_ratings(bad=True)] == [bad.id]
    assert "needs supervisor" in refused(kiosk_store, ratings.record_follow_up, bad.id, "talked to the clerk", by=staff[0])
    assert "not a bad rating" in refused(kiosk_store, ratings.record_follow_up, good.id, "n/a", by=supervisor)
    assert "cannot be empty" in refused(kiosk_store, ratings.record_follow_up, bad.id, "  ", by=supervisor)
    assert "there is no rating 99" in refused(kiosk_store, ratings.record_follow_up, 99, "x", by=supervisor)
    done = ratings.record_follow_up(bad.id, "叫号屏增加等候时间提示", by=supervisor)
    assert (done.follow_up_note, done.followed_up_by) == ("叫号屏增加等候时间提示", "wang")
    assert ratings.list_ratings(bad=True) == []
    assert "followed up already, by wang" in refused(kiosk_store, ratings.record_follow_up, bad.id, "again", by=supervisor)
    with kiosk_store.read() as conn:
        entry = audit.show(conn, limit=1)[0]
    assert (entry["actor"], entry["action"], entry["detail"]) == ("wang", "rating.follow_up", {"note": "叫号屏增加等候时间提示"})


def test_a_rating_holds_no_personal_data(ratings, counter, kiosk_store):
    counter(1, "id.apply")
    ratings.record(1, 5, "other")
    with kiosk_store.read() as conn:
        whole_row = conn.execute("SELECT * FROM ratings").fetchone()
    rating = ratings.list_ratings()[0]
    assert len(whole_row) == len(fields(rating))  # the table has the record's columns and no other
    personal = ("name", "number", "phone", "ticket", "address", "birth", "sex", "photo")
    assert not [f.name for f in fields(rating) if any(p in f.name for p in personal)]
    assert not [k for k in rating.public() if any(p in k for p in personal)]


def test_errands_of_the_days_before_the_first_rating_are_not_counted_unrated(ratings, counter, kiosk_store, clock):
    counter(1, "id.apply")                  # a day of an upgraded station: no rating screen yet
    clock.advance(minutes=24 * 60)
    today = counter(1, "id.apply")
    clock.advance(minutes=10)
    assert ratings.settle() == 1            # today's errand only
    assert [r.request_id for r in ratings.list_ratings()] == [today]


def test_ratings_at_two_windows_at_once_are_both_recorded_and_settle_once(kiosk_store, config, counter, clock,
                                                                          any_db):
    config = replace(config, ratings=replace(config.ratings, timeout_seconds=300))
    counter(3, "ee.passport")
    clock.advance(seconds=300)
    counter(1, "id.apply")                          # window 3's errand is now past its time, not settled yet
    counter(2, "id.apply")                          # window 1's and 2's: 3 min ago and now, within theirs
    ratings = Ratings(kiosk_store, config, clock)
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def rate(window: int) -> None:
        with open_store(any_db) as store:           # a PC of its own: its own connection
            service = Ratings(store, config, clock)
            barrier.wait()
            try:
                results[window] = service.record(window, window)
            except Exception as exc:  # noqa: BLE001 - reported below
                results[window] = exc

    threads = [threading.Thread(target=rate, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [getattr(results[w], "level", results[w]) for w in (1, 2)] == [1, 2]
    levels = sorted((r.window, r.level) for r in ratings.list_ratings())
    assert levels == [(1, 1), (2, 2), (3, None)]    # window 3's 未评价 recorded once, whoever settled it
    with kiosk_store.read() as conn:
        assert audit.verify(conn)[0]
        assert [e["action"] for e in audit.show(conn)].count("rating.unrated") == 1
