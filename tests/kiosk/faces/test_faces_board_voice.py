"""The board says its calls on its host's speakers (Pilot): a real player program (Python,
written here) logs each WAV it plays — the ticket in the file's name, its duration, when it began
and ended — so a burst is checked to be played in order, one at a time, the continued errand not
said; announce = false, quiet hours and a host without a player say nothing and tell why."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import pytest

from cabin.config import ConfigError, default_config_path, load_config
from cabin.kiosk.faces.board.app import BoardApp
from cabin.kiosk.player import KNOWN_PLAYERS, find_player

from facekit import fixed_clock, link, open_station, pilot_test, until

SHIPPED = default_config_path().read_text(encoding="utf-8")
DEFAULT_BOARD = "[board]\nannounce = true\nrepeat = 2\nenglish = false\nvolume = 100\nquiet_hours = []\nbacklog = 20\n"

# The player: an overlap is caught by the marker file (made exclusively while one plays), not by time.
PLAYER = r'''
import json, os, sys, time, wave
wav, log, marker = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    alone = True
except FileExistsError:
    alone = False
began = time.time_ns()
with wave.open(wav) as w:
    seconds = w.getnframes() / w.getframerate()
    pcm = w.readframes(w.getnframes())
loud = max((abs(int.from_bytes(pcm[i:i + 2], "little", signed=True)) for i in range(0, len(pcm) - 1, 2)), default=0)
time.sleep(0.05)
ended = time.time_ns()
if alone:
    os.remove(marker)
with open(log, "a") as f:
    f.write(json.dumps({"ticket": os.path.basename(wav)[:-4], "seconds": seconds, "loud": loud,
                        "alone": alone, "began": began, "ended": ended}) + "\n")
'''


@pytest.fixture
def db(tmp_path):
    return tmp_path / "cabin.sqlite"


def board_config(tmp_path, board: str = ""):
    """The shipped config, its [board] the player of this file (logging to tmp_path) plus `board`."""
    program = tmp_path / "player.py"
    program.write_text(PLAYER, encoding="utf-8")
    player = [sys.executable, str(program), "{file}", str(tmp_path / "played.log"), str(tmp_path / "playing")]
    assert DEFAULT_BOARD in SHIPPED
    path = tmp_path / "station.toml"
    path.write_text(SHIPPED.replace(DEFAULT_BOARD, f"[board]\nrepeat = 1\nplayer_command = {json.dumps(player)}\n{board}"),
                    encoding="utf-8")
    return load_config(path)


def played(tmp_path) -> list[dict]:
    log = tmp_path / "played.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def voice_notice(app) -> str:
    """The line saying why nothing is said, as shown; "" when hidden."""
    notice = app.query_one("#voice-notice")
    return str(notice.render()) if notice.display else ""


def burst(station) -> list[tuple[str, int]]:
    """Eleven calls and recalls at once, and a continued errand: what the speakers must say, in order."""
    for w in station.config.windows:
        station.set_window(w, "open")
    station.issue(["id.temporary", "id.loss_report"])  # A001: two errands, the second continues
    for code in ["id.apply", "ee.passport", "tr.violation", "ee.hkmo_permit", "id.loss_report"]:
        station.issue([code])
    said = [(station.call_next(w).ticket, w) for w in (2, 3, 4, 1)]
    station.recall(3)
    said.append((said[1][0], 3))
    station.complete(2)  # A001's loss report continues at window 2: the citizen is already there
    for w in (3, 1):
        station.start(w)
        station.complete(w)
        said.append((station.call_next(w).ticket, w))
    at = {w: ticket for ticket, w in said[-2:]}  # who is called at windows 3 and 1 now
    for _ in range(2):  # more calls at once than the board shows (8): all are said
        for w in (3, 1):
            station.recall(w)
            said.append((at[w], w))
    return said


@pilot_test
async def test_a_burst_of_calls_is_said_in_order_one_at_a_time(db, tmp_path):
    config = board_config(tmp_path)
    clock = fixed_clock(config)
    station = open_station(db, config, clock)
    app = BoardApp(link(db, config, clock), lang="en", speak=True)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.view is not None)
        expected = burst(station)
        await until(pilot, lambda: len(played(tmp_path)) >= len(expected), timeout=60)
        await until(pilot, lambda: app.view.newest_call_id and app.announced_call_id == app.view.newest_call_id)
        log = played(tmp_path)
        assert [(e["ticket"]) for e in log] == [t for t, _ in expected]
        assert len(log) == len(expected) == 11  # the continued errand (A001 at window 2 again) is not said
        assert all(e["alone"] for e in log)
        assert all(a["ended"] <= b["began"] for a, b in zip(log, log[1:]))  # each after the one before
        assert all(0.5 < e["seconds"] < 10 and e["loud"] > 1000 for e in log), log  # a voice, not silence
        assert voice_notice(app) == ""


@pilot_test
@pytest.mark.parametrize("board, told", [
    ("announce = false\n", "Voice calls are off ([board] announce = false): calls are shown, not said"),
    ('quiet_hours = ["08:30-12:00"]\n', "Quiet hours ([board] quiet_hours): calls are shown, not said"),
])
async def test_nothing_is_said_when_the_board_should_be_silent(db, tmp_path, board, told):
    config = board_config(tmp_path, board)
    clock = fixed_clock(config)  # 09:00, inside the quiet hours
    station = open_station(db, config, clock)
    app = BoardApp(link(db, config, clock), lang="en", speak=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.view is not None)
        expected = burst(station)
        await until(pilot, lambda: app.view.last_calls and app.view.last_calls[0].ticket == expected[-1][0])
        await pilot.pause()
        assert app.announced_call_id == app.view.newest_call_id  # the board has taken the calls in
        if app.speakers is not None:  # quiet hours: the speakers were there, and given nothing
            assert app.speakers.said == 0
        assert played(tmp_path) == []
        assert voice_notice(app) == told


@pilot_test
async def test_a_host_without_a_player_says_so(db, tmp_path, monkeypatch, config):
    monkeypatch.setenv("PATH", str(tmp_path))  # no aplay, paplay nor ffplay here
    clock = fixed_clock(config)
    app = BoardApp(link(db, config, clock), speak=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.view is not None)
        assert app.speakers is None
        assert voice_notice(app).startswith("本机没有播放程序（aplay、paplay 或 ffplay）：叫号不播报")


def test_the_player_is_the_configured_one_or_the_first_found(tmp_path):
    assert find_player(("mine", "{file}"), path=str(tmp_path)) == ("mine", "{file}")
    assert find_player((), path=str(tmp_path)) is None
    for name in ("ffplay", "paplay"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    assert find_player((), path=str(tmp_path)) == KNOWN_PLAYERS[1]  # paplay before ffplay


def test_a_player_command_without_its_file_is_refused(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(SHIPPED.replace(DEFAULT_BOARD, '[board]\nplayer_command = ["aplay", "-q"]\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"board.player_command: must name the WAV file it plays as \{file\}"):
        load_config(path)


@pilot_test
async def test_a_failing_player_is_told_and_the_next_call_is_tried(db, tmp_path):
    config = board_config(tmp_path)
    failing = tmp_path / "failing.py"
    failing.write_text("import sys\nprint('no such device: lobby', file=sys.stderr)\nsys.exit(3)\n")
    config = replace(config, board=replace(config.board, player_command=(sys.executable, str(failing), "{file}")))
    clock = fixed_clock(config)
    station = open_station(db, config, clock)
    app = BoardApp(link(db, config, clock), speak=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.view is not None)
        burst(station)
        await until(pilot, lambda: voice_notice(app) != "")
        assert voice_notice(app) == "叫号语音未能播放：播放程序失败（退出码 3）：no such device: lobby"
        await until(pilot, lambda: app.speakers.idle and app.speakers.said == 11)  # all tried, none stuck
