"""A simulated ID-card reader that speaks the SAM protocol byte for byte.

It parses requests with the same framing rules as the driver (a garbled request gets the SW3
a real reader gives: 0x10 checksum, 0x11 length), keeps the state a reader keeps (a card found,
then selected, then read), and serves cards from a JSON file or the built-in samples, one card
type of each kind. A card stays on the reader, found, selected and readable, until it leaves the
field: a second `30 01`, or `30 03` after it, reads the same card again. Which card is on the
reader changes only when asked: `remove_card()`, `insert_card(n)`, `next_card()` (the citizen
takes the card back, the next one puts theirs down), or the same as control lines
(`remove card`, `insert card [N]`, `next card`: see `control`).

Like a real reader it answers the set-up commands public clients send before their first read,
`60 FF <p>` (line speed: p 00..04) and `61 FF <n>` (radio frame size), with 90; it drops a
partial request after `idle_drop_s` of silence on the line (a real reader's UART does), so the
next request gets exactly one reply; and a read answers after `radio_s` seconds, the radio
exchange with the card (about half a second on a real reader; 0 where timing is not the point).
The baud rate `60 FF` asks for is recorded (`baud`), not applied: a pty or socket has none.

Photos: a card's WLT bytes are a proprietary compression with no open encoder, so cards without
a photo get a deterministic 1024-byte placeholder (and a 1024-byte placeholder fingerprint when
the JSON says `"has_fingerprint": true`). They are not images; they only have the right size.

Faults (at construction or at run time with `set_fault`): no_card, card_removed (the read fails
as when the card is lifted mid-read), bad_checksum, truncated_frame (half a reply, then
nothing), garbage_before_header (line noise, partial headers included), silence, sam_failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import threading
import time
from os import PathLike
from pathlib import Path

from ..simhost import Reply as Send
from . import codec
from .codec import Request, RequestParser
from .. import simcontrol
from .decode import encode_base_info, encode_new_address, encode_sam_id
from .errors import GarbledReply
from .record import IdCard

FAULTS = ("no_card", "card_removed", "bad_checksum", "truncated_frame", "garbage_before_header", "silence",
          "sam_failure")
# line noise with near-headers in it, ending in a header's first four bytes: the real header that
# follows overlaps that false start, and the parser must still find it
GARBAGE = b"\x00\xff\x13\xaa\xaa\x96\x69\x55\xaa\xaa\x96\xaa\xaa\xaa\x96"
SAM_ID = "05.01-20110511-0123456789-1234567890"
SERIAL = bytes(8)  # the select reply's 8 bytes (a card serial); nothing reads them
SET_BAUD_CMD, SET_FRAME_SIZE_CMD = (0x60, 0xFF), (0x61, 0xFF)
CONTROL_LINES = ("remove card", "insert card [N]", "next card")  # besides simcontrol's generic lines
BAUDS = {0: 115200, 1: 57600, 2: 38400, 3: 19200, 4: 9600}  # 60 FF <p>
RADIO_S = 0.5      # a real reader's radio exchange before a read's reply starts
IDLE_DROP_S = 0.15  # silence after which a partial request is dropped


def placeholder(kind: bytes, seed: str, size: int = 1024) -> bytes:
    """Deterministic stand-in bytes of the right size (not an image)."""
    out = b"CABIN-SIM-" + kind + b"\0"
    block = seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def card_from_dict(d: dict) -> IdCard:
    """A card as the simulator holds it. `new_address` (the address written on the card after
    issue, read with 30 03) is the simulator's, not the record's: `new_addresses` gathers them."""
    if "new_address" in d:
        encode_new_address(d["new_address"])  # a ValueError now, not at the 30 03
        d = {k: v for k, v in d.items() if k != "new_address"}
    card = IdCard.from_dict(d)
    if not card.photo:
        card = dataclasses.replace(card, photo=placeholder(b"PHOTO", card.id_number))
    if d.get("has_fingerprint") and not card.fingerprint:
        card = dataclasses.replace(card, fingerprint=placeholder(b"FINGERPRINT", card.id_number))
    return card


def _items(path: str | PathLike | None) -> list[dict]:
    """The card objects of a JSON file (None: the built-in samples)."""
    if path is None:
        return json.loads(importlib.resources.files(__package__).joinpath("samples.json").read_text(encoding="utf-8"))
    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the cards file {path}: {exc}") from None
    return items if isinstance(items, list) else [items]


def load_cards(path: str | PathLike) -> list[IdCard]:
    """Cards from a JSON file: a list of objects as `IdCard.to_dict()` writes them (plus an
    optional `new_address`). A file that cannot be used raises ValueError saying which card and why."""
    cards = []
    for n, d in enumerate(_items(path), 1):
        try:
            cards.append(card_from_dict(d))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"cards file {path}, card {n}: {type(exc).__name__}: {exc}") from None
    return cards


def new_addresses(path: str | PathLike | None = None) -> dict[str, str]:
    """ID number -> the new address written on that card, for the cards of a file (None: samples)."""
    return {d["id_number"]: d["new_address"] for d in _items(path) if isinstance(d, dict) and d.get("new_address")}


def sample_cards() -> list[IdCard]:
    """The built-in samples: two resident cards (one with 𠮷 in the name and a fingerprint, one
    long-term with a new address written on it), a J permit, an old I card and a 2023 Y card."""
    return [card_from_dict(d) for d in _items(None)]


class SimulatedReader:
    def __init__(self, cards: list[IdCard] | str | PathLike | None = None, faults=(), *,
                 radio_s: float = 0.0, idle_drop_s: float = IDLE_DROP_S, sam_id: str = SAM_ID,
                 addresses: dict[str, str] | None = None):
        """`radio_s`: seconds of radio exchange before a read's reply starts (a real reader: about
        RADIO_S). `idle_drop_s`: silence after which a partial request is dropped. `addresses`: ID
        number -> new address (30 03) for cards given as a list; a file or the samples carry theirs."""
        if cards is None or isinstance(cards, (str, PathLike)):
            path = None if cards is None else Path(cards)
            cards = sample_cards() if path is None else load_cards(path)
            addresses = new_addresses(path) if addresses is None else addresses
        self.cards = list(cards)
        self.addresses = dict(addresses or {})
        self.radio_s, self.idle_drop_s, self.sam_id = radio_s, idle_drop_s, sam_id
        self._lock = threading.Lock()
        self.faults: set[str] = set()
        for kind in faults:
            self.set_fault(kind)
        self.index = 0            # the card on the reader, or the one last on it
        self.present = bool(self.cards)
        self.found = self.selected = False
        self.baud, self.frame_size = 115200, None  # as 60 FF / 61 FF set them
        self.reads = 0            # complete reads served (30 01, 30 10)
        self.bytes_in = self.bytes_out = 0
        self.requests: list[tuple[int, int]] = []  # the commands received, in order
        self.dropped = 0          # partial requests dropped after a silence
        self._parser = RequestParser()
        self._last_byte = 0.0

    # -- what a test or the CLI changes ---------------------------------------------------------
    def set_fault(self, kind: str, on: bool = True) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown reader fault {kind!r}: one of {', '.join(FAULTS)}")
        with self._lock:
            (self.faults.add if on else self.faults.discard)(kind)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    @property
    def card(self) -> IdCard | None:
        return self.cards[self.index] if self.present and self.cards else None

    def remove_card(self) -> None:
        """The card leaves the field (nothing happens when there is none)."""
        with self._lock:
            self.present = self.found = self.selected = False

    def insert_card(self, n: int | None = None) -> int:
        """Put card `n` (1-based, in the order of the cards) on the reader; None: the card after the
        one last on it. Returns its number. ValueError if a card is on the reader already."""
        with self._lock:
            if self.present:
                raise ValueError(f"card {self.index + 1} is on the reader: remove card first")
            if not self.cards:
                raise ValueError("the simulator has no cards")
            if n is None:
                n = (self.index + 1) % len(self.cards) + 1
            if not 1 <= n <= len(self.cards):
                raise ValueError(f"no card {n}: the cards are 1 to {len(self.cards)}")
            self.index, self.present = n - 1, True
            self.found = self.selected = False
            return n

    def next_card(self) -> int:
        """The citizen takes the card back and the next one puts theirs down."""
        self.remove_card()
        return self.insert_card()

    def control(self, line: str) -> str:
        """One control line (drivers/simcontrol.py): `fault KIND on|off`, `faults`, `help`,
        `remove card`, `insert card [N]`, `next card`."""
        return simcontrol.answer(line, FAULTS, self.set_fault, lambda: set(self.faults), {
            "remove card": self._control_remove, "insert card": self._control_insert,
            "next card": self._control_next})

    def _control_remove(self, args: list[str]) -> str:
        _no_more(args, "remove card")
        self.remove_card()
        return "no card on the reader"

    def _control_insert(self, args: list[str]) -> str:
        if len(args) > 1 or (args and not (args[0].isascii() and args[0].isdigit() and len(args[0]) < 6)):
            raise simcontrol.ControlError("say: insert card [N] (N: the card's number, from 1)")
        return self._on_reader(self.insert_card(int(args[0]) if args else None))

    def _control_next(self, args: list[str]) -> str:
        _no_more(args, "next card")
        return self._on_reader(self.next_card())

    def _on_reader(self, n: int) -> str:
        return f"card {n} of {len(self.cards)} on the reader ({self.cards[n - 1].card_type.value})"

    # -- the device ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[Send]:
        with self._lock:
            now = time.monotonic()
            if self._parser.buffered and now - self._last_byte > self.idle_drop_s:
                self._parser = RequestParser()  # the UART gave up on the partial request
                self.dropped += 1
            self._last_byte = now
            self.bytes_in += len(data)
            out = []
            for item in self._parser.feed(data):
                if isinstance(item, GarbledReply):
                    answer = codec.reply(0x10 if item.reason == "checksum" else 0x11)
                    delay = 0.0
                else:
                    self.requests.append(item.command)
                    answer, delay = self._answer(item)
                if answer is not None:
                    send = self._spoil(answer)
                    self.bytes_out += len(send)
                    out.append(Send(send, delay))
            return out

    def _answer(self, req: Request) -> tuple[bytes | None, float]:
        if "silence" in self.faults:
            return None, 0.0
        if "sam_failure" in self.faults:
            return codec.reply(0x60), 0.0
        cmd = req.command
        if cmd in (SET_BAUD_CMD, SET_FRAME_SIZE_CMD):
            return self._setting(cmd, req.data), 0.0
        if cmd in (codec.RESET_SAM_CMD, codec.SAM_STATUS_CMD):
            if cmd == codec.RESET_SAM_CMD:
                self.found = self.selected = False
            return codec.reply(0x90), 0.0
        if cmd == codec.READ_SAM_ID_CMD:
            return codec.reply(0x90, encode_sam_id(self.sam_id)), 0.0
        if cmd == codec.FIND_CARD_CMD:
            # a card in the field answers every find; one already selected stays selected
            self.found = self.card is not None and "no_card" not in self.faults
            self.selected = self.selected and self.found
            return codec.reply(0x9F, bytes(4)) if self.found else codec.reply(0x80), 0.0
        if cmd == codec.SELECT_CARD_CMD:
            self.selected = self.found
            return codec.reply(0x90, SERIAL) if self.selected else codec.reply(0x81), 0.0
        if cmd in (codec.READ_BASE_CMD, codec.READ_FINGERPRINT_CMD):
            return self._read(cmd == codec.READ_FINGERPRINT_CMD), self.radio_s
        if cmd == codec.READ_NEW_ADDRESS_CMD:
            return self._read_new_address(), self.radio_s
        return codec.reply(0x21), 0.0

    def _setting(self, cmd: tuple[int, int], data: bytes) -> bytes:
        """60 FF <p> (the line's speed) and 61 FF <n> (bytes in one radio frame): one parameter byte."""
        if len(data) != 1:
            return codec.reply(0x11)
        if cmd == SET_BAUD_CMD:
            if data[0] not in BAUDS:
                return codec.reply(0x21)
            self.baud = BAUDS[data[0]]
        else:
            if not data[0]:
                return codec.reply(0x21)
            self.frame_size = data[0]
        return codec.reply(0x90)

    def _read(self, fingerprint: bool) -> bytes:
        if not self.selected or "card_removed" in self.faults:
            self.found = self.selected = False
            return codec.reply(0x41)
        self.reads += 1  # the card stays on the reader, selected: a second read reads it again
        return codec.reply(0x90, encode_base_info(self.card, fingerprint=fingerprint))

    def _read_new_address(self) -> bytes:
        if not self.selected or "card_removed" in self.faults:
            self.found = self.selected = False
            return codec.reply(0x41)
        address = self.addresses.get(self.card.id_number)
        # a card with nothing written after issue: "no content", as a reader says
        return codec.reply(0x90, encode_new_address(address)) if address else codec.reply(0x91)

    def _spoil(self, frame: bytes) -> bytes:
        """What the line does to a reply under the wire faults."""
        if "bad_checksum" in self.faults:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if "truncated_frame" in self.faults:
            frame = frame[:max(7, len(frame) // 2)]
        if "garbage_before_header" in self.faults:
            frame = GARBAGE + frame
        return frame


def _no_more(args: list[str], line: str) -> None:
    if args:
        raise simcontrol.ControlError(f"say: {line}")
