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
