"""The layout of design.md: one import package `cabin` mapped from kiosk/ drivers/ queue/
config/, no `__init__.py` in queue/ (so `import queue` from the repository root is still the
standard library's), queue and drivers free of kiosk and Textual, the default config readable
as package data, and `cabin doctor` on a fresh database."""

from __future__ import annotations

import ast
import importlib.resources
import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_ROOTS = {"kiosk": "cabin.kiosk", "drivers": "cabin.drivers", "queue": "cabin.queue", "config": "cabin.config"}


def python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_") and k != "PYTHONPATH"}
    base.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=base, capture_output=True, text=True, timeout=60)


def test_stdlib_queue_from_the_repository_root():
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "queue").is_dir()
    r = python("import queue; queue.SimpleQueue", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    # and what needs it: a thread pool, and the stdlib module is the one that was found
    r = python(
        "import concurrent.futures, queue, sys\n"
        "assert concurrent.futures.ThreadPoolExecutor(2).submit(pow, 2, 10).result() == 1024\n"
        "print(queue.__file__)",
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert not Path(r.stdout.strip()).resolve().is_relative_to(ROOT)


def test_queue_has_no_init():
    # queue/ itself is a namespace portion (see the shadowing test above); its sub-packages
    # (queue/reports/) are regular ones: `reports` is not a name the standard library has.
    assert not (ROOT / "queue" / "__init__.py").exists()


def test_cabin_is_a_namespace_and_config_a_regular_package():
    import cabin
    import cabin.config

    assert getattr(cabin, "__file__", None) is None, "cabin must have no __init__.py"
    assert Path(cabin.config.__file__).resolve() == (ROOT / "config" / "__init__.py").resolve()


def test_pyproject_maps_the_folders_to_cabin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = project["tool"]["setuptools"]
    assert tool["package-dir"] == {name: folder for folder, name in CODE_ROOTS.items()}
    assert "*.toml" in tool["package-data"]["cabin.config"]
    # every folder holding Python code under the roots is listed, as it appears
    expected = set()
    for folder, name in CODE_ROOTS.items():
        for sub in [ROOT / folder, *(ROOT / folder).rglob("*")]:
            if sub.is_dir() and sub.name != "__pycache__" and any(sub.glob("*.py")):
                expected.add(".".join([name, *sub.relative_to(ROOT / folder).parts]))
    assert set(tool["packages"]) == expected
    assert project["project"]["scripts"]["cabin"] == "cabin.kiosk.cli.app:main"


FRESH_IMPORT = """
import importlib, json, pkgutil, sys
import cabin.queue, cabin.drivers, cabin.config
imported = []
for package in (cabin.queue, cabin.drivers):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
forbidden = sorted(n for n in sys.modules
                   if n == "textual" or n.startswith("textual.") or n == "cabin.kiosk" or n.startswith("cabin.kiosk."))
print(json.dumps({"imported": imported, "forbidden": forbidden}))
"""


def test_queue_drivers_config_import_without_kiosk_or_textual(tmp_path):
    r = python(FRESH_IMPORT, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["forbidden"] == []
    assert {"cabin.queue.engine", "cabin.queue.store", "cabin.queue.migrations"} <= set(result["imported"])
    expected = {"cabin.queue." + ".".join(p.relative_to(ROOT / "queue").with_suffix("").parts).removesuffix(".__init__")
                for p in (ROOT / "queue").rglob("*.py")}
    assert expected <= set(result["imported"]), "every module of queue/ was imported"


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(module, relative level) of every import statement, including those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


@pytest.mark.parametrize("folder", ["queue", "drivers", "config"])
def test_no_kiosk_or_textual_import_in_the_source(folder):
    """Also the lazy imports inside functions, which a fresh import would not run."""
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module, level in imports_of(path):
            top = module.split(".")[0]
            if level == 0 and (top == "textual" or module == "cabin.kiosk" or module.startswith("cabin.kiosk.")):
                bad.append(f"{path.relative_to(ROOT)}: {module}")
            elif level >= 2 and top == "kiosk":
                bad.append(f"{path.relative_to(ROOT)}: {'.' * level}{module}")
    assert not bad


# The rooms of kiosk/ and what each may import (README, Architecture). The CLI and the demo sit
# on top and may import anything; the faces show the business but never run a command; the
# business knows neither the CLI nor the faces, nor Textual.
ROOMS_MAY_NOT_IMPORT = {
    "cabin.kiosk.business": ("cabin.kiosk.cli", "cabin.kiosk.faces", "cabin.kiosk.demo", "textual"),
    "cabin.kiosk.faces": ("cabin.kiosk.cli",),
    # the rules every room shares: masking, input checks, ID numbers, where the files are
    **{f"cabin.kiosk.{rule}": ("cabin.kiosk.business", "cabin.kiosk.cli", "cabin.kiosk.faces", "textual")
       for rule in ("privacy", "checks", "identity", "paths")},
    # the opener hands out the store with the counter's migrations, and nothing of the apps
    "cabin.kiosk.station": ("cabin.kiosk.cli", "cabin.kiosk.faces", "textual"),
}


def absolute_imports(path: Path) -> list[str]:
    """Every module `path` imports (top level or inside a function), relative ones resolved."""
    parts = ("cabin",) + path.relative_to(ROOT).with_suffix("").parts
    package = parts[:-1]  # a module's package; an __init__'s package is its own folder
    found = []
    for module, level in imports_of(path):
        if level:
            base = package[: len(package) - (level - 1)]
            module = ".".join(base + ((module,) if module else ()))
        found.append(module)
    return found


def test_each_room_of_kiosk_imports_only_what_it_may():
    bad = []
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        name = ".".join(("cabin",) + path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        rules = [banned for room, banned in ROOMS_MAY_NOT_IMPORT.items() if name == room or name.startswith(room + ".")]
        for module in absolute_imports(path):
            for banned in (b for rule in rules for b in rule):
                if module == banned or module.startswith(banned + "."):
                    bad.append(f"{path.relative_to(ROOT)}: {module}")
    assert not bad


def test_default_config_is_package_data():
    resource = importlib.resources.files("cabin.config").joinpath("station.toml")
    assert resource.is_file()
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    assert {"station", "services", "windows"} <= data.keys()
    from cabin.config import default_config_path

    assert Path(str(resource)) == default_config_path()


def test_doctor_on_a_fresh_database(tmp_path):
    from clikit import run_cli  # the CLI in this process: the layering checks above import nothing of Cabin's

    db = tmp_path / "data" / "cabin.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABIN_")}
    env.update(CABIN_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    r = run_cli(["doctor"], env=env, cwd=tmp_path)
    assert r.returncode == 1 and "there is no database at" in r.stderr, r
    assert not db.parent.exists(), "doctor must not create the database it diagnoses"
    assert run_cli(["queue"], env=env, cwd=tmp_path).code == 0
    r = run_cli(["doctor", "--json"], env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "", r
    report = json.loads(r.stdout)
    assert report["database"] == str(db)
    assert report["journal_mode"] == "wal"
    assert report["integrity_check"] == "ok"
    assert report["synchronous"] == "full"
    assert report["ok"] is True
    conn = sqlite3.connect(db)
    try:
        applied = [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert applied[0] in report["schema_version"] and applied[-1] in report["schema_version"]  # each set's latest
    assert report["config"] == str(importlib.resources.files("cabin.config").joinpath("station.toml"))
    # the human report names the same things
    r2 = run_cli(["doctor"], env=env, cwd=tmp_path)
    assert r2.returncode == 0, r2
    for key in ("schema_version", "journal_mode", "integrity_check"):
        assert key in r2.stdout
    assert report["schema_version"] in r2.stdout
