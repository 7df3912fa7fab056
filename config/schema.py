"""The station configuration, declared once: every section of station.toml is a dataclass below,
and every key a field with its kind of value, default, range or allowed values and reason
(config/rules.py reads them). The values that other modules choose from — the faces' languages
and themes, the ticket printer's modes, the weekdays, the default priority class — are declared
here too and imported wherever they are offered or checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .rules import (
    Amounts, AnyText, Choice, Flag, Labels, Number, Records, Refused, Rule, Table, Text, Texts, UrlOrTable, Week, Whole, key,
)

LANGUAGES = ("zh", "en")  # the faces' catalog has one column per language, in this order
DEFAULT_LANGUAGE = LANGUAGES[0]
THEMES = ("dark", "light")
TICKET_MODES = ("native", "raster")  # raster: for printers without Chinese fonts or native QR
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
DEFAULT_PRIORITY = "normal"  # every station has it: a ticket's class when none is asked for

CODE = r"[a-z][a-z0-9_]*"
# A font file's path; empty: cabin.drivers.fonts' choice. Whether the file is there is checked
# when something is drawn with it: a font can be installed after the config is written.
FONT = AnyText("must be a path to a font file")
MINUTES_A_DAY = 24 * 60


def _in_province(district: str, key: str, station: dict) -> None:
    if not district.startswith(station["province"]):
        raise Refused(key, f"{district} is not in province {station['province']}")


def _known_zone(timezone: str, key: str, station: dict) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(key, f"unknown time zone {timezone!r}") from None


@dataclass(frozen=True)
class Station:
    name: str = key(Text())
    name_en: str = key(Text())
    code: str = key(Text(r"[0-9A-Za-z-]{1,20}"))
    province: str = key(Text(r"\d{2}"))
    district: str = key(Text(r"\d{6}"), also=_in_province)
    timezone: str = key(Text(), also=_known_zone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class QueueRules:
    sla_target_min: int = key(Whole(1, MINUTES_A_DAY), 20)
    recall_limit: int = key(Whole(0, 20), 3)
    reactivation_min: int = key(Whole(0, MINUTES_A_DAY), 30)
    max_errands: int = key(Whole(1, 20), 5)


@dataclass(frozen=True)
class Priority:
    code: str = key(Text(CODE), unique='duplicate priority class "{}"')
    name: str = key(Text())
    name_en: str = key(Text())
    head_start_min: int = key(Whole(0, MINUTES_A_DAY))


@dataclass(frozen=True)
class Category:
    code: str = key(Text(CODE), unique='duplicate category "{}"')
    name: str = key(Text())
    name_en: str = key(Text())
    prefix: str = key(Text(r"[A-Z]"), unique='prefix "{}" is already used by another category')


@dataclass(frozen=True)
class Service:
    code: str = key(Text(rf"{CODE}\.{CODE}", '"{}" is not a code like "id.temporary"'),
                    unique='duplicate service "{}"')
    category: str = key(Text(), refers=("categories", 'unknown category "{}"'))
    name: str = key(Text())
    name_en: str = key(Text())
    minutes: float = key(Number(0, 240, "must be a number of minutes, more than 0 and at most 240"))
    # what the citizen brings: the intake checklist
    documents: tuple[str, ...] = key(Texts('must be a list of texts, like ["居民身份证", "照片"]'), ())
    # (option, yuan); one option "" for a single fee; none: assessed case by case (a traffic fine)
    fees: tuple[tuple[str, int], ...] = key(
        Amounts("fee", Whole(0, 100_000), 'must be a table like { "single" = 15, "multiple" = 80 }'), ())
    # assessed: the most a clerk can record (yuan)
    max_fine: int = key(Whole(1, 1_000_000), 20_000, given_if=(
        lambda service: not service["fees"], "only a service without a fixed fee has an assessed fine"))


@dataclass(frozen=True)
class Device:
    """A serial device by pyserial URL: /dev/ttyUSB0, a simulator's pty link, socket://host:port."""

    url: str = key(Text())
    baud: int = key(Whole(1200, 921600))


def device(baud: int) -> UrlOrTable:
    return UrlOrTable(Device, 'must be a URL like "/dev/ttyUSB0" or {url = "...", baud = 9600}', baud=baud)


class ServiceCodes(Rule):
    """A window's services: codes of the catalogue, or ["*"] for every one (read before)."""

    missing = 'must be a non-empty list of service codes, or ["*"]'

    def read(self, codes, key, window, seen) -> tuple[str, ...]:
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise Refused(key, self.missing)
        if codes == ["*"]:
            return tuple(seen["services"])
        for code in codes:
            if code not in seen["services"]:
                raise Refused(key, f'unknown service "{code}" (window {window["number"]})')
        if len(set(codes)) != len(codes):
            raise Refused(key, f"a service is listed twice (window {window['number']})")
        return tuple(codes)


