"""Appointments (预约): bookings made on the booking platform, imported a day at a time, and
checked in at the station, where each becomes a ticket. Textual-free.

- Import: a CSV (UTF-8, a BOM allowed) with the header `code,services,slot_start,slot_end,
  phone_last4` (services separated by `;`), or a JSON list of objects with those keys. Times are
  `YYYY-MM-DD HH:MM` in the station's time zone. Any bad booking refuses the whole file, naming
  its line (a CSV's line, a JSON list's booking number) and the reason; else every booking is
  written in one transaction. A column other than those five is refused: nothing else, no name
  and no ID number, is ever taken.
  The import and its audit entry ("appointment.import": the file's name, the count, the days;
  never a phone's digits) are one transaction.
- Check-in: the code turns into a ticket through the queue engine (Station.issue with the
  engine's `record` hook: the booking's update, its audit entry ("appointment.checkin": the
  code, the ticket, on time or early/late) and the ticket are one write). Its window is from
  `[appointments] early_min` before the slot's start until `late_min` after its end: inside it
  the ticket has the "appointment" priority ("on time"); outside, an ordinary one, and the
  result says why. A booking may be checked in on any local day its window touches (a slot
  23:30-00:30 still checks in at 00:10, on the next day's ticket); on a day the window does not
  touch it is refused, using nothing. A code is used once. Both are done by the dispenser or
  the command line without a signed-in clerk: their audit actor is None.
- No-show: a booking still not checked in once its slot's end plus `late_min` has passed (from
  then on it could only get an ordinary ticket). Not stored: computed where it is read (`state`).
- A booking belongs to the local day of its slot's START: its no-show and the export's counts
  (`day_counts`) are that day's, even when it was checked in after midnight.
- Retention (kiosk/business/retention.py): once its slot ended more than the purge's DAYS ago,
  a booking's phone_last4 becomes "****" and purged_at is stamped; state, on_time and times
  stay, so the counts of a purged day never change.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from cabin.config import DEFAULT_PRIORITY, StationConfig
from cabin.queue.clock import day_start_ms, local_day, local_time, next_day, to_ms
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, Said

from cabin.kiosk.business import audit
from cabin.kiosk.checks import personal_number
from cabin.kiosk.identity import looks_like_id

COLUMNS = ("code", "services", "slot_start", "slot_end", "phone_last4")
CODE = re.compile(r"[0-9A-Z-]{1,32}")
SLOT_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
PRIORITY, CHANNEL = "appointment", "appointment"
STATES = ("booked", "checked_in", "no_show")  # no_show: computed (`state`), never stored
MINUTE = 60_000


@dataclass(frozen=True)
class Booking:
    code: str
    services: tuple[str, ...]
    slot_start: int  # ms
    slot_end: int
    phone_last4: str
    place: tuple[str, int] = ("line", 0)  # where in the file: ("line", 3) or ("booking", 3)


def clean_code(text) -> str:
    """A booking's code as stored and looked up: NFKC (a full-width code typed at the dispenser),
    upper case; letters, digits and '-', at most 32. An ID number is never a code."""
    code = unicodedata.normalize("NFKC", str(text)).strip().upper()
    if looks_like_id(code):
        raise CabinError("a booking code cannot be an ID number")
    if not CODE.fullmatch(code):
        found = personal_number(code)  # never repeated whole
        if found is not None:
            raise CabinError("a booking code cannot hold {found}", found=found)
        raise CabinError('"{code}" is not a booking code (letters, digits and "-", at most 32)', code=code)
    return code


# -- reading a file ----------------------------------------------------------------------------
def _rows(text: str, name: str) -> tuple[str, list[tuple[int, dict]]]:
    """("line" or "booking", [(where, {column: value})]) of a CSV's or a JSON list's bookings."""
    if text.lstrip()[:1] in ("[", "{"):  # a CSV's header starts with "code"
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise CabinError("{file} is not valid JSON: {why}", file=name, why=str(exc)) from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise CabinError("{file} must be a JSON list of objects with the keys {columns}",
                             file=name, columns=", ".join(COLUMNS))
        return "booking", list(enumerate(items, start=1))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    for column in COLUMNS:
        if column not in header:
            raise _at(name, ("line", 1), CabinError("missing column {column} (the header is {columns})",
                                                    column=column, columns=",".join(COLUMNS)))
    for column in header:
        if column not in COLUMNS:
            raise _at(name, ("line", 1), CabinError("unexpected column {column} (the header is {columns})",
                                                    column=column, columns=",".join(COLUMNS)))
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) != len(header):
            raise _at(name, ("line", reader.line_num), CabinError(
                "{found} values where the header has {wanted}", found=len(values), wanted=len(header)))
        rows.append((reader.line_num, dict(zip(header, values))))
    return "line", rows


def _slot_time(value, tz) -> int:
    text = str(value).strip() if isinstance(value, str) else ""
    try:
        if not SLOT_TIME.fullmatch(text):
            raise ValueError
        return to_ms(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz))
    except ValueError:
        raise CabinError("bad date {value}: times are YYYY-MM-DD HH:MM", value=str(value)) from None


def _booking(row: dict, config: StationConfig) -> Booking:
    """One booking, checked; CabinError with the reason."""
    for column in COLUMNS:
        if row.get(column) is None or row.get(column) == "":
            raise CabinError("missing {column}", column=column)
    unexpected = sorted(set(row) - set(COLUMNS))
    if unexpected:
        raise CabinError("unexpected key {column} (the keys are {columns})",
                         column=unexpected[0], columns=", ".join(COLUMNS))
    code = clean_code(row["code"])
    services = row["services"]
    if isinstance(services, str):
        services = [s.strip() for s in services.split(";") if s.strip()]
    if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
        raise CabinError("missing {column}", column="services")
    for service in services:
        if service not in config.services:
            raise CabinError('unknown service "{code}"', code=service)
    if len(set(services)) != len(services):
        raise CabinError("an errand is listed twice on one ticket")
    if len(services) > config.queue.max_errands:
        raise CabinError("one ticket holds at most {limit} errands; {asked} were asked for",
                         limit=config.queue.max_errands, asked=len(services))
    tz = config.station.tz
    start, end = _slot_time(row["slot_start"], tz), _slot_time(row["slot_end"], tz)
    if end <= start:
        raise CabinError("the slot ends ({end}) before it starts ({start})",
                         end=str(row["slot_end"]).strip(), start=str(row["slot_start"]).strip())
    phone = row["phone_last4"]
    phone = str(phone).strip() if isinstance(phone, (str, int)) and not isinstance(phone, bool) else ""
    if not re.fullmatch(r"[0-9]{4}", phone):
        # the value is not repeated: it may be the whole phone number
        raise CabinError("phone_last4 must be the last 4 digits of a phone number (found {length} characters)",
                         length=len(str(row["phone_last4"]).strip()))
    return Booking(code, tuple(services), start, end, phone)


def read_bookings(path: Path, config: StationConfig) -> list[Booking]:
    """Every booking of the file, checked, or CabinError naming the line and the reason."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CabinError("cannot read {file}: {why}", file=name, why=exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise CabinError("{file} is not UTF-8 text", file=name) from None
    unit, rows = _rows(text, name)
    if not rows:
        raise CabinError("{file} holds no bookings", file=name)
    bookings, first_at = [], {}
    for where, row in rows:
        try:
            booking = _booking(row, config)
            if booking.code in first_at:
                raise CabinError("the code {code} is already in the file, at {place}",
                                 code=booking.code, place=_place(first_at[booking.code]))
        except CabinError as exc:
            raise _at(name, (unit, where), exc) from None
        first_at[booking.code] = (unit, where)
        bookings.append(replace(booking, place=(unit, where)))
    return bookings


