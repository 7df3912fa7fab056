"""The audit log's hash chain on a real SQLite file: intact, and every way someone holding the
file can break it. Rows are altered or removed the way such a person would: the sqlite3 module
on the file, dropping the append-only triggers first."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.station import open_store
from cabin.queue.errors import StoreError

T0 = 1_795_000_000_000


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cabin.sqlite"


@pytest.fixture
def store(path):
    s = open_store(path)
    with s.write() as conn:
        for i in range(1, 7):
            audit.record(conn, "root" if i % 2 else "li", f"action.{i}", f"subject {i}", {"n": i}, at=T0 + i)
    yield s
    s.close()


def verify(store):
    with store.read() as conn:
        return audit.verify(conn)


def attacker(path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;" + sql)
    conn.close()


def row(store, id_):
    return dict(store.conn.execute("SELECT * FROM audit WHERE id = ?", [id_]).fetchone())


def test_an_intact_log_verifies(store):
    assert verify(store) == (True, None, None)
    with store.read() as conn:
        assert audit.head(conn) == {"entries": 6, "last_id": 6, "head": row(store, 6)["hash"]}


def test_an_empty_log_verifies(tmp_path):
    with open_store(tmp_path / "empty.sqlite") as s, s.read() as conn:
        assert audit.verify(conn) == (True, None, None)
        assert audit.head(conn) == {"entries": 0, "last_id": None, "head": audit.GENESIS}


def test_each_hash_covers_the_previous_hash_and_the_entry(store):
    first, second = row(store, 1), row(store, 2)
    assert first["prev_hash"] == "0" * 64 and second["prev_hash"] == first["hash"]
    fields = {"id": 2, "at": T0 + 2, "actor": "li", "action": "action.2", "subject": "subject 2", "detail": '{"n":2}'}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert second["hash"] == hashlib.sha256((first["hash"] + canonical).encode()).hexdigest()


def test_the_triggers_refuse_update_and_delete(store):
    for sql in ("UPDATE audit SET actor = 'x' WHERE id = 2", "DELETE FROM audit WHERE id = 6"):
        with pytest.raises(StoreError, match="append-only"):
            with store.write() as conn:
                conn.execute(sql)
    assert verify(store) == (True, None, None)


def test_record_runs_only_inside_a_write_transaction(store):
    with pytest.raises(RuntimeError):
        audit.record(store.conn, None, "x", None, at=T0)


def test_an_altered_row_is_named(store, path):
    attacker(path, "UPDATE audit SET subject = 'someone else' WHERE id = 4;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 4) and "altered" in reason


def test_an_altered_detail_or_time_is_named(store, path):
    attacker(path, "UPDATE audit SET detail = '{\"n\":99}' WHERE id = 2;")
    assert verify(store)[:2] == (False, 2)
    attacker(path, "UPDATE audit SET detail = '{\"n\":2}', at = at + 1 WHERE id = 2;")
    assert verify(store)[:2] == (False, 2)


def test_an_altered_row_with_a_fresh_hash_breaks_the_next_link(store, path):
    entry = row(store, 3)
    entry["actor"] = "nobody"
    attacker(path, f"UPDATE audit SET actor = 'nobody', hash = '{audit.entry_hash(entry['prev_hash'], entry)}' WHERE id = 3;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 4) and "does not link to entry 3" in reason


def test_a_row_removed_from_the_middle_is_a_gap(store, path):
    attacker(path, "DELETE FROM audit WHERE id = 3;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 4) and "entry 3 before entry 4 removed" in reason


def test_rows_removed_and_renumbered_break_the_link(store, path):
    # close the gap by renumbering: the ids are in the hashes, and the links no longer meet
    attacker(path, "DELETE FROM audit WHERE id = 3; UPDATE audit SET id = id - 1 WHERE id > 3;")
    ok, bad, _ = verify(store)
    assert (ok, bad) == (False, 3)


def test_the_first_row_removed(store, path):
    attacker(path, "DELETE FROM audit WHERE id = 1;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 2) and "entry 1 before entry 2" in reason


def test_rows_removed_from_the_end_are_missing(store, path):
    attacker(path, "DELETE FROM audit WHERE id >= 5;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 5) and "entries 5 to 6 removed from the end" in reason
    # and an entry appended afterwards does not hide it
    with store.write() as conn:
        audit.record(conn, None, "later", None, at=T0 + 7)
    assert verify(store)[:2] == (False, 7)


def test_the_whole_log_removed(store, path):
    attacker(path, "DELETE FROM audit;")
    ok, bad, reason = verify(store)
    assert (ok, bad) == (False, 1) and "entries 1 to 6 removed" in reason


def test_reordered_rows_are_named(store, path):
    # swap the contents (hashes included) of entries 2 and 3
    attacker(path, """
        UPDATE audit SET id = -2 WHERE id = 2;
        UPDATE audit SET id = 2 WHERE id = 3;
        UPDATE audit SET id = 3 WHERE id = -2;
    """)
    ok, bad, _ = verify(store)
    assert (ok, bad) == (False, 2)


def test_an_inserted_row_is_named(store, path):
    attacker(path, "INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash)"
                   " SELECT 7, at, actor, action, subject, detail, prev_hash, hash FROM audit WHERE id = 6;")
    assert verify(store)[:2] == (False, 7)


def test_show_the_latest_oldest_first_and_by_actor(store):
    with store.read() as conn:
        assert [e["id"] for e in audit.show(conn, 3)] == [4, 5, 6]
        li = audit.show(conn, 10, actor="li")
        assert [e["id"] for e in li] == [2, 4, 6] and li[0]["detail"] == {"n": 2}
        assert audit.show(conn, 10, actor="nobody") == []


def test_control_characters_are_stored_visibly_and_names_beyond_the_bmp_kept(store):
    with store.write() as conn:
        e = audit.record(conn, None, "login.failed", "li\x1b[2J\x9b1m\U00020000", {"tried": "a\x07b"}, at=T0 + 7)
    assert e["subject"] == "li\\x1b[2J\\x9b1m\U00020000"
    assert e["detail"] == {"tried": "a\\x07b"}
    assert verify(store) == (True, None, None)
