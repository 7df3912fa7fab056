"""One way to open the station: the store with the queue's and the counter's migrations applied,
the config and the clock.

The CLI, every face, the demo and the tests open the station here and nowhere else, so a store a
service of kiosk/business receives always holds the counter's tables: the services never check
for them. The queue's own store knows nothing of kiosk (queue/ imports nothing from it): the
counter's migration set is handed to it here.

Everything else a store does is the Store's own (cabin.queue.store): a foreign or empty file is
refused, quick_check runs before the first write, a file this process cannot write opens
read-only, the files are private to their owner.
"""

from __future__ import annotations

import os
from typing import Callable

from cabin.config import StationConfig, load_config
from cabin.queue.clock import SystemClock
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, StoreError
from cabin.queue.store import Store

from cabin.kiosk import paths
from cabin.kiosk.business.migrations import migrations as kiosk_migrations

# Applied after the queue's set, which the Store always applies first.
MIGRATION_SETS = (kiosk_migrations,)


def open_store(db: str | os.PathLike | None = None, *, configured: str | Callable[[], str] = "",
               create: bool = True, durable: bool = True, busy_timeout_ms: int | None = None):
    """The station database, its schema up to date: a Store (one SQLite file) or, for a
    postgresql:// URL, a PgStore (a server several PCs share). `db`: a path or URL, or None for
    $CABIN_DB, then `configured` (the config's [store] url, or a function giving it), then the
    default in the user data dir (paths.resolve_db). create=False refuses a
    missing file instead of making one; durable=False is for throw-away simulated days only (see
    Store); neither applies to a server, whose database is made by its administrator and is
    always durable."""
    where = paths.resolve_db(db, configured)
    if paths.is_server(where):
        try:
            from cabin.queue.pgstore import PgStore
        except ImportError:
            raise StoreError("the station is on a PostgreSQL server, but this Cabin was installed without its"
                             " driver: pip install 'cabin[postgres]'") from None
        return PgStore(where, migration_sets=MIGRATION_SETS)
    return Store(where, migration_sets=MIGRATION_SETS, create=create, durable=durable,
                 busy_timeout_ms=busy_timeout_ms)


def station_clock(config: StationConfig, clock=None):
    """The station's clock: `clock` when one is given (a fixed one in tests, a simulated day's),
    otherwise the wall clock in the station's time zone. Nothing in kiosk/ reads the wall clock
    any other way."""
    return clock if clock is not None else SystemClock(config.station.tz)


def open_station(db: str | os.PathLike | None = None, *, config: StationConfig | None = None, clock=None,
                 create: bool = True, durable: bool = True, busy_timeout_ms: int | None = None) -> Station:
    """The station: `open_store(db, ...)`, `config` (default: the configured one, load_config)
    and `station_clock(config, clock)`, as one queue engine (`.store`, `.config`, `.clock`).
    The config is read before the database is opened: a broken config is reported first."""
    config = config if config is not None else load_config()
    store = open_store(db, configured=config.store.url, create=create, durable=durable,
                       busy_timeout_ms=busy_timeout_ms)
    return Station(store, config, station_clock(config, clock))


SECRET_ROW = "station_secret"  # its key in meta on a server (kiosk/serverroles.py hides it from the board)


def station_secret(where: str | os.PathLike, store: Callable[[], object]) -> bytes:
    """The secret that signs ticket codes and checks them (kiosk/business/tokens.py), for the
    station whose database is `where`. One PC: the file in the user data dir, read before the
    database is opened (an unusable secret refuses a command before it does anything). A station
    on a server: a row of its database (`store()` gives the open store), made by the first PC that
    needs one, so a ticket issued at the dispenser PC is checked at every window PC with the same
    secret, and the server's backups keep it with the tickets it signed."""
    import secrets  # here: `cabin call` opens the station and never signs a code

    from cabin.kiosk.business import tokens

    if not paths.is_server(where):
        return tokens.load_secret(paths.secret_file())
    store = store()
    read = "SELECT value FROM meta WHERE key = ?"
    with store.read() as conn:
        row = conn.execute(read, (SECRET_ROW,)).fetchone()
    if row is None:
        def make(conn) -> tuple:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                         (SECRET_ROW, secrets.token_hex(tokens.SECRET_BYTES)))
            return conn.execute(read, (SECRET_ROW,)).fetchone()

        row = store.transaction(make)  # two PCs making it at once: one runs again and reads the other's
    secret = tokens.secret_from_hex(row[0])
    if secret is None:
        raise CabinError("the station secret in the database {url} is damaged: restore the database from the"
                         " server's backup; a new secret would void today's tickets", url=store.where)
    return secret
