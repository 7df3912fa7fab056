"""`cabin counter --window N`, the clerk's app, and `cabin` with no command: the demo station.

Textual is imported only when a face starts (the rest of the CLI stays quick and runs without a
terminal).

The demo station (`cabin`, `make run`) is the counter app of window 1 over a fresh DemoStation
(kiosk/demo.py: its own database, the simulated reader, card printer and ticket printer on
pseudo-terminals in this process, demo accounts). F3 switches to the ticket dispenser and F4 to
the lobby board, F2 back to the counter: one app at a time in the terminal, all three over the
same database and devices, and the clerk stays signed in across the switches.
"""

from __future__ import annotations

import sys

from cabin.queue.errors import CabinError

from cabin.kiosk import paths
from cabin.kiosk.business import tokens
from cabin.kiosk.cli.args import window_number
from cabin.kiosk.cli.faces import LANGS, THEMES, _link

FACES = ("counter", "dispenser", "board")


def cmd_counter(ctx) -> int:
    from cabin.kiosk.faces.counter.app import CounterApp

    a = ctx.args
    if a.window not in ctx.config.windows:
        raise CabinError(f"there is no window {a.window} in the station config "
                         f"(windows: {', '.join(map(str, sorted(ctx.config.windows)))})")
    CounterApp(_link(ctx, with_secret=True), a.window, lang=a.lang, theme=a.theme).run()
    return 0


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
            link = StationLink(demo.db, demo.config, ctx.clock, secret=secret)
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
    return 0


def add_commands(sub, command) -> None:
    p = command("counter", cmd_counter, "the counter app of one window: sign in, call, serve, complete")
    p.add_argument("--window", type=window_number, required=True, metavar="N", help="this counter's window number")
    p.add_argument("--lang", choices=LANGS, help="zh (Simplified Chinese) or en; default: [faces] lang in the config")
    p.add_argument("--theme", choices=THEMES, help="dark or light; default: [faces] theme in the config")
    p.set_defaults(face="the counter app")
