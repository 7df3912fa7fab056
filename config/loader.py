"""Load and check a station configuration (TOML) against the schema (config/schema.py).

Every refusal names the file, the key and the reason, e.g.
``station.toml: windows[2].services: unknown service "id.tmp" (window 3)``, because the person
reading it is editing that file by hand. Unknown keys are refused too: a typo in a key must not
silently fall back to a default.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from .rules import Refused
from .schema import SCHEMA, StationConfig


class ConfigError(ValueError):
    """A configuration file that Cabin cannot use; the message says where and why."""


def default_config_path() -> Path:
    # The package data beside this module (where importlib.resources finds it too, in a wheel or
    # an editable install), without importing importlib.resources (~4 ms, a fifth of this package).
    return Path(__file__).with_name("station.toml")


def resolve_config_path(explicit: str | os.PathLike | None = None) -> Path:
    """--config wins, then CABIN_CONFIG, then the station.toml shipped with Cabin."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CABIN_CONFIG")
    if env:
        return Path(env)
    return default_config_path()


CONFIG_LIMIT = 1024 * 1024  # the shipped station.toml is about 10 kB


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """A file from outside, read whole only when it is a regular file of at most `limit` bytes;
    else OSError saying why. /dev/zero, a FIFO or a terminal is refused before a byte is read,
    and a file that grows while it is read is cut off at limit + 1 bytes, never read on. The
    one bounded read for everything Cabin is given to read (config, exports, cards files)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting for a writer
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a device, pipe or socket"
            raise OSError(errno.EINVAL, f"it is {kind}, not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"it is {st.st_size} bytes, more than the {limit} bytes allowed")
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"it is more than the {limit} bytes allowed")
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_config(path: str | os.PathLike | None = None) -> StationConfig:
    path = resolve_config_path(path)
    where = str(path)
    try:
        raw = read_bounded(path, CONFIG_LIMIT)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from None
    import tomllib  # not at import: the modules that import cabin.config for its types load no file

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    return check(data, where)


def check(data: dict[str, Any], source: str = "") -> StationConfig:
    """The configuration a file's TOML data declares; ConfigError naming `source`, the key and
    the reason if the schema refuses it."""
    try:
        config = SCHEMA.read(data, "", None, None)
    except Refused as refused:
        raise ConfigError(f"{source}: {refused}") from None
    return replace(config, source=source)


def to_toml(config: StationConfig) -> dict[str, Any]:
    """The TOML data that declares `config` (what `check` reads back as an equal configuration)."""
    return SCHEMA.write(config)


def describe(config: StationConfig) -> dict[str, Any]:
    """A short JSON-able summary, for `cabin config check` and `cabin doctor`."""
    return {
        "source": config.source,
        "station": config.station.name,
        "code": config.station.code,
        "services": len(config.services),
        "windows": sorted(config.windows),
        "priorities": list(config.priorities),
    }
