"""The demo station: a fresh database, live simulated devices, demo accounts, citizens waiting."""

from __future__ import annotations

import pytest

from cabin.drivers.cardprinter import CardPrinter
from cabin.drivers.idreader import IdCardReader
from cabin.drivers.ticketprinter import TicketPrinter
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.demo import DEMO_ACCOUNTS, WAITING_TODAY, DemoStation
from cabin.kiosk.station import open_store
from cabin.queue.engine import Station
from cabin.queue.store import Store


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with DemoStation() as d:
        yield d


def test_the_demo_station_is_ready_to_use(demo):
    assert demo.db.name == "demo.sqlite" and demo.db.exists()
    window = demo.config.windows[1]
    with IdCardReader(window.reader.url) as reader:
        assert reader.read_card().name == "王秀英"      # printable with any Chinese font, application pending
    with CardPrinter(window.card_printer.url) as printer:
        assert printer.status().ready
    with TicketPrinter(demo.config.dispenser.ticket_printer.url) as printer:
        assert not printer.status().fault
    with open_store(demo.db) as store:
        for name, role, password in DEMO_ACCOUNTS:
            assert Accounts(store).authenticate(name, password).role == role
        state = Station(store, demo.config).queue_state()
        assert sum(state.waiting.values()) == len(WAITING_TODAY)      # first errands; the rest pending
        assert all(w.state == "open" for w in state.windows)
        with store.read() as conn:
            assert conn.execute("SELECT COUNT(DISTINCT day) FROM tickets").fetchone()[0] == 2   # yesterday too


def test_a_second_demo_starts_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with DemoStation() as first:
        with Store(first.db) as store:
            Station(store, first.config).issue(["id.apply"])
    with DemoStation() as second:
        with Store(second.db) as store:
            assert sum(Station(store, second.config).queue_state().waiting.values()) == len(WAITING_TODAY)
    assert not any(h for h in second.hosts)
