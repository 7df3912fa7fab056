"""The bars of the `GS k` barcodes a thermal printer draws itself, as module widths.

The simulator needs them to print what a printer would (no barcode library is a runtime
dependency, and these symbologies are small): each function takes the data bytes exactly as
`GS k` carries them and returns the widths of the alternating bars and spaces, bar first, in
narrow modules; None when the printer would refuse the data (it prints nothing then).
"""

from __future__ import annotations

# ESC/POS `GS k m` (form A numbering; form B is m + 65).
UPC_A, UPC_E, EAN13, EAN8, CODE39, ITF, CODABAR, CODE93, CODE128 = 0, 1, 2, 3, 4, 5, 6, 7, 8
NAMES = {UPC_A: "UPC-A", UPC_E: "UPC-E", EAN13: "EAN13", EAN8: "EAN8", CODE39: "CODE39", ITF: "ITF",
         CODABAR: "CODABAR", CODE93: "CODE93", CODE128: "CODE128"}

# --- Code 39: 5 bars and 4 spaces a character, 3 of them wide --------------------------------
CODE39_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. *$/+%"
CODE39_PATTERNS = (
    "nnnwwnwnn wnnwnnnnw nnwwnnnnw wnwwnnnnn nnnwwnnnw wnnwwnnnn nnwwwnnnn nnnwnnwnw wnnwnnwnn nnwwnnwnn "
    "wnnnnwnnw nnwnnwnnw wnwnnwnnn nnnnwwnnw wnnnwwnnn nnwnwwnnn nnnnnwwnw wnnnnwwnn nnwnnwwnn nnnnwwwnn "
    "wnnnnnnww nnwnnnnww wnwnnnnwn nnnnwnnww wnnnwnnwn nnwnwnnwn nnnnnnwww wnnnnnwwn nnwnnnwwn nnnnwnwwn "
    "wwnnnnnnw nwwnnnnnw wwwnnnnnn nwnnwnnnw wwnnwnnnn nwwnwnnnn nwnnnnwnw wwnnnnwnn nwwnnnwnn nwnnwnwnn "
    "nwnwnwnnn nwnwnnnwn nwnnnwnwn nnnwnwnwn"
).split()


def code39(data: bytes, wide: int = 3) -> list[int] | None:
    """`wide`: a wide element's width in narrow modules (3:1; printers use 2.5:1 to 3:1)."""
    text = data.decode("ascii", "replace").strip("*")  # the printer adds the start and stop
    if not text or any(ch not in CODE39_CHARS or ch == "*" for ch in text):
        return None
    widths: list[int] = []
    for ch in "*" + text + "*":
        widths += [wide if e == "w" else 1 for e in CODE39_PATTERNS[CODE39_CHARS.index(ch)]]
        widths.append(1)  # the gap between characters
    return widths[:-1]


# --- Code 128: 106 symbols of 3 bars and 3 spaces, 11 modules each; the stop has 4 bars -------
CODE128_PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 "
    "122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 "
    "321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113 132311 "
    "211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113 "
    "213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 "
    "121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 "
    "241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 "
    "412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 "
    "211214 211232 2331112"
).split()
START = {ord("A"): 103, ord("B"): 104, ord("C"): 105}
SWITCH = {ord("A"): 101, ord("B"): 100, ord("C"): 99}  # value of "Code A/B/C" (set A's own is unused)
FNC = {ord("1"): 102, ord("2"): 97, ord("3"): 96}


