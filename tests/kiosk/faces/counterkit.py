"""The counter's test helpers, shared by its tests and its snapshots: a station with its staff,
the simulated devices of window 1 on real pseudo-terminals and a config that names them, the
sign-in, a ticket's signed code."""

from __future__ import annotations

import pytest

from cabin.config import load_config
from cabin.drivers.cardprinter import SimulatedCardPrinter
from cabin.drivers.idreader import SimulatedReader
from cabin.drivers.simhost import PtyHost
from cabin.drivers.ticketprinter import SimulatedTicketPrinter
from cabin.kiosk.business import tokens
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.faces.counter.desk import DeskScreen
from cabin.kiosk.faces.counter.login import LoginScreen

from clikit import STAFF_PASSWORD
from facekit import SECRET, config_with, open_station, until


def make_station(db, config, clock, open_windows=(2, 3, 4)):
    """Staff accounts (root admin, li clerk, boss supervisor); windows 2-4 open, window 1 closed."""
    station = open_station(db, config, clock)
    accounts = Accounts(station.store, clock)
    root = accounts.add("root", "admin", STAFF_PASSWORD)
    accounts.add("li", "clerk", STAFF_PASSWORD, by=root)
    accounts.add("boss", "supervisor", STAFF_PASSWORD, by=root)
    for w in open_windows:
        station.set_window(w, "open")
    return station


async def sign_in(pilot, app, name="li", password=STAFF_PASSWORD) -> None:
    await until(pilot, lambda: isinstance(app.screen, LoginScreen))
    await pilot.press(*name, "enter", *password, "enter")
    await until(pilot, lambda: isinstance(app.screen, DeskScreen) and app.screen.is_mounted and app.view is not None)
    await pilot.pause()


@pytest.fixture
def devices(tmp_path):
    sims = {"reader": SimulatedReader(), "card": SimulatedCardPrinter(["cover_open"]), "ticket": SimulatedTicketPrinter()}
    hosts = {k: PtyHost(s, link=tmp_path / k).__enter__() for k, s in sims.items()}
    yield sims, hosts
    for h in hosts.values():
        h.__exit__(None, None, None)


def device_config(tmp_path, hosts):
    text = (config_with(tmp_path, f'[dispenser]\nticket_printer = {{ url = "{hosts["ticket"].path}", baud = 9600 }}\n')
            .read_text(encoding="utf-8"))
    first = text.index("[[windows]]")
    end = text.index("[[windows]]", first + 1)
    window = text[first:end].rstrip() + (f'\nreader = "{hosts["reader"].path}"\n'
                                         f'card_printer = "{hosts["card"].path}"\n\n')
    (tmp_path / "devices.toml").write_text(text[:first] + window + text[end:], encoding="utf-8")
    return load_config(tmp_path / "devices.toml")


def token_for(config, day: str, ticket_id: int, secret: bytes = SECRET) -> str:
    return tokens.sign(secret, config.station.code, day, ticket_id)
