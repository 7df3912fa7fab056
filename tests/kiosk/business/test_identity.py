"""ID numbers (domain.md section 1): kiosk/identity.py and `cabin id check`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabin.kiosk import identity
from cabin.kiosk.identity import check

from clikit import run_cli

TODAY = date(2026, 5, 1)

# Checked here by the standard's own arithmetic, not through stdnum, so the two agree by test.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def mod11_2(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def ok(number: str, province: str = "35") -> identity.IdCheck:
    r = check(number, province=province, today=TODAY)
    assert r.valid, r.reason
    assert r.reason is None
    return r


def refused(number: str, *needles: str, province: str = "35") -> identity.IdCheck:
    r = check(number, province=province, today=TODAY)
    assert not r.valid
    assert r.reason and "\n" not in r.reason
    for needle in needles:
        assert needle in r.reason, r.reason
    assert (r.region_code, r.region, r.birth, r.sex) == (None, None, None, None)
    return r


# -- the known-good numbers --------------------------------------------------------------------
def test_the_standards_examples_are_valid():
    # 110105 朝阳区, born 1949-12-31, sequence 002: even, female
    r = ok("11010519491231002X")
    assert (r.number, r.region_code, r.birth, r.sex, r.legacy) == ("11010519491231002X", "110105", date(1949, 12, 31), "F", False)
    assert r.region == "北京市朝阳区"
    # 440524 潮阳县 existed 1983-1993 only; born 1880: stdnum.cn.ric.validate rejects it, the
    # rule "in use at some time between birth and today" accepts it
    r = ok("440524188001010014")
    assert (r.region_code, r.birth, r.sex) == ("440524", date(1880, 1, 1), "M")
    assert r.region == "广东省汕头市潮阳县"


def test_huli_created_1987_takes_a_1985_birth():
    # 35020619850101123 + check: weighted sum 210 (worked out in test_legacy_15_digits_are_upgraded),
    # 210 % 11 = 1 -> "0"
    r = ok("350206198501011230")
    assert (r.region_code, r.region, r.birth, r.sex, r.cross_region) == (
        "350206", "福建省厦门市湖里区", date(1985, 1, 1), "M", False)


def test_a_region_is_named_as_it_was_when_the_number_was_likely_assigned():
    # 350111: [1983-1994]郊区, [1995-]晋安区
    assert ok("350111198501011236").region == "福建省福州市郊区"    # in use in the birth year
    assert ok("35011120000101123X").region == "福建省福州市晋安区"
    assert ok("350111197001011235").region == "福建省福州市郊区"  # neither in 1970: the first in use after


def test_prefecture_and_province_level_codes_are_in_the_table():
    assert ok("350200198501011232").region == "福建省厦门市"
    assert ok("350000198501011231").region == "福建省"


# -- refusals, each with its reason -------------------------------------------------------------
def test_wrong_length():
    refused("11010519491231002", "18 digits expected, got 17")
    refused("1101051949123100", "18 digits expected, got 16")
    refused("11010519491231002X1", "18 digits expected, got 19")


def test_nothing_given():
    refused("", "no ID number")
    refused("   ", "no ID number")


def test_wrong_characters():
    refused("110105-19491231002X", '"-" at position 7', "only digits and a final X")
    refused("110105 19491231002X", "a space at position 7")
    refused("11010519491231002Y", '"Y" at position 18')
    refused("１１０１０５１９４９１２３１００２Ｙ", '"Ｙ" at position 18')  # full-width letters other than X
    refused("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "position 1")  # other scripts' digits are not ours


def test_x_only_at_the_end():
    refused("11010519491231X02X", "X is allowed only as the last character", "position 15")
    refused("35020685010112X", "a 15-digit number has no check character")


def test_wrong_check_character():
    refused("110105194912310023", "the check character should be X, not 3: a digit was probably mistyped")
    refused("110105194912310020", "should be X, not 0")


def test_impossible_dates():
    refused("350206199002301238", "the birth date 1990-02-30 does not exist")
    refused("350206199013011236", "the birth date 1990-13-01 does not exist")


def test_born_in_the_future():
    refused("350206203001011238", "born in the future", "2030-01-01")
    assert check("350206203001011238", today=date(2030, 1, 1)).valid  # born today is fine


def test_unknown_region():
    refused("99999919850101123X", "no region 999999 has ever existed")


def test_region_abolished_before_the_birth():
    refused("440524199501010014", "region 440524", "abolished in 1993", "1995")


# -- input hygiene -----------------------------------------------------------------------------
def test_trimmed_lower_case_x_and_full_width():
    assert ok("  11010519491231002x \t").number == "11010519491231002X"
    assert ok("１１０１０５１９４９１２３１００２ｘ").number == "11010519491231002X"
    assert ok("１１０１０５１９４９１２３１００２Ｘ").number == "11010519491231002X"
    assert ok("\u300011010519491231002X\u3000").number == "11010519491231002X"  # a full-width space around it


# -- legacy numbers ----------------------------------------------------------------------------
def test_legacy_15_digits_are_upgraded():
    # 350206 850101 123 -> 35020619850101123 + check. By hand, digits x weights:
    # 3*7 + 5*9 + 0*10 + 2*5 + 0*8 + 6*4 + 1*2 + 9*1 + 8*6 + 5*3 + 0*7 + 1*9 + 0*10 + 1*5 + 1*8 + 2*4 + 3*2
    # = 21 + 45 + 0 + 10 + 0 + 24 + 2 + 9 + 48 + 15 + 0 + 9 + 0 + 5 + 8 + 8 + 6 = 210;
    # 210 % 11 = 1, and remainder 1 maps to "0" (1 0 X 9 8 7 6 5 4 3 2).
    r = ok("350206850101123")
    assert (r.number, r.legacy, r.birth, r.sex, r.region_code) == ("350206198501011230", True, date(1985, 1, 1), "M", "350206")
    assert identity.upgrade("350206850101123") == "350206198501011230"
    # 110105 491231 002 -> the standard's 11010519491231002X
    assert ok("110105491231002").number == "11010519491231002X"
    assert ok("１１０１０５４９１２３１００２").legacy


def test_legacy_numbers_are_checked_too():
    refused("350206900230123", "the birth date 1990-02-30 does not exist")
    refused("999999850101123", "no region 999999")
    assert refused("999999850101123").legacy


# -- cross-region and permits ------------------------------------------------------------------
def test_cross_region_is_against_the_stations_province():
    assert ok("11010519491231002X", province="35").cross_region
    assert not ok("11010519491231002X", province="11").cross_region
    assert not ok("350206198501011230", province="35").cross_region
    assert ok("350206198501011230", province="44").cross_region


@pytest.mark.parametrize("number, where", [
    ("810000196001011237", "香港"),   # born before 1997: the permit code is not a birth-year region
    ("820000199001011240", "澳门"),
    ("830000199001011250", "台湾"),   # not in stdnum's table at all
])
def test_hong_kong_macau_taiwan_residence_permits(number, where):
    r = ok(number)
    assert r.permit and r.cross_region
    assert where in r.region and "居住证" in r.region
    refused(number[:17] + ("1" if number[17] != "1" else "2"), "check character")


def test_ordinary_numbers_are_not_permits():
    assert not ok("350206198501011230").permit


# -- the property ------------------------------------------------------------------------------
CURRENT_CODES = sorted(identity.region_codes())


def test_the_region_table_comes_from_stdnum():
    assert len(CURRENT_CODES) > 3000
    assert {"350203", "350205", "350206", "350211", "350212", "350213"} <= set(CURRENT_CODES)
    assert "440524" not in CURRENT_CODES and "440524" in set(identity.region_codes(1990))


@st.composite
def valid_numbers(draw) -> str:
    code = draw(st.sampled_from(CURRENT_CODES))
    birth = draw(st.dates(min_value=date(1800, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    first17 = f"{code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + mod11_2(first17)


@settings(max_examples=300, deadline=None)
@given(valid_numbers())
def test_every_well_formed_number_is_valid(number):
    r = ok(number)
    assert r.number == number
    assert r.birth == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert r.sex == ("M" if int(number[16]) % 2 else "F")
    assert r.cross_region == (number[:2] != "35")
    assert r.region


@settings(max_examples=300, deadline=None)
@given(valid_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_character_change_is_caught(number, position, replacement):
    if number[position] == replacement:
        replacement = "X" if replacement != "X" else "0"
    changed = number[:position] + replacement + number[position + 1:]
    r = check(changed, today=TODAY)
    assert not r.valid, f"{number} -> {changed} passed"
    if replacement != "X":  # a digit for a digit: the checksum is what catches it
        assert "check character" in r.reason, r.reason


# -- `cabin id check` --------------------------------------------------------------------------
@pytest.fixture
def run(monkeypatch):
    """`cabin id ...` through the real parser, in this process (tests/clikit.py); `id check`
    needs no database, so the one it would open does not exist."""
    monkeypatch.setenv("CABIN_DB", "/nonexistent/never-opened.sqlite")

    def run(*argv):
        return tuple(run_cli(argv))

    return run


KEYS = ["valid", "number", "reason", "region_code", "region", "birth", "sex", "cross_region"]


def test_cli_valid_json(run):
    code, out, err = run("id", "check", "３５０２０６１９８５０１０１１２３０", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert list(result) == KEYS
    assert result == {"valid": True, "number": "350206198501011230", "reason": None, "region_code": "350206",
                      "region": "福建省厦门市湖里区", "birth": "1985-01-01", "sex": "M", "cross_region": False}


def test_cli_cross_region_against_the_configured_province(run):
    code, out, _ = run("--json", "id", "check", "11010519491231002x")
    assert code == 0
    assert json.loads(out)["cross_region"] is True  # the shipped station is in province 35


def test_cli_valid_text_is_masked(run):
    code, out, err = run("id", "check", "350206850101123")
    assert code == 0 and err == ""
    assert "350206********1230" in out and "350206198501011230" not in out
    assert "湖里区" in out and "legacy" in out


def test_cli_invalid_json(run):
    code, out, err = run("id", "check", "110105194912310023", "--json")
    assert code == 1
    assert err == "cabin: the check character should be X, not 3: a digit was probably mistyped\n"
    result = json.loads(out)
    assert list(result) == KEYS
    assert result["valid"] is False and result["number"] == "110105194912310023"
    assert result["reason"] == "the check character should be X, not 3: a digit was probably mistyped"
    assert result["birth"] is None and result["region_code"] is None


def test_cli_invalid_text(run):
    code, out, err = run("id", "check", "1101051949123100")
    assert (code, out) == (1, "")
    assert err == "cabin: 18 digits expected, got 16\n"


def test_cli_usage(run):
    code, out, err = run("id", "check")
    assert code == 2 and "NUMBER" in err
    code, out, _ = run("id", "check", "--json")
    assert code == 2 and json.loads(out)["exit"] == 2
