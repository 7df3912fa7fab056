"""The simulated printers' renderings (a card face: a name, an ID number, an address, a photo)
written 0600 in folders made 0700, whatever the umask.

The rule of cabin.queue.private, which the station's files follow; drivers/ imports nothing from
queue/ (tests/test_*_driver.py check), so these two live here and the queue imports them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_folder(path: str | os.PathLike) -> None:
    """The folder and any missing parents, each created 0700; an existing one is left as it is."""
    path = Path(path)
    missing = []
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, FOLDER_MODE)


def open_for_writing(path: str | os.PathLike) -> BinaryIO:
    """The file at `path` emptied (or created) for writing, 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def write_whole(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """The file at `path` written by `write(f)`, 0600, appearing whole or not at all: written
    beside it under a temporary name, then renamed over it. Whoever watches the folder (a test
    waiting for the simulator's ticket, a clerk's file viewer) never opens half a PNG."""
    path = Path(path)
    part = path.with_name(f".{path.name}.part")
    try:
        with open_for_writing(part) as f:
            write(f)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
