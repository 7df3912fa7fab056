"""An announcement's WAV played on this host's speakers by a player program, start to end.

The station names its player in [board] player_command (an argv, {file} the WAV); otherwise the
first found on PATH of aplay (ALSA, on every Linux), paplay (PulseAudio/PipeWire) and ffplay.
A program, not an audio library: nothing to build, and the station's own player is one setting.
The file is written whole before the player starts and removed when it has finished.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from cabin.queue.errors import CabinError

KNOWN_PLAYERS = (
    ("aplay", "-q", "{file}"),
    ("paplay", "{file}"),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet", "{file}"),
)
PLAY_TIMEOUT_S = 120  # far above any announcement: a player that hangs must not stop the others


def find_player(configured: tuple[str, ...], path: str | None = None) -> tuple[str, ...] | None:
    """The player's argv: the configured one, else the first known player on `path` (PATH when
    None); None when there is none."""
    if configured:
        return configured
    return next((argv for argv in KNOWN_PLAYERS if shutil.which(argv[0], path=path)), None)


def play(argv: tuple[str, ...], wav: bytes, name: str = "call",
         started: Callable[[subprocess.Popen], None] | None = None) -> None:
    """Play `wav` with the player `argv` and return when it has finished. `name` goes in the
    file's name (a ticket, say), for whoever reads the player's process list; `started` is given
    the player's process (to end it early)."""
    safe = re.sub(r"[^A-Za-z0-9-]", "", name) or "call"
    with tempfile.TemporaryDirectory(prefix="cabin-play-") as folder:
        wav_file = Path(folder) / f"{safe}.wav"
        wav_file.write_bytes(wav)
        filled = [a.replace("{file}", str(wav_file)) for a in argv]
        try:
            process = subprocess.Popen(filled, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise CabinError("the player {program} was not found ([board] player_command)", program=argv[0]) from None
        if started:
            started(process)
        try:
            _, errors = process.communicate(timeout=PLAY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise CabinError("the player took more than {seconds} s ([board] player_command)",
                             seconds=PLAY_TIMEOUT_S) from None
        if process.returncode > 0:  # < 0: ended by a signal, the board's own when it leaves
            raise CabinError("the player failed (exit {code}): {why}", code=process.returncode,
                             why=errors.decode(errors="replace").strip() or "it said nothing")
