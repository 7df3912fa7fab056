"""Which SQL a connection speaks, and the few clauses the counter writes differently in each.

The counter's services run the same SQL on SQLite and PostgreSQL wherever it is portable; where it
cannot be, they ask `dialect_of(conn)` here, the one place that tells the two apart. PostgreSQL's
connection (queue/pgstore.py PgConnection) names its dialect; sqlite3's cannot carry an attribute,
so a sqlite3.Connection is recognised by its type, here only.
"""

from __future__ import annotations

import sqlite3

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def dialect_of(conn) -> str:
    """"sqlite" or "postgresql": the dialect of a connection a store's write() or read() gave."""
    if isinstance(conn, sqlite3.Connection):
        return SQLITE
    return conn.dialect


def nocase_equals(conn, column: str) -> str:
    """The condition `column` = ? with ASCII letters folded and every other character kept ("Li" and
    "li" match, "É" and "é" do not): SQLite's NOCASE. PostgreSQL: lower() under the "C" collation,
    the same folding whatever the database's locale (a plain lower() follows the locale and would
    fold "É" too)."""
    if dialect_of(conn) == SQLITE:
        return f"{column} = ? COLLATE NOCASE"
    return f'lower({column} COLLATE "C") = lower(CAST(? AS TEXT) COLLATE "C")'
