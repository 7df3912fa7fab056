"""The data of the reader's replies: base info (text, photo, fingerprint), new address, SAM ID.

Text is UCS-2 little-endian in fixed fields (domain.md 7.1), decoded as UTF-16-LE so a rare
character stored as a surrogate pair (𠮷) comes through as one character. Fields are padded
with spaces or NULs, which are stripped. The encoders are the inverses, used by the simulator,
so that every layout is tested by round trip. Anything that cannot be understood raises
ProtocolError (or UnknownCardType for a type flag Cabin does not know), nothing else.
"""

from __future__ import annotations

import dataclasses
import struct
from datetime import date

from ..errors import ProtocolError
from .errors import UnknownCardType
from .record import LONG_TERM, CardType, IdCard

TEXT_LEN, PHOTO_LEN, FINGERPRINT_LEN = 256, 1024, 1024
FLAG = (248, 2)

# (field, byte offset, byte size) in the 256-byte text block, per card type.
RESIDENT = [("name", 0, 30), ("sex", 30, 2), ("nation_code", 32, 4), ("birth", 36, 16), ("address", 52, 70),
            ("id_number", 122, 36), ("authority", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16)]
LAYOUTS = {
    CardType.RESIDENT: RESIDENT,
    CardType.J: RESIDENT + [("pass_number", 220, 18), ("issue_count", 238, 4)],
    CardType.I: [("name_en", 0, 120), ("sex", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
                 ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
                 ("card_version", 236, 4), ("authority_code", 240, 8)],
    # the English name is split over two fields; the second continues the first mid-word if need be
    CardType.Y: [("name", 0, 30), ("sex", 30, 2), ("renewal_count", 32, 4), ("birth", 36, 16), ("name_en", 52, 70),
                 ("id_number", 122, 36), ("valid_from", 188, 16), ("valid_to", 204, 16), ("name_en_2", 220, 22),
                 ("nationality", 242, 6), ("old_card_link", 250, 6)],
}
DATES, COUNTS = {"birth", "valid_from", "valid_to"}, {"issue_count", "renewal_count"}
PAD = " \0"


def unreadable(what: str) -> ProtocolError:
    return ProtocolError(f"the card's data could not be understood ({what}): read the card again;"
                         " if it keeps happening, enter the details by hand")


def _text(block: bytes, offset: int, size: int) -> str:
    try:
        return block[offset:offset + size].decode("utf-16-le")
    except UnicodeDecodeError:
        raise unreadable(f"bad text at offset {offset}") from None


def card_type(block: bytes) -> CardType:
    flag = _text(block, *FLAG).strip(PAD)
    if not flag:
        return CardType.RESIDENT
    if flag in ("J", "I", "Y"):
        return CardType(flag)
    raise UnknownCardType("unknown_card_type", f"this card's type ({flag!r}) is not one Cabin knows:"
                                               " enter the details by hand")


def _date(text: str, what: str) -> date | None:
    if what == "valid_to" and text == LONG_TERM:
        return None
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        raise unreadable(f"{what} is {text!r}")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise unreadable(f"{what} is {text!r}") from None


def decode_text(block: bytes) -> IdCard:
    """The 256-byte text block alone (no photo, no fingerprint)."""
    if len(block) != TEXT_LEN:
        raise unreadable(f"text block of {len(block)} bytes")
    kind = card_type(block)
    raw = {name: _text(block, offset, size) for name, offset, size in LAYOUTS[kind]}
    if kind is CardType.Y:
        raw["name_en"] += raw.pop("name_en_2")
    fields: dict = {"card_type": kind}
    for name, text in raw.items():
        text = text.strip(PAD)
        if name in DATES:
            fields[name] = _date(text, name)
        elif name in COUNTS:
            if text and not (text.isascii() and text.isdigit()):
                raise unreadable(f"{name} is {text!r}")
            fields[name] = int(text) if text else None
        else:
            fields[name] = text
    return IdCard(**fields)


def decode_base_info(data: bytes, *, fingerprint: bool = False) -> IdCard:
    """The data of a read-base-info reply (30 01), or of read-with-fingerprint (30 10) when
    `fingerprint`: length fields (2 bytes each, big-endian), then the blocks they announce."""
    count = 3 if fingerprint else 2
    head = 2 * count
    if len(data) < head:
        raise unreadable(f"{len(data)} bytes of card data")
    lengths = [int.from_bytes(data[i:i + 2], "big") for i in range(0, head, 2)]
    if head + sum(lengths) != len(data):
        raise unreadable(f"blocks of {lengths} bytes in {len(data) - head}")
    text_end = head + lengths[0]
    photo_end = text_end + lengths[1]
    card = decode_text(data[head:text_end])
    return dataclasses.replace(card, photo=data[text_end:photo_end], fingerprint=data[photo_end:])


def _field_text(card: IdCard, name: str, size: int) -> str:
    if name == "name_en_2":
        return card.name_en[35:]  # what does not fit in the first part (70 bytes = 35 characters)
    value = getattr(card, name)
    if name == "name_en" and card.card_type is CardType.Y:
        value = value[:35]
    if name == "valid_to" and value is None:
        return LONG_TERM
    if isinstance(value, date):
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if name in COUNTS:
        return "" if value is None else f"{value:0{size // 2}d}"
    return value


def encode_text(card: IdCard) -> bytes:
    block = bytearray(PAD[0].encode("utf-16-le") * (TEXT_LEN // 2))
    for name, offset, size in LAYOUTS[card.card_type] + [("flag", *FLAG)]:
        text = card.card_type.flag if name == "flag" else _field_text(card, name, size)
        raw = text.encode("utf-16-le")
        if len(raw) > size:
            raise ValueError(f"the {name} does not fit in {size} bytes")  # never the value: personal data
        block[offset:offset + len(raw)] = raw
    return bytes(block)


def encode_base_info(card: IdCard, *, fingerprint: bool = False) -> bytes:
    """Inverse of decode_base_info: text 256 bytes, the photo, and the fingerprint when asked
    (its length is 0 when the card has none)."""
    text = encode_text(card)
    blocks = [text, card.photo] + ([card.fingerprint] if fingerprint else [])
    return b"".join(len(b).to_bytes(2, "big") for b in blocks) + b"".join(blocks)


def decode_new_address(data: bytes) -> str:
    """The data of a read-new-address reply (30 03): the address written after issue, UCS-2LE."""
    return _text(data, 0, len(data)).strip(PAD)


def encode_new_address(address: str, size: int = 70) -> bytes:
    raw = address.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"the address does not fit in {size} bytes")
    return raw + PAD[0].encode("utf-16-le") * ((size - len(raw)) // 2)


# SAM ID: 16 bytes, little-endian 2+2+4+4+4, shown as the vendors' tools print it.
_SAM_ID = struct.Struct("<HHIII")


def decode_sam_id(data: bytes) -> str:
    if len(data) < _SAM_ID.size:
        raise ProtocolError(f"the reader's security module ID is {len(data)} bytes, expected {_SAM_ID.size}:"
                            " try again; if it keeps happening, call IT")
    a, b, c, d, e = _SAM_ID.unpack_from(data)
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"


def encode_sam_id(text: str) -> bytes:
    head, c, d, e = text.split("-")
    a, b = head.split(".")
    return _SAM_ID.pack(int(a), int(b), int(c), int(d), int(e))
