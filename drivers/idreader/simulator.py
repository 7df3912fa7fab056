"""A simulated ID-card reader that speaks the SAM protocol byte for byte.

It parses requests with the same framing rules as the driver (a garbled request gets the SW3
a real reader gives: 0x10 checksum, 0x11 length), keeps the state a reader keeps (a card found,
then selected, then read), and serves cards from a JSON file or the built-in samples, one card
type of each kind. After a complete read the next card is placed, so a demo shows them all.

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
from os import PathLike
from pathlib import Path

from ..simhost import Reply as Send
from . import codec
from .codec import Request, RequestParser
from .decode import encode_base_info, encode_sam_id
from .errors import GarbledReply
from .record import IdCard

FAULTS = ("no_card", "card_removed", "bad_checksum", "truncated_frame", "garbage_before_header", "silence",
          "sam_failure")
# line noise with near-headers in it, ending in a header's first four bytes: the real header that
# follows overlaps that false start, and the parser must still find it
GARBAGE = b"\x00\xff\x13\xaa\xaa\x96\x69\x55\xaa\xaa\x96\xaa\xaa\xaa\x96"
SAM_ID = "05.01-20110511-0123456789-1234567890"
SERIAL = bytes(8)  # the select reply's 8 bytes (a card serial); nothing reads them


def placeholder(kind: bytes, seed: str, size: int = 1024) -> bytes:
    """Deterministic stand-in bytes of the right size (not an image)."""
    out = b"CABIN-SIM-" + kind + b"\0"
    block = seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def card_from_dict(d: dict) -> IdCard:
    card = IdCard.from_dict(d)
    if not card.photo:
        card = dataclasses.replace(card, photo=placeholder(b"PHOTO", card.id_number))
    if d.get("has_fingerprint") and not card.fingerprint:
        card = dataclasses.replace(card, fingerprint=placeholder(b"FINGERPRINT", card.id_number))
    return card


def load_cards(path: str | PathLike) -> list[IdCard]:
    """Cards from a JSON file: a list of objects as `IdCard.to_dict()` writes them.
    A file that cannot be used raises ValueError saying which card and why."""
    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the cards file {path}: {exc}") from None
    cards = []
    for n, d in enumerate(items if isinstance(items, list) else [items], 1):
        try:
            cards.append(card_from_dict(d))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"cards file {path}, card {n}: {type(exc).__name__}: {exc}") from None
    return cards


def sample_cards() -> list[IdCard]:
    """The built-in samples: two resident cards (one with 𠮷 in the name and a fingerprint, one
    long-term), a J permit, an old I card and a 2023 Y card."""
    text = importlib.resources.files(__package__).joinpath("samples.json").read_text(encoding="utf-8")
    return [card_from_dict(d) for d in json.loads(text)]


class SimulatedReader:
    def __init__(self, cards: list[IdCard] | str | PathLike | None = None, faults=(), *,
                 read_delay: float = 0.0, sam_id: str = SAM_ID):
        """`read_delay`: seconds the reader works before answering a read (a real one takes ~0.5)."""
        if cards is None:
            cards = sample_cards()
        elif isinstance(cards, (str, PathLike)):
            cards = load_cards(Path(cards))
        self.cards = list(cards)
        self.read_delay, self.sam_id = read_delay, sam_id
        self._lock = threading.Lock()
        self.faults: set[str] = set()
        for kind in faults:
            self.set_fault(kind)
        self.index = 0            # the card on the reader
        self.present = bool(self.cards)
        self.found = self.selected = False
        self.reads = 0            # complete reads served
        self.bytes_in = self.bytes_out = 0
        self.requests: list[tuple[int, int]] = []
        self._parser = RequestParser()

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

    def place(self, card: IdCard | None = None) -> None:
        """Put a card on the reader (a given one, or the current one back)."""
        with self._lock:
            if card is not None:
                self.cards.insert(self.index, card)
            self.present = bool(self.cards)
            self.found = self.selected = False

    def remove(self) -> None:
        with self._lock:
            self.present = self.found = self.selected = False

    # -- the device ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[Send]:
        with self._lock:
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
        if cmd in (codec.RESET_SAM_CMD, codec.SAM_STATUS_CMD):
            if cmd == codec.RESET_SAM_CMD:
                self.found = self.selected = False
            return codec.reply(0x90), 0.0
        if cmd == codec.READ_SAM_ID_CMD:
            return codec.reply(0x90, encode_sam_id(self.sam_id)), 0.0
        if cmd == codec.FIND_CARD_CMD:
            self.found = self.card is not None and "no_card" not in self.faults
            self.selected = False
            return codec.reply(0x9F, bytes(4)) if self.found else codec.reply(0x80), 0.0
        if cmd == codec.SELECT_CARD_CMD:
            self.selected = self.found
            return codec.reply(0x90, SERIAL) if self.selected else codec.reply(0x81), 0.0
        if cmd in (codec.READ_BASE_CMD, codec.READ_FINGERPRINT_CMD):
            return self._read(cmd == codec.READ_FINGERPRINT_CMD), self.read_delay
        if cmd == codec.READ_NEW_ADDRESS_CMD:
            # the samples carry no address written after issue: "no content", as a reader says
            return (codec.reply(0x91) if self.selected else codec.reply(0x41)), self.read_delay
        return codec.reply(0x21), 0.0

    def _read(self, fingerprint: bool) -> bytes:
        if not self.selected or "card_removed" in self.faults:
            self.found = self.selected = False
            return codec.reply(0x41)
        data = encode_base_info(self.card, fingerprint=fingerprint)
        self.reads += 1
        self.index = (self.index + 1) % len(self.cards)  # the citizen takes the card, the next one comes
        self.found = self.selected = False
        return codec.reply(0x90, data)

    def _spoil(self, frame: bytes) -> bytes:
        """What the line does to a reply under the wire faults."""
        if "bad_checksum" in self.faults:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if "truncated_frame" in self.faults:
            frame = frame[:max(7, len(frame) // 2)]
        if "garbage_before_header" in self.faults:
            frame = GARBAGE + frame
        return frame
