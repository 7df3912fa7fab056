"""A station's backup and its restore, through SQLite's online backup API.

`backup` copies the open station database page by page in one step of the online backup API:
one consistent snapshot, taken while other processes go on writing (WAL: a reader never holds a
writer up). The copy is made in a temporary file beside the target, switched to a rollback
journal (one self-contained file, no -wal to lose), checked with `PRAGMA integrity_check`,
recognised as a Cabin database, fsync'ed, and only then renamed over the target: 0600, in a
folder made 0700 if it is new. An existing target is replaced only when it is a Cabin database
(an older backup), and never while a program has it open (a -wal or -shm beside it).

`restore` checks the file first (integrity_check, a Cabin database, made by this Cabin or an
older one), saves the station's current database beside it (`<db>.before-restore-<time>`, 0600),
then copies the file INTO the live database with the same backup API. SQLite's own locking
does the replacing: the station's WAL, its -shm and Cabin's lock file stay the ones every
process uses, a process that has the database open sees the restored state as after any other
commit (never a mix, never a stale WAL applied to a new file), and Cabin's writers are held on
the -lock file meanwhile. A current database SQLite cannot read at all (a damaged header, not an
SQLite file) is moved aside with its -wal and a verified copy of the file takes its place.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import sqlite3
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

import sqlite_utils
from sqlite_utils import Migrations

from cabin.queue import private
from cabin.queue.clock import SystemClock
from cabin.queue.errors import Said, StoreError
from cabin.queue.migrations import migrations
from cabin.queue.store import (
    Store,
    _fsync,
    examine,
    is_cabin_database,
    open_read_only,
    schema_version,
)

SIDE_FILES = ("-wal", "-shm", "-journal")


def server_refusal(doing: str, where: str) -> StoreError:
    """Backup and restore copy an SQLite file; a server's database has its own tools, which copy
    it consistently while the station runs and restore it to a moment (WAL archiving)."""
    return StoreError("{doing} copies a station's SQLite file, and the station {where} is on a PostgreSQL server:"
                      " back it up and restore it with the server's own tools (pg_dump and pg_restore, or base"
                      " backups with WAL archiving)", doing=doing, where=where)


def check_copy(path: Path, migration_sets: Iterable[Migrations] = ()) -> str | None:
    """A usable station backup: an SQLite file that passes `integrity_check`, holds a Cabin
    station and was made by this Cabin or an older one. Returns its schema version."""
    found = examine(path)
    if found == "missing":
        raise StoreError("there is no file {path}", path=path)
    if found == "empty":
        raise StoreError("{path} is empty: it is not a backup", path=path)
    try:
        conn = open_read_only(path)
    except sqlite3.Error as exc:
        raise StoreError("{path} is not a usable backup: {why}", path=path, why=str(exc)) from None
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise StoreError("{path} is not a usable backup: integrity_check says {why}", path=path, why=problems[0])
        if not is_cabin_database(conn):
            raise StoreError("{path} is not a usable backup: {why}", path=path, why=Said("it is not a Cabin database"))
        db = sqlite_utils.Database(conn)
        for mset in (migrations, *migration_sets):
            unknown = {m.name for m in mset.applied(db)} - {m.name for m in mset._migrations}
            if unknown:
                raise StoreError("{path} was made by a newer Cabin (its {set} migrations include {names}):"
                                 " restore it with that version", path=path, set=mset.name,
                                 names=", ".join(sorted(unknown)))
        return schema_version(db, migration_sets)
    except sqlite3.Error as exc:
        raise StoreError("{path} is not a usable backup: {why}", path=path, why=str(exc)) from None
    finally:
        conn.close()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.absolute() == b.absolute()


def _station_files(db: Path) -> list[Path]:
    return [db, *(Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", "-lock"))]


@contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A new 0600 file beside `target`, removed with its side files unless renamed."""
    private.make_folder(target.parent)
    tmp = target.with_name(f".{target.name}.new-{secrets.token_hex(6)}")
    os.close(private.create(tmp))
    try:
        yield tmp
    finally:
        for suffix in ("", *SIDE_FILES):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _copy(source: sqlite3.Connection, tmp: Path) -> None:
    """The source's pages into `tmp` in one backup step, then as one self-contained file."""
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        source.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


