"""fontconfig set up as a test needs it, through a configuration file of its own
(`FONTCONFIG_FILE`): no font at all (a fresh machine, what the whole suite runs with: see
conftest.py), or just the font files a test puts in a folder (a station that installed one).

Fonts are made from the packaged WenQuanYi Micro Hei with fontTools: one with a character
added (CJK Extension B's 𠈌, drawn as 王) and one with characters taken out, so a test can have
a system font that covers what the packaged one lacks, or that lacks what it has.
"""

from __future__ import annotations

import os
from pathlib import Path

from cabin.drivers import fonts

MACHINE_FONTCONFIG = os.environ.get("FONTCONFIG_FILE")  # as the machine had it, for Chromium
EXT_B = "𠈌"  # U+2020C: a rare name character the packaged font lacks


def fontconfig(folder: Path, *font_dirs: Path) -> Path:
    """A fontconfig file that finds the fonts in `font_dirs` and nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "fonts.conf"
    dirs = "".join(f"<dir>{d}</dir>" for d in font_dirs)
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                    f"<fontconfig>{dirs}<cachedir>{folder / 'cache'}</cachedir></fontconfig>\n", encoding="utf-8")
    return conf


def use(conf: Path | str | None) -> None:
    """Make this process (and what it starts) use `conf`, None: the machine's own."""
    if conf is None:
        os.environ.pop("FONTCONFIG_FILE", None)
    else:
        os.environ["FONTCONFIG_FILE"] = str(conf)
    fonts.candidates.cache_clear()


def machine_env(env: dict | None = None) -> dict:
    """`env` (default: this process's) with the machine's own fontconfig, for Chromium."""
    env = dict(os.environ if env is None else env)
    env.pop("FONTCONFIG_FILE", None)
    if MACHINE_FONTCONFIG:
        env["FONTCONFIG_FILE"] = MACHINE_FONTCONFIG
    return env


def derived_font(out: Path, add: str = "", remove: str = "") -> Path:
    """The packaged font saved as a TTF with the characters of `add` mapped (to the glyph of 王)
    and those of `remove` unmapped."""
    from fontTools.ttLib import TTFont

    packaged = fonts.packaged_font()
    font = TTFont(packaged.path, fontNumber=packaged.index)
    glyph = font.getBestCmap()[ord("王")]
    for table in font["cmap"].tables:
        for c in add:
            if ord(c) <= 0xFFFF or table.format in (12, 13):
                table.cmap[ord(c)] = glyph
        for c in remove:
            table.cmap.pop(ord(c), None)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    return out


def latin_font(out: Path) -> Path:
    """The packaged font cut down to ASCII: a font fontconfig does not tag as Chinese."""
    from fontTools import subset

    packaged = fonts.packaged_font()
    options = subset.Options()
    options.font_number = packaged.index
    font = subset.load_font(packaged.path, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(out), options)
    return out
