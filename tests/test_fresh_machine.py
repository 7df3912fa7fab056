"""A fresh machine: fontconfig finds no font at all, nothing is installed but Cabin and what pip
brings with it. The demo station's service layer prints a ticket and draws a card face, and the
daily export writes every file, all in Chinese from the packaged font — each in a process of
its own started with that fontconfig, as a new user's shell would start it.

"Chinese was drawn" is shown three ways: the drawing has black dots where the text goes, the
font it used has every character of that text (so no missing-glyph box stands in for one), and
the ticket's QR code still decodes with an independent reader (zxing-cpp).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

import fontsetup

DAY = "2026-11-23"


@pytest.fixture
def fresh(tmp_path) -> dict:
    conf = fontsetup.fontconfig(tmp_path / "fontconfig")  # no <dir>: not a single font
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(FONTCONFIG_FILE=str(conf), XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"))
    if shutil.which("fc-list"):
        assert subprocess.run(["fc-list"], env=env, capture_output=True, text=True).stdout == ""
    return env


def python(env: dict, script: str) -> dict:
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def cabin(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cabin.kiosk.cli.app", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def black_dots(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Dark dots (ink, not paper) in the box."""
    return sum(image.convert("L").crop(box).histogram()[:128])


def test_the_demo_station_prints_a_ticket_and_draws_a_card_in_chinese(fresh, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    done = python(fresh, f"""
        import json
        from datetime import date
        from cabin.drivers import fonts
        from cabin.kiosk import paths
        from cabin.kiosk.business import cardface, tokens
        from cabin.kiosk.demo import DemoStation
        from cabin.kiosk.station import open_store
        from cabin.kiosk.business.tempcards import TempCards
        from cabin.kiosk.business.tickets import TicketDesk
        from cabin.drivers.idreader.simphoto import decode
        from cabin.drivers.idreader.simulator import placeholder
        from cabin.queue.engine import Station
        from cabin.queue.store import Store

        with DemoStation() as demo, open_store(demo.db) as store:
            desk = TicketDesk(Station(store, demo.config), demo.config, tokens.load_secret(paths.secret_file()))
            issued = desk.issue(["id.temporary", "ee.passport"])
            card = demo.first_card
            fields = cardface.FaceFields(
                name=card.name, sex="女", nation="汉", birth=date(1958, 7, 26), address=card.address,
                number=card.id_number, valid_from=date(2026, 12, 2), valid_to=date(2027, 3, 2),
                authority=demo.config.temporary_card.authority,
                photo=decode(placeholder(b"PHOTO", card.id_number)))
            path, index = TempCards(store, demo.config).font(cardface.face_text(fields))
            face = cardface.render(fields, path, index)
            face.save({str(tmp_path / "face.png")!r})
            print(json.dumps({{"issued": issued, "font": path, "candidates": [f.origin for f in fonts.candidates()],
                               "face_missing": fonts.missing_characters(cardface.face_text(fields), path, index),
                               "tickets": sorted(str(p) for p in (paths.data_dir() / "demo-tickets").glob("*.png"))}}))
    """)
    assert done["candidates"] == ["packaged"]                        # fontconfig found nothing
    assert "paperang_p2_fonts_cjk" in done["font"] and done["face_missing"] == []

    assert done["issued"]["printed"] is True
    [png] = done["tickets"]
    ticket = Image.open(png)
    [code] = zxingcpp.read_barcodes(ticket)
    assert code.text == done["issued"]["token"]
    # the station's name (the first line, Chinese) has dots, and so does each errand line
    assert black_dots(ticket, (0, 0, ticket.width, 40)) > 200

    face = Image.open(tmp_path / "face.png")
    assert face.size == (1016, 648)
    assert black_dots(face, (200, 100, 670, 160)) > 500               # the name, 王秀英
    assert black_dots(face, (300, 20, 720, 90)) > 1000                # the title, 临时居民身份证


def test_the_daily_export_writes_every_file_with_the_chart(fresh, tmp_path):
    db = str(tmp_path / "station.sqlite")
    r = cabin(fresh, "--db", db, "simulate", "--day", DAY, "--citizens", "40")
    assert r.returncode == 0, r.stderr
    r = cabin(fresh, "--db", db, "--json", "export", "--day", DAY, "--format", "all", "--out", str(tmp_path / "out"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    [day] = json.loads(r.stdout)["days"]
    assert day["skipped"] == []
    names = sorted(Path(f).name for f in day["files"])
    assert len(names) == 9 and f"350206001_{DAY}.png" in names
    chart = Image.open(tmp_path / "out" / f"350206001_{DAY}.png")
    assert black_dots(chart, (60, 15, 700, 50)) > 300                 # the title line: ... 业务量统计


def test_a_chart_that_cannot_be_drawn_costs_only_the_chart(fresh, tmp_path):
    db = str(tmp_path / "station.sqlite")
    assert cabin(fresh, "--db", db, "simulate", "--day", DAY, "--citizens", "10").returncode == 0
    config = tmp_path / "station.toml"
    from cabin.config import default_config_path

    config.write_text(default_config_path().read_text(encoding="utf-8")
                      + '\n[export]\nfont = "/no/such/font.ttf"\n', encoding="utf-8")
    r = cabin(fresh, "--db", db, "--config", str(config), "--json", "export", "--day", DAY, "--out",
              str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    [day] = json.loads(r.stdout)["days"]
    assert [Path(s["file"]).name for s in day["skipped"]] == [f"350206001_{DAY}.png"]
    assert "/no/such/font.ttf ([export] font) does not exist" in day["skipped"][0]["why"]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("cabin: warning: ") and "Traceback" not in r.stderr
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".csv"] * 6 + [".json", ".xlsx"]


def start(env: dict, *args: str) -> tuple[int, str]:
    """`cabin ARGS` in a terminal of its own (script(1)), as a person starts a face: its exit code
    and everything it wrote to the terminal."""
    command = " ".join([sys.executable, "-m", "cabin.kiosk.cli.app", *args])
    r = subprocess.run(["script", "-qec", command, "/dev/null"], env=env, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.replace("\r", "")


def test_the_demo_station_that_cannot_start_says_so_in_one_sentence(fresh, tmp_path):
    (tmp_path / "xdg" / "cabin").mkdir(parents=True, mode=0o700)  # private, as Cabin makes it
    (tmp_path / "xdg" / "cabin" / "demo.sqlite").mkdir()  # in the way of the demo's database
    code, out = start(fresh)
    assert code == 1 and "Traceback" not in out, out
    [line] = [x for x in out.splitlines() if x.startswith("cabin: ")]
    assert line.startswith("cabin: the demo station cannot run: ") and "demo.sqlite" in line


@pytest.mark.parametrize("face", [["dispenser"], ["counter", "--window", "1"]])
def test_a_face_without_its_data_folder_says_so_in_one_sentence(fresh, tmp_path, face):
    (tmp_path / "xdg").write_text("a file where the data folder belongs")
    code, out = start(fresh, *face)
    assert code == 1 and "Traceback" not in out, out
    assert out.strip().splitlines() == [f"cabin: cannot read or create the station secret"
                                        f" {tmp_path}/xdg/cabin/station.secret: Not a directory"]


def test_the_served_board_on_a_port_in_use_says_so_in_one_sentence(fresh, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cabin(fresh, "--db", str(tmp_path / "s.sqlite"), "board", "--serve", f"127.0.0.1:{port}")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    [line] = r.stderr.splitlines()
    assert line.startswith("cabin: ") and "already in use" in line
