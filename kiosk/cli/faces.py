"""`cabin board`, `dispenser`, `counter --window N` and `supervisor`: the faces started from the CLI,
and `cabin` with no command: the demo station.

Textual is imported only when a face starts, so the rest of the CLI stays quick to start and
runs where no terminal is attached.

The demo station (`cabin`, `make run`) is the counter app of window 1 over a fresh DemoStation
(kiosk/demo.py: its own database, the simulated reader, card printer and ticket printer on
pseudo-terminals in this process, demo accounts). F3 switches to the ticket dispenser and F4 to
the lobby board, F2 back to the counter: one app at a time in the terminal, all three over the
same database and devices, and the clerk stays signed in across the switches.
"""

from __future__ import annotations

import os
import sys

from cabin.queue.errors import CabinError

from cabin.kiosk import paths
from cabin.kiosk.business import tokens
from cabin.kiosk.cli import options
from cabin.kiosk.cli.app import EXIT_OK
from cabin.kiosk.cli.args import host_port, window_number
from cabin.kiosk.station import station_secret

FACES = ("counter", "dispenser", "board")  # what the demo station switches between


def _link(ctx, with_secret: bool = False):
    from cabin.kiosk.faces.base import StationLink

    config = ctx.config  # a broken config is refused before a screen opens
    secret = (lambda: station_secret(ctx.database(), ctx.store)) if with_secret else None
    if with_secret:
        secret()  # an unusable secret refuses the command now, not at the first citizen
    return StationLink(ctx.database(), config, ctx.clock, secret=secret)


def cmd_board(ctx) -> int:
    a = ctx.args
    if a.serve:
        return _serve_board(ctx)
    if a.public:
        raise CabinError("--public goes with --serve HOST:PORT")
    from cabin.kiosk.faces.board.app import BoardApp

    BoardApp(_link(ctx), lang=a.lang, theme=a.theme, speak=True).run()  # this host's speakers
    return EXIT_OK


def _serve_board(ctx) -> int:
    """One board process for every browser that opens the page (kiosk/faces/board/served.py)."""
    from cabin.kiosk.faces.board import served

    config = ctx.config  # refuse a broken config here, not in the board process
    voice = None
    if config.board.announce:  # the calls said by the browsers' speakers (served_voice.py)
        from cabin.kiosk.faces.board.served_voice import ServedVoice, voice_missing

        voice = ServedVoice(config.board)
        missing = voice_missing(config.board)
    else:
        missing = "[board] announce = false"
    told = [f"cabin: the calls will be shown, not said: {missing}"] if missing else []

    def not_public(host: str) -> CabinError:
        return CabinError("{host} can be reached from other machines: add --public to serve the board to the network"
                          " (it shows the queue numbers and the windows' states to anyone who can reach it),"
                          " or serve it on 127.0.0.1", host=host)

    return _serve(ctx, [], exposure=served.exposure, not_public=not_public, told=told, what="the lobby board",
                  viewers=config.faces.served_viewers, voice=voice)


def _serve(ctx, face_args: list[str], *, exposure, not_public, told: list[str], what: str, viewers: int,
           **server) -> int:
    """A face served as a web page (kiosk/faces/board/served.py): one face process, started
    with `face_args` (served_app.py), for the browsers that open it. `exposure(host, port)`: what
    a public one lets the network see or do, said at the start; `not_public(host)`: the refusal
    of a public address without --public; `told`: more lines said at the start."""
    from cabin.kiosk.faces.board import served

    a = ctx.args
    a.db = ctx.database()  # --db, CABIN_DB or the config's [store] url: the face process is told which
    host, port = a.serve  # parsed by args.host_port
    public = not served.is_loopback(host)
    if public and not a.public:
        raise not_public(host)
    config = ctx.config
    db = paths.resolve_db(a.db)
    argv = [sys.executable, "-m", "cabin.kiosk.faces.board.served_app", *face_args]
    if paths.is_server(db):
        # a server's URL may hold a password: to the face process through its environment,
        # which only this account can read, never in its command line, which anyone's `ps` shows
        os.environ["CABIN_DB"] = db
    else:
        argv += ["--db", str(db)]
    if a.config:
        argv += ["--config", a.config]
    argv += (["--lang", a.lang] if a.lang else []) + (["--theme", a.theme] if a.theme else [])

    def ready(url: str) -> None:
        if public:
            print(exposure(host, port), file=sys.stderr, flush=True)
        for line in told:
            print(line, file=sys.stderr, flush=True)
        print(f"serving {what} at {url} to at most {viewers} screen{'s' if viewers > 1 else ''}"
              " (Ctrl-C stops it)", flush=True)

    served.serve(argv, host, port, title=f"{config.station.name} · {config.station.name_en}",
                 viewers=viewers, ready=ready, **server)
    return EXIT_OK


