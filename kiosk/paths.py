"""Where Cabin keeps its files: the XDG user data dir, in this one module.

CABIN_DB / --db choose the database; XDG_DATA_HOME moves the whole data dir (tests use it).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path


def data_dir() -> Path:
    return user_data_path("cabin", appauthor=False)


def default_db() -> Path:
    return data_dir() / "cabin.sqlite"


def demo_db() -> Path:
    return data_dir() / "demo.sqlite"


def secret_file() -> Path:
    """The station secret that signs ticket codes (mode 0600, created on first use)."""
    return data_dir() / "station.secret"


def resolve_db(explicit: str | os.PathLike | None = None) -> Path:
    """--db wins, then CABIN_DB, then the default in the user data dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CABIN_DB")
    if env:
        return Path(env)
    return default_db()
