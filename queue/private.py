"""Files only the station's own account may read: 0600 files in 0700 folders, whatever the umask.

The database, its -wal and -shm, the lock files beside it, the data folder and the simulated
printers' renderings hold (or lie beside) names, ID numbers, addresses and photos. A umask can
only take permission bits away, never add them, so every file is created with 0600 and then set
to exactly 0600 (a umask of 0277 would otherwise leave the owner unable to write), and every
folder Cabin creates is set to exactly 0700. A file or folder that already exists is never
widened or narrowed silently: `shared` tells the caller, which refuses with the command to fix it.

The simulated printers' renderings follow the same rule: `make_folder` and `open_for_writing` are
cabin.drivers.private's (drivers/ imports nothing from queue/), imported here. The daily export files are not made here: they hold no personal data by design and are meant to
be sent to the branch bureau.
"""

from __future__ import annotations

import os

# The two helpers the simulated printers' renderings need too live in drivers/ (which imports
# nothing from the queue); the rule is one, written once.
from cabin.drivers.private import FILE_MODE, FOLDER_MODE, make_folder, open_for_writing  # noqa: F401


def create(path: str | os.PathLike, flags: int = os.O_RDWR) -> int:
    """A new file, 0600, that did not exist before (FileExistsError otherwise): its descriptor."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def shared(path: str | os.PathLike) -> int | None:
    """The mode of an existing file or folder that group or others may use, else None."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except (FileNotFoundError, NotADirectoryError):  # nothing there: whoever makes it says what is wrong
        return None
    return mode if mode & 0o077 else None
