"""Errors the queue raises. Each message is one line a clerk can act on.

A refusal is written once, in English, as a template with named values:
`CabinError("{receipt} is {state}: only a requested card is approved", receipt=r, state=s)`.
The CLI and the logs print it as it reads; a face looks the template up in its catalog
(kiosk/faces/refusals.py) and says it in the clerk's language, values and all. `Said` is the same
thing for a reason handed back rather than raised (an ID number check's verdict, for one).
"""

from __future__ import annotations


class Said(str):
    """An English sentence that keeps its template and values, so it can be said again in
    another language. It is a plain `str` to everything that does not care."""

    template: str
    values: dict

    def __new__(cls, template: str, /, **values) -> "Said":
        said = super().__new__(cls, template.format(**values) if values else template)
        said.template, said.values = template, values
        return said

    def __reduce__(self):  # a str subclass with attributes pickles as itself, template and all
        return (_said, (self.template, self.values))


def _said(template: str, values: dict) -> Said:
    return Said(template, **values)


class CabinError(Exception):
    """Refused: nothing was changed, and the message says why (CLI exit code 1)."""

    def __init__(self, template: str = "", /, **values):
        self.said = template if isinstance(template, Said) and not values else Said(template, **values)
        super().__init__(self.said)


class NothingToCall(CabinError):
    """Call-next found nobody waiting for the window's services (CLI exit code 3)."""


class StoreError(CabinError):
    """The database cannot be used: locked, unwritable, damaged or from a newer Cabin."""
