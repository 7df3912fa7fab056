"""The station's files at rest (issue 12: points 1, 3, 4 and the read-only mount of 12).

- every file with personal data is 0600 in a 0700 folder whatever the umask, and an existing
  database, -wal, -shm or data folder that other accounts may use is refused with the chmod;
- an empty or foreign file is never taken for a station; `cabin init --replace-empty` is the one
  way to make a station in an existing (empty) file;
- a damaged database refuses writes (quick_check before a process's first write) and says to
  restore; `cabin doctor` still reports the damage;
- `cabin backup --to FILE` and `cabin restore FILE`;
- a read-only database serves reads and exports and refuses writes saying it is read-only.

Every command under test runs through the CLI's main in this process (tests/clikit.py), as the
real `cabin` script in a process where the process is the point (a umask, a read-only mount,
dropped privileges), on a real SQLite file.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from cabin.queue.errors import StoreError
from clikit import UNPRIVILEGED, Cli, Run, assert_refused, copy_station, one_json, prepare, run_all

PW = "correct horse"
A = "350206199001011239"  # a valid citizen ID number

UMASKS = ["022", "000", "077"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def with_umask(umask: str) -> tuple[str, ...]:
    return ("sh", "-c", f'umask {umask} && exec "$@"', "sh")


@pytest.fixture(scope="module")
def staffed(tmp_path_factory) -> Path:
    """A station with some history and two accounts (admin root, clerk li; password PW)."""
    folder = tmp_path_factory.mktemp("staffed")
    cli = Cli(folder)
    prepare(cli.db, [("simulate", "--day", "2026-11-23", "--citizens", "150", "--seed", "3"),
                     ("window", "open", "1"), ("ticket", "issue", "id.apply")])
    for argv, stdin in ((("user", "add", "root", "--role", "admin"), f"{PW}\n"),
                        (("user", "add", "li", "--role", "clerk", "--as", "root"), f"{PW}\n{PW}\n")):
        r = cli(*argv, stdin=stdin)
        assert r.returncode == 0, r
    Path(f"{cli.db}-lock").unlink(missing_ok=True)
    assert not Path(f"{cli.db}-wal").exists()
    return cli.db


@pytest.fixture
def station(tmp_path, staffed) -> Cli:
    cli = Cli(tmp_path)
    copy_station(staffed, cli.db)
    return cli


def signed(cli: Cli, *argv: str) -> Run:
    """A command that asks for li's password (one stdin line)."""
    return cli(*argv, stdin=f"{PW}\n")


# -- 1. modes -----------------------------------------------------------------------------
@pytest.mark.parametrize("umask", UMASKS)
def test_every_file_is_private_whatever_the_umask(tmp_path, umask):
    db = tmp_path / "new" / "deeper" / "cabin.sqlite"  # two folders Cabin makes
    cli = Cli(tmp_path, db)
    r = cli("ticket", "issue", "id.apply", prefix=with_umask(umask))
    assert r.code == 0, r
    holder = sqlite3.connect(db)  # keep the -wal and -shm while they are looked at
    try:
        holder.execute("SELECT count(*) FROM tickets").fetchone()
        r = cli("window", "open", "1", prefix=with_umask(umask))  # a second process beside an open one
        assert r.code == 0, r
        for suffix in ("", "-wal", "-shm", "-lock"):
            assert mode(Path(f"{db}{suffix}")) == 0o600, suffix
    finally:
        holder.close()
    assert mode(db.parent) == mode(db.parent.parent) == 0o700
    data = cli.data / "cabin"  # the data dir, made for the station secret
    assert mode(data) == 0o700 and mode(data / "station.secret") == 0o600


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["022", "000"])
def test_the_simulated_printers_renderings_are_private(tmp_path, umask):
    from cabin.drivers.cardprinter import SimulatedCardPrinter
    from cabin.drivers.cardprinter.driver import CardPrinter
    from cabin.drivers.simhost import PtyHost
    from cabin.drivers.ticketprinter.driver import TicketPrinter
    from cabin.drivers.ticketprinter.simulator import SimulatedTicketPrinter
    from devicekit import CONTENT, face

    previous = os.umask(umask)
    try:
        cards = SimulatedCardPrinter(out_dir=tmp_path / "cards" / "today")
        with PtyHost(cards) as host, CardPrinter(host.path, timeout=1, print_timeout=5, poll=0.02) as printer:
            printer.print_card(face(), "T-0001")
        tickets = SimulatedTicketPrinter(out_dir=tmp_path / "tickets")
        with PtyHost(tickets) as host, TicketPrinter(host.path, timeout=1) as printer:
            printer.print_ticket(CONTENT)
    finally:
        os.umask(previous)
    card, ticket = cards.printed[0].path, tickets.pngs[0]
    assert (mode(card), mode(ticket)) == (0o600, 0o600)
    assert mode(tmp_path / "cards") == mode(tmp_path / "cards" / "today") == mode(tmp_path / "tickets") == 0o700
    assert Image.open(card).size == (648, 1016) and Image.open(ticket).width == 580  # the panel is portrait


