"""The temporary card end to end, as a clerk runs it: the real `cabin` CLI (its main in this process,
a process of its own where it is killed mid-job), the simulated reader and card printer on real
pseudo-terminals, one real SQLite file, then a real PostgreSQL database (each test body on both).

read the card -> main-card application -> temporary-card request -> a supervisor's approval ->
print -> the card the simulator printed is, dot for dot, the face of the citizen's data (taken
from the sample cards, not from Cabin's records); with each printer fault struck mid-job, and
with the printing process killed mid-job, exactly one card in the end; a printer restarted,
reset or swapped under an unconfirmed job (on the same line, `cabin sim card-printer --serial`)
prints nothing until a supervisor has looked in the tray.
"""

from __future__ import annotations

import calendar
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from cabin.config import default_config_path, load_config
from cabin.drivers.cardprinter import SimulatedCardPrinter
from cabin.drivers.cardprinter.panel import to_panel
from cabin.drivers.idreader import SimulatedReader
from cabin.drivers.idreader.record import NATIONS, SEXES
from cabin.drivers.idreader.simphoto import decode
from cabin.drivers.idreader.simulator import placeholder
from cabin.drivers.simhost import PtyHost
from cabin.drivers.fonts import cjk_font
from cabin.kiosk.business.cardface import FaceFields, render

from clikit import CABIN, Run, run_cli

PW = "counter-pass-1"
SAMPLES = json.loads((Path(__file__).resolve().parents[3] / "drivers" / "idreader" / "samples.json").read_text("utf-8"))
CHEN, WANG = SAMPLES[0], SAMPLES[1]   # 陈𠮷 (a name beyond the BMP), 王秀英


