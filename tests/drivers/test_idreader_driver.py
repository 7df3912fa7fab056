"""The ID-card reader driver against the simulator over real pseudo-terminals (and once over TCP):
every sample card, the SAM commands, one test per fault kind showing the clerk's error and that
no read was completed, faults switched at run time."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time

import pytest

from cabin.drivers import simhost
from cabin.drivers.errors import DeviceError, DeviceTimeout, ProtocolError
from cabin.drivers.idreader import (FAULTS, CardReadFailed, CardRemoved, CardType, GarbledReply, IdCardReader, NoCard,
                                    ReaderNotAnswering, SamFailure, SimulatedReader, TruncatedReply, sample_cards)
from cabin.drivers.idreader import codec
from cabin.drivers.idreader.errors import ReaderRefused

TIMEOUT = 0.3  # per reply; the simulator answers at once


@pytest.fixture
def sim():
    return SimulatedReader()


@pytest.fixture
def reader(sim):
    with simhost.PtyHost(sim) as host, IdCardReader(host.path, timeout=TIMEOUT, poll=0.02) as r:
        yield r


def finds(sim) -> int:
    return sim.requests.count(codec.FIND_CARD_CMD)


def test_reads_every_sample_card(reader, sim):
    expected = sample_cards()
    first = reader.read_card(timeout=1, fingerprint=True)
    assert first == expected[0] and first.name == "陈𠮷" and first.has_fingerprint
    rest = []
    for _ in expected[1:]:
        sim.next_card()  # the citizen takes the card back, the next one puts theirs down
        rest.append(reader.read_card(timeout=1))
    assert [c.card_type for c in rest] == [CardType.RESIDENT, CardType.J, CardType.I, CardType.Y]
    assert [c.id_number for c in rest] == [c.id_number for c in expected[1:]]
    assert rest[0].long_term and rest[3].name_en == "GARCIA FERNANDEZ DE LA TORRE, MARIA ISABEL"
    assert all(len(c.photo) == 1024 and not c.has_fingerprint for c in rest)
    assert sim.reads == 5 and sim.requests[:3] == [codec.FIND_CARD_CMD, codec.SELECT_CARD_CMD, codec.READ_FINGERPRINT_CMD]


def test_sam_commands_and_new_address(reader, sim):
    reader.reset_sam()
    assert reader.sam_status() is None
    assert reader.sam_id() == "05.01-20110511-0123456789-1234567890"
    assert reader.find_card() and len(reader.select_card()) == 8
    assert reader.read_new_address() is None  # "no content": nothing written on the card after issue
    sim.next_card()  # 王秀英 has moved: a new address is written on her card
    assert reader.find_card() and len(reader.select_card()) == 8
    assert reader.read_new_address() == "福建省厦门市思明区鹭江道8号之一"


def test_the_card_stays_until_it_leaves_the_field(reader, sim):
    first = reader.read_card(timeout=1)
    assert reader.read_card(timeout=1) == first          # read again: the same card
    assert reader.read_base_info() == first              # a second 30 01 without find or select
    assert reader.read_new_address() is None and reader.read_base_info() == first
    assert sim.reads == 4
    sim.remove_card()
    with pytest.raises(NoCard):
        reader.read_card(timeout=0.1)
    with pytest.raises(CardReadFailed):  # the card left the field: its selection went with it
        reader.read_base_info()
    assert sim.insert_card(1) == 1 and reader.read_card(timeout=1) == first
    with pytest.raises(ValueError, match="card 1 is on the reader: remove card first"):
        sim.insert_card(2)
    sim.remove_card()
    with pytest.raises(ValueError, match="no card 9: the cards are 1 to 5"):
        sim.insert_card(9)
    assert sim.insert_card() == 2 and reader.read_card(timeout=1).name == "王秀英"


def test_a_partial_request_is_dropped_after_a_silence():
    sim = SimulatedReader(idle_drop_s=0.05)
    with simhost.PtyHost(sim) as host, IdCardReader(host.path, timeout=TIMEOUT) as r:
        r.link.write(codec.FIND_CARD[:8])  # header, length, command: then the line goes quiet
        time.sleep(0.15)
        reply = r.transact(codec.SAM_STATUS)
        assert (reply.sw3, sim.dropped, sim.requests) == (0x90, 1, [codec.SAM_STATUS_CMD])
        time.sleep(0.05)  # exactly one reply: nothing else came back
        assert r.link.port.in_waiting == 0


def test_garbled_request_gets_the_checksum_status(reader):
    bad = codec.FIND_CARD[:-1] + b"\x00"
    reply = reader.transact(bad)
    assert reply.sw3 == 0x10
    with pytest.raises(ReaderRefused, match="garbled command") as info:
        reply.check()
    assert info.value.kind == "request_checksum"


# -- one test per fault kind ---------------------------------------------------------------------------
def test_fault_no_card(reader, sim):
    sim.set_fault("no_card")
    start = time.monotonic()
    with pytest.raises(NoCard, match="no card was placed on the reader within 0.2 s: place the card flat") as info:
        reader.read_card(timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 1.5
    assert info.value.kind == "no_card" and finds(sim) >= 3  # polled, every `poll` seconds
    assert sim.reads == 0


def test_fault_card_removed(reader, sim):
    sim.set_fault("card_removed")
    with pytest.raises(CardRemoved, match="moved or lifted before it was read: place it flat") as info:
        reader.read_card(timeout=1)
    assert isinstance(info.value.__cause__, CardReadFailed) and info.value.code == 0x41
    assert sim.requests == [codec.FIND_CARD_CMD, codec.SELECT_CARD_CMD, codec.READ_BASE_CMD]
    assert sim.reads == 0


def test_fault_bad_checksum(reader, sim):
    sim.set_fault("bad_checksum")
    with pytest.raises(GarbledReply, match="garbled \\(bad checksum\\): try again") as info:
        reader.read_card(timeout=1)
    assert info.value.reason == "checksum" and isinstance(info.value, ProtocolError)
    assert finds(sim) == 2  # tried once more before telling the clerk
    assert sim.reads == 0


def test_fault_truncated_frame(reader, sim):
    sim.set_fault("truncated_frame")
    with pytest.raises(TruncatedReply, match="cut short: try again"):
        reader.read_card(timeout=1)
    assert finds(sim) == 2 and sim.reads == 0


def test_fault_garbage_before_header(reader, sim):
    sim.set_fault("garbage_before_header")
    card = reader.read_card(timeout=1)  # the noise is skipped: the read succeeds
    assert card == dataclasses.replace(sample_cards()[0], fingerprint=b"") and card.name == "陈𠮷"
    assert sim.reads == 1


def test_fault_silence(reader, sim):
    sim.set_fault("silence")
    start = time.monotonic()
    with pytest.raises(ReaderNotAnswering, match="is not answering .*: check that it is plugged in") as info:
        reader.read_card(timeout=1)
    assert isinstance(info.value, DeviceTimeout) and time.monotonic() - start < 1.0
    assert finds(sim) == 1 and sim.reads == 0  # silence is not retried


def test_fault_sam_failure(reader, sim):
    sim.set_fault("sam_failure")
    with pytest.raises(SamFailure, match="security module failed its self-test: call IT"):
        reader.sam_status()
    with pytest.raises(SamFailure) as info:
        reader.read_card(timeout=1)
    assert info.value.code == 0x60 and info.value.kind == "sam_selftest_failed"
    assert sim.reads == 0


def test_every_fault_kind_has_a_test():
    tested = {name[len("test_fault_"):] for name in globals() if name.startswith("test_fault_")}
    assert tested == set(FAULTS)


# -- faults at run time, cards placed and lifted ---------------------------------------------------------
def test_faults_switched_at_run_time(reader, sim):
    sim.set_fault("no_card")
    threading.Timer(0.15, sim.set_fault, ("no_card", False)).start()  # the citizen puts the card down
    assert reader.read_card(timeout=3).name == "陈𠮷"
    sim.set_fault("silence")
    with pytest.raises(ReaderNotAnswering):
        reader.sam_status()
    sim.clear_faults()
    reader.sam_status()
    assert reader.read_card(timeout=1).name == "陈𠮷"  # still on the reader


def test_card_lifted_and_placed(reader, sim):
    sim.remove_card()
    with pytest.raises(NoCard):
        reader.read_card(timeout=0.1)
    sim.insert_card(1)
    assert reader.read_card(timeout=1).name == "陈𠮷"


def test_cards_from_a_json_file(tmp_path):
    card = sample_cards()[3]
    path = tmp_path / "cards.json"
    path.write_text(json.dumps([card.to_dict()], ensure_ascii=False), encoding="utf-8")
    sim = SimulatedReader(path)
    with simhost.PtyHost(sim) as host, IdCardReader(host.path, timeout=TIMEOUT) as r:
        assert r.read_card(timeout=1) == card
        assert r.read_card(timeout=1) == card  # one card: it comes back


def test_a_bad_cards_file_says_which_card(tmp_path):
    path = tmp_path / "cards.json"
    path.write_text(json.dumps([sample_cards()[1].to_dict(), {"card_type": "resident"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="card 2: KeyError"):
        SimulatedReader(path)


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="unknown reader fault 'smoke'"):
        SimulatedReader(faults=["smoke"])


# -- other links --------------------------------------------------------------------------------------------
def test_over_tcp():
    sim = SimulatedReader()
    with simhost.TcpHost(sim) as host, IdCardReader(host.path, timeout=1) as r:
        assert host.path.startswith("socket://")
        assert r.read_card(timeout=1, fingerprint=True) == sample_cards()[0]
        r.sam_status()


def test_paced_line_takes_the_wire_time(tmp_path):
    sim = SimulatedReader()
    with simhost.PtyHost(sim, link=tmp_path / "reader", baud=115200), \
            IdCardReader(str(tmp_path / "reader"), timeout=1) as r:
        start = time.monotonic()
        r.read_card(timeout=1)
        elapsed = time.monotonic() - start
    assert elapsed >= sim.bytes_out * 10 / 115200 * 0.95


def test_a_port_that_is_not_there():
    with pytest.raises(DeviceError, match="cannot open the ID-card reader at /nonexistent/tty"):
        IdCardReader("/nonexistent/tty")


def test_the_reader_package_imports_no_kiosk_queue_or_textual():
    code = ("import sys, cabin.drivers.idreader\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith(('cabin.kiosk', 'cabin.queue'))]\n"
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
