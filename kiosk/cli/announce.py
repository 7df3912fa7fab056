"""`cabin announce TICKET --window N --out FILE.wav`: the call's announcement as the lobby's
speakers would play it, written to a WAV file (to hear the voice, or for a station that plays
files through its own system). [board] decides the repetitions, English, volume and voice; quiet
hours and `announce = false` do not apply: the file is asked for."""

from __future__ import annotations

from pathlib import Path

from cabin.kiosk.cli import args
from cabin.kiosk.cli.app import EXIT_OK, emit


def cmd_announce(ctx) -> int:
    from cabin.kiosk.business.announce import announcement
    from cabin.kiosk.speech import announcement_wav
    from cabin.queue.reports.exportfiles import AtomicFiles

    a = ctx.args
    board = ctx.config.board
    said = announcement(a.ticket, a.window, repeat=board.repeat, with_english=board.english)
    wav = announcement_wav(said, volume=board.volume, command=board.speech_command)
    out = Path(a.out)
    files = AtomicFiles(out.parent)  # whole or not at all: a player never gets half a file
    files.add(out.name, wav)
    files.commit()
    seconds = wav_seconds(wav)
    result = {"ticket": said.ticket, "window": said.window, "shown": said.shown, "out": str(out),
              "seconds": round(seconds, 2), "phrases": [{"lang": p.lang, "text": p.text} for p in said.phrases]}
    emit(a, result, f"{out}: {said.shown} ({seconds:.1f} s, said {board.repeat}x)")
    return EXIT_OK


def wav_seconds(wav: bytes) -> float:
    import io
    import wave

    with wave.open(io.BytesIO(wav)) as w:
        return w.getnframes() / w.getframerate()


def declare(commands) -> None:
    p = commands.command("announce", cmd_announce)
    p.add_argument("ticket", metavar="TICKET", help="the ticket number called, like A001")
    p.add_argument("--window", type=args.integer(1, 999, "a window number"), required=True,
                   help="the window it is called to (1 to 999)")
    p.add_argument("--out", type=args.path, required=True, metavar="FILE.wav", help="the WAV file to write")
