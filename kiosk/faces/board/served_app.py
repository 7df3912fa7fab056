"""The one board process behind `cabin board --serve` (started by kiosk/faces/served.py), or with
`--rate N` the rating face of window N behind `cabin rate --window N --serve`.

`python -m cabin.kiosk.faces.board.served_app [--rate N] [--db FILE] [--config FILE] [--lang L] [--theme T]`, run
under textual's web driver: its screen goes to the server on stdout and from there to every
browser watching. The database is a file (--db) or, on a server, CABIN_DB's URL: a URL may hold a
password, and a command line is anyone's to read. Two things set it apart from `cabin board`:

- it dies with the server: the kernel sends it SIGKILL when the server ends, however it ends
  (a kill -9 of the server included), so no board process outlives the server that started it;
- the calls are said by the browsers, not by this host: each call it would say goes to the
  server as a meta packet ({"type": "cabin_call", ...}), where it becomes the sound the pages
  play (served_voice.py); `[board] announce` and the quiet hours are decided here, as on
  `cabin board`;
- Ctrl+L draws the whole screen again (the terminal's old "redraw"). Only the server presses it,
  when a browser joins: a board already running has sent its full screen long ago, and the
  newcomer needs one. The browsers' own keys never reach this process.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent ends; `parent` is the server's pid, as the
    server passed it: if it is gone already (it died while this process started) end now."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(0)


def redrawn(face: type) -> type:
    """`face` with Ctrl+L drawing its whole screen again, which the server presses when a browser
    joins (its own bindings stay: Textual merges a subclass's with its parents')."""

    class Served(face):
        BINDINGS = [("ctrl+l", "redraw", "")]

        def action_redraw(self) -> None:
            # the whole screen is dirty: Textual's compositor then sends a full update
            self.screen.refresh(layout=True)

    return Served


class BrowserSpeakers:
    """The board's speakers when the browsers say the calls: each call goes to the server, which
    makes its sound. Called on the event loop, as the driver's own writes are: the packets never
    interleave with a frame."""

    def __init__(self, app):
        self.app = app

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def say(self, ticket: str, window: int) -> None:
        driver = self.app._driver  # textual's WebDriver: its packets go to the server on stdout
        if driver is not None and hasattr(driver, "write_meta"):
            driver.write_meta({"type": "cabin_call", "ticket": ticket, "window": window})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cabin.kiosk.faces.board.served_app")
    p.add_argument("--db", help="the station's database file (default: CABIN_DB, then the user's)")
    p.add_argument("--config")
    p.add_argument("--lang")
    p.add_argument("--theme")
    p.add_argument("--parent", type=int, required=True, help="the server's pid")
    p.add_argument("--rate", type=int, metavar="N", help="the rating face of window N instead of the board")
    a = p.parse_args(argv)
    die_with_parent(a.parent)

    from cabin.config import load_config
    from cabin.kiosk.paths import resolve_db

    from cabin.kiosk.faces.base import StationLink
    from cabin.kiosk.faces.board.app import BoardApp

    class SharedBoardApp(redrawn(BoardApp)):
        def open_speakers(self):
            return BrowserSpeakers(self)

    config = load_config(a.config)
    link = StationLink(resolve_db(a.db), config)
    if a.rate is not None:
        from cabin.kiosk.faces.rating import RatingApp

        redrawn(RatingApp)(link, a.rate, lang=a.lang, theme=a.theme).run()
        return 0
    SharedBoardApp(link, lang=a.lang, theme=a.theme, speak=True).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
