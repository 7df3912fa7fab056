"""`cabin doctor`, `cabin config check`, `cabin simulate` and `cabin demo`: the station's health,
its configuration, and simulated days (cabin.queue.simulate)."""

from __future__ import annotations

import sqlite3
import sys

from cabin.config import ConfigError, describe, resolve_config_path
from cabin.queue.errors import CabinError

from cabin.kiosk import paths
from cabin.kiosk.cli.app import EXIT_OK, EXIT_REFUSED, Context, complain, emit
from cabin.kiosk.cli.args import any_integer, citizens, resolve_day


def figures_text(f: dict) -> str:
    lines = [
        f"{f['day']}: {f['tickets_issued']} tickets, {f['errands_requested']} errands",
        f"  done {f['errands_done']}, no-show {f['errands_no_show']}, cancelled {f['errands_cancelled']},"
        f" transferred {f['errands_transferred']}, expired {f['errands_expired']}, still open {f['errands_open']}",
        f"  wait p50 {f['wait_p50_min']} min, p90 {f['wait_p90_min']} min, max {f['wait_max_min']} min;"
        f" within {f['sla_target_min']} min: {f['sla_share']:.0%}",
        f"  service p50 {f['service_p50_min']} min, p90 {f['service_p90_min']} min",
        f"  tickets with 2+ errands: {f['multi_errand_tickets']}, served without queueing again:"
        f" {f['one_stop_tickets']} ({f['one_stop_share']:.0%})",
    ]
    return "\n".join(lines)


def cmd_simulate(ctx: Context) -> int:
    from cabin.queue.simulate import simulate_day

    a = ctx.args
    day = resolve_day(a.day, ctx.config, ctx.clock)
    result = simulate_day(ctx.store(durable=False), ctx.config, day, a.citizens, seed=a.seed,
                          progress=not a.json and sys.stderr.isatty())
    emit(a, result, figures_text)
    return EXIT_OK


