"""Temporary resident ID cards at the counter: request, a supervisor's approval, print, void.

The rules are temprules.py's; this module records them and drives the card printer.

    requested --approve (a supervisor, not the requester)--> approved --print--> printed
        |                                                       |                  |
        +--refuse (supervisor, reason)--> refused               +--void(reason)--> voided <-+

A card is recorded as printed only when the printer confirms it, and is never printed twice by
a lost answer, a fault, a retry, a reprint, a kill -9 or a swapped or reset printer. Before the
first byte of a job goes out, the job is written to `card_jobs` with what the printer said just
before (the guide's counters, domain.md 7.2: `Rco;c` cards inserted — a card counts when it leaves
the feeder, even if it then jams — `Rco;p` panels printed, and its serial number `Rsn`; one job a
printer, named by its device path resolved through links). The row goes when the card is
confirmed; when the printer refuses a command (a NACK ends the sequence: nothing more is printed)
the counters are read at once: no card inserted, the row is dropped; one inserted and nothing
printed on it (a jam), the card is spoiled: counted once on the record (`cards_spoiled`, audited
`tempcard.spoiled`), never printed on again, and the clerk prints again with a new card (nothing
was handed out, so no supervisor is needed; the spoiled card is shredded). Whatever else happened
(a timeout, a lost answer, a crash, the process killed, a power cut), the next print on that
printer settles the row first, by the driver's one rule (`what_came_out`), on the same serial
number: one card inserted, out of the printer (`Rlr;p` OK) and the job's panel printed — it came
out: recorded (`"resumed": true`) and, if it is the card being printed, not printed again; one
inserted, out, nothing printed — spoiled, as above; one inserted and still inside — not out yet:
the clerk waits out the job's time, then takes the card out and prints again; nothing inserted —
nothing came out, but only once the job's time is up; anything else — a counter went back (a
reset or swapped printer) or moved by more (other cards printed meanwhile), panels that do not
add up, another serial number or none — the printer cannot tell: the print is refused, the
refusal audited (`tempcard.print_held`: the printer, the counters and serial numbers), and a
supervisor looks in the output tray and records what is there (`settle_by_hand`); until then
nothing is printed on that printer. A job row also claims its card: no other printer prints or
voids it until the row is settled, and a print re-checks, in the transaction that writes the row,
that the card is still approved (or printed as many times as it was), and that the main card is
still pending.

The face is drawn before anything moves (cardface.py): a font without a glyph of the name, an
address too long for the card, a missing photo refuse the print with the reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from cabin.config import StationConfig
from cabin.drivers import fonts
from cabin.drivers.cardprinter.driver import (COUNTER_BACK, COUNTER_JUMP, INSIDE, NOTHING, OTHER_PRINTER, PANELS_OFF,
                                              PANELS_UNKNOWN, PRINTED, SPOILED, Witness, what_came_out)
from cabin.drivers.errors import DeviceError, DeviceFault
from cabin.drivers.idreader.record import NATIONS, SEXES, IdCard
from cabin.drivers.private import make_folder
from cabin.queue.clock import SystemClock, local_date
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError, Said

from cabin.kiosk import identity
from cabin.kiosk.business import audit, cardface, temprules
from cabin.kiosk.privacy import mask_id
from cabin.kiosk.business.accounts import COUNTER_ROLES, Account, check_actor
from cabin.kiosk.business.receipts import next_receipt
from cabin.kiosk.checks import check_source, clean_reason, clean_required
from cabin.kiosk.paths import data_dir

APPROVERS = ("supervisor",)
MAX_NAME, MAX_ADDRESS = 40, 120
PHOTO_DECODER_SECONDS = 20


@dataclass(frozen=True)
class Person:
    """The applicant as the card will show them."""
    number: str
    name: str
    sex: str            # "1" male, "2" female (GB/T 2261.1, as the card reader gives it)
    nation_code: str    # "01".."56", "97", "98"
    address: str
    photo: Image.Image
    source: str = "reader"        # where the identity came from: reader / manual (with a reason)
    source_reason: str | None = None
    photo_source: str = "reader"  # reader (decoded WLT) / file

    def __repr__(self) -> str:
        return f"Person({mask_id(self.number)})"


# -- where the person and the photo come from -------------------------------------------------
def decode_photo(wlt: bytes, argv: tuple[str, ...]) -> Image.Image:
    """The reader's WLT photo as an image, through the configured decoder command."""
    if not argv:
        raise CabinError("no photo decoder is configured ([temporary_card] photo_decoder): give the photo"
                         " as an image file instead")
    if not wlt:
        raise CabinError("the card read has no photo: give the photo as an image file")
    with tempfile.TemporaryDirectory(prefix="cabin-photo-") as tmp:
        src, out = Path(tmp, "photo.wlt"), Path(tmp, "photo.png")
        src.write_bytes(wlt)
        command = [a.replace("{wlt}", str(src)).replace("{out}", str(out)) for a in argv]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PHOTO_DECODER_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CabinError("the photo decoder {decoder} could not run: {why}", decoder=argv[0], why=exc) from None
        if done.returncode != 0 or not out.exists():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:]
            why = audit.printable(last[0]) if last else Said("exit {code}", code=done.returncode)
            raise CabinError("the photo decoder {decoder} failed: {why}", decoder=argv[0], why=why)
        return open_photo(out)


