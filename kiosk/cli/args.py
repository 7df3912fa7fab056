"""The CLI's argument types, in one place: every number, day, path and address the command line
takes is parsed here, by argparse `type=` functions the command modules share.

Numbers are read in ASCII digits only (`[0-9]`): Python's `int()` also takes Arabic-Indic and
full-width digits, underscores and spaces, and argparse's own `type=int` gives a traceback
further down for a value above SQLite's 2^63-1. Each value is checked against its domain here,
so a command never sees one it cannot store; the message names the option and shows the input
through the one sanitiser (cabin.queue.errors.shown).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
from datetime import date
from typing import Callable

from cabin.queue.clock import EARLIEST_DAY, local_day
from cabin.queue.errors import CabinError, shown

from cabin.kiosk.checks import MAX_ID, ascii_int

MAX_AUDIT_LIMIT = 10_000      # `audit show --limit`: a screenful to a long page, never the whole log at once
MAX_RETENTION_DAYS = 36_500   # `purge --older-than`: up to a hundred years (0 and less: retention's refusal)
MAX_CITIZENS = 5_000          # `simulate`, `demo`: a day far busier than any station's
MAX_BAUD = 4_000_000
MAX_PATH = 4_096              # Linux's PATH_MAX
MAX_SECONDS = 3_600.0         # device timeouts: an hour at most
# Days are checked by resolve_day (it knows the station's today): from EARLIEST_DAY to today for
# an export, to LATEST_DAY for a simulation.
LATEST_DAY = date(2099, 12, 31)

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")


def _named(name: str, func: Callable) -> Callable:
    func.__name__ = name  # argparse names the type in its own messages
    return func


def integer(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """A type for a whole number from `low` to `high` (ASCII digits)."""

    def parse(text: str) -> int:
        value = ascii_int(text)
        if value is None:
            raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not {what} (digits 0-9)")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{shown(text)} is out of range ({low} to {high})")
        return value

    return _named("integer", parse)


record_id = integer(1, MAX_ID, "a record number")
citizens = integer(1, MAX_CITIZENS)  # of a simulated day
# which windows exist is the config's to say ("there is no window 0", exit 1): here only a number
window_number = integer(-MAX_ID - 1, MAX_ID, "a window number")
positive = integer(1, MAX_ID)
any_integer = integer(-MAX_ID - 1, MAX_ID)
baud = integer(1, MAX_BAUD)


def seconds(text: str) -> float:
    """A time in seconds, more than 0 and at most an hour (no inf, no nan)."""
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not a number of seconds (like 10 or 2.5)")
    value = float(text)
    if not (0 < value <= MAX_SECONDS and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{shown(text)} is out of range (more than 0, at most {MAX_SECONDS:.0f})")
    return value


def path(text: str) -> str:
    """A file or folder named on the command line: not empty (an empty name would mean the
    current folder to some calls and an error to others)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name is not a file or folder (write . for the current folder)")
    if "\x00" in text or len(text) > MAX_PATH:
        raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not a file name"
                                         + (f" (at most {MAX_PATH} characters)" if len(text) > MAX_PATH else ""))
    return text


def host_port(text: str, *, any_port: bool = False) -> tuple[str, int]:
    """HOST:PORT as (host, port): an IPv4 address, a name, or an IPv6 address in brackets
    ([::1]:8000); the port 1 to 65535 (0 too with `any_port`: the system picks a free one).
    For `board --serve` and, with any_port, `sim --tcp`."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([^:\[\]\s]+):([0-9]{1,5})", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{shown(repr(text))} is not HOST:PORT (like 127.0.0.1:8000 or [::1]:8000)")
    host, port = (m[1], m[2]) if m[1] is not None else (m[3], m[4])
    port, lowest = int(port), 0 if any_port else 1
    if not lowest <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port {port} is out of range ({lowest} to 65535)")
    if m[1] is not None or re.fullmatch(r"[0-9.]+", host):  # it means to be an address: it must be one
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(host)} is not an IP address") from None
    elif not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?", host):
        raise argparse.ArgumentTypeError(f"{shown(repr(host))} is not a host name or an IP address")
    return host, port


def host_any_port(text: str) -> tuple[str, int]:
    """HOST:PORT, where port 0 asks the system for a free port (`sim --tcp 127.0.0.1:0`)."""
    return host_port(text, any_port=True)


_named("HOST:PORT", host_port)
_named("HOST:PORT", host_any_port)
_named("seconds", seconds)
_named("path", path)


def resolve_day(text: str, config, clock, *, future: bool = True) -> str:
    """YYYY-MM-DD, or 'today' in the station's time zone (not the host's), from EARLIEST_DAY on;
    up to LATEST_DAY, or up to today where a later day makes no sense (`future=False`: an export
    of a day that has not come)."""
    today = local_day(clock.now_ms(), config.station.tz)
    if text == "today":
        return today
    try:
        day = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise CabinError('"{day}" is not a date like 2026-11-28', day=text)
    latest = LATEST_DAY if future else date.fromisoformat(today)
    if not EARLIEST_DAY <= day <= latest:
        raise CabinError("{day} is out of range: a day from {earliest} to {latest}", day=day.isoformat(),
                         earliest=EARLIEST_DAY.isoformat(),
                         latest="today" if not future else latest.isoformat())
    return day.isoformat()
