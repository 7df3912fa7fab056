"""Text hygiene: real characters kept, control characters and escapes refused."""

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabin.kiosk.identity import check_character
from cabin.kiosk.privacy import mask_id
from cabin.kiosk.checks import clean, clean_reason, personal_number, printable, problem
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


# -- personal numbers in reasons --------------------------------------------------------------
ID = "350206199001010017"  # a valid number (Huli, 1990-01-01)


@pytest.mark.parametrize("reason, found", [
    (f"王五 {ID}", "an ID number (350206********0017)"),                     # the example
    ("350206 19900101 0017 came in person", "an ID number (350206********0017)"),
    ("350206-1990-0101-0017", "an ID number (350206********0017)"),
    ("３５０２０６１９９００１０１００１７", "an ID number (350206********0017)"),  # full-width digits
    ("٣٥٠٢٠٦١٩٩٠٠١٠١٠٠١٧", "an ID number (350206********0017)"),            # Arabic-Indic digits
    ("身份证350206199001010017号", "an ID number (350206********0017)"),
    ("11010519491231002x", "an ID number (110105********002X)"),             # lower-case check character
    ("11010519491231002ｘ", "an ID number (110105********002X)"),            # full-width x
    ("350206199001010018", "an ID number (350206********0018)"),             # a wrong check character
    ("440524188001010014", "an ID number (440524********0014)"),             # 1880: the check character tells
    ("old card 350206900101001", "an ID number (350206*****1001)"),          # 15 digits (GB 11643-1989)
    ("call 13812345678", "a phone number (138****5678)"),
    ("13812345678xiaoli", "a phone number (138****5678)"),                  # an x after it is a word's
    ("+86 138-1234-5678", "a phone number (138****5678)"),
    ("8613812345678", "a phone number (138****5678)"),
    ("0086 138 1234 5678", "a phone number (138****5678)"),
    ("１３８１２３４５６７８", "a phone number (138****5678)"),
    ("0592-1234567", "a phone number (059****4567)"),
    ("(0592) 555 1234", "a phone number (059****1234)"),
    ("（0592）5551234", "a phone number (059****1234)"),
    ("010-62345678", "a phone number (010****5678)"),
    ("+86 592 5551234", "a phone number (059****1234)"),
    ("13812345678 and 350206199001010017", "an ID number (350206********0017)"),  # the ID number first
])
def test_a_reason_with_an_id_or_phone_number_is_refused(reason, found):
    assert personal_number(reason) == found
    with pytest.raises(CabinError) as info:
        clean_reason(reason, "reason")
    message = str(info.value)
    assert message == (f"the reason holds {found}: put it in its own field, not in the reason; a reason says why,"
                       " never who")
    digits = "".join(str(unicodedata.decimal(c)) for c in reason if c.isdecimal())
    assert ID not in message and "13812345678" not in message and "5551234" not in message
    assert not any(len(run) >= 11 and run in message for run in (digits, digits[-11:]))


@pytest.mark.parametrize("reason", [
    "card damaged", "reader broken at window 3", "A001", "ticket A001 then A002 and A003",
    "receipt LS-20261202-0001", "SL-20261202-0001 GS-20261202-0002", "came at 2026-12-02 13:30",
    "2026年12月2日 09:00 来办", "fee 15 yuan, window 3", "receipts 0001 0002 0003", "lane 5551234",
    "35020619900101001",       # 17 digits: not a number of any kind
    "3502061990010100171",     # 19 digits glued: not split into an ID number
    "202612021030001234",      # 18 digits, no date where a birth date stands, wrong check character
    "1764633600000",           # a timestamp in ms
    "陈大明 (father) says the main card came in time",                      # names: the clerk's part
])
def test_a_reason_with_a_ticket_receipt_or_other_number_is_kept(reason):
    assert personal_number(reason) is None
    assert clean_reason(reason, "reason") == reason


def test_a_reason_is_cleaned_and_never_empty():
    with pytest.raises(CabinError, match="the reason cannot be empty"):
        clean_reason("  ", "reason")
    with pytest.raises(CabinError, match="escape sequence"):
        clean_reason("ok\x1b[2J", "reason")
    assert clean_reason("  card damaged ", "reason") == "card damaged"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 1)), st.integers(0, 999),
       st.sampled_from(["", " ", "-", "　", " - "]), st.text(alphabet="窗口原因 abc", max_size=8),
       st.text(alphabet="窗口原因 abc", max_size=8))
def test_any_id_number_in_any_layout_is_found(born, sequence, gap, before, after):
    first17 = f"350206{born:%Y%m%d}{sequence:03d}"
    number = first17 + check_character(first17)
    typed = gap.join([number[:6], number[6:14], number[14:]])
    assert personal_number(f"{before}{typed}{after}") == f"an ID number ({mask_id(number)})"


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=300))
def test_text_without_digits_never_holds_a_personal_number(text):
    assert personal_number(text) is None


# -- the shared rules that lived in lostfound.py and cli/args.py --------------------------------
def test_check_source_and_clean_required():
    from cabin.kiosk.checks import SOURCES, check_source, clean_phone, clean_required

    assert SOURCES == ("reader", "manual")
    assert check_source("reader", None) == ("reader", None)
    assert check_source("reader", "  ") == ("reader", None)
    assert check_source("manual", "card is cracked") == ("manual", "card is cracked")
    for source, reason, why in [("manual", None, "cannot be empty"), ("scanner", None, "unknown identity source"),
                                ("manual", "call 13812345678", "a phone number (138****5678)")]:
        with pytest.raises(CabinError, match=re.escape(why)):
            check_source(source, reason)
    assert clean_required("  湖里区 ", "place") == "湖里区"
    with pytest.raises(CabinError, match="the place cannot be empty"):
        clean_required(None, "place")
    assert clean_phone("+86 138-1234-5678") == "+8613812345678"
    with pytest.raises(CabinError, match="5 to 20 digits"):
        clean_phone("１３８１２３４５６７８")  # full-width digits are not ASCII


def test_a_record_number_is_ascii_digits_within_sqlites_integer():
    from cabin.kiosk.checks import MAX_ID, ascii_int, record_number

    assert [record_number(t) for t in ("1", "0042", str(MAX_ID))] == [1, 42, MAX_ID]
    assert [record_number(t) for t in ("0", "-3", str(MAX_ID + 1), "²", "١٢", "1.0", "")] == [None] * 7
    assert ascii_int("-12") == -12 and ascii_int("+12") is None
