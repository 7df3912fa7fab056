"""The Chinese font, one rule for everything Cabin draws: ticket renderings, the card face, the
export chart.

In this order:
1. a font file set in the configuration (`[temporary_card] font`, `[dispenser] font`,
   `[export] font`) is used as it is;
2. else a system font that fontconfig tags as Chinese, in fontconfig's own order of preference,
   when it has every character of the text to draw (a station that installed a font with CJK
   Extension B gets rare names such as 𠈌 printed);
3. else the font that comes with Cabin's dependencies: WenQuanYi Micro Hei (package
   `paperang-p2-fonts-cjk`, pinned; the file is byte for byte Debian's fonts-wqy-microhei
   0.2.0-beta, Apache 2.0 or GPL 3 with the font exception), which has the whole CJK Unified
   Ideographs block as GB 18030 has it (U+4E00..U+9FA5, 20,902 characters). So `pip install`
   is enough on a machine without a single Chinese font.

When no candidate has every character, the one that lacks the fewest is returned: a ticket or a
chart is still drawn, while the card face refuses to print a missing-glyph box
(`cabin.kiosk.business.cardface.check_font`).

`fc-match` answers every question with some font, even one without a single Chinese glyph
(asked for `:lang=zh` it may well return DejaVu Sans), so only fonts whose own language list
covers Chinese are taken from it.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import DeviceError

PACKAGED_MODULE = "paperang_p2_fonts_cjk"
PACKAGED_FILE = "fonts/wqy-microhei.ttc"


class FontMissing(DeviceError):
    """No usable font: a configured file that is not there, or an installation without Cabin's font."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0        # the face inside a .ttc collection
    origin: str = "system"  # "configured", "system" (fontconfig) or "packaged"


def cjk_font(text: str = "", configured: str = "", setting: str = "") -> FontFile:
    """The font to draw `text` with (see the module's docstring for the order).

    `configured` is a font file from the configuration, `setting` names where it was set, for the
    message when the file is not there."""
    if configured:
        if not Path(configured).is_file():
            raise FontMissing(f"the font {configured} ({setting or 'configured'}) does not exist")
        return FontFile(configured, 0, "configured")
    fonts = candidates()
    needed = {ord(c) for c in text if not c.isspace()}
    if not needed or len(fonts) == 1:  # nothing to choose between: no character map to read
        return fonts[0]
    return min(fonts, key=lambda f: len(needed - characters(f.path, f.index)))  # the first of equals


@functools.lru_cache(maxsize=1)
def candidates() -> tuple[FontFile, ...]:
    """fontconfig's Chinese fonts in its order of preference, then the packaged one."""
    return system_fonts() + (packaged_font(),)


def packaged_font() -> FontFile:
    try:
        path = resources.files(PACKAGED_MODULE).joinpath(PACKAGED_FILE)
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise FontMissing("Cabin's own Chinese font is not installed: reinstall Cabin with its dependencies"
                          " (pip install paperang-p2-fonts-cjk)")
    return FontFile(str(path), 0, "packaged")


def system_fonts() -> tuple[FontFile, ...]:
    try:
        out = subprocess.run(["fc-match", "--sort", "--format", "%{file}\t%{index}\t%{lang}\n", ":lang=zh-cn"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()  # no fontconfig at all
    found, seen = [], set()
    for line in out.splitlines():
        path, index, langs = (line.split("\t") + ["", ""])[:3]
        if (path, index) in seen or not any(lang.startswith("zh") for lang in langs.split("|")):
            continue
        seen.add((path, index))
        found.append(FontFile(path, int(index or 0), "system"))
    return tuple(found)


@functools.lru_cache(maxsize=16)
def characters(path: str, index: int = 0) -> frozenset[int]:
    """The code points the font has a glyph for, from its own character map."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=index, lazy=True) as f:
            return frozenset(f.getBestCmap() or {})
    except Exception:  # a file fontconfig lists but fontTools cannot read: it has nothing for us
        return frozenset()


def missing_characters(text: str, path: str, index: int = 0) -> list[str]:
    """The characters of `text` the font has no glyph for (white space needs none)."""
    have = characters(path, index)
    return sorted({c for c in text if not c.isspace() and ord(c) not in have})
