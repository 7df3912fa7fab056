"""Citizen ID numbers (GB 11643-1999): is this a number a person can have, and what it says.

Textual-free. `check()` answers with an `IdCheck`; a refusal carries a sentence a clerk can read
out. The rules are domain.md section 1:

- 18 characters: address code (GB/T 2260) + birth date + sequence (odd: male) + check character
  (ISO 7064 MOD 11-2, through `stdnum.cn.ric.calc_check_digit`);
- a real calendar date, not in the future;
- an address code that was in use at SOME time between the birth year and today. A number is
  assigned at registration, which can be years after birth, so the birth-year test of
  `stdnum.cn.ric.validate` is too strict (it rejects the standard's own example
  440524188001010014). The region table with its years is python-stdnum's `cn/loc` database
  (GB/T 2260 as kept on Wikipedia), read through `stdnum.numdb`: no hand-kept table here;
- trimmed, lower-case x and full-width digits accepted, anything else refused;
- legacy 15-digit numbers (GB 11643-1989) upgraded to 18 for look-up ("19" inserted after the
  address code, check character computed) and marked legacy: accepted for look-up, never printed;
- Hong Kong, Macau and Taiwan residents' residence permits (810000, 820000, 830000).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Iterator


from cabin.queue.errors import Said

# Residence permits of Hong Kong, Macau and Taiwan residents (港澳台居民居住证, since 2018).
# Not regions of GB/T 2260 (stdnum's table has 810000 and 820000 as the regions, not 830000):
# the three codes the permits use, named for the clerk.
PERMITS = {
    "810000": "香港特别行政区（港澳居民居住证）",
    "820000": "澳门特别行政区（港澳居民居住证）",
    "830000": "台湾（台湾居民居住证）",
}

_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class IdCheck:
    valid: bool
    number: str                 # normalised: 18 characters when it could be made so (a legacy number upgraded)
    reason: str | None = None   # why it is refused, for the clerk (a Said); None when valid
    region_code: str | None = None
    region: str | None = None   # e.g. 福建省厦门市湖里区; a residence permit says so
    birth: date | None = None
    sex: str | None = None      # "M" or "F"
    cross_region: bool = False  # the first two digits differ from the station's province (异地)
    legacy: bool = False        # typed as a 15-digit number (GB 11643-1989)
    permit: bool = False        # a Hong Kong, Macau or Taiwan resident's residence permit

    def as_dict(self) -> dict:
        """The CLI's JSON shape: dates as YYYY-MM-DD."""
        d = asdict(self)
        d["birth"] = self.birth.isoformat() if self.birth else None
        return d


def normalise(text: str) -> str:
    """Trimmed, full-width digits and x made ASCII, x upper-cased. Nothing else is changed:
    what is still not a digit or X is for `check` to refuse."""
    return text.strip().translate(_FULL_WIDTH)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    # stdnum is imported where it is used: its package imports ssl and pydoc (~13 ms), which
    # every command that merely checks typed text for an ID number would pay at start
    from stdnum.cn import ric

    return ric.calc_check_digit(first17 + "0")  # stdnum's helper expects the check position present


def upgrade(legacy15: str) -> str:
    """A 15-digit number (GB 11643-1989) as the 18-digit number it became: "19" after the address
    code, and the check character."""
    first17 = legacy15[:6] + "19" + legacy15[6:]
    return first17 + check_character(first17)


def looks_like_id(candidate: str) -> bool:
    """Could these 15 or 18 characters (digits; the 18th may be X) be someone's ID number, typed
    in passing, with a slip or two? Looser than `check` on purpose: it finds ID numbers in free
    text (kiosk/checks.py), where a mistyped number is as personal as a right one.

    18 characters: a real birth date 1900-2099 in characters 7-14, whatever the check
    character; or the right check character (stdnum) after a province code in use, whatever
    the date (the standard's own 1880 example, a slipped digit in the date). 15 digits: a real
    date 19YYMMDD in characters 7-12."""
    if len(candidate) == 18 and candidate[:17].isascii() and candidate[:17].isdigit() \
            and (candidate[17].isdigit() or candidate[17] == "X"):
        if _real_date(candidate[6:10], candidate[10:12], candidate[12:14]) and "1900" <= candidate[6:10] <= "2099":
            return True
        province = candidate[:2] + "0000"
        return check_character(candidate[:17]) == candidate[17] and (province in PERMITS or _lookup(province)[0] is not None)
    if len(candidate) == 15 and candidate.isascii() and candidate.isdigit():
        return _real_date("19" + candidate[6:8], candidate[8:10], candidate[10:12])
    return False