@pytest.fixture
def station(tmp_path, any_db):
    """A station whose window 2 has the simulated reader and card printer; accounts li (clerk),
    wang (supervisor); its database a SQLite file, then a PostgreSQL database (any_db). Yields
    run(args, stdin) and the simulators."""
    reader, printer = SimulatedReader(), SimulatedCardPrinter(out_dir=tmp_path / "cards", print_seconds=0.2)
    with PtyHost(reader) as rh, PtyHost(printer) as ph:
        text = default_config_path().read_text(encoding="utf-8")
        text = text.replace('name_en = "ID cards"\n',
                            f'name_en = "ID cards"\nreader = "{rh.path}"\ncard_printer = "{ph.path}"\n', 1)
        decoder = json.dumps([sys.executable, "-m", "cabin.drivers.idreader.simphoto", "{wlt}", "{out}"])
        text = text.replace("# photo_decoder = [", f"photo_decoder = {decoder}\n# photo_decoder = [", 1)
        config = tmp_path / "station.toml"
        config.write_text(text, encoding="utf-8")
        assert load_config(config).windows[2].card_printer.url == ph.path
        env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
        env.update(CABIN_DB=any_db, CABIN_CONFIG=str(config),
                   XDG_DATA_HOME=str(tmp_path / "xdg"))

        def run(*args: str, stdin: str = f"{PW}\n", ok: bool = True) -> Run:  # in this process
            r = run_cli(args, stdin, env=env)
            if ok:
                assert r.returncode == 0, (args, r.stderr[:600])
            return r

        def start(*args: str) -> subprocess.Popen:  # a process, to be killed
            p = subprocess.Popen([*CABIN, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, text=True)
            p.stdin.write(f"{PW}\n")
            p.stdin.close()
            return p

        from cabin.kiosk.business.accounts import Accounts
        from cabin.kiosk.station import open_store

        with open_store(any_db) as store:  # (the CLI's own tests add users)
            accounts = Accounts(store)
            root = accounts.add("root", "admin", PW)
            accounts.add("li", "clerk", PW, by=root)
            accounts.add("wang", "supervisor", PW, by=root)
        run.start, run.reader, run.printer, run.db, run.config = start, reader, printer, any_db, config
        run.printer_url, run.host = ph.path, ph
        yield run


def expected_face(sample: dict, issued: date) -> FaceFields:
    """The face as the card's own data says it should be; the dates by hand: three months on."""
    month0 = issued.month - 1 + 3
    y, m = issued.year + month0 // 12, month0 % 12 + 1
    until = date(y, m, min(issued.day, calendar.monthrange(y, m)[1]))
    return FaceFields(sample["name"], SEXES[sample["sex"]], NATIONS[sample["nation_code"]],
                      date.fromisoformat(sample["birth"]), sample["address"], sample["id_number"], issued, until,
                      load_config().temporary_card.authority, decode(placeholder(b"PHOTO", sample["id_number"])))


def request_from_the_reader(run, sample: dict) -> str:
    run("application", "accept", sample["id_number"], "--kind", "replacement", "--as", "li")
    r = json.loads(run("tempcard", "request", "--read-card", "--window", "2", "--as", "li", "--json").stdout)
    assert r["number"] == sample["id_number"][:6] + "********" + sample["id_number"][-4:]
    assert r["basis"] == "application" and r["photo_source"] == "reader"
    approved = json.loads(run("tempcard", "approve", r["receipt"], "--as", "wang", "--json").stdout)
    assert approved["state"] == "approved"
    return r["receipt"]


def test_read_card_to_printed_card(station):
    run = station
    font = cjk_font()  # the packaged font: fontconfig finds none in the suite (conftest)
    # the first sample card: 陈𠮷. No font here has 𠮷: the card is refused, not printed with a box
    chen = request_from_the_reader(run, CHEN)
    r = run("tempcard", "print", chen, "--window", "2", "--as", "li", ok=False)
    assert r.returncode == 1 and "no glyph for 𠮷 (U+20BB7)" in r.stderr
    assert run.printer.printed == [] and "Ss" not in run.printer.received
    run("tempcard", "void", chen, "--reason", "no font for the name: sent to the branch", "--as", "li")

    run.reader.next_card()  # 陈𠮷 takes the card back; 王秀英, next, puts hers on the reader
    wang = request_from_the_reader(run, WANG)
    r = run("tempcard", "print", wang, "--window", "2", "--as", "li", "--json")
    printed = json.loads(r.stdout)
    issued = date.fromisoformat(printed["valid_from"])
    assert (printed["state"], printed["cards_printed"], printed["resumed"]) == ("printed", 1, False)
    assert len(run.printer.printed) == 1
    png = run.printer.printed[0].path
    assert png.exists() and png.name == "card-0001.png"
    with Image.open(png) as card:
        assert to_panel(card) == to_panel(render(expected_face(WANG, issued), font.path, font.index))

    shown = json.loads(run("reveal", "tempcard", wang, "--reason", "the citizen checks the card", "--as", "li",
                           "--json").stdout)
    assert shown["name"] == "王秀英" and shown["address"] == WANG["address"]
    log = run("audit", "show", "--limit", "30", "--json", "--as", "wang").stdout
    assert '"tempcard.print"' in log and '"reveal"' in log
    assert run("audit", "verify").returncode == 0


MID_JOB = ["cover_open@Sr", "feeder_empty@Pmi", "ribbon_out@Se", "hopper_full@Se", "jam_mid_job@Se", "nack@Dbc",
           "silence@Dbc", "silence@Se", "power_cycle@Se", "power_cycle_eject@Se"]


def prepared(run, sample: dict) -> str:
    """Application, request and approval through the service layer (the CLI is the print)."""
    from cabin.config import load_config as load
    from cabin.kiosk.business.accounts import Accounts
    from cabin.kiosk.business.applications import Applications
    from cabin.kiosk.station import open_store
    from cabin.kiosk.business.tempcards import Person, TempCards

    config = load(run.config)
    with open_store(run.db) as store:
        accounts = Accounts(store)
        li, wang = accounts.authenticate("li", PW), accounts.authenticate("wang", PW)
        Applications(store, config).accept(sample["id_number"], "replacement", by=li)
        cards = TempCards(store, config)
        person = Person(sample["id_number"], sample["name"], sample["sex"], sample["nation_code"], sample["address"],
                        decode(placeholder(b"PHOTO", sample["id_number"])))
        receipt = cards.request(person, by=li)["receipt"]
        cards.approve(receipt, by=wang)
    return receipt


@pytest.mark.parametrize("fault", MID_JOB)
def test_each_printer_fault_mid_job_ends_in_one_card(station, fault):
    run = station
    receipt = prepared(run, WANG)
    kind, _, at = fault.partition("@")
    run.printer.inject(kind, at)
    r = run("tempcard", "print", receipt, "--printer", run.printer_url, "--baud", "1000000", "--timeout", "2",
            "--as", "li", "--json", ok=False)
    assert r.returncode == 4, r.stderr
    error = json.loads(r.stdout)["error"]
    assert "the card printer failed" in error and "never printed twice" in error
    assert json.loads(run("tempcard", "show", receipt, "--json").stdout)["state"] == "approved"
    run.printer.clear()                                     # the clerk fixes the printer, prints again
    # (the job's time, --timeout 2, is up by now: a card that did not come out is not still inside)
    again = json.loads(run("tempcard", "print", receipt, "--window", "2", "--timeout", "2", "--as", "li",
                           "--json").stdout)
    assert (again["state"], again["cards_printed"]) == ("printed", 1)
    assert again["resumed"] is (fault == "silence@Se")
    assert len(run.printer.printed) == 1
    spoiled = fault in ("jam_mid_job@Se", "power_cycle@Se", "power_cycle_eject@Se")  # left the feeder
    assert again["cards_spoiled"] == spoiled and run.printer.counter == 1 + spoiled   # counted once


@pytest.mark.parametrize("when", ["Dbc", "Se"])
def test_the_printing_process_killed_mid_job(station, when):
    """kill -9 once the panel is sent (before Se), or while the card is being printed: one card."""
    run = station
    receipt = prepared(run, WANG)
    run.printer.print_seconds = 1.5
    proc = run.start("tempcard", "print", receipt, "--window", "2", "--as", "li")
    deadline = time.monotonic() + 60
    while when not in run.printer.received:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2.1)    # the printer finishes what it was doing, and the job's time (--timeout 2) is up
    card_came_out = run.printer.counter == 1                # Se had gone out before the kill
    run.printer.print_seconds = 0.0
    r = json.loads(run("tempcard", "print", receipt, "--window", "2", "--timeout", "2", "--as", "li",
                       "--json").stdout)
    assert (r["state"], r["cards_printed"]) == ("printed", 1)
    assert len(run.printer.printed) == 1
    assert r["resumed"] is card_came_out
    log = run("audit", "show", "--limit", "10", "--json", "--as", "wang").stdout
    assert ('"tempcard.not_printed"' in log) is (not card_came_out)   # the "nothing came out" path ran
    if when == "Se":
        assert card_came_out


