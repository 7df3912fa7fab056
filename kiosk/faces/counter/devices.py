"""The device bar: the reader and card printer of this window and the dispenser's ticket printer,
each ready or at fault with the reason in plain words and what to do next.

The counter app checks them with `cabin.kiosk.devices.check` in a thread worker every
CHECK_SECONDS (FAULT_CHECK_SECONDS while one is at fault, so a fixed printer turns ready soon);
the bar only draws what it is given.
"""

from __future__ import annotations

from cabin.config import StationConfig
from cabin.kiosk.devices import DEVICE_KINDS, ConfiguredDevice
from textual.reactive import var
from textual.widgets import Static

from cabin.kiosk.faces.faults import FAULT_KEYS, PRINTER_FAULT_KEYS

CHECK_SECONDS = 10.0
FAULT_CHECK_SECONDS = 3.0
ROLE_KEYS = {"reader": "ctr_dev_reader", "card-printer": "ctr_dev_card_printer", "ticket-printer": "ctr_dev_ticket_printer"}


def window_devices(config: StationConfig, window: int) -> dict[str, ConfiguredDevice | None]:
    w = config.windows[window]
    printer = config.dispenser.ticket_printer
    return {
        "reader": ConfiguredDevice("reader", f"window {window}", w.reader) if w.reader else None,
        "card-printer": ConfiguredDevice("card-printer", f"window {window}", w.card_printer) if w.card_printer else None,
        "ticket-printer": ConfiguredDevice("ticket-printer", "dispenser", printer) if printer else None,
    }


def fault_text(strings, status: dict) -> str:
    """A checked device's fault in the face's language, by its kind (kiosk.devices.fault_kind):
    a printer's own words for its faults, the workflows' for the rest; the driver's own sentence
    (which already says what to do) only for a kind the catalog does not know."""
    role, kind = status["role"], status.get("kind")
    key = PRINTER_FAULT_KEYS.get(role, {}).get(kind) or FAULT_KEYS.get(kind)
    return strings(key) if key else status.get("detail", "")


class ShowsDevices:
    """A screen with a device bar: the app sets `devices` (each role's status) and the bar
    shows them."""

    devices: var[dict] = var(dict, always_update=True)

    def watch_devices(self, devices: dict) -> None:
        for bar in self.query(DeviceBar):  # type: ignore[attr-defined]
            bar.show(self.app.strings, devices)  # type: ignore[attr-defined]


class DeviceBar(Static):
    """One line per look: each device and its state; a fault's reason on the lines below."""

    def show(self, strings, statuses: dict[str, dict | None | str]) -> None:
        """`statuses[role]`: a `check` result, None (not configured) or "checking"."""
        parts, faults = [], []
        for role in DEVICE_KINDS:
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
