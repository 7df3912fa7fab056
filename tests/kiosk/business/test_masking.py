"""One masking rule for each kind of personal data (kiosk/privacy.py, domain.md section 6): a
table of inputs and what is shown, and every output that masks going through it."""

from __future__ import annotations

import pytest

from cabin.drivers.idreader import CardType, sample_cards
from cabin.kiosk import devices
from cabin.kiosk.checks import personal_number
from cabin.kiosk.privacy import mask_card, mask_id, mask_name, mask_phone


@pytest.mark.parametrize("number, shown", [
    ("350206198503121234", "350206********1234"),       # a citizen ID number: 6 and 4
    ("11010519491231002x", "110105********002X"),       # normalised as the checks read it
    (" ３５０２０６１９８５０３１２１２３４ ", "350206********1234"),  # full-width, untrimmed
    ("350206850312123", "350206*****2123"),             # a legacy 15-digit number
    ("USA350075082101", "USA350*****2101"),             # a foreigner's permanent residence number
    ("35020619850", "350206*9850"),                     # 11 characters: one star
    ("3502061985", "**********"),                       # 10 or fewer: starred whole (the safer rule)
    ("H12345678", "*********"),                         # a travel permit's number
    ("1234", "****"),
    ("", ""),
    (None, None),
])
def test_an_id_number_keeps_its_first_6_and_last_4(number, shown):
    assert mask_id(number) == shown


def test_mask_keeps_the_first_6_and_last_4():  # (from test_identity.py, where the rule was)
    assert mask_id("350206198501011234") == "350206********1234"
    assert mask_id(" 11010519491231002x ") == "110105********002X"
    assert mask_id("350206850101123") == "350206*****1123"
    assert mask_id("123") == "***"


@pytest.mark.parametrize("name, shown", [
    ("王秀英", "王*"),
    ("陈𠮷", "陈*"),
    ("𠮷野", "𠮷*"),          # a character beyond the BMP is one character
    ("欧阳修", "欧*"),         # a two-character surname shows one: less, never more
    ("SMITH, JOHN", "S*"),
    ("", ""),                 # nothing to mask stays as it was
    (None, None),
])
def test_a_name_is_its_surname_and_one_star(name, shown):
    assert mask_name(name) == shown


@pytest.mark.parametrize("phone, shown", [
    ("13812345678", "138****5678"),
    ("05925551234", "059****1234"),
    ("5551234", "*******"),   # 7 digits or fewer: starred whole
    ("", ""),
    (None, None),
])
def test_a_phone_keeps_its_first_3_and_last_4(phone, shown):
    assert mask_phone(phone) == shown


def test_a_card_read_is_masked_by_the_same_rules():
    for card in sample_cards():
        shown = mask_card(card)
        assert shown.name == mask_name(card.name) and shown.name_en == mask_name(card.name_en)
        assert shown.id_number == mask_id(card.id_number) and shown.pass_number == mask_id(card.pass_number)
        assert (shown.address, shown.photo, shown.fingerprint, shown.birth) == ("", b"", b"", None)
        assert (shown.card_type, shown.valid_to) == (card.card_type, card.valid_to)
    resident = sample_cards()[0]
    assert (mask_card(resident).id_number, mask_card(resident).name) == ("350206********0019", "陈*")
    permit = next(c for c in sample_cards() if c.card_type is CardType.J)
    assert mask_card(permit).pass_number == "*********"  # 9 characters: nothing of it is shown


def test_the_cli_record_and_the_refusals_use_the_rule():
    card = sample_cards()[0]
    record = devices.masked_record(card)
    assert record["id_number"] == "350206********0019" and record["name"] == "陈*" and record["address"] == ""
    assert record["photo"] == "" and record["photo_bytes"] == len(card.photo)
    assert str(personal_number("call 350206198503120019 back")) == "an ID number (350206********0019)"
    assert str(personal_number("ring 13812345678")) == "a phone number (138****5678)"
