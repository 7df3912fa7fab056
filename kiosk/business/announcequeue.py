"""The announcements waiting their turn on the lobby's speakers: one at a time, in the order the
calls were made. No I/O and no clock: the player asks for the next one when the speakers are free
and says when it has finished.

Ten windows calling at once make ten announcements of a few seconds each; they are all said, in
order. Only a backlog longer than [board] backlog (speakers silent for a long while, a player
that stopped) drops the oldest waiting one: a citizen called long ago is better served by the
board than by a voice that is minutes late.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

Said = TypeVar("Said")  # what is queued: an Announcement, or its sound


class AnnouncementQueue(Generic[Said]):
    def __init__(self, backlog: int):
        if backlog < 1:
            raise ValueError("a backlog holds at least one announcement")
        self.backlog = backlog
        self._waiting: deque[Said] = deque()
        self._playing: Said | None = None
        self._is_playing = False

    def add(self, said: Said) -> Said | None:
        """Queue `said` behind the others; returns the oldest waiting one if it was dropped to
        keep the backlog (the one playing is never cut off)."""
        self._waiting.append(said)
        if len(self._waiting) > self.backlog:
            return self._waiting.popleft()
        return None

    def next(self) -> Said | None:
        """The announcement to play now, or None: nothing waits, or one is still playing (they
        never overlap)."""
        if self._is_playing or not self._waiting:
            return None
        self._playing, self._is_playing = self._waiting.popleft(), True
        return self._playing

    def done(self) -> None:
        """The playing announcement has finished (or failed): the speakers are free."""
        if not self._is_playing:
            raise RuntimeError("no announcement is playing")
        self._playing, self._is_playing = None, False

    @property
    def playing(self) -> Said | None:
        return self._playing

    @property
    def waiting(self) -> tuple[Said, ...]:
        return tuple(self._waiting)
