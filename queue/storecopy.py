"""A station's whole history copied from one store into another: an SQLite file into a PostgreSQL
server's database, or back (`cabin store copy`, kiosk/cli/store.py).

Every table of every migration set is copied row by row with its ids, in an order in which each
row's references exist before it (the foreign keys read from the source's own schema), all of it
in ONE transaction of the target: a copy that fails or is killed midway leaves the target as it
was. What comes after the ids is carried too, so the target hands out the ids the source would
have: PostgreSQL's identity sequences are moved past the copied ids, SQLite's `sqlite_sequence`
(AUTOINCREMENT's record of the last id ever given) is written as the source's.

The target must be empty (its schema made by the migrations, not a row in it); the source is read
in one snapshot while its station may keep running. `check(source_conn, target_conn, copied)` runs
inside the target's transaction before it commits: a check that raises rolls the copy back. queue/ knows
nothing of kiosk: the counter's own checks (the audit chain, the day's export) are passed in.
"""

from __future__ import annotations

from typing import Callable, Iterable

from cabin.queue.errors import StoreError

BATCH = 1000  # rows per executemany: a day of 100,000 events is copied without holding it all
# the migration sets' own records: each store keeps its own (made when it was opened), not copied
MIGRATION_RECORDS = {"sqlite": "_sqlite_migrations", "postgresql": "cabin_migrations"}


def tables(conn, dialect: str) -> list[str]:
    """The station's tables, by name, the migration records left out."""
    if dialect == "sqlite":
        found = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name")]
    else:
        found = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                            " ORDER BY tablename")]
    return [t for t in found if t != MIGRATION_RECORDS[dialect]]