def audit_entries(run, action: str) -> list[dict]:
    log = json.loads(run("audit", "show", "--limit", "50", "--json", "--as", "wang").stdout)
    return [e for e in log["entries"] if e["action"] == action]


@pytest.mark.parametrize("tray", ["--printed", "--not-printed"])
@pytest.mark.parametrize("restart", ["restarted", "reset"])
def test_killed_after_the_card_came_out_then_the_printer_restarted(station, tmp_path, restart, tray):
    """Issue 12's case: Se's answer silenced, the print killed -9 once the card is out, the printer
    restarted (its counter back to 0), print again: nothing more comes out until a supervisor has
    looked in the output tray, and then one card only when the tray was empty."""
    run = station
    receipt = prepared(run, WANG)
    first = run.printer
    first.counter = first.panels = 1                        # it had printed a card before
    first.inject("silence", "Se")
    proc = run.start("tempcard", "print", receipt, "--window", "2", "--as", "li")
    deadline = time.monotonic() + 60
    while first.counter < 2:                                # the card is out; its answer never comes
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the printer starts again on the same line, its counter at 0: a simulator keeps nothing, so it
    # is another printer to Cabin (a new serial number); "reset" keeps the serial number
    again = SimulatedCardPrinter(out_dir=tmp_path / "after", serial=first.serial if restart == "reset" else None)
    run.host.device = again
    r = run("tempcard", "print", receipt, "--window", "2", "--timeout", "2", "--as", "li", ok=False)
    assert r.returncode == 1 and r.stderr.startswith("cabin: whether") and r.stderr.count("\n") == 1
    assert (f"cards inserted 1, panels printed 1, serial number {first.serial}; now: cards inserted 0, panels printed"
            f" 0, serial number {again.serial}. Nothing more is printed on it until a supervisor has looked in its"
            " output tray") in r.stderr
    assert ("a counter went back" if restart == "reset" else "another printer") in r.stderr
    assert again.printed == [] and "Pem" not in again.received
    [entry] = audit_entries(run, "tempcard.print_held")
    assert (entry["actor"], entry["subject"]) == ("li", receipt)
    assert {k: entry["detail"][k] for k in ("cards_before", "cards_now", "panels_before", "panels_now", "serial_before",
                                            "serial_now")} == \
        {"cards_before": 1, "cards_now": 0, "panels_before": 1, "panels_now": 0, "serial_before": first.serial,
         "serial_now": again.serial}
    assert audit_entries(run, "tempcard.not_printed") == []   # the "not_printed {counter: 0}" is gone

    run("tempcard", "settle", receipt, tray, "--reason", "looked in the output tray", "--as", "wang")
    r = run("tempcard", "print", receipt, "--window", "2", "--timeout", "2", "--as", "li", "--json",
            ok=tray == "--not-printed")
    shown = json.loads(run("tempcard", "show", receipt, "--json").stdout)
    assert (shown["state"], shown["cards_printed"]) == ("printed", 1)
    if tray == "--printed":
        assert r.returncode == 1 and "already printed" in json.loads(r.stdout)["error"]
        assert again.printed == []
    else:
        assert json.loads(r.stdout)["resumed"] is False and len(again.printed) == 1
    assert len(first.printed) == 1
    assert run("audit", "verify").returncode == 0


