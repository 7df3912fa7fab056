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

import errno
import fcntl
import functools
import os
import shlex
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from cabin.queue import private
from cabin.queue.errors import Said, StoreError
from cabin.queue.migrations import MigrationSet, migrations, schema_version_text

# sqlite-utils (its Database and Migrations) is imported where a database is made, migrated or
# asked for its schema version, not to open one that is up to date: a command-line start pays
# for it otherwise (it imports click, dateutil and pluggy), and `cabin call` is pressed on a button.

# SQLite's busy timeout: how long a write waits for a lock held by a program outside Cabin's
# own writer queue (the sqlite3 shell, a backup) before it is refused as "busy". The
# environment variable CABIN_BUSY_TIMEOUT_MS (whole milliseconds, >= 0) overrides this default
# of 10 s; tests of the locked-database refusal set it to a few hundred ms.
BUSY_TIMEOUT_MS = 10_000
BUSY_TIMEOUT_ENV = "CABIN_BUSY_TIMEOUT_MS"
# How often wait_for_change looks at `PRAGMA data_version`: a face sees another process's commit
# within this (the board's lag measured 75 ms median, tests/bench_faces.py).
CHANGE_POLL_SECONDS = 0.1


def configured_busy_timeout_ms() -> int:
    """The busy timeout in milliseconds: $CABIN_BUSY_TIMEOUT_MS, else BUSY_TIMEOUT_MS."""
    text = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return BUSY_TIMEOUT_MS
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else -1  # ASCII digits only
    if value < 0:
        raise StoreError('{variable}="{text}" is not a whole number of milliseconds', variable=BUSY_TIMEOUT_ENV, text=text)
    return value


def schema_versions(db, migration_sets: Iterable[MigrationSet] = ()) -> dict[str, str | None]:
    """The latest applied migration of each set, the queue's first: {"cabin.queue": "0001_queue", ...}."""
    versions = {}
    for mset in (migrations, *migration_sets):
        applied = mset.applied(db)
        versions[mset.name] = applied[-1].name if applied else None
    return versions


def schema_version(db, migration_sets: Iterable[MigrationSet] = ()) -> str | None:
    """The queue's latest migration alone (as before) when no other set is named; with other sets,
    each set's: "cabin.queue 0001_queue; cabin.kiosk 0001_accounts_audit"."""
    migration_sets = tuple(migration_sets)
    return schema_version_text(schema_versions(db, migration_sets), queue_alone=not migration_sets)


SQLITE_HEADER = b"SQLite format 3\x00"

# The database files (device, inode) this process has open through a Store, and how many Stores.
# POSIX locks belong to a process, not to a descriptor: closing ANY descriptor of a file drops
# every lock the process holds on it, SQLite's included. Were a second Store to open and close the
# file to read its header, the first Store's connection would silently lose its shared lock, and
# another process closing its last connection would take itself for the last user and delete the
# -wal and -shm under the first (commits lost: seen with two Stores in one process). SQLite itself
# never does this (its unix VFS defers such closes); Cabin opens such a file only through SQLite.
_open_here: dict[tuple[int, int], int] = {}
_open_here_lock = threading.Lock()


def _file_key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _is_open_here(st: os.stat_result) -> bool:
    with _open_here_lock:
        return _file_key(st) in _open_here


