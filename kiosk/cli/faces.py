"""`cabin board` and `cabin dispenser`: the lobby's two faces, started from the CLI.

Textual is imported only when a face starts, so the rest of the CLI stays as quick to start as
before and runs where no terminal is attached.
"""

from __future__ import annotations

import sys

from cabin.queue.errors import CabinError

from cabin.kiosk import paths
from cabin.kiosk.business import tokens
from cabin.kiosk.cli.args import host_port

LANGS = ("zh", "en")
THEMES = ("dark", "light")


def _link(ctx, with_secret: bool = False):
    from cabin.kiosk.faces.base import StationLink

    config = ctx.config  # a broken config is refused before a screen opens
    secret = (lambda: tokens.load_secret(paths.secret_file())) if with_secret else None
    if with_secret:
        secret()  # an unusable secret refuses the command now, not at the first citizen
    return StationLink(paths.resolve_db(ctx.args.db), config, ctx.clock, secret=secret)


def cmd_board(ctx) -> int:
    a = ctx.args
    if a.serve:
        return _serve_board(ctx)
    if a.public:
        raise CabinError("--public goes with --serve HOST:PORT")
    from cabin.kiosk.faces.board.app import BoardApp

    BoardApp(_link(ctx), lang=a.lang, theme=a.theme).run()
    return 0


def _serve_board(ctx) -> int:
    """One board process for every browser that opens the page (kiosk/faces/served.py)."""
    from cabin.kiosk.faces.board import served

    a = ctx.args
    host, port = a.serve  # parsed by cli_args.host_port
    public = not served.is_loopback(host)
    if public and not a.public:
        raise CabinError("{host} can be reached from other machines: add --public to serve the board to the network"
                         " (it shows the queue numbers and the windows' states to anyone who can reach it),"
                         " or serve it on 127.0.0.1", host=host)
    config = ctx.config  # refuse a broken config here, not in the board process
    argv = [sys.executable, "-m", "cabin.kiosk.faces.board.served_app", "--db", str(paths.resolve_db(a.db))]
    if a.config:
        argv += ["--config", a.config]
    argv += (["--lang", a.lang] if a.lang else []) + (["--theme", a.theme] if a.theme else [])

    def ready(url: str) -> None:
        if public:
            print(served.exposure(host, port), file=sys.stderr, flush=True)
        print(f"serving the lobby board at {url} to at most {config.faces.served_viewers} screens"
              " (Ctrl-C stops it)", flush=True)

    served.serve(argv, host, port, title=f"{config.station.name} · {config.station.name_en}", viewers=config.faces.served_viewers, ready=ready)
    return 0


def cmd_dispenser(ctx) -> int:
    from cabin.kiosk.faces.dispenser import DispenserApp

    a = ctx.args
    DispenserApp(_link(ctx, with_secret=True), lang=a.lang, theme=a.theme).run()
    return 0


def add_commands(sub, command) -> None:
    def look(p) -> None:
        p.add_argument("--lang", choices=LANGS, help="zh (Simplified Chinese) or en; default: [faces] lang in the config")
        p.add_argument("--theme", choices=THEMES, help="dark or light; default: [faces] theme in the config")

    p = command("board", cmd_board, "the lobby board: now serving per window, the last calls, the next numbers")
    look(p)
    p.add_argument("--serve", type=host_port, metavar="HOST:PORT", help="publish the board as a web page instead (one board for every browser)")
    p.add_argument("--public", action="store_true",
                   help="with --serve: allow an address other machines can reach (0.0.0.0, a LAN address)")
    p.set_defaults(face="the lobby board")
    p = command("dispenser", cmd_dispenser, "the ticket dispenser: the citizen chooses errands and takes a ticket")
    look(p)
    p.set_defaults(face="the ticket dispenser")
