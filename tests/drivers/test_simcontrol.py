"""The simulators' control-line grammar (drivers/simcontrol.py): the generic lines every device
takes, a device's own actions, and refusals as one `error: ...` line that never raises."""

from __future__ import annotations

from cabin.drivers import simcontrol

FAULTS = ("cover_open", "jam")


class Device:
    """The smallest device with control lines: what a simulator writes."""

    def __init__(self):
        self.on: set[str] = set()
        self.cover = "closed"

    def set_fault(self, kind: str, on: bool = True) -> None:
        if kind.startswith("jam@") and kind != "jam@print":
            raise ValueError("jam is armed for print only")
        (self.on.add if on else self.on.discard)(kind)

    def _cover(self, args: list[str]) -> str:
        if args not in (["open"], ["close"]):
            raise simcontrol.ControlError("say: cover open|close")
        self.cover = args[0]
        return f"cover {args[0]}"

    def control(self, line: str) -> str:
        return simcontrol.answer(line, FAULTS, self.set_fault, lambda: self.on, {"cover": self._cover})


def test_fault_on_and_off():
    d = Device()
    assert d.control("fault jam on") == "ok fault jam on"
    assert d.on == {"jam"}
    assert d.control("  faults \n") == "ok faults: jam"
    assert d.control("fault jam off") == "ok fault jam off"
    assert d.control("faults") == "ok faults: none"


def test_fault_for_one_command_is_the_devices_to_refuse():
    d = Device()
    assert d.control("fault jam@print on") == "ok fault jam@print on"
    assert d.control("fault jam@feed on") == "error: jam is armed for print only"
    assert d.on == {"jam@print"}


def test_refusals_are_one_error_line():
    d = Device()
    assert d.control("fault smoke on").startswith("error: unknown fault 'smoke': one of cover_open, jam")
    assert d.control("fault jam maybe") == "error: say: fault KIND on|off"
    assert d.control("fault") == "error: say: fault KIND on|off"
    assert d.control("") == "error: empty line: send a command, e.g. help"
    assert d.control("x" * 201) == f"error: line longer than {simcontrol.MAX_LINE} characters"
    assert d.control("fault jam\x00 on") == "error: the line has control characters"
    assert d.control("dance").startswith("error: unknown line 'dance'")
    assert d.control("cover ajar") == "error: say: cover open|close"
    assert d.on == set() and d.cover == "closed"


def test_device_actions_and_help():
    d = Device()
    assert d.control("cover open") == "ok cover open" and d.cover == "open"
    assert d.control("help") == "ok lines: fault KIND on|off; faults; help; cover"


def test_longest_action_key_wins():
    said = []
    actions = {"card": lambda a: said.append(("card", a)), "card out": lambda a: said.append(("out", a))}
    assert simcontrol.answer("card out now", (), lambda k, on: None, lambda: (), actions) == "ok"
    assert said == [("out", ["now"])]


# -- the host's side: the control socket ---------------------------------------------------------------------
def talk(path, data: bytes, answers: int) -> list[str]:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(data)
        got = b""
        while got.count(b"\n") < answers:
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
    return got.decode("utf-8").splitlines()


def test_a_device_without_control_lines_says_so(tmp_path):
    from cabin.drivers.simhost import PtyHost

    class Mute:
        def receive(self, data):
            return []

    with PtyHost(Mute(), control=tmp_path / "ctl"):
        assert talk(tmp_path / "ctl", b"cover open\n", 1) == [simcontrol.NO_CONTROL]


def test_the_socket_passes_lines_and_refuses_an_endless_one(tmp_path):
    from cabin.drivers.simhost import TcpHost

    class Echo(Device):
        def receive(self, data):
            return []

    d = Echo()
    with TcpHost(d, control=tmp_path / "ctl") as host:
        assert host.control.path == tmp_path / "ctl"
        long = b"x" * 5000 + b" still the same line\ncover open\n"
        assert talk(tmp_path / "ctl", long, 2) == ["error: line longer than 200 characters", "ok cover open"]
        assert talk(tmp_path / "ctl", "fault jam on\r\nfault 卡 on\n".encode(), 2) == [
            "ok fault jam on", "error: unknown fault '卡': one of cover_open, jam"]
    assert d.on == {"jam"} and d.cover == "open"
    assert not (tmp_path / "ctl").exists()


def test_a_stale_socket_is_replaced(tmp_path):
    import socket

    from cabin.drivers.simhost import PtyHost

    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "ctl"))
    stale.close()  # a simulator killed -9 leaves its socket file
    with PtyHost(Device(), control=tmp_path / "ctl"):
        assert talk(tmp_path / "ctl", b"faults\n", 1) == ["ok faults: none"]
