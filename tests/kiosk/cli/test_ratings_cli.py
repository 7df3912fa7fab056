"""`cabin rating record|follow-up|list` in this process (clikit.run_cli), on SQLite and on PostgreSQL:
one JSON object under --json, each refusal one line with exit 1 and nothing written."""

from __future__ import annotations

import json
import os

import pytest

from cabin.kiosk.station import open_store

from clikit import STAFF_PASSWORD, assert_refused, one_json, run_cli

PW = STAFF_PASSWORD


@pytest.fixture
def cabin(any_db, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(any_db), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def run(*args, stdin=""):
        return run_cli(args, stdin, env=env, cwd=tmp_path)
    return run


def serve(cabin, window: str, service: str) -> None:
    for argv in (("ticket", "issue", service), ("window", "open", window), ("call", "--window", window),
                 ("start", "--window", window), ("complete", "--window", window)):
        r = cabin(*argv)
        assert r.code == 0, r


def test_record_list_and_follow_up(cabin, any_db):
    assert cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n").code == 0
    assert cabin("user", "add", "wang", "--role", "supervisor", "--as", "root", stdin=f"{PW}\n{PW}\n").code == 0
    assert cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n").code == 0
    assert_refused(cabin("rating", "record", "--window", "2", "--level", "1"),
                   "no errand has been completed at window 2 yet")
    serve(cabin, "2", "id.apply")
    good = one_json(cabin("rating", "record", "--window", "2", "--level", "2", "--json"))
    assert (good["level"], good["level_text"], good["window"], good["service"]) == (2, "满意", 2, "id.apply")
    r = cabin("rating", "record", "--window", "2", "--level", "3", "--json")
    assert r.code == 1 and json.loads(r.out)["error"].endswith("is rated already")
    serve(cabin, "2", "id.temporary")
    assert_refused(cabin("rating", "record", "--window", "2", "--level", "4"), "a rating of 4 needs a reason")
    assert_refused(cabin("rating", "record", "--window", "2", "--level", "5", "--reason", "rude"),
                   'unknown rating reason "rude"')
    assert cabin("rating", "record", "--window", "2", "--level", "6").code == 2  # usage: 1..5 only
    bad = one_json(cabin("rating", "record", "--window", "2", "--level", "5", "--reason", "wait", "--json"))
    assert bad["bad"] and bad["reason"] == "wait"

    listed = one_json(cabin("rating", "list", "--json"))["ratings"]
    assert [x["id"] for x in listed] == [good["id"], bad["id"]]
    assert [x["id"] for x in one_json(cabin("rating", "list", "--bad", "--json"))["ratings"]] == [bad["id"]]
    assert_refused(cabin("rating", "follow-up", str(bad["id"]), "--note", "x", "--as", "li", stdin=f"{PW}\n"),
                   "li is a clerk: this needs supervisor")
    assert_refused(cabin("rating", "follow-up", str(good["id"]), "--note", "x", "--as", "wang", stdin=f"{PW}\n"),
                   "is not a bad rating")
    done = one_json(cabin("rating", "follow-up", str(bad["id"]), "--note", "窗口增加取号提示", "--as", "wang", "--json",
                          stdin=f"{PW}\n"))
    assert (done["followed_up_by"], done["follow_up_note"]) == ("wang", "窗口增加取号提示")
    assert one_json(cabin("rating", "list", "--bad", "--json"))["ratings"] == []
    text = cabin("rating", "list")
    assert text.code == 0 and "5 非常不满意 (wait)" in text.out and "followed up" in text.out
    with open_store(any_db) as store, store.read() as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit ORDER BY id")]
    assert actions.count("rating.record") == 2 and actions.count("rating.follow_up") == 1
