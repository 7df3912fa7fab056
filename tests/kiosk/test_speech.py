"""The announcement said aloud (kiosk/speech.py): espeak-ng's Mandarin voice in this process,
or the station's own program as a real process.

What is heard is checked with espeak-ng's own phoneme output (its reading of the text, not
Cabin's string) and with the samples themselves: the length, the loudness, the pauses."""

from __future__ import annotations

import io
import math
import re
import sys
import textwrap
import wave
from array import array

import pytest

from cabin.kiosk.business.announce import announcement, english, mandarin
from cabin.kiosk.speech import PAUSE_S, Espeak, announcement_wav, scaled
from cabin.queue.errors import CabinError



@pytest.fixture(scope="module")
def espeak() -> Espeak:
    return Espeak.started()


def syllables(phonemes: list[str]) -> list[str]:
    """espeak-ng's ASCII phonemes of a Mandarin text cut into syllables: each Mandarin syllable
    carries its tone as digits (214, 35, 51, 55), a final -n or -N after them; a stretch in
    another language is marked (en)...(cmn) and kept whole."""
    out = []
    for word in "".join(phonemes).split("_|"):
        word = word.strip()
        if word.startswith("(en)"):
            out.append(word)
        elif word:
            out.extend(re.findall(r"\D+?\d+[nN]?", word))
    return out


def test_a001_at_window_1_is_said_syllable_by_syllable(espeak):
    said = syllables(espeak.phonemes(mandarin("A001", 1), "zh"))
    assert list(zip("请A零零一号到一号窗口办理", said)) == [
        ("请", "tS;h'i214N"),
        ("A", "(en)'eI(cmn)"),  # the letter as a letter: espeak-ng switches to English for it
        ("零", "l'i35N"), ("零", "l'i35N"), ("一", "ji35"), ("号", "X'Au51"),  # líng líng yí hào: one by one
        ("到", "t'Au51"),
        ("一", "ji35"), ("号", "X'Au51"),  # window 一 (yí before the 4th tone of 号: espeak-ng's tone sandhi)
        ("窗", "ts.hwA55N"), ("口", "kh'ou214"),
        ("办", "pa51n"), ("理", "l'i214"),
    ]
    assert len(said) == 13


def test_a_hundred_is_said_digit_by_digit_and_window_12_as_twelve(espeak):
    said = syllables(espeak.phonemes(mandarin("B100", 12), "zh"))
    assert said[1:6] == ["(en)b'i:(cmn)", "j'i55", "l'i35N", "l'i35N", "X'Au51"]  # B 一零零号
    assert said[7:10] == ["s.'i.35", "'@r51", "X'Au51"]  # 十二号
    # left to itself, espeak-ng reads the printed number as a number: 一百 (yī bǎi), 12 too
    naive = syllables(espeak.phonemes("请B100号到12号窗口办理", "zh"))
    assert "p'ai214" in naive


def test_english_digits_one_by_one(espeak):
    assert espeak.phonemes(english("A001", 1), "en") == ["n'Vmb3r- 'eI", "z'i@roU z'i@roU w,0n",
                                                          "pl'i:z g,oU t@ w'IndoU w'0n"]


def read(wav: bytes) -> tuple[array, int, int]:
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getsampwidth() == 2 and w.getcomptype() == "NONE"
        samples = array("h", w.readframes(w.getnframes()))
        if sys.byteorder == "big":
            samples.byteswap()
        return samples, w.getframerate(), w.getnchannels()


def rms(samples) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if len(samples) else 0.0


def longest_silence(samples) -> tuple[int, int]:
    """(start, length) of the longest run of zero samples."""
    best, start = (0, 0), None
    for i, s in enumerate(list(samples) + [1]):
        if s == 0 and start is None:
            start = i
        elif s != 0 and start is not None:
            best, start = max(best, (i - start, start)), None
    return best[1], best[0]


# espeak-ng's output differs by a few samples between two sayings of the same text (its state
# between calls): lengths are compared within this many samples
JITTER = 200


