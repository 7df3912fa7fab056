"""The queue's store on either backend, for the queue's own tests: `db` is what the `any_db`
fixture gives, a file's path or a postgresql:// URL. Imports nothing of psycopg unless asked for
a server (importable by basename from tests/queue)."""

from __future__ import annotations

from pathlib import Path

from cabin.queue.store import Store


def is_server(db: str) -> bool:
    return "://" in str(db)


def open_queue_store(db: str):
    """The queue's store alone (no counter tables) at `db`, its schema up to date."""
    if is_server(db):
        from cabin.queue.pgstore import PgStore

        return PgStore(db)
    return Store(db)


def fresh_queue_store(db: str):
    """The queue's store at `db`, emptied first: the file removed, or every queue table of the
    server's database truncated (its append-only triggers held off for this one transaction, as
    only a test may: the superuser's session_replication_role) and its ids restarted."""
    if not is_server(db):
        for suffix in ("", "-wal", "-shm", "-lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return Store(db)
    store = open_queue_store(db)
    with store.write() as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("TRUNCATE events, requests, windows, tickets, meta RESTART IDENTITY")
    return store


_STATION_TEMPLATE: dict[str, Path] = {}  # a station file with every migration applied, made once a process


def fresh_station_store(db: str):
    """The station's store (the counter's tables too, as kiosk/station.py opens it) at `db`,
    emptied first, as fresh_queue_store does; what a test of the queue writes there beside the
    queue (bookings and their audit entries) is emptied too. On SQLite a copy of a file migrated
    once in this process: applying every migration anew costs more than a short example."""
    import atexit
    import shutil
    import tempfile

    from cabin.kiosk.station import open_store

    if not is_server(db):
        for suffix in ("", "-wal", "-shm", "-lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        if "file" not in _STATION_TEMPLATE:
            folder = tempfile.mkdtemp(prefix="cabin-template-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            template = Path(folder) / "station.sqlite"
            open_store(template).close()  # closed: every page in the file itself, no -wal beside it
            _STATION_TEMPLATE["file"] = template
        shutil.copy(_STATION_TEMPLATE["file"], db)  # its mode too: the store refuses a file others may read
        return open_store(db)
    store = open_store(db)
    with store.write() as conn:
        # DELETE, not TRUNCATE: a few rows, and TRUNCATE ... CASCADE of a table the counter's
        # tables reference costs several times more a run. The ids go on from the last example's:
        # nothing the machine checks reads them as counts.
        conn.execute("SET LOCAL session_replication_role = replica")
        for table in ("appointments", "events", "windows", "requests", "tickets", "meta", "audit"):
            conn.execute(f"DELETE FROM {table}")
    return store
