"""Every CLI command is in the README (after sqlite-utils' tests/test_docs.py)."""

import argparse
import re
from pathlib import Path

import pytest

from cabin.kiosk.cli.app import build_parser

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str = "cabin"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                has_children = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                if has_children:
                    yield from commands(sub, f"{prefix} {name}")
                else:
                    yield f"{prefix} {name}", sub


ALL = sorted(commands(build_parser()), key=lambda c: c[0])


def test_the_parser_has_the_issue_commands():
    names = {name for name, _ in ALL}
    for expected in ["cabin ticket issue", "cabin ticket show", "cabin call", "cabin recall", "cabin no-show",
                     "cabin start", "cabin complete", "cabin transfer", "cabin cancel", "cabin reactivate",
                     "cabin window", "cabin queue", "cabin simulate", "cabin config check", "cabin doctor"]:
        assert expected in names


@pytest.mark.parametrize("name", [name for name, _ in ALL])
def test_command_is_documented(name):
    # `cabin window` is documented as `cabin window open|pause|close N`
    assert re.search(re.escape(name) + r"[ `|\\]", README), f"{name} is not in README.md"


@pytest.mark.parametrize("name,parser", ALL)
def test_options_are_documented(name, parser):
    common = {"--json", "--db", "--config", "--help", "-h"}
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option not in common:
                assert option in README, f"{name} {option} is not in README.md"
