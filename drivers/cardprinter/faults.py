"""What each card printer fault is called, and what the clerk is told to do about it.

Kinds (DeviceFault.kind): cover_open, feeder_empty, ribbon_out, jam, hopper_full, nack.
A NACK's code and a status word (codec.STATUS_WORDS, made by the driver from the guide's status
queries) both map onto these kinds, so the clerk reads the same sentence whichever way the
printer reported the trouble. NACK T (timeout or mechanical) is a jam when a card is inside
(`Rlr;p`), else a stop with no card inside (hopper_full: the usual cause is a full output tray).
"""

from __future__ import annotations

from ..errors import DeviceFault

MESSAGES = {
    "jam": "A card is jammed in the card printer (it is spoiled: shred it once it is out): open the cover,"
           " remove the jammed card, close it and press Reprint.",
    "cover_open": "The card printer's cover is open: close it and press Reprint.",
    "ribbon_out": "The card printer's ribbon is used up or missing: fit a new black (K) ribbon,"
                  " close the cover and press Reprint.",
    "feeder_empty": "The card printer's feeder is empty: load blank cards and press Reprint.",
    "hopper_full": "The card printer stopped with no card inside (its output tray is full?): take the printed"
                   " cards out and press Reprint.",
    "nack": "The card printer refused the command {command} ({meaning}): press Reprint; if it"
            " happens again, switch the printer off and on, and call the technician if it persists.",
}
PRIORITY = ("jam", "cover_open", "ribbon_out", "feeder_empty", "hopper_full")  # what to fix first
KIND_OF_NACK = {"T": "jam", "C": "cover_open", "R": "ribbon_out", "F": "feeder_empty", "1": "nack", "2": "nack"}
KIND_OF_WORD = {"CARD_INSIDE": "jam", "COVER_OPEN": "cover_open", "RIBBON_ENDED": "ribbon_out",
                "NO_RIBBON": "ribbon_out", "FEEDER_EMPTY": "feeder_empty"}


def fault(kind: str, *, command: str = "", meaning: str = "") -> DeviceFault:
    """The typed fault with the clerk's sentence. Raised only by a job that did not print."""
    text = MESSAGES[kind].format(command=command, meaning=meaning)
    return DeviceFault(kind, f"{text} (The card was not printed.)")


def kinds_of(words: tuple[str, ...]) -> list[str]:
    """The fault kinds a status reports, the one to fix first first; unknown words are ignored."""
    found = {KIND_OF_WORD[w] for w in words if w in KIND_OF_WORD}
    return [k for k in PRIORITY if k in found]
