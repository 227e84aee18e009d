"""The package's layers import one way, with no cycle (read from the source, nothing is imported).

    leaf utilities -> kg -> nn -> data -> peers -> engine -> prediction -> experiments

A module may import its own layer and the layers before it; leaf utilities import only leaf
utilities. Imports inside functions count too (a lazy import up the layers is still a
dependency up the layers); only ``if TYPE_CHECKING:`` blocks are skipped.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "metalink_dgl"
LAYERS = ["kg", "nn", "data", "peers", "engine", "prediction", "experiments"]
LEAVES = {"__init__", "errors", "io", "checkpoint", "provenance", "device", "metrics", "plots", "label_matrix"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _rank(module: str) -> int:
    """0 for leaf utilities, 1.. for the layers in order; the ``__main__`` launcher is above them all."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in LEAVES:
        return 0
    if parts[1] == "__main__":
        return len(LAYERS) + 1
    return LAYERS.index(parts[1]) + 1


def _skipped(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(module: str) -> set[str]:
    """The modules of the package that ``module`` imports (a name imported from a package counts as the
    submodule if there is one, else as the package)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if _skipped(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in MODULES else origin for a in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] == "metalink_dgl" and t != module)
    return {t if t in MODULES else t.rpartition(".")[0] for t in found}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_import_goes_down_the_layers():
    upward = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
              if t != "metalink_dgl" and _rank(t) > _rank(m)]
    assert not upward, "imports that go up the layers:\n" + "\n".join(upward)


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [m, t]) if t in stack else f"{m} -> {t}")
            elif t not in state:
                visit(t, stack + [m])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_graph_holds_the_known_edges():
    """The two tests above are not vacuous: the parsed graph has edges it must have."""
    assert "metalink_dgl.kg.build" in GRAPH["metalink_dgl.engine.block"]
    assert "metalink_dgl.kg.schema" in GRAPH["metalink_dgl.nn.conv"]
    assert _rank("metalink_dgl.engine.block") > _rank("metalink_dgl.nn.conv") > _rank("metalink_dgl.kg.build") > 0


@pytest.mark.parametrize("module", ["metalink_dgl.nn", "metalink_dgl.kg", "metalink_dgl"])
def test_light_imports_do_not_load_the_application_stack(module):
    """``metalink_dgl.nn`` is for users' own DGL code: it loads neither the data/plotting stack nor
    dgllife (whose import loads its datasets and scikit-learn). pandas is not checked: ``import dgl``
    itself loads it (``dgl.graphbolt``)."""
    heavy = ["pycocotools", "matplotlib", "sklearn", "dgllife", "metalink_dgl.engine", "metalink_dgl.data"]
    code = (f"import sys, {module}; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
