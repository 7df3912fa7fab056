"""The region look-up reads only the province's block of python-stdnum's cn/loc.dat (a start-up
cost: the whole table is 241 KB); it must answer exactly as the whole table does, for every code
the table holds and for codes it does not."""

from __future__ import annotations

from stdnum import numdb

from cabin.kiosk import identity


def every_code_of_the_table() -> list[str]:
    codes = []
    for length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        assert length == 2, "a province is two digits"
        for province in range(int(low), int(high) + 1):
            codes.append(f"{province:02d}0000")
            for clength, clow, chigh, _cprops, _ in children:
                assert clength == 4
                codes += [f"{province:02d}{c:04d}" for c in range(int(clow), int(chigh) + 1)]
    return codes


def test_the_province_block_answers_as_the_whole_table():
    whole = numdb.get("cn/loc")
    codes = every_code_of_the_table()
    assert len(codes) > 6000  # every county, prefecture and province code, abolished ones too
    unknown = ["990101", "000000", "350299", "830000", "123456"]
    for code in codes + unknown:
        assert identity._province_table(code[:2]).info(code) == whole.info(code), code


def test_a_province_block_holds_that_province_only():
    fujian = identity._province_table("35")
    assert [(length, low, high) for length, low, high, _, _ in fujian.prefixes] == [(2, "35", "35")]
    assert fujian.prefixes[0][3] == {"province": "福建省"}
    assert identity._province_table("99").prefixes == []  # no such province: an empty table
