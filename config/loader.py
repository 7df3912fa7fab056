"""Load and check a station configuration (TOML).

Every refusal names the file, the key and the reason, e.g.
``station.toml: windows[2].services: unknown service "id.tmp" (window 3)``, because the person
reading it is editing that file by hand. Unknown keys are refused too: a typo in a key must not
silently fall back to a default.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_SERVICE_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A configuration file that Cabin cannot use; the message says where and why."""


@dataclass(frozen=True)
class Station:
    name: str
    name_en: str
    code: str
    province: str
    district: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class QueueRules:
    sla_target_min: int = 20
    recall_limit: int = 3
    reactivation_min: int = 30
    max_errands: int = 5


@dataclass(frozen=True)
class Priority:
    code: str
    name: str
    name_en: str
    head_start_min: int


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str
    prefix: str


@dataclass(frozen=True)
class Service:
    code: str
    category: str
    name: str
    name_en: str
    minutes: float
    documents: tuple[str, ...] = ()          # what the citizen brings: the intake checklist
    fees: tuple[tuple[str, int], ...] = ()   # (option, yuan); one option "" for a single fee;
                                             # none: assessed case by case (a traffic fine)
    max_fine: int = 20_000                   # assessed: the most a clerk can record (yuan)


@dataclass(frozen=True)
class Device:
    """A serial device by pyserial URL: /dev/ttyUSB0, a simulator's pty link, socket://host:port."""

    url: str
    baud: int


@dataclass(frozen=True)
class Window:
    number: int
    name: str
    name_en: str
    services: tuple[str, ...]
    reader: Device | None = None
    card_printer: Device | None = None


@dataclass(frozen=True)
class IdCardPolicy:
    """Fees (yuan) and making deadlines of main ID cards: policy, domain.md sections 2 and 4."""

    fee_first: int = 20
    fee_renewal: int = 20
    fee_replacement: int = 40
    deadline_days_cross_province: int = 60       # calendar days
    deadline_working_days_in_province: int = 20
    cross_province_first_application: bool = True  # allowed since 2022


@dataclass(frozen=True)
class TemporaryCardPolicy:
    """Temporary resident ID cards (domain.md section 3): fee, validity, who may have one here,
    what the card says issued it, and where the photo and the face's font come from."""

    fee: int = 10                       # yuan
    validity_months: int = 3            # from the issue date (Art 7)
    cross_region: bool = False          # a cross-region resident once the home police approved the main card
    authority: str = "厦门市公安局湖里分局"  # printed as 签发机关
    photo_decoder: tuple[str, ...] = ()  # argv turning the reader's WLT photo into an image: {wlt} {out}
    font: str = ""                      # a font file for the face; empty: cabin.drivers.fonts' choice


@dataclass(frozen=True)
class Dispenser:
    ticket_printer: Device | None = None
    ticket_mode: str = "native"  # "raster" only for printers without Chinese fonts or native QR
    font: str = ""               # a font file for raster tickets; empty: cabin.drivers.fonts' choice


@dataclass(frozen=True)
class Export:
    """The daily export: the font its chart is drawn in (empty: cabin.drivers.fonts' choice)."""

    font: str = ""


@dataclass(frozen=True)
class Faces:
    """The Textual faces' defaults: language ("zh" Simplified Chinese, "en") and theme; how many
    browsers may watch the served board at once (`cabin board --serve`)."""

    lang: str = "zh"
    theme: str = "dark"
    served_viewers: int = 8


@dataclass(frozen=True)
class StationConfig:
    station: Station
    queue: QueueRules
    hours: dict[str, tuple[tuple[int, int], ...]]  # weekday -> ((start_min, end_min), ...)
    priorities: dict[str, Priority]
    categories: dict[str, Category]
    services: dict[str, Service]
    windows: dict[int, Window]
    dispenser: Dispenser = field(default_factory=Dispenser)
    id_card: IdCardPolicy = field(default_factory=IdCardPolicy)
    temporary_card: TemporaryCardPolicy = field(default_factory=TemporaryCardPolicy)
    source: str = field(default="", compare=False)
    faces: Faces = field(default_factory=Faces)
    export: Export = field(default_factory=Export)

    def prefix_for(self, service: str) -> str:
        return self.categories[self.services[service].category].prefix

    def windows_serving(self, service: str) -> list[int]:
        return [w.number for w in self.windows.values() if service in w.services]


