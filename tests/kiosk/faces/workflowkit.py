"""The workflow screens' rig, shared by their tests, their snapshots and the supervisor's: a station
at 09:00 on a Monday with the simulated reader and card printer at window 2 on real
pseudo-terminals, its staff, a host app that pushes one workflow screen, a temporary card
waiting for approval."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from cabin.config import Device, load_config
from cabin.drivers.cardprinter import CardPrinter, SimulatedCardPrinter
from cabin.drivers.idreader import SimulatedReader
from cabin.drivers.idreader.simulator import sample_cards
from cabin.drivers.simhost import PtyHost
from cabin.kiosk.business.accounts import Accounts
from cabin.kiosk.business.applications import Applications
from cabin.kiosk.business.tempcards import TempCards
from cabin.kiosk.faces.base import FaceApp
from cabin.kiosk.station import open_store
from cabin.kiosk.faces.counter.workflows.context import WorkflowContext, WorkflowResult
from cabin.kiosk.faces.counter.workflows.registry import screen_for

from facekit import fixed_clock, link, open_station

PW = "counter-pass-1"
SAMPLES = json.loads((Path(__file__).resolve().parents[3] / "drivers" / "idreader" / "samples.json").read_text("utf-8"))
WANG = SAMPLES[1]                       # 王秀英, a resident card the card font can draw
ADULT = "350206198503120019"            # Huli, male, born 1985-03-12
DECODER = (sys.executable, "-m", "cabin.drivers.idreader.simphoto", "{wlt}", "{out}")


def test_printer(url: str, baud: int) -> CardPrinter:
    return CardPrinter(url, timeout=0.5, poll=0.01, print_timeout=1.0, baudrate=1_000_000)


test_printer.__test__ = False  # a factory, not a test


class Host(FaceApp):
    """Stands in for the counter app: pushes the workflow screen and keeps what it hands back."""

    def __init__(self, rig, service: str, lang: str = "zh", **options):
        super().__init__(rig.link, lang=lang)
        self.rig, self.service, self.options = rig, service, options
        self.result: WorkflowResult | None = None

    def on_mount(self) -> None:  # FaceApp.on_mount runs too
        self.push_screen(self.rig.screen(self.service, **self.options), callback=self.done)

    def done(self, result: WorkflowResult) -> None:
        self.result = result


@dataclasses.dataclass
class Rig:
    """A station at 09:00 on a Monday; window 2 with the simulated reader and card printer; li
    (clerk), wang and zhao (supervisors), root (admin)."""

    tmp: Path
    config: object
    clock: object
    reader: SimulatedReader
    printer: SimulatedCardPrinter
    accounts: dict

    @property
    def db(self) -> Path:
        return self.tmp / "cabin.sqlite"

    @property
    def window(self):
        return self.config.windows[2]

    def station(self):
        return open_station(self.db, self.config, self.clock)

    def serve(self, service: str, window: int = 2) -> dict:
        """A citizen with `service` called to the window: the errand being served."""
        station = self.station()
        try:
            station.set_window(window, "open")
            station.issue([service])
            call = station.call_next(window)
            station.start(window)
            return call.as_dict()
        finally:
            station.store.close()

    def screen(self, service: str, **options):
        request = self.serve(service, self.window_for(service))
        context = WorkflowContext(self.link, self.accounts["li"], self.config.windows[self.window_for(service)], request)
        return screen_for(context, **options)

    def wang_applied(self) -> None:
        """王秀英's replacement application, pending: the basis of her temporary card."""
        from cabin.kiosk.business.applications import Applications

        with self.services() as store:
            Applications(store, self.config, self.clock).accept(WANG["id_number"], "replacement", by=self.accounts["li"])

    def window_for(self, service: str) -> int:
        return 2 if service.startswith("id.") else (3 if service.startswith("ee.") else 4)

    def services(self):
        return open_store(self.db)

    link = None


@contextlib.contextmanager
def make_rig(tmp_path: Path):
    reader = SimulatedReader(cards=[sample_cards()[1]])
    printer = SimulatedCardPrinter(out_dir=tmp_path / "cards", print_seconds=0.05)
    with PtyHost(reader) as rh, PtyHost(printer) as ph:
        base = load_config()
        window = dataclasses.replace(base.windows[2], reader=Device(rh.path, 115200),
                                     card_printer=Device(ph.path, 1_000_000))
        config = dataclasses.replace(base, windows={**base.windows, 2: window},
                                     temporary_card=dataclasses.replace(base.temporary_card, photo_decoder=DECODER))
        clock = fixed_clock(config)
        with open_store(tmp_path / "cabin.sqlite") as store:
            accounts = Accounts(store, clock)
            root = accounts.add("root", "admin", PW)
            for name, role in (("li", "clerk"), ("wang", "supervisor"), ("zhao", "supervisor")):
                accounts.add(name, role, PW, by=root)
            signed = {n: accounts.authenticate(n, PW) for n in ("li", "wang", "zhao", "root")}
        r = Rig(tmp_path, config, clock, reader, printer, signed)
        r.link = link(tmp_path / "cabin.sqlite", config, clock)
        try:
            yield r
        finally:
            r.link.close()


@pytest.fixture
def rig(tmp_path):
    with make_rig(tmp_path) as r:
        yield r


def request_card(rig, by: str = "li") -> str:
    from cabin.drivers.idreader.simphoto import decode
    from cabin.drivers.idreader.simulator import placeholder
    from cabin.kiosk.business.tempcards import Person

    with rig.services() as store:
        Applications(store, rig.config, rig.clock).accept(ADULT, "replacement", by=rig.accounts[by])
        person = Person(ADULT, "陈小明", "1", "01", "福建省厦门市湖里区云顶北路101号", decode(placeholder(b"PHOTO", ADULT)))
        return TempCards(store, rig.config, rig.clock).request(person, by=rig.accounts[by])["receipt"]
