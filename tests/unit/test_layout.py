"""The package layout the README shows: one folder per role, imports running one way.

Each folder of `drift/` may import only from the folders before it in `LAYERS` (the README's
"Where the code lives" lists them in this order), and the folders' `__init__.py` import
nothing, so importing one module never loads a whole layer (the cold start depends on it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIFT = ROOT / "drift"
# Leaves first. The local runtime imports nothing of drift's, so its place is free.
LAYERS = (
    "domain",
    "backends",
    "reporting",
    "wiring",
    "durable",
    "runtime",
    "entrypoints",
    "functions",
)


def _drift_imports(path: Path) -> list[str]:
    """Every `drift...` module a file imports, at any depth (lazy imports count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "drift"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "drift":
                found += [f"drift.{a.name}" for a in node.names]
            elif node.module.startswith("drift."):
                found.append(node.module)
    return found


def test_every_module_lives_in_a_layer_folder() -> None:
    top = sorted(p.name for p in DRIFT.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"]
    folders = sorted(p.name for p in DRIFT.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert folders == sorted(LAYERS)


def test_layers_import_only_the_layers_before_them() -> None:
    wrong = []
    for rank, layer in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for path in sorted((DRIFT / layer).rglob("*.py")):
            for name in _drift_imports(path):
                parts = name.split(".")
                if len(parts) > 1 and parts[1] in LAYERS and parts[1] not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_runtime_imports_nothing_of_drift() -> None:
    for path in sorted((DRIFT / "runtime").rglob("*.py")):
        assert [n for n in _drift_imports(path) if not n.startswith("drift.runtime")] == []


def test_layer_packages_import_nothing() -> None:
    """`import drift.domain.plan` must not load the rest of `drift.domain` (cold start)."""
    for layer in LAYERS:
        tree = ast.parse((DRIFT / layer / "__init__.py").read_text())
        assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], layer


def test_modules_stay_short_or_say_why() -> None:
    """About 500 lines at most, unless the module's docstring says why it is longer."""
    long = []
    for path in sorted(DRIFT.rglob("*.py")):
        if "demo_assets" in path.parts:
            continue
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > 500 and "Longer than 500 lines on purpose" not in doc:
            long.append(str(path.relative_to(ROOT)))
    assert long == []
