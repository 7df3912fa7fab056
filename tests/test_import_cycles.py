"""No import cycle inside kiosk/: the modules' top-level imports (what runs when a module is first
imported; not the imports inside functions, which run later, nor those under TYPE_CHECKING) form a
graph without a loop. A cycle makes a module's meaning depend on which of its partners was
imported first, and was how the CLI's command modules reached back into cli.py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIOSK = ROOT / "kiosk"
PACKAGE = "cabin.kiosk"


def module_name(path: Path) -> str:
    parts = path.relative_to(KIOSK).with_suffix("").parts
    return ".".join([PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)])


def top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported: at module level, in class
    bodies, under if/try/with, but not in functions nor under `if TYPE_CHECKING:`."""
    found: list = []

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit([n for n in getattr(node, field, []) if isinstance(n, ast.AST)])

    visit(tree.body)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in KIOSK.rglob("*.py") if "__pycache__" not in p.parts}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in top_level_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # `from package import module` imports the module; `from module import name`, the module
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                # importing a.b.c runs a/__init__ and a/b/__init__ too
                parts = target.split(".")
                for i in range(len(parts), 0, -1):
                    prefix = ".".join(parts[:i])
                    if prefix in modules and prefix != name:
                        edges[name].add(prefix)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle as the list of modules along it (the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_is_read():
    edges = graph()
    assert "cabin.kiosk.cli.app" in edges and "cabin.kiosk.identity" in edges
    # a command module imports the CLI's framework at its top: the walk sees that edge
    assert "cabin.kiosk.cli.app" in edges["cabin.kiosk.cli.identity"]


def test_a_cycle_is_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_kiosk():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
