"""What a workflow screen is given, and what it gives back (the counter app's contract).

The counter app pushes `screen_for(context)` (kiosk/faces/workflows/registry.py) for the errand
at its window, with a callback; the screen dismisses itself with a `WorkflowResult`.

- `WorkflowResult.completed` True: the errand was completed by the workflow itself (exit-entry
  and traffic intake do it in the same transaction as their record, `Intake.record`), so the
  counter app only refreshes;
- `recorded` True and `completed` False: the business record is made (an application, a loss
  report, a temporary card printed ...); the counter app then completes the errand with
  `Station.complete(window)` when the clerk confirms;
- both False: the clerk backed out (Escape); nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cabin.config import Window
from cabin.kiosk.business.accounts import Account

from cabin.kiosk.faces.base import StationLink


@dataclass(frozen=True)
class WorkflowContext:
    link: StationLink     # the store, station, config and clock (open it in a thread worker)
    clerk: Account        # the clerk signed in at this counter
    window: Window        # this window: its number and devices (reader, card_printer)
    request: dict         # the errand being served: {"request_id", "ticket", "ticket_id", "service", ...}


@dataclass(frozen=True)
class WorkflowResult:
    recorded: bool = False
    completed: bool = False
    receipt: str | None = None   # the record's receipt, to show in the counter's log line
    message: str = ""            # one line for the clerk (already in the face's language)
