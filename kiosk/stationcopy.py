"""A station moved between an SQLite file and a PostgreSQL server (`cabin store copy`), verified.

The queue's copier (queue/storecopy.py) copies every table in one transaction of the target. Here,
inside that transaction and before it commits, the counter adds what it keeps beside its tables
and proves the copy is the station:
- the audit log's last id, which each dialect keeps in its own place (kiosk/business/audit.py:
  SQLite's sqlite_sequence, a row of meta on PostgreSQL), so entries removed from the end of the
  log still show in the copy; and the station secret (kiosk/station.py station_secret), so the
  tickets it signed are still read at the counter: moving to a server, this PC's secret file
  becomes the server's meta row; moving back to a file, the server's row becomes this PC's
  secret file once the copy has committed (refused before anything is copied when this PC
  already has a different secret: one of the two stations' tickets would stop being read);
- the rows of every table counted on both sides;
- the audit chain verified on the target (and on the source first: a broken chain is not moved);
- the day's export made from both and compared file by file, byte by byte.
Anything that differs rolls the copy back: the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cabin.queue.errors import CabinError, StoreError
from cabin.queue.reports.export import day_data_files
from cabin.queue.storecopy import copy_store, counts, tables

from cabin.kiosk import paths
from cabin.kiosk.business import audit
from cabin.kiosk.business.figures import business_figures
from cabin.kiosk.business.sqldialect import dialect_of
from cabin.kiosk.station import SECRET_ROW, open_store

AUDIT_LAST_ID = "audit_last_id"  # its row of meta on PostgreSQL (kiosk/business/audit.py)


def copy_station(source_where, target_where, config, *, day: str | None, now_ms: int) -> dict:
    """Copy the station at `source_where` into the empty database at `target_where` (a file is
    made if missing; a server's database exists, made by its administrator) and verify it.
    `day`: the day whose export is compared (default: the source's last day with tickets)."""
    if str(source_where) == str(target_where):
        raise CabinError("--from and --to name the same database: a copy goes into another one")
    if not paths.is_server(source_where) and not os.path.exists(source_where):
        raise CabinError("there is no database at {path}", path=source_where)
    new_file = not paths.is_server(target_where) and not os.path.lexists(target_where)
    # a new file is made whole beside its place and linked there once verified: a copy killed
    # midway leaves nothing where there was nothing (at most a hidden .copy- file beside it)
    into = Path(target_where).with_name(f".{Path(target_where).name}.copy-{os.urandom(6).hex()}") if new_file \
        else target_where
    try:
        with open_store(source_where, create=False) as source, open_store(into) as target:
            report: dict = {"from": source.where, "to": str(target_where) if new_file else target.where}

            servers_secret: list[bytes] = []  # set inside the copy's transaction, written after its commit

            def finish(src, dst, copied: dict) -> None:
                added = _carry_counter_state(src, dst, source.dialect, target.dialect)
                if source.dialect != target.dialect and target.dialect == "sqlite":
                    secret = _secret_for_this_pc(src)
                    if secret is not None:
                        servers_secret.append(secret)
                report.update(verify(src, dst, config, copied, added, day=day, now_ms=now_ms))

            report["copied"] = copy_store(source, target, check=finish)["tables"]
        if servers_secret:  # committed: from now on this PC signs and reads with the server's secret
            from cabin.kiosk.business import tokens

            tokens.load_secret(paths.secret_file(), new=servers_secret[0])
        if new_file:  # closed: its WAL is in the file
            try:
                os.link(into, target_where)
            except FileExistsError:
                raise CabinError("{path} was made by another program during the copy: nothing was copied there",
                                 path=target_where) from None
    finally:
        if new_file:
            for suffix in ("", "-wal", "-shm", "-lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{into}{suffix}")
    return report


def _carry_counter_state(src, dst, src_dialect: str, dst_dialect: str) -> dict[str, int]:
    """What the counter keeps outside its tables' rows, carried into the target; the rows this
    added to the target's tables (meta's), which the counts allow for."""
    if src_dialect == dst_dialect:
        return {}
    if dst_dialect == "sqlite":  # from a server: its meta row names the audit log's last id
        row = src.execute("SELECT value FROM meta WHERE key = ?", (AUDIT_LAST_ID,)).fetchone()
        if row is not None:
            dst.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'audit'", (int(row[0]),))
        return {}
    added = {"meta": 0}
    seq = src.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    if seq is not None and _upsert_meta(dst, AUDIT_LAST_ID, str(seq[0])):
        added["meta"] += 1
    secret = paths.secret_file()
    if secret.exists():  # the secret this PC's tickets were signed with, read as tokens reads it
        from cabin.kiosk.business import tokens

        if _upsert_meta(dst, SECRET_ROW, tokens.load_secret(secret).hex()):
            added["meta"] += 1
    return added


def _secret_for_this_pc(src) -> bytes | None:
    """The server's station secret, to become this PC's secret file (None when the server has
    none or this PC's file holds it already); CabinError when this PC has a different one."""
    from cabin.kiosk.business import tokens

    row = src.execute("SELECT value FROM meta WHERE key = ?", (SECRET_ROW,)).fetchone()
    if row is None:
        return None
    secret = tokens.secret_from_hex(row[0])
    if secret is None:
        raise CabinError("the station secret on the server is damaged: the tickets it signed could not be read"
                         " here; nothing was copied")
    mine = paths.secret_file()
    if not mine.exists():
        return secret
    if tokens.load_secret(mine) != secret:
        raise CabinError("this PC already has another station secret ({path}): the tickets the server signed would"
                         " not be read here; move that file aside (the tickets it signed stop being read) and"
                         " copy again; nothing was copied", path=mine)
    return None


def _upsert_meta(conn, key: str, value: str) -> bool:
    """Set a row of meta; True when the row is new."""
    if conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key)).rowcount:
        return False
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    return True


def verify(src, dst, config, copied: dict[str, int], added: dict[str, int], *, day: str | None,
           now_ms: int) -> dict:
    """The copy against its source, inside the target's transaction; StoreError on a difference."""
    names = tables(src, dialect_of(src))
    theirs, ours = counts(src, names), counts(dst, names)
    differ = [f"{t}: {theirs[t]} rows in the source, {ours[t]} copied"
              for t in names if ours[t] != theirs[t] + added.get(t, 0) or copied.get(t) != theirs[t]]
    if differ:
        raise StoreError("the copy does not hold every row ({differ}): nothing was copied", differ="; ".join(differ))
    intact, bad_id, why = audit.verify(src)
    if not intact:
        raise StoreError("the source's audit log is broken at entry {id} ({why}): `cabin audit verify` shows it;"
                         " nothing was copied", id=bad_id, why=why)
    intact, bad_id, why = audit.verify(dst)
    if not intact:
        raise StoreError("the copied audit log does not verify at entry {id} ({why}): nothing was copied",
                         id=bad_id, why=why)
    if day is None:
        day = src.execute("SELECT max(day) FROM tickets").fetchone()[0]
    files = {}
    if day is not None:
        exports = [day_data_files(conn, config, day, extra=business_figures(conn, config, [day])[day], now_ms=now_ms)
                   for conn in (src, dst)]
        unequal = sorted(name for name in exports[0].keys() | exports[1].keys()
                         if exports[0].get(name) != exports[1].get(name))
        if unequal:
            raise StoreError("the export of {day} from the copy differs from the source's ({files}): nothing was"
                             " copied", day=day, files=", ".join(unequal))
        files = exports[0]
    return {"rows": ours, "added": {t: n for t, n in added.items() if n}, "audit": audit.head(dst),
            "day": day, "export_files": sorted(files)}
