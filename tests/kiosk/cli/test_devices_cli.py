"""`cabin sim` and `cabin devices`: real simulator processes on real pseudo-terminals; the commands
that talk to them in this process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from cabin.config import default_config_path

from clikit import CABIN, run_cli


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), CABIN_DB=str(tmp_path / "c.sqlite"))


def cabin(env, *args):
    """A command in this process (tests/clikit.py)."""
    return run_cli(args, env=env)


def cabin_process(env, *args, timeout=60):
    """A simulator that must refuse to start: in a process, so one that served instead would
    end at the timeout rather than hold the test forever."""
    return subprocess.run([*CABIN, *args], capture_output=True, text=True, env=env, timeout=timeout)


class Sim:
    """`cabin sim ...` running in the background; its first line says where it listens."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen([*CABIN, "sim", *args, "--json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)
        self.url = self.info["url"]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


@pytest.fixture
def sims():
    started: list[Sim] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def test_sim_reader_and_read_id(env, tmp_path, sims):
    sims.append(sim := Sim(env, "reader", "--link", str(tmp_path / "reader")))
    assert sim.url == str(tmp_path / "reader") and os.path.islink(sim.url)
    r = cabin(env, "devices", "read-id", "--reader", sim.url, "--json")
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout)
    assert card["id_number"].count("*") == 8 and card["name"].endswith("*")  # masked
    assert card["address"] == "" and card["photo_bytes"] == 1024
    assert card["birth"] is None  # it would unmask the ID number's digits 7 to 14
    assert sim.stop() == 0
    assert not os.path.lexists(tmp_path / "reader")  # the link is removed on the way out


def test_read_id_faults_are_one_clear_line(env, tmp_path, sims):
    sims.append(sim := Sim(env, "reader", "--link", str(tmp_path / "r"), "--fault", "no_card"))
    r = cabin(env, "devices", "read-id", "--reader", sim.url, "--timeout", "1")
    assert r.returncode == 1 and r.stderr.startswith("cabin: ") and r.stderr.count("\n") == 1
    assert "card" in r.stderr.lower() and "Traceback" not in r.stderr
    r = cabin(env, "devices", "read-id", "--reader", str(tmp_path / "nothing-here"), "--timeout", "1")
    assert r.returncode == 1 and "cannot open the ID-card reader" in r.stderr


def test_sim_refuses_an_unknown_fault(env):
    r = cabin_process(env, "sim", "reader", "--fault", "gremlins")
    assert r.returncode == 1 and 'unknown fault "gremlins"' in r.stderr and "no_card" in r.stderr


def test_sim_over_tcp(env, sims):
    sims.append(sim := Sim(env, "reader", "--tcp", "127.0.0.1:0"))
    assert sim.url.startswith("socket://127.0.0.1:")
    r = cabin(env, "devices", "read-id", "--reader", sim.url, "--json")
    assert r.returncode == 0, r.stderr


def test_devices_list_and_selftest(env, tmp_path, sims):
    sims.append(sim := Sim(env, "reader", "--link", str(tmp_path / "reader2")))
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('name_en = "ID cards"\n', f'name_en = "ID cards"\nreader = "{sim.url}"\n', 1)
    config = tmp_path / "station.toml"
    config.write_text(text, encoding="utf-8")
    env = dict(env, CABIN_CONFIG=str(config))
    r = cabin(env, "devices", "list", "--json")
    assert r.returncode == 0, r.stderr
    [device] = json.loads(r.stdout)["devices"]
    assert device["role"] == "reader" and device["where"] == "window 2" and device["status"] == "ready"
    assert cabin(env, "devices", "selftest").returncode == 0
    sim.stop()
    r = cabin(env, "devices", "selftest")
    assert r.returncode == 1 and "window 2 reader" in r.stderr and r.stderr.count("\n") == 1
    assert "fault" in r.stdout


def station_with_printer(tmp_path, url: str) -> Path:
    text = default_config_path().read_text(encoding="utf-8")
    config = tmp_path / "printer.toml"
    config.write_text(text + f'\n[dispenser]\nticket_printer = {{ url = "{url}", baud = 9600 }}\n', encoding="utf-8")
    return config