def columns(conn, dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    return [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                                       " current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]


def references(conn, dialect: str, table: str) -> list[tuple[str, str]]:
    """(column, table it refers to) of each foreign key of `table`."""
    if dialect == "sqlite":
        return [(r[3], r[2]) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')]
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
        " WHERE c.contype = 'f' AND c.conrelid = CAST(? AS regclass)", (table,))]


def copy_order(conn, dialect: str, names: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The tables in an order in which each one's references are copied before it, and the
    columns left NULL at first and set once every table is in (a cycle: windows name the request
    they serve, requests the window that served them). A table's references to itself need no
    order: its rows are copied by id, and a row only names an older one."""
    refs = {t: [(col, ref) for col, ref in references(conn, dialect, t) if ref != t] for t in names}
    order: list[str] = []
    later: dict[str, list[str]] = {}
    waiting = list(names)
    while waiting:
        ready = [t for t in waiting if all(ref in order for _, ref in refs[t])]
        if not ready:  # a cycle: one of its tables goes in with its references to the others set later
            table = min((t for t in waiting if _in_cycle(t, refs, waiting)),
                        key=lambda t: (sum(ref not in order for _, ref in refs[t]), t))
            later[table] = [col for col, ref in refs[table] if ref not in order]
            refs[table] = [(col, ref) for col, ref in refs[table] if ref in order]
            continue
        for t in ready:
            order.append(t)
            waiting.remove(t)
    return order, later


def _in_cycle(table: str, refs: dict[str, list[tuple[str, str]]], waiting: list[str]) -> bool:
    """`table` reaches itself through the references among the tables not yet copied."""
    seen, todo = set(), [ref for _, ref in refs[table] if ref in waiting]
    while todo:
        t = todo.pop()
        if t == table:
            return True
        if t not in seen:
            seen.add(t)
            todo += [ref for _, ref in refs[t] if ref in waiting]
    return False


def count(conn, table: str) -> int:
    return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def counts(conn, names: Iterable[str]) -> dict[str, int]:
    return {t: count(conn, t) for t in names}


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def last_ids(conn, dialect: str, names: list[str]) -> dict[str, int]:
    """The last id each table with one handed out, where it is more than the largest id there
    (rows removed from the end): SQLite's sqlite_sequence, PostgreSQL's identity sequences."""
    if dialect == "sqlite":
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None:
            return {}
        return {r[0]: r[1] for r in conn.execute("SELECT name, seq FROM sqlite_sequence") if r[0] in names}
    found = {}
    for table, sequence in _identities(conn, names):
        row = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
        if row[1]:
            found[table] = row[0]
    return found


def _identities(conn, names: list[str]) -> list[tuple[str, str]]:
    """(table, its identity column's sequence) of the PostgreSQL tables among `names` with one."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), column_name)"
        " FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'"
        " ORDER BY table_name") if r[0] in names]


def copy_store(source, target, *, check: Callable[[object, object, dict], None] | None = None) -> dict:
    """Copy every row of `source` (a store, read in one snapshot) into `target` (an empty store of
    the same schema) in one transaction; `check(source_conn, target_conn, copied)` runs before the
    commit. {"tables": {table: rows copied}, "order": [...]}."""
    with source.read() as src:
        names = tables(src, source.dialect)
        with target.write() as dst:
            found = tables(dst, target.dialect)
            if sorted(found) != sorted(names):
                raise StoreError("the two databases do not hold the same tables ({source}: {ours}; {target}:"
                                 " {theirs}): are they made by the same Cabin?", source=source.where,
                                 target=target.where, ours=", ".join(sorted(names)), theirs=", ".join(sorted(found)))
            held = {t: n for t, n in counts(dst, names).items() if n}
            if held:
                raise StoreError("{target} holds a station already ({what}): a station is copied into an empty"
                                 " database only", target=target.where,
                                 what=", ".join(f"{n} rows in {t}" for t, n in sorted(held.items())[:4]))
            order, later = copy_order(src, source.dialect, names)
            copied = {}
            for table in order:
                copied[table] = _copy_table(src, dst, source.dialect, target.dialect, table, later.get(table, []))
            for table, deferred in later.items():
                _set_later(src, dst, source.dialect, table, deferred)
            _carry_last_ids(dst, target.dialect, last_ids(src, source.dialect, names), names)
            if check is not None:
                check(src, dst, copied)
    return {"tables": copied, "order": order}


def _copy_table(src, dst, src_dialect: str, dst_dialect: str, table: str, deferred: list[str]) -> int:
    names = columns(src, src_dialect, table)
    theirs = columns(dst, dst_dialect, table)
    if sorted(names) != sorted(theirs):
        raise StoreError("the table {table} has other columns in the target: are both made by the same Cabin?",
                         table=table)
    key = names[0]  # every table's key is its first column (id, number, key, printer)
    # the id is given: PostgreSQL takes it over a GENERATED ALWAYS identity only when told so
    overriding = " OVERRIDING SYSTEM VALUE" if dst_dialect == "postgresql" else ""
    insert = (f'INSERT INTO "{table}" ({_quoted(names)}){overriding}'
              f" VALUES ({', '.join('?' * len(names))})")
    positions = [names.index(c) for c in deferred]
    rows = src.execute(f'SELECT {_quoted(names)} FROM "{table}" ORDER BY "{key}"')
    done = 0
    while batch := rows.fetchmany(BATCH):
        values = [list(row) for row in batch]
        for row in values:
            for i in positions:
                row[i] = None
        dst.executemany(insert, values)
        done += len(values)
    return done


def _set_later(src, dst, dialect: str, table: str, deferred: list[str]) -> None:
    """The columns of a cycle, set once the rows they name are in."""
    key = columns(src, dialect, table)[0]  # the table's key: windows' number
    sets = ", ".join(f'"{c}" = ?' for c in deferred)
    named = " OR ".join(f'"{c}" IS NOT NULL' for c in deferred)
    for row in src.execute(f'SELECT "{key}", {_quoted(deferred)} FROM "{table}" WHERE {named}'):
        dst.execute(f'UPDATE "{table}" SET {sets} WHERE "{key}" = ?', (*row[1:], row[0]))


def _carry_last_ids(dst, dialect: str, last: dict[str, int], names: list[str]) -> None:
    """The target hands out the ids after the source's: each identity sequence moved to the
    larger of the table's largest id and the source's last id; SQLite's sqlite_sequence as the
    source's (inserting with ids has moved it to the largest already)."""
    if dialect == "sqlite":
        # only AUTOINCREMENT's tables have a row there: any other gives out max(id) + 1 whatever came before
        autoincrement = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                   " AND sql LIKE '%AUTOINCREMENT%'")}
        for table, seq in last.items():
            if table not in autoincrement:
                continue
            if dst.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, table)).rowcount == 0:
                dst.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))
        return
    for table, sequence in _identities(dst, names):
        top = max(dst.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0], last.get(table, 0))
        if top > 0:
            dst.execute("SELECT setval(CAST(? AS regclass), ?, true)", (sequence, top))
