"""Every key of the configuration's schema is documented, and the shipped station.toml loads and
round-trips (after sqlite-utils' tests/test_docs.py).

A key is documented where the people editing station.toml look: in the shipped file's comments
about its section (a comment line naming it, or a comment after its value), or in the README's
Configuration section (in backticks)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from cabin.config import StationConfig, check, default_config_path, load_config, to_toml
from cabin.config.rules import Records, Table, Week
from cabin.config.schema import SCHEMA

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
CONFIGURATION = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
SHIPPED = default_config_path().read_text(encoding="utf-8")
HEADER = re.compile(r"^#?\s*\[\[?(\w+)\]\]?\s*$")


def schema_keys(rule=SCHEMA, path: tuple[str, ...] = ()):
    """Every key the schema reads, as a path: ("windows", "reader", "baud")."""
    if isinstance(rule, Records):
        rule = rule.table
    if isinstance(rule, Week):
        yield from (path + (day,) for day in rule.days)
    elif isinstance(rule, Table):
        for f in rule.fields():
            for name in f.metadata["rule"].names(f.name):
                yield path + (name,)
            yield from schema_keys(f.metadata["rule"], path + (f.name,))


def comments_by_section(text: str) -> dict[str, list[str]]:
    """Each comment of the file under the section it follows (a header in a comment counts: the
    examples of sections the file leaves out) and the section it precedes; a value's comment
    under its own section."""
    lines = text.splitlines()
    found: dict[str, list[str]] = {}
    current = ""
    for i, line in enumerate(lines):
        header = HEADER.match(line)
        if header:
            current = header[1]
        if "#" not in line or (header and not line.startswith("#")):
            continue
        comment = line  # a value's comment documents the key before it
        following = next((HEADER.match(n)[1] for n in lines[i + 1:] if HEADER.match(n) and not n.startswith("#")), "")
        for section in {current, following} if line.lstrip().startswith("#") else {current}:
            found.setdefault(section, []).append(comment)
    return found


COMMENTS = comments_by_section(SHIPPED)
KEYS = sorted(set(schema_keys()))


def test_the_schema_has_every_section_and_its_keys():
    sections = {path[0] for path in KEYS}
    assert sections == {"station", "queue", "hours", "priorities", "categories", "services", "windows",
                        "dispenser", "id_card", "temporary_card", "faces", "export", "store", "board",
                        "appointments", "ratings"}
    assert ("windows", "card_printer", "baud") in KEYS and ("services", "fee") in KEYS
    assert ("hours", "sun") in KEYS and len(KEYS) > 70


@pytest.mark.parametrize("path", KEYS, ids=".".join)
def test_key_is_documented(path):
    name = path[-1]
    if len(path) == 1:  # a section: its comments, or the README's
        assert COMMENTS.get(name) or f"`[{name}]`" in CONFIGURATION, f"[{name}] is not documented"
        return
    in_comments = any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", c) for c in COMMENTS.get(path[0], []))
    in_readme = re.search(rf"`(\[{path[0]}\] )?{re.escape(name)}\b", CONFIGURATION)
    assert in_comments or in_readme, (f"{'.'.join(path)} is neither in station.toml's comments about [{path[0]}]"
                                      " nor in the README's Configuration section")


def test_every_key_in_the_comments_examples_is_in_the_schema():
    """The examples the file gives in comments (`# font = ...`) name keys that exist."""
    names = {path[-1] for path in KEYS}
    for line in SHIPPED.splitlines():
        example = re.match(r"#\s+(\w+) = ", line)
        if example:
            assert example[1] in names, line
        for key in re.findall(r"[{,] (\w+) = ", line if line.startswith("#") else ""):
            assert key in names, line


def test_the_shipped_file_loads_and_round_trips():
    config = load_config()
    data = to_toml(config)
    # as plain data (what a TOML file holds): read back, it is the same configuration
    again = check(json.loads(json.dumps(data)), config.source)
    assert again == config and isinstance(again, StationConfig)
    assert to_toml(again) == data
    # what is written is what the file says, less the values it gives that are the defaults
    shipped = tomllib.loads(SHIPPED)
    assert data["station"] == shipped["station"] and data["hours"] == shipped["hours"]
    assert data["priorities"] == shipped["priorities"] and data["categories"] == shipped["categories"]
    assert [w["number"] for w in data["windows"]] == [w["number"] for w in shipped["windows"]]
    assert data["windows"][1:] == shipped["windows"][1:]  # window 1 says "*": every service, written out
    assert data["windows"][0]["services"] == [s["code"] for s in shipped["services"]]
    assert data["services"] == [{k: v for k, v in s.items() if (k, v) != ("max_fine", 20000)} for s in shipped["services"]]


def test_a_changed_configuration_round_trips(tmp_path):
    """Every kind of value written back: devices, a decoder, fonts, values that are not the defaults."""
    path = tmp_path / "station.toml"
    text = SHIPPED.replace('name_en = "ID cards"\n', 'name_en = "ID cards"\nreader = "/dev/ttyUSB0"\n'
                           'card_printer = { url = "socket://10.0.0.5:4001", baud = 9600 }\n', 1)
    text = text.replace("max_errands = 5", "max_errands = 2").replace('lang = "zh"', 'lang = "en"')
    text = text.replace("# photo_decoder = [", 'photo_decoder = ["wlt2bmp", "{wlt}", "{out}"]\n# photo_decoder = [')
    path.write_text(text + '\n[dispenser]\nticket_printer = "/dev/ttyUSB1"\nticket_mode = "raster"\nfont = "/f.ttf"\n',
                    encoding="utf-8")
    config = load_config(path)
    assert (config.windows[2].card_printer.baud, config.dispenser.ticket_printer.baud) == (9600, 9600)
    data = to_toml(config)
    assert data["dispenser"] == {"ticket_printer": {"url": "/dev/ttyUSB1"}, "ticket_mode": "raster", "font": "/f.ttf"}
    assert data["windows"][1]["reader"] == {"url": "/dev/ttyUSB0"}  # the reader's default speed
    assert data["windows"][1]["card_printer"] == {"url": "socket://10.0.0.5:4001", "baud": 9600}
    assert (data["queue"], data["faces"]) == ({"max_errands": 2}, {"lang": "en"})
    assert data["temporary_card"]["photo_decoder"] == ["wlt2bmp", "{wlt}", "{out}"]
    assert check(json.loads(json.dumps(data)), str(path)) == config
