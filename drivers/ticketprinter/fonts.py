"""The Chinese font for drawing tickets, found through fontconfig.

`fc-match` always answers with some font, even one without a single Chinese glyph (asked for
`:lang=zh` it may well return DejaVu Sans), so the answer is only taken when the font's own
language list covers Chinese.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass

from ..errors import DeviceError

PACKAGES = "fonts-noto-cjk or fonts-wqy-zenhei"


class FontMissing(DeviceError):
    """No Chinese font: tickets cannot be drawn (raster fallback, simulator renderings)."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0  # the face inside a .ttc collection


@functools.lru_cache(maxsize=1)
def cjk_font() -> FontFile:
    for pattern in (":lang=zh-cn", ":lang=zh"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{lang}", pattern],
                                 capture_output=True, text=True, timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            break  # no fontconfig at all
        path, _, rest = out.partition("\n")
        index, _, langs = rest.partition("\n")
        if path and any(lang.startswith("zh") for lang in langs.split("|")):
            return FontFile(path, int(index or 0))
    raise FontMissing(
        "no Chinese font is installed, so tickets cannot be drawn: install one with"
        f" `apt-get install {PACKAGES}` (Debian/Ubuntu; fontconfig must find it: `fc-list :lang=zh`)"
    )
