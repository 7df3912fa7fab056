"""Text hygiene: real characters kept, control characters and escapes refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabin.kiosk.text import clean, printable, problem
from cabin.queue.errors import CabinError


@pytest.mark.parametrize("name", ["陈𠮷", "阿依古丽·买买提", "José Núñez", "王\ue000明", "  李四  ", "ภาษาไทย"])
def test_real_names_are_kept(name):
    assert clean(name, "name") == name.strip()


def test_nfc():
    assert clean("Jose\u0301", "name") == "José"


@pytest.mark.parametrize("bad,why", [
    ("张三\x1b[2J", "escape sequence"),
    ("张三\x1b]0;owned\x07", "escape sequence"),
    ("张\x00三", "control character (U+0000)"),
    ("张\x7f三", "control character (U+007F)"),
    ("张三\u202e四李", "direction mark (U+202E)"),
    ("张\u200b三", "formatting character (U+200B)"),
    ("张\ud842三", "lone surrogate"),
    ("line\nbreak", "control character (U+000A)"),
])
def test_controls_are_refused_with_a_reason(bad, why):
    with pytest.raises(CabinError, match=f"the name was not accepted: it contains .*{why.split('(')[0].strip()}"):
        clean(bad, "name")
    assert why in problem(bad)


def test_multiline_allows_line_breaks_only():
    assert clean("厦门市\n湖里区", "address", multiline=True) == "厦门市\n湖里区"
    with pytest.raises(CabinError):
        clean("厦门市\r\n湖里区", "address", multiline=True)


def test_length_limit():
    with pytest.raises(CabinError, match="too long"):
        clean("x" * 201, "place")


def test_printable_shows_what_was_hidden():
    assert printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert printable("陈𠮷") == "陈𠮷"


@given(st.text())
def test_clean_either_refuses_or_returns_safe_text(text):
    try:
        result = clean(text, "field", max_length=10_000)
    except CabinError:
        return
    assert problem(result) is None
    assert "\x1b" not in result
