"""The audit log: who did what to whom, as a hash chain (domain.md section 6).

Each entry's hash is SHA-256 over its predecessor's hash followed by the canonical JSON of the
entry's own fields (id, at, actor, action, subject, detail: keys sorted, no spaces, UTF-8), so
altering, removing, inserting or reordering a row breaks the chain at that row or the next.
The table's triggers refuse UPDATE and DELETE; `verify` is for what someone with the file and
the sqlite3 shell can still do. What a bare hash chain cannot show is a log rewritten from the
altered entry onward with fresh hashes: note the head (`cabin audit verify` prints it) somewhere
outside the station database to catch that.

`record` is called inside the write transaction of the change it records (`with store.write()
as conn:`), so the change and its entry are committed together or not at all. The same on SQLite
and PostgreSQL; where their SQL differs, the dialect of the connection chooses (the tables below).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
from typing import Any

from cabin.kiosk.business.sqldialect import POSTGRESQL, SQLITE, dialect_of, nocase_equals

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, entry: dict) -> str:
    """sha256(prev_hash + canonical JSON of {id, at, actor, action, subject, detail}), hex."""
    fields = {k: entry[k] for k in ("id", "at", "actor", "action", "subject", "detail")}
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


def printable(text: str | None) -> str | None:
    """Control characters (C0, DEL, C1: terminal escape sequences) as visible \\xNN escapes, so a
    name someone typed can never drive the terminal of whoever reads the log. Everything else,
    including characters beyond the BMP, is kept."""
    if text is None:
        return None
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in str(text))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


# The last id handed out to an entry: the ids must reach it, so entries removed from the end of the
# log show as missing. SQLite: AUTOINCREMENT's own record, sqlite_sequence, which the insert moves.
# PostgreSQL: a row of meta, moved by the entry's own transaction — the identity's sequence is not
# transactional (an entry rolled back would leave a gap that reads as a removal). Moving that one row
# is also what makes concurrent writers take turns: two transactions appending at once both update
# it, and the server refuses the second (40001, nothing written) for its caller to run again
# (queue/conflicts.py); the id being the primary key refuses a fork even at a weaker isolation.
_LAST_ID = {
    SQLITE: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'",
    POSTGRESQL: "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'audit_last_id'",
}
_CLAIM_ID = {
    POSTGRESQL: """
        INSERT INTO meta (key, value) SELECT 'audit_last_id', CAST(coalesce(max(id), 0) + 1 AS TEXT) FROM audit
        ON CONFLICT (key) DO UPDATE
            SET value = CAST(greatest(CAST(meta.value AS BIGINT), CAST(EXCLUDED.value AS BIGINT) - 1) + 1 AS TEXT)
        RETURNING CAST(value AS BIGINT)""",
}
# PostgreSQL's audit.id is GENERATED ALWAYS: the id the hash covers is given explicitly, so said so
_INSERT = "INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash) {overriding}VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_OVERRIDING = {SQLITE: "", POSTGRESQL: "OVERRIDING SYSTEM VALUE "}
_COLUMNS = ("id", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")


def _next_id(conn, dialect: str) -> int:
    """The id of the entry about to be appended, claimed inside the caller's transaction."""
    if dialect == SQLITE:  # the insert moves sqlite_sequence
        seq = conn.execute(_LAST_ID[SQLITE]).fetchone()
        return (seq[0] if seq else 0) + 1
    return conn.execute(_CLAIM_ID[dialect]).fetchone()[0]


def record(conn: sqlite3.Connection, actor: str | None, action: str, subject: str | None,
           detail: dict | None = None, *, at: int) -> dict:
    """Append one entry and return it (with its id and hash). Must run inside a write
    transaction: reading the last hash and appending are then one step for every process (on
    PostgreSQL, a transaction that appended at the same moment as another is refused whole: run
    the operation again, queue/conflicts.py)."""
    if not conn.in_transaction:
        raise RuntimeError("audit.record must run inside the write transaction of the change it records")
    dialect = dialect_of(conn)
    entry_id = _next_id(conn, dialect)
    last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last[0] if last else GENESIS
    entry = {
        "id": entry_id,
        "at": int(at),  # the change's own time, from the station's clock
        "actor": printable(actor),
        "action": printable(action),
        "subject": printable(subject),
        "detail": None if detail is None else canonical(_clean(detail)),
    }
    entry["prev_hash"] = prev_hash
    entry["hash"] = entry_hash(prev_hash, entry)
    conn.execute(_INSERT.format(overriding=_OVERRIDING[dialect]), [entry[k] for k in _COLUMNS])
    return _public(entry)


def verify(conn: sqlite3.Connection) -> tuple[bool, int | None, str | None]:
    """Walk the chain from the first entry: (True, None, None) when intact, else
    (False, id of the first bad entry, why). A row removed from the middle shows as a gap in the
    ids at the next entry; removed from the end, as ids missing after the last entry (the
    reported id is then the first missing one); an altered row as a hash mismatch; a row whose
    predecessor was rewritten with a fresh hash, as a broken link."""
    expected_id, prev_hash, prev_id = 1, GENESIS, None
    for row in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY id"):
        entry = dict(zip(_COLUMNS, row))
        eid = entry["id"]
        if eid != expected_id:
            missing = f"entry {expected_id}" if eid == expected_id + 1 else f"entries {expected_id} to {eid - 1}"
            return False, eid, f"{missing} before entry {eid} removed (a gap in the ids)"
        if entry["prev_hash"] != prev_hash:
            before = f"entry {prev_id}'s hash" if prev_id else "the start of the chain"
            return False, eid, f"entry {eid} does not link to {before} (an entry was altered, inserted or removed)"
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            return False, eid, f"entry {eid} was altered (its hash does not match its contents)"
        expected_id, prev_hash, prev_id = eid + 1, entry["hash"], eid
    seq = conn.execute(_LAST_ID[dialect_of(conn)]).fetchone()
    last = expected_id - 1
    if seq and seq[0] > last:
        missing = f"entry {seq[0]}" if seq[0] == last + 1 else f"entries {last + 1} to {seq[0]}"
        return False, last + 1, f"{missing} removed from the end of the log"
    return True, None, None


def head(conn: sqlite3.Connection) -> dict:
    """The number of entries and the last entry's id and hash: note it down to anchor the log."""
    row = conn.execute("SELECT count(*), max(id) FROM audit").fetchone()
    last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return {"entries": row[0], "last_id": row[1], "head": last[0] if last else GENESIS}


def show(conn: sqlite3.Connection, limit: int = 50, actor: str | None = None) -> list[dict]:
    """The last `limit` entries (of one actor, if named), oldest first; detail parsed."""
    where, params = (f"WHERE {nocase_equals(conn, 'actor')}", [actor]) if actor is not None else ("", [])
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM audit {where} ORDER BY id DESC LIMIT ?",
                        [*params, limit]).fetchall()
    return [_public(dict(zip(_COLUMNS, r))) for r in reversed(rows)]


def _public(entry: dict) -> dict:
    out = dict(entry)
    if out["detail"] is not None:
        try:
            out["detail"] = json.loads(out["detail"])
        except ValueError:  # an altered row: show what is there; verify names it
            pass
    return out
