"""cabin.drivers.fonts: the packaged font, fontconfig's fonts, the configured file, in that order
of last resort to first choice — with fontconfig set up by each test (tests/fontsetup.py)."""

from __future__ import annotations

import hashlib

import pytest

import fontsetup
from cabin.drivers import fonts
from cabin.drivers.fonts import FontMissing, cjk_font
from fontsetup import EXT_B

# Debian's fonts-wqy-microhei 0.2.0-beta-3.1 ships the same file, byte for byte
PACKAGED_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"


@pytest.fixture(scope="module")
def made_fonts(tmp_path_factory):
    """Three font folders: one with a font that has 𠈌 but lacks 喆 (a name character outside
    GB 2312, so fontconfig still tags the font Chinese), one with a Latin-only font, and one with
    a plain copy of the packaged font."""
    base = tmp_path_factory.mktemp("fonts")
    fontsetup.derived_font(base / "extb" / "extb-no-zhe.ttf", add=EXT_B, remove="喆")
    fontsetup.latin_font(base / "latin" / "latin.ttf")
    (base / "copy").mkdir()
    (base / "copy" / "system-cjk.ttc").write_bytes(open(fonts.packaged_font().path, "rb").read())
    return base


@pytest.fixture
def system(tmp_path, made_fonts):
    """system("extb", "latin", ...): fontconfig finds the fonts of those folders only."""
    def use(*folders: str) -> None:
        fontsetup.use(fontsetup.fontconfig(tmp_path / "fc", *(made_fonts / f for f in folders)))

    yield use
    fontsetup.use(fontsetup.fontconfig(tmp_path / "fc-empty"))


def test_the_packaged_font_is_the_pinned_file_and_has_the_whole_block():
    font = fonts.packaged_font()
    assert font.origin == "packaged"
    with open(font.path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == PACKAGED_SHA256
    have = fonts.characters(font.path, font.index)
    assert sum(c in have for c in range(0x4E00, 0x9FA6)) == 20_902   # CJK Unified Ideographs, GB 18030
    assert fonts.missing_characters("临时居民身份证 公民身份号码 业务量统计 厦门市公安局湖里分局", font.path) == []
    assert fonts.missing_characters(f"陈𠮷{EXT_B}", font.path) == sorted(["𠮷", EXT_B])


def test_with_no_font_on_the_machine_the_packaged_one_draws_everything(system):
    system()
    assert fonts.system_fonts() == ()
    assert cjk_font().origin == "packaged" and cjk_font("王秀英").origin == "packaged"
    assert cjk_font(f"王{EXT_B}").origin == "packaged"   # nothing has it: the card refuses (cardface)


def test_a_system_chinese_font_wins_when_it_has_the_text(system, made_fonts):
    system("copy")
    chosen = cjk_font("王秀英")
    assert (chosen.origin, chosen.path) == ("system", str(made_fonts / "copy" / "system-cjk.ttc"))
    assert cjk_font().path == chosen.path


def test_a_system_font_is_passed_over_for_a_text_it_lacks(system, made_fonts):
    system("extb")
    extb = str(made_fonts / "extb" / "extb-no-zhe.ttf")
    assert [f.path for f in fonts.system_fonts()] == [extb]
    assert cjk_font(f"陈{EXT_B}").path == extb           # the rare name: only the system font has it
    assert cjk_font("王喆").origin == "packaged"           # 喆: only the packaged font has it
    assert cjk_font(f"喆{EXT_B}").path == extb            # neither has both: fontconfig's first, one short


def test_a_font_fontconfig_does_not_tag_chinese_is_never_taken(system):
    system("latin")
    assert fonts.system_fonts() == ()
    assert cjk_font("A001").origin == "packaged"


def test_a_configured_font_is_used_as_it_is(made_fonts, tmp_path):
    latin = str(made_fonts / "latin" / "latin.ttf")
    assert cjk_font("王", configured=latin) == fonts.FontFile(latin, 0, "configured")
    with pytest.raises(FontMissing, match=r"the font /nowhere\.ttf \(\[export\] font\) does not exist"):
        cjk_font("王", configured="/nowhere.ttf", setting="[export] font")


def test_an_installation_without_the_packaged_font_says_what_to_do(monkeypatch):
    monkeypatch.setattr(fonts, "PACKAGED_MODULE", "no_such_font_package")
    with pytest.raises(FontMissing, match="reinstall Cabin with its dependencies"):
        fonts.packaged_font()


def test_an_unreadable_font_file_has_no_characters(tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    assert fonts.characters(str(bad)) == frozenset()
