"""`cabin init`, `cabin backup --to FILE`, `cabin restore FILE`: the station database as a whole
(the rules are in cabin.queue.store and cabin.queue.backup)."""

from __future__ import annotations

from cabin.config import ConfigError
from cabin.queue import backup
from cabin.queue.errors import CabinError
from cabin.queue.migrations import schema_version_text
from cabin.queue.store import configured_busy_timeout_ms, create_database, examine, holds_nothing, schema_version

from cabin.kiosk import paths
from cabin.kiosk.cli.app import EXIT_OK, emit
from cabin.kiosk.station import MIGRATION_SETS, open_store


def cmd_init(ctx) -> int:
    """A new station database. Any station command makes a missing one too; init is the only
    command that makes one in an existing empty file, and only with --replace-empty."""
    a = ctx.args
    db = ctx.database()
    if paths.is_server(db):
        return _init_server(ctx, db)
    found = examine(db)
    if found != "missing":
        if a.replace_empty and holds_nothing(db):
            create_database(db, MIGRATION_SETS, replace_empty=True)
        else:  # a station already (nothing to do), or the Store says what is wrong with the file
            with open_store(db, create=False) as store:
                result = {"database": str(db), "created": False,
                          "schema_version": schema_version(store.db, store.migration_sets[1:])}
            emit(a, result, f"{db} holds a station already: nothing changed")
            return EXIT_OK
    elif not create_database(db, MIGRATION_SETS):
        raise CabinError("another process made the station {path} at the same moment: nothing changed", path=db)
    with open_store(db, create=False) as store:
        result = {"database": str(db), "created": True,
                  "schema_version": schema_version(store.db, store.migration_sets[1:])}
    emit(a, result, f"new station database: {db}")
    return EXIT_OK


def _init_server(ctx, url: str) -> int:
    """A server's database is made by its administrator (README "A station of several PCs"):
    init brings its schema up to date, as the database's owner."""
    if ctx.args.replace_empty:
        raise CabinError("--replace-empty is for a file; a database on a server is made by its administrator")
    with open_store(url) as store:
        result = {"database": store.where, "created": False, "schema_version": schema_version_text(
            store.schema_versions(), queue_alone=False)}
    emit(ctx.args, result, f"the station's schema in {result['database']} is up to date: {result['schema_version']}")
    return EXIT_OK


def cmd_backup(ctx) -> int:
    a = ctx.args
    db = ctx.database()
    if paths.is_server(db):
        raise backup.server_refusal("cabin backup", paths.shown(db))
    if examine(db) == "missing":  # a backup reads: it never creates a database
        raise CabinError("there is no database at {path}", path=db)
    result = backup.backup(ctx.store(), a.to, MIGRATION_SETS)
    emit(a, result, f"backed up {result['database']} to {result['backup']} ({result['bytes']:,} bytes,"
                     f" integrity_check ok)")
    return EXIT_OK


def cmd_restore(ctx) -> int:
    a = ctx.args
    db = ctx.database()
    if paths.is_server(db):
        raise backup.server_refusal("cabin restore", paths.shown(db))
    try:
        tz = ctx.config.station.tz  # the saved copy's stamp in the station's hours
    except ConfigError:
        tz = None  # a restore is not refused for a broken config: the host's hours then
    result = backup.restore(db, a.file, MIGRATION_SETS, busy_timeout_ms=configured_busy_timeout_ms(),
                            now_ms=ctx.clock.now_ms(), tz=tz)
    with open_store(db, create=False) as store:
        store.verify()  # the restored station opens, is brought up to date and passes quick_check
    saved = f"; the database it replaced is kept as {result['saved']}" if result["saved"] else ""
    emit(a, result, f"restored {result['database']} from {result['restored']}{saved}")
    return EXIT_OK


def declare(commands) -> None:
    p = commands.command("init", cmd_init)
    p.add_argument("--replace-empty", action="store_true",
                   help="the file exists and is empty (0 bytes, or SQLite without a table): make the station in it")
    p = commands.command("backup", cmd_backup)
    p.add_argument("--to", required=True, metavar="FILE", help="the backup file (replaced if it is an older backup)")
    p = commands.command("restore", cmd_restore)
    p.add_argument("file", metavar="FILE", help="a backup made by `cabin backup`")
