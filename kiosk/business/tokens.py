"""The signed token in a ticket's QR code: `CABIN1:<station>:<day>:<ticket_id>:<mac>`.

The MAC is HMAC-SHA256 over everything before it, with the station's secret, truncated to 16
bytes (22 characters of base64url): a hand scanner at the counter can then pull up the ticket,
and a forged or another station's ticket is refused. The secret is created on first use, mode
0600, in the user data dir; it never leaves the station's host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cabin.queue import private
from cabin.queue.errors import CabinError

VERSION = "CABIN1"
# ASCII only ([0-9], never \d): a scanned or typed code with an Arabic-Indic or full-width digit is
# "not a Cabin ticket code", not a crash when its body is signed as ASCII
_TOKEN = re.compile(r"CABIN1:([0-9A-Za-z-]{1,20}):([0-9]{4}-[0-9]{2}-[0-9]{2}):([0-9]{1,12}):([A-Za-z0-9_-]{22})")


@dataclass(frozen=True)
class TokenClaims:
    station: str
    day: str
    ticket_id: int


SECRET_BYTES = 32


def load_secret(path: Path, new: bytes | None = None) -> bytes:
    """The station secret, created (mode 0600) if there is none yet: `new`, or 32 random bytes
    (`new`: the secret of a station moved here from a server, kiosk/stationcopy.py).

    It is written to a temporary file and linked into place, so no process ever reads a
    half-written secret; an empty, short or world-readable one is refused, never used. A secret
    already there is never replaced: it is what is returned.
    """
    if new is not None and len(new) != SECRET_BYTES:
        raise ValueError("a station secret is 32 bytes")
    try:
        try:
            return _read_secret(path)
        except FileNotFoundError:
            pass
        private.make_folder(path.parent)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = private.create(tmp, os.O_WRONLY)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(new if new is not None else secrets.token_bytes(SECRET_BYTES))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)  # atomic, and never replaces a secret another process made
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
        return _read_secret(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and path.exists():
            raise
        raise CabinError("cannot read or create the station secret {path}: {why}",
                         path=path, why=exc.strerror or str(exc)) from None


def secret_from_hex(text: str) -> bytes | None:
    """A secret kept as hex text (a server's meta row, kiosk/station.py); None when it is not
    one: damaged, cut short."""
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        return None
    return secret if len(secret) == SECRET_BYTES else None


def _read_secret(path: Path) -> bytes:
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise CabinError("the station secret {path} can be read by others (mode {mode}): run chmod 600 {path}",
                         path=path, mode=format(mode, "o"))
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise CabinError("the station secret {path} is damaged ({size} bytes, {expected} expected):"
                         " restore it from the backup; a new one would void today's tickets",
                         path=path, size=len(secret), expected=SECRET_BYTES)
    return secret


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(secret: bytes, station: str, day: str, ticket_id: int) -> str:
    body = f"{VERSION}:{station}:{day}:{ticket_id}"
    return f"{body}:{_mac(secret, body)}"


def verify(secret: bytes, station: str, token: str) -> TokenClaims:
    """The token's claims, or CabinError saying why it is refused."""
    token = token.strip()
    m = _TOKEN.fullmatch(token)  # fullmatch: `$` would let a trailing newline through
    if not m:
        raise CabinError("not a Cabin ticket code")
    body, mac = token.rsplit(":", 1)
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise CabinError("the ticket code is forged or damaged (its signature does not match)")
    if m[1] != station:
        raise CabinError("the ticket is from another station ({station})", station=m[1])
    return TokenClaims(m[1], m[2], int(m[3]))
