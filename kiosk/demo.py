"""The demo station: everything a new user needs to try Cabin in the first minute, from nothing.

`DemoStation` (a context manager) makes a fresh demo database in the user data dir (yesterday
simulated, for the figures; a few citizens already waiting today), serves the simulated reader,
card printer and ticket printer on pseudo-terminals in this process, and gives a config whose
comprehensive window 1 has the reader and the card printer and whose dispenser has the ticket
printer, with the simulated reader's photo decoder. Demo accounts with their passwords are
created and shown on the login screen: it is a demo, and says so. The first card on the reader
(王秀英) has a renewal application pending, so a temporary card goes through in the first minute.

Printed cards and tickets are rendered as PNGs under the data dir (`demo-cards/`,
`demo-tickets/`), so what was printed can be looked at.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cabin.config import Device, StationConfig, load_config
from cabin.drivers.cardprinter import SimulatedCardPrinter
from cabin.drivers.idreader import SimulatedReader
from cabin.drivers.idreader.simulator import RADIO_S, sample_cards
from cabin.drivers.simhost import PtyHost
from cabin.drivers.ticketprinter import SimulatedTicketPrinter
from cabin.queue.clock import local_date
from cabin.queue.engine import Station
from cabin.queue.simulate import capacity_citizens, last_open_day, simulate_day

from cabin.kiosk import paths
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.station import open_store, station_clock

# name, role, password: printed on the login screen of the demo, never used elsewhere
DEMO_ACCOUNTS = (("admin", "admin", "demo-admin-1"), ("zhuren", "supervisor", "demo-supervisor-1"),
                 ("xiaoli", "clerk", "demo-clerk-1"))
WAITING_TODAY = (["id.temporary"], ["id.apply", "ee.passport"], ["ee.hkmo_endorse"], ["tr.license_renew"],
                 ["id.loss_report"], ["ee.passport", "tr.violation"])


@dataclass
class DemoStation:
    config: StationConfig | None = None
    db: Path | None = None
    with_history: bool = True

    def __post_init__(self) -> None:
        self.base_config = self.config or load_config()
        self.db = Path(self.db or paths.demo_db())
        self.hosts: list[PtyHost] = []
        # the first card read is one any Chinese font can print (the sample 陈𠮷 has a character
        # beyond the BMP that fonts-wqy-zenhei lacks: printing it is refused, by design), and
        # its holder has a main-card application pending here, so the temporary card can go
        # through at once
        cards = sample_cards()
        self.first_card = next(c for c in cards if c.name == "王秀英")
        # the card stays on the reader until it leaves the field, as a real one does: every read in
        # the demo is 王秀英's (the reader's `next_card()` puts the next sample down); the radio
        # exchange takes the half second a real reader takes
        self.reader = SimulatedReader([self.first_card] + [c for c in cards if c is not self.first_card],
                                      radio_s=RADIO_S)
        self.card_printer = SimulatedCardPrinter(out_dir=paths.data_dir() / "demo-cards")
        self.ticket_printer = SimulatedTicketPrinter(out_dir=paths.data_dir() / "demo-tickets")

    def __enter__(self) -> "DemoStation":
        try:
            self._reset_files()
            reader, cards, tickets = (PtyHost(d).__enter__() for d in (self.reader, self.card_printer,
                                                                         self.ticket_printer))
            self.hosts = [reader, cards, tickets]
            self.config = self._config(reader.path, cards.path, tickets.path)
            self._fill()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for host in self.hosts:
            host.__exit__(None, None, None)
        self.hosts = []

    def _reset_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-lock"):
            self.db.with_name(self.db.name + suffix).unlink(missing_ok=True)
        for path in self.db.parent.glob(self.db.name + "-printer-*"):
            path.unlink()
        for folder in ("demo-cards", "demo-tickets"):
            shutil.rmtree(paths.data_dir() / folder, ignore_errors=True)

    def _config(self, reader: str, card_printer: str, ticket_printer: str) -> StationConfig:
        c = self.base_config
        window = dataclasses.replace(c.windows[1], reader=Device(reader, 115200), card_printer=Device(card_printer, 115200))
        decoder = (sys.executable, "-m", "cabin.drivers.idreader.simphoto", "{wlt}", "{out}")
        return dataclasses.replace(
            c, windows={**c.windows, 1: window},
            dispenser=dataclasses.replace(c.dispenser, ticket_printer=Device(ticket_printer, 9600)),
            temporary_card=dataclasses.replace(c.temporary_card, photo_decoder=decoder))

    def _fill(self) -> None:
        """Yesterday's simulated day (the figures have history), a few citizens waiting today,
        the windows open, the demo accounts."""
        with open_store(self.db, durable=False) as store:
            if self.with_history:
                tz = self.config.station.tz
                yesterday = local_date(station_clock(self.config).now_ms(), tz) - timedelta(days=1)
                day = last_open_day(self.config, yesterday.isoformat())
                simulate_day(store, self.config, day, max(capacity_citizens(self.config, day) // 2, 1), seed=1)
            station = Station(store, self.config)  # after the simulation: a station closes days in order
            for number in sorted(self.config.windows):
                station.set_window(number, "open")
            for services in WAITING_TODAY:
                station.issue(services, channel="dispenser")
            accounts = Accounts(store)
            admin = clerk = None
            for name, role, password in DEMO_ACCOUNTS:
                account = accounts.add(name, role, password, by=admin)
                admin = admin or account
                clerk = account if role == "clerk" else clerk
            Applications(store, self.config).accept(self.first_card.id_number, "renewal", by=clerk)

    @property
    def device_paths(self) -> dict[str, str]:
        return {"reader": self.hosts[0].path, "card_printer": self.hosts[1].path, "ticket_printer": self.hosts[2].path}
