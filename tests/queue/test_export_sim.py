"""Simulated days: every summary figure recomputed from the `--with-events` file by an
independent implementation (below: it shares no code with cabin.queue.reports.figures), and the merge of
two stations: sums where sums mean something, recomputed from the events where they do not.
Through the real CLI (`cabin export`, `cabin export merge`) on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cabin.config import default_config_path, load_config
from cabin.kiosk.business import audit
from cabin.kiosk.cli.app import main
from cabin.kiosk.station import open_store
from cabin.queue.clock import to_ms
from cabin.queue.simulate import simulate_day

DAY, NEXT = "2026-11-23", "2026-11-24"
TZ = ZoneInfo("Asia/Shanghai")
BUSINESS = {  # (hour, actor, action, detail) of each station: True the first, False the second
    True: [(10, "li", "application.accept", {"kind": "first", "cross_region": False}), (11, "li", "loss.report", {})],
    False: [(10, "li", "found.register", {}), (11, "zhao", "tempcard.print", {"reprint": False})],
}


# -- the independent implementation -----------------------------------------------------------
def read_events(path: Path) -> list[dict]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = []
    for r in csv.DictReader(io.StringIO(text, newline="")):
        rows.append({
            "ms": round(datetime.fromisoformat(r["at"]).timestamp() * 1000),
            "ticket": int(r["ticket_id"]) if r["ticket_id"] else None,
            "request": int(r["request_id"]) if r["request_id"] else None,
            "service": r["service"] or None, "kind": r["kind"],
            "window": int(r["window"]) if r["window"] else None,
            "detail": json.loads(r["detail"]) if r["detail"] else {},
        })
    return rows


def nearest_rank(values: list[int], percent: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)  # ceil, in integers
    return ordered[max(rank, 1) - 1]


def minutes(ms):
    return None if ms is None else round(ms / 60_000, 1)


LEAVES_WINDOW = {"done", "no_show", "cancelled", "transferred", "expired", "returned"}
STATE_OF = {"queued": "waiting", "returned": "waiting", "reactivated": "waiting", "pending": "pending",
            "called": "called", "recalled": "called", "started": "serving", "done": "done", "no_show": "no_show",
            "cancelled": "cancelled", "transferred": "transferred", "expired": "expired"}


def recompute(stations: list[tuple[list[dict], str]], tz: ZoneInfo, sla_min: int) -> dict:
    """The summary figures of one or several stations' events of `day`, from scratch."""
    waits, services, finals = [], [], Counter()
    tickets = multi = one_stop = requested = 0
    opened = busy = 0
    for events, day in stations:
        start = round(datetime.fromisoformat(day).replace(tzinfo=tz).timestamp() * 1000)
        end = round((datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=tz).timestamp() * 1000)

        def clip(a, b):
            return max(0, min(b, end) - max(a, start))

        history: dict[int, list[dict]] = defaultdict(list)
        errands_of: dict[int, int] = {}
        requeued: set[int] = set()
        for e in events:
            if e["kind"] == "issued":
                errands_of[e["ticket"]] = len(e["detail"]["services"])
            elif e["request"] is not None:
                history[e["request"]].append(e)
            if e["kind"] == "queued" and "after" in e["detail"]:
                requeued.add(e["ticket"])
        tickets += len(errands_of)
        requested += sum(errands_of.values())
        done_of = Counter()
        for req, evs in history.items():
            state_events = [e for e in evs if e["kind"] in STATE_OF]
            finals[STATE_OF[state_events[-1]["kind"]]] += 1
            entered = begun = at_window = None
            for e in evs:
                kind = e["kind"]
                if kind in ("queued", "returned", "reactivated"):
                    entered = e["ms"]
                if kind == "called":
                    if entered is not None:
                        waits.append(e["ms"] - entered)
                    entered = None
                    begun = at_window = e["ms"]
                if kind == "started" and not e["detail"].get("implicit"):
                    begun = e["ms"]
                if kind == "done":
                    services.append(e["ms"] - begun)
                    done_of[e["ticket"]] += 1
                if kind in LEAVES_WINDOW and at_window is not None:
                    busy += clip(at_window, e["ms"])
                    at_window = None
            if at_window is not None:
                busy += clip(at_window, end)
        for ticket, n in errands_of.items():
            if n >= 2:
                multi += 1
                one_stop += done_of[ticket] == n and ticket not in requeued
        since: dict[int, int] = {}
        for e in (e for e in events if e["ticket"] is None):
            if e["kind"] == "window_open" and e["window"] not in since:
                since[e["window"]] = e["ms"]
            elif e["kind"] in ("window_pause", "window_close") and e["window"] in since:
                opened += clip(since.pop(e["window"]), e["ms"])
        opened += sum(clip(s, end) for s in since.values())
    return {
        "tickets_issued": tickets, "errands_requested": requested,
        "errands_done": finals["done"], "errands_no_show": finals["no_show"],
        "errands_cancelled": finals["cancelled"], "errands_transferred": finals["transferred"],
        "errands_expired": finals["expired"],
        "errands_open": finals["pending"] + finals["waiting"] + finals["called"] + finals["serving"],
        "calls": len(waits),
        "wait_p50_min": minutes(nearest_rank(waits, 50)), "wait_p90_min": minutes(nearest_rank(waits, 90)),
        "wait_max_min": minutes(max(waits) if waits else None),
        "sla_share": round(sum(w <= sla_min * 60_000 for w in waits) / len(waits), 4) if waits else None,
        "service_p50_min": minutes(nearest_rank(services, 50)),
        "service_p90_min": minutes(nearest_rank(services, 90)),
        "multi_errand_tickets": multi, "one_stop_tickets": one_stop,
        "one_stop_share": round(one_stop / multi, 4) if multi else None,
        "windows_open_min": minutes(opened), "windows_busy_min": minutes(busy),
        "windows_idle_min": minutes(max(0, opened - busy)),
    }


