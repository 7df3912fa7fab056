"""One serial link, opened by pyserial URL, owned by one thread at a time.

After pyserial's `serial.threaded`: the port is opened with `serial_for_url`, so a real port
(`/dev/ttyUSB0`), a pseudo-terminal of a simulator, `socket://host:port` and `loop://` are one
code path. A device driver frames its replies with a streaming parser (its codec) and asks the
link for one transaction at a time: write the request, read until the parser has a whole frame
or the deadline passes. The lock makes the link safe to share between threads; only the thread
inside `transact` touches the port.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Protocol, TypeVar

import serial

from .errors import DeviceError, DeviceTimeout

T = TypeVar("T")


class StreamParser(Protocol[T]):
    def feed(self, data: bytes) -> list[T]:
        """Take bytes, return the frames they complete (possibly none)."""


class Link:
    def __init__(self, url: str, *, baudrate: int = 115200, name: str = "device"):
        self.url, self.name = url, name
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02, write_timeout=5)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise DeviceError(f"cannot open the {name} at {url}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"cannot send to the {self.name} at {self.url}: {exc}") from None

    def transact(self, request: bytes, parser: StreamParser[T], timeout: float,
                 what: str = "an answer", skip: Callable[[T], bool] | None = None) -> T:
        """Send `request` (may be empty: just listen) and return the first whole frame that
        `skip` does not reject (a frame that cannot be this request's answer)."""
        with self._lock:
            self.port.reset_input_buffer()  # a late reply to an earlier request is not this one's
            if request:
                self._write(request)
            return self._read_frame(parser, timeout, what, skip)

    def read_frame(self, parser: StreamParser[T], timeout: float, what: str = "an answer") -> T:
        with self._lock:
            return self._read_frame(parser, timeout, what)

    def _read_frame(self, parser: StreamParser[T], timeout: float, what: str,
                    skip: Callable[[T], bool] | None = None) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                waiting = self.port.in_waiting
                data = self.port.read(waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"the {self.name} at {self.url} went away: {exc}") from None
            if data:
                for frame in parser.feed(data):
                    if skip is None or not skip(frame):
                        return frame
            if time.monotonic() > deadline:
                raise DeviceTimeout(
                    f"the {self.name} at {self.url} is not answering (no {what} within {timeout:g} s):"
                    " check that it is switched on and plugged in"
                )

