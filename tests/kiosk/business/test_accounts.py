"""Accounts on a real SQLite file: first admin, roles, passwords, lockout, disabling, the audit
entry of every change; and `cabin user` / `cabin audit` through the CLI's main with passwords on
standard input."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime

import pytest

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import (
    LOCKOUT_FAILURES,
    SCRYPT_PARAMS,
    SIGN_IN_REFUSED,
    Accounts,
    SignInRefused,
)
from cabin.kiosk.business.migrations import migrations as kiosk_migrations
from cabin.kiosk.station import open_store
from cabin.queue.clock import ManualClock
from cabin.queue.errors import CabinError
from cabin.queue.store import Store, schema_version

from clikit import Run, base_env, run_cli

PW = "correct horse"


@pytest.fixture
def mclock(config):
    return ManualClock(config.station.tz, datetime(2026, 11, 23, 9, 0, tzinfo=config.station.tz))


@pytest.fixture
def accts(kiosk_store, mclock):
    return Accounts(kiosk_store, mclock)


@pytest.fixture
def admin(accts):
    accts.add("root", "admin", PW)
    return accts.authenticate("root", PW)


def entries(store, **kw):
    with store.read() as conn:
        return audit.show(conn, 1000, **kw)


def actions(store):
    return [(e["actor"], e["action"], e["subject"]) for e in entries(store)]


def refused(fn, *args, **kw) -> str:
    with pytest.raises(CabinError) as info:
        fn(*args, **kw)
    return str(info.value)


# -- the store applies the kiosk set --------------------------------------------------------
def test_store_applies_the_kiosk_set_after_the_queue_and_reports_each(kiosk_store, tmp_path):
    # the kiosk's latest migration, whichever it is: a new migration must not break this test
    kiosk_names = [m.name for m in kiosk_migrations._migrations]
    assert kiosk_names[0] == "0001_accounts_audit"
    assert kiosk_store.schema_versions() == {"cabin.queue": "0001_queue", "cabin.kiosk": kiosk_names[-1]}
    assert schema_version(kiosk_store.db) == "0001_queue"
    assert schema_version(kiosk_store.db, [kiosk_migrations]) == f"cabin.queue 0001_queue; cabin.kiosk {kiosk_names[-1]}"
    kiosk_store.close()
    plain = Store(tmp_path / "cabin.sqlite")  # reopened without the set: nothing is lost or re-run
    assert plain.schema_versions() == {"cabin.queue": "0001_queue"}
    assert plain.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == 1 + len(kiosk_names)
    plain.close()


def test_the_opener_brings_a_store_made_without_the_set_up_to_date(tmp_path, mclock):
    # a database the queue alone made: the station's opener adds the counter's tables, so the
    # services never have to check for them
    with Store(tmp_path / "q.sqlite") as store:
        assert kiosk_migrations.pending(store.db)
    with open_store(tmp_path / "q.sqlite") as store:
        assert not kiosk_migrations.pending(store.db)
        Accounts(store, mclock).add("root", "admin", PW)


# -- adding ---------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_the_first_account_must_be_an_admin_and_needs_no_authentication(accts, kiosk_store):
    assert "first account must be an admin" in refused(accts.add, "li", "clerk", PW)
    root = accts.add("root", "admin", PW)
    assert (root.name, root.role, root.disabled) == ("root", "admin", False)
    assert "an admin must add" in refused(accts.add, "second", "admin", PW)
    assert actions(kiosk_store) == [(None, "account.add", "root")]
    assert entries(kiosk_store)[0]["detail"] == {"role": "admin", "first_account": True}


@pytest.mark.usefixtures("any_db")
def test_later_accounts_need_an_authenticated_admin(accts, admin, kiosk_store):
    clerk = accts.add("li", "clerk", PW, by=admin)
    sup = accts.add("wang", "supervisor", PW, by=admin)
    for actor in (accts.authenticate("li", PW), accts.authenticate("wang", PW)):
        assert "this needs admin" in refused(accts.add, "zhao", "clerk", PW, by=actor)
        assert "this needs admin" in refused(accts.disable, "li", by=actor)
        assert "this needs admin" in refused(accts.passwd, "li", "new password", by=actor)
    assert {a.name: a.role for a in accts.list()} == {"li": "clerk", "root": "admin", "wang": "supervisor"}
    assert (clerk.role, sup.role) == ("clerk", "supervisor")
    assert ("root", "account.add", "li") in actions(kiosk_store)
    assert not any(a == "account.add" and s == "zhao" for _, a, s in actions(kiosk_store))


@pytest.mark.usefixtures("any_db")
def test_names_roles_and_passwords_are_checked(accts, admin):
    assert "already an account" in refused(accts.add, "ROOT", "clerk", PW, by=admin)  # one account, any case
    assert "unknown role" in refused(accts.add, "li", "boss", PW, by=admin)
    assert "at least 8" in refused(accts.add, "li", "clerk", "short", by=admin)
    for bad in ("", "li wei", "li\x1b[2J", "li\u200bwei", "x" * 65):
        refused(accts.add, bad, "clerk", PW, by=admin)
    assert "control characters" in refused(accts.add, "li", "clerk", "pass\x1bword", by=admin)
    # names keep every real character, beyond the BMP too
    name = "\U00020000\u9f98"
    assert accts.add(name, "clerk", PW, by=admin).name == name
    assert accts.authenticate(name, PW).name == name


@pytest.mark.usefixtures("any_db")
def test_an_actor_disabled_since_signing_in_cannot_act(accts, admin):
    other = accts.add("boss", "admin", PW, by=admin)
    boss = accts.authenticate(other.name, PW)
    accts.disable("root", by=boss)
    assert "disabled" in refused(accts.add, "li", "clerk", PW, by=admin)


# -- signing in -----------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_wrong_name_and_wrong_password_are_refused_in_the_same_words(accts, admin, kiosk_store):
    assert SIGN_IN_REFUSED == "wrong name or password, or the account cannot sign in now"
    assert refused(accts.authenticate, "root", "not it!!") == SIGN_IN_REFUSED
    assert refused(accts.authenticate, "nobody", PW) == SIGN_IN_REFUSED
    assert refused(accts.authenticate, "root", "") == SIGN_IN_REFUSED
    assert accts.authenticate("root", PW).name == "root"
    assert [a for _, a, _ in actions(kiosk_store)][-4:] == ["login.failed", "login.failed", "login.failed", "login"]


@pytest.mark.usefixtures("any_db")
def test_lockout_after_five_failures_for_fifteen_minutes(accts, admin, mclock, kiosk_store):
    accts.add("li", "clerk", PW, by=admin)
    for _ in range(LOCKOUT_FAILURES - 1):
        assert refused(accts.authenticate, "li", "guess1234") == SIGN_IN_REFUSED
    # the fifth locks the account: the audit log says so, the person at the keyboard is not told
    assert refused(accts.authenticate, "li", "guess1234") == SIGN_IN_REFUSED
    assert accts.get("li").locked_until == mclock.now_ms() + 15 * 60_000
    assert [(e["action"], e["detail"]) for e in entries(kiosk_store)[-2:]] == [
        ("login.failed", {"reason": "wrong password", "failed_attempts": 5}),
        ("account.locked", {"failed_attempts": 5, "minutes": 15})]
    # the right password does not help while locked, and the refusal is the same
    mclock.advance(minutes=14)
    assert refused(accts.authenticate, "li", PW) == SIGN_IN_REFUSED
    assert entries(kiosk_store)[-1]["action"] == "login.failed" and entries(kiosk_store)[-1]["detail"] == {"reason": "locked"}
    mclock.advance(minutes=1)
    li = accts.authenticate("li", PW)
    assert li.failed_attempts == 0 and li.locked_until is None


@pytest.mark.usefixtures("any_db")
def test_every_failed_sign_in_is_the_same_refusal_and_the_audit_log_has_the_cause(accts, admin, mclock, kiosk_store):
    """An unknown name, a wrong password, a locked and a disabled account: one exception type,
    one sentence; only the audit log tells them apart."""
    accts.add("locked", "clerk", PW, by=admin)
    accts.add("gone", "clerk", PW, by=admin)
    accts.disable("gone", by=admin)
    for _ in range(LOCKOUT_FAILURES):
        refused(accts.authenticate, "locked", "guess1234")
    said = []
    for name, password in [("nobody", PW), ("root", "guess1234"), ("locked", PW), ("gone", PW)]:
        with pytest.raises(SignInRefused) as info:
            accts.authenticate(name, password)
        said.append((type(info.value), str(info.value), info.value.said.template, info.value.said.values))
    assert said == [(SignInRefused, SIGN_IN_REFUSED, SIGN_IN_REFUSED, {})] * 4
    causes = [(e["subject"], e["detail"]["reason"]) for e in entries(kiosk_store)[-4:]]
    assert causes == [("nobody", "unknown name"), ("root", "wrong password"), ("locked", "locked"), ("gone", "disabled")]


@pytest.mark.usefixtures("any_db")
def test_failures_must_be_consecutive(accts, admin):
    accts.add("li", "clerk", PW, by=admin)
    for _ in range(LOCKOUT_FAILURES - 1):
        refused(accts.authenticate, "li", "guess1234")
    accts.authenticate("li", PW)
    for _ in range(LOCKOUT_FAILURES - 1):
        refused(accts.authenticate, "li", "guess1234")
    assert accts.authenticate("li", PW).failed_attempts == 0


@pytest.mark.usefixtures("any_db")
def test_an_admin_reset_clears_a_lockout(accts, admin, kiosk_store):
    accts.add("li", "clerk", PW, by=admin)
    for _ in range(LOCKOUT_FAILURES):
        refused(accts.authenticate, "li", "guess1234")
    accts.passwd("li", "a new one!", by=admin)
    assert accts.authenticate("li", "a new one!").name == "li"
    assert refused(accts.authenticate, "li", PW) == SIGN_IN_REFUSED
    assert ("root", "account.passwd", "li") in actions(kiosk_store)


@pytest.mark.usefixtures("any_db")
def test_a_disabled_account_is_refused(accts, admin, kiosk_store):
    accts.add("li", "clerk", PW, by=admin)
    account, changed = accts.disable("li", by=admin)
    assert account.disabled and changed
    assert accts.disable("li", by=admin)[1] is False  # already: no second entry
    assert refused(accts.authenticate, "li", PW) == SIGN_IN_REFUSED  # the right password: no hint either
    assert entries(kiosk_store)[-1]["detail"] == {"reason": "disabled"}
    assert refused(accts.authenticate, "li", "guess1234") == SIGN_IN_REFUSED
    assert [e for e in actions(kiosk_store) if e[1] == "account.disable"] == [("root", "account.disable", "li")]


@pytest.mark.usefixtures("any_db")
def test_the_last_enabled_admin_cannot_be_disabled(accts, admin):
    assert "last enabled admin" in refused(accts.disable, "root", by=admin)
    accts.add("boss", "admin", PW, by=admin)
    accts.disable("root", by=admin)  # an admin may disable itself while another remains
    boss = accts.authenticate("boss", PW)
    assert "last enabled admin" in refused(accts.disable, "boss", by=boss)


# -- passwords ------------------------------------------------------------------------------
@pytest.mark.usefixtures("any_db")
def test_own_password_needs_the_old_one(accts, admin, kiosk_store):
    accts.add("li", "clerk", PW, by=admin)
    assert refused(accts.passwd, "li", "brand new pw", old_password="guess1234") == SIGN_IN_REFUSED
    assert accts.get("li").failed_attempts == 1  # a wrong old password counts towards lockout
    accts.passwd("li", "brand new pw", old_password=PW)
    assert accts.authenticate("li", "brand new pw").name == "li"
    assert refused(accts.authenticate, "li", PW) == SIGN_IN_REFUSED
    assert ("li", "account.passwd", "li") in actions(kiosk_store)
    assert "either with the old one or by an admin" in refused(accts.passwd, "li", "another one", )


def test_equal_passwords_never_hash_alike(real_scrypt, accts, admin, kiosk_store):
    """The one test at the product's own scrypt parameters (the rest of the suite hashes cheaply:
    tests/conftest.py cheap_scrypt)."""
    accts.add("li", "clerk", PW, by=admin)
    accts.add("wang", "clerk", PW, by=admin)
    accts.passwd("wang", PW, by=admin)
    rows = kiosk_store.conn.execute("SELECT name, pw_hash, pw_salt, pw_params FROM accounts").fetchall()
    assert len({r["pw_hash"] for r in rows}) == len(rows) == 3
    assert all(len(r["pw_salt"]) == 16 for r in rows)
    assert all(json.loads(r["pw_params"]) == SCRYPT_PARAMS == {"alg": "scrypt", "n": 16384, "r": 8, "p": 1, "dklen": 32}
               for r in rows)
    for r in rows:  # the stored hash is scrypt at those parameters, worked out independently
        assert hashlib.scrypt(PW.encode(), salt=r["pw_salt"], n=16384, r=8, p=1, dklen=32,
                              maxmem=32 * 1024 * 1024) == r["pw_hash"]
    assert accts.authenticate("wang", PW).name == "wang"


def test_no_password_or_hash_reaches_the_audit_log(accts, admin, kiosk_store):
    accts.add("li", "clerk", PW, by=admin)
    accts.passwd("li", "brand new pw", old_password=PW)
    refused(accts.authenticate, "li", "guess1234")
    dump = "\n".join(kiosk_store.conn.iterdump())
    audit_rows = json.dumps([dict(r) for r in kiosk_store.conn.execute("SELECT * FROM audit")])
    assert PW not in audit_rows and "brand new pw" not in audit_rows and "guess1234" not in audit_rows
    assert PW not in dump and "guess1234" not in dump


def test_every_account_change_is_audited_in_its_own_transaction(accts, admin, kiosk_store, tmp_path):
    accts.add("li", "clerk", PW, by=admin)
    accts.passwd("li", "brand new pw", by=admin)
    accts.disable("li", by=admin)
    assert [(a, s) for _, a, s in actions(kiosk_store) if a.startswith("account.")] == [
        ("account.add", "root"), ("account.add", "li"), ("account.passwd", "li"), ("account.disable", "li")]
    # when the audit entry cannot be written, the change is not made either
    kiosk_store.conn.execute("CREATE TRIGGER audit_jammed BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'jammed'); END")
    refused(accts.add, "wang", "clerk", PW, by=admin)
    refused(accts.passwd, "root", "brand new pw", by=admin)
    assert kiosk_store.conn.execute("SELECT count(*) FROM accounts WHERE name = 'wang'").fetchone()[0] == 0
    kiosk_store.conn.execute("DROP TRIGGER audit_jammed")
    assert accts.authenticate("root", PW).name == "root"  # the password did not change
    with kiosk_store.read() as conn:
        assert audit.verify(conn) == (True, None, None)


# -- the CLI ----------------------------------------------------------------------------------
@pytest.fixture
def cabin(tmp_path):
    """`cabin` in this process (tests/clikit.py), on its own database and data dir."""
    env = base_env(tmp_path / "cabin.sqlite", tmp_path / "xdg")

    def run(*args: str, stdin: str = "") -> Run:
        return run_cli(args, stdin, env=env, cwd=tmp_path)
    run.db = tmp_path / "cabin.sqlite"
    return run


def assert_refused(r: Run, words: str) -> None:
    assert r.returncode == 1, r
    assert r.stderr.startswith("cabin: ") and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_cli_accounts_and_audit_with_passwords_on_stdin(cabin):
    r = cabin("user", "add", "li", "--role", "clerk", stdin=f"{PW}\n")
    assert_refused(r, "first account must be an admin")
    r = cabin("user", "add", "root", "--role", "admin", "--json", stdin=f"{PW}\n")
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert (out["name"], out["role"], out["added_by"]) == ("root", "admin", None)

    assert_refused(cabin("user", "add", "li", "--role", "clerk", stdin=f"{PW}\n"), "--as ADMIN")
    # line 1: the admin's password, line 2: the new account's (CRLF line ends are fine too)
    r = cabin("user", "add", "li", "--role", "clerk", "--as", "root", "--json", stdin=f"{PW}\r\nclerk pass 1\r\n")
    assert r.returncode == 0 and json.loads(r.stdout)["added_by"] == "root", r
    assert_refused(cabin("user", "add", "wang", "--role", "clerk", "--as", "root", stdin="wrong pw\nxxxxxxxxx\n"), SIGN_IN_REFUSED)
    assert_refused(cabin("user", "add", "wang", "--role", "clerk", "--as", "root", stdin=f"{PW}\n"),
                   "standard input ended before line 2")
    assert_refused(cabin("user", "add", "wang", "--role", "clerk", "--as", "li", stdin="clerk pass 1\nxxxxxxxxx\n"),
                   "only an admin")
    r = cabin("user", "add", "wang", "--role", "boss", "--as", "root", stdin="")
    assert r.returncode == 2

    # own password: line 1 the current one, line 2 the new one
    r = cabin("user", "passwd", "li", "--json", stdin="clerk pass 1\nclerk pass 2\n")
    assert r.returncode == 0 and json.loads(r.stdout) == {"name": "li", "changed": True, "by": "li"}, r
    # an admin's reset: line 1 the admin's password, line 2 the new one
    r = cabin("user", "passwd", "li", "--as", "root", stdin=f"{PW}\nclerk pass 3\n")
    assert r.returncode == 0 and "changed by root" in r.stdout, r
    r = cabin("user", "disable", "li", "--as", "root", "--json", stdin=f"{PW}\n")
    assert r.returncode == 0 and json.loads(r.stdout)["changed"] is True, r
    assert_refused(cabin("user", "passwd", "li", stdin="clerk pass 3\nclerk pass 4\n"), SIGN_IN_REFUSED)
    assert_refused(cabin("user", "disable", "root", "--as", "root", stdin=f"{PW}\n"), "last enabled admin")

    r = cabin("user", "list", "--json", "--as", "root", stdin=f"{PW}\n")
    assert r.returncode == 0, r
    listed = {a["name"]: (a["role"], a["disabled"]) for a in json.loads(r.stdout)["accounts"]}
    assert listed == {"li": ("clerk", True), "root": ("admin", False)}
    assert "disabled" in cabin("user", "list", "--as", "root", stdin=f"{PW}\n").stdout

    r = cabin("audit", "show", "--json", "--actor", "root", "--limit", "3", "--as", "root", stdin=f"{PW}\n")
    shown = json.loads(r.stdout)["entries"]
    assert r.returncode == 0 and len(shown) == 3 and {e["actor"] for e in shown} == {"root"}, r
    assert shown[-1]["action"] == "login"  # the reader's own sign-in, audited before the log is read
    assert "account.disable" in cabin("audit", "show", "--as", "root", stdin=f"{PW}\n").stdout
    # the log is for an admin's or a supervisor's eyes: nobody, or a clerk, is refused
    assert_refused(cabin("audit", "show"), "shown to an admin or a supervisor")
    assert_refused(cabin("audit", "show", "--as", "nobody", stdin=f"{PW}\n"), SIGN_IN_REFUSED)

    r = cabin("audit", "verify", "--json")
    assert r.returncode == 0 and r.stderr == "", r
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["entries"] > 5 and len(report["head"]) == 64

    # someone with the file and the sqlite3 shell alters entry 3
    conn = sqlite3.connect(cabin.db)
    conn.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET subject = 'someone' WHERE id = 3;")
    conn.close()
    r = cabin("audit", "verify", "--json")
    assert_refused(r, "broken at entry 3")
    report = json.loads(r.stdout)
    assert (report["ok"], report["first_bad_id"]) == (False, 3) and "altered" in report["reason"]
    r = cabin("audit", "verify")
    assert_refused(r, "broken at entry 3")
    assert "broken at entry 3" in r.stdout


def test_every_failed_sign_in_says_the_same_on_the_command_line(cabin):
    """Exact stderr and exact JSON, byte for byte, whatever the cause; the cause in the audit log."""
    cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n")
    for name in ("li", "gone", "stuck"):
        assert cabin("user", "add", name, "--role", "clerk", "--as", "root", stdin=f"{PW}\n{PW}\n").returncode == 0
    assert cabin("user", "disable", "gone", "--as", "root", stdin=f"{PW}\n").returncode == 0
    for _ in range(LOCKOUT_FAILURES):  # the fifth locks stuck
        r = cabin("user", "passwd", "stuck", stdin="guess1234\nnew password 1\n")
    locking = r

    def attempt(name: str, password: str, json_out: bool) -> tuple[int, str, str]:
        r = cabin("user", "passwd", name, *(["--json"] if json_out else []), stdin=f"{password}\nnew password 1\n")
        return r.returncode, r.stdout, r.stderr

    for json_out in (False, True):
        answers = {why: attempt(name, password, json_out) for why, name, password in [
            ("unknown name", "nobody", PW), ("wrong password", "li", "guess1234"),
            ("locked", "stuck", PW), ("disabled", "gone", PW)]}
        assert len(set(answers.values())) == 1, answers
        code, out, err = answers["unknown name"]
        assert code == 1 and err == f"cabin: {SIGN_IN_REFUSED}\n"
        assert out == "" if not json_out else json.loads(out)["error"] == SIGN_IN_REFUSED
    assert (locking.returncode, locking.stderr) == (1, f"cabin: {SIGN_IN_REFUSED}\n")
    shown = json.loads(cabin("audit", "show", "--json", "--limit", "200", "--as", "root", stdin=f"{PW}\n").stdout)["entries"]
    causes = {(e["subject"], (e["detail"] or {}).get("reason")) for e in shown if e["action"] == "login.failed"}
    assert {("nobody", "unknown name"), ("li", "wrong password"), ("stuck", "locked"), ("gone", "disabled")} <= causes
    assert ("account.locked", "stuck") in {(e["action"], e["subject"]) for e in shown}
    # an admin still sees why: the states are in `user list`
    listed = json.loads(cabin("user", "list", "--json", "--as", "root", stdin=f"{PW}\n").stdout)["accounts"]
    states = {a["name"]: (a["disabled"], a["locked"]) for a in listed}
    assert states["gone"] == (True, False) and states["stuck"] == (False, True) and states["li"] == (False, False)


def test_user_list_needs_a_signed_in_admin(cabin):
    r = cabin("user", "list", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"accounts": []}, r  # nothing to hide yet
    cabin("user", "add", "root", "--role", "admin", stdin=f"{PW}\n")
    cabin("user", "add", "li", "--role", "clerk", "--as", "root", stdin=f"{PW}\nclerk pass 1\n")
    for args, stdin, words in [((), "", "--as ADMIN"), (("--as", "root"), "wrong pw\n", SIGN_IN_REFUSED),
                               (("--as", "li"), "clerk pass 1\n", "only an admin"),
                               (("--as", "nobody"), f"{PW}\n", SIGN_IN_REFUSED)]:
        r = cabin("user", "list", *args, stdin=stdin)
        assert_refused(r, words)
        assert "root" not in r.stdout and r.stdout == ""
        r = cabin("user", "list", "--json", *args, stdin=stdin)
        assert r.returncode == 1 and "accounts" not in json.loads(r.stdout), r
    r = cabin("user", "list", "--as", "root", stdin=f"{PW}\n")
    assert r.returncode == 0 and "li" in r.stdout and "root" in r.stdout, r
