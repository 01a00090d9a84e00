"""The package's shape: imports run one way (corpora -> simulation -> features ->
model/baseline -> evaluation -> runs -> experiments -> interfaces), with no cycle, and the
top level stays small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "amr_lib"

# low to high; a module belongs to the layer of its longest listed prefix
LAYERS = (
    ("foundation", ("amr_lib.config", "amr_lib.progress", "amr_lib.storage",
                    "amr_lib.audio", "amr_lib.spans")),
    ("formats", ("amr_lib.lighthouse_jsonl", "amr_lib.metrics", "amr_lib.sed.scoring")),
    ("corpora", ("amr_lib.corpora",)),
    ("simulation", ("amr_lib.simulation", "amr_lib.profiles", "amr_lib.sed.recordings")),
    ("features", ("amr_lib.features",)),
    ("models", ("amr_lib.model", "amr_lib.baseline", "amr_lib.train", "amr_lib.numerics")),
    ("evaluation", ("amr_lib.presence", "amr_lib.sed.detectors", "amr_lib.sed.crnn",
                    "amr_lib.retrieve")),
    ("runs", ("amr_lib.runs",)),
    ("experiments", ("amr_lib.experiments",)),
    # the package itself re-exports Retriever and Moment (on first use, so it loads nothing)
    ("interfaces", ("amr_lib.viz", "amr_lib.book", "amr_lib.demo", "amr_lib.cli", "amr_lib")),
)
MAX_TOP_LEVEL_MODULES = 15


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return ((PACKAGE.parent / relative).with_suffix(".py").is_file()
            or (PACKAGE.parent / relative / "__init__.py").is_file())


def imports_of(path: Path) -> set[str]:
    """The amr_lib modules ``path`` imports, anywhere in the file (function-local
    imports too: they are arrows of the design all the same)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("amr_lib")}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if not node.module.startswith("amr_lib"):
                continue
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= {name for name in submodules if is_module(name)} or {node.module}
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) - {module_name(path)}
            for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    matches = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS)
               for prefix in prefixes
               if module == prefix or (prefix != "amr_lib" and module.startswith(prefix + "."))]
    if not matches:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return max(matches)[1]


def test_every_import_points_to_the_same_or_a_lower_layer():
    upward = [f"{module} ({LAYERS[layer(module)][0]}) imports {target} "
              f"({LAYERS[layer(target)][0]})"
              for module, targets in import_graph().items() for target in sorted(targets)
              if layer(target) > layer(module)]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycle = (*trail[trail.index(target):], target)
                raise AssertionError(" -> ".join(cycle))
            if target not in state:
                visit(target, (*trail, target))
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, (module,))


def test_the_top_level_stays_small():
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


@pytest.mark.parametrize("low, high", [("amr_lib.train", "amr_lib.presence"),
                                       ("amr_lib.features.released", "amr_lib.model"),
                                       ("amr_lib.model.data", "amr_lib.model.criterion")])
def test_arrows_that_once_ran_backwards_stay_gone(low, high):
    targets = import_graph()[low]
    assert not any(t == high or t.startswith(high + ".") for t in targets), targets


def test_the_layer_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from amr_lib.experiments.table1 import run_table1\n", encoding="utf-8")
    [target] = imports_of(bad)
    assert layer(target) > layer("amr_lib.train")
