"""The device bar: the reader and card printer of this window and the dispenser's ticket printer,
each ready or at fault with the reason in plain words and what to do next.

The counter app checks them with `cabin.kiosk.devices.check` in a thread worker every
CHECK_SECONDS (FAULT_CHECK_SECONDS while one is at fault, so a fixed printer turns ready soon);
the bar only draws what it is given.
"""

from __future__ import annotations

from cabin.config import StationConfig
from cabin.kiosk.devices import ConfiguredDevice
from textual.widgets import Static

CHECK_SECONDS = 10.0
FAULT_CHECK_SECONDS = 3.0
ROLES = ("reader", "card-printer", "ticket-printer")
ROLE_KEYS = {"reader": "ctr_dev_reader", "card-printer": "ctr_dev_card_printer", "ticket-printer": "ctr_dev_ticket_printer"}
# the fault kinds a status names (the card printer's words, the ticket printer's summary)
CARD_WORDS = {"MECHANICAL_ERROR": "jam", "COVER_OPEN": "cover_open", "RIBBON_ENDED": "ribbon_out",
              "NO_RIBBON": "ribbon_out", "FEEDER_EMPTY": "feeder_empty", "HOPPER_FULL": "hopper_full"}


def window_devices(config: StationConfig, window: int) -> dict[str, ConfiguredDevice | None]:
    w = config.windows[window]
    printer = config.dispenser.ticket_printer
    return {
        "reader": ConfiguredDevice("reader", f"window {window}", w.reader) if w.reader else None,
        "card-printer": ConfiguredDevice("card-printer", f"window {window}", w.card_printer) if w.card_printer else None,
        "ticket-printer": ConfiguredDevice("ticket-printer", "dispenser", printer) if printer else None,
    }


def fault_text(strings, status: dict) -> str:
    """A checked device's fault in the face's language when it is a known kind; else the
    driver's own sentence (which already says what to do)."""
    role, detail = status["role"], status.get("detail", "")
    if role == "card-printer":
        words = detail.split(";")[0].split(",")
        kinds = [CARD_WORDS[w.strip()] for w in words if w.strip() in CARD_WORDS]
        if kinds:
            return strings(f"ctr_fault_card_{kinds[0]}")
    if role == "ticket-printer" and detail in ("cover_open", "paper_out", "offline"):
        return strings(f"ctr_fault_ticket_{detail}")
    return detail


class DeviceBar(Static):
    """One line per look: each device and its state; a fault's reason on the lines below."""

    def show(self, strings, statuses: dict[str, dict | None | str]) -> None:
        """`statuses[role]`: a `check` result, None (not configured) or "checking"."""
        parts, faults = [], []
        for role in ROLES:
            name = strings(ROLE_KEYS[role])
            status = statuses.get(role, "checking")
            if status is None:
                parts.append(f"{name} [dim]{strings('ctr_dev_none')}[/]")
            elif status == "checking":
                parts.append(f"{name} [dim]{strings('ctr_dev_checking')}[/]")
            elif status["status"] == "ready":
                parts.append(f"{name} [b $success]● {strings('ctr_dev_ready')}[/]")
            else:
                parts.append(f"{name} [b $error]✖ {strings('ctr_dev_fault')}[/]")
                faults.append(strings("ctr_dev_fault_line", device=name, reason=fault_text(strings, status)))
        text = "  │  ".join(parts)
        if faults:
            text += "\n" + "\n".join(f"[$error]{f}[/]" for f in faults)
        self.update(text)
        self.set_class(bool(faults), "-fault")
