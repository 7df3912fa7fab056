"""The station configuration: the shipped default, `cabin config check`, the refusal of a bad
file with its path, key and reason, and how a file is chosen (--config, then CABIN_CONFIG, then
the shipped one)."""

from __future__ import annotations

import json
import os
import re
from itertools import combinations
from pathlib import Path

import pytest

from cabin.config import ConfigError, default_config_path, load_config, resolve_config_path

from clikit import Run, run_cli

ROOT = Path(__file__).resolve().parents[2]
ID_SERVICES = {"id.temporary", "id.apply", "id.cross_region", "id.loss_report", "id.found_card"}


def cabin(tmp_path: Path, *argv, **env: str) -> Run:
    """`cabin` in this process (tests/clikit.py)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    base.update(CABIN_DB=str(tmp_path / "cabin.sqlite"), XDG_DATA_HOME=str(tmp_path / "xdg"), **env)
    return run_cli(argv, env=base, cwd=tmp_path)


def default_text() -> str:
    return default_config_path().read_text(encoding="utf-8")


def edited(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} is not in the default config exactly once"
        text = text.replace(old, new)
    return text


@pytest.fixture(autouse=True)
def no_config_from_the_environment(monkeypatch):
    monkeypatch.delenv("CABIN_CONFIG", raising=False)


# -- the shipped default -----------------------------------------------------------------
def test_default_config_loads():
    config = load_config()
    assert config.source == str(default_config_path())
    assert len(config.windows) == 4
    assert len(config.services) == 13
    assert set(config.windows[1].services) == set(config.services)  # the comprehensive window
    others = [w for n, w in config.windows.items() if n != 1]
    assert any(set(a.services) & set(b.services) for a, b in combinations(others, 2)), "no two windows share a service"
    for code in config.services:
        assert config.windows_serving(code), f"{code} is served by no window"
    assert config.faces.served_viewers == 8  # cabin board --serve: 8 browsers at most



def test_default_config_holds_what_the_issue_asks_for():
    config = load_config()
    assert (config.station.province, config.station.district) == ("35", "350206")
    assert config.station.timezone == "Asia/Shanghai"
    assert (config.queue.sla_target_min, config.queue.recall_limit, config.queue.reactivation_min) == (20, 3, 30)
    assert config.queue.max_errands == 5
    assert ID_SERVICES <= set(config.services)
    assert set(config.categories) == {"id", "ee", "tr"}
    assert len({c.prefix for c in config.categories.values()}) == 3
    assert {s.category for s in config.services.values()} == {"id", "ee", "tr"}
    assert all(s.name and s.name_en for s in config.services.values())
    assert "normal" in config.priorities and len(config.priorities) >= 2
    assert any(config.hours[day] for day in config.hours)


def test_config_check_on_the_default(tmp_path):
    r = cabin(tmp_path, "config", "check")
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.startswith(f"ok: {default_config_path()}")
    r = cabin(tmp_path, "config", "check", "--services", "--json")
    assert r.returncode == 0 and r.stderr == "", r
    summary = json.loads(r.stdout)
    assert summary["source"] == str(default_config_path())
    assert (summary["services"], summary["windows"]) == (13, [1, 2, 3, 4])
    catalogue = {s["code"]: s["windows"] for s in summary["catalogue"]}
    assert len(catalogue) == 13 and all(1 in w for w in catalogue.values())
    assert catalogue["id.temporary"] == [1, 2]
    assert not (tmp_path / "cabin.sqlite").exists(), "checking a config does not need the database"


# -- broken files: the file, the key and the reason ---------------------------------------
BROKEN = {
    "unknown service": (
        [('services = ["id.apply",', 'services = ["id.tmp",')],
        "windows[2].services", 'unknown service "id.tmp" (window 3)'),
    "unknown key": (
        [('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\ncolour = "red"')],
        "station.colour", "unknown key"),
    "misspelt key": (
        [('name_en = "ID cards"\nservices', 'name_en = "ID cards"\nservice')],
        "windows[1].service", "unknown key"),
    "duplicate window number": (
        [("number = 4", "number = 3")],
        "windows[3].number", "duplicate window number 3"),
    "duplicate prefix": (
        [('prefix = "C"', 'prefix = "B"')],
        "categories[2].prefix", 'prefix "B" is already used'),
    "bad timezone": (
        [('"Asia/Shanghai"', '"Asia/Xiamen"')],
        "station.timezone", "unknown time zone 'Asia/Xiamen'"),
    "hours overlapping": (
        [('mon = ["08:30-12:00", "14:30-17:30"]', 'mon = ["08:30-12:00", "11:30-17:30"]')],
        "hours.mon[1]", "overlaps"),
    "hours backwards": (
        [('sat = ["09:00-12:00"]', 'sat = ["12:00-09:00"]')],
        "hours.sat[0]", "ends before it starts"),
    "service served by no window": (
        [('services = ["*"]', 'services = ["id.temporary"]'),
         ('"tr.license_replace", "tr.violation"]', '"tr.license_replace"]')],
        "services", 'service "tr.violation" is served by no window'),
    "missing normal priority": (
        [('code = "normal"', 'code = "ordinary"')],
        "priorities", 'the class "normal" is required'),
    "district outside the province": (
        [('district = "350206"', 'district = "440306"')],
        "station.district", "not in province 35"),
    "served viewers out of range": (
        [("served_viewers = 8", "served_viewers = 0")],
        "faces.served_viewers", "0 is out of range (1 to 100)"),
    "served viewers not a number": (
        [("served_viewers = 8", 'served_viewers = "8"')],
        "faces.served_viewers", "must be a whole number"),
    "minutes not a number": (
        [("minutes = 8\n\n[[services]]\ncode = \"id.apply\"", "minutes = \"eight\"\n\n[[services]]\ncode = \"id.apply\"")],
        "services[0].minutes", "must be a number"),
}


def write_broken(tmp_path: Path, case: str) -> tuple[Path, str, str]:
    changes, key, reason = BROKEN[case]
    path = tmp_path / "station.toml"
    path.write_text(edited(default_text(), *changes), encoding="utf-8")
    return path, key, reason


def check_message(message: str, path: Path, key: str, reason: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    assert reason in message, message


@pytest.mark.parametrize("case", BROKEN)
def test_broken_config_names_file_key_and_reason(tmp_path, case):
    path, key, reason = write_broken(tmp_path, case)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    check_message(str(err.value), path, key, reason)


def test_unknown_service_message_is_exact(tmp_path):
    path, _, _ = write_broken(tmp_path, "unknown service")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f'{path}: windows[2].services: unknown service "id.tmp" (window 3)'


@pytest.mark.parametrize("case", BROKEN)
def test_config_check_refuses_a_broken_file(tmp_path, case):
    path, key, reason = write_broken(tmp_path, case)
    r = cabin(tmp_path, "config", "check", "--config", path)
    assert r.returncode == 1 and r.stdout == "", r
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cabin: "), r
    check_message(lines[0].removeprefix("cabin: "), path, key, reason)


def test_invalid_toml(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(edited(default_text(), ("[queue]", "[queue")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not valid TOML (") and "line " in message and "\n" not in message
    r = cabin(tmp_path, "config", "check", "--config", path)
    assert r.returncode == 1 and r.stderr == f"cabin: {message}\n", r


def test_not_utf8(tmp_path):
    path = tmp_path / "station.toml"
    path.write_bytes(default_text().encode("gb18030"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "station.toml"
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: no such configuration file"
    r = cabin(tmp_path, "config", "check", "--config", path)
    assert r.returncode == 1 and r.stderr == f"cabin: {path}: no such configuration file\n", r


def test_a_folder_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: cannot read it")


def test_config_check_json_refusal(tmp_path):
    path, key, reason = write_broken(tmp_path, "unknown service")
    r = cabin(tmp_path, "config", "check", "--json", "--config", path)
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"error": f"{path}: {key}: {reason}", "exit": 1}


# -- choosing the file ------------------------------------------------------------------
def variant(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(edited(default_text(), ('code = "350206001"', f'code = "{code}"')), encoding="utf-8")
    return path


def test_resolve_config_path_precedence(tmp_path, monkeypatch):
    assert resolve_config_path() == default_config_path()
    monkeypatch.setenv("CABIN_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path() == tmp_path / "env.toml"
    assert resolve_config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    monkeypatch.setenv("CABIN_CONFIG", "")
    assert resolve_config_path() == default_config_path()


def test_config_flag_and_environment_select_the_file(tmp_path):
    a, b = variant(tmp_path, "a", "STATION-A"), variant(tmp_path, "b", "STATION-B")
    broken, _, _ = write_broken(tmp_path, "unknown service")

    def check(*argv, **env) -> dict:
        r = cabin(tmp_path, *argv, "--json", **env)
        assert r.returncode == 0 and r.stderr == "", r
        return json.loads(r.stdout)

    assert check("config", "check", CABIN_CONFIG=str(a)) == {**check("config", "check", CABIN_CONFIG=str(a)),
                                                              "source": str(a), "code": "STATION-A"}
    for argv in (("config", "check", "--config", b), ("--config", b, "config", "check")):
        summary = check(*argv, CABIN_CONFIG=str(a))  # --config wins
        assert (summary["source"], summary["code"]) == (str(b), "STATION-B")
    # the file named by --config is the only one read: a broken CABIN_CONFIG does not matter
    assert check("config", "check", "--config", a, CABIN_CONFIG=str(broken))["code"] == "STATION-A"
    r = cabin(tmp_path, "config", "check", CABIN_CONFIG=str(broken))
    assert r.returncode == 1 and str(broken) in r.stderr


def test_the_selected_config_drives_the_station(tmp_path):
    """A fifth window in the chosen file is a fifth window in the queue."""
    path = tmp_path / "five.toml"
    path.write_text(default_text() + '\n[[windows]]\nnumber = 5\nname = "五号窗口"\nname_en = "Five"\nservices = ["tr.violation"]\n',
                    encoding="utf-8")
    r = cabin(tmp_path, "queue", "--json", CABIN_CONFIG=str(path))
    assert r.returncode == 0, r
    assert [w["window"] for w in json.loads(r.stdout)["windows"]] == [1, 2, 3, 4, 5]
    r = cabin(tmp_path, "doctor", "--json", "--config", path)
    assert r.returncode == 0, r
    assert json.loads(r.stdout)["config"] == str(path)


def test_the_catalogue_has_checklists_and_fees():
    from cabin.config import load_config

    services = load_config().services
    assert services["ee.passport"].fees == (("", 120),)
    assert dict(services["ee.hkmo_endorse"].fees) == {"一次（15元）": 15, "二次（30元）": 30, "一年多次（80元）": 80}
    assert services["tr.violation"].fees == ()  # assessed case by case
    assert "身体条件证明" in services["tr.license_renew"].documents
    for code in services:
        if not code.startswith("id."):
            assert services[code].documents, code


@pytest.mark.parametrize("old,new,message", [
    ('fee = 120\n', 'fee = "much"\n', 'services[5].fee: must be a whole number'),
    ('fee = 120\n', 'fee = 120\nfees = { "a" = 1 }\n', 'services[5].fees: give either fee or fees, not both'),
    ('fee = 120\n', 'fees = [1, 2]\n', 'services[5].fees: must be a table'),
    ('documents = ["居民身份证", "近期彩色照片（或现场采集）", "原护照（换发时）"]', 'documents = "passport"',
     'services[5].documents: must be a list of texts'),
])
def test_bad_fees_and_documents(tmp_path, old, new, message):
    from cabin.config import ConfigError, default_config_path, load_config

    text = default_config_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "s.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_font_settings_for_the_card_the_raster_ticket_and_the_chart(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(default_text() + '\n[export]\nfont = "/srv/fonts/chart.ttf"\n\n[dispenser]\nticket_mode = "raster"\n'
                    'font = "/srv/fonts/ticket.ttf"\n', encoding="utf-8")
    config = load_config(path)
    assert (config.export.font, config.dispenser.font, config.temporary_card.font) == (
        "/srv/fonts/chart.ttf", "/srv/fonts/ticket.ttf", "")
    assert load_config().export.font == "" and load_config().dispenser.font == ""   # cabin.drivers.fonts chooses
    path.write_text(default_text() + "\n[export]\nfont = 12\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    check_message(str(err.value), path, "export.font", "must be a path to a font file")
