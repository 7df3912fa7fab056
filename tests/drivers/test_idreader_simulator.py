"""The simulated reader as the device: literal byte exchanges of domain.md 7.1 (the set-up
commands public clients send first, a card that stays until it leaves the field, the new
address), the silence that drops a partial request, the radio time, and bounded work on garbage."""

from __future__ import annotations

import os
import random

import pytest

from cabin.drivers.idreader import SimulatedReader, sample_cards
from cabin.drivers.idreader.codec import MAX_LEN
from cabin.drivers.idreader.simulator import RADIO_S


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


HEAD = "AA AA AA 96 69"
SET_BAUD_115200 = hx(f"{HEAD} 00 04 60 FF 00 9B")
SET_BAUD_9600 = hx(f"{HEAD} 00 04 60 FF 04 9F")
SET_FRAME_50 = hx(f"{HEAD} 00 04 61 FF 50 CA")
FIND = hx(f"{HEAD} 00 03 20 01 22")
SELECT = hx(f"{HEAD} 00 03 20 02 21")
READ_BASE = hx(f"{HEAD} 00 03 30 01 32")
READ_NEW_ADDRESS = hx(f"{HEAD} 00 03 30 03 30")
OK = hx(f"{HEAD} 00 04 00 00 90 94")
NO_CONTENT = hx(f"{HEAD} 00 04 00 00 91 95")
READ_FAILED = hx(f"{HEAD} 00 04 00 00 41 45")
COMMAND_ERROR = hx(f"{HEAD} 00 04 00 00 21 25")
LENGTH_ERROR = hx(f"{HEAD} 00 04 00 00 11 15")
FIND_OK = hx(f"{HEAD} 00 08 00 00 9F 00 00 00 00 97")
SELECT_OK = hx(f"{HEAD} 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")
# 王秀英's card: 福建省厦门市思明区鹭江道8号之一 written after issue, 70 bytes UCS-2LE padded with spaces
NEW_ADDRESS_OK = hx(f"{HEAD} 00 4A 00 00 90 8F 79 FA 5E 01 77 A6 53 E8 95 02 5E 1D 60 0E 66 3A 53 6D 9E 5F 6C 53 90"
                    " 38 00 F7 53 4B 4E 00 4E" + " 20 00" * 19 + " A2")


def exchange(sim: SimulatedReader, request: bytes) -> bytes:
    replies = sim.receive(request)
    assert len(replies) == 1, replies  # one request, exactly one reply
    return replies[0].data


def test_the_setup_commands_public_clients_send_first():
    sim = SimulatedReader()
    assert exchange(sim, SET_BAUD_115200) == OK and sim.baud == 115200
    assert exchange(sim, SET_FRAME_50) == OK and sim.frame_size == 0x50
    assert exchange(sim, SET_BAUD_9600) == OK and sim.baud == 9600
    assert exchange(sim, hx(f"{HEAD} 00 04 60 FF 05 9E")) == COMMAND_ERROR  # no speed 05
    assert exchange(sim, hx(f"{HEAD} 00 04 61 FF 00 9A")) == COMMAND_ERROR  # a frame of 0 bytes
    assert exchange(sim, hx(f"{HEAD} 00 03 60 FF 9C")) == LENGTH_ERROR      # the parameter missing
    assert sim.baud == 9600 and sim.frame_size == 0x50


def test_a_second_read_and_the_new_address_read_the_same_card():
    sim = SimulatedReader()
    sim.next_card()  # 王秀英: a new address on her card
    assert [exchange(sim, r) for r in (FIND, SELECT)] == [FIND_OK, SELECT_OK]
    first = exchange(sim, READ_BASE)
    assert first[:10] == hx(f"{HEAD} 05 08 00 00 90") and len(first) == 1295
    assert exchange(sim, READ_BASE) == first
    assert exchange(sim, READ_NEW_ADDRESS) == NEW_ADDRESS_OK
    assert exchange(sim, FIND) == FIND_OK and exchange(sim, READ_BASE) == first  # found again: still selected
    sim.remove_card()
    assert exchange(sim, READ_NEW_ADDRESS) == READ_FAILED and exchange(sim, READ_BASE) == READ_FAILED


def test_a_card_with_no_new_address_answers_no_content():
    sim = SimulatedReader()  # 陈𠮷: nothing written after issue
    assert [exchange(sim, r) for r in (FIND, SELECT, READ_BASE)][:2] == [FIND_OK, SELECT_OK]
    assert exchange(sim, READ_NEW_ADDRESS) == NO_CONTENT


def test_new_address_before_select_fails():
    assert exchange(SimulatedReader(), READ_NEW_ADDRESS) == READ_FAILED


def test_the_radio_time_is_the_reads_delay():
    sim = SimulatedReader(radio_s=RADIO_S)
    assert [r.delay for r in sim.receive(FIND + SELECT)] == [0.0, 0.0]
    assert [r.delay for r in sim.receive(READ_BASE + READ_NEW_ADDRESS)] == [RADIO_S, RADIO_S]
    assert RADIO_S == 0.5


def test_a_partial_request_is_dropped_after_the_silence(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("cabin.drivers.idreader.simulator.time.monotonic", lambda: now[0])
    sim = SimulatedReader(idle_drop_s=0.15)
    assert sim.receive(FIND[:8]) == []
    now[0] += 0.1  # not yet silent long enough: the rest completes it
    assert [r.data for r in sim.receive(FIND[8:])] == [FIND_OK]
    assert sim.receive(SELECT[:9]) == []
    now[0] += 0.2  # silence: the UART drops it
    assert [r.data for r in sim.receive(FIND)] == [FIND_OK] and sim.dropped == 1


def test_cards_file_new_address_is_checked(tmp_path):
    d = sample_cards()[2].to_dict() | {"new_address": "很长" * 20}
    path = tmp_path / "cards.json"
    import json
    path.write_text(json.dumps([d], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="card 1: ValueError: the address does not fit in 70 bytes"):
        SimulatedReader(path)


def test_a_megabyte_of_garbage_is_bounded_work_and_the_next_request_is_answered():
    sim = SimulatedReader()
    rng = random.Random(13)
    garbage = rng.randbytes(1 << 20)
    most = 0
    for i in range(0, len(garbage), 4096):  # as the host reads a pty: a chunk at a time
        sim.receive(garbage[i:i + 4096])
        most = max(most, sim._parser.buffered)
    assert most <= MAX_LEN + 7  # never more than one frame's worth kept, whatever came
    assert sim.bytes_in == 1 << 20
    sim.receive(os.urandom(0))
    sim._last_byte -= 1  # a moment of silence, as between a client's garbage and its next request
    assert [r.data for r in sim.receive(FIND)] == [FIND_OK]


def test_headers_in_garbage_never_rescan_quadratically():
    """A stream of false headers each claiming the longest frame: every byte is looked at a bounded
    number of times (the parser resumes one byte past a bad header, within one frame's bytes)."""
    sim = SimulatedReader()
    false_start = hx(f"{HEAD} 10 00")  # LEN 4096: the longest allowed, never completed by a checksum
    stream = (false_start + bytes(200)) * 2000
    for i in range(0, len(stream), 4096):
        sim.receive(stream[i:i + 4096])
        assert sim._parser.buffered <= MAX_LEN + 7
    sim._last_byte -= 1
    assert [r.data for r in sim.receive(FIND)] == [FIND_OK]
