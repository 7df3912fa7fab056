"""Helpers the faces' tests share: a station on a real SQLite file at a fixed time, a Pilot
scenario runner, the screen's text."""
from __future__ import annotations

import asyncio
import functools
import re
from datetime import datetime
from pathlib import Path


from cabin.config import default_config_path
from cabin.kiosk.faces.base import StationLink
from cabin.kiosk import station as opener
from cabin.queue.clock import ManualClock
from cabin.queue.engine import Station

MONDAY_9 = (2026, 11, 23, 9, 0)
SECRET = b"faces-test-secret-0123456789abcdef"


def fixed_clock(config) -> ManualClock:
    return ManualClock(config.station.tz, datetime(*MONDAY_9, tzinfo=config.station.tz))


def open_station(db: Path, config, clock=None) -> Station:
    return opener.open_station(db, config=config, clock=clock)


def link(db: Path, config, clock=None) -> StationLink:
    return StationLink(db, config, clock, secret=lambda: SECRET)


def busy_morning(station: Station, clock: ManualClock | None = None) -> None:
    """Four windows open, six citizens, three of them called: a board with something on it."""
    for w in station.config.windows:
        station.set_window(w, "open")
    for code in ["id.temporary", "ee.passport", "tr.violation", "id.apply", "id.loss_report", "ee.hkmo_permit"]:
        station.issue([code])
        if clock:
            clock.advance(minutes=1)
    station.call_next(2)   # A001
    station.call_next(4)   # C001
    station.start(4)
    station.call_next(3)   # B001


def config_with(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(default_config_path().read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


def pilot_test(scenario):
    """Run an async Pilot scenario as a plain test (no asyncio plugin needed)."""

    @functools.wraps(scenario)
    def test(*args, **kwargs):
        return asyncio.run(scenario(*args, **kwargs))

    return test


async def until(pilot, condition, timeout: float = 10.0, step: float = 0.02) -> None:
    """Let the app run until `condition()` holds; a generous bound, not a timing assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {condition}")
        await pilot.pause(step)


def screen_text(app) -> str:
    """The text on the app's screen, as a person would read it (the SVG's text runs)."""
    import html

    svg = app.export_screenshot()
    lines: dict[str, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text [^>]*x="([0-9.]+)" y="([0-9.]+)"[^>]*>([^<]*)</text>', svg):
        lines.setdefault(m[2], []).append((float(m[1]), html.unescape(m[3]).replace("\xa0", " ")))
    return "\n".join("".join(t for _, t in sorted(runs)) for _, runs in sorted(lines.items(), key=lambda kv: float(kv[0])))
