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
writer (the sqlite3 shell, say). The hand-over is not first-come first-served: under a flat-out
storm of 8 processes on 2 cores one window can get far fewer turns than another for a second
(`make bench`, fairness_8proc); yielding the CPU after each release evens that out but costs
about a fifth of the throughput, and windows worked at a clerk's pace never contend like that.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils
from sqlite_utils import Migrations

from .errors import StoreError
from .migrations import migrations

# SQLite's busy timeout: how long a write waits for a lock held by a program outside Cabin's
# own writer queue (the sqlite3 shell, a backup) before it is refused as "busy". The
# environment variable CABIN_BUSY_TIMEOUT_MS (whole milliseconds, >= 0) overrides this default
# of 10 s; tests of the locked-database refusal set it to a few hundred ms.
BUSY_TIMEOUT_MS = 10_000
BUSY_TIMEOUT_ENV = "CABIN_BUSY_TIMEOUT_MS"


def configured_busy_timeout_ms() -> int:
    """The busy timeout in milliseconds: $CABIN_BUSY_TIMEOUT_MS, else BUSY_TIMEOUT_MS."""
    text = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return BUSY_TIMEOUT_MS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise StoreError('{variable}="{text}" is not a whole number of milliseconds', variable=BUSY_TIMEOUT_ENV, text=text)
    return value


def schema_versions(db: sqlite_utils.Database, migration_sets: Iterable[Migrations] = ()) -> dict[str, str | None]:
    """The latest applied migration of each set, the queue's first: {"cabin.queue": "0001_queue", ...}."""
    versions = {}
    for mset in (migrations, *migration_sets):
        applied = mset.applied(db)
        versions[mset.name] = applied[-1].name if applied else None
    return versions


def schema_version(db: sqlite_utils.Database, migration_sets: Iterable[Migrations] = ()) -> str | None:
    """The queue's latest migration alone (as before) when no other set is named; with other sets,
    each set's: "cabin.queue 0001_queue; cabin.kiosk 0001_accounts_audit"."""
    migration_sets = tuple(migration_sets)
    versions = schema_versions(db, migration_sets)
    if not migration_sets:
        return versions[migrations.name]
    return "; ".join(f"{name} {latest or '(none)'}" for name, latest in versions.items())


class Store:
    def __init__(self, path: str | os.PathLike, *, durable: bool = True, busy_timeout_ms: int | None = None,
                 migration_sets: Iterable[Migrations] = ()):
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        The queue's migrations are applied first, then each of `migration_sets` in order (the
        queue never imports the packages built on it: kiosk passes its own set), all in one write
        transaction.

        durable=False (synchronous=OFF) is for throw-away simulated days only: a crash may then
        lose the last transactions, though never corrupt the file. busy_timeout_ms defaults to
        $CABIN_BUSY_TIMEOUT_MS or BUSY_TIMEOUT_MS.
        """
        self.path = Path(path)
        self.migration_sets: tuple[Migrations, ...] = (migrations, *migration_sets)
        self.busy_timeout_ms = busy_timeout_ms if busy_timeout_ms is not None else configured_busy_timeout_ms()
        self._thread_lock = threading.RLock()
        self._lock_fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StoreError("cannot open the database {path}: {folder} is not a folder",
                             path=self.path, folder=self.path.parent) from None
        except OSError as exc:
            raise StoreError("cannot open the database {path}: {why}", path=self.path, why=_reason(exc)) from None
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError("cannot open the database {path}: {why}", path=self.path, why=_reason(exc)) from None
        try:
            # Another program's SQLite file is refused before anything is written to it (not even
            # the switch to WAL, which rewrites the header).
            tables = [r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            if tables and migrations.migrations_table not in tables:
                raise StoreError("the database {path} is not a Cabin database (it holds other tables: {tables})",
                                 path=self.path, tables=", ".join(tables[:5]) + (", ..." if len(tables) > 5 else ""))
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError("the database {path} cannot use WAL journaling (got {mode}); is it on a network drive?",
                                 path=self.path, mode=mode)
            self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Temporary b-trees in memory. Call-next's merge sorts one row per service in its own
            # temp b-tree; with SQLite's default (temp files), picking for a window that serves all
            # 13 services took 0.2-0.8 ms instead of 0.03-0.06 ms. Measured with tests/bench.py.
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.row_factory = sqlite3.Row
            self.db = sqlite_utils.Database(self.conn)
            if any(mset.pending(self.db) for mset in self.migration_sets):
                with self.write():
                    for mset in self.migration_sets:
                        mset.apply(self.db)
        except sqlite3.Error as exc:
            self.conn.close()
            raise translate(exc, self.path, self.busy_timeout_ms) from None
        except BaseException:
            self.conn.close()
            raise

    def schema_versions(self) -> dict[str, str | None]:
        """The latest applied migration of each set this store was opened with."""
        return schema_versions(self.db, self.migration_sets[1:])

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
                raise StoreError("cannot write beside the database {path}: {why}", path=self.path, why=_reason(exc)) from None
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
                    raise translate(exc, self.path, self.busy_timeout_ms) from None
                try:
                    yield self.conn
                    self.conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise translate(exc, self.path, self.busy_timeout_ms) from None
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
                raise translate(exc, self.path, self.busy_timeout_ms) from None

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


def _seconds(ms: int) -> str:
    """Whole seconds as such, else as few decimals as it takes: "10", "0.3"."""
    return f"{ms // 1000}" if ms % 1000 == 0 else f"{ms / 1000:g}"


def translate(exc: sqlite3.Error, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> StoreError:
    """SQLite's errors, in words a clerk (or the person they call) can act on."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError("the database {path} is busy: another program has held it locked for {seconds} s; try again",
                          path=path, seconds=_seconds(busy_timeout_ms))
    if "readonly" in text or "read-only" in text:
        return StoreError("the database {path} is read-only: check the file's and folder's permissions", path=path)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError("the database {path} is damaged or is not a Cabin database ({why})", path=path, why=text)
    if "unable to open" in text:
        return StoreError("cannot open the database {path} ({why})", path=path, why=text)
    if "disk" in text and ("full" in text or "I/O" in text):
        return StoreError("the database {path} cannot be written: {why}", path=path, why=text)
    return StoreError("database error in {path}: {why}", path=path, why=text)
