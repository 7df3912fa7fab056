"""The faces' foundation: the catalog, the config key, the import boundary."""

from __future__ import annotations

import asyncio
import json
import os
import string
import subprocess
import sys

import pytest

from cabin.config import ConfigError, default_config_path, load_config
from cabin.kiosk.faces.base import widen_svg_text
from cabin.kiosk.faces.strings import CATALOG, LANGUAGES, Strings


# -- the catalog ------------------------------------------------------------------------------
def test_every_string_has_both_languages_with_the_same_placeholders():
    fields = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)
    for key, texts in CATALOG.items():
        assert len(texts) == len(LANGUAGES), key
        assert all(t.strip() for t in texts), key
        assert fields(texts[0]) == fields(texts[1]), key


def test_names_come_from_the_config_in_the_chosen_language():
    config = load_config()
    service = config.services["ee.passport"]
    assert Strings("zh").name(service) == "普通护照" and Strings("en").name(service) == "Ordinary passport"
    assert Strings("en")("window_n", n=3) == "Window 3"
    with pytest.raises(ValueError):
        Strings("fr")


def test_the_faces_config_key(tmp_path):
    config = load_config()
    assert (config.faces.lang, config.faces.theme) == ("zh", "dark")
    text = default_config_path().read_text(encoding="utf-8").replace('lang = "zh"', 'lang = "en"')
    (tmp_path / "en.toml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "en.toml").faces.lang == "en"
    (tmp_path / "bad.toml").write_text(text.replace('lang = "en"', 'lang = "fr"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"faces\.lang: must be \"zh\" or \"en\""):
        load_config(tmp_path / "bad.toml")
    (tmp_path / "typo.toml").write_text(text.replace('theme = "dark"', 'colour = "dark"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"faces\.colour: unknown key"):
        load_config(tmp_path / "typo.toml")


def test_svg_text_runs_are_as_wide_as_their_cells():
    svg = '<text class="r1" x="0" y="20" textLength="48.8" clip-path="url(#l)">等候&#160;3</text>'
    assert 'textLength="73.2"' in widen_svg_text(svg)  # 4 characters, 6 cells of 12.2
    plain = '<text class="r1" x="0" y="20" textLength="24.4" clip-path="url(#l)">A1</text>'
    assert widen_svg_text(plain) == plain


# -- the import boundary ------------------------------------------------------------------------
NO_TEXTUAL = """
import importlib, json, pkgutil, sys
import cabin.queue, cabin.drivers
for package in (cabin.queue, cabin.drivers):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
import cabin.kiosk.cli.app  # the CLI too: Textual is imported only when a face starts
print(json.dumps(sorted(n for n in sys.modules if n == "textual" or n.startswith("textual."))))
"""


def test_queue_drivers_and_the_cli_import_without_textual(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", NO_TEXTUAL], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_every_device_fault_kind_has_plain_words():
    """Each fault a driver can report, by kind (kiosk.devices.fault_kind), in the catalog: the
    clerk reads what to do in the face's language, not the driver's English."""
    from cabin.drivers.cardprinter.faults import MESSAGES as CARD_FAULTS
    from cabin.drivers.idreader.errors import SW3
    from cabin.drivers.ticketprinter.driver import MESSAGES as TICKET_FAULTS

    from cabin.kiosk.faces.faults import FAULT_KEYS, PRINTER_FAULT_KEYS

    reader = {kind for _, kind, _ in SW3.values()} | {"no_card", "card_removed"}
    generic = {"timeout", "protocol", "link"}
    card, ticket = PRINTER_FAULT_KEYS["card-printer"], PRINTER_FAULT_KEYS["ticket-printer"]
    missing = sorted(k for k in reader | set(CARD_FAULTS) | generic if FAULT_KEYS.get(k) not in CATALOG)
    missing += sorted(f"ticket {k}" for k in TICKET_FAULTS if ticket.get(k) not in CATALOG)
    missing += sorted(f"card {k}" for k in set(CARD_FAULTS) - {"nack"} if card.get(k) not in CATALOG)
    assert missing == []


def test_a_fault_without_a_kind_is_named_by_what_failed():
    from cabin.drivers.errors import DeviceError, DeviceFault, DeviceTimeout, ProtocolError
    from cabin.drivers.idreader.errors import GarbledReply, ReaderNotAnswering
    from cabin.kiosk.devices import fault_kind

    assert fault_kind(DeviceFault("cover_open", "x")) == "cover_open"
    assert fault_kind(ReaderNotAnswering("x")) == fault_kind(DeviceTimeout("x")) == "timeout"
    assert fault_kind(GarbledReply("checksum", "x")) == fault_kind(ProtocolError("x")) == "protocol"
    assert fault_kind(DeviceError("cannot open the reader at /dev/ttyUSB9")) == "link"
    assert fault_kind(OSError(5, "Input/output error")) == "link"      # beneath the driver: the port


def test_every_catalog_string_is_used():
    """A word nobody shows is a word nobody checks: each key is named, as a literal, somewhere in
    the faces (no key is built at run time: a key made of a state is looked up in a table of
    literal keys, ROLE_KEYS, WINDOW_STATE_KEYS ...)."""
    import ast
    from pathlib import Path

    named = set()
    faces = Path(__file__).resolve().parents[3] / "kiosk" / "faces"
    for path in faces.rglob("*.py"):
        if path.name == "strings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named.add(node.value)
    unused = [k for k in CATALOG if k not in named]
    assert unused == []


def test_no_two_catalog_entries_say_the_same():
    """One wording, one key: the same words in both languages are one entry, used by every site."""
    by_words: dict[tuple[str, ...], list[str]] = {}
    for key, texts in CATALOG.items():
        by_words.setdefault(texts, []).append(key)
    assert [keys for keys in by_words.values() if len(keys) > 1] == []


def test_the_clock_tick_between_a_title_bar_and_its_clock_is_harmless(tmp_path):
    """The app's 1 s tick found a title bar whose clock label was not there (composing, or
    leaving at a screen switch) and crashed the board once; now it shows nothing then."""
    from textual.app import App

    from cabin.kiosk.faces.widgets import TitleBar

    class One(App):
        def compose(self):
            yield TitleBar("station", "face")

        def clock_text(self) -> str:
            return "09:00"

    async def scenario():
        app = One()
        async with app.run_test() as pilot:
            bar = app.query_one(TitleBar)
            await bar.query_one("#title-clock").remove()
            bar.show_clock("09:01")                      # no clock to set: nothing, no crash
            await pilot.pause()
            assert app.is_running

    asyncio.run(scenario())
