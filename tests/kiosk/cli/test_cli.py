"""The CLI contract of issue 2: in this process through `cabin.kiosk.cli.app.main` (tests/clikit.py),
and through the real `cabin` console script where the process is the point (the entry point's
own exit codes and output, dropped privileges).

`--json` prints exactly one JSON object; exit codes are 0 done, 1 refused (one line on stderr
starting "cabin: ", no traceback, nothing changed), 2 usage, 3 nothing to call. "Nothing
changed" is checked by dumping the station's tables before and after the refused command (or,
for a file Cabin must not touch, its bytes).

Every run gets its own database (CABIN_DB), data dir (XDG_DATA_HOME) and a 300 ms busy
timeout (CABIN_BUSY_TIMEOUT_MS) so the locked-database case does not wait the default 10 s.
The CLI runs on the real clock: all of a test's commands fall in the same station day unless
a test straddles local midnight in Asia/Shanghai.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clikit import (DEFAULT_CONFIG, UNPRIVILEGED, Cli, Run, assert_refused, base_env, copy_station, dump, one_json,
                    prepare, refusal_problems, run_all, run_cli)


ISSUE_KEYS = {"ticket", "ticket_id", "services", "ahead", "estimated_wait_min"}
CALL_KEYS = {"ticket", "ticket_id", "request_id", "service", "window"}


# -- the station every refusal is tried against ------------------------------------------
#
# windows 1, 2, 3 open, 4 closed (4 serves traffic only);
# A001 id.temporary + ee.passport: being served at window 2;
# A002 id.found_card: no-show at window 3 (can be reactivated);
# A003 id.apply: called at window 3;
# A004 id.loss_report: cancelled;
# B001 ee.hkmo_endorse: waiting. Window 1 has nobody.
SETUP = [
    ("window", "open", "1"), ("window", "open", "2"), ("window", "open", "3"),
    ("ticket", "issue", "id.temporary", "ee.passport"),
    ("ticket", "issue", "id.found_card"),
    ("ticket", "issue", "id.apply"),
    ("ticket", "issue", "ee.hkmo_endorse"),
    ("ticket", "issue", "id.loss_report"), ("cancel", "A004"),
    ("call", "--window", "2"), ("start", "--window", "2"),
    ("call", "--window", "3"), ("no-show", "--window", "3"),
    ("call", "--window", "3"),
]

# One valid use of every command against that station: each succeeds on a fresh copy
# (test_every_command_works_on_the_station), so when it is refused below, the database or the
# config is the reason.
WRITES = [
    ("ticket", "issue", "id.apply"),
    ("call", "--window", "1"),
    ("recall", "--window", "3"),
    ("no-show", "--window", "3"),
    ("start", "--window", "3"),
    ("complete", "--window", "2"),
    ("transfer", "--window", "2", "--to-service", "id.apply"),
    ("transfer", "--window", "3", "--to-window", "1"),
    ("cancel", "B001"),
    ("reactivate", "A002"),
    ("window", "open", "4"),
    ("window", "pause", "1"),
    ("window", "close", "1"),
]
READS = [
    ("queue",),
    ("ticket", "show", "A001"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("template") / "cabin.sqlite"
    prepare(db, SETUP)
    assert not Path(f"{db}-wal").exists(), "the last connection should have checkpointed the WAL"
    return db


@pytest.fixture
def cli(tmp_path, template) -> Cli:
    """A fresh copy of the template station."""
    copy_station(template, tmp_path / "cabin.sqlite")
    return Cli(tmp_path)


@pytest.fixture
def fresh(tmp_path) -> Cli:
    """An empty station."""
    return Cli(tmp_path)


def check_all_refused(runs: list[Run], *needles: str) -> None:
    """Each run is a proper refusal; `doctor` also prints its report on stdout."""
    bad = [f"{' '.join(r.argv)}: {'; '.join(p)}\n{r}" for r in runs
           if (p := refusal_problems(r, *needles, quiet_stdout=r.argv[0] != "doctor"))]
    assert not bad, "\n\n".join(bad)


# -- the template itself -----------------------------------------------------------------
def test_template_station_is_as_described(cli):
    q = cli.json("queue")
    assert {w["window"]: w["state"] for w in q["windows"]} == {1: "open", 2: "open", 3: "open", 4: "closed"}
    current = {w["window"]: w["current"] and (w["current"]["ticket"], w["current"]["state"]) for w in q["windows"]}
    assert current == {1: None, 2: ("A001", "serving"), 3: ("A003", "called"), 4: None}
    assert q["waiting"] == {"ee.hkmo_endorse": 1}
    assert [e["state"] for e in cli.json("ticket", "show", "A002")["errands"]] == ["no_show"]
    assert [e["state"] for e in cli.json("ticket", "show", "A004")["errands"]] == ["cancelled"]


def test_every_command_works_on_the_station(tmp_path, template):
    """The control for the refusals below."""
    for i, argv in enumerate(WRITES + READS):
        db = tmp_path / f"{i}.sqlite"
        copy_station(template, db)
        before = dump(db)
        r = run_cli(["--db", str(db), "--config", str(DEFAULT_CONFIG), "--json", *argv])
        assert r.code == 0 and r.err == "", (argv, r.code, r.err)
        assert isinstance(json.loads(r.out), dict)
        assert (dump(db) == before) == (argv in READS), argv


# -- --json: exactly one object with the issue's keys ------------------------------------
def test_ticket_issue_json(fresh):
    first = fresh.json("ticket", "issue", "id.temporary", "ee.passport")
    assert ISSUE_KEYS <= first.keys()
    assert first["ticket"] == "A001"
    assert isinstance(first["ticket_id"], int)
    assert first["services"] == ["id.temporary", "ee.passport"]
    assert first["ahead"] == 0
    assert isinstance(first["estimated_wait_min"], float) and first["estimated_wait_min"] >= 0
    second = fresh.json("ticket", "issue", "id.temporary", "--priority", "priority")
    assert second["ticket"] == "A002" and second["ticket_id"] != first["ticket_id"]
    assert isinstance(second["ahead"], int) and second["ahead"] >= 0
    # the prefix is the first errand's category's
    assert fresh.json("ticket", "issue", "ee.passport", "id.apply")["ticket"] == "B001"
    assert fresh.json("ticket", "issue", "tr.violation")["ticket"] == "C001"
    # without --json: one human line, not JSON
    r = fresh.ok("ticket", "issue", "id.apply")
    assert "A003" in r.out and not r.out.lstrip().startswith("{")


def test_call_json(fresh):
    fresh.prepare(("ticket", "issue", "id.temporary"), ("window", "open", "2"))
    call = fresh.json("call", "--window", "2")
    assert set(call) == CALL_KEYS
    assert call["ticket"] == "A001" and call["ticket_id"] == 1
    assert call["service"] == "id.temporary" and call["window"] == 2
    assert isinstance(call["request_id"], int)


def test_complete_continues_at_the_same_window(fresh):
    fresh.prepare(("ticket", "issue", "id.temporary", "id.apply"), ("window", "open", "2"))
    call = fresh.json("call", "--window", "2")
    done = fresh.json("complete", "--window", "2")
    assert done["completed"] == call["request_id"]
    cont = done["continued"]
    assert set(cont) == CALL_KEYS
    assert (cont["ticket"], cont["ticket_id"], cont["service"], cont["window"]) == ("A001", call["ticket_id"], "id.apply", 2)
    assert cont["request_id"] != call["request_id"]
    last = fresh.json("complete", "--window", "2")
    assert last == {**last, "completed": cont["request_id"], "continued": None}
    shown = fresh.json("ticket", "show", "A001")
    assert shown["state"] == "closed"
    assert [(e["service"], e["state"]) for e in shown["errands"]] == [("id.temporary", "done"), ("id.apply", "done")]


def test_complete_without_continuation_queues_the_next_errand(fresh):
    fresh.prepare(("ticket", "issue", "id.temporary", "ee.passport"), ("window", "open", "2"))
    fresh.json("call", "--window", "2")
    done = fresh.json("complete", "--window", "2")
    assert done["continued"] is None  # window 2 does not serve ee.passport
    errands = fresh.json("ticket", "show", "A001")["errands"]
    assert [(e["position"], e["service"], e["state"]) for e in errands] == [
        (1, "id.temporary", "done"), (2, "ee.passport", "waiting")]
    assert fresh.json("queue")["waiting"] == {"ee.passport": 1}


def test_queue_json(cli):
    q = cli.json("queue")
    assert {"day", "waiting", "windows"} <= q.keys()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", q["day"])
    assert q["day"] == cli.json("ticket", "show", "A001")["day"]
    assert q["waiting"] == {"ee.hkmo_endorse": 1}
    assert all(isinstance(n, int) for n in q["waiting"].values())
    assert [w["window"] for w in q["windows"]] == [1, 2, 3, 4]
    for w in q["windows"]:
        assert {"window", "state", "services", "current"} <= w.keys()
        assert w["state"] in ("open", "paused", "closed")
        assert isinstance(w["services"], list) and w["services"]
    assert len(q["windows"][0]["services"]) == 13
    current = q["windows"][1]["current"]
    assert CALL_KEYS <= current.keys()
    assert {k: current[k] for k in ("ticket", "service", "window")} == {"ticket": "A001", "service": "id.temporary", "window": 2}
    assert q["windows"][0]["current"] is None


def test_ticket_show_json(cli):
    t = cli.json("ticket", "show", "A001")
    assert t["ticket"] == "A001"
    assert [(e["position"], e["service"], e["state"], e["window"]) for e in t["errands"]] == [
        (1, "id.temporary", "serving", 2), (2, "ee.passport", "pending", None)]
    by_id = cli.json("ticket", "show", str(t["ticket_id"]))
    assert by_id["ticket"] == "A001"
    assert cli.json("ticket", "show", "a001")["ticket"] == "A001"  # typed in lower case


def test_window_operations_json(cli):
    for argv, expected in [
        (("recall", "--window", "3"), {"ticket": "A003", "window": 3, "recalls": 1, "no_show": False}),
        (("start", "--window", "3"), {"ticket": "A003", "window": 3}),
        (("transfer", "--window", "3", "--to-window", "1"), {"ticket": "A003", "to_window": 1}),
        (("call", "--window", "1"), {"ticket": "A003", "window": 1}),  # the transfer kept its place
        (("no-show", "--window", "1"), {"ticket": "A003", "no_show": True}),
        (("reactivate", "A003"), {"ticket": "A003"}),
        (("cancel", "A003"), {"ticket": "A003"}),
        (("window", "pause", "3"), {"window": 3, "state": "paused", "changed": True}),
        (("window", "pause", "3"), {"window": 3, "state": "paused", "changed": False}),
        (("window", "close", "3"), {"window": 3, "state": "closed"}),
        (("window", "open", "3"), {"window": 3, "state": "open"}),
    ]:
        result = cli.json(*argv)
        assert result == {**result, **expected}, argv


def test_recall_past_the_limit_is_a_no_show(cli):
    for n in (1, 2, 3):
        assert cli.json("recall", "--window", "3")["recalls"] == n
    last = cli.json("recall", "--window", "3")
    assert last["no_show"] is True
    assert [e["state"] for e in cli.json("ticket", "show", "A003")["errands"]] == ["no_show"]


def test_no_command_prints_the_index(fresh):
    r = fresh.ok()
    for command in ("ticket", "call", "recall", "no-show", "start", "complete", "transfer", "cancel",
                    "reactivate", "window", "queue", "config", "doctor"):
        assert command in r.out
    assert not fresh.db.exists()


def test_the_installed_script_keeps_the_contract(fresh):
    """The console script as scripts and button boxes run it: a real process's exit codes 0, 1,
    2 and 3, one JSON object on stdout, one line on stderr."""
    issued = fresh("ticket", "issue", "id.apply", "--json", process=True)
    assert issued.code == 0 and issued.err == "", issued
    assert one_json(issued)["ticket"] == "A001"
    assert_refused(fresh("call", "--window", "9", process=True), "no window 9")
    assert fresh("window", "open", "4", process=True).code == 0
    nothing = fresh("call", "--window", "4", "--json", process=True)
    assert_refused(nothing, "window 4", code=3, quiet_stdout=False)
    assert one_json(nothing)["exit"] == 3
    usage = fresh("frobnicate", process=True)
    assert usage.code == 2 and "usage:" in usage.err and usage.out == "", usage


def test_an_in_process_run_sees_only_its_own_environment_and_leaves_this_process_as_it_was(tmp_path, monkeypatch):
    """tests/clikit.py's run_cli, on which the in-process tests rely: a CABIN_* variable of this
    process is not seen by the run, and the environment, folder and streams are put back."""
    monkeypatch.setenv("CABIN_CONFIG", str(tmp_path / "nowhere.toml"))
    before = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
    r = run_cli(["--json", "queue"], env=base_env(tmp_path / "cabin.sqlite", tmp_path / "xdg"), cwd=tmp_path)
    assert r.code == 0 and r.err == "", r
    assert one_json(r)["waiting"] == {}
    assert (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr) == before
    assert run_cli(["--json", "queue"]).code == 1  # this process's CABIN_CONFIG, when no env is given


# -- exit codes 2 (usage) and 3 (nothing to call) -----------------------------------------
USAGE_ERRORS = [
    ("frobnicate",),
    ("ticket",),
    ("ticket", "issue"),
    ("ticket", "issue", "id.apply", "--channel", "fax"),
    ("ticket", "show"),
    ("call",),
    ("call", "--window", "two"),
    ("complete", "--window"),
    ("transfer", "--window", "2"),
    ("transfer", "--window", "2", "--to-window", "3", "--to-service", "id.apply"),
    ("cancel",),
    ("window", "explode", "1"),
    ("window", "open", "one"),
    ("queue", "--bogus"),
]


def test_usage_errors_exit_2_and_touch_nothing(fresh):
    runs = run_all(fresh, [(*argv, "--json") for argv in USAGE_ERRORS])

    def one_json_error(out: str) -> bool:  # --json: even a usage error is one JSON object
        try:
            obj = json.loads(out)
        except ValueError:
            return False
        return out.count("\n") == 1 and obj["exit"] == 2 and obj["error"]

    bad = [str(r) for r in runs
           if r.code != 2 or "usage:" not in r.err or "Traceback" in r.err or not one_json_error(r.out)]
    assert not bad, "\n\n".join(bad)
    plain = run_all(fresh, [USAGE_ERRORS[0], USAGE_ERRORS[-1]])
    assert all(r.code == 2 and not r.out for r in plain)
    assert not fresh.db.exists(), "a usage error must not even create the database"


def test_nothing_to_call_exits_3_and_changes_nothing(fresh):
    fresh.prepare(("window", "open", "4"), ("ticket", "issue", "id.apply"))  # waiting, but not for window 4
    before = fresh.dump()
    r = fresh("call", "--window", "4")
    assert_refused(r, "window 4", code=3)
    r = fresh("call", "--window", "4", "--json")
    assert_refused(r, code=3, quiet_stdout=False)
    assert one_json(r) == {"error": r.err.strip().removeprefix("cabin: "), "exit": 3}
    assert fresh.dump() == before


# -- exit 1: bad input on every command ---------------------------------------------------
REFUSALS = [
    # ticket issue
    (("ticket", "issue", "nope.service"), 'unknown service "nope.service"'),
    (("ticket", "issue", "id.apply", "passport"), 'unknown service "passport"'),
    (("ticket", "issue", "id.temporary", "id.apply", "id.cross_region", "id.loss_report", "id.found_card",
      "ee.passport"), "at most 5"),
    (("ticket", "issue", "id.apply", "id.apply"), "twice"),
    (("ticket", "issue", "id.apply", "--priority", "vip"), 'unknown priority class "vip"'),
    # ticket show
    (("ticket", "show", "Z999"), "Z999"),
    (("ticket", "show", "999"), "999"),
    # call
    (("call", "--window", "9"), "no window 9"),
    (("call", "--window", "0"), "no window 0"),
    (("call", "--window", "-1"), "no window -1"),
    (("call", "--window", "4"), "window 4 is closed"),
    (("call", "--window", "2"), "A001"),
    # complete / start / recall / no-show with nobody at the window, at an unknown window,
    # or in the wrong state
    (("complete", "--window", "1"), "window 1 has nobody"),
    (("start", "--window", "1"), "window 1 has nobody"),
    (("recall", "--window", "1"), "window 1 has nobody"),
    (("no-show", "--window", "1"), "window 1 has nobody"),
    (("complete", "--window", "4"), "window 4 has nobody"),
    (("complete", "--window", "9"), "no window 9"),
    (("start", "--window", "9"), "no window 9"),
    (("recall", "--window", "9"), "no window 9"),
    (("no-show", "--window", "9"), "no window 9"),
    (("start", "--window", "2"), "A001"),
    (("recall", "--window", "2"), "A001"),
    (("no-show", "--window", "2"), "A001"),
    # transfer
    (("transfer", "--window", "2", "--to-window", "4"), "window 4 does not serve"),
    (("transfer", "--window", "3", "--to-window", "4"), "window 4 does not serve"),
    (("transfer", "--window", "2", "--to-window", "3"), "window 3 does not serve"),
    (("transfer", "--window", "2", "--to-window", "9"), "no window 9"),
    (("transfer", "--window", "2", "--to-window", "2"), "already at window 2"),
    (("transfer", "--window", "2", "--to-service", "nope.service"), 'unknown service "nope.service"'),
    (("transfer", "--window", "2", "--to-service", "id.temporary"), "already"),
    (("transfer", "--window", "1", "--to-window", "2"), "window 1 has nobody"),
    (("transfer", "--window", "9", "--to-window", "2"), "no window 9"),
    # cancel / reactivate
    (("cancel", "Z999"), "Z999"),
    (("cancel", "999"), "999"),
    (("cancel", "A004"), "A004"),       # already cancelled
    (("reactivate", "Z999"), "Z999"),
    (("reactivate", "999"), "999"),
    (("reactivate", "B001"), "B001"),   # waiting, not a no-show
    (("reactivate", "A001"), "A001"),   # being served
    (("reactivate", "A004"), "A004"),   # cancelled, not a no-show
    # windows
    (("window", "open", "9"), "no window 9"),
    (("window", "pause", "9"), "no window 9"),
    (("window", "close", "9"), "no window 9"),
    (("window", "close", "2"), "A001"),  # serving: complete or transfer first
    (("window", "pause", "2"), "A001"),
]


GROUPS = {
    "ticket issue": lambda a: a[:2] == ("ticket", "issue"),
    "ticket show": lambda a: a[:2] == ("ticket", "show"),
    "call": lambda a: a[0] == "call",
    "complete start recall no-show": lambda a: a[0] in ("complete", "start", "recall", "no-show"),
    "transfer": lambda a: a[0] == "transfer",
    "cancel reactivate": lambda a: a[0] in ("cancel", "reactivate"),
    "window": lambda a: a[0] == "window",
}


def test_refusals_cover_every_command():
    assert all(any(f(a) for f in GROUPS.values()) for a, _ in REFUSALS)


@pytest.mark.parametrize("group", GROUPS)
def test_bad_input_is_refused_and_changes_nothing(cli, group):
    cases = [(a, needle) for a, needle in REFUSALS if GROUPS[group](a)]
    before = cli.dump()
    runs = run_all(cli, [a for a, _ in cases])
    bad = [f"{'; '.join(p)}\n{r}" for r, (_, needle) in zip(runs, cases) if (p := refusal_problems(r, needle))]
    assert not bad, "\n\n".join(bad)
    assert cli.dump() == before


@pytest.mark.parametrize("argv", [a for a, _ in REFUSALS[::12]], ids=" ".join)
def test_a_refusal_with_json_prints_one_error_object(cli, argv):
    before = cli.dump()
    r = cli(*argv, "--json")
    line = assert_refused(r, quiet_stdout=False)
    assert one_json(r) == {"error": line.removeprefix("cabin: "), "exit": 1}
    assert cli.dump() == before


# -- exit 1: a database Cabin cannot use --------------------------------------------------
def test_locked_database_refuses_writes_and_serves_reads(cli):
    before = cli.dump()
    holder = sqlite3.connect(cli.db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        # every write waits out the busy timeout in turn: one of each kind of operation
        writes = run_all(cli, [WRITES[i] for i in (0, 1, 2, 5, 6, 8, 9, 10)])
        reads = run_all(cli, READS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    check_all_refused(writes, "busy", str(cli.db), "0.3 s")
    for r in reads:  # WAL: readers are not blocked by a writer
        assert r.code == 0 and r.err == "", r
    assert cli.dump() == before


def test_busy_timeout_variable_is_checked(cli):
    before = cli.dump()
    r = cli("queue", env={"CABIN_BUSY_TIMEOUT_MS": "soon"})
    assert_refused(r, "CABIN_BUSY_TIMEOUT_MS")
    assert cli.dump() == before


def make_read_only(cli: Cli) -> None:
    folder = cli.db.parent
    for path in folder.iterdir():
        if path.name.startswith(cli.db.name):
            path.chmod(0o444)
    folder.chmod(0o555)
    probe = subprocess.run(
        [*UNPRIVILEGED, sys.executable, "-c", "import sys; open(sys.argv[1], 'ab')", str(cli.db)],
        capture_output=True, text=True)
    if probe.returncode == 0 or "PermissionError" not in probe.stderr:
        restore(cli)
        why = probe.stderr.strip().splitlines()[-1:] or ["the file stayed writable"]
        pytest.skip(f"cannot make a file unwritable for this user here (uid {os.geteuid()}): {why[0]}")


def restore(cli: Cli) -> None:
    cli.db.parent.chmod(0o755)
    for path in cli.db.parent.iterdir():
        if path.name.startswith(cli.db.name):
            path.chmod(0o644)


def test_unwritable_database_is_refused(tmp_path, template):
    cli = Cli(tmp_path, tmp_path / "ro" / "cabin.sqlite")
    cli.db.parent.mkdir()
    copy_station(template, cli.db)
    before = cli.dump()
    raw = cli.db.read_bytes()
    make_read_only(cli)
    try:
        writes = run_all(cli, [WRITES[i] for i in (0, 1, 5, 8, 10)], prefix=UNPRIVILEGED)
        reads = run_all(cli, READS, prefix=UNPRIVILEGED)
    finally:
        restore(cli)
    check_all_refused(writes, "read-only", str(cli.db))
    for r in reads:  # a read may work or be refused, but never crash
        assert r.code == 0 or not refusal_problems(r), r
    assert cli.db.read_bytes() == raw
    assert cli.dump() == before


@pytest.mark.parametrize("where", ["a folder", "under a file", "under /proc/version"])
def test_unusable_database_path_is_refused(tmp_path, where):
    cli = Cli(tmp_path)
    if where == "a folder":
        cli.db.mkdir()
    elif where == "under a file":
        (tmp_path / "plain").write_text("x")
        cli.db = tmp_path / "plain" / "cabin.sqlite"
    else:
        cli.db = Path("/proc/version/cabin.sqlite")
    cli.env["CABIN_DB"] = str(cli.db)
    check_all_refused(run_all(cli, [WRITES[0], READS[0]]), str(cli.db))


def corrupt_files(template: Path) -> dict[str, bytes]:
    good = template.read_bytes()
    rnd = random.Random(2)
    noise = lambda n: bytes(rnd.randrange(256) for _ in range(n))  # noqa: E731
    return {
        "random bytes": noise(len(good)),
        "a Cabin header, random pages": good[:100] + noise(len(good) - 100),
        "page 2 overwritten": good[:4096] + noise(4096) + good[8192:],
        "cut in half": good[: len(good) // 2],
    }


@pytest.mark.parametrize("kind", ["random bytes", "a Cabin header, random pages", "page 2 overwritten", "cut in half"])
def test_corrupt_database_is_refused(tmp_path, template, kind):
    cli = Cli(tmp_path)
    raw = corrupt_files(template)[kind]
    cli.db.write_bytes(raw)
    cli.db.chmod(0o600)  # as Cabin made it: the damage is what is refused, not the mode
    commands = WRITES + READS if kind == "random bytes" else [WRITES[0], READS[0]]
    check_all_refused(run_all(cli, commands), str(cli.db), "damaged")
    assert cli.db.read_bytes() == raw


def test_another_programs_database_is_refused_untouched(tmp_path):
    cli = Cli(tmp_path)
    conn = sqlite3.connect(cli.db)
    conn.execute("CREATE TABLE tickets (concert TEXT, seat INTEGER)")
    conn.execute("INSERT INTO tickets VALUES ('opera', 12)")
    conn.commit()
    conn.close()
    raw = cli.db.read_bytes()
    check_all_refused(run_all(cli, [WRITES[0], READS[0], ("doctor",)]), str(cli.db), "not a Cabin database")
    assert cli.db.read_bytes() == raw


def test_doctor_refuses_a_corrupt_database_with_one_line(tmp_path, template):
    cli = Cli(tmp_path)
    cli.db.write_bytes(corrupt_files(template)["random bytes"])
    r = cli("doctor", "--json")
    assert_refused(r, "damaged", quiet_stdout=False)
    report = one_json(r)
    assert report["ok"] is False and "damaged" in report["database_error"]


# -- exit 1: a broken config --------------------------------------------------------------
def broken_config(folder: Path) -> Path:
    from cabin.config import default_config_path

    text = default_config_path().read_text(encoding="utf-8")
    assert text.count('services = ["id.apply",') == 1
    path = folder / "broken.toml"
    path.write_text(text.replace('services = ["id.apply",', 'services = ["id.tmp",'), encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["--config", "CABIN_CONFIG"])
def test_broken_config_is_refused_by_every_command(cli, how):
    bad = broken_config(cli.folder)
    before = cli.dump()
    commands = WRITES + READS + [("config", "check"), ("doctor",)]
    if how == "--config":
        runs = run_all(cli, [(*argv, "--config", bad) for argv in commands])
    else:
        runs = run_all(cli, [WRITES[0], READS[0], ("config", "check")], env={"CABIN_CONFIG": str(bad)})
    expected = f'{bad}: windows[2].services: unknown service "id.tmp" (window 3)'
    check_all_refused(runs, expected)
    assert cli.dump() == before


def test_missing_config_is_refused(cli):
    before = cli.dump()
    missing = cli.folder / "nowhere.toml"
    check_all_refused(run_all(cli, [("ticket", "issue", "id.apply", "--config", missing),
                                    ("call", "--window", "1", "--config", missing)]),
                      str(missing), "no such configuration file")
    assert cli.dump() == before


def test_options_work_before_and_after_the_command(fresh, tmp_path):
    other = tmp_path / "other.sqlite"
    fresh.prepare(("ticket", "issue", "id.apply"))
    for argv in (("--json", "--db", other, "queue"), ("queue", "--json", "--db", other),
                 ("--json", "queue", "--db", other), ("--db", other, "queue", "--json")):
        r = fresh(*argv)
        assert r.code == 0 and r.err == "", r
        assert one_json(r)["waiting"] == {}, r  # --db wins over CABIN_DB, which has A001 waiting
    assert one_json(fresh("--json", "queue"))["waiting"] == {"id.apply": 1}
