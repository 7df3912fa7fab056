"""The words of a call announcement (kiosk/business/announce.py) and the [board] keys that shape
it: literal expectations, written out by hand."""

from __future__ import annotations

import json

import pytest

from cabin.config import ConfigError, check, default_config_path, load_config, to_toml
from cabin.kiosk.business.announce import (
    Phrase, announcement, chinese_number, digits_one_by_one, english, is_quiet, mandarin, shown_sentence,
)
from cabin.queue.errors import CabinError


def test_a001_at_window_1():
    assert shown_sentence("A001", 1) == "请 A001 号 到 1 号 窗口 办理"
    assert mandarin("A001", 1) == "请 A 零零一号 到 一号窗口 办理"
    assert english("A001", 1) == "Number A, zero zero one, please go to window 1."


@pytest.mark.parametrize("ticket,said", [
    ("A001", "请 A 零零一号 到 十二号窗口 办理"),
    ("B100", "请 B 一零零号 到 十二号窗口 办理"),  # never 一百
    ("C010", "请 C 零一零号 到 十二号窗口 办理"),
    ("A1000", "请 A 一零零零号 到 十二号窗口 办理"),  # past 999 tickets a day
    ("AB07", "请 A B 零七号 到 十二号窗口 办理"),  # letters spaced: joined, "AB" would be read as a word
])
def test_digits_are_said_one_by_one(ticket, said):
    assert mandarin(ticket, 12) == said


@pytest.mark.parametrize("n,said", [
    (1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (12, "十二"), (20, "二十"), (21, "二十一"),
    (99, "九十九"), (100, "一百"), (101, "一百零一"), (110, "一百一十"), (112, "一百一十二"), (305, "三百零五"),
    (999, "九百九十九"),
])
def test_a_window_is_said_as_a_number(n, said):
    assert chinese_number(n) == said


def test_digits_one_by_one():
    assert digits_one_by_one("001") == "零零一"
    assert digits_one_by_one("9876543210") == "九八七六五四三二一零"


@pytest.mark.parametrize("ticket", ["", "A", "001", "a001", "A00 1", "A001号", "Ａ001", "A٣"])
def test_what_is_not_a_ticket_number_is_refused(ticket):
    with pytest.raises(CabinError, match="is not a ticket number like A001"):
        mandarin(ticket, 1)


@pytest.mark.parametrize("window", [0, -1, 1000])
def test_a_window_out_of_range_is_refused(window):
    with pytest.raises(CabinError, match="is not a window number"):
        announcement("A001", window)


def test_repeated_twice_by_default_english_after_each():
    zh = Phrase("zh", "请 A 零零一号 到 一号窗口 办理")
    en = Phrase("en", "Number A, zero zero one, please go to window 1.")
    assert announcement("A001", 1).phrases == (zh, zh)
    assert announcement("A001", 1, repeat=1).phrases == (zh,)
    assert announcement("A001", 1, repeat=3, with_english=True).phrases == (zh, en, zh, en, zh, en)
    assert announcement("A001", 1).shown == "请 A001 号 到 1 号 窗口 办理"


def test_quiet_hours():
    lunch = ((12 * 60, 14 * 60 + 30),)
    assert not is_quiet(lunch, 12 * 60 - 1)
    assert is_quiet(lunch, 12 * 60) and is_quiet(lunch, 14 * 60 + 29)
    assert not is_quiet(lunch, 14 * 60 + 30)  # the end is not included
    assert not is_quiet((), 0)


# -- the [board] keys --------------------------------------------------------------------------
SHIPPED = default_config_path().read_text(encoding="utf-8")
DEFAULT_BOARD = "[board]\nannounce = true\nrepeat = 2\nenglish = false\nvolume = 100\nquiet_hours = []\nbacklog = 20\n"


def with_board(tmp_path, board: str):
    assert DEFAULT_BOARD in SHIPPED
    path = tmp_path / "station.toml"
    path.write_text(SHIPPED.replace(DEFAULT_BOARD, "[board]\n" + board), encoding="utf-8")
    return load_config(path)


def test_the_shipped_board():
    board = load_config().board
    assert (board.announce, board.repeat, board.english, board.volume) == (True, 2, False, 100)
    assert (board.quiet_hours, board.backlog, board.speech_command) == ((), 20, ())


def test_a_changed_board_round_trips(tmp_path):
    config = with_board(tmp_path, 'repeat = 3\nenglish = true\nvolume = 60\nquiet_hours = ["00:00-08:00", "12:00-14:30"]\n'
                                  'backlog = 5\nspeech_command = ["tts", "-o", "{out}", "{text}"]\nannounce = false\n')
    board = config.board
    assert board.quiet_hours == ((0, 480), (720, 870)) and board.speech_command == ("tts", "-o", "{out}", "{text}")
    assert (board.announce, board.repeat, board.english, board.volume, board.backlog) == (False, 3, True, 60, 5)
    data = to_toml(config)
    assert data["board"] == {"announce": False, "repeat": 3, "english": True, "volume": 60, "backlog": 5,
                             "quiet_hours": ["00:00-08:00", "12:00-14:30"], "speech_command": ["tts", "-o", "{out}", "{text}"]}
    assert check(json.loads(json.dumps(data)), config.source) == config


@pytest.mark.parametrize("board,reason", [
    ("repeat = 0\n", "board.repeat: 0 is out of range (1 to 5)"),
    ("volume = 101\n", "board.volume: 101 is out of range (0 to 100)"),
    ("backlog = 0\n", "board.backlog: 0 is out of range (1 to 100)"),
    ("announce = 1\n", "board.announce: must be true or false"),
    ('quiet_hours = ["14:30-12:00"]\n', "board.quiet_hours[0]: '14:30-12:00' ends before it starts"),
    ('quiet_hours = "12:00-14:30"\n', "board.quiet_hours: must be a list like"),
    ('speech_command = ["tts", "{text}"]\n', "board.speech_command: must name the words it speaks as {text} and"),
    ("voice = 1\n", "board.voice: unknown key"),
])
def test_a_wrong_board_key_is_refused(tmp_path, board, reason):
    with pytest.raises(ConfigError) as refused:
        with_board(tmp_path, board)
    assert reason in str(refused.value)
