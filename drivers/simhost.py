"""Serve a simulated device on a pseudo-terminal or a loopback TCP port.

A simulator is a state machine with one method, `receive(data) -> replies`: bytes in, a list
of `Reply` out (bytes to send, after an optional delay: a device working, or silent). The host owns the I/O: it reads what the driver writes, hands it to the device, and
writes the replies back, pacing them at the configured baud rate (10 bits a byte, 8N1) when
asked, so timing tests see what a real line would do.

The pseudo-terminal's slave side is put in raw mode (no echo, no line editing: the bytes pass
untouched) and its path is linked at the requested place, so a driver opens it like a real
port: `Link("/tmp/reader")`.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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


class _Host(ABC):
    """What both hosts share: a serving thread, and handing the device's replies to the line."""

    path: str

    def __init__(self, device: SimulatedDevice, baud: int | None):
        self.device = device
        self.pacer = Pacer(baud)
        self._stop = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self._serve, name=f"sim {self.path}", daemon=True)
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
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

    def __init__(self, device: SimulatedDevice, link: str | os.PathLike | None = None, baud: int | None = None):
        super().__init__(device, baud)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.slave_path = os.ttyname(self.slave)
        self.link = Path(link) if link else None
        if self.link:
            if self.link.is_symlink() or self.link.exists():
                self.link.unlink()
            self.link.symlink_to(self.slave_path)
        self.path = str(self.link or self.slave_path)

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

    def __init__(self, device: SimulatedDevice, host: str = "127.0.0.1", port: int = 0, baud: int | None = None):
        super().__init__(device, baud)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # [::1]:P as well as 127.0.0.1:P
        self.server = socket.create_server((host, port), family=family)
        self.server.settimeout(0.05)
        self.host, self.port = self.server.getsockname()[:2]
        self.path = f"socket://[{self.host}]:{self.port}" if family == socket.AF_INET6 else f"socket://{self.host}:{self.port}"

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