def code128_values(data: bytes) -> list[int] | None:
    """ESC/POS's form: the data opens with `{A`, `{B` or `{C`; `{S` shifts one character, `{1`..`{4`
    are FNC1..4, `{{` is a brace; in code set C each byte is a pair of digits (0..99)."""
    if len(data) < 2 or data[0] != 0x7B or data[1] not in START:
        return None
    values, cset, i, shift = [START[data[1]]], data[1], 2, False
    while i < len(data):
        b = data[i]
        if b == 0x7B and i + 1 < len(data) and data[i + 1] != 0x7B:
            c = data[i + 1]
            if c in SWITCH and c != cset:
                values.append(SWITCH[c])
                cset = c
            elif c in FNC:
                values.append(FNC[c])
            elif c == ord("4") and cset != ord("C"):
                values.append(101 if cset == ord("A") else 100)
            elif c == ord("S") and cset != ord("C"):
                values.append(98)
                shift = True
                i += 2
                continue
            else:
                return None
            i += 2
            continue
        if b == 0x7B:  # `{{`
            i += 1
        current = cset if not shift else (ord("B") if cset == ord("A") else ord("A"))
        shift = False
        if current == ord("C"):
            if b > 99:
                return None
            values.append(b)
        elif current == ord("A"):
            if b > 95:
                return None
            values.append(b - 32 if b >= 32 else b + 64)
        else:
            if not 32 <= b <= 127:
                return None
            values.append(b - 32)
        i += 1
    if len(values) < 2:
        return None
    values.append((values[0] + sum(i * v for i, v in enumerate(values[1:], 1))) % 103)
    return values + [106]


def code128(data: bytes) -> list[int] | None:
    values = code128_values(data)
    if values is None:
        return None
    return [int(w) for v in values for w in CODE128_PATTERNS[v]]


# --- EAN / UPC: 7 modules a digit, guard bars between --------------------------------------
EAN_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
         "0110111", "0001011")
EAN_R = tuple("".join("1" if m == "0" else "0" for m in code) for code in EAN_L)
EAN_G = tuple(code[::-1] for code in EAN_R)
EAN13_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG",
                "LGLGGL", "LGGLGL")  # the first digit, told by the left half's parities


def ean_check(digits: str) -> str:
    odd = sum(int(d) for d in digits[-1::-2])
    even = sum(int(d) for d in digits[-2::-2])
    return str((10 - (odd * 3 + even) % 10) % 10)


def _modules_to_widths(modules: str) -> list[int]:
    widths, last = [], None
    for m in modules:
        if m == last:
            widths[-1] += 1
        else:
            widths.append(1)
            last = m
    return widths


def ean(data: bytes, length: int) -> list[int] | None:
    """EAN-13 (length 13) or EAN-8 (8): the printer adds the check digit when it is left out,
    and refuses a wrong one."""
    text = data.decode("ascii", "replace")
    if not text.isdigit() or len(text) not in (length - 1, length):
        return None
    if len(text) == length - 1:
        text += ean_check(text)
    elif ean_check(text[:-1]) != text[-1]:
        return None
    if length == 13:
        parity, left, right = EAN13_PARITY[int(text[0])], text[1:7], text[7:]
    else:
        parity, left, right = "LLLL", text[:4], text[4:]
    modules = "101"
    modules += "".join((EAN_L if p == "L" else EAN_G)[int(d)] for p, d in zip(parity, left))
    modules += "01010" + "".join(EAN_R[int(d)] for d in right) + "101"
    return _modules_to_widths(modules)


# --- ITF (interleaved 2 of 5): pairs of digits, the first in the bars, the second in the spaces --
ITF_PATTERNS = ("nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn")


def itf(data: bytes, wide: int = 3) -> list[int] | None:
    text = data.decode("ascii", "replace")
    if not text.isdigit() or not text or len(text) % 2:
        return None
    widths = [1, 1, 1, 1]
    for a, b in zip(text[::2], text[1::2]):
        for bar, space in zip(ITF_PATTERNS[int(a)], ITF_PATTERNS[int(b)]):
            widths += [wide if bar == "w" else 1, wide if space == "w" else 1]
    return widths + [wide, 1, 1]


def bars(kind: int, data: bytes) -> list[int] | None:
    """The widths for `GS k` symbology `kind` (form A numbering), or None: not drawn."""
    if kind == CODE39:
        return code39(data)
    if kind == CODE128:
        return code128(data)
    if kind == EAN13:
        return ean(data, 13)
    if kind == EAN8:
        return ean(data, 8)
    if kind == UPC_A:  # a UPC-A is an EAN-13 whose first digit is 0
        return ean(b"0" + data, 13) if len(data) in (11, 12) else None
    if kind == ITF:
        return itf(data)
    return None  # UPC-E, CODABAR, CODE93, GS1 DataBar: the simulator does not draw them