def open_photo(path: str | os.PathLike) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise CabinError("the photo {path} cannot be read as an image: {why}",
                         path=audit.printable(str(path)), why=exc) from None


def person_from_card(card: IdCard, config: StationConfig, photo_file: str | None = None) -> Person:
    """A resident card just read: its fields, and its photo decoded (or the file given)."""
    if card.card_type.value != "resident":
        raise CabinError("a temporary resident ID card is for citizens: this is a {card}", card=card.card_type.label)
    photo = open_photo(photo_file) if photo_file else decode_photo(card.photo, config.temporary_card.photo_decoder)
    return Person(card.id_number, card.name, card.sex, card.nation_code, card.address, photo,
                  photo_source="file" if photo_file else "reader")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def printer_key(url: str) -> str:
    """One name per physical printer for the job rows and the lock: a device path resolved
    through its links (/dev/serial/by-id/... and /dev/ttyUSB0 are one printer); a URL as given."""
    if "://" not in url and os.path.exists(url):
        return os.path.realpath(url)
    return url


# -- the records ---------------------------------------------------------------------------------
_SHOWN = ("receipt", "state", "basis", "basis_ref", "agent_kind", "fee_yuan", "source", "photo_source",
          "requested_by", "decided_by", "refused_reason", "valid_from", "valid_to", "cards_printed", "cards_spoiled",
          "printed_by", "voided_by", "void_reason")


def public(row, today: date | None = None) -> dict:
    """A temporary card as any screen may show it: masked, no address, no photo."""
    d = {c: row[c] for c in _SHOWN}
    d["number"] = mask_id(row["id_number"]) if row["purged_at"] is None else row["id_number"]
    d["name"] = (row["name"][:1] + "*") if row["name"] else ""
    d["sex"] = SEXES.get(row["sex"], "")
    d["nation"] = NATIONS.get(row["nation_code"], "")
    d["cross_region"] = bool(row["cross_region"])
    d["expired"] = bool(today and row["valid_to"] and row["state"] == "printed"
                        and date.fromisoformat(row["valid_to"]) < today)
    d["purged"] = row["purged_at"] is not None
    return d


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