def _place(place: tuple[str, int]) -> Said:
    unit, where = place
    return Said("line {line}", line=where) if unit == "line" else Said("booking {line}", line=where)


def _at(name: str, place: tuple[str, int], exc: CabinError) -> CabinError:
    """A booking's refusal, saying where in the file it is."""
    return CabinError("{file}, {place}: {reason}", file=name, place=_place(place), reason=exc.said)


def state(row, now: int, late_min: int) -> str:
    """A booking's state at `now`: "checked_in", "no_show" (its slot and the late tolerance have
    passed without a check-in) or "booked"."""
    if row["state"] == "checked_in":
        return "checked_in"
    return "no_show" if now > row["slot_end"] + late_min * MINUTE else "booked"


def day_counts(conn, config: StationConfig, days: list[str], now: int) -> dict[str, dict[str, int]]:
    """Per day (of the slot's start): booked (every booking of the day), checked_in, on_time
    (checked in with the appointment priority), no_show (at `now`)."""
    tz = config.station.tz
    counts = {day: {"booked": 0, "checked_in": 0, "on_time": 0, "no_show": 0} for day in days}
    if not days:
        return counts
    late = config.appointments.late_min
    for row in conn.execute("SELECT slot_start, slot_end, state, on_time FROM appointments"
                            " WHERE slot_start >= ? AND slot_start < ?",
                            (day_start_ms(min(days), tz), day_start_ms(next_day(max(days)), tz))):
        day = counts.get(local_day(row["slot_start"], tz))
        if day is None:
            continue
        day["booked"] += 1
        now_state = state(row, now, late)
        if now_state == "checked_in":
            day["checked_in"] += 1
            day["on_time"] += row["on_time"]
        elif now_state == "no_show":
            day["no_show"] += 1
    return counts