def default_config_path() -> Path:
    # beside this module (the package data importlib.resources finds too), without importing
    # importlib.resources and its readers: a command-line start pays ~0.25x a bare Python start for them
    return Path(__file__).with_name("station.toml")


def resolve_config_path(explicit: str | os.PathLike | None = None) -> Path:
    """--config wins, then CABIN_CONFIG, then the station.toml shipped with Cabin."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CABIN_CONFIG")
    if env:
        return Path(env)
    return default_config_path()


CONFIG_LIMIT = 1024 * 1024  # the shipped station.toml is about 10 kB


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """A file from outside, read whole only when it is a regular file of at most `limit` bytes;
    else OSError saying why. /dev/zero, a FIFO or a terminal is refused before a byte is read,
    and a file that grows while it is read is cut off at limit + 1 bytes, never read on. The
    one bounded read for everything Cabin is given to read (config, exports, cards files)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting for a writer
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a device, pipe or socket"
            raise OSError(errno.EINVAL, f"it is {kind}, not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"it is {st.st_size} bytes, more than the {limit} bytes allowed")
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"it is more than the {limit} bytes allowed")
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_config(path: str | os.PathLike | None = None) -> StationConfig:
    path = resolve_config_path(path)
    where = str(path)
    try:
        raw = read_bounded(path, CONFIG_LIMIT)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    return _Checker(where).config(data)


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {reason}")

    # -- typed getters -------------------------------------------------------------------
    def table(self, data: dict, key: str, allowed: set[str], prefix: str = "") -> dict:
        value = data.get(key)
        full = f"{prefix}{key}"
        if not isinstance(value, dict):
            raise self.fail(full, "missing" if value is None else "must be a table")
        self.no_unknown(value, allowed, full)
        return value

    def no_unknown(self, value: dict, allowed: set[str], key: str) -> None:
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}", f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def string(self, data: dict, key: str, where: str, pattern: str | None = None) -> str:
        value = data.get(key)
        if value is None:
            raise self.fail(f"{where}.{key}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        if pattern and not re.fullmatch(pattern, value):
            raise self.fail(f"{where}.{key}", f"{value!r} is not in the expected form ({pattern})")
        return value

    def integer(self, data: dict, key: str, where: str, low: int, high: int, default: int | None = None) -> int:
        value = data.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}.{key}", "must be a whole number")
        if not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"{value} is out of range ({low} to {high})")
        return value

    def array_of_tables(self, data: dict, key: str) -> list[dict]:
        value = data.get(key)
        if value is None:
            raise self.fail(key, "missing (at least one entry is needed)")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        if not value:
            raise self.fail(key, "is empty (at least one entry is needed)")
        return value

    # -- sections ------------------------------------------------------------------------
    def config(self, data: dict) -> StationConfig:
        self.no_unknown(data, {"station", "queue", "hours", "priorities", "categories", "services", "windows",
                               "dispenser", "id_card", "temporary_card", "faces", "export"}, "(top level)")
        station = self.station(data)
        queue = self.queue(data)
        hours = self.hours(data)
        priorities = self.priorities(data)
        categories = self.categories(data)
        services = self.services(data, categories)
        windows = self.windows(data, services)
        for code in services:
            if not any(code in w.services for w in windows.values()):
                raise self.fail("services", f'service "{code}" is served by no window')
        return StationConfig(station, queue, hours, priorities, categories, services, windows,
                             self.dispenser(data), self.id_card(data), self.temporary_card(data), self.where,
                             faces=self.faces(data), export=self.export(data))

    def station(self, data: dict) -> Station:
        s = self.table(data, "station", {"name", "name_en", "code", "province", "district", "timezone"})
        province = self.string(s, "province", "station", r"\d{2}")
        district = self.string(s, "district", "station", r"\d{6}")
        if not district.startswith(province):
            raise self.fail("station.district", f"{district} is not in province {province}")
        timezone = self.string(s, "timezone", "station")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("station.timezone", f"unknown time zone {timezone!r}") from None
        return Station(
            name=self.string(s, "name", "station"),
            name_en=self.string(s, "name_en", "station"),
            code=self.string(s, "code", "station", r"[0-9A-Za-z-]{1,20}"),
            province=province,
            district=district,
            timezone=timezone,
        )

    def queue(self, data: dict) -> QueueRules:
        if "queue" not in data:
            return QueueRules()
        q = self.table(data, "queue", {"sla_target_min", "recall_limit", "reactivation_min", "max_errands"})
        d = QueueRules()
        return QueueRules(
            sla_target_min=self.integer(q, "sla_target_min", "queue", 1, 24 * 60, d.sla_target_min),
            recall_limit=self.integer(q, "recall_limit", "queue", 0, 20, d.recall_limit),
            reactivation_min=self.integer(q, "reactivation_min", "queue", 0, 24 * 60, d.reactivation_min),
            max_errands=self.integer(q, "max_errands", "queue", 1, 20, d.max_errands),
        )

    def hours(self, data: dict) -> dict[str, tuple[tuple[int, int], ...]]:
        h = self.table(data, "hours", set(WEEKDAYS))
        result = {}
        for day in WEEKDAYS:
            spans = h.get(day, [])
            if not isinstance(spans, list):
                raise self.fail(f"hours.{day}", 'must be a list like ["08:30-12:00"]')
            parsed = []
            for i, span in enumerate(spans):
                m = _SPAN.match(span) if isinstance(span, str) else None
                if not m:
                    raise self.fail(f"hours.{day}[{i}]", f'{span!r} is not a span like "08:30-12:00"')
                start = int(m[1]) * 60 + int(m[2])
                end = int(m[3]) * 60 + int(m[4])
                if end <= start or end > 24 * 60:
                    raise self.fail(f"hours.{day}[{i}]", f"{span!r} ends before it starts")
                if parsed and start < parsed[-1][1]:
                    raise self.fail(f"hours.{day}[{i}]", f"{span!r} overlaps or precedes the span before it")
                parsed.append((start, end))
            result[day] = tuple(parsed)
        return result

    def priorities(self, data: dict) -> dict[str, Priority]:
        result: dict[str, Priority] = {}
        for i, p in enumerate(self.array_of_tables(data, "priorities")):
            where = f"priorities[{i}]"
            self.no_unknown(p, {"code", "name", "name_en", "head_start_min"}, where)
            code = self.string(p, "code", where, r"[a-z][a-z0-9_]*")
            if code in result:
                raise self.fail(f"{where}.code", f'duplicate priority class "{code}"')
            result[code] = Priority(
                code, self.string(p, "name", where), self.string(p, "name_en", where),
                self.integer(p, "head_start_min", where, 0, 24 * 60),
            )
        if "normal" not in result:
            raise self.fail("priorities", 'the class "normal" is required (it is the default)')
        return result

    def categories(self, data: dict) -> dict[str, Category]:
        result: dict[str, Category] = {}
        prefixes: set[str] = set()
        for i, c in enumerate(self.array_of_tables(data, "categories")):
            where = f"categories[{i}]"
            self.no_unknown(c, {"code", "name", "name_en", "prefix"}, where)
            code = self.string(c, "code", where, r"[a-z][a-z0-9_]*")
            prefix = self.string(c, "prefix", where, r"[A-Z]")
            if code in result:
                raise self.fail(f"{where}.code", f'duplicate category "{code}"')
            if prefix in prefixes:
                raise self.fail(f"{where}.prefix", f'prefix "{prefix}" is already used by another category')
            prefixes.add(prefix)
            result[code] = Category(code, self.string(c, "name", where), self.string(c, "name_en", where), prefix)
        return result

    def services(self, data: dict, categories: dict[str, Category]) -> dict[str, Service]:
        result: dict[str, Service] = {}
        for i, s in enumerate(self.array_of_tables(data, "services")):
            where = f"services[{i}]"
            self.no_unknown(s, {"code", "category", "name", "name_en", "minutes", "documents", "fee", "fees",
                                "max_fine"}, where)
            code = self.string(s, "code", where)
            if not _SERVICE_CODE.match(code):
                raise self.fail(f"{where}.code", f'"{code}" is not a code like "id.temporary"')
            if code in result:
                raise self.fail(f"{where}.code", f'duplicate service "{code}"')
            category = self.string(s, "category", where)
            if category not in categories:
                raise self.fail(f"{where}.category", f'unknown category "{category}"')
            minutes = s.get("minutes")
            if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= 240:
                raise self.fail(f"{where}.minutes", "must be a number of minutes, more than 0 and at most 240")
            fees = self.fees(s, where)
            if fees and "max_fine" in s:
                raise self.fail(f"{where}.max_fine", "only a service without a fixed fee has an assessed fine")
            result[code] = Service(code, category, self.string(s, "name", where), self.string(s, "name_en", where),
                                   float(minutes), self.documents(s, where), fees,
                                   self.integer(s, "max_fine", where, 1, 1_000_000, default=Service.max_fine))
        return result

    def documents(self, s: dict, where: str) -> tuple[str, ...]:
        docs = s.get("documents", [])
        if not isinstance(docs, list) or not all(isinstance(d, str) and d.strip() for d in docs):
            raise self.fail(f"{where}.documents", 'must be a list of texts, like ["居民身份证", "照片"]')
        return tuple(docs)

    def fees(self, s: dict, where: str) -> tuple[tuple[str, int], ...]:
        """`fee = 120`, or `fees = { "single" = 15, "double" = 30 }` for a service with options."""
        if "fee" in s and "fees" in s:
            raise self.fail(f"{where}.fees", "give either fee or fees, not both")
        if "fee" in s:
            return (("", self.integer(s, "fee", where, 0, 100_000)),)
        options = s.get("fees", {})
        if not isinstance(options, dict):
            raise self.fail(f"{where}.fees", 'must be a table like { "single" = 15, "multiple" = 80 }')
        return tuple((name, self.integer(options, name, f"{where}.fees", 0, 100_000)) for name in options)

    def windows(self, data: dict, services: dict[str, Service]) -> dict[int, Window]:
        result: dict[int, Window] = {}
        for i, w in enumerate(self.array_of_tables(data, "windows")):
            where = f"windows[{i}]"
            self.no_unknown(w, {"number", "name", "name_en", "services", "reader", "card_printer"}, where)
            number = self.integer(w, "number", where, 1, 999)
            if number in result:
                raise self.fail(f"{where}.number", f"duplicate window number {number}")
            codes = w.get("services")
            if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
                raise self.fail(f"{where}.services", 'must be a non-empty list of service codes, or ["*"]')
            if codes == ["*"]:
                served = tuple(services)
            else:
                for code in codes:
                    if code not in services:
                        raise self.fail(f"{where}.services", f'unknown service "{code}" (window {number})')
                if len(set(codes)) != len(codes):
                    raise self.fail(f"{where}.services", f"a service is listed twice (window {number})")
                served = tuple(codes)
            result[number] = Window(number, self.string(w, "name", where), self.string(w, "name_en", where), served,
                                    reader=self.device(w, "reader", where, 115200),
                                    card_printer=self.device(w, "card_printer", where, 115200))
        return result


    def device(self, data: dict, key: str, where: str, default_baud: int) -> Device | None:
        """A device is a URL string, or a table {url = "...", baud = 9600}."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = {"url": value}
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}", 'must be a URL like "/dev/ttyUSB0" or {url = "...", baud = 9600}')
        self.no_unknown(value, {"url", "baud"}, f"{where}.{key}")
        url = self.string(value, "url", f"{where}.{key}")
        baud = self.integer(value, "baud", f"{where}.{key}", 1200, 921600, default_baud)
        return Device(url, baud)

    def id_card(self, data: dict) -> IdCardPolicy:
        if "id_card" not in data:
            return IdCardPolicy()
        names = {f.name for f in fields(IdCardPolicy)}
        t = self.table(data, "id_card", names)
        d = IdCardPolicy()
        values = {}
        for name in names:
            if name == "cross_province_first_application":
                value = t.get(name, d.cross_province_first_application)
                if not isinstance(value, bool):
                    raise self.fail(f"id_card.{name}", "must be true or false")
                values[name] = value
            else:
                values[name] = self.integer(t, name, "id_card", 0, 1000, getattr(d, name))
        return IdCardPolicy(**values)

    def temporary_card(self, data: dict) -> TemporaryCardPolicy:
        if "temporary_card" not in data:
            return TemporaryCardPolicy()
        where = "temporary_card"
        t = self.table(data, where, {f.name for f in fields(TemporaryCardPolicy)})
        d = TemporaryCardPolicy()
        cross = t.get("cross_region", d.cross_region)
        if not isinstance(cross, bool):
            raise self.fail(f"{where}.cross_region", "must be true or false")
        decoder = t.get("photo_decoder", list(d.photo_decoder))
        if not isinstance(decoder, list) or not all(isinstance(x, str) and x for x in decoder):
            raise self.fail(f"{where}.photo_decoder", 'must be a list of strings, e.g. ["wlt2bmp", "{wlt}", "{out}"]')
        if decoder and not ("{wlt}" in " ".join(decoder) and "{out}" in " ".join(decoder)):
            raise self.fail(f"{where}.photo_decoder", "must name the photo it reads as {wlt} and the image it writes as {out}")
        font = self.font(t, where)
        return TemporaryCardPolicy(
            fee=self.integer(t, "fee", where, 0, 1000, d.fee),
            validity_months=self.integer(t, "validity_months", where, 1, 12, d.validity_months),
            cross_region=cross,
            authority=self.string(t, "authority", where) if "authority" in t else d.authority,
            photo_decoder=tuple(decoder), font=font)

    def faces(self, data: dict) -> Faces:
        if "faces" not in data:
            return Faces()
        f = self.table(data, "faces", {"lang", "theme", "served_viewers"})
        d = Faces()
        lang, theme = f.get("lang", d.lang), f.get("theme", d.theme)
        if lang not in ("zh", "en"):
            raise self.fail("faces.lang", f'must be "zh" or "en", not {lang!r}')
        if theme not in ("dark", "light"):
            raise self.fail("faces.theme", f'must be "dark" or "light", not {theme!r}')
        return Faces(lang, theme, self.integer(f, "served_viewers", "faces", 1, 100, d.served_viewers))

    def dispenser(self, data: dict) -> Dispenser:
        if "dispenser" not in data:
            return Dispenser()
        d = self.table(data, "dispenser", {"ticket_printer", "ticket_mode", "font"})
        mode = d.get("ticket_mode", "native")
        if mode not in ("native", "raster"):
            raise self.fail("dispenser.ticket_mode", f'must be "native" or "raster", not {mode!r}')
        return Dispenser(self.device(d, "ticket_printer", "dispenser", 9600), mode, self.font(d, "dispenser"))

    def export(self, data: dict) -> Export:
        if "export" not in data:
            return Export()
        return Export(self.font(self.table(data, "export", {"font"}), "export"))

    def font(self, table: dict, where: str) -> str:
        """A font file's path, or "" for cabin.drivers.fonts' choice. Whether the file is there is
        checked when something is drawn with it: a font can be installed after the config is written."""
        font = table.get("font", "")
        if not isinstance(font, str):
            raise self.fail(f"{where}.font", "must be a path to a font file")
        return font


def describe(config: StationConfig) -> dict[str, Any]:
    """A short JSON-able summary, for `cabin config check` and `cabin doctor`."""
    return {
        "source": config.source,
        "station": config.station.name,
        "code": config.station.code,
        "services": len(config.services),
        "windows": sorted(config.windows),
        "priorities": list(config.priorities),
    }