def backup(store: Store, target: Path, migration_sets: Iterable[Migrations] = ()) -> dict:
    """A verified copy of the open station at `target` (see the module's docstring)."""
    if store.dialect != "sqlite":
        raise server_refusal("cabin backup", store.where)
    target = Path(target)
    if any(_same_file(target, f) for f in _station_files(store.path)):
        raise StoreError("{target} is the station's own database: a backup goes to another file", target=target)
    if os.path.lexists(target):
        try:
            check_copy(target)
        except StoreError:
            raise StoreError("{target} exists and is not a Cabin backup: it is not replaced", target=target) from None
    for suffix in ("-wal", "-shm"):
        if os.path.lexists(f"{target}{suffix}"):
            raise StoreError("{target} is open in another program ({side} beside it): close it, or back up to"
                             " another file", target=target, side=f"{target.name}{suffix}")
    try:
        with _temporary_beside(target) as tmp:
            with store._thread_lock:
                _copy(store.conn, tmp)
            version = check_copy(tmp, migration_sets)
            _fsync(tmp)
            os.replace(tmp, target)
            _fsync(target.parent)
    except sqlite3.Error as exc:
        raise StoreError("the backup to {target} failed: {why}", target=target, why=str(exc)) from None
    except OSError as exc:
        raise StoreError("the backup to {target} failed: {why}", target=target,
                         why=(exc.strerror or str(exc)).lower()) from None
    return {"backup": str(target), "database": str(store.path), "bytes": target.stat().st_size,
            "integrity_check": "ok", "schema_version": version}


def restore(db: Path, source: Path, migration_sets: Iterable[Migrations] = (), *,
            busy_timeout_ms: int = 10_000, now_ms: int | None = None, tz: ZoneInfo | None = None) -> dict:
    """The station database at `db` made a copy of the backup `source` (see the module's docstring).
    The copy of the database it replaces is stamped with `now_ms` in the station's time zone
    `tz` (the host's when None): a station's PC set to UTC still names it by the station's hour."""
    db, source = Path(db), Path(source)
    if any(_same_file(source, f) for f in _station_files(db)):
        raise StoreError("{source} is the station's own database: restore from a backup file", source=source)
    version = check_copy(source, migration_sets)
    ms = now_ms if now_ms is not None else SystemClock().now_ms()
    stamp = datetime.fromtimestamp(ms / 1000, tz).strftime("%Y%m%d-%H%M%S")  # tz None: the host's
    saved = db.with_name(f"{db.name}.before-restore-{stamp}")
    try:
        src = open_read_only(source)
    except sqlite3.Error as exc:
        raise StoreError("{path} is not a usable backup: {why}", path=source, why=str(exc)) from None
    try:
        found = _examine_station(db)
        if found == "missing":
            with _temporary_beside(db) as tmp:
                _copy(src, tmp)
                _fsync(tmp)
                os.link(tmp, db)  # never over a station another process made meanwhile
                _fsync(db.parent)
            saved = None
        else:
            with _writers_held(db):
                if found == "readable":
                    _save(db, saved, busy_timeout_ms)
                    dest = sqlite3.connect(db, isolation_level=None, timeout=busy_timeout_ms / 1000)
                    try:
                        src.backup(dest)
                    finally:
                        dest.close()
                else:  # SQLite cannot read it: the damaged file goes aside, a copy takes its place
                    with _temporary_beside(db) as tmp:
                        _copy(src, tmp)
                        _fsync(tmp)
                        for suffix in ("", "-wal"):
                            if os.path.lexists(f"{db}{suffix}"):
                                os.rename(f"{db}{suffix}", f"{saved}{suffix}")
                        Path(f"{db}-shm").unlink(missing_ok=True)
                        os.link(tmp, db)
                        _fsync(db.parent)
    except sqlite3.Error as exc:
        raise StoreError("the restore of {path} from {source} failed: {why}", path=db, source=source,
                         why=str(exc)) from None
    except OSError as exc:
        raise StoreError("the restore of {path} from {source} failed: {why}", path=db, source=source,
                         why=(exc.strerror or str(exc)).lower()) from None
    finally:
        src.close()
    return {"restored": str(source), "database": str(db), "saved": str(saved) if saved else None,
            "schema_version": version}


def _examine_station(db: Path) -> str:
    """"missing", "readable" (SQLite reads it, whatever it holds, an empty file too) or "unreadable"."""
    if not os.path.lexists(db):
        return "missing"
    if not os.path.isfile(db):
        raise StoreError("cannot restore into {path}: it is not a file", path=db)
    try:
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "unreadable"
    return "readable"


@contextmanager
def _writers_held(db: Path) -> Iterator[None]:
    """Cabin's writers wait on the station's -lock file (queue/store.py) while this runs."""
    fd = os.open(f"{db}-lock", os.O_RDWR | os.O_CREAT, private.FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _save(db: Path, saved: Path, busy_timeout_ms: int) -> None:
    """The current database as it is, beside it (0600): a restore can be undone. Through the backup
    API when SQLite reads it whole, else its bytes (a damaged file is kept as evidence)."""
    with suppress(FileNotFoundError):
        saved.unlink()
    os.close(private.create(saved))
    try:
        current = sqlite3.connect(db, isolation_level=None, timeout=busy_timeout_ms / 1000)
        try:
            _copy(current, saved)
        finally:
            current.close()
    except sqlite3.DatabaseError:
        with open(db, "rb") as f, private.open_for_writing(saved) as out:
            shutil.copyfileobj(f, out)
    _fsync(saved)

