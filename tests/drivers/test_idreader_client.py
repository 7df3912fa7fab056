"""An independent SAM-reader client, written from domain.md 7.1 alone, against `cabin sim reader`
over a pseudo-terminal and over TCP: proof that code Cabin did not write can use the simulator.

It imports nothing from cabin.drivers (the last test checks): it builds its own frames and XOR
checksums, sends `60 FF 00` and `61 FF 50` first as public clients do, then polls find / select /
read and parses the 1295-byte reply's text block (UCS-2LE) at the documented offsets.
"""

from __future__ import annotations

import socket
import time
from functools import reduce
from pathlib import Path

import serial  # pyserial, as public clients use it

from simprocess import reads_of, start_sim, tcp_address

HEADER = bytes.fromhex("AA AA AA 96 69")


def xor(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def request(cmd: int, para: int, data: bytes = b"") -> bytes:
    body = bytes([cmd, para]) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return HEADER + length + body + bytes([xor(length + body)])


class SamClient:
    """A minimal client: write a request, read one whole response, check it."""

    def __init__(self, write, read):
        self.write, self.read = write, read

    def ask(self, cmd: int, para: int, data: bytes = b"", timeout: float = 3.0) -> tuple[int, bytes, bytes]:
        self.write(request(cmd, para, data))
        raw = self._frame(time.monotonic() + timeout)
        length = int.from_bytes(raw[5:7], "big")
        assert len(raw) == 7 + length and xor(raw[5:-1]) == raw[-1], raw.hex()
        return raw[9], raw[10:-1], raw  # SW3, data, the whole frame

    def _frame(self, deadline: float) -> bytes:
        buf = b""
        while time.monotonic() < deadline:
            buf += self.read()
            start = buf.find(HEADER)
            if start >= 0 and len(buf) >= start + 7:
                end = start + 7 + int.from_bytes(buf[start + 5:start + 7], "big")
                if len(buf) >= end:
                    assert buf[end:] == b"", "more than one response"
                    return buf[start:end]
        raise AssertionError(f"no whole response: {buf.hex()}")

    def read_card(self) -> tuple[dict, bytes]:
        assert self.ask(0x60, 0xFF, b"\x00")[0] == 0x90  # 115200
        assert self.ask(0x61, 0xFF, b"\x50")[0] == 0x90  # radio frame size
        for _ in range(100):
            if self.ask(0x20, 0x01)[0] == 0x9F:
                break
            time.sleep(0.05)
        sw3, serial_no, _ = self.ask(0x20, 0x02)
        assert sw3 == 0x90 and len(serial_no) == 8
        sw3, _, frame = self.ask(0x30, 0x01)
        assert sw3 == 0x90 and len(frame) == 1295 and frame[5:7] == b"\x05\x08"
        assert frame[10:12] == b"\x01\x00" and frame[12:14] == b"\x04\x00"  # text 256, photo 1024
        return parse_text(frame[14:270]), frame[270:1294]


def field(text: bytes, offset: int, size: int) -> str:
    return text[offset:offset + size].decode("utf-16-le").strip(" \0")


def parse_text(text: bytes) -> dict:
    assert field(text, 248, 2) == ""  # the samples' first card: a resident card
    return {"name": field(text, 0, 30), "sex": field(text, 30, 2), "nation": field(text, 32, 4),
            "birth": field(text, 36, 16), "address": field(text, 52, 70), "id": field(text, 122, 36),
            "authority": field(text, 158, 30), "from": field(text, 188, 16), "to": field(text, 204, 16)}


CHEN = {"name": "陈𠮷", "sex": "1", "nation": "01", "birth": "19850312", "address": "福建省厦门市湖里区金山街道云顶北路101号",
        "id": "350206198503120019", "authority": "厦门市公安局湖里分局", "from": "20150601", "to": "20350601"}


def cabin_sim(tmp_path, *args: str):
    return start_sim(tmp_path, "reader", *args)


def test_over_a_pseudo_terminal(tmp_path, procs):
    proc, info = cabin_sim(tmp_path, "--link", str(tmp_path / "reader"))
    procs.append(proc)
    with serial.Serial(info["url"], 115200, timeout=0.05) as port:
        client = SamClient(port.write, lambda: port.read(4096))
        started = time.monotonic()
        text, photo = client.read_card()
        assert time.monotonic() - started >= 0.5  # the radio exchange a real reader takes
        assert text == CHEN and len(photo) == 1024
        # the card stays: the same read again, and 30 03 answers "no content" (nothing written after issue)
        assert client.ask(0x30, 0x01)[2][14:270] == client.ask(0x30, 0x01)[2][14:270]
        assert client.ask(0x30, 0x03)[0] == 0x91
        # half a request, then silence: the reader drops it, and the next request gets one response
        port.write(request(0x20, 0x01)[:8])
        time.sleep(0.4)
        assert client.ask(0x11, 0xFF)[0] == 0x90


def test_over_tcp(tmp_path, procs):
    proc, info = cabin_sim(tmp_path, "--tcp", "127.0.0.1:0")
    procs.append(proc)
    with socket.create_connection(tcp_address(info), timeout=5) as s:
        client = SamClient(s.sendall, reads_of(s))
        text, _ = client.read_card()
        assert text == CHEN
        sw3, sam_id, _ = client.ask(0x12, 0xFF)
        assert sw3 == 0x90 and len(sam_id) == 16
        assert client.ask(0x99, 0x01)[0] == 0x21  # an unknown command: command error


def test_this_client_imports_nothing_from_cabin_drivers():
    source = Path(__file__).read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports and not any("cabin" in line for line in imports)
