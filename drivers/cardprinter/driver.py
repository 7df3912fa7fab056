"""The card printer over a serial link: status, firmware, feeder, and one card a job.

A job (`print_card`) is: check the status, read the card counter and the serial number, then
`Pr;k`, `Pmi;F;s`,
`Pc;k;=;<contrast>`, `Ss`, `Sr`, `Dbc` (the whole compressed panel), `Se`, each answered ACK
before the next goes out; then wait until the counter has moved. A card counts as printed only
when the printer has acknowledged `Se` (the end of the sequence) AND its counter of cards
printed and ejected has gone past the value read before the job.

No double print. The printer's counter is the witness, because it is the one thing that knows
whether a card came out when its confirmation was lost (silence after `Se`); its serial number
says that it is still the same printer (`Witness`, and the one rule `what_came_out`):
- before sending a job, the driver notes `unconfirmed = (job_id, Witness(counter, serial))`; it
  clears it when the card is confirmed;
- the next `print_card` on this printer reads both first: the same printer counting exactly one
  card more — the unconfirmed job did print: it is recorded as printed, and if it is the job
  being retried, nothing is sent again (`PrintResult.resumed`); the same printer counting the
  same — nothing came out; anything else (the counter went back: a reset printer; it jumped:
  other cards printed meanwhile; another serial: a swapped printer; no serial) cannot be told
  from the printer: `JobInDoubt`, and nothing is printed until a person has looked in the output
  tray and the caller records it (`settle_unconfirmed`);
- a job id that was printed is never printed again by this driver: printing the same face once
  more (a spoiled card) takes a new job id.
This holds for one `CardPrinter` object, the printer's only user (one per printer per process,
as the kiosk keeps it). A caller that must survive a restart saves `unconfirmed` with the job
and sets it back on the new object before retrying.
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
PRINTED, NOTHING = "printed", "nothing"
SERIAL_UNKNOWN, OTHER_PRINTER, COUNTER_BACK, COUNTER_JUMP = "serial_unknown", "other_printer", "counter_back", "counter_jump"
_IN_DOUBT = {SERIAL_UNKNOWN: "the printer's serial number could not be read",
             OTHER_PRINTER: "it is another printer: its serial number changed",
             COUNTER_BACK: "its counter went back: the printer was reset or swapped",
             COUNTER_JUMP: "its counter moved by more than one: other cards were printed on it meanwhile"}


@dataclass(frozen=True)
class Witness:
    """What tells later whether a job's card came out: the printer's counter of cards put out and
    its serial number (None: it could not be read), read just before the job was sent."""
    counter: int
    serial: str | None

    def __str__(self) -> str:
        return f"counter {self.counter}, serial number {self.serial or 'unreadable'}"


def what_came_out(before: Witness, now: Witness) -> str:
    """The one rule: PRINTED when the same printer (its serial number read and unchanged) counts
    exactly one card more; NOTHING when it counts the same (a caller that cannot be sure the job
    is over waits out its time first: a printer counts a card as it leaves); else why the
    printer cannot tell (SERIAL_UNKNOWN, OTHER_PRINTER, COUNTER_BACK, COUNTER_JUMP) and a person
    must look in the output tray."""
    if before.serial is None or now.serial is None:
        return SERIAL_UNKNOWN
    if before.serial != now.serial:
        return OTHER_PRINTER
    moved = now.counter - before.counter
    return {0: NOTHING, 1: PRINTED}.get(moved, COUNTER_BACK if moved < 0 else COUNTER_JUMP)


class JobInDoubt(DeviceError):
    """An unconfirmed job whose card the printer cannot account for (`what_came_out`): nothing is
    printed until a person has looked in the output tray and `settle_unconfirmed` records it."""

    def __init__(self, job_id: str, before: Witness, now: Witness, why: str):
        super().__init__(f"whether job {job_id}'s card came out cannot be told: {_IN_DOUBT[why]} ({before} when"
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
    counter: int | None  # the printer's card counter once the card was out; None: a person recorded it
    resumed: bool   # True: an earlier attempt had printed this card; nothing was sent again


class CardPrinter:
    def __init__(self, url: str, *, baudrate: int = 115200, timeout: float = 2.0,
                 print_timeout: float = 60.0, poll: float = 0.2, contrast: int = 10):
        self.link = Link(url, baudrate=baudrate, name="card printer")
        self.baudrate, self.timeout, self.print_timeout, self.poll = baudrate, timeout, print_timeout, poll
        self.contrast = contrast
        self.unconfirmed: tuple[str, Witness] | None = None
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
        if nack.code == "T":  # timeout/mechanical: the status words tell a jam from a full tray
            try:
                kind = next(iter(self.status().faults), kind)
            except DeviceError:
                pass
        return fault(kind, command=name, meaning=nack.meaning)

    # -- queries -----------------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        reply = self._query(codec.read_status(), "Rst")
        return PrinterStatus(() if reply == codec.READY else tuple(w for w in reply.split(",") if w))

    def firmware(self) -> str:
        return self._query(codec.firmware_version(), "Rfv")

    def feeder_has_cards(self) -> bool:
        reply = self._query(codec.feeder_status(), "Sk;f")
        if reply not in ("0", "3"):
            raise ProtocolError(f"the card printer answered Sk;f with {reply!r}, not 0 or 3")
        return reply == "0"

    def cards_printed(self) -> int:
        reply = self._query(codec.read_counter(), "Rco;c")
        if not reply.isdigit():
            raise ProtocolError(f"the card printer's counter reads {reply!r}, not a number")
        return int(reply)

    def serial_number(self) -> str:
        serial = self._query(codec.read_serial(), "Rsn").strip()
        if not serial:
            raise ProtocolError("the card printer answered Rsn with an empty serial number")
        return serial

    # -- the job -------------------------------------------------------------------------------------
    def print_card(self, image: Image.Image, job_id: str,
                   before_sending: Callable[[str, Witness], None] | None = None) -> PrintResult:
        """Print `image` on one card, once per `job_id` (module docstring); faults are typed.

        `before_sending(job_id, witness)` is called once the counter and the serial number are
        read and before the first byte of the job goes out: a caller that must survive a restart
        stores them there (if it raises, nothing is sent). With them, a later run tells whether
        this job's card came out by reading both again (`what_came_out`)."""
        job_id = str(job_id)
        data = compress(to_panel(image))  # a bad image fails here, before the printer moves
        with self._job_lock:
            if job_id in self._printed:
                return PrintResult(job_id, self._printed[job_id], resumed=True)
            before = self._ready_witness()
            if self.unconfirmed:
                earlier, noted = self.unconfirmed
                outcome = what_came_out(noted, before)
                if outcome not in (PRINTED, NOTHING):
                    raise JobInDoubt(earlier, noted, before, outcome)
                self.unconfirmed = None
                if outcome == PRINTED:  # that attempt's card came out; only its confirmation was lost
                    self._remember(earlier, before.counter)
                    if earlier == job_id:
                        return PrintResult(job_id, before.counter, resumed=True)
            if before_sending is not None:
                before_sending(job_id, before)
            self.unconfirmed = (job_id, before)
            try:
                self._send_job(data)
                after = self._wait_for_card(before.counter)
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
            counter = self.cards_printed()
            try:
                serial = self.serial_number()
            except ProtocolError as exc:
                raise ProtocolError(f"{exc}. Its serial number tells a swapped printer from the one a card was sent"
                                    " to, so nothing is printed without it: nothing was printed.") from None
            return Witness(counter, serial)
        except DeviceTimeout as exc:
            raise DeviceTimeout(f"{exc}. Nothing was printed.") from None

    def _send_job(self, data: bytes) -> None:
        self._do(codec.set_ribbon("k"), "Pr;k")
        self._do(codec.insert_card("F", "s"), "Pmi;F;s")
        self._do(codec.set_contrast(self.contrast), f"Pc;k;=;{self.contrast}")
        self._do(codec.sequence_start(), "Ss")
        self._do(codec.front(), "Sr")
        self._do(codec.download_compressed(data), "Dbc")
        self._do(codec.sequence_end(), "Se", self.print_timeout)

    def _wait_for_card(self, before: int) -> int:
        """Se was acknowledged; the card is printed once the counter says it came out."""
        deadline = time.monotonic() + self.print_timeout
        while True:
            counter = self.cards_printed()
            if counter > before:
                return counter
            status = self.status()
            if status.faults:
                raise fault(status.faults[0])
            if time.monotonic() > deadline:
                raise DeviceTimeout(f"the card printer acknowledged the job but no card came out"
                                    f" within {self.print_timeout:g} s")
            time.sleep(self.poll)

    def _remember(self, job_id: str, counter: int | None) -> None:
        self._printed[job_id] = counter
        while len(self._printed) > _REMEMBERED:
            self._printed.popitem(last=False)
