"""Text typed at the counter or read from a device, made safe to store and to show.

A name or an address may hold any real character — rare hanzi beyond the Basic Multilingual
Plane, the middle dot of minority names (·), even private-use code points that some ID systems
use for characters Unicode lacks — but never control characters: an ESC sequence typed or
scanned into a field would later repaint the terminal of whoever reads the record, and a bidi
override would make one name display as another. Such input is refused with a reason, not
silently mangled: the clerk types it again.
"""

from __future__ import annotations

import re
import unicodedata

from cabin.queue import errors
from cabin.queue.errors import CabinError, Said

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST) and two-character ESC sequences.
_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_JOINERS = {"\u200c", "\u200d"}  # needed inside some scripts' words: allowed


def problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` cannot be stored (a Said), or None."""
    if _ESCAPE.search(text):
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


def printable(text: str) -> str:
    """For showing text that was stored before these rules, or came from elsewhere: every
    control, escape and invisible character made visible as \\xNN / \\uNNNN (the one rule, in
    cabin.queue.errors, that every refusal's values go through too)."""
    return errors.printable(text)