# -- two stations of one district, simulated -----------------------------------------------------
def second_station(tmp_path: Path) -> Path:
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('code = "350206001"', 'code = "350206002"', 1)
    text = text.replace('name = "湖里派出所 小木屋综合服务区"', 'name = "殿前派出所 小木屋综合服务区"', 1)
    path = tmp_path / "second.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """Station 1: an overloaded Monday closed out by Tuesday's first ticket (expired errands);
    station 2: an ordinary Monday. Both exported --with-events through the CLI."""
    tmp = tmp_path_factory.mktemp("district")
    first, second = tmp / "one.sqlite", tmp / "two.sqlite"
    config2 = second_station(tmp)
    for path, cfg, citizens, seed in ((first, None, 260, 4), (second, config2, 150, 9)):
        store = open_store(path, durable=False)
        simulate_day(store, load_config(cfg), DAY, citizens, seed=seed)
        business = BUSINESS[path == first]
        with store.write() as conn:
            for hour, actor, action, detail in business:
                audit.record(conn, actor, action, "X", detail, at=to_ms(datetime(2026, 11, 23, hour, tzinfo=TZ)))
        if path == first:
            simulate_day(store, load_config(cfg), NEXT, 5, seed=seed)
        store.close()
    out = tmp / "out"
    for path, cfg in ((first, None), (second, config2)):
        args = ["--db", str(path), *(["--config", str(cfg)] if cfg else []), "export", "--day", DAY,
                "--out", str(out), "--with-events", "--format", "json"]
        assert main(args) == 0
    return tmp, out, config2


def load(out: Path, station: str) -> dict:
    return json.loads((out / f"{station}_{DAY}.json").read_text(encoding="utf-8"))


def test_every_summary_figure_recomputed_from_the_events_file(district):
    _, out, _ = district
    tz = ZoneInfo("Asia/Shanghai")
    for station in ("350206001", "350206002"):
        report = load(out, station)
        events = read_events(out / report["events_file"])
        again = recompute([(events, DAY)], tz, report["sla_target_min"])
        assert {k: report[k] for k in again} == again, station
        assert report["tickets_issued"] > 100 and report["calls"] > 100
    one = load(out, "350206001")
    assert one["errands_expired"] > 0 and one["errands_open"] == 0  # Tuesday's close-out is in Monday's file
    # the breakdowns add up to the summary
    for name in ("by_category", "by_service"):
        for key in ("tickets_issued", "errands_requested", "errands_done", "errands_no_show", "errands_expired",
                    "calls"):
            assert sum(row[key] for row in one[name]) == one[key], (name, key)
    assert sum(row["tickets_issued"] for row in one["by_hour"]) == one["tickets_issued"]
    assert sum(row["calls"] for row in one["by_hour"]) == one["calls"]
    assert sum(row["errands_done"] for row in one["by_window"]) == one["errands_done"]
    assert round(sum(row["open_min"] for row in one["by_window"]), 1) == pytest.approx(one["windows_open_min"], abs=0.3)


def test_merge_of_two_stations(district, capsys):
    tmp, out, _ = district
    merged_dir = tmp / "merged"
    assert main(["--json", "export", "merge", str(out / f"350206001_{DAY}.json"), str(out / f"350206002_{DAY}.json"),
                 "--out", str(merged_dir), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stations"] == ["350206001", "350206002"] and result["station"] == "350206"
    merged = json.loads((merged_dir / f"350206_{DAY}.json").read_text(encoding="utf-8"))
    one, two = load(out, "350206001"), load(out, "350206002")
    assert merged["day"] == DAY and merged["stations"] == ["350206001", "350206002"]
    # sums where sums mean something
    for key in ("tickets_issued", "errands_requested", "errands_done", "errands_no_show", "errands_cancelled",
                "errands_transferred", "errands_expired", "errands_open", "calls", "multi_errand_tickets",
                "one_stop_tickets", "loss_reports", "applications_accepted", "temp_cards_printed"):
        assert merged[key] == one[key] + two[key], key
    for key in ("windows_open_min", "windows_busy_min", "windows_idle_min"):
        assert merged[key] == pytest.approx(one[key] + two[key], abs=0.15), key
    # recomputed where they do not: from both stations' events together
    tz = ZoneInfo("Asia/Shanghai")
    both = recompute([(read_events(out / one["events_file"]), DAY), (read_events(out / two["events_file"]), DAY)],
                     tz, 20)
    for key in ("wait_p50_min", "wait_p90_min", "wait_max_min", "sla_share", "service_p50_min", "service_p90_min",
                "one_stop_share"):
        assert merged[key] == both[key], key
    assert merged["wait_max_min"] == max(one["wait_max_min"], two["wait_max_min"])
    # per station, per window (each station's own), per category and hour (added up)
    assert [row["station"] for row in merged["by_station"]] == ["350206001", "350206002"]
    assert merged["by_station"][0]["tickets_issued"] == one["tickets_issued"]
    assert [(row["station"], row["window"]) for row in merged["by_window"]] == \
        [("350206001", w) for w in (1, 2, 3, 4)] + [("350206002", w) for w in (1, 2, 3, 4)]
    assert merged["by_window"][5]["busy_min"] == two["by_window"][1]["busy_min"]
    for i, row in enumerate(merged["by_category"]):
        assert row["tickets_issued"] == one["by_category"][i]["tickets_issued"] + two["by_category"][i]["tickets_issued"]
        assert row["station"] == "350206"
    for h in range(24):
        assert merged["by_hour"][h]["calls"] == one["by_hour"][h]["calls"] + two["by_hour"][h]["calls"]
    # the business figures: added up; per clerk, each station's accounts
    assert (merged["applications_accepted"], merged["loss_reports"], merged["found_registered"],
            merged["temp_cards_printed"]) == (1, 1, 1, 1)
    assert merged["extra_figures"] == one["extra_figures"] and merged["extra_columns"] == one["extra_columns"]
    clerks = {(row["station"], row["clerk"]): row for row in merged["by_clerk"]}
    assert list(clerks) == [("350206001", "li"), ("350206001", None), ("350206002", "li"), ("350206002", "zhao"),
                            ("350206002", None)]
    assert clerks[("350206001", "li")]["loss_reports"] == 1 and clerks[("350206001", "li")]["calls"] == 0
    assert clerks[("350206002", "zhao")]["temp_cards_printed"] == 1
    assert clerks[("350206002", None)]["calls"] == two["calls"] and clerks[("350206002", None)]["found_registered"] == 0
    assert clerks[("350206001", None)]["busy_min"] == one["windows_busy_min"]


def test_merge_refusals(district, capsys, tmp_path):
    tmp, out, config2 = district
    one = out / f"350206001_{DAY}.json"

    def refused(*args) -> str:
        assert main(["export", "merge", *map(str, args), "--out", str(tmp_path / "m"), "--format", "json"]) == 1
        return capsys.readouterr().err

    assert "each station once" in refused(one, one)
    plain = tmp_path / "plain"
    assert main(["--db", str(tmp / "one.sqlite"), "export", "--day", DAY, "--out", str(plain), "--format", "json"]) == 0
    capsys.readouterr()
    assert "without --with-events" in refused(plain / f"350206001_{DAY}.json")
    other_day = tmp_path / "nextday"
    assert main(["--db", str(tmp / "one.sqlite"), "export", "--day", NEXT, "--out", str(other_day), "--format", "json",
                 "--with-events"]) == 0
    capsys.readouterr()
    assert "different days" in refused(one, other_day / f"350206001_{NEXT}.json")
    # an events file that does not belong to its summary is caught
    forged = tmp_path / "forged"
    forged.mkdir()
    report = json.loads(one.read_text(encoding="utf-8"))
    report["tickets_issued"] += 1
    (forged / one.name).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    (forged / report["events_file"]).write_bytes((out / report["events_file"]).read_bytes())
    assert "does not belong" in refused(forged / one.name)
    assert "not a Cabin daily export" in refused(out / report["events_file"])
    assert not (tmp_path / "m").exists()


def test_merge_takes_folders_and_writes_every_format(district, capsys):
    tmp, out, _ = district
    merged_dir = tmp / "merged-all"
    assert main(["export", "merge", str(out), "--out", str(merged_dir)]) == 0
    assert "2 stations" in capsys.readouterr().out
    names = sorted(p.name for p in merged_dir.iterdir())
    assert names == sorted(f"350206_{DAY}{s}" for s in (
        ".json", ".xlsx", ".png", "_summary.csv", "_by_category.csv", "_by_service.csv", "_by_window.csv",
        "_by_clerk.csv", "_by_hour.csv", "_by_station.csv"))
    from openpyxl import load_workbook

    book = load_workbook(merged_dir / f"350206_{DAY}.xlsx")
    assert book.sheetnames[-1] == "按派出所"
    merged = json.loads((merged_dir / f"350206_{DAY}.json").read_text(encoding="utf-8"))
    rows = list(book["按派出所"].iter_rows(values_only=True))
    assert [list(r) for r in rows[1:]] == [list(r.values()) for r in merged["by_station"]]


# -- the command line ----------------------------------------------------------------------------
def test_cli_refusals_and_json(district, capsys, tmp_path):
    tmp, _, _ = district
    db = str(tmp / "one.sqlite")
    assert main(["--db", db, "export", "--out", str(tmp_path)]) == 2
    assert "needs --day" in capsys.readouterr().err
    assert main(["--db", db, "--json", "export", "--day", NEXT, "--to", DAY]) == 1
    out = capsys.readouterr().out
    assert json.loads(out) == {"error": f"--to {DAY} is before --day {NEXT}", "exit": 1}
    assert main(["--db", str(tmp_path / "none.sqlite"), "export", "--day", DAY]) == 1
    assert "there is no database" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
    assert main(["--db", db, "export", "--day", "23/11/2026"]) == 1
    assert "not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--db", db, "export", "--day", DAY, "--format", "pdf"])
    capsys.readouterr()
    # a range, --json: exactly one object, nothing on stderr (no progress bar but on a terminal)
    assert main(["--db", db, "--json", "export", "--day", "2026-11-22", "--to", NEXT, "--format", "csv",
                 "--out", str(tmp_path / "range")]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err == ""
    assert [d["day"] for d in result["days"]] == ["2026-11-22", DAY, NEXT]
    assert all(len(d["files"]) == 6 for d in result["days"])
    assert len(list((tmp_path / "range").iterdir())) == 18
