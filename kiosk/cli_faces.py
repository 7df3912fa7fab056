"""`cabin board` and `cabin dispenser`: the lobby's two faces, started from the CLI.

Textual is imported only when a face starts, so the rest of the CLI stays as quick to start as
before and runs where no terminal is attached.
"""

from __future__ import annotations

import shlex
import sys

from cabin.queue.errors import CabinError

from . import paths, tokens
from .cli_args import host_port

LANGS = ("zh", "en")
THEMES = ("dark", "light")


def _link(ctx, with_secret: bool = False):
    from .faces.base import StationLink

    config = ctx.config  # a broken config is refused before a screen opens
    secret = (lambda: tokens.load_secret(paths.secret_file())) if with_secret else None
    if with_secret:
        secret()  # an unusable secret refuses the command now, not at the first citizen
    return StationLink(paths.resolve_db(ctx.args.db), config, secret=secret)


def cmd_board(ctx) -> int:
    a = ctx.args
    if a.serve:
        return _serve_board(ctx)
    from .faces.board import BoardApp

    BoardApp(_link(ctx), lang=a.lang, theme=a.theme).run()
    return 0


def _serve_board(ctx) -> int:
    """The same board, one process per browser that opens the page (textual-serve)."""
    from textual_serve.server import Server

    a = ctx.args
    host, port = a.serve  # parsed by cli_args.host_port
    ctx.config  # refuse a broken config here, not in every browser's board
    argv = [sys.executable, "-m", "cabin.kiosk.cli", "--db", str(paths.resolve_db(a.db))]
    if a.config:
        argv += ["--config", a.config]
    argv += ["board"] + (["--lang", a.lang] if a.lang else []) + (["--theme", a.theme] if a.theme else [])
    server = Server(shlex.join(argv), host=host, port=port, title=ctx.config.station.name_en)
    print(f"serving the lobby board at http://{f'[{host}]' if ':' in host else host}:{port} (Ctrl-C stops it)", flush=True)
    server.serve()
    return 0


def cmd_dispenser(ctx) -> int:
    from .faces.dispenser import DispenserApp

    a = ctx.args
    DispenserApp(_link(ctx, with_secret=True), lang=a.lang, theme=a.theme).run()
    return 0


def add_commands(sub, command) -> None:
    def look(p) -> None:
        p.add_argument("--lang", choices=LANGS, help="zh (Simplified Chinese) or en; default: [faces] lang in the config")
        p.add_argument("--theme", choices=THEMES, help="dark or light; default: [faces] theme in the config")

    p = command("board", cmd_board, "the lobby board: now serving per window, the last calls, the next numbers")
    look(p)
    p.add_argument("--serve", type=host_port, metavar="HOST:PORT", help="publish the board as a web page (textual-serve) instead")
    p.set_defaults(face="the lobby board")
    p = command("dispenser", cmd_dispenser, "the ticket dispenser: the citizen chooses errands and takes a ticket")
    look(p)
    p.set_defaults(face="the ticket dispenser")
