"""The announcements' queue (kiosk/business/announcequeue.py): one at a time, in order, the oldest
dropped only past the backlog; a burst of ten calls, and any sequence of calls and plays."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabin.kiosk.business.announce import announcement
from cabin.kiosk.business.announcequeue import AnnouncementQueue


def play_all(queue: AnnouncementQueue) -> list:
    played = []
    while (said := queue.next()) is not None:
        assert queue.next() is None, "a second one while the first plays"
        played.append(said)
        queue.done()
    return played


def test_a_burst_of_ten_calls_is_announced_in_order():
    calls = [(f"A{n:03}", n % 4 + 1) for n in range(1, 11)]
    queue = AnnouncementQueue(backlog=20)  # the shipped [board] backlog
    dropped = [queue.add(announcement(ticket, window)) for ticket, window in calls]
    assert dropped == [None] * 10
    played = play_all(queue)
    assert [(a.ticket, a.window) for a in played] == calls
    assert played[0].shown == "请 A001 号 到 2 号 窗口 办理" and played[9].shown == "请 A010 号 到 3 号 窗口 办理"
    assert queue.waiting == () and queue.playing is None


def test_a_burst_while_one_plays():
    queue = AnnouncementQueue(backlog=10)
    queue.add("A001")
    assert queue.next() == "A001"
    for n in range(2, 12):
        assert queue.add(f"A{n:03}") is None  # ten waiting: exactly the backlog
    assert queue.next() is None and queue.playing == "A001"
    queue.done()
    assert play_all(queue) == [f"A{n:03}" for n in range(2, 12)]


def test_past_the_backlog_the_oldest_waiting_is_dropped():
    queue = AnnouncementQueue(backlog=3)
    queue.add("A001")
    assert queue.next() == "A001"  # playing: never cut off
    assert [queue.add(t) for t in ("A002", "A003", "A004", "A005", "A006")] == [None, None, None, "A002", "A003"]
    assert queue.waiting == ("A004", "A005", "A006")
    queue.done()
    assert play_all(queue) == ["A004", "A005", "A006"]


def test_done_without_playing_is_a_mistake():
    queue = AnnouncementQueue(backlog=1)
    with pytest.raises(RuntimeError):
        queue.done()
    with pytest.raises(ValueError):
        AnnouncementQueue(backlog=0)


@given(backlog=st.integers(1, 6), steps=st.lists(st.sampled_from(["call", "next", "done"]), max_size=60))
def test_any_sequence(backlog, steps):
    """Whatever happens: never two at once, played in call order, every call played, dropped or
    waiting, and a dropped one always the oldest waiting."""
    queue = AnnouncementQueue(backlog)
    called, played, dropped = [], [], []
    for step in steps:
        if step == "call":
            oldest = queue.waiting[0] if queue.waiting else None
            called.append(len(called))
            gone = queue.add(called[-1])
            if gone is not None:
                assert gone == oldest and len(queue.waiting) == backlog
                dropped.append(gone)
        elif step == "next":
            was_playing, first = queue.playing is not None, (queue.waiting or (None,))[0]
            said = queue.next()
            assert said == (None if was_playing else first)
            if said is not None:
                played.append(said)
        elif queue.playing is not None:
            queue.done()
        assert len(queue.waiting) <= backlog
    assert played == sorted(played)
    assert sorted(played + dropped + list(queue.waiting)) == called
