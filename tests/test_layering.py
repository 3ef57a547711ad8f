"""The import graph keeps its layers: every import points down the table :data:`LAYERS`, the config
schema knows no plugin, the engine's domain modules read no config, and no import cycle comes back.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` statement
of ``auditor/``, ``attacks/`` and ``unlearners/``, at module level *and* inside functions (a
function-level import still ties the two modules together; it only hides the cycle until the
function runs). Imports under ``if TYPE_CHECKING:`` are left out: they never run. An edge goes to
the module named; the ``__init__`` of the packages above it is not counted (``auditor/__init__``
would otherwise join every module to ``auditor.run.api``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

from tests.helpers import REPO

PACKAGES = ("auditor", "attacks", "unlearners")

# The engine's layers, bottom first. A module may import its own layer and any layer below it, never one
# above (module-level and function-level imports alike; ``if TYPE_CHECKING:`` imports never run). A
# module belongs to the layer of the longest prefix that names it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "auditor.errors",
            "auditor.files",
            "auditor.types",
            "auditor.seeding",
            "auditor.canonical",
            "auditor.version",
            "auditor.registry",
        ),
    ),
    ("data", ("auditor.data",)),
    ("config schema", ("auditor.config.schema", "auditor.config.load")),
    ("training", ("auditor.train",)),
    ("statistics and verdict", ("auditor.judge",)),
    ("plugin contract", ("auditor.plugin",)),
    ("plugins", ("attacks", "unlearners")),
    ("config checks", ("auditor.config.checks", "auditor.config")),
    ("evidence", ("auditor.evidence",)),
    ("report", ("auditor.report",)),
    ("run", ("auditor.run",)),
    ("interfaces", ("auditor.cli", "auditor.testing", "auditor.__main__", "auditor")),
)


# The nine-module cycle of the design review (section 2.1) that splitting config.py removed.
REMOVED_CYCLE = {
    "attacks",
    "attacks.base",
    "unlearners",
    "unlearners.base",
    "auditor.config",
    "auditor.plugin.context",
    "auditor.data.splits",
    "auditor.train.core",
    "auditor.data.triggers",
}


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[tuple[str, bool]]:
    """(imported module of the three packages, whether the import is inside a function) pairs."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[tuple[str, bool]] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit_statement(other, in_function)
                continue
            visit_statement(child, in_function)

    def visit_statement(node: ast.AST, in_function: bool) -> None:
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(node, ast.Import):
            found.update((alias.name, nested) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add((full if full in modules else base, nested))
        visit(node, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return {(target, nested) for target, nested in found if target in modules and target != name}


@cache
def _graph() -> dict[str, frozenset[tuple[str, bool]]]:
    modules = _modules()
    return {name: frozenset(_imports(name, path, modules)) for name, path in modules.items()}


def _edges(*, function_level: bool) -> dict[str, set[str]]:
    return {m: {t for t, nested in edges if function_level or not nested} for m, edges in _graph().items()}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _reachable(start: str) -> set[str]:
    graph = _edges(function_level=True)
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_graph_is_read():
    graph = _edges(function_level=True)
    assert "auditor.config.schema" in graph and "attacks.base" in graph and "unlearners.base" in graph
    assert "auditor.plugin.attack" in graph["attacks.base"]  # a module-level import
    assert "attacks" in graph["auditor.config.checks"]  # a function-level one


def _layer(module: str) -> int:
    """The index in :data:`LAYERS` of the longest prefix naming ``module``."""
    best, length = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if _in(module, (p,)) and len(p) > length:
                best, length = i, len(p)
    return best


def test_every_module_has_a_layer():
    assert [m for m in _graph() if _layer(m) < 0] == []


def test_every_import_points_down_the_layers():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        + (" inside a function" if nested else "")
        for module, edges in sorted(_graph().items())
        for target, nested in sorted(edges)
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_the_schema_and_the_loader_know_no_plugin_and_no_engine():
    forbidden = (
        "attacks",
        "unlearners",
        "auditor.plugin",
        "auditor.run.pipeline",
        "auditor.config.checks",
    )
    for module in ("auditor.config.schema", "auditor.config.load"):
        direct = {t for t, _ in _graph()[module]}
        assert not {t for t in direct if _in(t, forbidden)}, module
        # Nor through another module, at any depth.
        assert not {t for t in _reachable(module) if _in(t, forbidden)}, module


def test_the_checks_are_the_only_config_module_that_imports_the_registries():
    for module, edges in _graph().items():
        if module.startswith("auditor.config") and module != "auditor.config.checks":
            assert not {t for t, _ in edges if _in(t, ("attacks", "unlearners", "auditor.run.controls"))}, (
                module
            )


def test_domain_modules_import_no_config():
    for module in (
        "auditor.train.core",
        "auditor.data.splits",
        "auditor.train.executors",
        "auditor.train.cache",
        "auditor.data.triggers",
    ):
        assert not {t for t, _ in _graph()[module] if _in(t, ("auditor.config",))}, module


def test_no_import_cycle_at_module_level():
    assert _cycles(_edges(function_level=False)) == []


def test_no_import_cycle_even_with_function_level_imports():
    # The version lives in auditor.version, so nothing imports the package back for it.
    cycles = _cycles(_edges(function_level=True))
    assert not any(c & REMOVED_CYCLE for c in cycles), cycles
    assert cycles == []


def test_importing_the_config_imports_no_torch_and_no_plugin():
    code = (
        "import sys, auditor.config; "
        "bad = sorted(m for m in ('torch', 'attacks', 'unlearners', 'auditor.plugin.context') if m in sys.modules); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
