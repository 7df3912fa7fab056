"""The card printer over a serial link: status, firmware, feeder, and one card a job.

A job (`print_card`) is: check the status (`Rse;o`, `Sk;f`, `Rcr`, `Rlr;p`: there is no `Rst` in
the guide), read the counters and the serial number, then `Pem;4` (ACK/NACK mode), `Pr;k`,
`Pmi;F;s`, `Pc;k;=;<contrast>`,
`Ss`, `Sr`, `Dbc;k;2;<nb_bytes>;<data>` (the whole compressed panel), for a duplex card `Sv` and
the back's `Dbc`, then `Se`, each answered ACK before the next goes out; then read the counters
until the card is out. A card counts as printed only when the printer has acknowledged `Se` AND
the guide's counters say it came out (`what_came_out`).

What the counters tell (domain.md 7.2): `Rco;c` counts the cards inserted (a card counts when it
leaves the feeder, even if it then jams), `Rco;p` the panels printed, `Rlr;p` where a card is
(`OK`: none inside). So, against the values read just before a job, on the same printer (its
serial number `Rsn` read and unchanged):
- no card inserted, no panel printed: NOTHING came out, the job may be sent again;
- one card inserted and still inside (`Rlr;p` not OK): INSIDE, not out yet (still printing, or
  stuck: a person takes it out, then the counters are read again);
- one card inserted, out of the printer, no panel printed: SPOILED (it jammed and was taken out,
  or the printer pushed it out blank after a power cut): counted once, never printed again;
- one card inserted, out, exactly the job's panels printed: PRINTED;
- anything else (a counter went back: a reset or swapped printer; more cards or panels: other
  jobs on it meanwhile; another serial number; none; panels that do not add up): the printer
  cannot tell, a person looks in the output tray (`JobInDoubt`, `settle_unconfirmed`).

No double print: before sending a job the driver notes `unconfirmed = (job_id, Witness)`; it
clears it when the card is confirmed; the next `print_card` on this printer reads the witness
again first and applies the rule: PRINTED — recorded as printed, and if it is the job being
retried nothing is sent again (`PrintResult.resumed`); NOTHING or SPOILED — the job may print
(SPOILED jobs are listed in `spoiled`); anything else — `JobInDoubt` until a person has looked.
A job id that was printed is never printed again by this driver: printing the same face once
more (a spoiled card) takes a new job id. This holds for one `CardPrinter` object, the printer's
only user (one per printer per process, as the kiosk keeps it). A caller that must survive a
restart saves `unconfirmed` with the job and sets it back on the new object before retrying.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from PIL import Image

from ..errors import DeviceError, DeviceTimeout, ProtocolError
from ..link import Link
from . import codec
from .faults import KIND_OF_NACK, fault, kinds_of
from .panel import compress, to_panel

_REMEMBERED = 1000  # printed job ids kept; a counter desk prints far fewer between restarts
PRINTED, NOTHING, SPOILED, INSIDE = "printed", "nothing", "spoiled", "inside"
SERIAL_UNKNOWN, OTHER_PRINTER, COUNTER_BACK, COUNTER_JUMP = "serial_unknown", "other_printer", "counter_back", "counter_jump"
PANELS_OFF, PANELS_UNKNOWN = "panels_off", "panels_unknown"
IN_DOUBT = {SERIAL_UNKNOWN: "the printer's serial number could not be read",
            OTHER_PRINTER: "it is another printer: its serial number changed",
            COUNTER_BACK: "a counter went back: the printer was reset or swapped",
            COUNTER_JUMP: "its counters moved by more than this job: other cards were printed on it meanwhile",
            PANELS_OFF: "one card left the feeder but the panels printed do not add up to the job's",
            PANELS_UNKNOWN: "the panels counter was not read when the job was sent"}


@dataclass(frozen=True)
class Witness:
    """What tells later whether a job's card came out, as read from the printer: its counters of
    cards inserted (`Rco;c`) and panels printed (`Rco;p`; None: not known), its serial number
    (None: it could not be read), and where a card is (`Rlr;p`; `OK`: none inside)."""
    cards: int
    panels: int | None
    serial: str | None
    position: str = codec.NO_CARD

    def __str__(self) -> str:
        panels = "unknown" if self.panels is None else self.panels
        return f"cards inserted {self.cards}, panels printed {panels}, serial number {self.serial or 'unreadable'}"


def what_came_out(before: Witness, now: Witness, panels: int = 1) -> str:
    """The one rule (module docstring): PRINTED, NOTHING, SPOILED, INSIDE, or why the printer
    cannot tell (SERIAL_UNKNOWN, OTHER_PRINTER, COUNTER_BACK, COUNTER_JUMP, PANELS_OFF,
    PANELS_UNKNOWN) and a person must look. `panels`: what the job prints (1 a side)."""
    if before.serial is None or now.serial is None:
        return SERIAL_UNKNOWN
    if before.serial != now.serial:
        return OTHER_PRINTER
    cards = now.cards - before.cards
    if before.panels is None or now.panels is None:
        return {0: NOTHING}.get(cards, PANELS_UNKNOWN if cards == 1 else COUNTER_BACK if cards < 0 else COUNTER_JUMP)
    printed = now.panels - before.panels
    if cards < 0 or printed < 0:
        return COUNTER_BACK
    if cards > 1 or (cards == 0 and printed):
        return COUNTER_JUMP
    if cards == 0:
        return NOTHING
    if now.position != codec.NO_CARD:
        return INSIDE
    return {0: SPOILED, panels: PRINTED}.get(printed, PANELS_OFF if printed < panels else COUNTER_JUMP)


class JobInDoubt(DeviceError):
    """An unconfirmed job whose card the printer cannot account for (`what_came_out`): nothing is
    printed until a person has looked in the output tray and `settle_unconfirmed` records it."""

    def __init__(self, job_id: str, before: Witness, now: Witness, why: str):
        super().__init__(f"whether job {job_id}'s card came out cannot be told: {IN_DOUBT[why]} ({before} when"
                         f" it was sent; {now} now). Look in the card printer's output tray for it: nothing more is"
                         " printed until what is there is recorded.")
        self.job_id, self.before, self.now, self.why = job_id, before, now, why


@dataclass(frozen=True)
class PrinterStatus:
    words: tuple[str, ...]  # the status words; empty when the printer says READY

    @property
    def faults(self) -> list[str]:
        return kinds_of(self.words)

    @property
    def ready(self) -> bool:
        return not self.faults

    def __str__(self) -> str:  # what `cabin devices list` shows
        return ",".join(self.words) or codec.READY


@dataclass(frozen=True)
class PrintResult:
    job_id: str
    counter: int | None  # the printer's cards-inserted counter once the card was out; None: a person recorded it
    resumed: bool   # True: an earlier attempt had printed this card; nothing was sent again


class CardPrinter:
    def __init__(self, url: str, *, baudrate: int = 115200, timeout: float = 2.0,
                 print_timeout: float = 60.0, poll: float = 0.2, contrast: int = 10):
        self.link = Link(url, baudrate=baudrate, name="card printer")
        self.baudrate, self.timeout, self.print_timeout, self.poll = baudrate, timeout, print_timeout, poll
        self.contrast = contrast
        self.unconfirmed: tuple[str, Witness] | None = None
        self.spoiled: list[str] = []  # jobs whose card left the feeder and came out unprinted
        self._panels: dict[str, int] = {}  # the unconfirmed job's panels (1 a side)
        self._printed: OrderedDict[str, int | None] = OrderedDict()
        self._job_lock = threading.Lock()

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "CardPrinter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one exchange ----------------------------------------------------------------------------
    def _exchange(self, request: bytes, name: str, timeout: float, skip=None) -> codec.Answer:
        return self.link.transact(request, codec.ReplyParser(), timeout, f"answer to {name}", skip)

    def _query(self, request: bytes, name: str) -> str:
        """A query's text; asked twice before giving up (a query changes nothing, so it may)."""
        refused: list[codec.Nack] = []

        def not_the_answer(answer) -> bool:
            # An ACK is never a query's answer: it is a late one to an action of an earlier run
            # (a card finishing after its host was killed), read past. A NACK may be such a late
            # one too (a killed job's command refused): read past it as well, and take it as this
            # query's own refusal only when nothing else comes.
            if isinstance(answer, codec.Nack):
                refused.append(answer)
                return True
            return isinstance(answer, codec.Ack)

        for attempt in (1, 2):
            try:
                answer = self._exchange(request, name, self.timeout, skip=not_the_answer)
                break
            except DeviceTimeout:
                if refused:
                    answer = refused[-1]
                    break
                if attempt == 2:
                    raise
        if isinstance(answer, codec.Text):
            return answer.text
        if isinstance(answer, codec.Nack):  # a query refused: not the printer we think it is
            raise ProtocolError(f"the card printer refused the query {name} ({answer.meaning}):"
                                " check that the configured device is an Evolis-style card printer")
        raise ProtocolError(f"the card printer answered {name} with ACK instead of its value")

    def _do(self, request: bytes, name: str, timeout: float | None = None) -> None:
        """An action: ACK or a typed fault. Never re-sent here: only the job may decide that."""
        wire = len(request) * 10 / self.baudrate  # the bytes' own time on the line
        answer = self._exchange(request, name, math.ceil(((timeout or self.timeout) + wire) * 100) / 100)
        if isinstance(answer, codec.Nack):
            raise self._nack_fault(answer, name)
        if not isinstance(answer, codec.Ack):
            raise ProtocolError(f"the card printer answered {name} with {answer.text!r} instead of ACK/NACK")

    def _nack_fault(self, nack: codec.Nack, name: str) -> DeviceError:
        kind = KIND_OF_NACK[nack.code]
        if nack.code == "T":  # timeout/mechanical: a card inside (Rlr;p) is a jam, else a stop
            try:                # with none inside, a full output tray the likeliest cause
                kind = "jam" if self.card_position() != codec.NO_CARD else "hopper_full"
            except DeviceError:
                pass
        return fault(kind, command=name, meaning=nack.meaning)

    # -- queries -----------------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """The status words from the guide's queries: cover, feeder, ribbon, a card inside."""
        words = []
        if self._query(codec.cover_sensor(), "Rse;o") == codec.COVER_OPEN:
            words.append("COVER_OPEN")
        if not self.feeder_has_cards():
            words.append("FEEDER_EMPTY")
        ribbon = self._query(codec.ribbon(), "Rcr")
        if ribbon in (codec.END_OF_RIBBON, codec.NO_RIBBON):
            words.append("RIBBON_ENDED" if ribbon == codec.END_OF_RIBBON else "NO_RIBBON")
        if self.card_position() != codec.NO_CARD:
            words.append("CARD_INSIDE")
        return PrinterStatus(tuple(words))

    def firmware(self) -> str:
        return self._query(codec.firmware_version(), "Rfv")

    def model(self) -> str:
        return self._query(codec.model(), "Rtp")

    def feeder_has_cards(self) -> bool:
        reply = self._query(codec.feeder_status(), "Sk;f")
        if reply not in ("0", "1", "2", "3"):
            raise ProtocolError(f"the card printer answered Sk;f with {reply!r}, not 0 to 3")
        return reply != "3"

    def card_position(self) -> str:
        reply = self._query(codec.card_position(), "Rlr;p")
        if reply not in codec.POSITIONS:
            raise ProtocolError(f"the card printer answered Rlr;p with {reply!r}, not {' / '.join(codec.POSITIONS)}")
        return reply

    def cleaning_needed(self) -> bool:
        return self._query(codec.cleaning(), "Rlr;c") != codec.CLEAN

    def _counter(self, request: bytes, name: str) -> int:
        reply = self._query(request, name)
        if not (reply.isascii() and reply.isdigit()):
            raise ProtocolError(f"the card printer's counter {name} reads {reply!r}, not a number")
        return int(reply)

    def cards_inserted(self) -> int:
        return self._counter(codec.cards_inserted(), "Rco;c")

    def panels_printed(self) -> int:
        return self._counter(codec.panels_printed(), "Rco;p")

    def serial_number(self) -> str:
        serial = self._query(codec.read_serial(), "Rsn").strip()
        if not serial:
            raise ProtocolError("the card printer answered Rsn with an empty serial number")
        return serial

    def witness(self, serial_required: bool = False) -> Witness:
        """The counters, the card's position and the serial number now (None when it is refused,
        unless `serial_required`)."""
        cards, panels, position = self.cards_inserted(), self.panels_printed(), self.card_position()
        try:
            serial = self.serial_number()
        except ProtocolError:
            if serial_required:
                raise
            serial = None
        return Witness(cards, panels, serial, position)

    # -- the job -------------------------------------------------------------------------------------
    def print_card(self, image: Image.Image, job_id: str,
                   before_sending: Callable[[str, Witness], None] | None = None,
                   back: Image.Image | None = None) -> PrintResult:
        """Print `image` on one card (and `back` on its back side), once per `job_id` (module
        docstring); faults are typed.

        `before_sending(job_id, witness)` is called once the counters and the serial number are
        read and before the first byte of the job goes out: a caller that must survive a restart
        stores them there (if it raises, nothing is sent). With them, a later run tells whether
        this job's card came out by reading them again (`what_came_out`)."""
        job_id = str(job_id)
        # a bad image fails here, before the printer moves
        sides = [compress(to_panel(image))] + ([compress(to_panel(back))] if back is not None else [])
        with self._job_lock:
            if job_id in self._printed:
                return PrintResult(job_id, self._printed[job_id], resumed=True)
            before = self._ready_witness()
            if self.unconfirmed:
                earlier, noted = self.unconfirmed
                outcome = what_came_out(noted, before, self._panels.get(earlier, 1))
                if outcome not in (PRINTED, NOTHING, SPOILED):
                    raise JobInDoubt(earlier, noted, before, outcome)
                self.unconfirmed = None
                if outcome == SPOILED:
                    self.spoiled.append(earlier)
                if outcome == PRINTED:  # that attempt's card came out; only its confirmation was lost
                    self._remember(earlier, before.cards)
                    if earlier == job_id:
                        return PrintResult(job_id, before.cards, resumed=True)
            if before_sending is not None:
                before_sending(job_id, before)
            self.unconfirmed = (job_id, before)
            self._panels = {job_id: len(sides)}
            try:
                self._send_job(sides)
                after = self._wait_for_card(before, len(sides))
            except DeviceTimeout as exc:
                raise DeviceTimeout(f"{exc}. Once it answers again press Reprint: a card it did"
                                    " print will not be printed a second time.") from None
            self.unconfirmed = None
            self._remember(job_id, after)
            return PrintResult(job_id, after, resumed=False)

    def settle_unconfirmed(self, printed: bool) -> None:
        """A person looked in the output tray after a `JobInDoubt`: record what they found (the
        card there: its job id is printed and never sent again; none: it may be printed again)."""
        with self._job_lock:
            if self.unconfirmed and printed:
                self._remember(self.unconfirmed[0], None)
            self.unconfirmed = None

    def _ready_witness(self) -> Witness:
        try:
            status = self.status()
            if status.faults:
                raise fault(status.faults[0])
            try:
                return self.witness(serial_required=True)
            except ProtocolError as exc:
                raise ProtocolError(f"{exc}. Its serial number tells a swapped printer from the one a card was sent"
                                    " to, so nothing is printed without it: nothing was printed.") from None
        except DeviceTimeout as exc:
            raise DeviceTimeout(f"{exc}. Nothing was printed.") from None

    def _send_job(self, sides: list[bytes]) -> None:
        # Pem;4 first: without ACK/NACK mode a printer answers no action (a power cut resets it)
        self._do(codec.ack_mode(), "Pem;4")
        self._do(codec.set_ribbon("k"), "Pr;k")
        self._do(codec.insert_card("F", "s"), "Pmi;F;s")
        self._do(codec.set_contrast(self.contrast), f"Pc;k;=;{self.contrast}")
        self._do(codec.sequence_start(), "Ss")
        for select, name, data in zip((codec.front, codec.back), ("Sr", "Sv"), sides):
            self._do(select(), name)
            self._do(codec.download_compressed(data, "k", 2), "Dbc")
        self._do(codec.sequence_end(), "Se", self.print_timeout)

    def _wait_for_card(self, before: Witness, panels: int) -> int:
        """Se was acknowledged; the card is printed once the counters say it came out. A card
        inside is what printing looks like (`Rlr;p` CARD): a jam only once the job's time is up."""
        deadline = time.monotonic() + self.print_timeout
        while True:
            now = self.witness()
            if what_came_out(before, now, panels) == PRINTED:
                return now.cards
            status = self.status()
            late = time.monotonic() > deadline
            stopped = [kind for kind in status.faults if kind != "jam" or late]
            if stopped:
                raise fault(stopped[0])
            if late:
                raise DeviceTimeout(f"the card printer acknowledged the job but no card came out"
                                    f" within {self.print_timeout:g} s")
            time.sleep(self.poll)

    def _remember(self, job_id: str, counter: int | None) -> None:
        self._printed[job_id] = counter
        while len(self._printed) > _REMEMBERED:
            self._printed.popitem(last=False)