def test_the_wav_is_the_sentence_twice_with_a_pause(espeak):
    twice, rate, channels = read(announcement_wav(announcement("A001", 1)))
    once, _, _ = read(announcement_wav(announcement("A001", 1, repeat=1)))
    assert (rate, channels) == (espeak.rate, 1)
    assert 2.0 < len(once) / rate < 6.0, "a dozen syllables take a few seconds"
    assert rms(once) > 1000, "not silent"
    pause = int(PAUSE_S * rate)
    assert abs(len(twice) - (2 * len(once) + pause)) < JITTER
    start, length = longest_silence(twice)
    assert length >= pause and abs(start - len(once)) < rate // 2, "the pause between the two sayings"
    assert rms(twice[:start]) > 1000 and rms(twice[start + length:]) > 1000


def test_english_after_the_mandarin(espeak):
    zh = read(announcement_wav(announcement("A001", 1, repeat=1)))[0]
    en = read(announcement_wav(announcement("A001", 1, repeat=1, with_english=True)))[0]
    after = len(zh) + int(PAUSE_S * espeak.rate)
    assert len(en) > after + espeak.rate, "a second of English at least"
    assert rms(en[after + JITTER:]) > 1000


def test_volume(espeak):
    assert scaled(array("h", [0, 1, -1, 100, -100, 32767, -32768]).tobytes(), 50) == \
        array("h", [0, 0, -1, 50, -50, 16383, -16384]).tobytes()
    full = read(announcement_wav(announcement("A001", 1, repeat=1)))[0]
    half = read(announcement_wav(announcement("A001", 1, repeat=1), volume=50))[0]
    assert 0.45 < rms(half) / rms(full) < 0.55
    assert not any(read(announcement_wav(announcement("A001", 1, repeat=1), volume=0))[0])


# -- the station's own program ---------------------------------------------------------------
VOICE_PROGRAM = textwrap.dedent("""
    # a stand-in for a better voice: a tone whose length follows the words, and a log of what it was asked
    import math, struct, sys, wave
    text, lang, out, log = sys.argv[1:5]
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{lang}|{text}\\n")
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(100 * len(text)))
    with wave.open(out, "wb") as w:
        w.setnchannels(1); w.setsampwidth(int(sys.argv[5]) if len(sys.argv) > 5 else 2); w.setframerate(16000)
        w.writeframes(frames)
""")


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "voice.py"
    path.write_text(VOICE_PROGRAM, encoding="utf-8")
    return path


def test_the_station_program_says_each_phrase_in_order(tmp_path, program):
    log = tmp_path / "said.log"
    said = announcement("C042", 3, repeat=2, with_english=True)
    samples, rate, channels = read(announcement_wav(said, command=(sys.executable, str(program), "{text}", "{lang}",
                                                                   "{out}", str(log))))
    assert log.read_text(encoding="utf-8").splitlines() == [
        "zh|请 C 零四二号 到 三号窗口 办理", "en|Number C, zero four two, please go to window 3.",
    ] * 2
    assert (rate, channels) == (16000, 1)
    spoken = sum(100 * len(p.text) for p in said.phrases)
    assert len(samples) == spoken + 3 * int(PAUSE_S * 16000)


@pytest.mark.parametrize("argv,message", [
    (("no-such-voice-program", "{text}", "{out}"), "the speech command no-such-voice-program was not found"),
    ((sys.executable, "-c", "import sys; sys.exit('out of voices')", "{text}", "{out}"),
     "the speech command failed (exit 1): out of voices"),
    ((sys.executable, "-c", "pass", "{text}", "{out}"), "the speech command did not write a WAV file"),
])
def test_a_failing_program_is_said_so(argv, message):
    with pytest.raises(CabinError) as refused:
        announcement_wav(announcement("A001", 1), command=argv)
    assert message in str(refused.value)


def test_a_program_writing_8_bit_samples_is_refused(tmp_path, program):
    with pytest.raises(CabinError, match="must write 16-bit PCM WAV"):
        announcement_wav(announcement("A001", 1), command=(sys.executable, str(program), "{text}", "{lang}", "{out}",
                                                           str(tmp_path / "log"), "1"))