def test_issue_prints_the_ticket_and_its_code_verifies(env, tmp_path, sims):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    out = tmp_path / "png"
    sims.append(Sim(env, "ticket-printer", "--link", str(tmp_path / "tp"), "--baud", "9600", "--out", str(out)))
    env = dict(env, CABIN_CONFIG=str(station_with_printer(tmp_path, str(tmp_path / "tp"))))
    r = cabin(env, "ticket", "issue", "id.temporary", "ee.passport", "--json")
    assert r.returncode == 0, r.stderr
    issued = json.loads(r.stdout)
    assert issued["printed"] is True and issued["bytes"] <= 600
    [png] = sorted(out.glob("*.png"))
    [code] = zxingcpp.read_barcodes(Image.open(png))
    assert code.text == issued["token"]
    r = cabin(env, "ticket", "verify", code.text, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ticket"] == issued["ticket"]
    r = cabin(env, "ticket", "reprint", issued["ticket"])
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.png"))) == 2


def test_a_failed_print_still_issues_the_ticket(env, tmp_path, sims):
    sims.append(sim := Sim(env, "ticket-printer", "--link", str(tmp_path / "tp"), "--fault", "paper_out"))
    env = dict(env, CABIN_CONFIG=str(station_with_printer(tmp_path, sim.url)))
    r = cabin(env, "ticket", "issue", "id.apply", "--json")
    assert r.returncode == 4, r.stderr  # done, but the device failed
    issued = json.loads(r.stdout)
    assert issued["ticket"] == "A001" and issued["printed"] is False and "paper" in issued["print_error"]
    assert r.stderr.count("\n") == 1 and "cabin ticket reprint A001" in r.stderr
    assert json.loads(cabin(env, "ticket", "show", "A001", "--json").stdout)["state"] == "open"
    r = cabin(env, "ticket", "reprint", "A001")
    assert r.returncode == 1 and "not printed" in r.stderr and "paper" in r.stderr
    sim.stop()
    r = cabin(env, "ticket", "issue", "id.apply", "--json")  # the printer is gone altogether
    assert r.returncode == 4 and json.loads(r.stdout)["ticket"] == "A002"
    r = cabin(dict(env, CABIN_CONFIG=str(default_config_path())), "ticket", "reprint", "A001")
    assert r.returncode == 1 and "no ticket printer is configured" in r.stderr


# -- control lines: faults and cards changed while the simulator runs ---------------------------------------
def say(path, *lines: str) -> list[str]:
    """Send control lines on one connection; the one-line answers."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall("".join(f"{line}\n" for line in lines).encode("utf-8"))
        data = b""
        while data.count(b"\n") < len(lines):
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk
    return data.decode("utf-8").splitlines()


def test_reader_card_removed_mid_poll_and_put_back_through_the_control_socket(env, tmp_path, sims):
    import threading

    from cabin.drivers.idreader import IdCardReader

    control = tmp_path / "ctl"
    sims.append(sim := Sim(env, "reader", "--link", str(tmp_path / "r"), "--control", str(control)))
    assert sim.info["control"] == str(control)
    assert say(control, "remove card") == ["ok no card on the reader"]
    with IdCardReader(sim.url, poll=0.05) as reader:
        got = []
        poll = threading.Thread(target=lambda: got.append(reader.read_card(timeout=20)))
        poll.start()  # polling "find card": the reader answers 80, no card
        poll.join(0.5)
        assert poll.is_alive() and not got
        assert say(control, "insert card 2") == ["ok card 2 of 5 on the reader (resident)"]
        poll.join(10)
        assert got[0].name == "王秀英"
        assert reader.read_card(timeout=2) == got[0]  # it stays until it leaves the field
        assert say(control, "fault no_card on", "faults", "insert card 3") == [
            "ok fault no_card on", "ok faults: no_card", "error: card 2 is on the reader: remove card first"]
        assert not reader.find_card()
        assert say(control, "fault no_card off", "next card", "fault gremlins on", "") == [
            "ok fault no_card off", "ok card 3 of 5 on the reader (J)",
            "error: unknown fault 'gremlins': one of no_card, card_removed, bad_checksum, truncated_frame,"
            " garbage_before_header, silence, sam_failure",
            "error: empty line: send a command, e.g. help"]
        assert reader.read_card(timeout=2).card_type.value == "J"
    assert sim.stop() == 0
    assert not os.path.lexists(control)  # the socket goes with the simulator


def test_sim_control_path_that_is_not_a_socket_is_refused(env, tmp_path):
    (tmp_path / "notes").write_text("keep me")
    r = cabin_process(env, "sim", "reader", "--control", str(tmp_path / "notes"))
    assert r.returncode == 1 and r.stderr.startswith("cabin: cannot start the reader simulator: ")
    assert "is not a socket" in r.stderr and (tmp_path / "notes").read_text() == "keep me"


def test_sim_help_lists_every_fault_and_control_line(env):
    from cabin.drivers.cardprinter import FAULTS as CARD
    from cabin.drivers.idreader import FAULTS as READER
    from cabin.drivers.ticketprinter import FAULTS as TICKET

    text = cabin(env, "sim", "--help").stdout
    assert "KIND@COMMAND" in text and "--control PATH" in text
    for kind in (*READER, *CARD, *TICKET):
        assert kind in text
    assert "fault KIND on|off" in text and "remove card; insert card [N]; next card" in text
