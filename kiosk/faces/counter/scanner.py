"""The hand scanner: it types the ticket's QR token (`CABIN1:...`) and Enter, like a keyboard.

The counter app feeds every key to a `ScanBuffer` before anything else sees it, so a scan works
on any screen, with or without a focused input. An upper-case "C" is held back; while the next
keys spell out the prefix `CABIN1:` and arrive within GAP seconds of each other, they are held
too; from the full prefix on, the keys are the token's and nobody else sees them, and Enter ends
it. Anything else releases the held keys, in order, to where they were going: a clerk typing a
capital C in a field sees it a fraction of a second later, nothing more. A scan that stops half
way (a gap, or a control key) is dropped and reported as incomplete.

No Textual here: the buffer holds whatever event objects it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

PREFIX = "CABIN1:"
GAP_SECONDS = 0.3     # a scanner types a character every few ms; a person, every 100 ms or more
MAX_TOKEN = 160       # a token is under 80 characters: anything longer is not one


@dataclass
class Fed:
    release: list = field(default_factory=list)   # events to pass on, in order
    token: str | None = None                      # a whole token, scanned
    incomplete: bool = False                      # a scan was dropped half way


class ScanBuffer:
    def __init__(self, gap: float = GAP_SECONDS, now: Callable[[], float] = time.monotonic):
        self.gap, self.now = gap, now
        self.text = ""
        self.held: list = []
        self.last = 0.0

    @property
    def scanning(self) -> bool:
        """The prefix has been seen: the keys are a token's."""
        return len(self.text) >= len(PREFIX)

    def _reset(self) -> list:
        held, self.text, self.held = self.held, "", []
        return held

    def expire(self) -> Fed:
        """Called now and then: a prefix half typed and left is released; a scan left half way is dropped."""
        if not self.text or self.now() - self.last <= self.gap:
            return Fed()
        if self.scanning:
            self._reset()
            return Fed(incomplete=True)
        return Fed(release=self._reset())

    def feed(self, key: str, character: str | None, event) -> Fed:
        out = self.expire()
        now = self.now()
        if not self.text:
            if character == PREFIX[0]:
                self.text, self.held, self.last = character, [event], now
                return out
            out.release.append(event)
            return out
        if not self.scanning:
            if character == PREFIX[len(self.text)]:
                self.text += character
                self.held.append(event)
                self.last = now
                if self.scanning:
                    self.held = []  # the prefix is the scanner's: nothing to give back
                return out
            out.release.extend(self._reset())
            out.release.append(event)
            return out
        if key == "enter":
            out.token = self.text
            self._reset()
            return out
        if character and character.isprintable() and len(self.text) < MAX_TOKEN:
            self.text += character
            self.last = now
            return out
        self._reset()
        out.incomplete = True
        out.release.append(event)
        return out