def cmd_demo(ctx: Context) -> int:
    """`cabin demo`: a fresh demo database with the station's latest open day simulated, and its
    figures (`cabin` alone starts the demo station's faces)."""
    from cabin.queue.simulate import capacity_citizens, last_open_day, simulate_day

    db = paths.demo_db()
    for suffix in ("", "-wal", "-shm", "-lock"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    ctx.args.db = str(db)
    day = last_open_day(ctx.config, resolve_day("today", ctx.config, ctx.clock))
    citizens = ctx.args.citizens or capacity_citizens(ctx.config, day)
    result = simulate_day(ctx.store(durable=False), ctx.config, day, citizens, seed=1,
                          progress=not ctx.args.json and sys.stderr.isatty())
    result["database"] = str(db)

    def text(r: dict) -> str:
        return (f"Demo station: {ctx.config.station.name}\nDatabase: {db}\n\n{figures_text(r)}\n\n"
                f"Try: .venv/bin/cabin --db {db} ticket show 1\n"
                f"     .venv/bin/cabin --db {db} doctor")

    emit(ctx.args, result, text)
    return EXIT_OK


def cmd_config_check(ctx: Context) -> int:
    config = ctx.config
    result = describe(config)
    if ctx.args.services:
        result["catalogue"] = [
            {"code": s.code, "category": s.category, "name": s.name, "name_en": s.name_en,
             "windows": config.windows_serving(s.code), "documents": list(s.documents),
             "fees": {option or "fee": yuan for option, yuan in s.fees}}
            for s in config.services.values()
        ]

    def text(r: dict) -> str:
        lines = [f"ok: {r['source']}", f"  {r['station']} ({r['code']}), {r['services']} services,"
                 f" windows {', '.join(map(str, r['windows']))}"]
        for s in r.get("catalogue", []):
            lines.append(f"  {s['code']:<20} {s['name']}  windows {','.join(map(str, s['windows']))}")
        return "\n".join(lines)

    emit(ctx.args, result, text)
    return EXIT_OK


def cmd_doctor(ctx: Context) -> int:
    """Report on the database and config; exit 1 if either is unusable."""
    where = ctx.database()
    shown = paths.shown(where)  # never a server's password
    report: dict = {"database": shown, "config": str(resolve_config_path(ctx.args.config))}
    ok = True
    try:
        report["config_summary"] = describe(ctx.config)
    except ConfigError as exc:
        report["config_error"] = str(exc)
        ok = False
    examine = _examine_server if paths.is_server(where) else _examine_file
    ok = examine(ctx, where, report) and ok
    report["ok"] = ok

    def text(r: dict) -> str:
        def rows(keys):
            return [f"{k:<16} {r[k]}" for k in keys if k in r]

        checks = [f"{'check ' + name:<17} {'ok' if c['ok'] else 'FAILED'}: {c['detail']}"
                  for name, c in r.get("checks", {}).items()]
        return "\n".join(rows(["database", "backend", "server_version", "access", "schema_version", "journal_mode",
                               "synchronous", "integrity_check"]) + checks
                         + rows(["database_error", "config", "config_error"]))

    emit(ctx.args, report, text)
    if not ok:  # the exit-1 contract: one line on stderr saying what is wrong
        problems = [report[k] for k in ("config_error", "database_error") if k in report]
        if report.get("integrity_check", "ok") != "ok":
            problems.append(f"the database {shown} fails integrity_check: {report['integrity_check']}")
        problems += [f"{name}: {c['detail']}" for name, c in report.get("checks", {}).items()
                     if not c["ok"] and "database_error" not in report]
        complain("; ".join(problems))
    return EXIT_OK if ok else EXIT_REFUSED


def _examine_file(ctx: Context, db_path, report: dict) -> bool:
    """An SQLite file: its schema, access, journal, synchronous and integrity_check."""
    from cabin.queue.store import schema_version

    report["backend"] = "SQLite file"
    try:
        if not db_path.exists():  # a diagnostic must not create what it diagnoses
            raise CabinError(f"there is no database at {db_path} (the first station command creates it)")
        store = ctx.store()
        report["schema_version"] = schema_version(store.db, store.migration_sets[1:])
        report["access"] = "read-only" if store.read_only else "read-write"
        report["journal_mode"] = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        report["synchronous"] = {0: "off", 1: "normal", 2: "full", 3: "extra"}[
            store.conn.execute("PRAGMA synchronous").fetchone()[0]]
        report["integrity_check"] = "; ".join(r[0] for r in store.conn.execute("PRAGMA integrity_check"))
        return report["integrity_check"] == "ok"
    except (CabinError, sqlite3.Error) as exc:
        report["database_error"] = str(exc)
        return False


OLDEST_SERVER = 13  # PostgreSQL's major version Cabin is made for and tested on from (README)
UNREACHABLE = "the database server cannot be reached"  # how queue/pgstore.py words a server it cannot reach


def _examine_server(ctx: Context, url: str, report: dict) -> bool:
    """A PostgreSQL database: the server's version, each migration set's schema version, and the
    checks a station's PC depends on: the server reachable, the schema up to date, the account's
    privileges (kiosk/serverroles.py), the audit chain intact. The URL is shown without its
    password."""
    from cabin.queue.migrations import schema_version_text

    from cabin.kiosk.business import audit
    from cabin.kiosk.serverroles import privileges_check

    report["backend"] = "PostgreSQL"
    checks = report["checks"] = {}
    try:
        store = ctx.store()
    except CabinError as exc:  # the store's message names the server without its password
        report["database_error"] = str(exc)
        reached = not exc.said.template.startswith(UNREACHABLE)
        checks["reachable"] = {"ok": reached, "detail": "yes, but the database could not be opened (database_error"
                                                        " says why)" if reached else "no (database_error says why)"}
        return False
    try:
        with store.read() as conn:
            report["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
            account = conn.execute("SELECT current_user, current_database()").fetchone()
            checks["reachable"] = {"ok": True, "detail": f"connected as {account[0]} to the database {account[1]}"}
            number = int(conn.execute("SHOW server_version_num").fetchone()[0])
            checks["version"] = {"ok": number >= OLDEST_SERVER * 10_000,
                                 "detail": f"PostgreSQL {number // 10_000}" + (
                                     "" if number >= OLDEST_SERVER * 10_000 else f": {OLDEST_SERVER} or newer is needed")}
            versions = store.schema_versions()
            report["schema_versions"] = versions
            report["schema_version"] = schema_version_text(versions, queue_alone=False)
            behind = [f"{m.name} is at {versions[m.name] or '(none)'}, not {m.names[-1]}"
                      for m in store.migration_sets if versions.get(m.name) != m.names[-1]]
            checks["schema"] = {"ok": not behind, "detail": "; ".join(behind) or "up to date"}
            rights = privileges_check(conn)
            report["access"] = rights["access"]
            checks["privileges"] = {"ok": rights["access"] != "insufficient", "detail": _rights(rights)}
            if rights["access"] == "read-only":  # a board's role may not read the audit log
                checks["audit_chain"] = {"ok": True, "detail": "not read: this role reads the queue's tables only"}
            else:
                intact, bad_id, why = audit.verify(conn)
                checks["audit_chain"] = {"ok": intact,
                                         "detail": "intact" if intact else f"broken at entry {bad_id}: {why}"}
    except CabinError as exc:
        report["database_error"] = str(exc)
        return False
    return all(c["ok"] for c in checks.values())


def _rights(rights: dict) -> str:
    if rights["access"] == "read-write":
        return "read-write: a window's, the dispenser's and the supervisor's operations"
    if rights["access"] == "read-only":
        return "read-only: enough for a board, not for a window"
    return "missing " + ", ".join(rights["missing"]) + " (README: A station of several PCs)"


def declare(commands) -> None:
    p = commands.command("simulate", cmd_simulate)
    p.add_argument("--day", required=True, help="YYYY-MM-DD or 'today'")
    p.add_argument("--citizens", type=citizens, required=True, metavar="N")
    p.add_argument("--seed", type=any_integer, default=0, metavar="S")

    p = commands.command("demo", cmd_demo)
    p.add_argument("--citizens", type=citizens, metavar="N", help="default: what the day's windows serve at 85%% load")

    config = commands.group("config")
    p = commands.command("check", cmd_config_check, "check the station configuration and summarise it", config)
    p.add_argument("--services", action="store_true", help="list the service catalogue too")

    commands.command("doctor", cmd_doctor)
