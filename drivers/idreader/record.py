"""What a card says, as one record, for all four card types; JSON form.

The record is what the rest of Cabin sees of a card. Fields a card type does not carry stay
empty ("" or None). The photo is kept as the card's WLT bytes (a proprietary compression with no
open decoder: an external decoder command may be configured); the fingerprint block only when
it was asked for and the card has one.

The record holds the card's data whole: masking it for a screen is the counter's rule
(cabin.kiosk.privacy), not the driver's. Its repr, which reaches logs and tracebacks, shows none
of the holder's personal data.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class CardType(Enum):
    RESIDENT = "resident"  # 居民身份证, type flag blank
    J = "J"                # 港澳台居民居住证
    I = "I"                # 外国人永久居留身份证 (2017 version)  # noqa: E741
    Y = "Y"                # 外国人永久居留身份证 (2023 version)

    @property
    def flag(self) -> str:
        return " " if self is CardType.RESIDENT else self.value

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    CardType.RESIDENT: "居民身份证",
    CardType.J: "港澳台居民居住证",
    CardType.I: "外国人永久居留身份证（旧版）",
    CardType.Y: "外国人永久居留身份证（2023版）",
}

# GB 3304-91 ethnic group codes as printed on the card (without 族), plus 97 and 98.
NATIONS = dict(zip(
    [f"{n:02d}" for n in range(1, 57)] + ["97", "98"],
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇"
    " 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京"
    " 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 其他 外国血统中国籍人士".split(),
    strict=True,
))

SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}  # GB/T 2261.1
LONG_TERM = "长期"


@dataclass(frozen=True, repr=False)
class IdCard:
    card_type: CardType
    name: str                       # Chinese name (an I card may have none)
    sex: str                        # "1" male, "2" female, as on the card
    birth: date | None              # None only in a masked record (kiosk.privacy.mask_card)
    id_number: str                  # ID / permit / permanent residence number
    valid_from: date
    valid_to: date | None           # None: long-term (长期)
    nation_code: str = ""           # resident card: "01".."56", "97", "98"
    address: str = ""               # resident card, J permit
    authority: str = ""             # issuing authority: resident card, J permit
    pass_number: str = ""           # J: the travel permit's number
    issue_count: int | None = None  # J: how many times issued
    name_en: str = ""               # I, Y
    nationality: str = ""           # I, Y: ISO 3166-1 alpha-3
    card_version: str = ""          # I
    authority_code: str = ""        # I: the accepting authority's code
    renewal_count: int | None = None  # Y
    old_card_link: str = ""         # Y: link to the holder's earlier card
    photo: bytes = field(default=b"", repr=False)        # WLT, as read
    fingerprint: bytes = field(default=b"", repr=False)  # empty: not asked for, or none on the card

    def __repr__(self) -> str:
        # reprs end up in logs and tracebacks: the card's kind and validity, nobody's name or number
        return f"IdCard({self.card_type.value}, valid_to={LONG_TERM if self.long_term else self.valid_to})"

    @property
    def nation(self) -> str:
        return NATIONS.get(self.nation_code, "")

    @property
    def sex_label(self) -> str:
        return SEXES.get(self.sex, "")

    @property
    def long_term(self) -> bool:
        return self.valid_to is None

    @property
    def has_fingerprint(self) -> bool:
        return bool(self.fingerprint)

    def to_dict(self) -> dict:
        """JSON-ready: dates ISO, valid_to `长期` when long-term, photo and fingerprint base64."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, CardType):
                value = value.value
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, bytes):
                value = base64.b64encode(value).decode("ascii")
            out[f.name] = value
        if self.valid_to is None:
            out["valid_to"] = LONG_TERM
        out.update(card_label=self.card_type.label, sex_label=self.sex_label, nation=self.nation,
                   long_term=self.long_term, has_fingerprint=self.has_fingerprint, photo_format="wlt")
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "IdCard":
        """Inverse of to_dict; dates may also be YYYYMMDD, photo and fingerprint may be left out."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names - {"card_label", "sex_label", "nation", "long_term", "has_fingerprint", "photo_format"}
        if unknown:
            raise ValueError(f"unknown card fields: {', '.join(sorted(unknown))}")
        kw = {k: v for k, v in d.items() if k in names}
        kw["card_type"] = CardType(kw["card_type"])
        for key in ("birth", "valid_from"):
            kw[key] = _date(kw[key])
        to = kw.get("valid_to")
        kw["valid_to"] = None if to in (None, LONG_TERM) else _date(to)
        for key in ("photo", "fingerprint"):
            kw[key] = base64.b64decode(kw.get(key) or "")
        return cls(**kw)


def _date(text: str) -> date:
    text = text.replace("-", "")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