def examine(path: Path) -> str:
    """What is at `path` before SQLite opens it: "missing", "empty" (0 bytes) or "sqlite" (an
    SQLite header); anything else is refused. Reads 16 bytes, writes nothing; a file a Store of
    this process holds open is already known, and is not opened again (see _open_here)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise StoreError("cannot open the database {path}: {why}", path=path, why=_reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise StoreError("cannot open the database {path}: it is a folder", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise StoreError("cannot open the database {path}: it is not a file", path=path)
    if st.st_size == 0:
        return "empty"
    if _is_open_here(st):
        return "sqlite"
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError("cannot open the database {path}: {why}", path=path, why=_reason(exc)) from None
    if header != SQLITE_HEADER:
        raise StoreError("the database {path} is damaged or is not a Cabin database ({why})", path=path,
                         why=Said("it is not an SQLite file"))
    return "sqlite"


def refuse_empty(path: Path) -> StoreError:
    """An empty file where the station should be: a lost station, never silently a new one."""
    return StoreError("the database {path} is empty: it holds no station; restore the last backup with"
                      " `cabin restore FILE`, or make a new station in it with `cabin --db {path} init"
                      " --replace-empty`", path=path)


def holds_nothing(path: Path) -> bool:
    """An empty file, or an SQLite database without a single table, index or view."""
    try:
        if examine(path) == "empty":
            return True
        conn = open_read_only(path)
    except (StoreError, sqlite3.Error):
        return False
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def create_database(path: Path, migration_sets: Iterable[MigrationSet] = (), *, replace_empty: bool = False) -> bool:
    """A new station database at `path`, made whole in a temporary file beside it (0600, WAL, every
    migration applied) and only then put in place: a process killed half-way leaves no empty or
    half-made station behind. False when another process put one there first (that one stands).

    replace_empty: an existing empty file (see holds_nothing) is replaced; any other is refused.
    """
    import sqlite_utils

    private.make_folder(path.parent)
    tmp = path.with_name(f".{path.name}.new-{os.urandom(6).hex()}")  # os.urandom: what secrets uses, without its import
    os.close(private.create(tmp))
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            db = sqlite_utils.Database(conn)
            conn.execute("BEGIN IMMEDIATE")
            for mset in (migrations, *migration_sets):
                mset.apply(db)
            conn.execute("COMMIT")
        finally:
            conn.close()  # the only connection: its WAL is checkpointed into the file and removed
        _fsync(tmp)
        if replace_empty and os.path.lexists(path):
            if not holds_nothing(path):
                raise StoreError("the database {path} is not empty: a new station is made only in an empty file",
                                 path=path)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, path)
            created = True
        else:
            try:
                os.link(tmp, path)  # atomic, and never replaces a station another process made
                created = True
            except FileExistsError:
                created = False
        _fsync(path.parent)
        return created
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def open_read_only(path: Path, **kwargs) -> sqlite3.Connection:
    """A connection that can only read: `mode=ro`, or, where SQLite cannot make the -shm it needs
    (a read-only folder or mount) and there is no WAL to read, `immutable=1`, which reads the file
    alone. Immutable would miss a WAL's commits, so a database with one is never opened so."""
    uri = Path(path).absolute().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, **kwargs)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        wal = Path(f"{path}-wal")
        cannot_make_shm = exc.sqlite_errorname == "SQLITE_CANTOPEN" or exc.sqlite_errorname.startswith("SQLITE_READONLY")
        if not cannot_make_shm or (wal.exists() and wal.stat().st_size > 0):
            raise
    conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, **kwargs)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def is_cabin_database(conn: sqlite3.Connection) -> bool:
    """The queue's migrations have been applied to it (another sqlite-utils program's have not)."""
    try:
        return conn.execute(f"SELECT 1 FROM [{migrations.migrations_table}] WHERE migration_set = ? LIMIT 1",
                            (migrations.name,)).fetchone() is not None
    except sqlite3.OperationalError:
        return False  # no migrations table at all


