"""The options several commands share, each declared once here: the common --json/--db/--config,
the signed-in account (--as), where an ID number came from (--source/--reason) and the faces'
look (--lang/--theme). The argument types themselves are in args.py."""

from __future__ import annotations

import argparse

from cabin.config import LANGUAGES, THEMES

from cabin.kiosk.cli.args import path


def common(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """--json, --db, --config: taken before the command and after it (`cabin --json queue`,
    `cabin queue --json`)."""
    common = parser_class(add_help=False)
    # SUPPRESS, not a default: a subcommand's default would overwrite `cabin --json queue`'s value
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print exactly one JSON object")
    common.add_argument("--db", type=path, default=argparse.SUPPRESS, help="database file or postgresql:// URL (default: $CABIN_DB, the config's [store] url, or the user data dir)")
    common.add_argument("--config", type=path, default=argparse.SUPPRESS, help="station config (default: $CABIN_CONFIG or the shipped one)")
    return common


def acting(p: argparse.ArgumentParser, metavar: str = "CLERK", *, required: bool = True, help: str | None = None) -> None:
    """--as NAME: the account doing it, asked for its password (kiosk/cli/accounts.py signed_in)."""
    p.add_argument("--as", dest="acting", metavar=metavar, required=required, help=help)


def id_source(p: argparse.ArgumentParser) -> None:
    """--source and --reason: an ID number from the card reader, or typed by hand with the reason."""
    from cabin.kiosk.checks import SOURCES  # declared with the commands that take it, not at start-up

    p.add_argument("--source", choices=SOURCES, default="reader",
                   help="where the number came from: the card reader (default) or typed by hand")
    p.add_argument("--reason", metavar="TEXT", help="why the number was typed by hand (needed with --source manual)")


def look(p: argparse.ArgumentParser) -> None:
    """--lang and --theme of a face; the config's [faces] when not given."""
    p.add_argument("--lang", choices=LANGUAGES, help="zh (Simplified Chinese) or en; default: [faces] lang in the config")
    p.add_argument("--theme", choices=THEMES, help="dark or light; default: [faces] theme in the config")
