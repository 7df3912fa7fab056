"""Serve a simulated device on a pseudo-terminal or a loopback TCP port.

A simulator is a state machine with one method, `receive(data) -> replies`: bytes in, a list
of `Reply` out (bytes to send, after an optional delay: a device working, or silent). The host owns the I/O: it reads what the driver writes, hands it to the device, and
writes the replies back, pacing them at the configured baud rate (10 bits a byte, 8N1) when
asked, so timing tests see what a real line would do.

The pseudo-terminal's slave side is put in raw mode (no echo, no line editing: the bytes pass
untouched) and its path is linked at the requested place, so a driver opens it like a real
port: `Link("/tmp/reader")`.

A control socket (`control=PATH`: a unix socket) changes the device while it runs: each text
line sent there goes to the device's `control(line) -> str` and its one-line answer comes back
(`ok ...` / `error: ...`; the grammar is drivers/simcontrol.py). A device without `control`
answers every line with `error: this device takes no control lines`.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import socket
import threading
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .simcontrol import MAX_LINE, NO_CONTROL, error


@dataclass
class Reply:
    data: bytes
    delay: float = 0.0  # seconds before the first byte (a device working, or silence)


class SimulatedDevice(Protocol):
    def receive(self, data: bytes) -> list[Reply]:
        ...


class Pacer:
    """Writes at the pace of a serial line: each byte takes 10 bit-times."""

    def __init__(self, baud: int | None):
        self.byte_time = 10 / baud if baud else 0.0

    def send(self, write, data: bytes) -> None:
        if not self.byte_time:
            write(data)
            return
        start = time.monotonic()
        chunk = max(1, int(0.002 / self.byte_time))  # about 2 ms of line time per write
        for i in range(0, len(data), chunk):
            due = start + i * self.byte_time
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            write(data[i:i + chunk])
        pause = start + len(data) * self.byte_time - time.monotonic()
        if pause > 0:
            time.sleep(pause)


class ControlServer:
    """A unix socket at `path` taking control lines for `device`: one line in, one line out.
    Each connection is served by its own thread; a line is at most MAX_LINE characters (a longer
    one is answered with an error and skipped to its end, never cut and half-obeyed)."""

    def __init__(self, device, path: str | os.PathLike):
        self.device, self.path = device, Path(path)
        if self.path.is_symlink() or self.path.exists():
            if not stat.S_ISSOCK(self.path.lstat().st_mode):  # a stale socket goes; anything else stays
                raise FileExistsError(errno.EEXIST, "it exists and is not a socket", str(self.path))
            self.path.unlink()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.server.bind(str(self.path))
        except OSError:
            self.server.close()
            raise
        self.server.listen()
        self.server.settimeout(0.05)
        self._stop = threading.Event()

    def start(self) -> "ControlServer":
        self._thread = threading.Thread(target=self._serve, name=f"control {self.path}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if hasattr(self, "_thread"):
            self._thread.join(timeout=2)
        self.server.close()
        try:
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        except OSError:
            pass

    def answer(self, line: str) -> str:
        control = getattr(self.device, "control", None)
        if control is None:
            return NO_CONTROL
        try:
            said = control(line)
        except Exception as exc:  # a device's bug must not take the control socket down
            return error(f"the device failed: {type(exc).__name__}: {exc}")
        return " ".join(str(said).split())  # exactly one line back

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        limit = 4 * MAX_LINE + 4  # UTF-8 bytes of the longest line, and its line end
        with conn:
            conn.settimeout(0.05)
            buf, skipping = bytearray(), False
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    raw, _, rest = bytes(buf).partition(b"\n")
                    buf = bytearray(rest)
                    if skipping:  # the end of a line already refused
                        skipping = False
                        continue
                    reply = self.answer(raw.decode("utf-8", errors="replace"))
                    if not self._send(conn, reply):
                        return
                if len(buf) > limit and not skipping:
                    buf.clear()
                    skipping = True
                    if not self._send(conn, error(f"line longer than {MAX_LINE} characters")):
                        return
                elif skipping:
                    buf.clear()

    @staticmethod
    def _send(conn: socket.socket, line: str) -> bool:
        try:
            conn.sendall(line.encode("utf-8") + b"\n")
            return True
        except OSError:
            return False


class _Host(ABC):
    """What both hosts share: a serving thread, handing the device's replies to the line, and
    the optional control socket."""

    path: str

    def __init__(self, device: SimulatedDevice, baud: int | None, control: str | os.PathLike | None = None):
        self.device = device
        self.pacer = Pacer(baud)
        self._stop = threading.Event()
        self.control: ControlServer | None = None
        self._control_path = control

    def _open_control(self) -> None:
        """Bind the control socket, last: a line that could not be opened leaves no socket behind."""
        if self._control_path:
            try:
                self.control = ControlServer(self.device, self._control_path)
            except OSError:
                self._close()
                raise

    def start(self):
        self._thread = threading.Thread(target=self._serve, name=f"sim {self.path}", daemon=True)
        self._thread.start()
        if self.control:
            self.control.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self.control:
            self.control.stop()
        if hasattr(self, "_thread"):
            self._thread.join(timeout=2)
        self._close()

    def _answer(self, data: bytes, write) -> bool:
        """Give the device what arrived and send its replies; False once the host is stopping."""
        for reply in self.device.receive(data):
            if reply.delay and self._stop.wait(reply.delay):
                return False
            if reply.data:
                self.pacer.send(write, reply.data)
        return True

    @abstractmethod
    def _serve(self) -> None:
        """Read the line until stopped, answering through `_answer`."""

    @abstractmethod
    def _close(self) -> None:
        """Release the line."""


class PtyHost(_Host):
    """One simulated device on a pseudo-terminal, served by a background thread."""

    def __init__(self, device: SimulatedDevice, link: str | os.PathLike | None = None, baud: int | None = None,
                 control: str | os.PathLike | None = None):
        super().__init__(device, baud, control)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.slave_path = os.ttyname(self.slave)
        self.link = Path(link) if link else None
        if self.link:
            if self.link.is_symlink() or self.link.exists():
                self.link.unlink()
            self.link.symlink_to(self.slave_path)
        self.path = str(self.link or self.slave_path)
        self._open_control()

    def _close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link and self.link.is_symlink():
            self.link.unlink()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not self._answer(data, self._write):
                return


class TcpHost(_Host):
    """One simulated device on a loopback TCP port (pyserial URL `socket://HOST:PORT`)."""

    def __init__(self, device: SimulatedDevice, host: str = "127.0.0.1", port: int = 0, baud: int | None = None,
                 control: str | os.PathLike | None = None):
        super().__init__(device, baud, control)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # [::1]:P as well as 127.0.0.1:P
        self.server = socket.create_server((host, port), family=family)
        self.server.settimeout(0.05)
        self.host, self.port = self.server.getsockname()[:2]
        self.path = f"socket://[{self.host}]:{self.port}" if family == socket.AF_INET6 else f"socket://{self.host}:{self.port}"
        self._open_control()

    def _close(self) -> None:
        self.server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(0.05)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    try:
                        if not self._answer(data, conn.sendall):
                            return
                    except OSError:
                        break