def _real_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def check(number: str, province: str = "35", *, today: date) -> IdCheck:
    """Is `number` a citizen ID number? `province` is the station's (two digits): a number from
    elsewhere is cross-region. `today` is the station's (its clock, its time zone), never the host's."""
    n = normalise(number)

    def refuse(reason: str, shown: str | None = None, legacy: bool = False) -> IdCheck:
        return IdCheck(valid=False, number=n if shown is None else shown, reason=reason, legacy=legacy)

    if not n:
        return refuse(Said("no ID number was given"))
    for i, c in enumerate(n, 1):
        if c not in _DIGITS and c != "X":
            if c.isspace():
                return refuse(Said("a space at position {position} is not allowed: an ID number has only digits"
                                   " and a final X", position=i))
            return refuse(Said('"{character}" at position {position} is not allowed: an ID number has only digits'
                               ' and a final X', character=c, position=i))
    if len(n) not in (15, 18):
        return refuse(Said("18 digits expected, got {count}", count=len(n)))
    if "X" in n[:-1]:
        return refuse(Said("X is allowed only as the last character, got X at position {position}",
                           position=n.index("X") + 1))
    if len(n) == 15 and n.endswith("X"):
        return refuse(Said("a 15-digit number has no check character: X at position 15 is not allowed"))

    legacy = len(n) == 15
    if legacy:
        n = upgrade(n)
    else:
        expected = check_character(n[:17])
        if n[17] != expected:
            return refuse(Said("the check character should be {expected}, not {typed}: a digit was probably mistyped",
                               expected=expected, typed=n[17]))

    y, m, d = n[6:10], n[10:12], n[12:14]
    try:
        birth = date(int(y), int(m), int(d))
    except ValueError:
        return refuse(Said("the birth date {birth} does not exist", birth=f"{y}-{m}-{d}"), legacy=legacy)
    if birth > today:
        return refuse(Said("born in the future: the birth date {birth} is after today", birth=birth.isoformat()),
                      legacy=legacy)

    code = n[:6]
    if code in PERMITS:
        region, permit = PERMITS[code], True
    else:
        permit = False
        region, why_not = _region(code, birth.year, today.year)
        if region is None:
            return refuse(why_not, legacy=legacy)

    return IdCheck(valid=True, number=n, region_code=code, region=region, birth=birth,
                   sex="M" if int(n[16]) % 2 else "F", cross_region=code[:2] != province,
                   legacy=legacy, permit=permit)


# -- the region table (stdnum's cn/loc.dat through stdnum.numdb) --------------------------------
# Each 6-digit code has one or more names, each with the years it was in use:
# `county="[1983-1994]郊区,[1995-]晋安区"`; no brackets: in use throughout; an empty start: since
# before the table begins (1980); an empty end: still in use.
_NAMED = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


@dataclass(frozen=True)
class _Name:
    start: int | None  # None: since before the table begins
    end: int | None    # None: still in use
    name: str

    def in_use(self, year: int) -> bool:
        return (self.start is None or self.start <= year) and (self.end is None or year <= self.end)

    def overlaps(self, first: int, last: int) -> bool:
        return (self.start is None or self.start <= last) and (self.end is None or first <= self.end)