def cmd_dispenser(ctx) -> int:
    from cabin.kiosk.faces.dispenser import DispenserApp

    a = ctx.args
    DispenserApp(_link(ctx, with_secret=True), lang=a.lang, theme=a.theme).run()
    return EXIT_OK


def cmd_counter(ctx) -> int:
    from cabin.kiosk.faces.counter.app import CounterApp

    a = ctx.args
    if a.window not in ctx.config.windows:
        raise CabinError(f"there is no window {a.window} in the station config "
                         f"(windows: {', '.join(map(str, sorted(ctx.config.windows)))})")
    CounterApp(_link(ctx, with_secret=True), a.window, lang=a.lang, theme=a.theme).run()
    return EXIT_OK


def cmd_supervisor(ctx) -> int:
    from cabin.kiosk.faces.supervisor import SupervisorApp

    a = ctx.args
    SupervisorApp(_link(ctx), lang=a.lang, theme=a.theme).run()
    return EXIT_OK


def cmd_rate(ctx) -> int:
    a = ctx.args
    if a.window not in ctx.config.windows:
        raise CabinError("there is no window {window} (windows: {windows})",
                         window=a.window, windows=", ".join(map(str, sorted(ctx.config.windows))))
    if a.serve:
        from cabin.kiosk.faces.board import served

        def not_public(host: str) -> CabinError:
            return CabinError("{host} can be reached from other machines: add --public to serve the rating screen to"
                              " the network (anyone who can reach it can rate the window's errands), or serve it on"
                              " 127.0.0.1", host=host)

        return _serve(ctx, ["--rate", str(a.window)], told=[], what=f"the rating screen of window {a.window}",
                      exposure=lambda host, port: served.rating_exposure(host, port, a.window), not_public=not_public,
                      viewers=served.RATING_VIEWERS, operated=True, full_page=served.RATING_FULL_PAGE)
    if a.public:
        raise CabinError("--public goes with --serve HOST:PORT")
    from cabin.kiosk.faces.rating import RatingApp

    RatingApp(_link(ctx), a.window, lang=a.lang, theme=a.theme).run()
    return EXIT_OK


def can_show_a_face() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_demo_station(ctx, lang: str | None = None, theme: str | None = None) -> int:
    """The counter of window 1 over a fresh demo station, the dispenser and the board a key away."""
    from cabin.kiosk.demo import DEMO_ACCOUNTS, DemoStation
    from cabin.kiosk.faces.base import StationLink
    from cabin.kiosk.faces.counter.demo import DemoBoard, DemoDispenser
    from cabin.kiosk.faces.counter.app import CounterApp

    base = ctx.config if ctx.args.config else None
    secret = lambda: tokens.load_secret(paths.secret_file())  # noqa: E731
    secret()
    print("starting the demo station (a fresh demo database, simulated devices)...", flush=True)
    with DemoStation(config=base) as demo:
        face, account = "counter", None
        while face in FACES:
            link = StationLink(demo.db, demo.config, secret=secret)
            if face == "counter":
                app = CounterApp(link, 1, lang=lang, theme=theme, demo=True, demo_accounts=DEMO_ACCOUNTS,
                                 account=account)
                face = app.run()
                account = app.account
            elif face == "dispenser":
                face = DemoDispenser(link, lang=lang, theme=theme).run()
            else:
                face = DemoBoard(link, lang=lang, theme=theme).run()
    print(f"demo station closed; its database: {demo.db}")
    return EXIT_OK


def declare(commands) -> None:
    p = commands.command("board", cmd_board)
    options.look(p)
    p.add_argument("--serve", type=host_port, metavar="HOST:PORT", help="publish the board as a web page instead (one board for every browser)")
    p.add_argument("--public", action="store_true",
                   help="with --serve: allow an address other machines can reach (0.0.0.0, a LAN address)")
    p.set_defaults(face="the lobby board")
    p = commands.command("dispenser", cmd_dispenser)
    options.look(p)
    p.set_defaults(face="the ticket dispenser")
    p = commands.command("supervisor", cmd_supervisor)
    options.look(p)
    p.set_defaults(face="the supervisor's view")
    p = commands.command("rate", cmd_rate)
    p.add_argument("--window", type=window_number, required=True, metavar="N", help="the window whose errands it rates")
    p.add_argument("--serve", type=host_port, metavar="HOST:PORT",
                   help="publish the rating screen as a web page instead, for a tablet's browser (one screen at a time)")
    p.add_argument("--public", action="store_true",
                   help="with --serve: allow an address other machines can reach (0.0.0.0, a LAN address)")
    options.look(p)
    p.set_defaults(face="the rating screen")
    p = commands.command("counter", cmd_counter)
    p.add_argument("--window", type=window_number, required=True, metavar="N", help="this counter's window number")
    options.look(p)
    p.set_defaults(face="the counter app")
