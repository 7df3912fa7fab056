"""The simulators' control lines: what a test or an operator says to a running simulator.

`cabin sim KIND --control PATH` serves a unix socket; each text line sent there is handed to the
device's `control(line: str) -> str`, and its one-line answer goes back: `ok ...` or
`error: ...`. Every simulator understands the generic lines handled here, and adds its own:

    fault KIND on|off      switch one of its fault kinds (KIND@COMMAND too, where the device
                           arms a fault for one command: the device's set_fault decides)
    faults                 the faults switched on now
    help                   the lines this device takes

A simulator implements `control` in a few lines with `answer`:

    def control(self, line: str) -> str:
        return simcontrol.answer(line, FAULTS, self.set_fault, self.faults_on,
                                 {"cover open": self._open, "cover close": self._close})

A simulator module lists its own lines in `CONTROL_LINES` (e.g. `("cover open", "cover close")`):
`cabin sim --help` shows them. Each action gets the words after its own as a list and returns a detail for the `ok` line (or
None). An action or set_fault raising ValueError becomes `error: <its message>`. `control` is
called from the host's control thread while `receive` runs in the serving thread: the device
guards its state with its own lock (the actions and set_fault take it).
"""

from __future__ import annotations

from typing import Callable, Iterable

MAX_LINE = 200  # characters; a longer line is refused whole, never cut and half-obeyed
NO_CONTROL = "error: this device takes no control lines"
GENERIC = ("fault KIND on|off", "faults", "help")

Action = Callable[[list[str]], "str | None"]


class ControlError(ValueError):
    """A control line that cannot be obeyed; its message is the answer's text after `error: `."""


def words(line: str) -> list[str]:
    """The line's words; ControlError for a line that is empty, too long or not printable."""
    line = line.strip()
    if not line:
        raise ControlError("empty line: send a command, e.g. help")
    if len(line) > MAX_LINE:
        raise ControlError(f"line longer than {MAX_LINE} characters")
    if not line.isprintable():
        raise ControlError("the line has control characters")
    return line.split()


def parse_fault(args: list[str], known: Iterable[str]) -> tuple[str, bool]:
    """`KIND on|off` (the words after `fault`) -> (KIND, on). KIND may be KIND@COMMAND."""
    known = tuple(known)
    if len(args) != 2 or args[1] not in ("on", "off"):
        raise ControlError("say: fault KIND on|off")
    kind = args[0]
    if kind.split("@")[0] not in known:
        raise ControlError(f"unknown fault {kind!r}: one of {', '.join(known)}")
    return kind, args[1] == "on"


def ok(detail: str | None = None) -> str:
    return f"ok {detail}" if detail else "ok"


def error(message: str) -> str:
    return "error: " + " ".join(str(message).split())  # one line, whatever the message held


def answer(line: str, known_faults: Iterable[str], set_fault: Callable[[str, bool], None],
           faults_on: Callable[[], Iterable[str]], actions: dict[str, Action] | None = None) -> str:
    """Obey one control line: the generic lines, then the device's `actions` (keyed by their
    leading words, e.g. "remove card"; the longest key that matches wins). Never raises."""
    actions = actions or {}
    try:
        said = words(line)
        if said[0] == "fault":
            kind, on = parse_fault(said[1:], known_faults)
            set_fault(kind, on)
            return ok(f"fault {kind} {'on' if on else 'off'}")
        if said == ["faults"]:
            return ok("faults: " + (" ".join(sorted(faults_on())) or "none"))
        if said == ["help"]:
            return ok("lines: " + "; ".join(list(GENERIC) + sorted(actions)))
        for key in sorted(actions, key=lambda k: -len(k.split())):
            n = len(key.split())
            if said[:n] == key.split():
                return ok(actions[key](said[n:]))
        raise ControlError(f"unknown line {' '.join(said)!r}: send help for the lines this device takes")
    except ValueError as exc:  # ControlError, and a device's own refusals
        return error(str(exc))
