"""The station store: one SQLite file shared by every process of the station.

After datasette's database.py: every write is one `BEGIN IMMEDIATE` transaction that is
committed or rolled back as a whole, so an operation is never half-written whatever kills the
process. WAL lets readers (the board, `cabin queue`) run beside a writer; synchronous=FULL
because an acknowledged ticket is a promise — with NORMAL a power cut can drop the last commits
and a number could be issued twice.

Writers from several processes queue on an advisory `flock` on `<db>-lock` before they begin.
The kernel hands the lock over as soon as it is released, where SQLite's own busy handler would
sleep 1, 2, 5 ... 100 ms between retries and leave the database idle while windows wait; a
killed process's lock is released by the kernel. SQLite's busy timeout still covers a foreign
writer (the sqlite3 shell, say).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from .errors import StoreError
from .migrations import migrations

BUSY_TIMEOUT_MS = 10_000


def schema_version(db: sqlite_utils.Database) -> str | None:
    applied = migrations.applied(db)
    return applied[-1].name if applied else None


class Store:
    def __init__(self, path: str | os.PathLike, *, durable: bool = True):
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        durable=False (synchronous=OFF) is for throw-away simulated days only: a crash may then
        lose the last transactions, though never corrupt the file.
        """
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._lock_fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {_reason(exc)}") from None
        try:
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"the database {self.path} cannot use WAL journaling (got {mode}); is it on a network drive?")
            self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.row_factory = sqlite3.Row
            self.db = sqlite_utils.Database(self.conn)
            if migrations.pending(self.db):
                with self.write():
                    migrations.apply(self.db)
        except sqlite3.Error as exc:
            self.conn.close()
            raise translate(exc, self.path) from None
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _lock_file(self) -> int:
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(f"{self.path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot write beside the database {self.path}: {_reason(exc)}") from None
        return self._lock_fd

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        with self._thread_lock:
            fd = self._lock_file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise translate(exc, self.path) from None
                try:
                    yield self.conn
                    self.conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise translate(exc, self.path) from None
                except BaseException:
                    self._rollback()
                    raise
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        with self._thread_lock:
            try:
                self.conn.execute("BEGIN")
                try:
                    yield self.conn
                finally:
                    self._rollback()
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def data_version(self) -> int:
        """Changes when another connection commits: cheap polling for the faces."""
        with self._thread_lock:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def translate(exc: sqlite3.Error, path: Path) -> StoreError:
    """SQLite's errors, in words a clerk (or the person they call) can act on."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(f"the database {path} is busy: another program has held it locked for {BUSY_TIMEOUT_MS // 1000} s; try again")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"the database {path} is read-only: check the file's and folder's permissions")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(f"the database {path} is damaged or is not a Cabin database ({text})")
    if "unable to open" in text:
        return StoreError(f"cannot open the database {path} ({text})")
    if "disk" in text and ("full" in text or "I/O" in text):
        return StoreError(f"the database {path} cannot be written: {text}")
    return StoreError(f"database error in {path}: {text}")
