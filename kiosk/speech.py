"""An announcement's phrases turned into sound: one WAV file (16-bit PCM, mono), offline.

The voice is espeak-ng's, in this process: libespeak-ng and its voice data come from the PyPI
package espeakng-loader (the `voice` extra), driven through ctypes with synchronous output, each
phrase's samples collected by a synth callback, in memory. A station with a better voice names
its own program instead ([board] speech_command): it is run once a phrase and writes a WAV.
Either way the phrases are joined with a short pause and scaled to [board] volume here.
"""

from __future__ import annotations

import ctypes
import io
import subprocess
import sys
import tempfile
import threading
import wave
from array import array
from pathlib import Path

from cabin.kiosk.business.announce import Announcement, Phrase
from cabin.queue.errors import CabinError

VOICES = {"zh": b"cmn", "en": b"en"}  # espeak-ng's voice for each language of a phrase
PAUSE_S = 0.7  # between two phrases: a repetition is heard as one
COMMAND_TIMEOUT_S = 60
SAMPLE_BYTES = 2  # 16-bit PCM: what espeak-ng gives, and what the volume is applied to

# espeak-ng's speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
CHARS_UTF8 = 1
PHONEMES_IPA = 0x02  # espeak_TextToPhonemes' phonememode: IPA; 0: espeak-ng's ASCII phoneme names
SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

class Espeak:
    """libespeak-ng, started once a process (its state is global: one caller at a time)."""

    _started: Espeak | None = None
    _lock = threading.Lock()

    @classmethod
    def started(cls) -> Espeak:
        with cls._lock:
            if cls._started is None:
                cls._started = cls()
            return cls._started

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise CabinError("no voice for the announcements: install espeak-ng's with pip install 'cabin[voice]', "
                             "or name a program in [board] speech_command") from None
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.rate <= 0:
            raise CabinError("espeak-ng did not start: its voice data is missing or damaged (reinstall espeakng-loader)")
        self.lib = lib
        self._pcm = bytearray()
        self._callback = SYNTH_CALLBACK(self._collect)  # kept here: ctypes must not free what C calls
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, samples: int, events) -> int:
        if wav and samples > 0:
            self._pcm += ctypes.string_at(wav, samples * SAMPLE_BYTES)
        return 0  # go on

    def _voice(self, lang: str) -> None:
        if self.lib.espeak_SetVoiceByName(VOICES[lang]) != 0:
            raise CabinError("espeak-ng has no voice for {lang}", lang=lang)

    def pcm(self, text: str, lang: str) -> bytes:
        """The phrase's samples: 16-bit mono at self.rate, in the machine's byte order."""
        with self._lock:
            self._voice(lang)
            self._pcm = bytearray()
            said = text.encode()
            if self.lib.espeak_Synth(said, len(said) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None) != 0:
                raise CabinError("espeak-ng could not say {text}", text=text)
            return bytes(self._pcm)

    def phonemes(self, text: str, lang: str, ipa: bool = False) -> list[str]:
        """The phonemes espeak-ng says for `text`, one string a clause (its own reading, not ours)."""
        with self._lock:
            self._voice(lang)
            rest = ctypes.c_char_p(text.encode())
            clauses = []
            while rest.value:  # espeak-ng reads one clause a call and moves `rest` past it
                clauses.append(self.lib.espeak_TextToPhonemes(ctypes.byref(rest), CHARS_UTF8,
                                                              PHONEMES_IPA if ipa else 0).decode())
            return clauses


def wav_bytes(pcm: bytes, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(SAMPLE_BYTES)
        w.setframerate(rate)
        w.writeframes(little_endian(pcm))
    return out.getvalue()


def little_endian(pcm: bytes) -> bytes:
    """WAV's byte order from the machine's (or back: the swap is its own inverse)."""
    if sys.byteorder == "little":
        return pcm
    samples = array("h", pcm)
    samples.byteswap()
    return samples.tobytes()


def scaled(pcm: bytes, volume: int) -> bytes:
    """16-bit samples at `volume` percent."""
    if volume == 100:
        return pcm
    samples = array("h", pcm)
    return array("h", (s * volume // 100 for s in samples)).tobytes()


def from_command(argv: tuple[str, ...], phrase: Phrase) -> tuple[bytes, int, int]:
    """(samples in the machine's byte order, rate, channels) of the station's own program saying
    `phrase`: {text}, {lang} and {out} in its arguments are replaced."""
    with tempfile.TemporaryDirectory(prefix="cabin-voice-") as folder:
        out = Path(folder) / "phrase.wav"
        filled = [a.replace("{text}", phrase.text).replace("{lang}", phrase.lang).replace("{out}", str(out))
                  for a in argv]
        try:
            run = subprocess.run(filled, capture_output=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise CabinError("the speech command {program} was not found ([board] speech_command)",
                             program=argv[0]) from None
        except subprocess.TimeoutExpired:
            raise CabinError("the speech command took more than {seconds} s ([board] speech_command)",
                             seconds=COMMAND_TIMEOUT_S) from None
        if run.returncode != 0:
            raise CabinError("the speech command failed (exit {code}): {why}", code=run.returncode,
                             why=run.stderr.decode(errors="replace").strip() or "it said nothing")
        try:
            with wave.open(str(out), "rb") as w:
                if w.getsampwidth() != SAMPLE_BYTES or w.getcomptype() != "NONE":
                    raise CabinError("the speech command must write 16-bit PCM WAV ([board] speech_command)")
                return little_endian(w.readframes(w.getnframes())), w.getframerate(), w.getnchannels()
        except (OSError, EOFError, wave.Error):
            raise CabinError("the speech command did not write a WAV file ([board] speech_command)") from None


def announcement_wav(announcement: Announcement, volume: int = 100, command: tuple[str, ...] = ()) -> bytes:
    """The whole announcement as one WAV file: its phrases in order, a pause between two."""
    spoken: list[bytes] = []
    form = None
    for phrase in announcement.phrases:
        if command:
            pcm, rate, channels = from_command(command, phrase)
        else:
            espeak = Espeak.started()
            pcm, rate, channels = espeak.pcm(phrase.text, phrase.lang), espeak.rate, 1
        if form not in (None, (rate, channels)):
            raise CabinError("the speech command wrote its phrases at different rates or channels")
        form = (rate, channels)
        spoken.append(pcm)
    rate, channels = form
    pause = bytes(int(PAUSE_S * rate) * channels * SAMPLE_BYTES)
    return wav_bytes(scaled(pause.join(spoken), volume), rate, channels)
