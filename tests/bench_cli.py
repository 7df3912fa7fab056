"""The CLI's start: `cabin` as a whole process, as a script or a button box runs it once per press.

1. id check     `cabin id check 350206198507150012`
2. call         `cabin call --window 1` with nobody waiting (exit 3) on a database that exists
3. ticket issue `cabin ticket issue id.apply` with no ticket printer configured (information)

Each against `python -c "import sqlite3"` (the interpreter's own start, the floor) measured in the
same run, interleaved command by command in a rotating order, median of ROUNDS. Goal:
the first two at most 3x the floor. The commands run as an installed Cabin does: the station's
data folder (XDG_DATA_HOME, the default database in it) in a temporary folder, bytecode cached
(PYTHONPYCACHEPREFIX there too, warmed by one run of each), the shipped config. The note gives
the CPU time's ratio too (user + system of the process), which the machine's load disturbs less
than the wall clock.

`python -m tests.bench_cli` prints one JSON object a line; `bench_cli()` returns them for tests/bench.py.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from tests.benchtools import log, result

GOAL = 3.0
ROUNDS = 21


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CABIN_") and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    data = tmp / "xdg"
    data.mkdir(mode=0o700, exist_ok=True)
    env.update(XDG_DATA_HOME=str(data), PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    return env


def _cabin() -> list[str]:
    script = Path(sys.executable).with_name("cabin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cabin.kiosk.cli.app"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], env: dict, expect: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process; it must exit with `expect`."""
    cpu = _children_cpu()
    start = time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    wall = time.perf_counter() - start
    if r.returncode != expect:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}, not {expect}: {r.stderr.strip()}")
    return wall, _children_cpu() - cpu


def bench_cli(rounds: int = ROUNDS) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="cabin-bench-cli-") as d:
        tmp = Path(d)
        env = _env(tmp)
        issue_env = dict(env, CABIN_DB=str(tmp / "issue.sqlite"))  # its tickets must not wait at window 1
        cabin = _cabin()
        # the station database (the default one in the data folder) exists, window 1 open, nobody waiting
        _run([*cabin, "window", "open", "1"], env, 0)
        _run([*cabin, "ticket", "issue", "id.apply"], issue_env, 0)  # the database and the station secret
        commands = {  # name: (argv, env, exit code)
            "floor": ([sys.executable, "-c", "import sqlite3"], env, 0),
            "id_check": ([*cabin, "id", "check", "350206198507150012"], env, 0),
            "call": ([*cabin, "call", "--window", "1"], env, 3),
            "ticket_issue": ([*cabin, "ticket", "issue", "id.apply"], issue_env, 0),
        }
        for argv, cmd_env, expect in commands.values():  # bytecode written, files in the page cache
            _run(argv, cmd_env, expect)
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:  # none always runs first
                w, c = _run(*commands[name])
                wall[name].append(w * 1000)
                cpu[name].append(c * 1000)
    floor, floor_cpu = statistics.median(wall["floor"]), statistics.median(cpu["floor"])
    log("cli: median wall " + ", ".join(f"{n} {statistics.median(wall[n]):.0f} ms" for n in names))
    lines = []
    for name, goal, what in [("id_check", GOAL, "cabin id check 350206198507150012"),
                             ("call", GOAL, "cabin call --window 1, nobody waiting (exit 3)"),
                             ("ticket_issue", None, "cabin ticket issue id.apply, no ticket printer")]:
        cpu_ratio = statistics.median(cpu[name]) / floor_cpu if floor_cpu else float("inf")
        lines.append(result(f"cli_{name}_ms", statistics.median(wall[name]), "ms", floor, goal,
                            "max" if goal else None,
                            f"{what}: the whole process, median of {rounds}; floor: python -c 'import sqlite3'"
                            f" the same way; CPU time {statistics.median(cpu[name]):.0f} ms, {cpu_ratio:.2f}x the"
                            f" floor's {floor_cpu:.0f} ms"))
    return lines


def main() -> int:
    for line in bench_cli():
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
