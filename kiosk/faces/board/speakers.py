"""The lobby's speakers, as `cabin board` drives them on its own host: one thread the board owns
takes the announcements from an AnnouncementQueue, makes each one's WAV (kiosk/speech.py) and
plays it with the player program (kiosk/player.py), waiting for it to end before the next: two
announcements never overlap, and they are said in the order the calls were made. No Textual here.

The board only adds; the thread does the slow part (seconds of synthesis and sound), so a burst
of calls never holds the screen up. What goes wrong with one announcement (the voice missing, the
player failing) is told through `trouble` and the next one is tried all the same.
"""

from __future__ import annotations

import subprocess
import threading
from typing import Callable

from cabin.config.schema import Board
from cabin.kiosk.business.announce import Announcement, announcement
from cabin.kiosk.business.announcequeue import AnnouncementQueue
from cabin.kiosk.player import play
from cabin.kiosk.speech import announcement_wav
from cabin.queue.errors import CabinError

STOP_WAIT_S = 5.0  # leaving the board: the playing announcement is cut off, the thread ends


class Speakers:
    def __init__(self, board: Board, player: tuple[str, ...], trouble: Callable[[CabinError], None]):
        self.board, self.player, self.trouble = board, player, trouble
        self._queue: AnnouncementQueue[Announcement] = AnnouncementQueue(board.backlog)
        self._changed = threading.Condition()
        self._stopping = False
        self.said = 0  # announcements queued so far
        self._process: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._run, name="board-speakers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def say(self, ticket: str, window: int) -> None:
        """Queue the call of `ticket` to `window` behind those waiting (the oldest dropped past the backlog)."""
        said = announcement(ticket, window, repeat=self.board.repeat, with_english=self.board.english)
        with self._changed:
            self._queue.add(said)
            self.said += 1
            self._changed.notify()

    @property
    def idle(self) -> bool:
        """Nothing playing, nothing waiting."""
        with self._changed:
            return self._queue.playing is None and not self._queue.waiting

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            process = self._process
            self._changed.notify()
        if process is not None and process.poll() is None:
            process.terminate()  # the board is leaving: no voice outlives it
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)

    def _started(self, process: subprocess.Popen) -> None:
        with self._changed:
            self._process = process
            stopping = self._stopping
        if stopping:  # stop() came while the player was starting
            process.terminate()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopping and (said := self._queue.next()) is None:
                    self._changed.wait()
                if self._stopping:
                    return
            try:
                wav = announcement_wav(said, volume=self.board.volume, command=self.board.speech_command)
                play(self.player, wav, name=said.ticket, started=self._started)
            except CabinError as error:
                if not self._stopping:
                    self.trouble(error)
            finally:
                with self._changed:
                    self._process = None
                    self._queue.done()
