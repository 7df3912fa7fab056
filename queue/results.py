"""What the queue engine's operations return (`queue/engine.py`'s `Station`).

Each operation returns one of these frozen dataclasses: typed for the code that reads it, and
`as_dict()` for the JSON the CLI prints (`--json`), whose keys are the fields in order, as the
README lists them. Lists stay lists (the JSON's arrays).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Result:
    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Call(Result):
    """A request called to (or continuing at) a window: what the board and the clerk see."""

    ticket: str
    ticket_id: int
    request_id: int
    service: str
    window: int


@dataclass(frozen=True)
class AtWindow(Call):
    """The request a window has called or is serving, and which of the two (`state`)."""

    state: str


@dataclass(frozen=True)
class Issued(Result):
    ticket: str
    ticket_id: int
    services: list[str]
    priority: str
    ahead: int
    estimated_wait_min: float
    day: str = ""

    def as_dict(self) -> dict:  # the day first, as the JSON has always had it
        fields = asdict(self)
        return {"day": fields.pop("day"), **fields}


@dataclass(frozen=True)
class Recalled(Result):
    """A recall; past the recall limit the errand became a no-show instead (`no_show`)."""

    ticket: str
    request_id: int
    window: int
    recalls: int
    no_show: bool


@dataclass(frozen=True)
class MarkedNoShow(Result):
    ticket: str
    request_id: int
    window: int
    no_show: bool = True  # always: the JSON says so as a recall's does


@dataclass(frozen=True)
class Started(Result):
    ticket: str
    request_id: int
    window: int
    service: str


@dataclass(frozen=True)
class Completed(Result):
    """The errand done (`completed`: its request id) and the ticket's next errand if it continues
    at the same window (the one-stop rule), else None."""

    completed: int
    ticket: str
    continued: Call | None


@dataclass(frozen=True)
class Transferred(Result):
    """The errand sent on (`transferred`: its request id) and the new request that waits
    (`request_id`) for `service`, at `to_window` or any window serving it (None)."""

    transferred: int
    request_id: int
    ticket: str
    service: str
    to_window: int | None


@dataclass(frozen=True)
class Cancelled(Result):
    ticket: str
    ticket_id: int
    cancelled: list[int]  # the request ids cancelled


@dataclass(frozen=True)
class Reactivated(Result):
    """A no-show ticket back at its place: its first missed errand waits again."""

    ticket: str
    ticket_id: int
    request_id: int
    service: str


@dataclass(frozen=True)
class WindowChanged(Result):
    window: int
    state: str
    changed: bool  # False: the window already was in that state


@dataclass(frozen=True)
class WindowState(Result):
    window: int
    state: str
    services: list[str]
    current: AtWindow | None


@dataclass(frozen=True)
class QueueState(Result):
    """The queue now: per service how many wait, since when the longest-waiting has (ms), the
    estimated wait for a new ticket; every window of the config."""

    day: str
    waiting: dict[str, int]
    waiting_since: dict[str, int]
    estimated_wait_min: dict[str, float]
    windows: list[WindowState]


@dataclass(frozen=True)
class Outlook(Result):
    """People ahead of a ticket's waiting errand, and its estimated wait."""

    ahead: int
    estimated_wait_min: float


@dataclass(frozen=True)
class Errand(Result):
    request_id: int
    position: int
    service: str
    state: str
    window: int | None
    target_window: int | None
    recalls: int
    transferred_from: int | None


@dataclass(frozen=True)
class Ticket(Result):
    ticket: str
    ticket_id: int
    day: str
    priority: str
    channel: str
    state: str
    issued_at: int
    errands: list[Errand]
