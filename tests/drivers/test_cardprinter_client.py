"""An independent Evolis client, written from domain.md 7.2 alone, against `cabin sim card-printer`
over a pseudo-terminal and over TCP: proof that code Cabin did not write can print on the
simulator and read its status.

It imports nothing from cabin.drivers (the last test checks): it builds its own commands
(`ESC <command>;<p1>;...;<pn> CR`), its own K panel (648 dots = 81 bytes a line, 1016 lines) and
its own line compression (`00` white line, `FF` black line, else N and the line's first N
bytes), switches ACK/NACK on with `Pem;4`, prints one monochrome card with both `Dbc` forms,
queries the status as integrators do, and opens the cover in the middle of a job through the
simulator's control socket.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import serial  # pyserial, as public clients use it

from simprocess import reads_of, start_sim, tcp_address
from PIL import Image

ESC, CR, ACK, NACK = b"\x1b", b"\r", 0x06, 0x15
LINE, LINES = 81, 1016


def cmd(*fields: str | int, data: bytes = b"") -> bytes:
    return ESC + ";".join(map(str, fields)).encode("ascii") + (b";" + data if data else b"") + CR


def compress(panel: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(panel), LINE):
        line = panel[i:i + LINE]
        if line == bytes(LINE):
            out.append(0x00)
        elif line == b"\xff" * LINE:
            out.append(0xFF)
        else:
            kept = line.rstrip(b"\x00")
            out += bytes([len(kept)]) + kept
    return bytes(out)


def test_panel() -> bytes:
    """White margin, a black band, a ramp of dots, a checker block: every kind of line."""
    lines = []
    for y in range(LINES):
        if y < 20 or y >= 1000:
            lines.append(bytes(LINE))
        elif y < 60:
            lines.append(b"\xff" * LINE)
        elif y < 400:
            lines.append(bytes([0x80 >> (y % 8)]) * (y % LINE) + bytes(LINE - y % LINE))
        else:
            lines.append((b"\xaa\x55" if y % 2 else b"\x55\xaa") * 20 + bytes(LINE - 40))
    return b"".join(lines)


test_panel.__test__ = False  # a helper, not a test


class Evolis:
    """Send a command, read one answer: ACK, NACK + code, or a text up to CR."""

    def __init__(self, write, read):
        self.write, self.read, self.buf = write, read, b""

    def _byte(self, deadline: float) -> int:
        while not self.buf:
            if time.monotonic() > deadline:
                raise AssertionError("no answer")
            self.buf = self.read()
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def ask(self, command: bytes, timeout: float = 5.0) -> str:
        self.write(command)
        deadline = time.monotonic() + timeout
        first = self._byte(deadline)
        if first == ACK:
            return "ACK"
        if first == NACK:
            return "NACK " + chr(self._byte(deadline))
        text = bytes([first])
        while not text.endswith(CR):
            text += bytes([self._byte(deadline)])
        return text[:-1].decode("ascii")

    def status(self) -> dict:
        return {q: self.ask(cmd(*q.split(";"))) for q in
                ("Rlr;p", "Rse;o", "Rse;f", "Sk;f", "Rcr", "Rlr;c", "Rco;p", "Rco;c", "Rfv", "Rtp", "Rsn")}

    def print_card(self, panel: bytes) -> list[str]:
        top, rest = compress(panel[:500 * LINE]), compress(panel[500 * LINE:])
        assert top[:1] == b"\x00"   # a white first line: the short form cannot be misread
        return [self.ask(c) for c in (
            cmd("Pem", 4), cmd("Pr", "k"), cmd("Pmi", "F", "s"), cmd("Ss"), cmd("Sr"),
            cmd("Dbc", "k", 2, len(top), data=top),                    # from the first line
            cmd("Dbc", "k", 2, 500, len(rest), data=rest),             # from line 500
            cmd("Se"))]


def cabin_sim(tmp_path, *args: str):
    return start_sim(tmp_path, "card-printer", *args, "--serial", "EV-CLIENT", "--out", str(tmp_path / "cards"))


def control(path: Path, line: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        return s.makefile("r", encoding="utf-8").readline().strip()


def printed_panel(path: Path) -> bytes:
    with Image.open(path) as png:     # black where a dot printed; mode "1" packs white as 1
        assert png.size == (648, 1016)
        return bytes(255 - b for b in png.convert("1").tobytes())


def session(client: Evolis, tmp_path: Path, ctl: Path) -> None:
    before = client.status()
    assert before == {"Rlr;p": "OK", "Rse;o": "CLOSED", "Rse;f": "CARDS", "Sk;f": "0", "Rcr": before["Rcr"],
                      "Rlr;c": "OK", "Rco;p": "0", "Rco;c": "0", "Rfv": before["Rfv"], "Rtp": before["Rtp"],
                      "Rsn": "EV-CLIENT"}
    assert client.ask(cmd("Rst")) == "NACK 1"           # not in the guide
    assert client.ask(cmd("Rco", "x")) == "NACK 2"
    panel = test_panel()
    assert client.print_card(panel) == ["ACK"] * 8
    after = client.status()
    assert (after["Rco;c"], after["Rco;p"], after["Rlr;p"]) == ("1", "1", "OK")
    assert printed_panel(tmp_path / "cards" / "card-0001.png") == panel
    # the old form without the resolution: refused, and nothing printed for it
    for c in (cmd("Pem", 4), cmd("Pr", "k"), cmd("Pmi", "F", "s"), cmd("Ss"), cmd("Sr")):
        assert client.ask(c) == "ACK"
    assert client.ask(cmd("Dbc", "k", 0, 3, data=b"\x00\xff\x00")) == "NACK 2"
    assert client.ask(cmd("Se")) == "NACK 1" and client.status()["Rco;c"] == "1"
    # the cover opened in the middle of a job, then closed: the job is refused, no card leaves
    for c in (cmd("Pem", 4), cmd("Pr", "k"), cmd("Pmi", "F", "s"), cmd("Ss"), cmd("Sr")):
        assert client.ask(c) == "ACK"
    assert control(ctl, "cover open").startswith("ok")
    assert client.ask(cmd("Rse", "o")) == "OPEN"
    assert client.ask(cmd("Dbc", "k", 2, 1, data=b"\xff")) == "NACK C"
    assert control(ctl, "cover close").startswith("ok")
    assert client.ask(cmd("Se")) == "NACK 1"             # the sequence ended with the NACK
    assert (client.ask(cmd("Rco", "c")), client.ask(cmd("Rco", "p"))) == ("1", "1")
    assert client.print_card(panel) == ["ACK"] * 8       # sent again: one more card
    assert client.ask(cmd("Rco", "c")) == "2" and printed_panel(tmp_path / "cards" / "card-0002.png") == panel


def test_over_a_pseudo_terminal(tmp_path, procs):
    ctl = tmp_path / "card.ctl"
    proc, info = cabin_sim(tmp_path, "--link", str(tmp_path / "printer"), "--control", str(ctl))
    procs.append(proc)
    with serial.Serial(info["url"], 115200, timeout=0.05) as port:
        session(Evolis(port.write, lambda: port.read(4096)), tmp_path, ctl)


def test_over_tcp(tmp_path, procs):
    ctl = tmp_path / "card.ctl"
    proc, info = cabin_sim(tmp_path, "--tcp", "127.0.0.1:0", "--control", str(ctl))
    procs.append(proc)
    with socket.create_connection(tcp_address(info), timeout=5) as s:
        session(Evolis(s.sendall, reads_of(s)), tmp_path, ctl)


def test_this_client_imports_nothing_from_cabin_drivers():
    source = Path(__file__).read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports and not any("cabin" in line for line in imports)
