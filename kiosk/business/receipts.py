"""Receipt numbers of the counter's records: KIND-YYYYMMDD-NNNN, numbered per kind and day.

Called inside the write transaction that inserts the record, so two processes never take the
same number; the highest number of the day plus one, so a gap never makes one repeat.
"""

from __future__ import annotations

import sqlite3


def next_receipt(conn: sqlite3.Connection, table: str, kind: str, day: str) -> str:
    prefix = f"{kind}-{day.replace('-', '')}-"
    row = conn.execute(f"SELECT MAX(CAST(substr(receipt, ?) AS INTEGER)) FROM {table} WHERE receipt LIKE ?",
                       (len(prefix) + 1, prefix + "%")).fetchone()
    return f"{prefix}{(row[0] or 0) + 1:04d}"
