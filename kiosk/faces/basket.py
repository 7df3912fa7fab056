"""The citizen's choice at the dispenser, before the ticket exists; no Textual here.

It only keeps the screen from offering what the engine would refuse (more errands than a
ticket holds, the same errand twice); the engine still decides when the ticket is issued.
"""

from __future__ import annotations

from cabin.config import Priority, StationConfig


class Basket:
    def __init__(self, config: StationConfig):
        self.limit = config.queue.max_errands
        self.services: list[str] = []   # in the order chosen: the order they are served
        self.priority = False

    def toggle(self, code: str) -> bool:
        """Choose or un-choose an errand; False when the ticket is already full."""
        if code in self.services:
            self.services.remove(code)
            return True
        if self.full:
            return False
        self.services.append(code)
        return True

    @property
    def full(self) -> bool:
        return len(self.services) >= self.limit

    def clear(self) -> None:
        self.services.clear()
        self.priority = False


def dispenser_priority(config: StationConfig) -> Priority | None:
    """The class a citizen may ask for at the dispenser: "priority" (the elderly, the disabled,
    the pregnant, the military). Appointment tickets come from the appointment channel, not
    from a button anyone can press."""
    return config.priorities.get("priority")