class SimProcess:
    """`cabin sim card-printer` in its own process, on a TCP port given (so one started after it
    answers on the same line); its first line says where it listens."""

    def __init__(self, port: int, *args: str):
        self.proc = subprocess.Popen([*CABIN, "sim", "card-printer", "--tcp", f"127.0.0.1:{port}", *args,
                                      "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_spare_printer_swapped_in_on_the_same_line(station, tmp_path):
    """Two `cabin sim card-printer` processes one after the other on one TCP port, serial numbers
    EV-A and EV-B, both at counter 0: the counter looks unmoved, the serial number tells."""
    run = station
    receipt = prepared(run, WANG)
    port = free_port()
    url = f"socket://127.0.0.1:{port}"
    first = SimProcess(port, "--serial", "EV-A", "--fault", "silence@Se", "--out", str(tmp_path / "a"))
    try:
        assert first.info["serial"] == "EV-A" and first.info["url"] == url
        r = run("tempcard", "print", receipt, "--printer", url, "--timeout", "2", "--as", "li", ok=False)
        assert r.returncode == 4, r.stderr                  # Se's answer lost; the card came out
        assert [p.name for p in (tmp_path / "a").iterdir()] == ["card-0001.png"]
    finally:
        first.stop()
    spare = SimProcess(port, "--serial", "EV-B", "--out", str(tmp_path / "b"))
    try:
        r = run("tempcard", "print", receipt, "--printer", url, "--timeout", "2", "--as", "li", "--json", ok=False)
        assert r.returncode == 1
        error = json.loads(r.stdout)["error"]
        assert "another printer" in error and "is " + receipt + "'s card there?" in error
        assert ("cards inserted 0, panels printed 0, serial number EV-A; now: cards inserted 0, panels printed 0,"
                " serial number EV-B") in error
        assert not (tmp_path / "b").exists()                # nothing printed on the spare
        [entry] = audit_entries(run, "tempcard.print_held")
        assert entry["detail"]["printer"] == url and entry["detail"]["why"] == "other_printer"
        run("tempcard", "settle", receipt, "--printed", "--reason", "the card was in EV-A's tray", "--as", "wang")
        r = run("tempcard", "print", receipt, "--printer", url, "--timeout", "2", "--as", "li", ok=False)
        assert r.returncode == 1 and "already printed" in r.stderr
        assert not (tmp_path / "b").exists()
    finally:
        spare.stop()
    assert json.loads(run("tempcard", "show", receipt, "--json").stdout)["cards_printed"] == 1


def test_sim_serial_is_the_card_printers_only(station):
    r = station("sim", "reader", "--serial", "X", ok=False)
    assert r.returncode == 1 and "--serial is the card printer's serial number" in r.stderr
    r = station("sim", "card-printer", "--serial", "序列号", ok=False)
    assert r.returncode == 1 and "cannot start the card-printer simulator" in r.stderr
