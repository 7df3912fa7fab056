"""The words of a call announcement (叫号语音): what the lobby's speakers say for a call, and when
they stay silent. No I/O: kiosk/speech.py turns these words into sound.

The board shows "请 A001 号 到 1 号 窗口 办理"; said aloud, a hall reads the number as it is printed:
the letter as a letter and the digits one by one ("A 零零一", never "一": read as a number, A100
would be "一百"), and the window as a number ("十二号窗口"). A speech engine left to itself reads
"A100" as a number, so the text it is given spells every syllable out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cabin.queue.errors import CabinError

CHINESE_DIGITS = "零一二三四五六七八九"
ENGLISH_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TICKET = re.compile(r"([A-Z]+)([0-9]+)")  # queue/engine.py numbers tickets as a prefix and digits: A001
LARGEST_WINDOW = 999  # config/schema.py Window.number


@dataclass(frozen=True)
class Phrase:
    """One sentence in one language: "zh" (Mandarin) or "en"."""

    lang: str
    text: str


@dataclass(frozen=True)
class Announcement:
    """A call as the speakers say it: `shown`, the sentence as written (the board's words), and
    `phrases`, what is spoken, in order, every repetition included."""

    ticket: str
    window: int
    shown: str
    phrases: tuple[Phrase, ...]


def split_ticket(ticket: str) -> tuple[str, str]:
    """A001 -> ("A", "001"): the prefix letters and the digits."""
    match = TICKET.fullmatch(ticket)
    if not match:
        raise CabinError("{ticket} is not a ticket number like A001", ticket=ticket)
    return match[1], match[2]


def digits_one_by_one(digits: str) -> str:
    """"001" -> "零零一": each digit said on its own, as a ticket's number is read out."""
    return "".join(CHINESE_DIGITS[int(d)] for d in digits)


def chinese_number(n: int) -> str:
    """1 to 999 said as a number: 1 一, 10 十, 12 十二, 20 二十, 101 一百零一, 110 一百一十."""
    if not 1 <= n <= LARGEST_WINDOW:
        raise CabinError("window {window} is not a window number (1 to {largest})", window=n, largest=LARGEST_WINDOW)
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    said = ""
    if hundreds:
        said += CHINESE_DIGITS[hundreds] + "百"
    if tens:
        # 十二 alone, but 一百一十二: the leading 一 of the tens is said only after the hundreds
        said += ("" if tens == 1 and not hundreds else CHINESE_DIGITS[tens]) + "十"
    elif hundreds and ones:
        said += "零"  # 一百零一
    if ones:
        said += CHINESE_DIGITS[ones]
    return said


def shown_sentence(ticket: str, window: int) -> str:
    return f"请 {ticket} 号 到 {window} 号 窗口 办理"


def mandarin(ticket: str, window: int) -> str:
    """"请 A 零零一号 到 一号窗口 办理": the letters spaced (joined, a speech engine reads "AB" as an
    English word), the digits one by one, the window as a number."""
    letters, digits = split_ticket(ticket)
    return f"请 {' '.join(letters)} {digits_one_by_one(digits)}号 到 {chinese_number(window)}号窗口 办理"


def english(ticket: str, window: int) -> str:
    """"Number A, zero zero one, please go to window 1.": the digits one by one in English too."""
    letters, digits = split_ticket(ticket)
    chinese_number(window)  # the same refusal for a window out of range
    said_digits = " ".join(ENGLISH_DIGITS[int(d)] for d in digits)
    return f"Number {' '.join(letters)}, {said_digits}, please go to window {window}."


def announcement(ticket: str, window: int, repeat: int = 2, with_english: bool = False) -> Announcement:
    """The call of `ticket` to `window`: the Mandarin sentence (then the English one) `repeat` times."""
    once = (Phrase("zh", mandarin(ticket, window)),) + ((Phrase("en", english(ticket, window)),) if with_english else ())
    return Announcement(ticket, window, shown_sentence(ticket, window), once * repeat)


def is_quiet(quiet_hours: tuple[tuple[int, int], ...], minute_of_day: int) -> bool:
    """Whether a local time (minutes after midnight) falls in one of the quiet spans ((start, end)
    minutes, the end not included): calls still show on the board, but nothing is said."""
    return any(start <= minute_of_day < end for start, end in quiet_hours)
