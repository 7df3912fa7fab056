"""The served board's voice: the calls said by the browsers' own speakers (a TV's), not the host's.

The board process (served_app.py) tells the server each call it would say, as a small meta packet
on its stdout ({"type": "cabin_call", "ticket": "A001", "window": 1}); the quiet hours and
`[board] announce` are the board's to decide, as on `cabin board`. Here, in the server:

- each call becomes its WAV (kiosk/speech.py: the same voice, `repeat`, `english` and `volume` as
  on the host's speakers), one at a time and in the order the calls came, in a thread: seconds of
  synthesis never hold up the pages' frames;
- the newest `[board] backlog` sounds are kept, each under a number that only grows; a page
  listening to `/sounds` (server-sent events) is told each new one, and fetches and plays
  `/sounds/N.wav` itself, one after the other, never two at once, the oldest waiting one
  dropped past the backlog (served_page.html). A page joining says nothing of calls made before
  it came; one that reconnects resumes after the last number it heard of (Last-Event-ID), as far
  as those are still kept;
- a voice that fails is told to the pages (`trouble`) and on stderr; the next call is tried all
  the same.

Browsers refuse to play sound on a page nobody has touched: the page says so and asks for one
click (a TV's remote, a mouse), after which it plays every call.

No Textual and no station here.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from cabin.config.schema import Board
from cabin.kiosk.business.announce import Announcement, announcement
from cabin.kiosk.speech import Espeak, announcement_wav, wav_bytes
from cabin.queue.errors import CabinError

TICKET = re.compile(r"[A-Z]{1,3}[0-9]{1,6}")  # what the board process may ask to be said
KEEP_ALIVE_S = 15.0   # a comment line now and then: proxies and TV browsers keep the stream open
RETRY_MS = 2000       # a page whose stream broke tries again after this
SILENCE = wav_bytes(bytes(1600), 8000)  # 0.1 s: the page's first try, to learn whether it may play


@dataclass(frozen=True)
class Sound:
    number: int
    ticket: str
    window: int
    wav: bytes

    def event(self) -> bytes:
        data = json.dumps({"id": self.number, "ticket": self.ticket, "window": self.window})
        return f"id: {self.number}\nevent: call\ndata: {data}\n\n".encode()


def voice_missing(board: Board) -> str | None:
    """Why no call could be said, known before the first one (said when the server starts): the
    voice not installed, in kiosk/speech.py's words; starting it here also spares the first call
    the wait. None when it is there, or when the station names its own program."""
    if board.speech_command:
        return None
    try:
        Espeak.started()
    except CabinError as error:
        return str(error.said)
    return None


def trouble_event(text: str) -> bytes:
    return f"event: trouble\ndata: {json.dumps({'text': text}, ensure_ascii=False)}\n\n".encode()


class ServedVoice:
    """The sounds of the calls, made here and fetched by the pages."""

    def __init__(self, board: Board, synthesize: Callable[[Announcement], bytes] | None = None,
                 said_wrong: Callable[[str], None] | None = None):
        self.board = board
        self.synthesize = synthesize or (lambda said: announcement_wav(said, volume=board.volume,
                                                                        command=board.speech_command))
        self.said_wrong = said_wrong or (lambda text: print(f"cabin: {text}", file=sys.stderr, flush=True))
        self.sounds: OrderedDict[int, Sound] = OrderedDict()
        self.last_number = 0
        self.listeners: set[asyncio.Queue] = set()
        self._calls: asyncio.Queue | None = None
        self._maker: asyncio.Task | None = None

    # -- calls in -----------------------------------------------------------------------------
    def call(self, meta: dict) -> bool:
        """A call the board process asks to be said; False (and nothing said) for what is not one."""
        ticket, window = meta.get("ticket"), meta.get("window")
        if not (isinstance(ticket, str) and TICKET.fullmatch(ticket)
                and isinstance(window, int) and not isinstance(window, bool) and 0 < window < 1000):
            return False
        if self._calls is None:
            self._calls = asyncio.Queue()
            self._maker = asyncio.create_task(self._make())
        self._calls.put_nowait((ticket, window))
        return True

    async def _make(self) -> None:
        """Each call's WAV in turn, in a thread; then every page listening is told."""
        while True:
            ticket, window = await self._calls.get()
            try:
                self._tell(self._made(ticket, window, await self._wav(ticket, window)))
            except Exception as error:  # a voice that breaks must not end the board's voice
                why = error.said if isinstance(error, CabinError) else repr(error)
                text = f"the call of {ticket} to window {window} could not be said: {why}"
                self.said_wrong(text)
                self._tell(trouble_event(text))

    async def _wav(self, ticket: str, window: int) -> bytes:
        said = announcement(ticket, window, repeat=self.board.repeat, with_english=self.board.english)
        return await asyncio.to_thread(self.synthesize, said)

    def _made(self, ticket: str, window: int, wav: bytes) -> bytes:
        self.last_number += 1
        sound = Sound(self.last_number, ticket, window, wav)
        self.sounds[sound.number] = sound
        while len(self.sounds) > self.board.backlog:
            self.sounds.popitem(last=False)
        return sound.event()

    def _tell(self, event: bytes) -> None:
        for listener in self.listeners:
            listener.put_nowait(event)

    async def stop(self) -> None:
        if self._maker is not None:
            self._maker.cancel()
        for listener in self.listeners:
            listener.put_nowait(None)

    # -- pages out ----------------------------------------------------------------------------
    def after(self, last_event_id: str | None) -> list[Sound]:
        """What a page reconnecting missed: the sounds after the last one it was told of, if it
        says one it could have been told (a page new to the board: nothing)."""
        if last_event_id is None or not last_event_id.isascii() or not last_event_id.isdigit() or len(last_event_id) > 12:
            return []
        heard = int(last_event_id)
        if heard > self.last_number:
            return []
        return [s for n, s in self.sounds.items() if n > heard]

    async def stream(self, response, last_event_id: str | None) -> None:
        """Tell one page every new sound, until it goes away or the server stops."""
        listener: asyncio.Queue = asyncio.Queue()
        self.listeners.add(listener)
        try:
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            for sound in self.after(last_event_id):
                await response.write(sound.event())
            while True:
                try:
                    event = await asyncio.wait_for(listener.get(), KEEP_ALIVE_S)
                except asyncio.TimeoutError:
                    event = b": still here\n\n"
                if event is None:
                    return
                await response.write(event)
        except (ConnectionError, RuntimeError):
            return  # the page went away
        finally:
            self.listeners.discard(listener)

    def wav(self, number: str) -> bytes | None:
        if number == "silence":
            return SILENCE
        if not number.isascii() or not number.isdigit() or len(number) > 12:
            return None
        sound = self.sounds.get(int(number))
        return None if sound is None else sound.wav


__all__ = ["ServedVoice", "Sound", "SILENCE", "voice_missing"]