@pytest.mark.parametrize("which", ["", "-wal", "-shm"])
def test_a_database_others_can_read_is_refused_with_the_chmod(station, which):
    holder = sqlite3.connect(station.db)  # a live station: its -wal and -shm exist
    try:
        holder.execute("SELECT count(*) FROM tickets").fetchone()
        station.ok("window", "open", "2")  # frames in the -wal (SQLite itself fixes the mode of an empty one)
        path = Path(f"{station.db}{which}")
        path.chmod(0o644)
        before = station.dump()
        for r in run_all(station, [("ticket", "issue", "id.apply"), ("queue",)]):
            line = assert_refused(r, str(station.db), "mode 644", f"chmod 600 {path}")
            assert "other accounts" in line
        assert station.dump() == before
        path.chmod(0o600)
        assert station("queue").code == 0
    finally:
        holder.close()


def test_a_data_folder_others_can_use_is_refused_with_the_chmod(tmp_path):
    cli = Cli(tmp_path)
    data = cli.data / "cabin"
    data.mkdir(mode=0o700)
    data.chmod(0o755)
    assert_refused(cli("ticket", "issue", "id.apply"), f"the data folder {data}", "mode 755", f"chmod 700 {data}")
    assert not cli.db.exists()
    data.chmod(0o700)
    assert cli("ticket", "issue", "id.apply").code == 0


# -- 3 (issue): an empty or foreign file is not a station -------------------------------------
def test_an_empty_file_is_refused_and_init_makes_a_station_only_when_told(tmp_path):
    cli = Cli(tmp_path)
    cli.db.write_bytes(b"")
    cli.db.chmod(0o600)
    for r in run_all(cli, [("ticket", "issue", "id.apply"), ("queue",), ("user", "list"), ("audit", "verify"),
                           ("init",)]):
        assert_refused(r, str(cli.db), "is empty", "cabin restore", "init --replace-empty")
    assert cli.db.read_bytes() == b""
    made = cli.json("init", "--replace-empty")
    assert made["created"] is True and made["database"] == str(cli.db)
    assert mode(cli.db) == 0o600
    assert cli.json("ticket", "issue", "id.apply")["ticket"] == "A001"
    # init again: the station stands, nothing changed; --replace-empty never replaces a station
    before = cli.dump()
    assert cli.json("init")["created"] is False
    assert cli.json("init", "--replace-empty")["created"] is False
    assert cli.dump() == before


def test_an_sqlite_file_without_tables_is_not_a_station(tmp_path):
    cli = Cli(tmp_path)
    sqlite3.connect(cli.db).execute("PRAGMA user_version = 7").connection.close()  # a header, no table
    cli.db.chmod(0o600)
    raw = cli.db.read_bytes()
    assert raw and raw.startswith(b"SQLite format 3\x00")
    assert_refused(cli("ticket", "issue", "id.apply"), "is empty")
    assert cli.db.read_bytes() == raw


