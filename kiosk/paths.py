"""Where Cabin keeps its files: the XDG user data dir, in this one module.

--db, CABIN_DB or the config's [store] url choose the database (a file, or a postgresql:// URL for
a station of several PCs: resolve_db); XDG_DATA_HOME moves the whole data dir (tests use it).
The data dir holds the station secret, the default and demo databases and the demo's card and
ticket renderings: Cabin creates it 0700 (cabin.queue.private), and refuses one that other
accounts may use.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Callable

from platformdirs import user_data_path

from cabin.queue import private
from cabin.queue.errors import CabinError


def data_dir() -> Path:
    """The data dir; refused when it exists and group or others may use it. Never created here
    (a diagnostic must not create what it diagnoses): what writes into it makes it, 0700."""
    path = user_data_path("cabin", appauthor=False)
    mode = private.shared(path)
    if mode is not None:
        raise CabinError("the data folder {path} can be used by other accounts (mode {mode}): run chmod 700 {quoted}",
                         path=path, mode=format(mode, "o"), quoted=shlex.quote(str(path)))
    return path


def default_db() -> Path:
    return data_dir() / "cabin.sqlite"


def demo_db() -> Path:
    return data_dir() / "demo.sqlite"


def secret_file() -> Path:
    """The station secret that signs ticket codes (mode 0600, created on first use)."""
    return data_dir() / "station.secret"


SERVER_SCHEMES = ("postgresql://", "postgres://")  # libpq's two URL schemes


def is_server(db: str | os.PathLike) -> bool:
    """A database on a PostgreSQL server (a libpq URL), not a file."""
    return isinstance(db, str) and db.lower().startswith(SERVER_SCHEMES)


def shown(where: str | os.PathLike) -> str:
    """The database as a message may name it: a file's path, a server's URL without its password."""
    if not is_server(where):
        return str(where)
    try:
        from cabin.queue.pgstore import shown_url
    except ImportError:  # no driver: opening the store says so
        return "(a PostgreSQL URL)"
    return shown_url(str(where))


def resolve_db(explicit: str | os.PathLike | None = None,
               configured: str | Callable[[], str] = "") -> Path | str:
    """Where the station's database is: --db wins (`explicit`), then CABIN_DB, then the config's
    [store] url (`configured`: the URL, or a function giving it, called only when neither of the
    others names one, so a command given --db reads no config for it), then the default file in
    the user data dir. A file is a Path; a server's URL (is_server) stays the text it is: a Path
    would fold its "//"."""
    chosen = explicit or os.environ.get("CABIN_DB")
    if not chosen:
        chosen = configured() if callable(configured) else configured
    if not chosen:
        return default_db()
    if is_server(str(chosen)):
        return str(chosen)
    return Path(chosen)
