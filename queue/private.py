"""Files only the station's own account may read: 0600 files in 0700 folders, whatever the umask.

The database, its -wal and -shm, the lock files beside it, the data folder and the simulated
printers' renderings hold (or lie beside) names, ID numbers, addresses and photos. A umask can
only take permission bits away, never add them, so every file is created with 0600 and then set
to exactly 0600 (a umask of 0277 would otherwise leave the owner unable to write), and every
folder Cabin creates is set to exactly 0700. A file or folder that already exists is never
widened or narrowed silently: `shared` tells the caller, which refuses with the command to fix it.

The simulated printers' renderings follow the same rule through cabin.drivers.private (drivers/
imports nothing from queue/). The daily export files are not made here: they hold no personal data by design and are meant to
be sent to the branch bureau.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

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
        except FileExistsError:  # another process made it first: it is Cabin's, made the same way
            continue
        os.chmod(folder, FOLDER_MODE)


def create(path: str | os.PathLike, flags: int = os.O_RDWR) -> int:
    """A new file, 0600, that did not exist before (FileExistsError otherwise): its descriptor."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_for_writing(path: str | os.PathLike) -> BinaryIO:
    """The file at `path` emptied (or created) for writing, 0600: for a rendering written again."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def shared(path: str | os.PathLike) -> int | None:
    """The mode of an existing file or folder that group or others may use, else None."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except (FileNotFoundError, NotADirectoryError):  # nothing there: whoever makes it says what is wrong
        return None
    return mode if mode & 0o077 else None
