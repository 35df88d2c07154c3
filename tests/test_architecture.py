"""The package's layout as rules: no import cycle, and the arrows between its parts point one way.

Every ``import`` in ``src/glassnet`` is read from the source (those inside functions too; those
under ``if TYPE_CHECKING:`` are for annotations only and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "glassnet"


def module_name(path: Path) -> str:
    parts = ["glassnet", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SOURCE.rglob("*.py")}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _resolve(name: str) -> str | None:
    """The glassnet module ``name`` refers to (a module, or the package an attribute is in)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module; any other name is an attribute of
            # the package's __init__
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name) if name.startswith("glassnet") else None
            # a module's own package is imported with it; the package root is not (it imports
            # the whole public API), so importing it counts
            own_package = (
                module.startswith(target + ".") and target != "glassnet" if target else False
            )
            if target and target != module and not own_package:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_is_read():
    assert "glassnet.model.plan" in GRAPH["glassnet.network"]
    assert "glassnet.training.loop" in GRAPH["glassnet.network"]
    assert "glassnet.network" not in GRAPH["glassnet.training.loop"]  # only under TYPE_CHECKING


def test_no_import_cycle_among_modules():
    assert _find_cycle(GRAPH) is None


def test_no_module_imports_the_package_root():
    # the root gathers the public API: a module that takes a name from it depends on everything
    assert [module for module, targets in GRAPH.items() if "glassnet" in targets] == []


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "glassnet"


def test_no_import_cycle_among_the_parts():
    # model/, optim/, training/, files/, cli/, estimators/ and the top-level modules as units
    parts: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if module == "glassnet":
            continue  # the package's __init__ gathers the public API from every part
        parts.setdefault(_part(module), set()).update(
            _part(t) for t in targets if _part(t) != _part(module)
        )
    assert _find_cycle(parts) is None


# what each part may import (besides itself and the standard library): the layers of the package
ALLOWED = {
    "_version": set(),
    "_registry": {"_validation"},
    "_validation": set(),
    "metrics": set(),
    "model": {"_registry", "_validation"},
    "optim": {"_registry", "_validation"},
    "files": {"_version", "_validation", "optim"},
    "training": {"_validation", "metrics", "model", "files"},
    "network": {"_validation", "metrics", "model", "optim", "training"},
    "gradcheck": {"_validation", "network"},
    "io": {"files", "network", "training", "estimators"},
}


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_the_layers_below_it(part):
    imported = {
        _part(target)
        for module, targets in GRAPH.items()
        if module != "glassnet" and _part(module) == part
        for target in targets
    }
    assert imported - {part} <= ALLOWED[part]


def test_the_model_knows_nothing_of_training_files_or_front_ends():
    for module, targets in GRAPH.items():
        if _part(module) == "model":
            assert all(_part(t) in ("model", "_registry", "_validation") for t in targets), module