# -- the service -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckIn:
    code: str
    ticket: dict  # the issued ticket as its issuer returned it (Issued.as_dict(), a token, printed)
    on_time: bool
    outside: str | None  # "early" or "late" when the ticket is an ordinary one
    why: Said | None     # said to the citizen when it is
    slot_start: int
    slot_end: int

    def public(self, tz) -> dict:
        return {"code": self.code, **self.ticket, "on_time": self.on_time, "outside": self.outside,
                "why": None if self.why is None else str(self.why),
                "slot_start": _shown(self.slot_start, tz), "slot_end": _shown(self.slot_end, tz)}


def _shown(ms: int, tz) -> str:
    return local_time(ms, tz).strftime("%Y-%m-%d %H:%M")


class Appointments:
    def __init__(self, station: Station, issue: Callable[..., dict] | None = None):
        """`issue(services, priority=, channel=, record=)` -> the ticket as a dict: the ticket
        desk's (a token, printed on the dispenser's printer) or, by default, the engine's."""
        self.station, self.config = station, station.config
        self.store, self.tz = station.store, station.tz
        self._issue = issue or (lambda services, **kw: station.issue(services, **kw).as_dict())

    @rerun_on_conflict
    def import_file(self, path: Path) -> dict:
        """Every booking of the file, in one transaction; refused whole (nothing written) on any bad one."""
        bookings = read_bookings(path, self.config)
        with self.store.write() as conn:
            now = self.station.clock.now_ms()
            places = {b.code: b.place for b in bookings}
            codes = list(places)
            for chunk in range(0, len(codes), 500):
                part = codes[chunk:chunk + 500]
                taken = conn.execute(f"SELECT code FROM appointments WHERE code IN ({', '.join('?' * len(part))})"
                                     " ORDER BY code", part).fetchone()
                if taken is not None:
                    raise _at(str(path), places[taken[0]],
                              CabinError("the code {code} was already imported", code=taken[0]))
            conn.executemany(
                "INSERT INTO appointments (code, services, slot_start, slot_end, phone_last4, state, imported_at)"
                " VALUES (?, ?, ?, ?, ?, 'booked', ?)",
                [(b.code, json.dumps(list(b.services)), b.slot_start, b.slot_end, b.phone_last4, now) for b in bookings])
            days = sorted({local_day(b.slot_start, self.tz) for b in bookings})
            # the file's name alone: a folder may name a person (a user's home)
            audit.record(conn, None, "appointment.import", Path(path).name,
                         {"imported": len(bookings), "days": days}, at=now)
        return {"file": str(path), "imported": len(bookings), "days": days}

    def checkin(self, code: str) -> CheckIn:
        """The booking `code` turned into a ticket: the appointment priority inside its slot (and
        the tolerance), an ordinary ticket outside it (and why)."""
        code = clean_code(code)
        row = self._row(code)
        if row["state"] == "checked_in":
            raise self._used(code, row["ticket_id"])
        if row["purged_at"] is not None:
            # a late_min of hours keeps a window open past a one-day purge: a purged day's counts
            # must not change, so its bookings are over
            raise CabinError("the appointment {code} is past its retention and was purged: take an ordinary ticket",
                             code=code)
        now = self.station.clock.now_ms()
        rules = self.config.appointments
        opens, closes = row["slot_start"] - rules.early_min * MINUTE, row["slot_end"] + rules.late_min * MINUTE
        today = local_day(now, self.tz)
        # every local day the window touches (ISO dates compare as text): a slot across midnight
        # checks in on either side of it; its own day (the start's) is always one of them
        if not local_day(opens, self.tz) <= today <= local_day(closes, self.tz):
            raise CabinError("the appointment {code} is for {day}, not today: take an ordinary ticket",
                             code=code, day=local_day(row["slot_start"], self.tz))
        start, end = _shown(row["slot_start"], self.tz)[-5:], _shown(row["slot_end"], self.tz)[-5:]
        outside, why = None, None
        if now < opens:
            outside = "early"
            why = Said("your appointment is from {start} to {end}; it can be checked in from {opens}:"
                       " you get an ordinary ticket", start=start, end=end, opens=_shown(opens, self.tz)[-5:])
        elif now > closes:
            outside = "late"
            why = Said("your appointment was from {start} to {end}; it could be checked in until {closes}:"
                       " you get an ordinary ticket", start=start, end=end, closes=_shown(closes, self.tz)[-5:])

        def use_booking(conn, issued: dict, at: int) -> None:
            used = conn.execute(
                "UPDATE appointments SET state = 'checked_in', ticket_id = ?, on_time = ?, checked_in_at = ?"
                " WHERE id = ? AND state = 'booked' RETURNING id",
                (issued["ticket_id"], int(outside is None), at, row["id"])).fetchone()
            if used is None:  # checked in at another dispenser since it was read: this ticket is not issued
                again = conn.execute("SELECT ticket_id FROM appointments WHERE id = ?", (row["id"],)).fetchone()
                raise self._used(code, again[0], conn)
            audit.record(conn, None, "appointment.checkin", code,
                         {"ticket": issued["ticket"], "on_time": outside is None, "outside": outside}, at=at)

        ticket = self._issue(list(json.loads(row["services"])), priority=PRIORITY if outside is None else DEFAULT_PRIORITY,
                             channel=CHANNEL, record=use_booking)
        return CheckIn(code, ticket, outside is None, outside, why, row["slot_start"], row["slot_end"])

    def show(self, code: str) -> dict:
        """A booking and its state now (no_show computed)."""
        code = clean_code(code)
        row = self._row(code)
        now = self.station.clock.now_ms()
        ticket = None
        if row["ticket_id"] is not None:
            with self.store.read() as conn:
                ticket = conn.execute("SELECT number FROM tickets WHERE id = ?", (row["ticket_id"],)).fetchone()[0]
        return {"code": code, "services": json.loads(row["services"]), "slot_start": _shown(row["slot_start"], self.tz),
                "slot_end": _shown(row["slot_end"], self.tz), "phone_last4": row["phone_last4"],
                "state": state(row, now, self.config.appointments.late_min), "ticket": ticket,
                "on_time": None if row["on_time"] is None else bool(row["on_time"])}

    def _row(self, code: str):
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM appointments WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise CabinError("no appointment {code}", code=code)
        return dict(row)

    def _used(self, code: str, ticket_id: int, conn=None) -> CabinError:
        def number(c):
            return c.execute("SELECT number, day FROM tickets WHERE id = ?", (ticket_id,)).fetchone()

        if conn is None:
            with self.store.read() as c:
                found = number(c)
        else:
            found = number(conn)
        return CabinError("the appointment {code} was already checked in: its ticket is {ticket} ({day})",
                          code=code, ticket=found[0], day=found[1])

