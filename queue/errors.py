"""Errors the queue raises. Each message is one line a clerk can act on.

A refusal is written once, in English, as a template with named values:
`CabinError("{receipt} is {state}: only a requested card is approved", receipt=r, state=s)`.
The CLI and the logs print it as it reads; a face looks the template up in its catalog
(kiosk/faces/refusals.py) and says it in the clerk's language, values and all. `Said` is the same
thing for a reason handed back rather than raised (an ID number check's verdict, for one).
"""

from __future__ import annotations

import re
import unicodedata

# Shown to a person, a value from outside (typed, scanned, a file's name, a device's answer) is
# cut to this many characters: a refusal is one line a clerk reads, not an echo of 10 kB.
VALUE_LIMIT = 200
_CUT = re.compile(r"(?s)(.*)…\[cut, [0-9]+ characters\]")
_JOINERS = frozenset("\u200c\u200d")  # needed inside some scripts' words: shown as they are


def printable(text: str) -> str:
    """`text` with every character that could drive a terminal or hide what the line says made
    visible as \\xNN / \\uNNNN: controls (C0, DEL, C1: escape sequences), lone surrogates
    (undecodable bytes of a command line), line and paragraph separators, and the invisible
    formatting characters (bidi overrides and marks) but for the zero-width joiners."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and ch not in _JOINERS):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def shown(value: object, limit: int = VALUE_LIMIT) -> str:
    """The one sanitiser for input shown back in a message: printable, and cut to `limit`
    characters with a marker that says how long it was."""
    text = printable(str(value))
    if len(text) > limit and not _CUT.fullmatch(text):  # cut once: a cut value said again stays as it is
        text = f"{text[:limit]}…[cut, {len(text)} characters]"
    return text


def _shown_value(value: object) -> object:
    """A template's value as a message may show it: a Said is already made of shown values and
    numbers cannot hide anything; anything else is shown() when it needs to be."""
    if isinstance(value, (Said, bool, int, float)) or value is None:
        return value
    text = str(value)
    safe = shown(text)
    return safe if safe != text or isinstance(value, str) else value


class Said(str):
    """An English sentence that keeps its template and values, so it can be said again in
    another language. It is a plain `str` to everything that does not care."""

    template: str
    values: dict

    def __new__(cls, template: str, /, **values) -> "Said":
        # every value goes through the one sanitiser: no refusal, in the CLI or in a face, can
        # echo an escape sequence or 10 kB of what someone typed
        values = {name: _shown_value(value) for name, value in values.items()}
        said = super().__new__(cls, template.format(**values) if values else template)
        said.template, said.values = template, values
        return said

    def __reduce__(self):  # a str subclass with attributes pickles as itself, template and all
        return (_said, (self.template, self.values))


def _said(template: str, values: dict) -> Said:
    return Said(template, **values)


class CabinError(Exception):
    """Refused: nothing was changed, and the message says why (CLI exit code 1)."""

    exit_code = 1  # the CLI's exit code for it (kiosk/cli/app.py EXIT_CODES)

    def __init__(self, template: str = "", /, **values):
        self.said = template if isinstance(template, Said) and not values else Said(template, **values)
        super().__init__(self.said)


class NothingToCall(CabinError):
    """Call-next found nobody waiting for the window's services (CLI exit code 3)."""

    exit_code = 3


class StoreError(CabinError):
    """The database cannot be used: locked, unwritable, damaged or from a newer Cabin."""


class Unreachable(StoreError):
    """The database server cannot be reached (it restarted, the network is gone, the connection
    was killed): nothing of the operation was written, unless the connection was lost while its
    COMMIT was on the way. The store connects again on its next use; a face shows itself offline
    and reconnecting until then."""


class Conflict(StoreError):
    """Another host changed the same rows at the same moment (PostgreSQL's serialization failure
    or deadlock): nothing was written, and running the whole operation again is safe. The
    operations of the engine and the counter's services do so themselves (cabin.queue.conflicts);
    one still refused after that reaches the clerk as "try again"."""