@dataclass(frozen=True)
class Window:
    number: int = key(Whole(1, 999), unique="duplicate window number {}")
    name: str = key(Text())
    name_en: str = key(Text())
    services: tuple[str, ...] = key(ServiceCodes())
    reader: Device | None = key(device(115200), None)
    card_printer: Device | None = key(device(115200), None)


@dataclass(frozen=True)
class IdCardPolicy:
    """Fees (yuan) and making deadlines of main ID cards: policy, domain.md sections 2 and 4."""

    fee_first: int = key(Whole(0, 1000), 20)
    fee_renewal: int = key(Whole(0, 1000), 20)
    fee_replacement: int = key(Whole(0, 1000), 40)
    deadline_days_cross_province: int = key(Whole(0, 1000), 60)  # calendar days
    deadline_working_days_in_province: int = key(Whole(0, 1000), 20)
    cross_province_first_application: bool = key(Flag(), True)  # allowed since 2022


def _names_its_files(argv: tuple[str, ...], key: str, policy: dict) -> None:
    if argv and not ("{wlt}" in " ".join(argv) and "{out}" in " ".join(argv)):
        raise Refused(key, "must name the photo it reads as {wlt} and the image it writes as {out}")


@dataclass(frozen=True)
class TemporaryCardPolicy:
    """Temporary resident ID cards (domain.md section 3): fee, validity, who may have one here,
    what the card says issued it, and where the photo and the face's font come from."""

    fee: int = key(Whole(0, 1000), 10)  # yuan
    validity_months: int = key(Whole(1, 12), 3)  # from the issue date (Art 7)
    # a cross-region resident once the home police approved the main card
    cross_region: bool = key(Flag(), False)
    authority: str = key(Text(), "厦门市公安局湖里分局")  # printed as 签发机关
    # argv turning the reader's WLT photo into an image: {wlt} {out}
    photo_decoder: tuple[str, ...] = key(Texts('must be a list of strings, e.g. ["wlt2bmp", "{wlt}", "{out}"]'), (),
                                         also=_names_its_files)
    font: str = key(FONT, "")  # the card face's


@dataclass(frozen=True)
class Dispenser:
    ticket_printer: Device | None = key(device(9600), None)
    ticket_mode: str = key(Choice(TICKET_MODES), TICKET_MODES[0])
    font: str = key(FONT, "")  # raster tickets'


@dataclass(frozen=True)
class Export:
    """The daily export: the font its chart is drawn in."""

    font: str = key(FONT, "")


@dataclass(frozen=True)
class Appointments:
    """A booking's check-in (kiosk/business/appointments.py): it gives the appointment priority
    from early_min minutes before its slot until late_min minutes after the slot's end."""

    early_min: int = key(Whole(0, MINUTES_A_DAY), 15)
    late_min: int = key(Whole(0, MINUTES_A_DAY), 10)


# why a citizen rates 不满意 or worse: code -> what the rating face shows
RATING_REASONS = (("wait", "等候时间长"), ("attitude", "服务态度不好"), ("process", "办事流程繁琐"),
                  ("explain", "政策解释不清楚"), ("facility", "环境设施不便"), ("other", "其他"))


@dataclass(frozen=True)
class Ratings:
    """Citizens' ratings (好差评): the reasons offered for a rating of 不满意 or worse, and how
    long after an errand is completed its rating may come (after it: recorded as 未评价)."""

    reasons: tuple[tuple[str, str], ...] = key(
        Labels(CODE, 'must be a table of codes and texts, e.g. { wait = "等候时间长" }'), RATING_REASONS)
    timeout_seconds: int = key(Whole(10, 3600), 120)


SERVER_URL = r"(?i)postgres(ql)?://\S*"  # libpq's two URL schemes (kiosk/paths.py SERVER_SCHEMES)


def _server_url(url: str, key: str, store: dict) -> None:
    # the value itself is never repeated in the refusal: a URL may carry a password
    if url and not re.fullmatch(SERVER_URL, url):
        raise Refused(key, 'must be a libpq URL starting postgresql:// (a file is named with --db or CABIN_DB)')


@dataclass(frozen=True)
class StoreLocation:
    """Where the station's database is when neither --db nor CABIN_DB names one: a PostgreSQL
    server's libpq URL, shared by the PCs of a station (empty: the SQLite file in the user data
    dir). Read only when it is needed (kiosk/paths.py resolve_db)."""

    url: str = key(AnyText('must be a libpq URL like "postgresql://cabin@db.example/cabin"'), "", also=_server_url)


