"""Text typed at the counter or read from a device, made safe to store and to show.

A name or an address may hold any real character — rare hanzi beyond the Basic Multilingual
Plane, the middle dot of minority names (·), even private-use code points that some ID systems
use for characters Unicode lacks — but never control characters: an ESC sequence typed or
scanned into a field would later repaint the terminal of whoever reads the record, and a bidi
override would make one name display as another. Such input is refused with a reason, not
silently mangled: the clerk types it again.

A reason typed at the counter (why a number was typed by hand, why a card is voided, why a
record is revealed...) is kept whole in its record and for ever in the append-only audit log,
which no purge touches: it says why, never who. `clean_reason` refuses one that holds an ID
number or a phone number (the form has fields for those); names cannot be told from words, so
keeping them out is the clerk's part, and the faces say so beside every reason field.
"""

from __future__ import annotations

import re
import unicodedata

from cabin.queue import errors
from cabin.queue.errors import CabinError, Said

from cabin.kiosk.privacy import mask_id, mask_phone

# Where an ID number came from: read from the card, or typed by hand (with a reason).
SOURCES = ("reader", "manual")
MAX_ID = 2**63 - 1  # SQLite's INTEGER: every row id and ticket id fits
# Patterns are kept as text and compiled by the re module's own cache on first use: compiled here
# they cost every `cabin call` 0.8 ms of its start for checks it never makes.
_INTEGER = r"-?[0-9]+"

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST) and two-character ESC sequences.
_ESCAPE = r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])"
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_JOINERS = {"\u200c", "\u200d"}  # needed inside some scripts' words: allowed


def problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` cannot be stored (a Said), or None."""
    if re.search(_ESCAPE, text):
        return Said("it contains a terminal escape sequence")
    for ch in text:
        if ch in "\n\t" and multiline:
            continue
        if ch in _BIDI:
            return Said("it contains an invisible direction mark (U+{code})", code=f"{ord(ch):04X}")
        category = unicodedata.category(ch)
        if category == "Cc":
            return Said("it contains a control character (U+{code})", code=f"{ord(ch):04X}")
        if category == "Cs":
            return Said("it contains a broken character (a lone surrogate)")
        if category == "Cf" and ch not in _JOINERS:
            return Said("it contains an invisible formatting character (U+{code})", code=f"{ord(ch):04X}")
    return None


def clean(text: str, field: str, *, multiline: bool = False, max_length: int = 200) -> str:
    """The text, trimmed and in NFC, or CabinError naming the field and what is wrong."""
    if not isinstance(text, str):
        raise CabinError("the {field} must be text", field=field)
    reason = problem(text, multiline=multiline)
    if reason:
        raise CabinError("the {field} was not accepted: {reason}; type it again", field=field, reason=reason)
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > max_length:
        raise CabinError("the {field} is too long ({length} characters, at most {max_length})",
                         field=field, length=len(text), max_length=max_length)
    return text


def clean_required(text: str | None, field: str, *, max_length: int = 200) -> str:
    """`clean`, and not empty: a name, a place, a document's reference."""
    text = clean(text if text is not None else "", field, max_length=max_length)
    if not text:
        raise CabinError("the {field} cannot be empty", field=field)
    return text


def clean_phone(text: str | None) -> str:
    """A finder's phone number (the one phone a record holds) as typed: 5 to 20 ASCII digits,
    spaces and dashes dropped, a leading + kept."""
    phone = clean_required(text, "finder's phone", max_length=32).replace(" ", "").replace("-", "")
    digits = phone[1:] if phone.startswith("+") else phone
    if not digits.isascii() or not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise CabinError("the finder's phone must be 5 to 20 digits (spaces, dashes and a leading + allowed)")
    return phone


def check_source(source: str, reason: str | None) -> tuple[str, str | None]:
    """Where an ID number came from: the card reader, or typed by hand with a reason (SOURCES)."""
    if source not in SOURCES:
        raise CabinError('unknown identity source "{source}" (reader or manual)', source=source)
    if source == "manual":
        return source, clean_reason(reason, "reason for typing the number by hand")
    if reason is not None and reason.strip():
        return source, clean_reason(reason, "reason")
    return source, None


def ascii_int(text: str) -> int | None:
    """The integer written in ASCII digits (an optional minus), else None: `int()` and
    `str.isdigit()` also take ² and Arabic-Indic digits."""
    return int(text) if re.fullmatch(_INTEGER, text) else None


def record_number(text: str) -> int | None:
    """A record's number (a row id) as typed: ASCII digits from 1 to MAX_ID, else None."""
    value = ascii_int(text)
    return value if value is not None and 1 <= value <= MAX_ID else None


def printable(text: str) -> str:
    """For showing text that was stored before these rules, or came from elsewhere: every
    control, escape and invisible character made visible as \\xNN / \\uNNNN (the one rule, in
    cabin.queue.errors, that every refusal's values go through too)."""
    return errors.printable(text)


# -- personal numbers in free text -----------------------------------------------------------
# A number is found however it is typed: any script's digits (full-width ０-９ too), a final X
# or x (full-width too; an x that begins a word after the digits is taken for one, harmlessly: a
# phone is tried without it), and groups joined by up to three spaces, dashes or brackets
# ("350206 19900101 0017", "+86 138-1234-5678", "(0592) 555 1234"). Other characters end a
# number, so letters before or after do not hide one ("身份证350206199001010017号") and a
# ticket (A001) or receipt (LS-20261202-0001) is not one. A number is tried whole and as every
# run of its groups (a phone and an ID number typed side by side are both found); digits
# glued without a separator are one group, never split.
_SEPARATORS = " \u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d()\uff08\uff09"
_GROUP = r"[0-9]+X?"
_NUMBER = rf"{_GROUP}(?:[{re.escape(_SEPARATORS)}\s]{{1,3}}{_GROUP})*"
_LONGEST = 18  # an ID number; a phone with its country code (0086) is 15 at most
# Mobile: 1[3-9] and 9 more digits. Landline: area code 010, 02X or 0[3-9]XX, then a local
# number of 7 or 8 digits that does not start with 0. Either may start with the country code (86, 0086),
# a landline then without its 0. A local number without its area code is not told from other
# numbers and is let through.
_MOBILE = r"(?:0086|86)?1[3-9][0-9]{9}"
_LANDLINE = r"(?:0086|86|0)(?:10|2[0-9]|[3-9][0-9]{2})[1-9][0-9]{6,7}"


def _ascii_digits(text: str) -> str:
    """Every decimal digit of any script as 0-9, a full-width or lower-case x as X."""
    out = []
    for ch in text:
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch in "xｘＸ":
            out.append("X")
        else:
            out.append(ch)
    return "".join(out)


def _national(phone: str) -> str:
    """A phone number without its country code, as it is dialled at home."""
    for prefix in ("0086", "86"):
        if phone.startswith(prefix):
            rest = phone[len(prefix):]
            return rest if re.fullmatch(_MOBILE, rest) else "0" + rest
    return phone


def personal_number(text: str) -> Said | None:
    """What personal number `text` holds, masked, as a Said ("an ID number (350206********0017)",
    "a phone number (138****5678)"), or None. An ID number before a phone, then the first."""
    from cabin.kiosk.identity import looks_like_id  # the ID-number rule, loaded by the text that needs it

    runs = []
    for number in re.finditer(_NUMBER, _ascii_digits(text)):
        groups = re.findall(_GROUP, number.group(0))
        for start in range(len(groups)):
            run = ""
            for group in groups[start:]:
                if run.endswith("X"):
                    break  # an X ends an ID number: nothing follows it
                run += group
                if len(run) > _LONGEST:
                    break
                runs.append(run)
    for run in runs:
        if looks_like_id(run):
            return Said("an ID number ({number})", number=mask_id(run))
    for run in runs:
        digits = run.removesuffix("X")  # "13812345678x" is a phone and a stray x (an "x" of a word)
        if re.fullmatch(_MOBILE, digits) or re.fullmatch(_LANDLINE, digits):
            return Said("a phone number ({number})", number=mask_phone(_national(digits)))
    return None


def clean_reason(text: str | None, field: str, *, max_length: int = 200) -> str:
    """A reason or note typed by a clerk: `clean`, not empty, and no ID or phone number in it
    (`personal_number`): refused, naming what was found, masked, and where it belongs."""
    text = clean(text if text is not None else "", field, max_length=max_length)
    if not text:
        raise CabinError("the {field} cannot be empty", field=field)
    found = personal_number(text)
    if found is not None:
        raise CabinError("the {field} holds {found}: put it in its own field, not in the reason; a reason says"
                         " why, never who", field=field, found=found)
    return text
