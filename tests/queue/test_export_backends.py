"""The daily export of a day is the same, file for file and byte for byte, whether the station's
database is an SQLite file or a PostgreSQL server: the same day is built on each (the real engine,
accounts and audit log, tests/queue/test_export_day.py's hand-computed day) and exported through
`cabin export`."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from test_export_day import DAY, build_day

from tests.clikit import run_cli


def exported(db, out: Path, data: Path) -> dict[str, bytes]:
    r = run_cli(["--db", db, "export", "--day", DAY, "--with-events", "--format", "all", "--out", out],
                env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def workbook(data: bytes) -> dict[str, bytes]:
    """An XLSX's parts but its creation time (docProps/core.xml: when the file was made)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}


def test_the_days_export_is_identical_from_sqlite_and_from_postgresql(tmp_path, config, pg_url):
    data = tmp_path / "xdg"
    data.mkdir(mode=0o700)
    files = {}
    for name, db in (("sqlite", tmp_path / "station.sqlite"), ("postgresql", pg_url)):
        build_day(db, config, services=False).close()
        files[name] = exported(db, tmp_path / name, data)
    assert list(files["sqlite"]) == list(files["postgresql"])
    assert len(files["sqlite"]) >= 8  # the JSON, the workbook, the breakdowns' CSVs and the events
    for file, sqlite_bytes in files["sqlite"].items():
        pg_bytes = files["postgresql"][file]
        if file.endswith(".xlsx"):
            assert workbook(pg_bytes) == workbook(sqlite_bytes), file
        else:
            assert pg_bytes == sqlite_bytes, file
    summary = files["sqlite"][f"350206001_{DAY}.json"]
    assert b'"tickets_issued": 5' in summary and b'"temp_cards_printed": 1' in summary  # the day is in it
