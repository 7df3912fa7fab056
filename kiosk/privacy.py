"""Personal data as Cabin shows it: one masking rule for each kind (domain.md section 6).

Screens, tickets, receipts, exports, audit entries, exceptions and reprs show personal data only
through these functions; the whole of it only through the audited reveal (business/reveal.py).

- an ID number, and any other card, permit or pass number: the first 6 and the last 4
  characters, the rest stars (`350206********1234`). A number of 10 characters or fewer is
  starred whole: 6 and 4 of it would be all of it. (The reader's record used to keep the last 4
  of such a number, the ID checks starred it whole: the safer of the two stands.)
- a name: the first character, the surname, and one star (`王*`). A two-character surname such
  as 欧阳 shows one character: the mask errs on the side of showing less.
- a phone number: the first 3 and the last 4 digits (`138****5678`); 7 digits or fewer starred
  whole.
- a card read from the reader: its names and numbers masked as above, and no address, photo,
  fingerprint or birth date (the birth date is digits 7 to 14 of the ID number: it would unmask it).

Nothing to mask (None or "") is returned as it is, so an absent value stays absent.
"""

from __future__ import annotations

import dataclasses


KEPT_HEAD, KEPT_TAIL = 6, 4   # of an ID number
PHONE_HEAD, PHONE_TAIL = 3, 4


def _keep_ends(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]


def mask_id(number: str | None) -> str | None:
    """An ID (card, permit, pass) number as it may be shown: 350206********1234. The number is
    normalised first (trimmed, full-width digits made ASCII), as the ID checks read it."""
    if not number:
        return number
    from cabin.kiosk.identity import normalise  # loaded by a number to mask, not by every import

    return _keep_ends(normalise(number), KEPT_HEAD, KEPT_TAIL)


def mask_name(name: str | None) -> str | None:
    """Surname plus `*`: 陈*."""
    if not name:
        return name
    return name[0] + "*"


def mask_phone(phone: str | None) -> str | None:
    """The first 3 and the last 4 digits: 138****5678."""
    if not phone:
        return phone
    return _keep_ends(phone, PHONE_HEAD, PHONE_TAIL)


def mask_card(card):
    """A card read (cabin.drivers.idreader.IdCard) as screens and exports may show it."""
    return dataclasses.replace(
        card, name=mask_name(card.name), name_en=mask_name(card.name_en),
        id_number=mask_id(card.id_number), pass_number=mask_id(card.pass_number),
        address="", photo=b"", fingerprint=b"", birth=None,
    )