class TempCards:
    def __init__(self, store, config: StationConfig, clock=None):
        self.store, self.config = store, config
        self.policy = config.temporary_card
        self.tz = config.station.tz
        self.clock = clock or SystemClock(self.tz)

    def today(self) -> date:
        return local_date(self.clock.now_ms(), self.tz)

    # -- request --------------------------------------------------------------------------------
    @rerun_on_conflict
    def request(self, person: Person, *, by: Account, basis: str | None = None, basis_ref: str | None = None,
                agent: dict | None = None) -> dict:
        """Take the request: checked against the rules, the photo made black and white, the fee
        noted. `basis` None: the person's pending application here if there is one. `agent`:
        {"kind": guardian|proxy, "number", "name", "document"}."""
        today = self.today()
        checked = identity.check(person.number, self.config.station.province, today=today)
        if not checked.valid:
            raise CabinError("the ID number {number} is not valid: {reason}",
                             number=mask_id(checked.number), reason=checked.reason)
        if checked.permit or checked.legacy:
            raise CabinError("a temporary resident ID card needs an 18-digit citizen ID number")
        source, source_reason = check_source(person.source, person.source_reason)
        name = clean_required(person.name, Said("name"), max_length=MAX_NAME)
        address = clean_required(person.address, Said("registered address"), max_length=MAX_ADDRESS)
        if person.sex not in ("1", "2"):
            raise CabinError("the sex must be 1 (male) or 2 (female), as on the card")
        if person.sex != ("1" if checked.sex == "M" else "2"):
            raise CabinError("the sex does not match the ID number (its 17th digit is odd for a man, even for a"
                             " woman): check both")
        if person.nation_code not in NATIONS:
            raise CabinError('unknown ethnic group code "{code}" (GB 3304: 01 to 56, 97, 98)',
                             code=audit.printable(person.nation_code))
        photo = _png(cardface.bw_photo(person.photo))
        the_agent = self._agent(agent, today)
        temprules.check_agent(checked.birth, today, checked.number, the_agent)

        with self.store.write() as conn:
            clerk = check_actor(conn, by, *COUNTER_ROLES)
            app = conn.execute("SELECT receipt, state, cross_region FROM applications WHERE id_number = ?"
                               " ORDER BY id DESC LIMIT 1", (checked.number,)).fetchone()
            pending = app if app is not None and app["state"] in temprules.PENDING else None
            if basis is None:
                basis = "application" if pending else None
                if basis is None:
                    temprules.check_basis("application", app["state"] if app else None, None)
            ref = basis_ref.strip() if basis_ref else None
            if basis == "application":
                if ref and pending and ref.upper() != pending["receipt"]:
                    raise CabinError("the application {ref} is not this person's pending one ({pending})",
                                     ref=audit.printable(ref), pending=pending["receipt"])
                ref = pending["receipt"] if pending else ref
                temprules.check_basis(basis, pending["state"] if pending else (app["state"] if app else None), ref)
            else:
                temprules.check_basis(basis, None, ref and clean_required(ref, Said("document reference"), max_length=60))
            temprules.check_region(checked.cross_region, self.policy.cross_region,
                                   pending["state"] if pending else None, bool(pending and pending["cross_region"]))
            self._no_card_in_hand(conn, checked.number, today)
            now = self.clock.now_ms()
            receipt = next_receipt(conn, "temp_cards", "LS", today.isoformat())
            conn.execute(
                "INSERT INTO temp_cards (receipt, state, id_number, name, sex, nation_code, birth, address, photo,"
                " basis, basis_ref, agent_kind, agent_number, agent_name, agent_document, cross_region, fee_yuan,"
                " source, source_reason, photo_source, requested_by, requested_at, updated_at)"
                " VALUES (?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (receipt, checked.number, name, person.sex, person.nation_code, checked.birth.isoformat(), address,
                 photo, basis, ref, the_agent and the_agent.kind, the_agent and the_agent.number,
                 the_agent and the_agent.name, the_agent and the_agent.document, int(checked.cross_region),
                 self.policy.fee, source, source_reason, person.photo_source, clerk.name, now, now))
            audit.record(conn, clerk.name, "tempcard.request", receipt,
                         {"number": mask_id(checked.number), "basis": basis, "source": source,
                          "agent": the_agent and the_agent.kind, "fee_yuan": self.policy.fee}, at=now)
            return public(self._row(conn, receipt), today)

    def _agent(self, agent: dict | None, today: date) -> temprules.Agent | None:
        if not agent:
            return None
        kind = agent.get("kind")
        checked = identity.check(agent.get("number") or "", self.config.station.province, today=today)
        if not checked.valid:
            raise CabinError("the {kind}'s ID number is not valid: {reason}", kind=kind, reason=checked.reason)
        document = agent.get("document")
        return temprules.Agent(kind, checked.number, checked.birth,
                               clean_required(agent.get("name"), Said("{kind}'s name", kind=kind), max_length=MAX_NAME),
                               clean_required(document, Said("power of attorney reference"), max_length=60) if document else None)

    def _no_card_in_hand(self, conn, number: str, today: date) -> None:
        for row in conn.execute("SELECT receipt, state, valid_to FROM temp_cards WHERE id_number = ?"
                                " AND state IN ('requested', 'approved', 'printed')", (number,)):
            if row["state"] != "printed":
                raise CabinError("{number} already has a temporary card in the making ({receipt}, {state})",
                                 number=mask_id(number), receipt=row["receipt"], state=row["state"])
            if date.fromisoformat(row["valid_to"]) >= today:
                raise CabinError("{number} holds a valid temporary card ({receipt}, valid to {valid_to}): void it"
                                 " first, with the reason",
                                 number=mask_id(number), receipt=row["receipt"], valid_to=row["valid_to"])

    # -- decision ---------------------------------------------------------------------------------
    def approve(self, receipt: str, *, by: Account) -> dict:
        return self._decide(receipt, by, "approved", None)

    def refuse(self, receipt: str, *, by: Account, reason: str) -> dict:
        return self._decide(receipt, by, "refused", clean_reason(reason, Said("reason for the refusal")))

    def _check_still_eligible(self, conn, row) -> None:
        """The rules again at approval and at the print: the main card may have been collected,
        or the policy switched, since the request was taken."""
        if row["basis"] == "application":
            app = conn.execute("SELECT state, cross_region FROM applications WHERE receipt = ?",
                               (row["basis_ref"],)).fetchone()
            state = app["state"] if app else None
            temprules.check_basis("application", state, row["basis_ref"])
            temprules.check_region(bool(row["cross_region"]), self.policy.cross_region, state,
                                   bool(app and app["cross_region"]))
        elif row["cross_region"] and not self.policy.cross_region:
            temprules.check_region(True, False, None, False)

    @rerun_on_conflict
    def _decide(self, receipt: str, by: Account, state: str, reason: str | None) -> dict:
        with self.store.write() as conn:
            supervisor = check_actor(conn, by, *APPROVERS)
            row = self._row(conn, receipt)
            if row["state"] != "requested":
                raise CabinError("{receipt} is {state}: only a requested card is approved or refused",
                                 receipt=row["receipt"], state=row["state"])
            if row["requested_by"].casefold() == supervisor.name.casefold():
                raise CabinError("{supervisor} took this request: a second person approves it (another"
                                 " supervisor signs in)", supervisor=supervisor.name)
            if state == "approved":
                self._check_still_eligible(conn, row)
            now = self.clock.now_ms()
            conn.execute("UPDATE temp_cards SET state = ?, decided_by = ?, decided_at = ?, refused_reason = ?,"
                         " updated_at = ? WHERE id = ?", (state, supervisor.name, now, reason, now, row["id"]))
            audit.record(conn, supervisor.name, f"tempcard.{'approve' if state == 'approved' else 'refuse'}",
                         row["receipt"], {"reason": reason} if reason else None, at=now)
            return public(self._row(conn, row["receipt"]), self.today())

    # -- print --------------------------------------------------------------------------------------
    def print(self, receipt: str, printer, printer_url: str, *, by: Account, reprint_reason: str | None = None,
              font: tuple[str, int] | None = None) -> dict:
        """Print the approved card (or, with `reprint_reason`, one more card of a printed one:
        a supervisor's decision). Returns the card with `"resumed": True` when an earlier attempt
        turns out to have printed it (nothing is printed again)."""
        printer_url = printer_key(printer_url)
        with self._printer_lock(printer_url):
            return self._print(receipt, printer, printer_url, by, reprint_reason, font)

    def _printer_lock_file(self, printer_url: str) -> str:
        """The lock file of a printer, one per station database and printer. SQLite: beside the
        database, as every process printing into it runs on its host. A database on a server has
        no folder here; the printer is attached to this PC, whose processes are the ones that can
        print on it: the file is in this PC's data dir (kiosk/paths.py), named after the database
        (its URL without the password) and the printer."""
        name = _short_hash(printer_url)
        if self.store.dialect == "sqlite":
            return f"{self.store.path}-printer-{name}"
        folder = data_dir() / "printers"
        make_folder(folder)
        return str(folder / f"{_short_hash(self.store.where)}-{name}")

    @contextlib.contextmanager
    def _printer_lock(self, printer_url: str):
        """One job at a time per printer across processes: settling a job row is only right when
        no live process is still printing it. An flock, so a killed process lets go. Local on
        PostgreSQL too, rather than an advisory lock on the server: a session lock is lost
        silently when the store's connection is made again mid-print (and another process could
        then settle the job being printed), and printing never waits on the network."""
        fd = os.open(self._printer_lock_file(printer_url), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CabinError("the card printer {printer} is printing another card right now: wait for it"
                                 " and try again", printer=printer_url) from None
            yield
        finally:
            os.close(fd)

    def _print(self, receipt, printer, printer_url, by, reprint_reason, font) -> dict:
        if reprint_reason is not None:
            reprint_reason = clean_reason(reprint_reason, Said("reason for printing the card again"))
        with self.store.read() as conn:
            row = self._row(conn, receipt)
            busy = conn.execute("SELECT printer FROM card_jobs WHERE card_id = ?", (row["id"],)).fetchone()
        if busy and busy["printer"] != printer_url:
            raise CabinError("{receipt} was sent to the printer {printer} and its card is not"
                             " confirmed yet: print it on that printer, which settles it",
                             receipt=row["receipt"], printer=busy["printer"])
        settled = self._settle(printer, printer_url, by)
        with self.store.read() as conn:
            row = self._row(conn, receipt)
        if settled and settled["printed"] and settled["job"].split("/")[0] == row["receipt"]:
            # this card's earlier attempt (a first print or a reprint) did come out: not again
            return {**public(row, self.today()), "resumed": True}
        with self.store.read() as conn:
            self._check_printable(conn, row, reprint_reason, by)

        n = row["cards_printed"] + 1
        if row["valid_from"]:
            valid_from, valid_to = date.fromisoformat(row["valid_from"]), date.fromisoformat(row["valid_to"])
        else:
            valid_from, valid_to = temprules.validity(self.today(), self.policy.validity_months)
        fields = self.face_fields(row, valid_from, valid_to)
        face = cardface.render(fields, *(font or self.font(cardface.face_text(fields))))
        job_id = f"{row['receipt']}/{n}"

        @rerun_on_conflict
        def claim(job: str, before: Witness) -> None:
            with self.store.write() as conn:
                now_row = self._row(conn, receipt)
                clerk = self._check_printable(conn, now_row, reprint_reason, by)
                if now_row["cards_printed"] != n - 1:
                    raise CabinError("{receipt} was printed meanwhile (elsewhere): nothing was sent",
                                     receipt=row["receipt"])
                self._check_still_eligible(conn, now_row)
                if conn.execute("SELECT 1 FROM card_jobs WHERE printer = ? OR card_id = ?",
                                (printer_url, row["id"])).fetchone():
                    raise CabinError("another print started on this printer or of this card meanwhile: try again")
                conn.execute("INSERT INTO card_jobs (printer, job_id, card_id, counter_before, panels_before, panels,"
                             " printer_serial, valid_from, valid_to, reprint_reason, clerk, started_at)"
                             " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                             (printer_url, job, row["id"], before.cards, before.panels, before.serial,
                              valid_from.isoformat(), valid_to.isoformat(), reprint_reason, clerk.name,
                              self.clock.now_ms()))

        # The database settles earlier jobs (above), not the driver's memory of this process: its
        # note of an unconfirmed job would answer for a row a supervisor has settled by hand.
        printer.unconfirmed = None
        try:
            result = printer.print_card(face, job_id, before_sending=claim)
        except DeviceFault:
            # the printer refused a command (NACK): the sequence ended, nothing more is printed;
            # the counters say now whether a card had left the feeder (a jam: spoiled)
            self._after_refusal(printer, printer_url, job_id)
            raise

        @rerun_on_conflict
        def recorded():
            with self.store.write() as conn:
                job = conn.execute("SELECT * FROM card_jobs WHERE printer = ?", (printer_url,)).fetchone()
                if job is None or job["job_id"] != job_id:  # settled by someone else meanwhile
                    return {**public(self._row(conn, receipt), self.today()), "resumed": True}
                self._record_printed(conn, job, result.counter, confirmed="printer")
                return {**public(self._row(conn, receipt), self.today()), "resumed": False}
        return recorded()

    def _check_printable(self, conn, row, reprint_reason: str | None, by: Account) -> Account:
        actor = check_actor(conn, by, *(APPROVERS if reprint_reason is not None else COUNTER_ROLES))
        if reprint_reason is None:
            if row["state"] == "printed":
                count = row["cards_printed"]
                cards = Said("{count} cards", count=count) if count > 1 else Said("{count} card", count=count)
                raise CabinError("{receipt} is already printed ({cards}, by {by}): look in the"
                                 " printer's output tray. Only a spoiled card is printed again, by a supervisor with"
                                 " the reason (reprint)", receipt=row["receipt"], cards=cards, by=row["printed_by"])
            if row["state"] == "requested":
                raise CabinError("{receipt} is {state}: only an approved card is printed (a supervisor approves it"
                                 " first)", receipt=row["receipt"], state=row["state"])
            if row["state"] != "approved":
                raise CabinError("{receipt} is {state}: only an approved card is printed",
                                 receipt=row["receipt"], state=row["state"])
        elif row["state"] != "printed":
            raise CabinError("{receipt} is {state}: only a printed card is printed again",
                             receipt=row["receipt"], state=row["state"])
        elif date.fromisoformat(row["valid_to"]) < self.today():
            raise CabinError("{receipt} expired on {valid_to}: a new request is needed, not a reprint",
                             receipt=row["receipt"], valid_to=row["valid_to"])
        if row["purged_at"] is not None:
            raise CabinError("{receipt}'s personal data was purged: it cannot be printed", receipt=row["receipt"])
        return actor

    def _settle(self, printer, printer_url: str, by: Account) -> dict | None:
        """This printer's unconfirmed job, if any: did its card come out? (module docstring)"""
        with self.store.read() as conn:
            pending = conn.execute("SELECT job_id, started_at FROM card_jobs WHERE printer = ?", (printer_url,)).fetchone()
        if pending is None:
            return None
        now = printer.witness()  # a DeviceError here leaves the job to settle later

        @rerun_on_conflict
        def settled():
            with self.store.write() as conn:
                job = conn.execute("SELECT * FROM card_jobs WHERE printer = ?", (printer_url,)).fetchone()
                if job is None or job["job_id"] != pending["job_id"]:
                    return None
                receipt = job["job_id"].split("/")[0]
                before = self._before(job)
                outcome = what_came_out(before, now, job["panels"])
                if outcome == PRINTED:
                    self._record_printed(conn, job, now.cards, confirmed="counter")
                    return {"job": job["job_id"], "printed": True}
                if outcome == SPOILED:
                    self._record_spoiled(conn, job, before, now)
                    return {"job": job["job_id"], "printed": False, "spoiled": True}
                if outcome in (NOTHING, INSIDE):
                    # A card is counted when it leaves the feeder and is out when Rlr;p says none is
                    # inside: until the job's time is up it may still be on its way.
                    wait_ms = job["started_at"] + int(printer.print_timeout * 1000) - self.clock.now_ms()
                    if wait_ms > 0:
                        raise CabinError("{job} may still be printing (sent {seconds} s ago): wait {wait} s until the"
                                         " printer stops, then print again", job=job["job_id"],
                                         seconds=self._ago(job["started_at"]), wait=math.ceil(wait_ms / 1000))
                if outcome == INSIDE:
                    raise CabinError("a card of {job} is stuck inside the card printer {printer}: open its cover, take"
                                     " the card out (a card with nothing printed on it is spoiled: shred it), close the"
                                     " cover and print again: the printer's counters then tell what came out",
                                     job=job["job_id"], printer=printer_url)
                if outcome == NOTHING:
                    conn.execute("DELETE FROM card_jobs WHERE printer = ?", (printer_url,))
                    audit.record(conn, job["clerk"], "tempcard.not_printed", receipt,
                                 {"job": job["job_id"], "cards_inserted": now.cards, "panels_printed": now.panels,
                                  "serial": now.serial}, at=self.clock.now_ms())
                    return {"job": job["job_id"], "printed": False}
                # The printer cannot account for the card: recorded (committed) before it is refused.
                audit.record(conn, by.name, "tempcard.print_held", receipt,
                             {"job": job["job_id"], "printer": printer_url, "why": outcome,
                              "cards_before": before.cards, "cards_now": now.cards, "panels_before": before.panels,
                              "panels_now": now.panels, "position_now": now.position,
                              "serial_before": before.serial, "serial_now": now.serial}, at=self.clock.now_ms())
            raise CabinError(
                "whether {receipt}'s card came out cannot be told from the card printer {printer}: {why}. When {job}"
                " was sent: {before}; now: {now}. Nothing more is printed on it until a supervisor has looked in its"
                " output tray: is {receipt}'s card there? Then: cabin tempcard settle {receipt} --printed|--not-printed"
                " --reason ...",
                receipt=receipt, printer=printer_url, why=self._why_in_doubt(outcome, before, now), job=job["job_id"],
                before=self._counters(before, Said("not recorded (the job was sent before serial numbers were)")),
                now=self._counters(now, Said("unreadable")))
        return settled()

    @staticmethod
    def _before(job) -> Witness:
        return Witness(job["counter_before"], job["panels_before"], job["printer_serial"])

    @staticmethod
    def _counters(w: Witness, no_serial: Said) -> Said:
        return Said("cards inserted {cards}, panels printed {panels}, serial number {serial}", cards=w.cards,
                    panels=Said("not recorded") if w.panels is None else w.panels, serial=w.serial or no_serial)

    def _after_refusal(self, printer, printer_url: str, job_id: str) -> None:
        """The printer refused a command of job `job_id`: its sequence ended and nothing more will
        be printed. No card left the feeder: nothing came out, the job is dropped; one left and
        nothing was printed on it (a jam; it may still be inside): it is spoiled, recorded now.
        Otherwise (or when the counters cannot be read) the job row stays for the next print."""
        with self.store.read() as conn:
            job = conn.execute("SELECT * FROM card_jobs WHERE printer = ?", (printer_url,)).fetchone()
        if job is None or job["job_id"] != job_id:
            return
        try:
            now = printer.witness()
        except DeviceError:
            return
        before = self._before(job)
        outcome = what_came_out(before, now, job["panels"])
        if outcome == INSIDE and now.panels == before.panels:
            outcome = SPOILED  # stopped with the card inside, nothing printed on it

        @rerun_on_conflict
        def settled():
            with self.store.write() as conn:
                again = conn.execute("SELECT * FROM card_jobs WHERE printer = ?", (printer_url,)).fetchone()
                if again is None or again["job_id"] != job_id:
                    return
                if outcome == NOTHING:
                    conn.execute("DELETE FROM card_jobs WHERE printer = ?", (printer_url,))
                    audit.record(conn, job["clerk"], "tempcard.not_printed", job_id.split("/")[0],
                                 {"job": job_id, "why": "refused by the printer"}, at=self.clock.now_ms())
                elif outcome == SPOILED:
                    self._record_spoiled(conn, job, before, now)
        return settled()

    def _record_spoiled(self, conn, job, before: Witness, now: Witness) -> None:
        """One card left the feeder for `job` and nothing was printed on it: counted once on the
        card's record, never printed on again; the job is over (the next print takes a new card)."""
        at = self.clock.now_ms()
        conn.execute("UPDATE temp_cards SET cards_spoiled = cards_spoiled + 1, updated_at = ? WHERE id = ?",
                     (at, job["card_id"]))
        conn.execute("DELETE FROM card_jobs WHERE printer = ?", (job["printer"],))
        audit.record(conn, job["clerk"], "tempcard.spoiled", job["job_id"].split("/")[0],
                     {"job": job["job_id"], "printer": job["printer"], "serial": now.serial,
                      "cards_before": before.cards, "cards_now": now.cards, "panels_before": before.panels,
                      "panels_now": now.panels, "position_now": now.position}, at=at)

    @staticmethod
    def _why_in_doubt(outcome: str, before: Witness, now: Witness) -> Said:
        if outcome == COUNTER_BACK:
            return Said("a counter went back: the printer was reset or swapped")
        if outcome == COUNTER_JUMP:
            panels = Said("not recorded") if None in (now.panels, before.panels) else now.panels - before.panels
            return Said("its counters moved by {cards} cards and {panels} panels: other cards were printed on it"
                        " meanwhile", cards=now.cards - before.cards, panels=panels)
        if outcome == OTHER_PRINTER:
            return Said("it is another printer (its serial number changed): the printer was swapped")
        if outcome == PANELS_OFF:
            return Said("one card left the feeder but {panels} panels were printed, not the job's",
                        panels=now.panels - before.panels)
        if outcome == PANELS_UNKNOWN:
            return Said("one card left the feeder; the job was sent before the panels were counted")
        return Said("its serial number is not known")

    def _ago(self, ms: int) -> str:
        """Whole seconds since `ms`, as a number the sentence puts its unit after."""
        return f"{max(0, self.clock.now_ms() - ms) / 1000:.0f}"

    @rerun_on_conflict
    def settle_by_hand(self, receipt: str, *, printed: bool, by: Account, reason: str) -> dict:
        """A supervisor's record of what came out of a job the printer cannot tell about (a dead
        printer, other cards printed on it meanwhile, a swapped or reset one): looked at in the
        output tray, and written down."""
        reason = clean_reason(reason, Said("reason"))
        with self.store.write() as conn:
            supervisor = check_actor(conn, by, *APPROVERS)
            row = self._row(conn, receipt)
            job = conn.execute("SELECT * FROM card_jobs WHERE card_id = ?", (row["id"],)).fetchone()
            if job is None:
                raise CabinError("{receipt} has no print waiting to be settled", receipt=row["receipt"])
            if printed:
                self._record_printed(conn, job, None, confirmed=f"supervisor {supervisor.name}: {reason}")
            else:
                conn.execute("DELETE FROM card_jobs WHERE printer = ?", (job["printer"],))
                audit.record(conn, supervisor.name, "tempcard.not_printed", row["receipt"],
                             {"job": job["job_id"], "by_hand": True, "reason": reason}, at=self.clock.now_ms())
            return public(self._row(conn, row["receipt"]), self.today())

    def _record_printed(self, conn, job, counter: int, confirmed: str) -> None:
        now = self.clock.now_ms()
        conn.execute("UPDATE temp_cards SET state = 'printed', cards_printed = cards_printed + 1,"
                     " valid_from = coalesce(valid_from, ?), valid_to = coalesce(valid_to, ?),"
                     " printed_by = ?, printed_at = ?, updated_at = ? WHERE id = ?",
                     (job["valid_from"], job["valid_to"], job["clerk"], now, now, job["card_id"]))
        conn.execute("DELETE FROM card_jobs WHERE printer = ?", (job["printer"],))
        receipt = job["job_id"].split("/")[0]
        detail = {"job": job["job_id"], "counter": counter, "printer": job["printer"], "serial": job["printer_serial"],
                  "confirmed_by": confirmed, "reprint": job["reprint_reason"] is not None}
        if job["reprint_reason"] is not None:
            detail["reason"] = job["reprint_reason"]
        audit.record(conn, job["clerk"], "tempcard.print", receipt, detail, at=now)

    def font(self, text: str = "") -> tuple[str, int]:
        """The font for a face printing `text` ([temporary_card] font, else cabin.drivers.fonts' choice)."""
        if self.policy.font and not Path(self.policy.font).is_file():
            raise CabinError("the card font {font} ([temporary_card] font) does not exist", font=self.policy.font)
        try:
            found = fonts.cjk_font(text, configured=self.policy.font)
        except fonts.FontMissing as exc:
            raise CabinError("the card cannot be drawn: {why}", why=exc) from None
        return found.path, found.index

    def face_fields(self, row, valid_from: date, valid_to: date) -> cardface.FaceFields:
        with Image.open(io.BytesIO(row["photo"])) as photo:
            photo.load()
            return cardface.FaceFields(
                name=row["name"], sex=SEXES[row["sex"]], nation=NATIONS[row["nation_code"]],
                birth=date.fromisoformat(row["birth"]), address=row["address"], number=row["id_number"],
                valid_from=valid_from, valid_to=valid_to, authority=self.policy.authority, photo=photo.copy())

    # -- void, show -----------------------------------------------------------------------------
    @rerun_on_conflict
    def void(self, receipt: str, *, by: Account, reason: str) -> dict:
        reason = clean_reason(reason, Said("reason for voiding the card"))
        with self.store.write() as conn:
            clerk = check_actor(conn, by, *COUNTER_ROLES)
            row = self._row(conn, receipt)
            if row["state"] not in ("requested", "approved", "printed"):
                raise CabinError("{receipt} is {state}: there is nothing to void",
                                 receipt=row["receipt"], state=row["state"])
            job = conn.execute("SELECT printer FROM card_jobs WHERE card_id = ?", (row["id"],)).fetchone()
            if job:
                raise CabinError("{receipt} was sent to the printer {printer} and its card is not"
                                 " confirmed yet: print it on that printer first (it settles what came out), or a"
                                 " supervisor records by hand what came out (cabin tempcard settle)",
                                 receipt=row["receipt"], printer=job["printer"])
            now = self.clock.now_ms()
            conn.execute("UPDATE temp_cards SET state = 'voided', voided_by = ?, voided_at = ?, void_reason = ?,"
                         " updated_at = ? WHERE id = ?", (clerk.name, now, reason, now, row["id"]))
            audit.record(conn, clerk.name, "tempcard.void", row["receipt"],
                         {"reason": reason, "was": row["state"], "cards_printed": row["cards_printed"]}, at=now)
            return public(self._row(conn, row["receipt"]), self.today())

    def show(self, receipt: str) -> dict:
        with self.store.read() as conn:
            return public(self._row(conn, receipt), self.today())

    def list(self, state: str | None = None) -> list[dict]:
        today = self.today()
        where, params = ("WHERE state = ?", [state]) if state is not None else ("", [])
        with self.store.read() as conn:
            rows = conn.execute(f"SELECT * FROM temp_cards {where} ORDER BY id", params).fetchall()
        return [public(r, today) for r in rows]

    @staticmethod
    def _row(conn, receipt: str):
        row = conn.execute("SELECT * FROM temp_cards WHERE receipt = ?", ((receipt or "").strip().upper(),)).fetchone()
        if row is None:
            raise CabinError("there is no temporary card {receipt}", receipt=audit.printable(receipt or ""))
        return row
