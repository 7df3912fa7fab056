"""`cabin announce TICKET --window N --out FILE.wav`: the file written whole, what it says, the
[board] keys it follows, and a plain sentence when there is no voice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from clikit import DEFAULT_CONFIG, one_json, refusal_problems, run_cli



def announce(tmp_path: Path, *argv, config: Path = DEFAULT_CONFIG):
    return run_cli(["announce", *argv, "--config", config], env={"XDG_DATA_HOME": str(tmp_path / "xdg")}, cwd=tmp_path)


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_a001_at_window_1(tmp_path):
    r = announce(tmp_path, "A001", "--window", "1", "--out", "calls/a001.wav", "--json")
    assert r.code == 0, r
    result = one_json(r)
    assert result["shown"] == "请 A001 号 到 1 号 窗口 办理" and (result["ticket"], result["window"]) == ("A001", 1)
    assert result["phrases"] == [{"lang": "zh", "text": "请 A 零零一号 到 一号窗口 办理"}] * 2
    written = tmp_path / "calls" / "a001.wav"
    assert result["seconds"] == round(seconds(written), 2) and 4 < result["seconds"] < 12
    assert [p.name for p in written.parent.iterdir()] == ["a001.wav"], "no temporary file left behind"
    assert not (tmp_path / "xdg").exists() or not any((tmp_path / "xdg").rglob("*.sqlite")), "no database needed"


def test_the_text_line(tmp_path):
    r = announce(tmp_path, "B120", "--window", "12", "--out", "b.wav")
    assert r.code == 0, r
    assert r.out.startswith("b.wav: 请 B120 号 到 12 号 窗口 办理 (") and r.out.rstrip().endswith("s, said 2x)")


def test_the_board_keys_are_followed(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace("repeat = 2\nenglish = false\n",
                                                                         "repeat = 1\nenglish = true\n"),
                      encoding="utf-8")
    result = one_json(announce(tmp_path, "A001", "--window", "1", "--out", "a.wav", "--json", config=config))
    assert [p["lang"] for p in result["phrases"]] == ["zh", "en"]
    assert result["phrases"][1]["text"] == "Number A, zero zero one, please go to window 1."


@pytest.mark.parametrize("argv,needle", [
    (["a001", "--window", "1"], "a001 is not a ticket number like A001"),
    (["A001", "--window", "1", "--out", "a-file/x.wav"], "cannot write to a-file"),  # its folder is a file
])
def test_refused(tmp_path, argv, needle):
    if "--out" not in argv:
        argv = [*argv, "--out", "x.wav"]
    (tmp_path / "a-file").write_text("not a folder")
    r = announce(tmp_path, *argv)
    assert not refusal_problems(r, needle), f"{refusal_problems(r, needle)}\n{r}"
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("window", ["0", "1000", "one"])
def test_a_window_out_of_range_is_a_usage_error(tmp_path, window):
    r = announce(tmp_path, "A001", "--window", window, "--out", "x.wav")
    assert r.code == 2 and not (tmp_path / "x.wav").exists()


def test_without_the_voice_extra_a_plain_sentence(tmp_path):
    """espeakng-loader not installed: a process where importing it fails, as it would."""
    hide = ("import sys; sys.modules['espeakng_loader'] = None\n"
            "from cabin.kiosk.cli.app import main; sys.exit(main(sys.argv[1:]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    r = subprocess.run([sys.executable, "-c", hide, "announce", "A001", "--window", "1", "--out", "x.wav",
                        "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == ("cabin: no voice for the announcements: install espeak-ng's with pip install "
                                "'cabin[voice]', or name a program in [board] speech_command")
    assert json.loads(r.stdout)["exit"] == 1 and not (tmp_path / "x.wav").exists()
