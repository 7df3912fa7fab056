"""Errors the queue raises. Each message is one line a clerk can act on."""


class CabinError(Exception):
    """Refused: nothing was changed, and the message says why (CLI exit code 1)."""


class NothingToCall(CabinError):
    """Call-next found nobody waiting for the window's services (CLI exit code 3)."""


class StoreError(CabinError):
    """The database cannot be used: locked, unwritable, damaged or from a newer Cabin."""