def _writable(path: Path) -> bool:
    try:
        if _is_open_here(os.stat(path)):
            # not opened again (see _open_here); access() asks the same of the permissions and the mount
            return os.access(path, os.W_OK)
        os.close(os.open(path, os.O_RDWR))
        return True
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return False
        raise StoreError("cannot open the database {path}: {why}", path=path, why=_reason(exc)) from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    dialect = "sqlite"  # the PostgreSQL store's is "postgresql": where SQL must differ, it asks this

    def __init__(self, path: str | os.PathLike, *, durable: bool = True, busy_timeout_ms: int | None = None,
                 migration_sets: Iterable[MigrationSet] = (), create: bool = True):
        """Open the station database at `path` and bring its schema up to date.

        A missing file is created (create=True; see create_database), in a 0700 folder if the
        folder is new. An existing file must be a Cabin database: an empty file, another program's
        SQLite file or anything else is refused, and so is a database whose file, -wal or -shm
        other accounts may read (with the chmod that fixes it). A file this process cannot write
        (a read-only mount, a read-only file) is opened read-only: reads and exports work, every
        write is refused saying so.

        The queue's migrations are applied first, then each of `migration_sets` in order (the
        queue never imports the packages built on it: kiosk passes its own set), all in one write
        transaction.

        Before its first write, a Store runs `PRAGMA quick_check` once (see verify).

        durable=False (synchronous=OFF) is for throw-away simulated days only: a crash may then
        lose the last transactions, though never corrupt the file. busy_timeout_ms defaults to
        $CABIN_BUSY_TIMEOUT_MS or BUSY_TIMEOUT_MS.
        """
        self.path = Path(path)
        self.migration_sets: tuple[MigrationSet, ...] = (migrations, *migration_sets)
        self.busy_timeout_ms = busy_timeout_ms if busy_timeout_ms is not None else configured_busy_timeout_ms()
        self.read_only = False
        self._verified = False
        self._thread_lock = threading.RLock()
        self._lock_fd: int | None = None
        self._seen_version: int | None = None  # data_version as wait_for_change last saw it
        try:
            found = examine(self.path)
            if found == "missing":
                if not create:
                    raise StoreError("there is no database at {path}", path=self.path)
                create_database(self.path, migration_sets)
            elif found == "empty":
                raise refuse_empty(self.path)
        except FileExistsError:
            raise StoreError("cannot open the database {path}: {folder} is not a folder",
                             path=self.path, folder=self.path.parent) from None
        except NotADirectoryError:
            raise StoreError("cannot open the database {path}: {folder} is not a folder",
                             path=self.path, folder=self.path.parent) from None
        except OSError as exc:
            raise StoreError("cannot open the database {path}: {why}", path=self.path, why=_reason(exc)) from None
        except sqlite3.Error as exc:
            raise translate(exc, self.path, self.busy_timeout_ms) from None
        try:
            self.conn = self._connect()
        except sqlite3.Error as exc:
            raise translate(exc, self.path, self.busy_timeout_ms) from None
        self._file_key = self._hold_file()
        try:
            # Another program's SQLite file is refused before anything is written to it (not even
            # the switch to WAL, which rewrites the header).
            tables = [r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            if not tables:
                raise refuse_empty(self.path)
            if not is_cabin_database(self.conn):
                raise StoreError("the database {path} is not a Cabin database (it holds other tables: {tables})",
                                 path=self.path, tables=", ".join(tables[:5]) + (", ..." if len(tables) > 5 else ""))
            if not self.read_only:  # a read-only copy cannot be fixed with chmod where it is: it is read
                self._refuse_shared_files()
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
            # as sqlite-utils' Database sets it (the store's connection was opened through one)
            self.conn.execute("PRAGMA recursive_triggers=on")
            self.conn.row_factory = sqlite3.Row
            if not all(mset.all_applied(self.conn) for mset in self.migration_sets):
                if self.read_only:
                    raise StoreError("the database {path} is read-only and was made by an older Cabin: open it"
                                     " once where it can be written, to bring it up to date", path=self.path)
                with self.write():
                    for mset in self.migration_sets:
                        mset.apply(self.db)
        except sqlite3.Error as exc:
            self.close()
            raise translate(exc, self.path, self.busy_timeout_ms) from None
        except BaseException:
            self.close()
            raise

    @property
    def where(self) -> str:
        """The store as a message names it: its file."""
        return str(self.path)

    @functools.cached_property
    def db(self):
        """The connection as a `sqlite_utils.Database` (migrations, schema versions)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _connect(self) -> sqlite3.Connection:
        """Read-write, or read-only where this process cannot write the file or make the -wal,
        -shm and -lock files beside it."""
        options = dict(timeout=self.busy_timeout_ms / 1000, check_same_thread=False)
        if _writable(self.path):
            conn = sqlite3.connect(self.path, isolation_level=None, **options)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                self._lock_file()  # the folder takes a new file: writes can be queued
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if exc.sqlite_errorname != "SQLITE_CANTOPEN" and not exc.sqlite_errorname.startswith("SQLITE_READONLY"):
                    raise
            except StoreError:
                conn.close()
        self.read_only = True
        return open_read_only(self.path, isolation_level=None, **options)

    def _refuse_shared_files(self) -> None:
        files = [p for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
                 if private.shared(p) is not None]
        if files:
            raise StoreError("the database {path} can be read by other accounts (mode {mode}): run chmod 600 {files}",
                             path=self.path, mode=format(private.shared(files[0]), "o"),
                             files=" ".join(shlex.quote(str(f)) for f in files))

    def verify(self) -> None:
        """`PRAGMA quick_check`, once per Store: a damaged database refuses writes (DAMAGED).

        Not at every open: on a database of 100,000 tickets (82 MB) it takes 0.3-0.45 s, which
        every `cabin queue` or board would pay. Before a process's first write is where it
        matters (a write must not go into a damaged file) and a long-running face pays it once.
        """
        if self._verified:
            return
        with self._thread_lock:
            try:
                found = [row[0] for row in self.conn.execute("PRAGMA quick_check")]
            except sqlite3.DatabaseError as exc:
                found = [str(exc)]
            if found != ["ok"]:
                # nothing is written into a file whose pages are already wrong: a write could spread
                # the damage or hide it; the backup is the way back
                raise StoreError("the database {path} is damaged ({why}): nothing was written; restore the last"
                                 " backup with `cabin restore FILE` (`cabin doctor` shows the damage)",
                                 path=self.path, why=found[0])
            self._verified = True

    def schema_versions(self) -> dict[str, str | None]:
        """The latest applied migration of each set this store was opened with."""
        return schema_versions(self.db, self.migration_sets[1:])

    def _hold_file(self) -> tuple[int, int] | None:
        """Count this Store among those of the process holding its file open (see _open_here)."""
        try:
            key = _file_key(os.stat(self.path))
        except OSError:
            return None
        with _open_here_lock:
            _open_here[key] = _open_here.get(key, 0) + 1
        return key

    def _release_file(self) -> None:
        key, self._file_key = self._file_key, None
        if key is None:
            return
        with _open_here_lock:
            if _open_here.get(key, 0) <= 1:
                _open_here.pop(key, None)
            else:
                _open_here[key] -= 1

    def close(self) -> None:
        self.conn.close()
        self._release_file()
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
        if self.read_only:
            raise StoreError("the database {path} is read-only here: it can be read and exported, but nothing can"
                             " be written to it (check the file's and folder's permissions and the mount)",
                             path=self.path)
        self.verify()
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

    def listen(self) -> None:
        """From now on, wait_for_change reports another connection's commit (a face calls it
        before it reads, so nothing committed after its read goes unseen)."""
        self._seen_version = self.data_version()

    def wait_for_change(self, timeout: float, *, poll_seconds: float = CHANGE_POLL_SECONDS) -> bool:
        """True once another connection (any process on this host) has committed since listen()
        or the last True, looked at every `poll_seconds`; False after `timeout` seconds without.
        SQLite cannot push a change, so this polls `PRAGMA data_version`, which is cheap: the
        PostgreSQL store waits for a NOTIFY instead. This connection's own commits do not count."""
        if self._seen_version is None:
            self.listen()
        deadline = time.monotonic() + timeout
        while True:
            version = self.data_version()
            if version != self._seen_version:
                self._seen_version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(poll_seconds, left))


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
    if "malformed" in text or "corrupt" in text:
        # found on opening it, before quick_check could: the same advice as quick_check's
        return StoreError("the database {path} is damaged ({why}): restore the last backup with `cabin restore FILE`"
                          " (`cabin doctor` shows the damage)", path=path, why=text)
    if "not a database" in text:
        return StoreError("the database {path} is damaged or is not a Cabin database ({why})", path=path, why=text)
    if "unable to open" in text:
        return StoreError("cannot open the database {path} ({why})", path=path, why=text)
    if "disk" in text and ("full" in text or "I/O" in text):
        return StoreError("the database {path} cannot be written: {why}", path=path, why=text)
    return StoreError("database error in {path}: {why}", path=path, why=text)