@dataclass(frozen=True)
class Faces:
    """The Textual faces' defaults: language and theme; how many browsers may watch the served
    board at once (`cabin board --serve`)."""

    lang: str = key(Choice(LANGUAGES), DEFAULT_LANGUAGE)
    theme: str = key(Choice(THEMES), THEMES[0])
    served_viewers: int = key(Whole(1, 100), 8)


class Spans(Rule):
    """A list of "HH:MM-HH:MM" spans of the day, in order, as ((start_min, end_min), ...)."""

    def read(self, value, key, record, seen) -> tuple[tuple[int, int], ...]:
        return Week.spans(value, key)

    def write(self, value) -> list[str]:
        return Week(()).write({"day": value})["day"]  # the one writer of spans


def _names_text_and_out(argv: tuple[str, ...], key: str, board: dict) -> None:
    if argv and not ("{text}" in " ".join(argv) and "{out}" in " ".join(argv)):
        raise Refused(key, "must name the words it speaks as {text} and the WAV file it writes as {out}")


def _names_file(argv: tuple[str, ...], key: str, board: dict) -> None:
    if argv and "{file}" not in " ".join(argv):
        raise Refused(key, "must name the WAV file it plays as {file}")


@dataclass(frozen=True)
class Board:
    """The lobby's voice calls (叫号语音): whether calls are announced, how often, in which
    languages, how loud, when not, how many may wait their turn, and an external voice."""

    announce: bool = key(Flag(), True)
    repeat: int = key(Whole(1, 5), 2)  # each announcement said this many times
    english: bool = key(Flag(), False)  # the English sentence after the Mandarin one
    volume: int = key(Whole(0, 100), 100)  # percent of the voice's full loudness
    quiet_hours: tuple[tuple[int, int], ...] = key(Spans(), ())  # shown on the board, not said
    backlog: int = key(Whole(1, 100), 20)  # announcements waiting; past it the oldest is dropped
    # argv of a voice replacing espeak-ng: {text} the words, {out} the WAV it writes, {lang} zh or en
    speech_command: tuple[str, ...] = key(Texts('must be a list of strings, e.g. ["mytts", "{text}", "{out}"]'), (),
                                          also=_names_text_and_out)
    # argv of the program that plays an announcement on the board's host, {file} the WAV; empty:
    # the first of aplay, paplay, ffplay found (kiosk/player.py)
    player_command: tuple[str, ...] = key(Texts('must be a list of strings, e.g. ["aplay", "-q", "{file}"]'), (),
                                          also=_names_file)


def _every_service_served(windows: dict, key: str, config: dict) -> None:
    for code in config["services"]:
        if not any(code in w.services for w in windows.values()):
            raise Refused("services", f'service "{code}" is served by no window')


@dataclass(frozen=True)
class StationConfig:
    station: Station = key(Table(Station))
    queue: QueueRules = key(Table(QueueRules, optional=True))
    hours: dict[str, tuple[tuple[int, int], ...]] = key(Week(WEEKDAYS))  # weekday -> ((start_min, end_min), ...)
    priorities: dict[str, Priority] = key(Records(Priority, "code", needed=(
        DEFAULT_PRIORITY, f'the class "{DEFAULT_PRIORITY}" is required (it is the default)')))
    categories: dict[str, Category] = key(Records(Category, "code"))
    services: dict[str, Service] = key(Records(Service, "code"))
    windows: dict[int, Window] = key(Records(Window, "number"), also=_every_service_served)
    dispenser: Dispenser = key(Table(Dispenser), Dispenser())
    id_card: IdCardPolicy = key(Table(IdCardPolicy), IdCardPolicy())
    temporary_card: TemporaryCardPolicy = key(Table(TemporaryCardPolicy), TemporaryCardPolicy())
    source: str = field(default="", compare=False)  # the file read; not a key of it
    faces: Faces = key(Table(Faces), Faces())
    export: Export = key(Table(Export), Export())
    store: StoreLocation = key(Table(StoreLocation), StoreLocation())
    board: Board = key(Table(Board), Board())
    appointments: Appointments = key(Table(Appointments), Appointments())
    ratings: Ratings = key(Table(Ratings), Ratings())

    def prefix_for(self, service: str) -> str:
        return self.categories[self.services[service].category].prefix

    def windows_serving(self, service: str) -> list[int]:
        return [w.number for w in self.windows.values() if service in w.services]


SCHEMA = Table(StationConfig)