def test_a_missing_file_is_created_whole_by_the_first_command(tmp_path):
    cli = Cli(tmp_path)
    assert cli.json("init")["created"] is True
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left
    cli.db.unlink()
    assert cli.json("ticket", "issue", "id.apply")["ticket"] == "A001"


@pytest.mark.parametrize("content", [b"just some text\n", bytes(range(256)) * 64], ids=["text", "binary"])
def test_a_file_that_is_not_sqlite_is_refused_by_init_too(tmp_path, content):
    cli = Cli(tmp_path)
    cli.db.write_bytes(content)
    for argv in (("init",), ("init", "--replace-empty"), ("queue",)):
        assert_refused(cli(*argv), str(cli.db), "not an SQLite file")
    assert cli.db.read_bytes() == content


# -- 4 (issue): a damaged database refuses writes ---------------------------------------------
def damage(db: Path) -> bytes:
    """4 KiB of random bytes into the middle of the file, on a page boundary."""
    raw = bytearray(db.read_bytes())
    middle = (len(raw) // 2) // 4096 * 4096
    raw[middle:middle + 4096] = random.Random(12).randbytes(4096)
    db.write_bytes(bytes(raw))
    return bytes(raw)


def test_a_damaged_database_refuses_writes_and_doctor_reports_it(station):
    raw = damage(station.db)
    for r in (station("ticket", "issue", "id.apply"), station("window", "open", "2")):
        assert_refused(r, str(station.db), "damaged", "cabin restore FILE")
    r = signed(station, "loss", "report", A, "--as", "li")
    assert r.returncode == 1 and r.stdout == "", r
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("cabin: ") and "damaged" in r.stderr, r.stderr
    doctor = station("doctor", "--json")
    assert doctor.code == 1 and len(doctor.err.splitlines()) == 1, doctor
    report = one_json(doctor)
    assert report["ok"] is False
    assert report.get("integrity_check", "ok") != "ok" or "malformed" in report["database_error"], report
    assert station.db.read_bytes() == raw


# -- backup and restore ------------------------------------------------------------------
def test_backup_is_verified_private_and_made_while_others_write(station, tmp_path):
    from cabin.config import load_config
    from cabin.kiosk.station import open_store
    from cabin.queue.engine import Station

    stop = threading.Event()
    issued, failed = [], []

    def writer():
        try:
            with open_store(station.db) as store:
                st = Station(store, load_config())
                while not stop.is_set():
                    issued.append(st.issue(["id.apply"]).ticket_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failed.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(issued) < 20 and thread.is_alive():
            threading.Event().wait(0.01)
        assert not failed, failed
        target = tmp_path / "backups" / "station.sqlite"
        copies = [station.json("backup", "--to", target) for _ in range(3)]  # the 2nd and 3rd replace the 1st
    finally:
        stop.set()
        thread.join()
    assert all(c["integrity_check"] == "ok" and c["backup"] == str(target) for c in copies)
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["station.sqlite"]  # no temporary, no -wal
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets ORDER BY id")]
        orphans = conn.execute("SELECT count(*) FROM tickets t WHERE NOT EXISTS"
                               " (SELECT 1 FROM requests r WHERE r.ticket_id = t.id)").fetchone()[0]
    finally:
        conn.close()
    assert ids == list(range(1, len(ids) + 1)) and orphans == 0  # one consistent snapshot
    assert len(issued) > 20 and max(ids) <= max(issued)
    (tmp_path / "b").mkdir()
    backup = Cli(tmp_path / "b", target)
    assert backup.json("ticket", "show", str(max(ids)))["ticket_id"] == max(ids)


def test_backup_refuses_to_replace_what_is_not_a_backup(station, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    assert_refused(station("backup", "--to", notes), str(notes), "not a Cabin backup")
    assert notes.read_text() == "not a database\n"
    assert_refused(station("backup", "--to", station.db), "the station's own database")
    (tmp_path / "x").mkdir()
    missing = Cli(tmp_path / "x")
    assert_refused(missing("backup", "--to", tmp_path / "b.sqlite"), "there is no database")
    assert not missing.db.exists()


def test_restore_brings_back_the_backup_and_keeps_what_it_replaced(station, tmp_path):
    target = tmp_path / "b.sqlite"
    station.json("backup", "--to", target)
    backed_up = station.dump()
    later = station.json("ticket", "issue", "id.apply")["ticket_id"]
    reader = sqlite3.connect(station.db)  # another process's connection stays open through the restore
    try:
        reader.execute("SELECT count(*) FROM tickets").fetchone()
        result = station.json("restore", target)
        assert reader.execute("SELECT count(*) FROM tickets WHERE id = ?", (later,)).fetchone()[0] == 0
    finally:
        reader.close()
    assert station.dump() == backed_up
    saved = Path(result["saved"])
    assert saved.parent == station.db.parent and mode(saved) == 0o600
    conn = sqlite3.connect(saved)
    assert conn.execute("SELECT count(*) FROM tickets WHERE id = ?", (later,)).fetchone()[0] == 1
    conn.close()
    assert station("doctor").code == 0
    assert station.json("ticket", "issue", "id.apply")["ticket_id"] == later  # the numbering goes on from the backup


def test_the_copy_a_restore_keeps_is_stamped_in_the_stations_hours(station, tmp_path, monkeypatch):
    """A station's PC whose clock runs in UTC: the copy of what a restore replaced is named by
    the station's hour (Asia/Shanghai, UTC+8), not the host's."""
    import time
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from cabin.kiosk.station import MIGRATION_SETS
    from cabin.queue import backup

    target = tmp_path / "b.sqlite"
    station.json("backup", "--to", target)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        at = int(datetime(2026, 11, 23, 1, 30, 5, tzinfo=timezone.utc).timestamp() * 1000)
        result = backup.restore(station.db, target, MIGRATION_SETS, now_ms=at, tz=ZoneInfo("Asia/Shanghai"))
        assert Path(result["saved"]).name == f"{station.db.name}.before-restore-20261123-093005"
        hosts = backup.restore(station.db, target, MIGRATION_SETS, now_ms=at + 1000)  # no zone: the host's
        assert Path(hosts["saved"]).name == f"{station.db.name}.before-restore-20261123-013006"
    finally:
        monkeypatch.undo()  # TZ as it was, then the process's zone from it
        time.tzset()


def test_restore_repairs_a_damaged_or_empty_station(station, tmp_path):
    target = tmp_path / "b.sqlite"
    station.json("backup", "--to", target)
    backed_up = station.dump()
    damaged = damage(station.db)
    assert_refused(station("ticket", "issue", "id.apply"), "damaged")
    result = station.json("restore", target)
    saved = Path(result["saved"])  # the damaged station as it was, pages and all, for whoever looks into it
    assert station.dump() == backed_up and mode(saved) == 0o600 and saved.stat().st_size == len(damaged)
    station.db.write_bytes(random.Random(1).randbytes(8192))  # not even an SQLite header
    result = station.json("restore", target)
    assert station.dump() == backed_up and len(Path(result["saved"]).read_bytes()) == 8192
    station.db.write_bytes(b"")
    station.json("restore", target)
    assert station.dump() == backed_up
    assert station("ticket", "issue", "id.apply").code == 0


def test_restore_refuses_a_file_that_is_not_a_good_backup(station, tmp_path):
    before = station.dump()
    good = tmp_path / "b.sqlite"
    station.json("backup", "--to", good)
    bad = tmp_path / "bad.sqlite"
    shutil.copyfile(good, bad)
    damage(bad)
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    for file, words in ((bad, "not a usable backup"), (foreign, "not a Cabin database"),
                        (tmp_path / "none.sqlite", "there is no file"), (station.db, "the station's own database")):
        assert_refused(station("restore", file), str(file), words)
    assert station.dump() == before
    assert sorted(p.name for p in station.db.parent.iterdir() if "before-restore" in p.name) == []


# -- 12 (issue): a read-only database ----------------------------------------------------
READS = [("queue",), ("ticket", "show", "1"), ("audit", "verify"), ("doctor",), ("found", "list")]
WRITES = [("ticket", "issue", "id.apply"), ("window", "open", "2")]


def read_only_mount(folder: Path) -> tuple[str, ...] | None:
    """A prefix that runs a command with `folder` bind-mounted read-only over itself (a user and
    mount namespace: no root needed, and root cannot write through it either), or None."""
    if not shutil.which("unshare"):
        return None
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
    prefix = ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh")
    probe = subprocess.run([*prefix, "sh", "-c", f'touch "{folder}/probe"'], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        (folder / "probe").unlink(missing_ok=True)
        return None
    return prefix


def read_only_files(cli: Cli) -> tuple[str, ...] | None:
    """A prefix that runs a command without the capabilities that let root ignore file modes,
    after the database's folder and files are made read-only (test_cli.make_read_only's way)."""
    folder = cli.db.parent
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    probe = subprocess.run([*UNPRIVILEGED, sys.executable, "-c", "import sys; open(sys.argv[1], 'ab')", str(cli.db)],
                           capture_output=True, text=True)
    if probe.returncode == 0 or "PermissionError" not in probe.stderr:
        return None
    return UNPRIVILEGED


@pytest.mark.parametrize("how", ["read-only mount", "read-only file and folder"])
def test_a_read_only_database_serves_reads_and_exports_and_refuses_writes(tmp_path, staffed, how):
    cli = Cli(tmp_path, tmp_path / "ro" / "cabin.sqlite")
    cli.db.parent.mkdir(mode=0o700)
    copy_station(staffed, cli.db)
    before, raw = cli.dump(), cli.db.read_bytes()
    prefix = read_only_mount(cli.db.parent) if how == "read-only mount" else read_only_files(cli)
    try:
        if prefix is None:
            pytest.skip(f"{how}: cannot be set up for uid {os.geteuid()} here (no user namespaces, or the"
                        " capabilities cannot be dropped)")
        out = tmp_path / "export"
        reads = run_all(cli, [*READS, ("export", "--day", "2026-11-23", "--format", "json", "--out", out)],
                        prefix=prefix)
        writes = run_all(cli, WRITES, prefix=prefix)
        backup = cli("backup", "--to", tmp_path / "copy.sqlite", prefix=prefix)
    finally:
        cli.db.parent.chmod(0o700)
        for path in cli.db.parent.iterdir():
            path.chmod(0o600)
    for r in reads:
        assert r.code == 0 and r.err == "", r
    assert any(p.suffix == ".json" for p in out.iterdir())
    for r in writes:
        assert_refused(r, str(cli.db), "is read-only", "nothing can be written")
    assert backup.code == 0, backup  # a backup only reads the station
    assert cli.db.read_bytes() == raw and cli.dump() == before


def test_a_second_store_of_the_file_in_one_process_leaves_the_first_its_locks(tmp_path):
    """POSIX locks are the process's: had the second Store opened and closed the file (to read its
    header, to try writing it), the first Store's connection would lose the shared lock SQLite
    holds, and another process closing its last connection would take itself for the last user
    and delete the -wal and -shm from under the first — its next commits lost."""
    from cabin.kiosk.station import open_store

    db = tmp_path / "cabin.sqlite"
    first = open_store(db)
    with first.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('first', '1')")
    second = open_store(db)
    assert second.read_only is False  # the writability check did not need to open the file
    wal = Path(f"{db}-wal")
    assert wal.exists()
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                    " c.execute('SELECT count(*) FROM meta').fetchone(); c.close()", str(db)], check=True)
    assert wal.exists(), "another process took itself for the last user of the database"
    with first.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('after', '1')")
    second.close()
    first.close()
    with open_store(db) as again, again.read() as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'after'").fetchone()[0] == "1"
    # a Store closed is forgotten: the next one examines the file afresh
    db.write_bytes(b"not a database at all, 16+ bytes")
    with pytest.raises(StoreError, match="not a Cabin database|damaged"):
        open_store(db)