def _parse_names(value: str) -> list[_Name]:
    names = []
    for part in value.split(","):
        start, end, name = _NAMED.match(part.strip()).groups()
        start_y = int(start) if start else None
        end_y = int(end) if end else None
        if start_y is not None and end_y is not None and start_y > end_y:
            # stdnum's data has a few "[1983-1982]name": in use until 1982, the start lost
            start_y = None
        names.append(_Name(start_y, end_y, name))
    return names


@lru_cache(maxsize=64)
def _province_table(province: str):
    """stdnum's cn/loc table for one province (two digits): its block of cn/loc.dat, the
    province's line and the lines indented under it, read by stdnum's own parser. A look-up
    needs no other province, and reading the whole 241 KB table cost a one-number
    `cabin id check` more than the rest of its work together."""
    from stdnum import numdb

    table = (Path(numdb.__file__).parent / "cn" / "loc.dat").read_bytes()  # stdnum's package data
    start = table.find(b"\n" + province.encode("ascii") + b" ")  # a province's line: two digits, unindented
    if start < 0:
        return numdb.read([])
    end = start + 1
    while (end := table.find(b"\n", end) + 1) and table[end:end + 1] == b" ":  # its codes are indented
        pass
    block = table[start + 1:end or len(table)].decode("utf-8").splitlines()
    return numdb.read(block)


@lru_cache(maxsize=4096)
def _lookup(code: str) -> tuple[str | None, tuple[_Name, ...]]:
    """The province's name and the code's names with their years (none: no such code)."""
    parts = _province_table(code[:2]).info(code)
    province = parts[0][1].get("province") if parts else None
    county = parts[1][1].get("county") if len(parts) > 1 and len(parts[1][0]) == 4 else None
    return province, tuple(_parse_names(county)) if county else ()


def _pick(names: tuple[_Name, ...], year: int) -> _Name | None:
    return next((x for x in names if x.in_use(year)), None)


def _region(code: str, birth_year: int, this_year: int) -> tuple[str | None, str]:
    """The region's name, or None and why not (a Said). A code counts if it was in use at some time
    between the birth year and this year. Named as it was in the birth year if it existed then,
    otherwise as it was when it first came into use after the birth (the likely registration)."""
    province, names = _lookup(code)
    if not names:
        return None, Said("no region {code} has ever existed", code=code)
    usable = [x for x in names if x.overlaps(birth_year, this_year)]
    if not usable:
        ended = [x.end for x in names if x.end is not None]
        if len(ended) < len(names):  # only a name that starts after this year: not in the data
            return None, Said("region {code} ({name}) is not in use yet", code=code, name=names[-1].name)
        return None, Said("region {code} ({name}) was abolished in {year}, before the birth in {birth_year}",
                          code=code, name=names[-1].name, year=max(ended), birth_year=birth_year)
    chosen = _pick(tuple(usable), birth_year) or min(usable, key=lambda x: x.start or 0)
    year = birth_year if chosen.in_use(birth_year) else chosen.start
    if code.endswith("0000"):  # a province-level code: its own name is the province's
        return chosen.name, ""
    parts = [province or ""]
    if not code.endswith("00"):  # a county under a prefecture: name the prefecture when it has a real name
        city = _pick(_lookup(code[:4] + "00")[1], year)
        if city is not None and city.name not in ("市辖区", "县") and "直辖" not in city.name:
            parts.append(city.name)
    parts.append(chosen.name)
    return "".join(parts), ""


def region_codes(year: int | None = None) -> Iterator[str]:
    """Every address code in stdnum's table (county, prefecture and province level) that was in
    use in `year`; with None, those still in use. Residence-permit codes are not included."""
    from stdnum import numdb

    for length, low, high, props, children in numdb.get("cn/loc").prefixes:
        if length != 2:
            continue
        for p in range(int(low), int(high) + 1):
            for clength, clow, chigh, cprops, _ in children:
                if clength != 4 or "county" not in cprops:
                    continue
                for c in range(int(clow), int(chigh) + 1):
                    names = _parse_names(cprops["county"])
                    if any((x.end is None) if year is None else x.in_use(year) for x in names):
                        yield f"{p:02d}{c:04d}"
